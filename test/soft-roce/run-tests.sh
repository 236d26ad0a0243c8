#!/bin/bash
# run-tests.sh [test binary flags...]
#
# The one entry point of the soft-RoCE tests (make test-rdma):
#   1. prepare.sh: host packages, the Debian 6.12 kernel, cifs/ksmbd rebuilt
#      with SMB-Direct, the initramfs - all cached under $SOFTROCE_CACHE
#      (default <repo>/.cache/soft-roce), keyed by kernel version;
#   2. builds the test binaries on the host with -tags rdma, one per package
#      that has rdma-tagged tests (or the packages in $SOFTROCE_PKGS);
#   3. boots the guest with rxe0 and runs each binary in its package
#      directory (the repo is 9p-mounted at the same path), printing the
#      output; exits non-zero if any failed (124: the VM timed out).
#
# Flags are passed to every test binary, e.g. -test.run=Messages or -long
# (rdma-core-bindings: move 1 GiB instead of the default).
#
# Knobs: SOFTROCE_CACHE, SOFTROCE_PKGS="./rdma-core-bindings ...",
#   SOFTROCE_SMBDIRECT=0 (skip the cifs/ksmbd rebuild), SOFTROCE_RACE=1 (build
#   the test binaries with -race), SOFTROCE_TEST_TIMEOUT
#   (per binary, default 10m), SOFTROCE_VERBOSE=0 (no -test.v), and vm.sh's
#   VM_TIMEOUT (default 900 s), VM_SMP, VM_MEM, VM_VERBOSE.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${SOFTROCE_CACHE:-$REPO/.cache/soft-roce}
export SOFTROCE_CACHE=$CACHE
log() { echo "[soft-roce] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }

t0=$(now)
steps="packages kernel initramfs"
[ "${SOFTROCE_SMBDIRECT:-1}" = 0 ] || steps="packages kernel smbdirect initramfs"
KC=$("$HERE/prepare.sh" $steps)
log "prepared in $(since "$t0") ($KC)"

# ------------------------------------------------------------ test binaries
cd "$REPO"
t1=$(now)
if [ -n "${SOFTROCE_PKGS:-}" ]; then
  pkgs=$SOFTROCE_PKGS
else   # every package with a test file whose constraint starts with "rdma"
  pkgs=$(grep -rlE --include='*_test.go' --exclude-dir=.cache --exclude-dir=.git '^//go:build rdma( |$)' . 2>/dev/null |
         grep -v '^\./\.cache/' | xargs -r -n1 dirname | sort -u | tr '\n' ' ')
fi
[ -n "$pkgs" ] || { log "no rdma-tagged tests found"; exit 1; }
mkdir -p "$CACHE/run"
BIN=$(mktemp -d "$CACHE/run/bin.XXXXXX")   # per run: concurrent runs do not clash
trap 'rm -rf "$BIN"' EXIT
: > "$BIN/list"
for p in $pkgs; do
  name=$(echo "${p#./}" | tr / _).test
  CGO_ENABLED=1 go test -c -tags rdma ${SOFTROCE_RACE:+-race} -o "$BIN/$name" "$p"
  [ -f "$BIN/$name" ] && echo "$name ${p#./}" >> "$BIN/list"
done
log "built $(wc -l < "$BIN/list") test binaries in $(since "$t1")"

# --------------------------------------------------------- run in the guest
flags=()
[ "${SOFTROCE_VERBOSE:-1}" = 0 ] || flags+=(-test.v)
flags+=("-test.timeout=${SOFTROCE_TEST_TIMEOUT:-10m}" "$@")
quoted=$(printf " %q" "${flags[@]}")
script=$(cat <<SCRIPT
rc=0
while read -r name dir; do
  echo "=== \$name (in \$dir)"
  s=\$(cut -d' ' -f1 /proc/uptime)
  (cd "$REPO/\$dir" && /softroce/bin/\$name$quoted) || rc=1
  echo "=== \$name took \$(awk -v a=\$s -v b=\$(cut -d' ' -f1 /proc/uptime) 'BEGIN{printf "%.1f", b-a}')s in the guest"
done < /softroce/bin/list
exit \$rc
SCRIPT
)
t2=$(now)
set +e
SOFTROCE_KC=$KC SOFTROCE_BIN=$BIN "$HERE/vm.sh" "$REPO" "$script"
rc=$?
set -e
log "guest run $(since "$t2"); total $(since "$t0"); exit status $rc"
exit $rc
