#!/usr/bin/env bash
# acls.sh — security descriptors round trip with smbcacls (issue 12): smbcacls reads a file's
# descriptor (the owner is the file's POSIX owner, S-1-22-1-uid), adds an ACE denying a second
# user, reads it back; smbclient as that user is then denied while the first user still reads
# the file; the descriptor survives a server restart (it is stored in the user.smb3d.sd xattr);
# deleting the ACE gives the second user access again.
#
# Users are told apart by the Unix SIDs of the local accounts of the same name (S-1-22-1-uid),
# so the test creates two system accounts (root only; removed at the end) unless they exist.
# smbcacls has no port option, so smb3d also listens on port 445 of a loopback address of its
# own (127.x.y.z). Exit status 0 when all hold.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SMB3D:-$ROOT/bin/smb3d}
[ -x "$BIN" ] || { (cd "$ROOT" && go build -o bin/smb3d ./cmd/smb3d) || exit 1; BIN=$ROOT/bin/smb3d; }
if [ "$(id -u)" != 0 ]; then echo "skip  acls.sh: needs root (useradd, port 445)"; exit 0; fi

U1=smb3dacl1 U2=smb3dacl2 P1=Acl.Pass.1 P2=Acl.Pass.2
DIR=$(mktemp -d /tmp/smb3d-acl.XXXX)
chmod 755 "$DIR"
PORT=$(free_port)
ADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
created=()
cleanup() {
    "$ROOT/test/peers/smb3d.sh" stop "$DIR" >/dev/null 2>&1
    for u in "${created[@]}"; do userdel "$u" 2>/dev/null; done
    rm -rf "$DIR"
}
trap cleanup EXIT
for u in $U1 $U2; do
    if ! id "$u" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$u" || { echo "FAIL  useradd $u"; exit 1; }
        created+=("$u")
    fi
done
UID2=$(id -u $U2)
SID2=S-1-22-1-$UID2

fail=0
ok()  { echo "ok    $*"; }
bad() { echo "FAIL  $*"; fail=1; }
start() {
    "$ROOT/test/peers/smb3d.sh" --bin "$BIN" --global "listen = $ADDR:445" start "$DIR" "$PORT" $U1 $P1 >/dev/null \
        || { echo "FAIL  smb3d did not start"; exit 1; }
}
"$BIN" user add --file "$DIR/users" --password $P2 $U2 >/dev/null || exit 1
start
cacls() { timeout 30 smbcacls -s "$DIR/client.conf" "//$ADDR/share" acl.txt --numeric "$@" 2>&1; }
smbc()  { timeout 30 smbclient -s "$DIR/client.conf" "//127.0.0.1/share" -p "$PORT" "$@" 2>&1; }

echo "the file's contents" > "$DIR/payload"
smbc -U $U1%$P1 -c "put $DIR/payload acl.txt" >/dev/null
owner_uid=$(stat -c %u "$DIR/share/acl.txt")
out=$(cacls -U $U1%$P1)
if grep -qx "OWNER:S-1-22-1-$owner_uid" <<<"$out" && grep -q '^ACL:' <<<"$out"; then
    ok "smbcacls reads the descriptor: OWNER:S-1-22-1-$owner_uid (the file's owner), $(grep -c '^ACL:' <<<"$out") ACEs"
else bad "smbcacls read: $out"; fi
if out=$(smbc -U $U2%$P2 -c "get acl.txt $DIR/got2") && cmp -s "$DIR/payload" "$DIR/got2"; then
    ok "$U2 reads acl.txt before any ACE names it"
else bad "$U2 before the ACE: $out"; fi

out=$(cacls -U $U1%$P1 -a "ACL:$SID2:DENIED/0/FULL")
back=$(cacls -U $U1%$P1)
if grep -q "^ACL:$SID2:1/0x0/0x001f01ff" <<<"$back"; then ok "smbcacls -a ACL:$SID2:DENIED/0/FULL, read back: $(grep "$SID2" <<<"$back")"
else bad "ACE not read back: $out / $back"; fi

denied() {
    local out; rm -f "$DIR/got2"
    out=$(smbc -U $U2%$P2 -c "get acl.txt $DIR/got2")
    if grep -q NT_STATUS_ACCESS_DENIED <<<"$out" && [ ! -s "$DIR/got2" ]; then ok "$1: $U2 is denied (NT_STATUS_ACCESS_DENIED)"
    else bad "$1: $U2 not denied: $out"; fi
    rm -f "$DIR/got1"
    if out=$(smbc -U $U1%$P1 -c "get acl.txt $DIR/got1") && cmp -s "$DIR/payload" "$DIR/got1"; then ok "$1: $U1 still reads it"
    else bad "$1: $U1: $out"; fi
}
denied "after the ACE"

if python3 -c 'import os,sys; sys.exit(0 if len(os.getxattr(sys.argv[1], "user.smb3d.sd")) > 20 else 1)' "$DIR/share/acl.txt" 2>/dev/null; then
    ok "descriptor stored in the user.smb3d.sd xattr"
else bad "no user.smb3d.sd xattr on the file"; fi

"$ROOT/test/peers/smb3d.sh" stop "$DIR" >/dev/null
start
back2=$(cacls -U $U1%$P1)
if [ "$back2" = "$back" ]; then ok "after a restart smbcacls reads the same descriptor"
else bad "after a restart: $back2 (was $back)"; fi
denied "after a restart"

out=$(cacls -U $U1%$P1 -D "ACL:$SID2:DENIED/0/FULL")
if ! cacls -U $U1%$P1 | grep -q "$SID2" && smbc -U $U2%$P2 -c "get acl.txt $DIR/got2" >/dev/null && cmp -s "$DIR/payload" "$DIR/got2"; then
    ok "smbcacls -D removes the ACE: $U2 reads the file again"
else bad "after -D: $out"; fi
exit $fail
