#!/usr/bin/env bash
# run.sh — Kerberos logon end to end (issue 12): an MIT KDC of its own realm on loopback, smb3d
# with a keytab for cifs/server.smb3d.test, and smbclient --use-kerberos=required (Samba 4.17's
# Heimdal) against it.
#
# smbclient refuses Kerberos to "localhost" or an IP address, so the service is
# cifs/server.smb3d.test and smbclient is told its address with -I 127.0.0.1 (no DNS, no
# /etc/hosts edit: the name exists only in this realm's database and krb5.conf).
#
# Checks: put/get/ls with a Kerberos session over SMB 3.1.1 signed (the signature of the
# SESSION_SETUP response is checked by the client) and encrypted (AES-128-GCM and AES-256-GCM,
# the latter keyed from the full aes256 subkey), SMB 3.0 and 2.1 signed; `smb3d check` lists the
# keytab's principals; a Kerberos-only user (users file name:*) logs on with Kerberos and is
# refused over NTLM; the KDC's tickets carry a PAC that verifies; a ticket whose PAC names a
# domain group opens a file whose DACL allows only that group. Refusals: a principal with no
# smb3d user, a ticket for a key version the keytab lacks, a ticket whose key is wrong (same
# kvno), and, sent with test/kerberos/replay as Heimdal's smbclient sends none of them, a
# captured AP-REQ sent again (replay cache), one sent after its ticket expired, one whose
# ticket's PAC was changed. A key rotation in the keytab file is picked up without a restart.
# Everything stays on 127.0.0.1 in a temp dir; nothing of the system's Kerberos configuration
# is read or written.
#
# Usage: test/kerberos/run.sh [--keep]      (--keep leaves the temp dir for inspection)
# Env:   SMB3D=path to the binary (default bin/smb3d, built if missing)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
ROOT=$(cd "$HERE/../.." && pwd)
KEEP=0; [ "${1:-}" = --keep ] && KEEP=1

need() { command -v "$1" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$1" >/dev/null 2>&1; }
for t in krb5kdc kdb5_util kadmin.local kinit klist kdestroy ktutil smbclient; do
    if ! need "$t"; then "$ROOT/test/deps.sh" || exit 1; break; fi
done
export PATH=$PATH:/usr/sbin:/sbin

BIN=${SMB3D:-$ROOT/bin/smb3d}
if [ ! -x "$BIN" ]; then (cd "$ROOT" && go build -o bin/smb3d ./cmd/smb3d) || exit 1; BIN=$ROOT/bin/smb3d; fi

T=$(mktemp -d /tmp/smb3d-krb.XXXXXX)
chmod 755 "$T"
(cd "$ROOT" && go build -o "$T/replay" ./test/kerberos/replay && go test -c -o "$T/auth.test" ./smb3/auth) ||
    { rm -rf "$T"; echo "FAIL  build test/kerberos/replay or smb3/auth's tests"; exit 1; }
KDCPORT=$(free_port) PORT=$(free_port)
REALM=SMB3D.TEST HOST=server.smb3d.test
KDCPID=""
cleanup() {
    "$ROOT/test/peers/smb3d.sh" stop "$T/srv" >/dev/null 2>&1
    [ -n "$KDCPID" ] && kill "$KDCPID" 2>/dev/null && wait "$KDCPID" 2>/dev/null
    if [ $KEEP = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# --- the realm: own krb5.conf and kdc.conf, database and stash in $T ------------------------
export KRB5_CONFIG=$T/krb5.conf KRB5_KDC_PROFILE=$T/kdc.conf KRB5CCNAME=FILE:$T/ccache
export KRB5RCACHEDIR=$T KRB5_TRACE=/dev/null
cat > "$KRB5_CONFIG" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = false
    default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
    $REALM = {
        kdc = 127.0.0.1:$KDCPORT
    }
[domain_realm]
    .smb3d.test = $REALM
EOF
cat > "$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
    kdc_ports = $KDCPORT
    kdc_tcp_ports = $KDCPORT
[realms]
    $REALM = {
        database_name = $T/principal
        key_stash_file = $T/stash
        acl_file = $T/kadm5.acl
        max_life = 1h
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$T/kdc.log
EOF
: > "$T/kadm5.acl"
fail=0
ok()   { echo "ok    $*"; }
bad()  { echo "FAIL  $*"; fail=1; }
die()  { echo "FAIL  $*"; exit 1; }

kdb5_util create -s -r "$REALM" -P master.pw >"$T/kdb.log" 2>&1 || { cat "$T/kdb.log"; die "kdb5_util create"; }
kadm() { kadmin.local -r "$REALM" -q "$*" >>"$T/kadmin.log" 2>&1 || { tail -5 "$T/kadmin.log"; die "kadmin.local $*"; }; }
kadm addprinc -pw Alice.Krb.1 alice
kadm addprinc -pw Bob.Krb.1 bob
kadm addprinc -pw Carol.Krb.1 carol
kadm addprinc -randkey cifs/$HOST
# A second service name of the server whose tickets last 5 s (the KDC caps a ticket at the
# service's max life), for the expired-ticket check; the client's TGT stays long-lived, as
# Samba's client will not use a ccache whose TGT has less than 5 minutes left.
SHORT=short.smb3d.test
kadm addprinc -randkey -maxlife 5s cifs/$SHORT
kadm ktadd -k "$T/smb3d.keytab" cifs/$HOST cifs/$SHORT
kadm ktadd -k "$T/alice.keytab" -norandkey alice
kadm ktadd -k "$T/bob.keytab" -norandkey bob
kadm ktadd -k "$T/carol.keytab" -norandkey carol

krb5kdc -n -r "$REALM" >"$T/krb5kdc.out" 2>&1 &
KDCPID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$KDCPORT") 2>/dev/null && break; sleep 0.1; done
kill -0 "$KDCPID" 2>/dev/null || { cat "$T/krb5kdc.out" "$T/kdc.log" 2>/dev/null; die "krb5kdc did not start"; }

# --- smb3d with the keytab; its own user alice (NTLM password unrelated to Kerberos) ---------
mkdir -p "$T/srv"
# A 3 s clock skew (the default is 300) lets the expired-ticket check below run within seconds.
SKEW=3
"$ROOT/test/peers/smb3d.sh" --bin "$BIN" --global "kerberos keytab = $T/smb3d.keytab" \
    --global "kerberos clock skew = $SKEW" start "$T/srv" "$PORT" alice NTLM.Only.9 >/dev/null || die "smb3d did not start"
LOG=$T/srv/log/smb3d.log

out=$("$BIN" check -c "$T/srv/smb3d.conf" 2>&1)
if grep -q "cifs/$HOST@$REALM kvno 2 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96" <<<"$out"; then
    ok "smb3d check lists the keytab: $(grep -o "cifs/$HOST@.*" <<<"$out")"
else bad "smb3d check: $out"; fi

head -c $((3 << 20)) /dev/urandom > "$T/blob"
smbk() { # smbk PROTO-OPTIONS... -- smbclient command
    timeout 60 smbclient -s "$T/srv/client.conf" "//$HOST/share" -I 127.0.0.1 -p "$PORT" --use-kerberos=required -N "$@" 2>&1 </dev/null
}
putget() { # putget NAME smbclient-options...
    local name=$1; shift
    rm -f "$T/back"
    local out
    out=$(smbk "$@" -c "put $T/blob $name; get $name $T/back; ls $name")
    if cmp -s "$T/blob" "$T/back" && grep -q " $name " <<<"$out"; then return 0; fi
    echo "$out" | tail -5
    return 1
}

kinit -kt "$T/alice.keytab" alice >"$T/kinit.log" 2>&1 || { cat "$T/kinit.log"; die "kinit alice"; }
ok "kinit alice@$REALM: $(klist | grep -c krbtgt) TGT in the ccache"

# KRB5_CAPTURE=FILE: write the SPNEGO token Samba's gensec (Heimdal) sends for cifs/$HOST, the
# keytab and the time, as hex lines, for smb3/auth's golden test of a real client's AP-REQ.
if [ -n "${KRB5_CAPTURE:-}" ]; then
    { echo "# $(date -u +%FT%TZ) realm $REALM service cifs/$HOST client alice"
      date -u +%s
      /usr/bin/python3 "$HERE/gensec-token.py" "$T/srv/client.conf" "$T/ccache" "$HOST"
      xxd -p "$T/smb3d.keytab" | tr -d '\n'; echo; } > "$KRB5_CAPTURE" || bad "capture"
    kdestroy; kinit -kt "$T/alice.keytab" alice >>"$T/kinit.log" 2>&1
fi

# Two AP-REQs for cifs/$SHORT (a 5 s ticket), made by Samba's gensec over Heimdal as smbclient
# makes them. One is sent twice now: accepted, then refused by the replay cache. The other is
# kept until the ticket has expired (checked at the end, so the wait overlaps the other checks).
gensec() {
    /usr/bin/python3 "$HERE/gensec-token.py" "$T/srv/client.conf" "$T/ccache" "$SHORT" 2>>"$T/gensec.log" ||
        { tail -3 "$T/gensec.log" >&2; echo "FAIL  gensec token for cifs/$SHORT" >&2; exit 1; }
}
tok_expire=$(gensec) || exit 1
tok_replay=$(gensec) || exit 1
short_end=$(LC_ALL=C klist | awk -v s="cifs/$SHORT@$REALM" '$5 == s { print $3, $4 }')
short_end_s=$(date -d "$short_end" +%s 2>/dev/null) || die "no cifs/$SHORT ticket in the ccache: $(klist)"
before=$(grep -c krb5-replay "$LOG")
out=$("$T/replay" -n 2 "127.0.0.1:$PORT" "$tok_replay" 2>&1)
if [ "$out" = "$(printf 'STATUS_SUCCESS\nSTATUS_LOGON_FAILURE')" ] && [ "$(grep -c krb5-replay "$LOG")" -gt "$before" ]; then
    ok "a captured AP-REQ: accepted once, then refused when sent again (LOGON_FAILURE, smb3d: krb5-replay)"
else bad "replayed AP-REQ: $(echo $out)"; fi

# The PAC: a token for cifs/$HOST (capture format, as KRB5_CAPTURE), checked by smb3/auth's
# TestLiveKDCTicketPAC: the KDC's ticket carries a PAC whose server signature verifies with
# smb3d's keytab; the test also writes the token with one PAC byte changed (ticket re-encrypted
# with the service key), which smb3d must refuse for the PAC's signature.
{ echo "# live capture"; date -u +%s
  /usr/bin/python3 "$HERE/gensec-token.py" "$T/srv/client.conf" "$T/ccache" "$HOST" 2>>"$T/gensec.log"
  xxd -p "$T/smb3d.keytab" | tr -d '\n'; echo; } > "$T/live.txt" || die "gensec token for cifs/$HOST"
if out=$(cd "$ROOT/smb3/auth" && KRB5_LIVE_CAPTURE=$T/live.txt "$T/auth.test" -test.run '^TestLiveKDCTicketPAC$' -test.v 2>&1) &&
    grep -q "^--- PASS" <<<"$out"; then
    ok "the MIT KDC's ticket carries a PAC; its server signature and client info verify ($(grep -o 'PAC of [0-9]* bytes, buffers [0-9]*' <<<"$out"))"
else bad "PAC of the KDC's ticket: $(tail -5 <<<"$out")"; fi
before=$(grep -c krb5-pac-server-checksum "$LOG")
out=$("$T/replay" "127.0.0.1:$PORT" "$(cat "$T/live.txt.tampered" 2>/dev/null)" 2>&1)
if [ "$out" = STATUS_LOGON_FAILURE ] && [ "$(grep -c krb5-pac-server-checksum "$LOG")" -gt "$before" ]; then
    ok "a ticket whose PAC was changed: refused (LOGON_FAILURE, smb3d: krb5-pac-server-checksum)"
else bad "ticket with a changed PAC: $out; smb3d: $(grep logon-failure "$LOG" | tail -1)"; fi

# Domain SIDs from the PAC in the session's token: a file whose DACL allows only the domain
# group S-1-5-21-3623811015-3361044348-30300820-1105 (stored where smb3d keeps descriptors, the
# user.smb3d.sd xattr). The token TestLiveKDCTicketPAC wrote carries a PAC with that group
# (KERB_VALIDATION_INFO as an AD DC issues it, signed with the service key): it opens the file;
# smbclient's own ticket from the MIT KDC (a PAC without KERB_VALIDATION_INFO) is denied.
DOMGROUP=S-1-5-21-3623811015-3361044348-30300820-1105
echo "for the domain group" > "$T/srv/share/domain-only.txt"
/usr/bin/python3 - "$T/srv/share/domain-only.txt" "$DOMGROUP" <<'PY' || bad "setting the descriptor of domain-only.txt"
import os, struct, sys
def sid(s):
    p = s.split("-")
    subs = [int(x) for x in p[3:]]
    return bytes([1, len(subs)]) + int(p[2]).to_bytes(6, "big") + b"".join(struct.pack("<I", x) for x in subs)
path, allowed = sys.argv[1:3]
st = os.stat(path)
owner, group = sid("S-1-22-1-%d" % st.st_uid), sid("S-1-22-2-%d" % st.st_gid)
a = sid(allowed)
ace = struct.pack("<BBHI", 0, 0, 8 + len(a), 0x001F01FF) + a  # ACCESS_ALLOWED, FILE_ALL_ACCESS
acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
sd = struct.pack("<BBHIIII", 1, 0, 0x8004, 20, 20 + len(owner), 0, 20 + len(owner) + len(group)) + owner + group + acl
os.setxattr(path, "user.smb3d.sd", sd)  # MS-DTYP 2.4.6 self-relative, DACL present
PY
out=$("$T/replay" -open '\\'"$HOST"'\share/domain-only.txt' "127.0.0.1:$PORT" "$(cat "$T/live.txt.domain-sids" 2>/dev/null)" 2>&1)
if [ "$out" = "$(printf 'STATUS_SUCCESS\nSTATUS_SUCCESS')" ]; then
    ok "a ticket whose PAC has domain group ...-1105: logon, and opens a file whose DACL allows only that group"
else bad "domain-SID ticket opening domain-only.txt: $(echo $out)"; fi
out=$(smbk -m SMB3 -c "get domain-only.txt $T/domain-only.back")
if grep -q NT_STATUS_ACCESS_DENIED <<<"$out"; then ok "the MIT ticket's session (no domain SIDs) is denied that file (ACCESS_DENIED)"
else bad "MIT ticket session reading domain-only.txt: $(tail -2 <<<"$out")"; fi

if putget k311s -m SMB3 --client-protection=sign; then ok "Kerberos, SMB 3.1.1 signed: 3 MiB put/get/ls identical"
else bad "Kerberos, SMB 3.1.1 signed"; fi
if grep -q "cifs/$HOST@$REALM" < <(klist); then ok "the client holds a service ticket for cifs/$HOST@$REALM"
else bad "no cifs/$HOST ticket in the ccache"; fi
if grep -q 'session established.*user=alice.*signing=true' "$LOG"; then ok "smb3d: session established for user=alice (mapped from alice@$REALM), signing"
else bad "smb3d log has no signed session for alice"; fi
for c in AES-128-GCM AES-256-GCM; do
    if putget "k311e$c" -m SMB3 --client-protection=encrypt --option="client smb3 encryption algorithms=$c"; then
        ok "Kerberos, SMB 3.1.1 encrypted ($c): put/get identical"
    else bad "Kerberos, SMB 3.1.1 encrypted ($c)"; fi
done
if putget k300 -m SMB3_00 --client-protection=sign; then ok "Kerberos, SMB 3.0 signed: put/get identical"
else bad "Kerberos, SMB 3.0 signed"; fi
if putget k210 -m SMB2_10 --client-protection=sign; then ok "Kerberos, SMB 2.1 signed: put/get identical"
else bad "Kerberos, SMB 2.1 signed"; fi

# --- refusals --------------------------------------------------------------------------------
refused() { # refused WHAT REASON: smbclient fails with LOGON_FAILURE and smb3d logs REASON
    local what=$1 reason=$2 out
    local before; before=$(grep -c "$reason" "$LOG")
    out=$(smbk -m SMB3 -c ls)
    if grep -q NT_STATUS_LOGON_FAILURE <<<"$out" && [ "$(grep -c "$reason" "$LOG")" -gt "$before" ]; then
        ok "$what: refused (LOGON_FAILURE, smb3d: $reason)"
    else bad "$what: $(tail -3 <<<"$out")"; fi
}
kdestroy
kinit -kt "$T/bob.keytab" bob >>"$T/kinit.log" 2>&1 || die "kinit bob"
refused "bob@$REALM, a principal with no smb3d user" krb5-unknown-user

# carol: a Kerberos-only user (no NT hash in smb3d's users file), added while smb3d runs.
reloads=$(grep -c "configuration reloaded" "$LOG")
"$BIN" user add --file "$T/srv/users" --kerberos-only carol || die "smb3d user add --kerberos-only carol"
grep -qx "carol:\*" "$T/srv/users" || bad "users file has no carol:* line"
kill -HUP "$(cat "$T/srv/smb3d.pid")"
for _ in $(seq 1 50); do [ "$(grep -c "configuration reloaded" "$LOG")" -gt "$reloads" ] && break; sleep 0.1; done
kdestroy; kinit -kt "$T/carol.keytab" carol >>"$T/kinit.log" 2>&1 || die "kinit carol"
if putget kcarol -m SMB3 --client-protection=sign && grep -q 'session established.*user=carol' "$LOG"; then
    ok "carol, a Kerberos-only user (users file carol:*, added by smb3d user add --kerberos-only and a reload): Kerberos put/get"
else bad "Kerberos-only user carol over Kerberos"; fi
before=$(grep -c ntlm-kerberos-only-user "$LOG")
out=$(timeout 60 smbclient -s "$T/srv/client.conf" //127.0.0.1/share -p "$PORT" -U carol%Carol.Krb.1 -m SMB3 -c ls 2>&1)
if grep -q NT_STATUS_LOGON_FAILURE <<<"$out" && [ "$(grep -c ntlm-kerberos-only-user "$LOG")" -gt "$before" ]; then
    ok "carol over NTLM: refused (LOGON_FAILURE, smb3d: ntlm-kerberos-only-user)"
else bad "carol over NTLM: $(tail -2 <<<"$out")"; fi

# A new key for cifs/$HOST (kvno 3) that the server's keytab does not have yet.
kadm cpw -randkey cifs/$HOST
kdestroy; kinit -kt "$T/alice.keytab" alice >>"$T/kinit.log" 2>&1 || die "kinit alice"
refused "a ticket for key version 3, keytab at kvno 2" krb5-no-key-for-kvno-etype

# The right kvno with the wrong key: a keytab entry made from another password.
cp "$T/smb3d.keytab" "$T/good.keytab"
printf 'rkt %s\naddent -password -p %s -k 3 -e aes256-cts-hmac-sha1-96\nwrong\naddent -password -p %s -k 3 -e aes128-cts-hmac-sha1-96\nwrong\nwkt %s\nq\n' \
    "$T/good.keytab" "cifs/$HOST@$REALM" "cifs/$HOST@$REALM" "$T/wrong.keytab" | ktutil >"$T/ktutil.log" 2>&1
sleep 1.1 # a different mtime for the reload check
cp "$T/wrong.keytab" "$T/smb3d.keytab.new" && mv "$T/smb3d.keytab.new" "$T/smb3d.keytab"
refused "a ticket whose key is not the keytab's (same kvno 3)" krb5-ticket-decrypt

# Rotation: the new key exported into the keytab file is used without a restart.
sleep 1.1
cp "$T/good.keytab" "$T/smb3d.keytab.new" && mv "$T/smb3d.keytab.new" "$T/smb3d.keytab"
kadm ktadd -k "$T/smb3d.keytab" -norandkey cifs/$HOST
if putget krot -m SMB3 --client-protection=sign; then ok "key rotation: kvno 3 added to the keytab file, accepted without a restart"
else bad "after the key rotation"; fi

# The expired ticket: once its end time plus the skew has passed, the AP-REQ made while it was
# valid is refused by smb3d (the check Heimdal's client does itself, so smbclient never sends it).
wait_until=$((short_end_s + SKEW + 1))
now=$(date +%s); [ "$now" -lt "$wait_until" ] && sleep $((wait_until - now))
before=$(grep -c krb5-ticket-expired "$LOG")
out=$("$T/replay" "127.0.0.1:$PORT" "$tok_expire" 2>&1)
if [ "$out" = STATUS_LOGON_FAILURE ] && [ "$(grep -c krb5-ticket-expired "$LOG")" -gt "$before" ]; then
    ok "an AP-REQ whose ticket expired (ticket ended $short_end): refused (LOGON_FAILURE, smb3d: krb5-ticket-expired)"
else bad "expired ticket: $out; smb3d: $(grep logon-failure "$LOG" | tail -1)"; fi

# NTLM still works beside Kerberos.
out=$(timeout 60 smbclient -s "$T/srv/client.conf" //127.0.0.1/share -p "$PORT" -U alice%NTLM.Only.9 -m SMB3 -c ls 2>&1)
if grep -q k311s <<<"$out"; then ok "NTLM logon still works beside Kerberos"; else bad "NTLM beside Kerberos: $out"; fi

exit $fail
