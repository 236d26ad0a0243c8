#!/bin/bash
# prepare.sh [packages|kernel|smbdirect|initramfs|all]...
#
# Prepares everything the soft-RoCE guest needs, idempotently, under
# $SOFTROCE_CACHE (default <repo>/.cache/soft-roce), cached by kernel version:
#
#   packages   host packages (qemu, busybox-static, rdma-core, perftest, ...)
#   kernel     Debian bookworm-security linux-image-6.12.*-amd64-unsigned,
#              unpacked (never installed): vmlinuz + module tree
#   smbdirect  cifs.ko and ksmbd.ko rebuilt out of tree WITH SMB-Direct
#              (CONFIG_CIFS_SMB_DIRECT, CONFIG_SMB_SERVER_SMBDIRECT), placed
#              in the module tree's updates/ (Debian ships both disabled)
#   initramfs  busybox/dash based root with rdma-core, perftest, ksmbd-tools,
#              mount.cifs and the guest init (test/soft-roce/guest-init.sh)
#
# On success prints the kernel cache directory on stdout. Logs go to stderr.
# Knobs: SOFTROCE_CACHE, SOFTROCE_NO_APT=1 (never call apt-get; use the newest
# cached kernel), SOFTROCE_KERNEL=<kv> (pin e.g. 6.12.117+deb12-amd64).
set -euo pipefail

export PATH=$PATH:/usr/sbin:/sbin   # depmod, ldconfig, modprobe for non-root users
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${SOFTROCE_CACHE:-$REPO/.cache/soft-roce}
KMETA=linux-image-6.12-amd64

log() { echo "[soft-roce] $*" >&2; }
die() { echo "[soft-roce] ERROR: $*" >&2; exit 126; }
export DEBIAN_FRONTEND=noninteractive

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

APT_UPDATED=
apt_update() { [ -n "$APT_UPDATED" ] && return 0; log "apt-get update"; $SUDO apt-get update -qq >&2; APT_UPDATED=1; }

# ------------------------------------------------------------ host packages
HOST_PKGS="qemu-system-x86 busybox-static kmod cpio gzip xz-utils gcc make libc6-dev binutils \
 rdma-core ibverbs-providers ibverbs-utils rdmacm-utils perftest iproute2 cifs-utils \
 libibverbs-dev librdmacm-dev util-linux"
step_packages() {
  local missing=() p
  for p in $HOST_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -n "${SOFTROCE_NO_APT:-}" ] && die "missing host packages: ${missing[*]}"
  log "installing host packages: ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 </dev/null ||
    { apt_update; $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 </dev/null; }
}

# ----------------------------------------------------- kernel version (kv)
# Only the newest build is kept in bookworm-security: look it up each time
# (local apt lists; apt-get update only when they do not know the package).
resolve_kv() {
  if [ -n "${SOFTROCE_KERNEL:-}" ]; then echo "$SOFTROCE_KERNEL"; return; fi
  local img=
  if [ -z "${SOFTROCE_NO_APT:-}" ]; then
    img=$(apt-cache depends "$KMETA" 2>/dev/null | awk '/Depends: linux-image-/ && !v {v=$2} END{print v}')
    if [ -z "$img" ]; then apt_update; img=$(apt-cache depends "$KMETA" | awk '/Depends: linux-image-/ && !v {v=$2} END{print v}'); fi
  fi
  if [ -z "$img" ]; then   # offline: newest cached kernel
    img=$(ls -d "$CACHE"/kernel-*/ 2>/dev/null | sort -V | tail -1 | xargs -r basename)
    img=${img:+linux-image-${img#kernel-}}
  fi
  [ -n "$img" ] || die "cannot find the $KMETA kernel (no apt lists, nothing cached)"
  echo "${img#linux-image-}"
}

download() {   # download <pkg=ver>...   into $CACHE/debs (skips existing)
  mkdir -p "$CACHE/debs"
  local need=() spec name ver
  for spec in "$@"; do
    name=${spec%%=*}; ver=${spec#*=}
    ls "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb >/dev/null 2>&1 || need+=("$spec")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  [ -n "${SOFTROCE_NO_APT:-}" ] && die "not cached: ${need[*]}"
  log "downloading ${need[*]}"
  ( cd "$CACHE/debs" && { apt-get download -qq -o APT::Sandbox::User=root "${need[@]}" >&2 || { apt_update; apt-get download -qq -o APT::Sandbox::User=root "${need[@]}" >&2; }; } )
}
deb_of() { ls -t "$CACHE/debs/${1}_"*.deb 2>/dev/null | head -1; }
# (awk reads to the end: an early exit would SIGPIPE apt-cache, fatal under pipefail)
pkg_version() { apt-cache show "$1" 2>/dev/null | awk '/^Version:/ && !v {v=$2} END{print v}'; }

# ------------------------------------------------------------------- kernel
step_kernel() {
  [ -f "$KC/kernel.ok" ] && return 0
  local ver; ver=$(pkg_version "linux-image-$KV-unsigned")
  [ -n "$ver" ] || die "no version for linux-image-$KV-unsigned"
  log "kernel $KV ($ver)"
  download "linux-image-$KV-unsigned=$ver"
  rm -rf "$KC"; mkdir -p "$KC/mods/lib/modules"
  local tmp="$KC/kimg.tmp"; mkdir -p "$tmp"
  dpkg-deb -x "$(deb_of "linux-image-$KV-unsigned")" "$tmp"
  mv "$tmp/lib/modules/$KV" "$KC/mods/lib/modules/"
  mv "$tmp/boot/vmlinuz-$KV" "$KC/vmlinuz"
  rm -rf "$tmp"
  depmod -b "$KC/mods" "$KV"
  echo "$ver" > "$KC/kernel.ok"
}

# --------------------------------------------- cifs/ksmbd with SMB-Direct
step_smbdirect() {
  [ -f "$KC/smbdirect.ok" ] && return 0
  local ver; ver=$(cat "$KC/kernel.ok")
  local kbase=${KV%-amd64}
  local src="linux-source-$(echo "$KV" | cut -d. -f1-2)"
  download "linux-headers-$KV=$ver" "linux-headers-$kbase-common=$ver" "linux-kbuild-$kbase=$ver" "$src=$ver"
  local B="$KC/build"; rm -rf "$B"; mkdir -p "$B/root" "$B/src" "$B/fs/smb"
  local d; for d in "linux-headers-$KV" "linux-headers-$kbase-common" "linux-kbuild-$kbase"; do dpkg-deb -x "$(deb_of "$d")" "$B/root"; done
  local KDIR="$B/root/usr/src/linux-headers-$KV"
  # the headers Makefile includes an absolute /usr/src/... path: repoint it
  sed -i "s#include /usr/src/#include $B/root/usr/src/#" "$KDIR/Makefile"
  dpkg-deb --fsys-tarfile "$(deb_of "$src")" | tar -x -C "$B/src" --wildcards './usr/src/linux-source-*.tar.xz'
  local tarball; tarball=$(ls "$B"/src/usr/src/linux-source-*.tar.xz)
  local top; top=$(basename "$tarball" .tar.xz)
  tar -xJf "$tarball" -C "$B/src" "$top/fs/smb" "$top/fs/nls" "$top/scripts/asn1_compiler.c" \
      "$top/include/linux/asn1_ber_bytecode.h" "$top/include/linux/asn1.h"
  rm -f "$tarball"
  # linux-kbuild lacks scripts/asn1_compiler (cifs and ksmbd have *.asn1)
  gcc -O2 -I "$B/src/$top/include" -o "$KDIR/scripts/asn1_compiler" "$B/src/$top/scripts/asn1_compiler.c"
  cp -a "$B/src/$top/fs/nls" "$B/fs/"
  cp -a "$B/src/$top/fs/smb/client" "$B/src/$top/fs/smb/server" "$B/src/$top/fs/smb/common" "$B/fs/smb/"
  log "building cifs.ko (CONFIG_CIFS_SMB_DIRECT) and ksmbd.ko (CONFIG_SMB_SERVER_SMBDIRECT)"
  # the config must be given both as a make variable and in KCFLAGS;
  # CONFIG_DEBUG_INFO_BTF_MODULES= skips BTF (would need pahole)
  make -C "$KDIR" M="$B/fs/smb/client" CONFIG_CIFS=m CONFIG_CIFS_SMB_DIRECT=y \
       KCFLAGS=-DCONFIG_CIFS_SMB_DIRECT=1 CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules > "$B/client.log" 2>&1 ||
    { tail -30 "$B/client.log" >&2; die "cifs.ko build failed (log: $B/client.log)"; }
  make -C "$KDIR" M="$B/fs/smb/server" CONFIG_SMB_SERVER=m CONFIG_SMB_SERVER_SMBDIRECT=y \
       KCFLAGS=-DCONFIG_SMB_SERVER_SMBDIRECT=1 CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules > "$B/server.log" 2>&1 ||
    { tail -30 "$B/server.log" >&2; die "ksmbd.ko build failed (log: $B/server.log)"; }
  # the options reach the code only if both spellings took effect: check. (Not `nm | grep -q`:
  # under pipefail, grep quitting at the first match kills nm with SIGPIPE and fails the check.)
  grep -q ' smbd_get_connection$' < <(nm "$B/fs/smb/client/cifs.ko") || die "cifs.ko was built without SMB-Direct"
  grep -q ' ksmbd_rdma_init$' < <(nm "$B/fs/smb/server/ksmbd.ko") || die "ksmbd.ko was built without SMB-Direct"
  local U="$KC/mods/lib/modules/$KV/updates"; mkdir -p "$U"
  local m; for m in client/cifs.ko server/ksmbd.ko; do
    strip --strip-debug "$B/fs/smb/$m"; cp "$B/fs/smb/$m" "$U/"
  done
  depmod -b "$KC/mods" "$KV"
  rm -rf "$B"   # ~600 MB of sources and objects; the .debs stay in debs/
  echo "$ver" > "$KC/smbdirect.ok"
}

# ---------------------------------------------------------------- initramfs
GUEST_BINS="/usr/bin/busybox /usr/bin/dash /usr/bin/bash /usr/bin/kmod /usr/bin/rdma /usr/sbin/ip \
 /usr/bin/ibv_devices /usr/bin/ibv_devinfo /usr/bin/ibv_rc_pingpong /usr/bin/rping /usr/bin/ucmatose \
 /usr/bin/ib_send_bw /usr/bin/ib_write_bw /usr/bin/ib_read_bw /usr/bin/ib_write_lat \
 /usr/sbin/mount.cifs /usr/bin/timeout"
BOOT_MODULES="9pnet_virtio 9p dummy rdma_rxe ib_uverbs rdma_ucm"
GUEST_LIBS="/usr/lib/x86_64-linux-gnu/libibverbs.so.1 /usr/lib/x86_64-linux-gnu/librdmacm.so.1 \
 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libnl-route-3.so.200"
copy_with_libs() {   # copy_with_libs <root> <file>...
  local R=$1 b lib; shift
  for b in "$@"; do
    [ -e "$b" ] || die "missing $b"
    [ -e "$R$b" ] || { mkdir -p "$(dirname "$R$b")"; cp -L "$b" "$R$b"; }
    for lib in $(ldd "$b" 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib64/{print $1}'); do
      [ -e "$R$lib" ] || { mkdir -p "$(dirname "$R$lib")"; cp -L "$lib" "$R$lib"; }
    done
  done
}
step_initramfs() {
  # keyed by what goes into it: this script, the guest init, the host's rdma-core
  local key; key=$( { cat "$HERE/prepare.sh" "$HERE/guest-init.sh"; dpkg-query -W rdma-core perftest busybox-static; } | sha256sum | cut -c1-12)
  INITRD="$KC/initramfs-$key.cpio.gz"
  [ -f "$INITRD" ] && return 0
  log "building initramfs"
  local R="$KC/initramfs.tmp"; rm -rf "$R"; mkdir -p "$R"/usr/{bin,sbin,lib,lib64,libexec}
  ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
  mkdir -p "$R"/{proc,sys,dev,tmp,run,root,mnt,ctl,softroce/bin,etc/ksmbd,etc/libibverbs.d,lib/modules,lib/bootmods,var/run,var/lib}
  copy_with_libs "$R" $GUEST_BINS $GUEST_LIBS
  # verbs provider (dlopen'ed) and its driver file
  copy_with_libs "$R" /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so
  cp /etc/libibverbs.d/rxe.driver "$R/etc/libibverbs.d/"
  # ksmbd-tools conflicts with samba on the host: unpacked from its .deb only
  local kt=$KC/../ksmbd-tools
  if [ ! -x "$kt/usr/libexec/ksmbd.tools" ]; then
    local ver; ver=$(pkg_version ksmbd-tools)
    [ -n "$ver" ] || ver=$(basename "$(deb_of ksmbd-tools)" | cut -d_ -f2)
    download "ksmbd-tools=$ver"
    rm -rf "$kt"; mkdir -p "$kt"; dpkg-deb -x "$(deb_of ksmbd-tools)" "$kt"
  fi
  cp -L "$kt/usr/libexec/ksmbd.tools" "$R/usr/libexec/"
  copy_with_libs "$R" "$R/usr/libexec/ksmbd.tools"
  for b in ksmbd.mountd ksmbd.adduser ksmbd.addshare ksmbd.control; do ln -s ../libexec/ksmbd.tools "$R/usr/sbin/$b"; done
  ln -s mount.cifs "$R/usr/sbin/mount.smb3"
  # /bin/sh = dash: busybox ash runs its own ip/modprobe/mount applets even
  # when the real ones are on PATH
  ln -s dash "$R/usr/bin/sh"
  for b in modprobe insmod rmmod lsmod modinfo depmod; do ln -s ../bin/kmod "$R/usr/sbin/$b"; done
  for b in $("$R/usr/bin/busybox" --list-full); do
    [ -e "$R/$b" ] || [ -L "$R/$b" ] || ln -s /usr/bin/busybox "$R/$b"
  done
  printf '/usr/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n' > "$R/etc/ld.so.conf"
  ldconfig -r "$R"
  # modules loaded at boot, decompressed here: 9p (to mount the module tree)
  # and the RDMA stack (xz under TCG and module lookups over 9p cost seconds)
  : > "$R/etc/bootmods"
  local m n
  for m in $(modprobe -d "$KC/mods" -S "$KV" --show-depends -a $BOOT_MODULES | awk '$1=="insmod"{print $2}' | awk '!s[$0]++'); do
    n=$(basename "$m"); n=${n%.xz}; n=${n%.ko}
    case "$m" in *.xz) xz -dc "$m" > "$R/lib/bootmods/$n.ko";; *) cp "$m" "$R/lib/bootmods/$n.ko";; esac
    echo "$n" >> "$R/etc/bootmods"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
  printf '127.0.0.1 localhost\n10.99.0.1 rxehost\n' > "$R/etc/hosts"
  ln -s /proc/self/mounts "$R/etc/mtab"
  install -m 0755 "$HERE/guest-init.sh" "$R/init"
  rm -f "$KC"/initramfs-*.cpio.gz
  ( cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD.tmp" )
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$R"
}

# --------------------------------------------------------------------- main
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9          # one preparer at a time
steps=${*:-all}
[ "$steps" = all ] && steps="packages kernel smbdirect initramfs"
case " $steps " in *" packages "*) step_packages;; esac
KV=$(resolve_kv)
KC="$CACHE/kernel-$KV"
for s in $steps; do
  case $s in
    packages) ;;
    kernel) step_kernel ;;
    smbdirect) step_kernel; step_smbdirect ;;
    initramfs) step_kernel; step_initramfs ;;
    *) die "unknown step $s" ;;
  esac
done
echo "$KC"
