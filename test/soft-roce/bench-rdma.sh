#!/bin/bash
# bench-rdma.sh [-r RUNS] [-s SIZE_MIB] [-F FILES] [-d RANDSECS] [-c "1 2"] [-o OUTDIR]
#
# The SMB-Direct rows of the benchmark suite (make bench-rdma; not part of make test):
# smb3d and the kernel's ksmbd side by side in the soft-RoCE guest (QEMU TCG, rxe on
# dummy0), both driven by cmd/smb3bench over SMB-Direct and over TCP in the same guest:
#   seqwrite-1M / seqread-1M   1 MiB WRITE/READ over a SIZE MiB file, depth 8
#   seqwrite-8M / seqread-8M   8 MiB blocks, depth 4, each one request where the server allows,
#                              else split into requests of its limit (measured: smb3d 8 MiB over
#                              TCP, 1 MiB over SMB-Direct (its MaxReadWriteSize); ksmbd 4 MiB
#                              over both (its MaxReadSize/MaxWriteSize))
#   randread-4K                4 KiB READs at random aligned offsets for RANDSECS s, depth 16
#   create-F, stat-F           CREATE+CLOSE / CREATE+QUERY_INFO+CLOSE compounds on F files, depth 8
#   list-F                     listings of that F-file directory for 1 s
# and, as ceilings in the same guest, perftest's ib_write_bw/ib_read_bw with 1 MiB messages over
# rxe0 and raw TCP between two goroutines of smb3bench (smb3bench -op tcp),
# for each channel count in -c (extra channels bind to the same address), RUNS runs each,
# the order of the servers alternating between runs. Over SMB-Direct, READ/WRITE data above
# 4 KiB goes by RDMA (the server RDMA-writes/reads smb3bench's registered buffers).
# smb3d: 'rdma listen = RXE_IP:5445', TCP on 4445; ksmbd: SMB-Direct and TCP on 445. Shares
# on tmpfs in the guest, signing and encryption off.
#
# Prints and writes to OUTDIR (default <repo>/.cache/bench-rdma/<UTC time>): runs.csv (every
# smb3bench run), summary.txt/summary.csv (medians, smb3d/ksmbd and RDMA/TCP ratios), bench.png
# (the smb3d/ksmbd ratios; gnuplot),
# machine.txt (host, guest, load). The host's outside CPU load during the VM (busy CPU not
# used by qemu) is measured and reported. TCG makes the absolute figures a small fraction of
# real hardware's and noisy: compare the ratios.
#
# Knobs: vm.sh's VM_TIMEOUT (default here 2400 s), VM_MEM (3072), VM_SMP (2), RXE_MTU (9000).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${SOFTROCE_CACHE:-$REPO/.cache/soft-roce}
export SOFTROCE_CACHE=$CACHE
RUNS=3 SIZE=64 FILES=2000 RSECS=3 CHANS="1" OUT=""
while getopts "r:s:F:d:c:o:" o; do
  case $o in
    r) RUNS=$OPTARG;; s) SIZE=$OPTARG;; F) FILES=$OPTARG;; d) RSECS=$OPTARG;; c) CHANS=$OPTARG;; o) OUT=$OPTARG;;
    *) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2;;
  esac
done
log() { echo "[bench-rdma] $*" >&2; }
OUT=${OUT:-$REPO/.cache/bench-rdma/$(date -u +%Y-%m-%dT%H%MZ)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd -P)
case $OUT in "$REPO"/*) ;; *) log "OUTDIR must be inside $REPO (the guest sees only the repository)"; exit 2;; esac

KC=$("$HERE/prepare.sh" packages kernel smbdirect initramfs)
mkdir -p "$CACHE/run"
BIN=$(mktemp -d "$CACHE/run/bench-rdma-bin.XXXXXX")   # per run: a concurrent run must not replace our binaries
trap 'rm -rf "$BIN"' EXIT
mkdir -p "$BIN/lib"
cd "$REPO"
CGO_ENABLED=1 go build -tags rdma -o "$BIN/smb3d" ./cmd/smb3d
CGO_ENABLED=1 go build -tags rdma -o "$BIN/smb3bench" ./cmd/smb3bench
# ksmbd.mountd needs libnl-genl-3, which the initramfs lacks when the host does not have it
lib=/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200
if [ -e "$lib" ]; then cp -L "$lib" "$BIN/lib/"
else
  mkdir -p "$CACHE/debs"
  deb=$(ls "$CACHE"/debs/libnl-genl-3-200_*.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || (cd "$CACHE/debs" && apt-get download -q libnl-genl-3-200 >&2) || log "cannot download libnl-genl-3-200"
  deb=$(ls "$CACHE"/debs/libnl-genl-3-200_*.deb 2>/dev/null | head -1 || true)
  [ -z "$deb" ] || { rm -rf "$CACHE/run/libnl"; dpkg-deb -x "$deb" "$CACHE/run/libnl"
    cp -L "$CACHE"/run/libnl/lib/x86_64-linux-gnu/libnl-genl-3.so.200* "$BIN/lib/" 2>/dev/null ||
      cp -L "$CACHE"/run/libnl/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200* "$BIN/lib/"; }
fi
log "built smb3d and smb3bench (-tags rdma); results in $OUT"

script=$(cat <<'GUEST'
set -u
B=/softroce/bin
PASS=Bench.Pass.1
export LD_LIBRARY_PATH=$B/lib
fail() { echo "FAIL: $*"; rc=1; }
rc=0
TMPFS=$((SIZE * 4 + 256))
mkdir -p /tmp/s3 /tmp/ks
mount -t tmpfs -o "size=${TMPFS}m,mode=1777" tmpfs /tmp/s3
mount -t tmpfs -o "size=${TMPFS}m,mode=1777" tmpfs /tmp/ks
{
  echo "guest: $(nproc) vCPU (QEMU TCG), $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, kernel $(uname -r)"
  echo "rxe: $(rdma link show 2>/dev/null | head -1)"
} > "$OUT_DIR/guest.txt"

$B/smb3d user add -file /tmp/users -password "$PASS" alice >/dev/null || fail "smb3d user add"
cat > /tmp/smb3d.conf <<CONF
[global]
listen = $RXE_IP:4445
rdma listen = $RXE_IP:5445
multichannel = yes
interfaces = "$RXE_NETDEV;capability=RDMA"
users file = /tmp/users
control socket = /tmp/smb3d.sock
log level = warn
[share]
path = /tmp/s3
CONF
$B/smb3d serve -c /tmp/smb3d.conf > /tmp/smb3d.log 2>&1 &
SMB3D=$!
for i in $(seq 50); do grep -q "listening on $RXE_IP:5445" /tmp/smb3d.log && break; sleep 0.2; done
grep -q "listening on $RXE_IP:5445" /tmp/smb3d.log || { cat /tmp/smb3d.log; fail "smb3d did not start"; }

mkdir -p /etc/ksmbd
printf '[global]\n\tbind interfaces only = no\n\tserver multi channel support = yes\n[share]\n\tpath = /tmp/ks\n\tread only = no\n' > /etc/ksmbd/ksmbd.conf
if modprobe ksmbd && ksmbd.adduser -a alice -p "$PASS" >/dev/null && ksmbd.mountd; then
  sleep 1
  echo "ksmbd: $(modinfo -F version ksmbd 2>/dev/null) $(modinfo -F filename ksmbd)" >> "$OUT_DIR/guest.txt"
else
  fail "ksmbd did not start"
fi
cat "$OUT_DIR/guest.txt"

addr() { # SERVER TRANSPORT
  case $1/$2 in
    smb3d/rdma) echo "$RXE_IP:5445";; smb3d/tcp) echo "$RXE_IP:4445";;
    ksmbd/rdma) echo "$RXE_IP:445";;  ksmbd/tcp) echo "$RXE_IP:445";;
  esac
}
# bench SERVER TRANSPORT RUN WORKLOAD CHANNELS -- smb3bench args
bench() {
  local srv=$1 tr=$2 run=$3 wl=$4 ch=$5; shift 5
  local flag=""
  [ "$tr" = rdma ] && flag=-rdma
  timeout 300 $B/smb3bench $flag -addr "$(addr "$srv" "$tr")" -user alice -pass "$PASS" -share share \
    -channels "$ch" -progress 0 -csv "$OUT_DIR/raw.csv" -label "$srv|$tr|$run|$wl" "$@" \
    2>>"$OUT_DIR/smb3bench.err" || echo "run failed: $srv $tr $wl ch=$ch run $run: $(tail -1 "$OUT_DIR/smb3bench.err")"
}
for run in $(seq "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then order="smb3d ksmbd"; else order="ksmbd smb3d"; fi
  for ch in $CHANS; do
    for wl in seqwrite-1M seqread-1M seqwrite-8M seqread-8M randread-4K create-$FILES stat-$FILES list-$FILES; do
      for srv in $order; do
        for tr in rdma tcp; do
          d=bench.r$run.c$ch.$tr
          case $wl in
            seqwrite-1M) bench $srv $tr $run $wl $ch -op seqwrite -bs 1M -size "${SIZE}M" -depth 8 -file "b.$tr.dat" ;;
            seqread-1M)  bench $srv $tr $run $wl $ch -op seqread -bs 1M -size "${SIZE}M" -depth 8 -file "b.$tr.dat" ;;
            seqwrite-8M) bench $srv $tr $run $wl $ch -op seqwrite -bs 8M -rdma-buf 8M -size "${SIZE}M" -depth 4 -file "b8.$tr.dat" ;;
            seqread-8M)  bench $srv $tr $run $wl $ch -op seqread -bs 8M -rdma-buf 8M -size "${SIZE}M" -depth 4 -file "b8.$tr.dat" ;;
            randread-4K) bench $srv $tr $run $wl $ch -op randread -bs 4K -size "${SIZE}M" -duration "${RSECS}s" -depth 16 -file "b.$tr.dat" ;;
            create-*)    bench $srv $tr $run $wl $ch -op create -files "$FILES" -dir "$d" -depth 8 ;;
            stat-*)      bench $srv $tr $run $wl $ch -op stat -files "$FILES" -dir "$d" -depth 8 ;;
            list-*)      bench $srv $tr $run $wl $ch -op list -dir "$d" -bs 64K -duration 1s ;;
          esac
        done
      done
    done
    rm -rf /tmp/s3/bench.r* /tmp/ks/bench.r*
  done
done
# ceilings in the same guest: rxe's own RDMA write/read bandwidth (perftest, 1 MiB messages)
# and TCP between two goroutines of smb3bench over loopback
for t in write read; do
  timeout 120 ib_${t}_bw -d "$RXE_DEV" -s 1048576 -n 200 -F > /tmp/pt-srv.log 2>&1 &
  pt=$!
  sleep 2
  timeout 120 ib_${t}_bw -d "$RXE_DEV" -s 1048576 -n 200 -F "$RXE_IP" > /tmp/pt-cli.log 2>&1
  wait $pt   # not a bare wait: smb3d runs in the background too
  bw=$(awk '$1 == 1048576 { print $4 }' /tmp/pt-cli.log)
  echo "perftest ib_${t}_bw 1 MiB: ${bw:-failed} MB/s"
  [ -n "$bw" ] && echo "rdma-$t,$bw" >> "$OUT_DIR/ceiling.csv"
done
timeout 120 $B/smb3bench -op tcp -bs 1M -size 512M -channels 1 -progress 0 -csv "$OUT_DIR/tcp.csv" -label tcp
echo "$(grep -c . "$OUT_DIR/raw.csv") result rows"
kill -TERM $SMB3D; wait $SMB3D
grep -E 'smb-direct totals' /tmp/smb3d.log | tail -1
ksmbd.control -s >/dev/null 2>&1; sleep 1; rmmod ksmbd 2>/dev/null
exit $rc
GUEST
)
script="SIZE=$SIZE FILES=$FILES RSECS=$RSECS RUNS=$RUNS CHANS='$CHANS' OUT_DIR=$OUT
$script"

# the host's load while the VM runs: busy CPU of the whole machine and of qemu
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
NCPU=$(nproc)
TCK=$(getconf CLK_TCK)
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $NCPU cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "smb3d: built from $(git rev-parse --short HEAD)$(git diff --quiet -- cmd smb3 transport 2>/dev/null || echo '+uncommitted changes')"
  echo "sizes: runs=$RUNS seq=${SIZE}MiB files=$FILES randread=${RSECS}s channels='$CHANS'"
} > "$OUT/machine.txt"
read -r b0 a0 < <(busy)
( # qemu's CPU ticks, sampled (it is gone when the VM ends)
  while sleep 2; do
    p=$(pgrep -f "^qemu-system-x86_64 .*$CACHE" | head -1 || true)
    [ -n "$p" ] && awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null > "$OUT/.qemu-ticks.tmp" && mv "$OUT/.qemu-ticks.tmp" "$OUT/.qemu-ticks"
  done ) &
SAMPLER=$!
export VM_TIMEOUT=${VM_TIMEOUT:-2400} VM_MEM=${VM_MEM:-3072} RXE_MTU=${RXE_MTU:-9000}
set +e
t0=$(date +%s.%N)
SOFTROCE_KC=$KC SOFTROCE_BIN=$BIN "$HERE/vm.sh" "$REPO" "$script" 2>&1 | tee "$OUT/guest.log"
rc=${PIPESTATUS[0]}
t1=$(date +%s.%N)
set -e
kill $SAMPLER 2>/dev/null; wait $SAMPLER 2>/dev/null || true
read -r b1 a1 < <(busy)
qt=$(cat "$OUT/.qemu-ticks" 2>/dev/null || echo 0); rm -f "$OUT/.qemu-ticks"
awk -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" -v n="$NCPU" -v q="$qt" -v tck="$TCK" -v t0="$t0" -v t1="$t1" 'BEGIN {
  all = (a1 > a0) ? (b1 - b0) / (a1 - a0) * 100 * n : 0
  qemu = q / tck / (t1 - t0) * 100
  other = all - qemu; if (other < 0) other = 0
  printf "host CPU during the VM (%.0f s): %.0f%% busy of %d00%%, qemu %.0f%%, outside load %.0f%% (of one core)\n", t1 - t0, all, n, qemu, other
}' >> "$OUT/machine.txt"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
[ -f "$OUT/guest.txt" ] && cat "$OUT/guest.txt" >> "$OUT/machine.txt"
[ -s "$OUT/raw.csv" ] || { log "no results (vm.sh exit status $rc)"; exit 1; }
python3 "$HERE/bench-rdma-summary.py" "$OUT" | tee "$OUT/summary.txt"
if command -v gnuplot >/dev/null && [ -s "$OUT/ratios.dat" ]; then
  gnuplot -e "out='$OUT/bench.png'; dat='$OUT/ratios.dat'; ncol=$(head -1 "$OUT/ratios.dat" | wc -w); ttl='$(grep '^host:' "$OUT/machine.txt" | cut -c7-60), $(grep '^load at start' "$OUT/machine.txt")'" \
    "$HERE/bench-rdma.gp" && echo "plot: $OUT/bench.png"
fi
log "exit status $rc; results in $OUT"
exit $rc
