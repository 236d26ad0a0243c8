#!/bin/bash
# vm-test.sh [test binary flags...]
#
# The NUMA placement integration test (issue 9): boots the soft-RoCE guest
# (test/soft-roce/vm.sh, its cached kernel and initramfs) with two NUMA nodes
# and three virtio NICs, and runs the numa package's tests in it:
#
#   node 0: CPU 0, 1 GiB      node 1: CPU 1, 1 GiB
#   NIC 52:54:00:00:00:ff  on the root bus pci.0          -> node unknown (-1)
#   NIC 52:54:00:00:01:01  behind pxb numa_node=1 + pci-bridge -> node 1
#   NIC 52:54:00:00:00:01  behind pxb numa_node=0 + pci-bridge -> node 0
#
# (SOFT-ROCE.md's two-node recipe, plus a second expander for node 0.) The
# netdevs are user-mode with restrict=on: no packet leaves the guest. In the
# guest each NIC gets 10.77.<i>.1/24 and an rxe device; the test binary
# (built here, CGO_ENABLED=0) checks every NIC's and rxe device's node
# against the list above, then serves one TCP connection per NIC on a thread
# pinned and a buffer bound by the numa package, and checks
# /proc/self/task/TID/status, /proc/self/numa_maps, get_mempolicy and
# move_pages, under numa = auto, 0 and off. Then smb3d itself (in-process)
# serves a client per NIC over TCP (io_uring) and over SMB-Direct (the rxe
# device of each NIC): each channel's node in the status, its ring or
# completion thread pinned, and every page of its buffers (staging and
# message buffers; receive, send and RDMA pool memory) on its NIC's node.
#
# Flags go to the test binary (e.g. -test.run=VMChannels). Knobs: vm.sh's
# (VM_TIMEOUT, VM_VERBOSE, SOFTROCE_CACHE, SOFTROCE_NO_APT, ...) and
# NUMA_GOFLAGS for go test -c. Exit status: the test binary's (124: the VM
# timed out). Takes about 1.5 min warm on the 2-core build machine.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
SR=$REPO/test/soft-roce
log() { echo "[numa-vm] $*" >&2; }

BIN=$(mktemp -d "${TMPDIR:-/tmp}/numa-vm-bin.XXXXXX")
trap 'rm -rf "$BIN"' EXIT
cd "$REPO"
log "building the numa test binary"
CGO_ENABLED=0 go test -c ${NUMA_GOFLAGS:-} -o "$BIN/numa.test" ./numa
log "building the smb3d-in-the-guest test binaries (TCP; SMB-Direct with cgo and -tags rdma)"
CGO_ENABLED=0 go test -c ${NUMA_GOFLAGS:-} -o "$BIN/smb3dvm.test" ./test/numa/smb3dvm
CGO_ENABLED=1 go test -c -tags rdma ${NUMA_GOFLAGS:-} -o "$BIN/smb3dvm-rdma.test" ./test/numa/smb3dvm

# MAC=node: the truth the test compares sysfs against (-1: no node given).
EXPECT="52:54:00:00:00:ff=-1 52:54:00:00:01:01=1 52:54:00:00:00:01=0"
export VM_MEM=2048 VM_SMP=2
export VM_QEMU_EXTRA="-object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=1024M \
-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
-device pxb,id=pxb1,bus_nr=32,numa_node=1,bus=pci.0 -device pci-bridge,id=br1,bus=pxb1,chassis_nr=1 \
-device pxb,id=pxb0,bus_nr=64,numa_node=0,bus=pci.0 -device pci-bridge,id=br0,bus=pxb0,chassis_nr=2 \
-netdev user,id=nu,restrict=on -device virtio-net-pci,netdev=nu,bus=pci.0,mac=52:54:00:00:00:ff \
-netdev user,id=n1,restrict=on -device virtio-net-pci,netdev=n1,bus=br1,addr=0x1,mac=52:54:00:00:01:01 \
-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,bus=br0,addr=0x1,mac=52:54:00:00:00:01"

flags=$(printf " %q" -test.v -test.count=1 "$@")
script=$(cat <<SCRIPT
set -e
modprobe virtio_net
for i in \$(seq 50); do [ \$(ls /sys/class/net | grep -c '^eth') -ge 3 ] && break; sleep 0.1; done
echo "--- guest topology"
for n in /sys/devices/system/node/node*; do echo "\${n##*/}: cpus \$(cat \$n/cpulist), \$(awk '/MemTotal/{print \$4" kB"}' \$n/meminfo)"; done
i=0
for dev in \$(ls /sys/class/net | grep '^eth' | sort); do
  i=\$((i+1))
  ip link set "\$dev" up
  ip addr add "10.77.\$i.1/24" dev "\$dev"
  rdma link add "rxe_\$dev" type rxe netdev "\$dev"
  echo "\$dev: mac \$(cat /sys/class/net/\$dev/address) addr 10.77.\$i.1 device \$(readlink -f /sys/class/net/\$dev/device | sed 's#/sys/devices/##') rdma rxe_\$dev"
done
# VLANs (no device of their own: the node comes from lower_*)
modprobe 8021q
byaddr() { for d in /sys/class/net/*; do [ -e \$d/device ] && [ "\$(cat \$d/address)" = "\$1" ] && echo "\${d##*/}"; done; }
ip link add link "\$(byaddr 52:54:00:00:01:01)" name vlan1 type vlan id 11
ip link add link "\$(byaddr 52:54:00:00:00:ff)" name vlanu type vlan id 12
echo "vlan1 on \$(byaddr 52:54:00:00:01:01), vlanu on \$(byaddr 52:54:00:00:00:ff)"
echo "--- numa.test"
cd "$REPO/numa"
NUMA_VM=1 NUMA_EXPECT="$EXPECT" NUMA_EXPECT_IF="vlan1=1 vlanu=-1" /softroce/bin/numa.test$flags
echo "--- smb3dvm.test (smb3d's TCP channels, one client per NIC: ring threads and buffers)"
cd "$REPO/test/numa/smb3dvm"
NUMA_VM=1 NUMA_EXPECT="$EXPECT" /softroce/bin/smb3dvm.test -test.v -test.count=1
echo "--- smb3dvm-rdma.test (smb3d's SMB-Direct channels over rxe on each NIC: registered memory, completion threads)"
NUMA_VM=1 NUMA_EXPECT="$EXPECT" /softroce/bin/smb3dvm-rdma.test -test.v -test.count=1 -test.run=RDMA
SCRIPT
)
# Prepare through soft-RoCE's own prepare.sh, then boot from a private copy
# of its vm.sh: bash reads a script as it runs, so an edit of vm.sh during
# the (minutes long) boot would otherwise break this run.
KC=$("$SR/prepare.sh" kernel initramfs)
cp "$SR/vm.sh" "$BIN/vm.sh"
set +e
SOFTROCE_KC=$KC SOFTROCE_BIN=$BIN bash "$BIN/vm.sh" "$REPO" "$script"
rc=$?
set -e
log "exit status $rc"
exit $rc
