#!/usr/bin/env bash
# deps.sh — install what smb3d's tests need on a Debian (bookworm) machine.
#
# Idempotent and quiet: when every package is already installed it prints nothing and
# exits 0 without touching apt. Otherwise it runs `apt-get update` once and installs the
# missing packages. If another apt/dpkg run holds the lock (for example a provisioning
# job logging to /tmp/apt-install.log, or $DEPS_APT_LOG), it waits for it instead of failing.
#
# Usage: test/deps.sh [-v]        -v: say what is installed and what is done
# Env:   DEPS_LOCK_WAIT=900          seconds to wait for another apt/dpkg run
set -euo pipefail

VERBOSE=0
[ "${1:-}" = -v ] && VERBOSE=1
say() { [ "$VERBOSE" = 1 ] && echo "deps: $*" >&2 || true; }

# Package -> why. samba is the reference/performance peer (smbd, pdbedit, smbpasswd,
# testparm); samba-vfs-modules gives it vfs_io_uring; samba-testsuite is smbtorture.
# ksmbd-tools is deliberately absent: it Conflicts: samba (see ../shared/PEERS.md).
PKGS=(
    smbclient           # acceptance client (test/smbclient, test/torture --compare)
    samba-testsuite     # smbtorture (test/torture)
    samba               # smbd peer (test/peers/smbd.sh)
    samba-vfs-modules   # vfs_io_uring for the peer
    krb5-kdc            # test/kerberos: an MIT KDC of the test's own realm (krb5kdc, kdb5_util)
    krb5-admin-server   # kadmin.local: principals and keytabs for that realm
    krb5-user           # kinit, klist, kdestroy, ktutil
    libibverbs-dev      # RDMA verbs headers for rdma-core-bindings (cgo)
    librdmacm-dev       # RDMA CM headers
    bc                  # arithmetic in the benchmark scripts
    coreutils           # timeout, sha256sum, head
    util-linux          # setsid
    gawk                # subunit parsing in test/torture/run.sh (mawk works too)
    procps              # pgrep/ps for waiting on other apt runs
    ca-certificates     # go module downloads
    gcc                 # cgo
    libc6-dev
)
LOCK_WAIT=${DEPS_LOCK_WAIT:-900}
APT_LOG=${DEPS_APT_LOG:-/tmp/apt-install.log}   # a provisioning apt run that ends its log with "done"

missing=()
for p in "${PKGS[@]}"; do
    # "install ok installed" only; a half-configured package counts as missing
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#PKGS[@]} packages present"
    exit 0
fi
say "missing: ${missing[*]}"

SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo -n)

# wait_for_apt: wait (bounded) while another apt-get/dpkg is running, or while the
# provisioning log exists and has not ended with "done".
wait_for_apt() {
    local deadline=$(( $(date +%s) + LOCK_WAIT )) waited=0
    while :; do
        local busy=""
        if pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null 2>&1; then busy="an apt/dpkg process is running"; fi
        if [ -f "$APT_LOG" ] && [ "$(tail -n1 "$APT_LOG" 2>/dev/null)" != done ] \
           && [ $(( $(date +%s) - $(stat -c %Y "$APT_LOG") )) -lt "$LOCK_WAIT" ]; then
            busy="${busy:-$APT_LOG has not ended with 'done'}"
        fi
        [ -z "$busy" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "deps: gave up after ${LOCK_WAIT}s waiting: $busy" >&2; return 1
        fi
        [ $waited = 0 ] && echo "deps: waiting: $busy" >&2
        waited=1; sleep 3
    done
}

# apt_retry CMD...: run an apt-get command, waiting on the dpkg lock (apt's own
# Lock::Timeout) and retrying a few times if it still lost the race for a lock.
apt_retry() {
    local i out
    for i in 1 2 3 4 5; do
        if out=$("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
                -o DPkg::Lock::Timeout="$LOCK_WAIT" -o Dpkg::Use-Pty=0 "$@" 2>&1); then
            return 0
        fi
        if grep -qiE 'could not get lock|unable to lock|lock-frontend' <<<"$out"; then
            echo "deps: apt lock busy, retry $i" >&2; wait_for_apt || true; sleep 2; continue
        fi
        echo "$out" | tail -20 >&2
        return 1
    done
    echo "$out" | tail -20 >&2
    return 1
}

wait_for_apt
# Re-check after waiting: the other run may have installed what we need.
still=()
for p in "${missing[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || still+=("$p")
done
[ ${#still[@]} -eq 0 ] && { say "installed by the concurrent apt run"; exit 0; }

apt_retry update
apt_retry install --no-install-recommends "${still[@]}"
echo "deps: installed ${still[*]}" >&2
