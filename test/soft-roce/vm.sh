#!/bin/bash
# vm.sh <host-dir> <command> [args...]
#
# Boots a throw-away QEMU guest (TCG) from what prepare.sh cached, with
# soft-RoCE device rxe0 on dummy0 (10.99.0.1 and 10.99.0.2), <host-dir>
# mounted read-write over 9p at the same absolute path (and the current
# directory), $SOFTROCE_BIN (if set) read-only at /softroce/bin (on PATH),
# and runs the command as root. One argument is run as a bash script,
# several as an argv. Prints the command's output and exits with its status
# (124: VM timeout, 125: the guest reported no status).
#
# The guest has no network to the outside: -nic none, 9p shares only.
#
# Knobs: SOFTROCE_CACHE, SOFTROCE_KC (kernel cache dir; default: prepare.sh's),
#   VM_TIMEOUT=900 (s), VM_MEM=2048 (MiB), VM_SMP=2, RXE_MTU=1500,
#   VM_VERBOSE=1 (show the kernel console), VM_KEEP_DMESG=<file>,
#   VM_QEMU_EXTRA="..." (more qemu arguments, split on spaces),
#   VM_CMDLINE_EXTRA="..." (more kernel command line).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin   # depmod, ldconfig, modprobe for non-root users
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
log() { echo "[soft-roce] $*" >&2; }
die() { echo "[soft-roce] ERROR: $*" >&2; exit 126; }

[ $# -ge 2 ] || { echo "usage: $0 <host-dir> <command> [args...]" >&2; exit 2; }
HOSTDIR=$(cd "$1" && pwd -P) || die "no such directory: $1"
shift
KC=${SOFTROCE_KC:-$("$HERE/prepare.sh" kernel initramfs)}
KV=${KC##*/kernel-}
INITRD=$(ls -t "$KC"/initramfs-*.cpio.gz 2>/dev/null | head -1)
[ -f "$KC/vmlinuz" ] && [ -n "$INITRD" ] || die "nothing prepared in $KC (run prepare.sh)"
BIN=${SOFTROCE_BIN:-}
[ -z "$BIN" ] || BIN=$(cd "$BIN" && pwd -P)

CTL=$(mktemp -d "${TMPDIR:-/tmp}/softroce-ctl.XXXXXX")
EMPTY=
trap 'rm -rf "$CTL" $EMPTY' EXIT
if [ -z "$BIN" ]; then EMPTY=$(mktemp -d); BIN=$EMPTY; fi
{
  printf 'HOSTDIR=%q\n' "$HOSTDIR"
  printf 'GUEST_CWD=%q\n' "$(pwd -P)"
  echo "RXE_MTU=${RXE_MTU:-1500}"
} > "$CTL/env"
if [ $# -eq 1 ]; then
  printf 'cd "$GUEST_CWD" 2>/dev/null\n%s\n' "$1" > "$CTL/cmd.sh"
else
  { printf 'cd "$GUEST_CWD" 2>/dev/null\nexec'; for a in "$@"; do printf " '%s'" "${a//\'/\'\\\'\'}"; done; echo; } > "$CTL/cmd.sh"
fi

QEMU=(qemu-system-x86_64 -accel tcg,thread=multi,tb-size=512 -cpu max
  -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}"
  -display none -monitor none -serial stdio -no-reboot -nic none
  -kernel "$KC/vmlinuz" -initrd "$INITRD"
  -append "console=ttyS0 quiet loglevel=1 panic=-1 oops=panic cryptomgr.notests ${VM_CMDLINE_EXTRA:-}"
  -virtfs "local,path=$KC/mods/lib/modules,mount_tag=modules,security_model=none,readonly=on,id=fsmod"
  -virtfs "local,path=$CTL,mount_tag=ctl,security_model=none,id=fsctl"
  -virtfs "local,path=$HOSTDIR,mount_tag=host,security_model=none,id=fshost"
  -virtfs "local,path=$BIN,mount_tag=bin,security_model=none,readonly=on,id=fsbin")
# shellcheck disable=SC2206
[ -n "${VM_QEMU_EXTRA:-}" ] && QEMU+=(${VM_QEMU_EXTRA})

log "booting $KV (TCG, ${VM_SMP:-2} vCPU, ${VM_MEM:-2048} MiB, timeout ${VM_TIMEOUT:-900}s)"
start=$(date +%s.%N)
set +e
timeout --kill-after=10 "${VM_TIMEOUT:-900}" "${QEMU[@]}" </dev/null 2>&1 |
  awk -v verbose="${VM_VERBOSE:-}" '
  { sub(/\r$/, "") }
  /@@SOFTROCE-BEGIN@@/ { inside=1; printf "[soft-roce] guest ready at uptime %ss\n", $2 > "/dev/stderr"; next }
  /@@SOFTROCE-RC=/     { inside=0; printf "[soft-roce] command done at guest uptime %ss\n", $2 > "/dev/stderr"; next }
  inside || verbose    { print; fflush() }'
qrc=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
if [ -f "$CTL/rc" ]; then
  rc=$(cat "$CTL/rc")
else
  log "the guest reported no exit status (qemu: $qrc); VM_VERBOSE=1 shows the console"
  [ -f "$CTL/dmesg.txt" ] && tail -40 "$CTL/dmesg.txt" >&2
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then rc=124; else rc=125; fi
fi
[ -n "${VM_KEEP_DMESG:-}" ] && [ -f "$CTL/dmesg.txt" ] && cp "$CTL/dmesg.txt" "$VM_KEEP_DMESG"
log "VM ran $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}')s; exit status $rc"
exit "$rc"
