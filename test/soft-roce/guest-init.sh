#!/bin/sh
# /init of the soft-RoCE guest (copied into the initramfs by prepare.sh).
# Mounts the 9p shares (module tree, control dir, the repo at its host path,
# the test binaries at /softroce/bin), brings up rxe0 on dummy0, runs
# /ctl/cmd.sh, writes its exit status to /ctl/rc and powers off.
export PATH=/softroce/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
# 9p and the RDMA stack, decompressed into the initramfs by prepare.sh
for m in $(cat /etc/bootmods); do insmod /lib/bootmods/$m.ko || echo "insmod $m failed"; done
O=trans=virtio,version=9p2000.L
mount -t 9p -o $O,msize=262144 ctl /ctl || { echo "cannot mount ctl"; poweroff -f; }
mount -t 9p -o $O,ro modules /lib/modules || echo "cannot mount the module tree"
. /ctl/env
mkdir -p "$HOSTDIR"
mount -t 9p -o $O,msize=524288 host "$HOSTDIR" || echo "cannot mount $HOSTDIR"
mount -t 9p -o $O,msize=524288,ro bin /softroce/bin || echo "cannot mount /softroce/bin"
[ -d /sys/module/rdma_ucm ] && [ -d /sys/module/rdma_rxe ] || modprobe -a rdma_rxe ib_uverbs rdma_ucm dummy || echo "modprobe failed"
ip link set lo up
ip link show dummy0 >/dev/null 2>&1 || ip link add dummy0 type dummy   # dummy.ko creates dummy0 itself
ip link set dummy0 mtu "${RXE_MTU:-1500}" up
ip addr add 10.99.0.1/24 dev dummy0; ip addr add 10.99.0.2/24 dev dummy0
rdma link add rxe0 type rxe netdev dummy0 || echo "rdma link add failed"
export RXE_DEV=rxe0 RXE_NETDEV=dummy0 RXE_IP=10.99.0.1 RXE_IP2=10.99.0.2 SOFTROCE_GUEST=1
ulimit -l unlimited 2>/dev/null
cd "$HOSTDIR"
echo "@@SOFTROCE-BEGIN@@ $(cut -d' ' -f1 /proc/uptime)"
bash /ctl/cmd.sh </dev/null
rc=$?
echo "@@SOFTROCE-RC=$rc@@ $(cut -d' ' -f1 /proc/uptime)"
echo $rc > /ctl/rc
dmesg > /ctl/dmesg.txt 2>/dev/null
cd /; sync; umount "$HOSTDIR" 2>/dev/null; umount /ctl 2>/dev/null
poweroff -f
