#!/usr/bin/env bash
# idle-conns.sh — issue 3's slow-loris check: N idle, never-authenticating TCP connections to
# smb3d must not stop an authenticated client, and the server's memory must stay bounded.
# Starts its own smb3d on 127.0.0.1 (test/peers/smb3d.sh), prints RSS before/with/after.
# Usage: test/hostile/idle-conns.sh [N]      (default 1000)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
ROOT=$(cd "$HERE/../.." && pwd)
N=${1:-1000}
DIR=$(mktemp -d /tmp/smb3d-idle.XXXX)
chmod 755 "$DIR"
PORT=$(free_port)
U=idleuser P=Idle.Pass.1
PID=$("$ROOT/test/peers/smb3d.sh" --global "max connections = $((N + 64))" start "$DIR" "$PORT" "$U" "$P" | tail -1)
trap '"$ROOT/test/peers/smb3d.sh" stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
rss() { awk '/VmRSS/ {print $2}' /proc/"$PID"/status; }
echo "rss before: $(rss) KiB"
ulimit -n $((N + 256))
# Hold N connections open, each sending only a partial transport header, until killed.
python3 - "$PORT" "$N" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.send(b"\x00\x00")          # half a Direct TCP header, then silence
    socks.append(s)
print(f"holding {len(socks)} idle connections", flush=True)
time.sleep(120)
PY
HOLDER=$!
sleep 5
echo "rss with $N idle connections: $(rss) KiB"
head -c $((16 << 20)) /dev/urandom > "$DIR/blob"
if ! timeout 30 smbclient -s "$DIR/client.conf" //127.0.0.1/share -p "$PORT" -U "$U%$P" -m SMB3 \
    -c "put $DIR/blob b; get b $DIR/blob.back" >/dev/null 2>&1; then
  echo "FAIL: an authenticated client could not work beside $N idle connections" >&2; kill $HOLDER; exit 1
fi
cmp "$DIR/blob" "$DIR/blob.back" || { echo "FAIL: data differs" >&2; kill $HOLDER; exit 1; }
echo "authenticated client worked beside $N idle connections (16 MiB put/get identical)"
echo "rss after the client: $(rss) KiB"
kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null || true
sleep 1
echo "rss after the idle connections closed: $(rss) KiB"
