#!/usr/bin/env bash
# run.sh — the benchmark suite (`make bench`): smb3d and Samba smbd, started here on 127.0.0.1
# with equal settings (test/peers/*.sh; smbd with setting A of PEERS.md, both multichannel on
# loopback only) on tmpfs shares, driven back to back by cmd/smb3bench with the same workloads:
#   seqwrite/seqread at 1 MiB and 8 MiB, 4 KiB randread IOPS, C creates (CREATE+CLOSE compounds
#   in a fresh directory), N stats (CREATE+QUERY_INFO+CLOSE compounds) and a listing of N
#   entries (a directory of N files made directly on each tmpfs share), each with 1 and 4 channels;
# plus raw loopback TCP in Go (the ceiling) and smbclient get/put against the same smbd (to show
# that smb3bench is not the bottleneck: each smbclient put/get runs right after smb3bench doing
# the same against the same smbd). Every figure is the median of RUNS runs; the outside
# CPU load (busy CPU not used by the server or the client) is recorded with each run.
#
# Usage: test/bench/run.sh [-r RUNS] [-s SIZE_MIB] [-F FILES] [-C CREATES] [-d RANDSECS] [-c "1 4"]
#                          [-q] [-b SMB3D_BIN] [-o OUTDIR] [-S|-E]
#   -r RUNS      runs per workload (default 3, at least 3 for a median)
#   -s SIZE_MIB  file size of the sequential workloads (default 512)
#   -F FILES     files for stat/list (default 10000)
#   -C CREATES   files created per create run, into one new directory (default 10000: smbd's
#                case-insensitive lookup scans the directory on each create, so this is the
#                slowest workload for smbd, 15 s per run at load 5 here)
#   -d SECS      duration of the 4 KiB random read (default 5)
#   -c LIST      channel counts (default "1 4")
#   -q           quick: -r 3 -s 256 -F 2000 -C 1000 -d 3 (a smoke run)
#   -b BIN       smb3d binary to run (default: build ./cmd/smb3d from this checkout)
#   -o OUTDIR    results directory (default /tmp/smb3d-bench.XXXX)
#   -S / -E      sign / encrypt every request (both servers)
# Output in OUTDIR: runs.csv (every run), summary.csv and summary.txt (medians and the
# smb3d/smbd ratios), bench.png (gnuplot; installed with apt-get if missing), machine.txt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=3 SIZE=512 FILES=10000 CREATES=10000 RSECS=5 CHANS="1 4" BIN="" OUT="" SECFLAGS=""
while getopts "r:s:F:C:d:c:qb:o:SE" o; do
  case $o in
    r) RUNS=$OPTARG;; s) SIZE=$OPTARG;; F) FILES=$OPTARG;; C) CREATES=$OPTARG;; d) RSECS=$OPTARG;; c) CHANS=$OPTARG;;
    q) RUNS=3 SIZE=256 FILES=2000 CREATES=1000 RSECS=3;;
    b) BIN=$OPTARG;; o) OUT=$OPTARG;; S) SECFLAGS="$SECFLAGS -sign";; E) SECFLAGS="$SECFLAGS -encrypt";;
    *) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2;;
  esac
done
[ "$RUNS" -ge 1 ] || { echo "run.sh: -r must be positive" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/smb3d-bench.XXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd); chmod 755 "$OUT"
USERN=benchuser PASSW=Bench.Pass.1
TMPFS_MB=$(( SIZE * 3 + 512 ))

echo "run.sh: results in $OUT" >&2
(cd "$ROOT" && go build -o "$OUT/smb3bench" ./cmd/smb3bench)
if [ -z "$BIN" ]; then
  mkdir -p "$OUT/bin"; BIN=$OUT/bin/smb3d
  (cd "$ROOT" && go build -o "$BIN" ./cmd/smb3d) || { echo "run.sh: go build ./cmd/smb3d failed" >&2; exit 1; }
fi
if ! command -v gnuplot >/dev/null; then
  echo "run.sh: installing gnuplot-nox for the plot" >&2
  apt-get install -y --no-install-recommends gnuplot-nox >"$OUT/apt.log" 2>&1 \
    || echo "run.sh: gnuplot install failed (see $OUT/apt.log): no plot" >&2
fi

cleanup() {
  "$ROOT/test/peers/smbd.sh" stop "$OUT/smbd" >/dev/null 2>&1 || true
  "$ROOT/test/peers/smb3d.sh" stop "$OUT/smb3d" >/dev/null 2>&1 || true
  umount "$OUT/smb3d/share" 2>/dev/null || true
  rm -f /dev/shm/smb3d-bench-src.$$ /dev/shm/smb3d-bench-back.$$
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A PORT PID
PORT[smbd]=$(freeport); PORT[smb3d]=$(freeport)
PID[smbd]=$("$ROOT/test/peers/smbd.sh" --tmpfs "${TMPFS_MB}m" start "$OUT/smbd" "${PORT[smbd]}" "$USERN" "$PASSW" | tail -1)
mkdir -p "$OUT/smb3d/share"
mountpoint -q "$OUT/smb3d/share" || mount -t tmpfs -o "size=${TMPFS_MB}m,mode=1777" tmpfs "$OUT/smb3d/share"
PID[smb3d]=$("$ROOT/test/peers/smb3d.sh" --bin "$BIN" start "$OUT/smb3d" "${PORT[smb3d]}" "$USERN" "$PASSW" | tail -1)

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "smbd: $(/usr/sbin/smbd -V) setting A (test/peers/smbd.sh, tmpfs)"
  if [ "$BIN" = "$OUT/bin/smb3d" ]; then
    echo "smb3d: built from $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet -- cmd smb3 transport internal 2>/dev/null || echo '+uncommitted changes')"
  else
    echo "smb3d: $BIN (given with -b)"
  fi
  echo "sizes: runs=$RUNS seq=${SIZE}MiB creates=$CREATES stat/list=$FILES randread=${RSECS}s channels='$CHANS' security='${SECFLAGS:-none}'"
} | tee "$OUT/machine.txt" >&2

TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
ticks() { # utime+stime+cutime+cstime of a pid and its children (smbd forks per connection)
  local t=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    if [ -r "/proc/$p/stat" ]; then t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0))); fi
  done
  echo $t
}
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

RUNSCSV=$OUT/runs.csv
echo "server,run,workload,channels,depth,bs,MBps,IOPS,p50_us,p99_us,secs,client_cpu_pct,server_cpu_pct,outside_cpu_pct,errors" > "$RUNSCSV"

# one SERVER RUN WORKLOAD CHANNELS DEPTH -- smb3bench args...
one() {
  local srv=$1 run=$2 wl=$3 ch=$4 depth=$5; shift 5
  local port=${PORT[$srv]} pid=${PID[$srv]} tmp=$OUT/one.csv t0 t1 b0 a0 b1 a1 rc=0
  rm -f "$tmp"
  t0=$(ticks "$pid"); read -r b0 a0 < <(busy)
  timeout 900 "$OUT/smb3bench" -addr "127.0.0.1:$port" -user "$USERN" -pass "$PASSW" -share share \
    -channels "$ch" -depth "$depth" -progress 0 -q -csv "$tmp" -label "$srv" $SECFLAGS "$@" \
    2>>"$OUT/smb3bench.err" || rc=$?
  sleep 0.2 # let smbd reap the connection's process so its CPU is counted
  t1=$(ticks "$pid"); read -r b1 a1 < <(busy)
  if [ ! -s "$tmp" ]; then
    echo "run.sh: $srv $wl ch=$ch run $run failed (rc $rc): $(tail -1 "$OUT/smb3bench.err")" >&2
    return 0
  fi
  tail -1 "$tmp" | awk -F, -v s="$srv" -v r="$run" -v w="$wl" -v t0="$t0" -v t1="$t1" -v tck="$TCK" \
      -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" -v n="$NCPU" 'BEGIN { OFS = "," } {
    secs = $10; srv = (t1 - t0) / tck / secs * 100
    all = (a1 > a0) ? (b1 - b0) / (a1 - a0) * 100 * n : 0
    other = all - srv - $15; if (other < 0) other = 0
    print s, r, w, $3, $4, $5, $11, $12, $13, $14, $10, $15, sprintf("%.0f", srv), sprintf("%.0f", other), $16 }' \
    | tee -a "$RUNSCSV" >&2
}

# The stat/list directory: FILES empty files made directly on each share (not timed).
for srv in smbd smb3d; do
  mkdir -p "$OUT/$srv/share/tree"
  (cd "$OUT/$srv/share/tree" && seq -f 'f%06g' 0 $((FILES - 1)) | xargs touch)
  id "$USERN" >/dev/null 2>&1 && chown -R "$USERN" "$OUT/$srv/share/tree"
done

# Workloads: name, depth, smb3bench arguments (the channel count is added per run).
WORKLOADS=(
  "seqwrite-1M|16|-op seqwrite -bs 1M -size ${SIZE}M -file seq1m.dat"
  "seqread-1M|16|-op seqread -bs 1M -size ${SIZE}M -file seq1m.dat"
  "seqwrite-8M|4|-op seqwrite -bs 8M -size ${SIZE}M -file seq8m.dat"
  "seqread-8M|4|-op seqread -bs 8M -size ${SIZE}M -file seq8m.dat"
  "randread-4K|32|-op randread -bs 4K -size ${SIZE}M -file seq1m.dat -duration ${RSECS}s"
)
for r in $(seq 1 "$RUNS"); do
  # Alternate which server goes first, so that neither always meets the other's leftovers.
  if [ $((r % 2)) = 1 ]; then ORDER="smbd smb3d"; else ORDER="smb3d smbd"; fi
  for ch in $CHANS; do
    for w in "${WORKLOADS[@]}"; do
      IFS='|' read -r name depth args <<<"$w"
      for srv in $ORDER; do one "$srv" "$r" "$name" "$ch" "$depth" $args; done
    done
    # Metadata: creates in a fresh directory per run and channel count; stat and list the tree.
    for srv in $ORDER; do one "$srv" "$r" "create-$CREATES" "$ch" 16 -op create -files "$CREATES" -dir "new-r$r-c$ch"; done
    for srv in $ORDER; do one "$srv" "$r" "stat-$FILES" "$ch" 16 -op stat -files "$FILES" -dir tree; done
    for srv in $ORDER; do one "$srv" "$r" "list-$FILES" "$ch" 1 -op list -bs 64K -dir tree -duration 1s; done
  done
  # The ceiling: raw loopback TCP in Go, 1 MiB writes, one and four connections.
  for ch in $CHANS; do
    read -r b0 a0 < <(busy)
    "$OUT/smb3bench" -op tcp -bs 1M -size "$((SIZE * 2))M" -channels "$ch" -progress 0 -q -csv "$OUT/tcp.csv" -label tcp
    read -r b1 a1 < <(busy)
    tail -1 "$OUT/tcp.csv" | awk -F, -v r="$r" -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" -v n="$NCPU" \
      'BEGIN { OFS = "," } { all = (b1 - b0) / (a1 - a0) * 100 * n; o = all - $15; if (o < 0) o = 0
        print "tcp", r, "tcp-1M", $3, $4, $5, $11, $12, $13, $14, $10, $15, 0, sprintf("%.0f", o), $16 }' \
      | tee -a "$RUNSCSV" >&2
  done
  # smbclient against the same smbd, each right after smb3bench doing the same: put vs
  # seqwrite-1M, get vs seqread-1M (one channel, the same file size).
  SRC=/dev/shm/smb3d-bench-src.$$
  [ -f "$SRC" ] || head -c $((SIZE << 20)) /dev/urandom > "$SRC"
  PID[smb3bench]=${PID[smbd]} PORT[smb3bench]=${PORT[smbd]}
  PROT=()  # smbclient protects its traffic as smb3bench does
  case $SECFLAGS in *-encrypt*) PROT=(--client-protection=encrypt);; *-sign*) PROT=(--client-protection=sign);; esac
  for op in put get; do
    if [ $op = put ]; then
      wl=seqwrite-1M cmd="put $SRC smbclient.dat"
      one smb3bench "$r" $wl 1 16 -op seqwrite -bs 1M -size "${SIZE}M" -file check.dat
    else
      wl=seqread-1M cmd="get smbclient.dat /dev/shm/smb3d-bench-back.$$"
      one smb3bench "$r" $wl 1 16 -op seqread -bs 1M -size "${SIZE}M" -file check.dat
    fi
    t0=$(ticks "${PID[smbd]}"); read -r b0 a0 < <(busy); s0=$(date +%s.%N)
    ct=$( { TIMEFORMAT='%U %S'; time smbclient -s "$OUT/smbd/client.conf" //127.0.0.1/share -p "${PORT[smbd]}" \
          -U "$USERN%$PASSW" -m SMB3 "${PROT[@]}" -c "$cmd" >/dev/null 2>>"$OUT/smbclient.err"; } 2>&1 )
    s1=$(date +%s.%N); sleep 0.2; t1=$(ticks "${PID[smbd]}"); read -r b1 a1 < <(busy)
    awk -v r="$r" -v w="$wl" -v s0="$s0" -v s1="$s1" -v sz="$SIZE" -v ct="$ct" -v t0="$t0" -v t1="$t1" \
      -v tck="$TCK" -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" -v n="$NCPU" 'BEGIN { OFS = ","
      secs = s1 - s0; split(ct, c, " "); cc = (c[1] + c[2]) / secs * 100; srv = (t1 - t0) / tck / secs * 100
      all = (b1 - b0) / (a1 - a0) * 100 * n; o = all - srv - cc; if (o < 0) o = 0
      print "smbclient", r, w, 1, 1, 0, sprintf("%.1f", sz * 1048576 / 1e6 / secs), 0, 0, 0, sprintf("%.3f", secs),
        sprintf("%.0f", cc), sprintf("%.0f", srv), sprintf("%.0f", o), 0 }' | tee -a "$RUNSCSV" >&2
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt" >&2

python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.txt"
if command -v gnuplot >/dev/null && [ -s "$OUT/ratios.dat" ]; then
  gnuplot -e "out='$OUT/bench.png'; dat='$OUT/ratios.dat'; ncol=$(head -1 "$OUT/ratios.dat" | wc -w); ttl='$(sed -n 2p "$OUT/machine.txt" | cut -c7-80), $(grep '^load at start' "$OUT/machine.txt")'" \
    "$HERE/plot.gp" && echo "plot: $OUT/bench.png"
fi
