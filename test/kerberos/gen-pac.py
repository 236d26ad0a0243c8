#!/usr/bin/python3
# gen-pac.py — print (hex) a PAC encoded by Samba's NDR marshaller (python3-samba), for
# smb3/auth's golden test of the KERB_VALIDATION_INFO parser (testdata/samba-pac.hex):
#   /usr/bin/python3 test/kerberos/gen-pac.py > smb3/auth/testdata/samba-pac.hex
# Buffers: LOGON_INFO (user RID 1104 of S-1-5-21-3623811015-3361044348-30300820, primary
# group 513, groups 513 and 1105, extra SIDs S-1-18-1 and S-1-5-21-1-2-3-4444, resource group
# 1111 of S-1-5-21-4-5-6; user flags EXTRA_SIDS|RESOURCE_GROUPS), CLIENT_INFO "alice" at
# FILETIME 134087940000000000, and server and KDC signatures of type 16 with zero signatures
# (the test signs the PAC). An MIT KDC (db2) issues no LOGON_INFO, hence Samba's encoder.
import binascii
from samba.dcerpc import krb5pac, security, lsa, samr, netlogon
from samba.ndr import ndr_pack, ndr_unpack

def s(x):
    st = lsa.String(); st.string = x; return st

def sl(x):
    st = lsa.StringLarge(); st.string = x; return st

def rids(pairs):
    a = samr.RidWithAttributeArray()
    rs = []
    for rid, attr in pairs:
        r = samr.RidWithAttribute(); r.rid = rid; r.attributes = attr; rs.append(r)
    a.rids = rs; a.count = len(rs)
    return a

info3 = netlogon.netr_SamInfo3()
b = info3.base
b.logon_time = 134087940000000000
b.account_name = s("alice"); b.full_name = s("Alice Liddell")
b.logon_script = s(""); b.profile_path = s(""); b.home_directory = s(""); b.home_drive = s("")
b.logon_count = 7; b.bad_password_count = 0
b.rid = 1104; b.primary_gid = 513
b.groups = rids([(513, 7), (1105, 7)])
b.user_flags = 0x20 | 0x200
b.logon_server = sl("DC1"); b.logon_domain = sl("SMB3D")
b.domain_sid = security.dom_sid("S-1-5-21-3623811015-3361044348-30300820")
b.acct_flags = 0x10
es = netlogon.netr_SidAttr(); es.sid = security.dom_sid("S-1-18-1"); es.attributes = 7
es2 = netlogon.netr_SidAttr(); es2.sid = security.dom_sid("S-1-5-21-1-2-3-4444"); es2.attributes = 0x20000007
info3.sids = [es, es2]; info3.sidcount = 2
li = krb5pac.PAC_LOGON_INFO()
li.info3 = info3
rg = krb5pac.PAC_DOMAIN_GROUP_MEMBERSHIP()
rg.domain_sid = security.dom_sid("S-1-5-21-4-5-6")
rg.groups = rids([(1111, 0x20000007)])
li.resource_groups = rg
ctr = krb5pac.PAC_LOGON_INFO_CTR(); ctr.info = li

def buf(t, info):
    x = krb5pac.PAC_BUFFER(); x.type = t; x.info = info; return x
ln = krb5pac.PAC_LOGON_NAME(); ln.account_name = "alice"; ln.logon_time = 134087940000000000
sig1 = krb5pac.PAC_SIGNATURE_DATA(); sig1.type = 16; sig1.signature = bytes(12)
sig2 = krb5pac.PAC_SIGNATURE_DATA(); sig2.type = 16; sig2.signature = bytes(12)
pac = krb5pac.PAC_DATA()
pac.version = 0
pac.buffers = [buf(krb5pac.PAC_TYPE_LOGON_INFO, ctr), buf(krb5pac.PAC_TYPE_LOGON_NAME, ln),
               buf(krb5pac.PAC_TYPE_SRV_CHECKSUM, sig1), buf(krb5pac.PAC_TYPE_KDC_CHECKSUM, sig2)]
pac.num_buffers = 4
print(binascii.hexlify(ndr_pack(pac)).decode())
