#!/usr/bin/python3
# gensec-token.py CONF CCACHE HOST — print (hex) the first SPNEGO token Samba's client side
# (gensec over Heimdal, as smbclient uses it) sends to cifs/HOST with the tickets of CCACHE.
# Used by run.sh with KRB5_CAPTURE to refresh smb3/auth's golden AP-REQ.
import binascii
import sys

from samba import credentials, gensec
from samba.param import LoadParm

conf, ccache, host = sys.argv[1:4]
lp = LoadParm()
lp.load(conf)
creds = credentials.Credentials()
creds.guess(lp)
creds.set_kerberos_state(credentials.MUST_USE_KERBEROS)
creds.set_named_ccache(ccache, credentials.SPECIFIED, lp)
g = gensec.Security.start_client({"lp_ctx": lp, "target_hostname": host})
g.set_credentials(creds)
g.set_target_hostname(host)
g.set_target_service("cifs")
g.want_feature(gensec.FEATURE_SIGN)
g.start_mech_by_sasl_name("GSS-SPNEGO")
_, tok = g.update(b"")
print(binascii.hexlify(tok).decode())
