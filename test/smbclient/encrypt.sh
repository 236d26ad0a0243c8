#!/usr/bin/env bash
# encrypt.sh — issue 3's encryption acceptance with smbclient: a share with 'encrypt data'
# works for an encrypting client with each of the four ciphers (and each of the three
# signing algorithms on a plain share), and a client that cannot encrypt is refused there.
# Starts its own smb3d on 127.0.0.1 (test/peers/smb3d.sh). Exit status 0 when all hold.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
ROOT=$(cd "$HERE/../.." && pwd)
DIR=$(mktemp -d /tmp/smb3d-enc.XXXX)
chmod 755 "$DIR"
PORT=$(free_port)
U=encuser P=Enc.Pass.1
mkdir -p "$DIR/secret"
"$ROOT/test/peers/smb3d.sh" --global "[secret]" --global "path = $DIR/secret" --global "encrypt data = yes" \
    start "$DIR" "$PORT" "$U" "$P" >/dev/null || exit 1
trap '"$ROOT/test/peers/smb3d.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
head -c $((8 << 20)) /dev/urandom > "$DIR/blob"
fail=0
smbc() { timeout 60 smbclient -s "$DIR/client.conf" "//127.0.0.1/$1" -p "$PORT" -U "$U%$P" "${@:2}" 2>&1; }
for c in AES-128-CCM AES-128-GCM AES-256-CCM AES-256-GCM; do
    rm -f "$DIR/blob.back"
    out=$(smbc secret -m SMB3 --client-protection=encrypt --option="client smb3 encryption algorithms=$c" \
        -c "put $DIR/blob b.$c; get b.$c $DIR/blob.back")
    if cmp -s "$DIR/blob" "$DIR/blob.back"; then echo "ok    encrypted share, $c: 8 MiB put/get identical"
    else echo "FAIL  encrypted share, $c: $out"; fail=1; fi
done
rm -f "$DIR/blob.back"
out=$(smbc secret -m SMB3_00 --client-protection=encrypt -c "put $DIR/blob b30; get b30 $DIR/blob.back")
if cmp -s "$DIR/blob" "$DIR/blob.back"; then echo "ok    encrypted share, SMB 3.0 (AES-128-CCM): put/get identical"
else echo "FAIL  encrypted share over SMB 3.0: $out"; fail=1; fi
for a in AES-128-GMAC AES-128-CMAC HMAC-SHA256; do
    rm -f "$DIR/blob.back"
    out=$(smbc share -m SMB3 --client-protection=sign --option="client smb3 signing algorithms=$a" \
        -c "put $DIR/blob s.$a; get s.$a $DIR/blob.back")
    if cmp -s "$DIR/blob" "$DIR/blob.back"; then echo "ok    signed share, $a: put/get identical"
    else echo "FAIL  signed, $a: $out"; fail=1; fi
done
# A client that cannot encrypt (SMB 2.1) is refused on the encrypted share ...
out=$(smbc secret -m SMB2_10 -c "ls")
if grep -q "NT_STATUS_ACCESS_DENIED" <<<"$out"; then echo "ok    SMB 2.1 client refused on the encrypted share (ACCESS_DENIED)"
else echo "FAIL  SMB 2.1 client on the encrypted share: $out"; fail=1; fi
# ... and still served on the plain one.
if smbc share -m SMB2_10 -c "ls" >/dev/null; then echo "ok    SMB 2.1 client served on the plain share"
else echo "FAIL  SMB 2.1 client on the plain share"; fail=1; fi
exit $fail
