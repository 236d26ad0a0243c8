#!/usr/bin/env bash
# getput.sh — a first side-by-side: smbclient put and get of one large file against Samba smbd
# and smb3d, started here on 127.0.0.1 with equal settings and tmpfs shares, back to back in one
# run. Prints each run, the medians and the smb3d/smbd ratios, with the machine's outside load.
#
# Usage: test/bench/getput.sh [-s SIZE_MIB] [-r RUNS] [-m SMB3|SMB3_00|SMB2_10] [-o DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=1024 RUNS=3 PROTO=SMB3 OUT=""
while getopts "s:r:m:o:" o; do
  case $o in s) SIZE=$OPTARG;; r) RUNS=$OPTARG;; m) PROTO=$OPTARG;; o) OUT=$OPTARG;; *) sed -n 2,7p "$0"; exit 2;; esac
done
OUT=${OUT:-$(mktemp -d /tmp/smb3d-bench.XXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT"
USERN=benchuser PASSW=Bench.Pass.1
SRC=/dev/shm/smb3d-bench-src.$$
head -c $((SIZE << 20)) /dev/urandom > "$SRC"
SUM=$(sha256sum < "$SRC" | cut -d' ' -f1)
cleanup() {
  "$ROOT/test/peers/smbd.sh" stop "$OUT/smbd" >/dev/null 2>&1 || true
  "$ROOT/test/peers/smb3d.sh" stop "$OUT/smb3d" >/dev/null 2>&1 || true
  umount "$OUT/smb3d/share" 2>/dev/null || true
  rm -f "$SRC" /dev/shm/smb3d-bench-back.$$
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(freeport); P2=$(freeport)
SPID1=$("$ROOT/test/peers/smbd.sh" --tmpfs $((SIZE * 3))m start "$OUT/smbd" "$P1" "$USERN" "$PASSW" | tail -1)
mkdir -p "$OUT/smb3d/share"
mount -t tmpfs -o size=$((SIZE * 3))m tmpfs "$OUT/smb3d/share"
SPID2=$("$ROOT/test/peers/smb3d.sh" ${SMB3D_GLOBAL:+--global "$SMB3D_GLOBAL"} start "$OUT/smb3d" "$P2" "$USERN" "$PASSW" | tail -1)

ticks() { # utime+stime+cutime+cstime of a pid and its children
  local t=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    if [ -r /proc/$p/stat ]; then t=$((t + $(awk '{print $14+$15+$16+$17}' /proc/$p/stat))); fi
  done
  echo $t
}
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
TCK=$(getconf CLK_TCK)

printf 'server\top\trun\tsecs\tMB/s\tsrv_cpu%%\tother_cpu%%\n' | tee "$OUT/runs.tsv"
one() { # server port pid conf op run
  local name=$1 port=$2 pid=$3 conf=$4 op=$5 run=$6 cmd
  if [ "$op" = put ]; then cmd="put $SRC big.bin"; else cmd="get big.bin /dev/shm/smb3d-bench-back.$$"; fi
  local t0 b0 s0 t1 b1 s1
  t0=$(ticks "$pid"); read -r b0 a0 < <(busy); s0=$(date +%s.%N)
  smbclient -s "$conf" "//127.0.0.1/share" -p "$port" -U "$USERN%$PASSW" -m "$PROTO" -c "$cmd" >/dev/null 2>"$OUT/err"
  s1=$(date +%s.%N); t1=$(ticks "$pid"); read -r b1 a1 < <(busy)
  if [ "$op" = get ]; then
    [ "$(sha256sum < /dev/shm/smb3d-bench-back.$$ | cut -d' ' -f1)" = "$SUM" ] || { echo "checksum mismatch ($name get)" >&2; exit 1; }
  fi
  awk -v n="$name" -v op="$op" -v r="$run" -v s0="$s0" -v s1="$s1" -v sz="$SIZE" -v t0="$t0" -v t1="$t1" \
      -v tck="$TCK" -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" 'BEGIN {
    secs = s1 - s0; mb = sz * 1048576 / 1e6 / secs
    srv = (t1 - t0) / tck / secs * 100
    all = (b1 - b0) / (a1 - a0) * 200
    printf "%s\t%s\t%d\t%.2f\t%.0f\t%.0f\t%.0f\n", n, op, r, secs, mb, srv, all - srv }' | tee -a "$OUT/runs.tsv"
}
for r in $(seq 1 "$RUNS"); do
  for op in put get; do
    one smbd "$P1" "$SPID1" "$OUT/smbd/client.conf" $op "$r"
    one smb3d "$P2" "$SPID2" "$OUT/smb3d/client.conf" $op "$r"
  done
done
echo
echo "medians (${SIZE} MiB, $PROTO, $(nproc) cores, $(uname -r)):"
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; v[k] = v[k] " " $5; c[k] = c[k] " " $6 }
  function med(s,  a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((n + 1) / 2)] }
  END { for (op in o) ; split("put get", ops, " ");
    printf "op\tsmbd MB/s\tsmb3d MB/s\tratio\tsmbd cpu%%\tsmb3d cpu%%\n"
    for (i = 1; i <= 2; i++) { a = med(v["smbd\t" ops[i]]); b = med(v["smb3d\t" ops[i]])
      printf "%s\t%s\t%s\t%.2f\t%s\t%s\n", ops[i], a, b, b / a, med(c["smbd\t" ops[i]]), med(c["smb3d\t" ops[i]]) } }' "$OUT/runs.tsv" | tee "$OUT/summary.tsv"
