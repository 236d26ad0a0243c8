#!/usr/bin/env bash
# run.sh — run smbtorture suites against an SMB server, print a table per suite, and check the
# failures against the expected-failure list.
#
# Usage: test/torture/run.sh [options] [SUITE...]
#   SUITE            smbtorture suites (default: the lines of test/torture/suites). Subtests
#                    matching test/torture/exclude are not run (passed as --load-list).
# Server (one of):
#   --server smb3d   build ./cmd/smb3d and start it on a free loopback port with a fresh share
#                    (test/peers/smb3d.sh)                          [default without -P]
#   --server samba   start Samba smbd the same way (test/peers/smbd.sh) [-B: PEERS.md setting B]
#   -H HOST -P PORT  an already running server                      [--server external]
#   -S SHARE -U USER -W PASS   share and credentials (default share, smbtest, Passw0rd.Test)
#   -2               the external server has USER2 with USER's password (smbtorture's second
#                    user); the servers started here always have it
# Modes:
#   --compare        also run the same subtests against Samba smbd (started here) and print
#                    both pass counts side by side, plus the subtests only one server passes
# Options:
#   -k FILE          expected-failure list (default test/torture/known-failures; for
#                    --server samba, test/torture/known-failures.samba)
#   -t SECS          wall-clock limit per suite (default 300; Samba took 115 s on smb2.dir at load 20).
#                    A killed run is TIMEOUT: the hung subtest is reported as timeout and the
#                    rest of the suite is resumed
#                    (at most --resumes times, default 2) so one hang hides nothing else;
#                    the same when smbtorture itself dies of a signal (that subtest: error).
#   --deadline SECS  limit for the whole run (default 2700); suites not started by then are
#                    reported as timeout
#   -T TARGET        smbtorture --target (default none = expect Windows behaviour, as PEERS.md)
#   -x ARGS          extra smbtorture arguments (word-split)
#   -o DIR           where logs and results go (default a new /tmp/smb3d-torture.XXXX)
#   --tsv FILE       also write the per-suite table of the server under test to FILE
#   --record FILE    write every failing subtest of this run to FILE in known-failures format,
#                    with smbtorture's message as the reason (a start for a new list: review it)
#   --keep           leave the servers started here running (their dirs are printed)
#   --no-retry       do not run a failed subtest a second time on its own (by default one that
#                    then passes counts as a pass and is listed as flaky)
# Known-failures format: one full subtest name per line, then '#' and the reason.
# The table of a server other than Samba also shows Samba's pass count from
# test/torture/samba-baseline.tsv and whether this server reaches it (issue 2's target).
# Exit status: 0 no regression; 1 a subtest failed, errored or timed out that is not listed in
# the known failures; 2 usage; 3 a server could not be started. A listed subtest that now passes
# is reported ("now passing: X, remove it from known-failures") but does not fail the run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
SERVER="" HOST=127.0.0.1 PORT="" SHARE=share USERN=smbtest PASSW=Passw0rd.Test
USER2=0 KNOWN="" TLIM=300 RESUMES=2 DEADLINE=2700 TARGET="" XARGS="" OUT="" TSV="" COMPARE=0 KEEP=0 SETB=0 RECORD="" RETRY=1
SUITES=()
usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --server) SERVER=$2; shift;;
        -H) HOST=$2; shift;;
        -P) PORT=$2; shift;;
        -S) SHARE=$2; shift;;
        -U) USERN=$2; shift;;
        -W) PASSW=$2; shift;;
        -2) USER2=1;;
        -k) KNOWN=$2; shift;;
        -t) TLIM=$2; shift;;
        --resumes) RESUMES=$2; shift;;
        --no-retry) RETRY=0;;
        --deadline) DEADLINE=$2; shift;;
        -T) TARGET=$2; shift;;
        -x) XARGS=$2; shift;;
        -o) OUT=$2; shift;;
        --tsv) TSV=$2; shift;;
        --record) RECORD=$2; shift;;
        --compare) COMPARE=1;;
        --keep) KEEP=1;;
        -B|--setting-b) SETB=1;;
        -h|--help) usage;;
        -*) echo "run.sh: unknown option $1" >&2; usage;;
        *) SUITES+=("$1");;
    esac
    shift
done
if [ -z "$SERVER" ]; then [ -n "$PORT" ] && SERVER=external || SERVER=smb3d; fi
case $SERVER in
    smb3d|samba) ;;
    external) [ -n "$PORT" ] || { echo "run.sh: --server external needs -P PORT" >&2; exit 2; };;
    *) echo "run.sh: --server must be smb3d, samba or external" >&2; exit 2;;
esac
if [ -z "$KNOWN" ]; then
    [ "$SERVER" = samba ] && KNOWN=$HERE/known-failures.samba || KNOWN=$HERE/known-failures
fi
if [ ${#SUITES[@]} -eq 0 ]; then
    mapfile -t SUITES < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$HERE/suites")
fi
command -v smbtorture >/dev/null || { echo "run.sh: smbtorture not found (scripts/deps.sh)" >&2; exit 3; }
OUT=${OUT:-$(mktemp -d /tmp/smb3d-torture.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
chmod 755 "$OUT"   # servers started here keep their share below it and smbd serves it as USER
T_START=$(date +%s)
STARTED=()   # "kind dir" of servers started here, stopped on exit

cleanup() {
    local s
    for s in "${STARTED[@]}"; do
        set -- $s
        if [ "$KEEP" = 1 ]; then echo "run.sh: left $1 running from $2" >&2
        else "$(peer "$1")" stop "$2" >/dev/null 2>&1; fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# peer KIND: the start/stop script of a server kind.
peer() { case $1 in samba) echo "$HERE/../peers/smbd.sh";; *) echo "$HERE/../peers/$1.sh";; esac; }


# start_server KIND LABEL: start smb3d or samba under $OUT/LABEL; sets S_PORT and S_CONF.
start_server() {
    local kind=$1 dir=$OUT/$2 opts=()
    S_PORT=$(free_port) || { echo "run.sh: no free port" >&2; return 1; }
    [ "$kind" = samba ] && [ "$SETB" = 1 ] && opts+=(--setting-b)
    if ! "$(peer "$kind")" "${opts[@]}" start "$dir/server" "$S_PORT" "$USERN" "$PASSW" \
            >"$dir.start.log" 2>&1; then
        echo "run.sh: could not start $kind:" >&2; cat "$dir.start.log" >&2; return 1
    fi
    STARTED+=("$kind $dir/server")
    S_CONF=$dir/server/client.conf
    sed -n 's/^\(smbd.sh\|smb3d.sh\): /  /p' "$dir.start.log" >&2
}

# subtests SUITE: the subunit names of SUITE's subtests, minus test/torture/exclude.
# `smbtorture --list` prints a test that is alone in its case as SUITE.CASE.CASE; subunit
# (--fullname) calls it SUITE.CASE, so a repeated last component is folded.
subtests() {
    local pat
    pat=$(sed -e 's/[[:space:]]*#.*//' -e '/^$/d' "$HERE/exclude" | paste -sd'|')
    smbtorture --list "$1" 2>/dev/null | grep -F "$1." | grep "^$(sed 's/\./\\./g' <<<"$1")\." |
        awk -F. '{ n = NF
                   if (n >= 3 && $n == $(n-1)) { s = $1; for (i = 2; i < n; i++) s = s "." $i; print s }
                   else print }' |
        { if [ -n "$pat" ]; then grep -Ev "$pat"; else cat; fi; }
}

# run_suite LABEL SUITE HOST PORT CONF: run one suite, leave $OUT/LABEL/SUITE.results
# (NAME TAB STATUS TAB REASON for every selected subtest) and $OUT/LABEL/SUITE.meta.
run_suite() {
    local label=$1 suite=$2 host=$3 port=$4 conf=$5
    local d=$OUT/$label
    local sel=$d/$suite.list res=$d/$suite.results todo=$d/$suite.todo
    mkdir -p "$d"
    subtests "$suite" > "$sel"
    : > "$res"
    local total; total=$(wc -l < "$sel")
    local args=(-s "$conf" "//$host/$SHARE" -p "$port" -U "$USERN%$PASSW" --format=subunit --fullname)
    args+=("${USER2ARGS[@]}")
    [ -n "$TARGET" ] && args+=(--target="$TARGET")
    # shellcheck disable=SC2206
    [ -n "$XARGS" ] && args+=($XARGS)
    local status=ok attempt=0 t0; t0=$(date +%s)
    if [ "$total" = 0 ]; then
        printf '%s\terror\tno such suite, or every subtest excluded\n' "$suite" > "$res"
        status=nosuite
    fi
    cp "$sel" "$todo"
    while [ "$status" != nosuite ] && [ -s "$todo" ] && [ "$attempt" -le "$RESUMES" ]; do
        local left=$(( DEADLINE - ($(date +%s) - T_START) ))
        [ "$left" -le 5 ] && { status=TIMEOUT; break; }
        local lim=$(( TLIM < left ? TLIM : left ))
        local log=$d/$suite.$attempt.log
        timeout -k 10 "$lim" smbtorture "${args[@]}" --load-list="$todo" "$suite" >"$log" 2>&1
        local rc=$?
        awk -f "$HERE/subunit.awk" "$log" > "$log.parsed"
        local resume=0
        if [ $rc = 124 ] || [ $rc = 137 ]; then
            status=TIMEOUT resume=1
            # the subtest that was running when the clock ran out is the one that hung
            awk -F'\t' -v OFS='\t' '$2 == "hung" { $2 = "timeout"; $3 = "hung: killed after the suite limit" } 1' \
                "$log.parsed" >> "$res"
        elif [ $rc -gt 128 ]; then
            # smbtorture itself died (a signal): blame the running subtest, go on with the rest
            [ "$status" = ok ] && status="crash(rc=$rc)"
            resume=1
            awk -F'\t' -v OFS='\t' -v rc="$rc" '$2 == "hung" { $2 = "error"; $3 = "smbtorture died here (exit " rc ")" } 1' \
                "$log.parsed" >> "$res"
        else
            grep -v $'\thung\t' "$log.parsed" >> "$res"
            [ $rc != 0 ] && [ "$status" = ok ] && status="rc=$rc"
        fi
        # what is left to run: selected minus everything with a result
        cut -f1 "$res" | sort -u > "$d/$suite.done"
        grep -vxF -f "$d/$suite.done" "$sel" > "$todo"
        [ $resume = 1 ] || break
        attempt=$((attempt + 1))
    done
    # subtests that never reported: killed by the limit (timeout) or lost to a crash (error)
    local why="not run: smbtorture exited ($status) before reaching it" st=error
    [ "$status" = TIMEOUT ] && { st=timeout; why="not run: suite time limit"; }
    [ -s "$todo" ] && awk -v st="$st" -v why="$why" '{ printf "%s\t%s\t%s\n", $0, st, why }' "$todo" >> "$res"
    printf '%s\t%s\t%s\n' "$total" "$(( $(date +%s) - t0 ))" "$status" > "$d/$suite.meta"
    rm -f "$todo" "$d/$suite.done"
}

# table LABEL: per-suite counts of one run, TSV on stdout.
table() {
    local label=$1 s
    printf 'suite\tsubtests\tpass\tfail\terror\tskip\ttimeout\twall_s\tstatus\n'
    for s in "${SUITES[@]}"; do
        local meta; meta=$(cat "$OUT/$label/$s.meta" 2>/dev/null || printf '0\t0\tnot run')
        awk -F'\t' -v s="$s" -v meta="$meta" '
            { c[$2]++ }
            END { split(meta, m, "\t")
                  printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s, m[1], c["pass"], c["fail"],
                         c["error"], c["skip"], c["timeout"], m[2], m[3] }' "$OUT/$label/$s.results" 2>/dev/null
    done
}

# pretty: align a TSV table for the terminal.
pretty() { column -t -s $'\t' 2>/dev/null || cat; }

# run_all LABEL HOST PORT CONF
run_all() {
    local s
    for s in "${SUITES[@]}"; do
        echo "run.sh: $1: $s" >&2
        run_suite "$1" "$s" "$2" "$3" "$4"
    done
    cat "$OUT/$1"/*.results > "$OUT/$1/all.results" 2>/dev/null
    table "$1" > "$OUT/$1/table.tsv"
}

# retry_failures LABEL HOST PORT CONF: a subtest that failed (not hung) and is not a
# known failure runs once more on its own; if it passes it is counted as a pass and
# listed as flaky (these machines are shared and noisy, and some subtests are timing
# based), so one unlucky scheduling does not fail CI while a real regression still does.
retry_failures() {
    local label=$1 host=$2 port=$3 conf=$4 name st why kf=$KNOWN
    [ "$RETRY" = 1 ] || return 0
    [ -n "$kf" ] || kf=$HERE/known-failures
    local known; known=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$kf" 2>/dev/null)
    local args=(-s "$conf" "//$host/$SHARE" -p "$port" -U "$USERN%$PASSW" --format=subunit --fullname)
    args+=("${USER2ARGS[@]}")
    [ -n "$TARGET" ] && args+=(--target="$TARGET")
    local f=$OUT/$label/all.results tmp=$OUT/$label/all.results.retry
    cp "$f" "$tmp"
    while IFS=$'\t' read -r name st why; do
        case $st in fail|error) ;; *) continue;; esac
        grep -qxF "$name" <<<"$known" && continue
        echo "run.sh: $label: retrying $name" >&2
        if timeout -k 10 120 smbtorture "${args[@]}" "$name" > "$OUT/$label/retry.$name.log" 2>&1 &&
           grep -q "^success: $name" "$OUT/$label/retry.$name.log"; then
            awk -F'\t' -v OFS='\t' -v n="$name" '$1 == n { $2 = "pass"; $3 = "flaky: failed, then passed on retry" } 1' "$tmp" > "$tmp.2" && mv "$tmp.2" "$tmp"
            FLAKY+="  $name: $why"$'\n'
        fi
    done < "$f"
    mv "$tmp" "$f"
    table "$label" > "$OUT/$label/table.tsv"
}
FLAKY=""
# smbtorture's second user (smb2.session.bind_different_user), which the peer scripts create
# as USER2 with USER's password; against an external server only with -2.
USER2ARGS=()
if [ "$SERVER" != external ] || [ "$USER2" = 1 ]; then
    USER2ARGS=("--option=torture:user2name=${USERN}2" "--option=torture:user2password=$PASSW")
fi

# --- the server under test
LABEL=$SERVER
case $SERVER in
    external)
        CONF=$OUT/client.conf
        printf '[global]\n    client min protocol = SMB2_02\n    client max protocol = SMB3\n' > "$CONF"
        echo "run.sh: server under test: //$HOST:$PORT/$SHARE" >&2
        ;;
    *)
        start_server "$SERVER" "$LABEL" || exit 3
        HOST=127.0.0.1 PORT=$S_PORT CONF=$S_CONF
        ;;
esac
run_all "$LABEL" "$HOST" "$PORT" "$CONF"
retry_failures "$LABEL" "$HOST" "$PORT" "$CONF"
[ "$SERVER" != external ] && [ "$KEEP" = 0 ] && { "$(peer "$SERVER")" stop "$OUT/$LABEL/server" >/dev/null 2>&1; }

echo
echo "== $LABEL (//$HOST:$PORT/$SHARE), $(smbtorture -V 2>/dev/null | head -1)"
if [ "$SERVER" != samba ] && [ -f "$HERE/samba-baseline.tsv" ]; then
    # with Samba's recorded pass count (setting A) and whether this server reaches it
    awk -F'\t' 'FNR == NR { if ($1 !~ /^#/ && $1 != "suite") base[$1] = $3; next }
                FNR == 1 { print $0 "\tsamba\t>=samba"; next }
                { b = ($1 in base) ? base[$1] : "-"
                  print $0 "\t" b "\t" (b == "-" ? "-" : ($3 >= b ? "yes" : "NO")) }' \
        "$HERE/samba-baseline.tsv" "$OUT/$LABEL/table.tsv" | pretty
else
    pretty < "$OUT/$LABEL/table.tsv"
fi
[ -n "$TSV" ] && cp "$OUT/$LABEL/table.tsv" "$TSV"

# --- side by side with Samba
if [ "$COMPARE" = 1 ] && [ "$SERVER" != samba ]; then
    if start_server samba samba; then
        run_all samba 127.0.0.1 "$S_PORT" "$S_CONF"
        echo
        echo "== side by side (pass counts; setting $([ "$SETB" = 1 ] && echo B || echo A) for samba)"
        awk -F'\t' -v l="$LABEL" '
            FNR == 1 { f++; next }
            f == 1 { order[++n] = $1; sub_[$1] = $2; a[$1] = $3 }
            f == 2 { b[$1] = $3 }
            END { printf "suite\tsubtests\t%s\tsamba\tdelta\n", l
                  for (i = 1; i <= n; i++) { s = order[i]
                      printf "%s\t%d\t%d\t%d\t%+d\n", s, sub_[s], a[s], b[s], a[s] - b[s]
                      ta += a[s]; tb += b[s]; tn += sub_[s] }
                  printf "total\t%d\t%d\t%d\t%+d\n", tn, ta, tb, ta - tb }' \
            "$OUT/$LABEL/table.tsv" "$OUT/samba/table.tsv" | tee "$OUT/side-by-side.tsv" | pretty
        join -t $'\t' <(cut -f1,2 "$OUT/$LABEL/all.results" | sort) <(cut -f1,2 "$OUT/samba/all.results" | sort) |
            awk -F'\t' -v l="$LABEL" '$2 != $3 && ($2 == "pass" || $3 == "pass") {
                 if (!hdr++) print "\nsubtests that differ (" l " / samba):"; printf "  %s\t%s / %s\n", $1, $2, $3 }'
    else
        echo "run.sh: --compare: Samba did not start; no side-by-side table" >&2
    fi
fi

# --- expected failures
declare -A KF=()
if [ -f "$KNOWN" ]; then
    while IFS= read -r line; do
        name=${line%%#*}; name=${name//[[:space:]]/}
        [ -n "$name" ] && KF[$name]=1
    done < "$KNOWN"
else
    echo "run.sh: no known-failures file $KNOWN: every failure is a regression" >&2
fi
REGRESS=0 NOWPASS=0 REGLIST="" NOWLIST=""
while IFS=$'\t' read -r name st why; do
    case $st in
        fail|error|timeout)
            if [ -z "${KF[$name]:-}" ]; then
                REGLIST+=$(printf '  %-8s %s  %s' "$(tr a-z A-Z <<<"$st")" "$name" "$why")$'\n'
                REGRESS=$((REGRESS + 1))
            fi;;
        pass)
            if [ -n "${KF[$name]:-}" ]; then
                NOWLIST+="now passing: $name, remove it from $(basename "$KNOWN")"$'\n'
                NOWPASS=$((NOWPASS + 1))
            fi;;
    esac
done < "$OUT/$LABEL/all.results"
if [ -n "$RECORD" ]; then
    { echo "# failures of $LABEL, $(date -u +%FT%TZ), $(smbtorture -V 2>/dev/null | head -1)"
      awk -F'\t' '$2 == "fail" || $2 == "error" || $2 == "timeout" {
          r = $3; sub(/^\(?\.\.\/\.\.\/source4\/torture\/smb2\//, "", r)
          printf "%-36s # %s: %s\n", $1, $2, r }' "$OUT/$LABEL/all.results"; } > "$RECORD"
    echo "run.sh: failures recorded in $RECORD" >&2
fi
[ -n "$FLAKY" ] && printf '\nflaky (failed, then passed when run alone; not counted):\n%s' "$FLAKY"
[ -n "$NOWLIST" ] && printf '\n%s' "$NOWLIST"
[ -n "$REGLIST" ] && printf '\nREGRESSIONS (failed, not in %s):\n%s' "$(basename "$KNOWN")" "$REGLIST"
echo
echo "run.sh: $LABEL: $REGRESS regression(s), $NOWPASS known failure(s) now passing; logs in $OUT"
[ $REGRESS = 0 ]
