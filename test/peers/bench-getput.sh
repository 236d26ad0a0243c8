#!/usr/bin/env bash
# bench-getput.sh — smbclient get and put of one large file against smb3d and Samba smbd in
# the same run, interleaved (smb3d, samba, smb3d, samba, ...) so machine noise hits both,
# reported as MB/s, server CPU seconds, and smb3d/samba ratios of the medians.
#
# Usage: test/peers/bench-getput.sh [options]
#   --size MIB       file size (default 1024)
#   --runs N         runs per server and direction (default 3)
#   --dir DIR        where both servers keep their trees and shares (default a new directory
#                    under /dev/shm, so both serve from tmpfs as in PEERS.md)
#   --smb3d-bin BIN  use this smb3d binary (default: build ./cmd/smb3d)
#   --samba-opts '...'   extra options for test/peers/smbd.sh (e.g. '--setting-b --no-io-uring')
#   --keep           leave the servers running and the trees in place
# Output (stdout): one TSV row per transfer, then MEDIAN rows and the ratios:
#   server op run secs MB/s srv_cpu_s
# srv_cpu_s is user+system CPU of the server process and its children (smbd forks one per
# connection) over the transfer. The 1-minute load average before the run is printed as the
# outside load: these machines are shared, compare only figures from one run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=1024 RUNS=3 DIR="" BIN="" SAMBA_OPTS="" KEEP=0
USERN=benchuser PASSW=Bench.Passw0rd
usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --size) SIZE=$2; shift;;
        --runs) RUNS=$2; shift;;
        --dir) DIR=$2; shift;;
        --smb3d-bin) BIN=$2; shift;;
        --samba-opts) SAMBA_OPTS=$2; shift;;
        --keep) KEEP=1;;
        -h|--help) usage;;
        *) echo "bench-getput.sh: unknown argument $1" >&2; usage;;
    esac
    shift
done
for b in smbclient bc; do
    command -v $b >/dev/null || { echo "bench-getput.sh: $b not found (test/deps.sh)" >&2; exit 3; }
done
DIR=${DIR:-$(mktemp -d /dev/shm/smb3d-bench.XXXXXX)}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
chmod 755 "$DIR"
TCK=$(getconf CLK_TCK)
SRC=$DIR/src.bin

cleanup() {
    [ "$KEEP" = 1 ] && { echo "bench-getput.sh: left servers and trees in $DIR" >&2; return; }
    "$HERE/smb3d.sh" stop "$DIR/smb3d" >/dev/null 2>&1
    "$HERE/smbd.sh" stop "$DIR/samba" >/dev/null 2>&1
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$(( 20000 + RANDOM % 20000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

declare -A PORT PID
PORT[smb3d]=$(free_port)
opts=()
[ -n "$BIN" ] && opts=(--bin "$BIN")
PID[smb3d]=$("$HERE/smb3d.sh" "${opts[@]}" start "$DIR/smb3d" "${PORT[smb3d]}" "$USERN" "$PASSW" 2>"$DIR/smb3d.start") \
    || { cat "$DIR/smb3d.start" >&2; exit 3; }
PORT[samba]=$(free_port)
# shellcheck disable=SC2086
PID[samba]=$("$HERE/smbd.sh" $SAMBA_OPTS start "$DIR/samba" "${PORT[samba]}" "$USERN" "$PASSW" 2>"$DIR/samba.start") \
    || { cat "$DIR/samba.start" >&2; exit 3; }

head -c "$((SIZE << 20))" /dev/urandom > "$SRC"
BYTES=$((SIZE << 20))

# tree_ticks PID: CPU ticks of PID, its live descendants, and its reaped children.
tree_ticks() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        { s = $0; pid = $1; sub(/^.*\) /, "", s); split(s, f, " ")
          ppid[pid] = f[2]; t[pid] = f[12] + f[13]; c[pid] = f[14] + f[15] }
        END { tot = t[root] + c[root]; inr[root] = 1; changed = 1
              while (changed) { changed = 0
                  for (p in ppid) if (!(p in inr) && (ppid[p] in inr)) { inr[p] = 1; tot += t[p]; changed = 1 } }
              print tot + 0 }'
}

# xfer SERVER OP RUN: one timed smbclient transfer; prints a TSV row.
xfer() {
    local srv=$1 op=$2 run=$3 cmd
    local conf=$DIR/$srv/client.conf
    [ "$op" = put ] && cmd="put $SRC bench.bin" || cmd="get bench.bin /dev/null"
    local c0 t0 t1 c1 rc
    sleep 0.3
    c0=$(tree_ticks "${PID[$srv]}"); t0=$(date +%s.%N)
    timeout -k 5 600 smbclient -s "$conf" "//127.0.0.1/share" -p "${PORT[$srv]}" -U "$USERN%$PASSW" \
        -m SMB3 -c "$cmd" >"$DIR/out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    sleep 0.3   # let smbd reap its per-connection child
    c1=$(tree_ticks "${PID[$srv]}")
    if [ $rc != 0 ] || grep -q NT_STATUS_ "$DIR/out"; then
        echo "bench-getput.sh: $srv $op failed (rc=$rc): $(tail -2 "$DIR/out")" >&2
        printf '%s\t%s\t%d\tNA\tNA\tNA\n' "$srv" "$op" "$run"; return
    fi
    awk -v s="$srv" -v o="$op" -v r="$run" -v t0="$t0" -v t1="$t1" -v b="$BYTES" \
        -v cpu=$(( c1 - c0 )) -v tck="$TCK" \
        'BEGIN { w = t1 - t0; printf "%s\t%s\t%d\t%.3f\t%.1f\t%.2f\n", s, o, r, w, b / w / 1e6, cpu / tck }'
}

echo "# $SIZE MiB, $RUNS runs, $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)," \
     "$(smbclient -V), shares on $(stat -f -c %T "$DIR")"
printf 'server\top\trun\tsecs\tMB/s\tsrv_cpu_s\n'
for r in $(seq 1 "$RUNS"); do
    for op in put get; do
        for srv in smb3d samba; do
            xfer "$srv" "$op" "$r"
        done
    done
done | tee "$DIR/rows"
awk -F'\t' '$5 != "NA" { k = $1 "\t" $2; n[k]++; v[k, n[k]] = $5; c[k, n[k]] = $6 }
    function med(k, a,   m, i, j, t, x) { m = n[k]; for (i = 1; i <= m; i++) x[i] = a[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
        return x[int((m + 1) / 2)] }
    END { for (k in n) { split(k, p, "\t"); mb[p[1], p[2]] = med(k, v); cp[p[1], p[2]] = med(k, c)
              printf "MEDIAN\t%s\t%s\tMB/s=%.1f\tsrv_cpu_s=%.2f\n", p[1], p[2], mb[p[1], p[2]], cp[p[1], p[2]] }
          for (o = 1; o <= 2; o++) { op = o == 1 ? "get" : "put"
              if (mb["samba", op] > 0 && mb["smb3d", op] > 0)
                  printf "RATIO\t%s\tsmb3d/samba throughput %.2fx\tserver CPU %.2fx\n", op,
                         mb["smb3d", op] / mb["samba", op], (cp["samba", op] > 0 ? cp["smb3d", op] / cp["samba", op] : 0) } }' \
    "$DIR/rows" | sort
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
