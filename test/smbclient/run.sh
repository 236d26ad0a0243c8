#!/usr/bin/env bash
# run.sh — the smbclient acceptance of issue 2 as a script: ls, put a 64 MiB random file and
# get it back (sha256 equal), mkdir, rmdir, rename, del; once with --client-protection=sign
# and once plain. Prints one line per step and exits non-zero if any step failed.
#
# Usage: test/smbclient/run.sh [options]
#   -H HOST -P PORT    an already running server (default: start one, see --server)
#   -S SHARE -U USER -W PASS   (default share, smbtest, Passw0rd.Test)
#   --server smb3d     build ./cmd/smb3d and start it on a free loopback port (test/peers/smb3d.sh)
#                      [default without -P]
#   --server samba     start Samba smbd instead (test/peers/smbd.sh), to check this script
#   --size MIB         size of the put/get file (default 64)
#   --modes "sign plain"   protections to run (also: encrypt)
#   -t SECS            limit for each smbclient call (default 120)
# Exit status: 0 all steps passed, 1 a step failed, 2 usage, 3 the server did not start.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/port.sh"   # free_port
SERVER="" HOST=127.0.0.1 PORT="" SHARE=share USERN=smbtest PASSW=Passw0rd.Test
SIZE=64 MODES="sign plain" TLIM=120
usage() { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --server) SERVER=$2; shift;;
        -H) HOST=$2; shift;;
        -P) PORT=$2; shift;;
        -S) SHARE=$2; shift;;
        -U) USERN=$2; shift;;
        -W) PASSW=$2; shift;;
        --size) SIZE=$2; shift;;
        --modes) MODES=$2; shift;;
        -t) TLIM=$2; shift;;
        -h|--help) usage;;
        *) echo "run.sh: unknown argument $1" >&2; usage;;
    esac
    shift
done
if [ -z "$SERVER" ]; then [ -n "$PORT" ] && SERVER=external || SERVER=smb3d; fi
command -v smbclient >/dev/null || { echo "run.sh: smbclient not found (test/deps.sh)" >&2; exit 3; }

WORK=$(mktemp -d /tmp/smb3d-smbclient.XXXXXX)
chmod 755 "$WORK"   # the server's share lives below it, and smbd serves it as USER
PEER=""
cleanup() {
    [ -n "$PEER" ] && "$PEER" stop "$WORK/server" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $SERVER in
    external) [ -n "$PORT" ] || usage;;
    smb3d|samba)
        [ "$SERVER" = samba ] && PEER=$HERE/../peers/smbd.sh || PEER=$HERE/../peers/smb3d.sh
        PORT=$(free_port) || exit 3
        if ! "$PEER" start "$WORK/server" "$PORT" "$USERN" "$PASSW" >"$WORK/start.log" 2>&1; then
            echo "run.sh: could not start $SERVER:" >&2; cat "$WORK/start.log" >&2; PEER=""; exit 3
        fi
        HOST=127.0.0.1
        ;;
    *) usage;;
esac

CCONF=$WORK/client.conf
mkdir -p "$WORK"/client-{private,lock,state,cache}
cat > "$CCONF" <<CONF
[global]
    client min protocol = SMB2_02
    client max protocol = SMB3
    private dir = $WORK/client-private
    lock directory = $WORK/client-lock
    state directory = $WORK/client-state
    cache directory = $WORK/client-cache
CONF

LOCAL=$WORK/local.bin BACK=$WORK/back.bin
head -c "$((SIZE << 20))" /dev/urandom > "$LOCAL"
WANT=$(sha256sum "$LOCAL" | cut -d' ' -f1)
FAILS=0

# smbc MODE CMDS: run smbclient with CMDS, output in $OUTF; fails on a non-zero exit or any
# NT_STATUS_ error in the output (smbclient -c does not always set its exit status).
smbc() {
    local mode=$1 cmds=$2 prot=()
    case $mode in sign|encrypt) prot=(--client-protection="$mode");; esac
    OUTF=$WORK/out
    timeout -k 5 "$TLIM" smbclient -s "$CCONF" "//$HOST/$SHARE" -p "$PORT" -U "$USERN%$PASSW" \
        -m SMB3 "${prot[@]}" -c "$cmds" >"$OUTF" 2>&1
    local rc=$?
    [ $rc = 124 ] && echo "(timed out after ${TLIM}s)" >> "$OUTF"
    [ $rc = 0 ] && ! grep -q 'NT_STATUS_' "$OUTF"
}

# step MODE NAME CMDS [CHECK]: one acceptance step; CHECK is a shell test run after it.
step() {
    local mode=$1 name=$2 cmds=$3 check=${4:-true} t0 t1
    t0=$(date +%s.%N)
    if smbc "$mode" "$cmds" && eval "$check"; then
        t1=$(date +%s.%N)
        printf 'ok    %-6s %-28s %6.2fs\n' "$mode" "$name" "$(echo "$t1 - $t0" | bc)"
    else
        printf 'FAIL  %-6s %-28s (%s)\n' "$mode" "$name" "$cmds"
        sed 's/^/        | /' "$OUTF" | tail -8
        FAILS=$((FAILS + 1))
    fi
}

# listed NAME: the last ls output has an entry NAME; unlisted NAME: it has none.
listed() { grep -qE "^  $1 +[A-Z]* +[0-9]+ " "$OUTF"; }
unlisted() { ! grep -qE "^  $1 +" "$OUTF"; }
size_is() { grep -qE "^  $1 +[A-Z]* +$2 " "$OUTF"; }
same_sum() { [ -f "$BACK" ] && [ "$(sha256sum "$BACK" | cut -d' ' -f1)" = "$WANT" ]; }

echo "smbclient acceptance against //$HOST:$PORT/$SHARE ($SERVER), $(smbclient -V), ${SIZE} MiB file"
for mode in $MODES; do
    D=accept-$mode-$$
    rm -f "$BACK"
    smbc "$mode" "deltree $D" || true
    step "$mode" "ls (share root)"      "ls"                                  "grep -q 'blocks of size' \"\$OUTF\""
    step "$mode" "mkdir"                "mkdir $D; ls"                        "listed $D"
    step "$mode" "put ${SIZE} MiB"      "put $LOCAL $D\\big.bin; ls $D\\*"    "size_is big.bin $((SIZE << 20))"
    step "$mode" "get, sha256 equal"    "get $D\\big.bin $BACK"               "same_sum"
    step "$mode" "rename"               "rename $D\\big.bin $D\\renamed.bin; ls $D\\*" \
                                        "listed renamed.bin && unlisted big.bin"
    step "$mode" "renamed file intact"  "ls $D\\renamed.bin"                  "size_is renamed.bin $((SIZE << 20))"
    step "$mode" "del"                  "del $D\\renamed.bin; ls $D\\*"        "unlisted renamed.bin"
    step "$mode" "mkdir, rmdir subdir"  "mkdir $D\\sub; rmdir $D\\sub; ls $D\\*" "unlisted sub"
    step "$mode" "rmdir"                "rmdir $D; ls"                        "unlisted $D"
    # Refusals: a wrong password, a missing file.
    if timeout -k 5 "$TLIM" smbclient -s "$CCONF" "//$HOST/$SHARE" -p "$PORT" -U "$USERN%wrong-$PASSW" \
            -m SMB3 -c ls >"$WORK/out" 2>&1 || grep -q NT_STATUS_LOGON_FAILURE "$WORK/out"; then
        if grep -q NT_STATUS_LOGON_FAILURE "$WORK/out"; then
            printf 'ok    %-6s %-28s\n' "$mode" "wrong password refused"
        else
            printf 'FAIL  %-6s %-28s (no NT_STATUS_LOGON_FAILURE)\n' "$mode" "wrong password refused"
            sed 's/^/        | /' "$WORK/out" | tail -4; FAILS=$((FAILS + 1))
        fi
    else
        printf 'FAIL  %-6s %-28s (logged on)\n' "$mode" "wrong password refused"; FAILS=$((FAILS + 1))
    fi
    if smbc "$mode" "get no-such-file-$$ $WORK/nothing"; then
        printf 'FAIL  %-6s %-28s (succeeded)\n' "$mode" "get of a missing file"; FAILS=$((FAILS + 1))
    elif grep -q 'NT_STATUS_OBJECT_NAME_NOT_FOUND' "$OUTF"; then
        printf 'ok    %-6s %-28s\n' "$mode" "get of a missing file"
    else
        printf 'FAIL  %-6s %-28s (want NT_STATUS_OBJECT_NAME_NOT_FOUND)\n' "$mode" "get of a missing file"
        sed 's/^/        | /' "$OUTF" | tail -4; FAILS=$((FAILS + 1))
    fi
done

if [ $FAILS = 0 ]; then echo "smbclient acceptance: all steps passed"; exit 0; fi
echo "smbclient acceptance: $FAILS step(s) FAILED"
exit 1
