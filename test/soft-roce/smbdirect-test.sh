#!/bin/bash
# smbdirect-test.sh [size-MiB]
#
# SMB-Direct acceptance in the soft-RoCE guest (issue 8), beside run-tests.sh:
#   1. builds smb3d and the transport/smbdirect test binary with -tags rdma;
#   2. boots the guest (vm.sh, under its timeout) and there
#      a. runs the transport's own RDMA test (listener + Go initiator over rxe),
#      b. starts smb3d with 'rdma listen = $RXE_IP:5445' on a tmpfs share,
#      c. mounts it with the kernel client: -o rdma,vers=3.1.1 (port 5445),
#         checks the kernel says the RDMA transport is up,
#      d. writes and reads back SIZE MiB of random data (default 256), cmp,
#      e. copies a tree of files (the repo's smb3/ sources) and diff -r,
#      f. stops smb3d and prints its RDMA counters,
#      h. with SMBD_KSMBD=1: the same workload against ksmbd over SMB-Direct
#         (port 445), for a side-by-side ratio (informational),
#      g. multichannel over RDMA (rxe1 on dummy1, two channels) and a signed
#         mount (signing turns READ/WRITE inline: fragmentation both ways).
# Exits non-zero if any of a-g failed. A guest kernel crash after a-g
# passed (the 6.12 client's teardown, see below) does not count.
#
# Knobs: SMBD_SIZE_MB (or $1), SMBD_KSMBD=1, SOFTROCE_CACHE, and vm.sh's
#   VM_TIMEOUT (default here 1500 s), VM_MEM (default here 3072 MiB),
#   RXE_MTU (default here 9000), VM_SMP.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${SOFTROCE_CACHE:-$REPO/.cache/soft-roce}
export SOFTROCE_CACHE=$CACHE
SIZE=${1:-${SMBD_SIZE_MB:-256}}
log() { echo "[smbdirect] $*" >&2; }

KC=$("$HERE/prepare.sh" packages kernel smbdirect initramfs)
BIN="$CACHE/run/smbdirect-bin"
rm -rf "$BIN"; mkdir -p "$BIN"
cd "$REPO"
CGO_ENABLED=1 go build -tags rdma -o "$BIN/smb3d" ./cmd/smb3d
CGO_ENABLED=1 go test -c -tags rdma -o "$BIN/smbdirect.test" ./transport/smbdirect
log "built smb3d and smbdirect.test (-tags rdma)"
# ksmbd.tools needs libnl-genl-3, which the initramfs lacks when the host
# does not have it: put it beside the binaries
if [ "${SMBD_KSMBD:-0}" != 0 ]; then
  mkdir -p "$BIN/lib"
  lib=/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200
  if [ -e "$lib" ]; then cp -L "$lib" "$BIN/lib/"
  else
    deb=$(ls "$CACHE"/debs/libnl-genl-3-200_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || (cd "$CACHE/debs" && apt-get download -q libnl-genl-3-200 >&2) || log "cannot download libnl-genl-3-200"
    deb=$(ls "$CACHE"/debs/libnl-genl-3-200_*.deb 2>/dev/null | head -1 || true)
    [ -z "$deb" ] || { rm -rf "$CACHE/run/libnl"; dpkg-deb -x "$deb" "$CACHE/run/libnl"; cp -L "$CACHE"/run/libnl/lib/x86_64-linux-gnu/libnl-genl-3.so.200* "$BIN/lib/" 2>/dev/null ||
      cp -L "$CACHE"/run/libnl/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200* "$BIN/lib/"; }
  fi
fi

script=$(cat <<'GUEST'
set -u
rc=0
fail() { echo "FAIL: $*"; rc=1; }
now() { cut -d' ' -f1 /proc/uptime; }
mibs() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{ d=b-a; if (d<=0) d=0.01; printf "%.1f MiB/s (%d MiB in %.1fs)", n/d, n, d }'; }

echo "=== a. transport test over rxe"
(cd "$REPO_DIR/transport/smbdirect" && /softroce/bin/smbdirect.test -test.v -test.run 'RXE' -test.timeout 5m) || fail "transport test"

echo "=== b. smb3d with an SMB-Direct listener on $RXE_IP:5445"
modprobe cifs || fail "modprobe cifs"
modinfo -F filename cifs
mkdir -p /tmp/share /tmp/work /mnt/smb
/softroce/bin/smb3d user add -file /tmp/users -password 'Secret-123' alice || fail "user add"
cat > /tmp/smb3d.conf <<CONF
[global]
listen = $RXE_IP:445
rdma listen = $RXE_IP:5445
users file = /tmp/users
control socket = /tmp/smb3d.sock
[share]
path = /tmp/share
CONF
/softroce/bin/smb3d serve -c /tmp/smb3d.conf > /tmp/smb3d.log 2>&1 &
SMB3D=$!
for i in $(seq 50); do grep -q "listening on $RXE_IP:5445" /tmp/smb3d.log && break; sleep 0.2; done
cat /tmp/smb3d.log

workload() {   # workload NAME: mount at /mnt/smb is up
  local name=$1 t0 t1
  echo "--- $name: write $SIZE MiB"
  t0=$(now); cp /tmp/work/rand /mnt/smb/rand && sync; t1=$(now)
  echo "$name write: $(mibs "$SIZE" "$t0" "$t1")"
  # drop the client's cache: remount, then read back
  umount /mnt/smb && mount -t cifs "//$RXE_IP/share" /mnt/smb -o "$OPTS" || return 1
  t0=$(now); cmp /tmp/work/rand /mnt/smb/rand || { echo "$name: read back differs"; return 1; }; t1=$(now)
  echo "$name read: $(mibs "$SIZE" "$t0" "$t1") byte-identical"
  t0=$(now); cp -r /tmp/work/tree /mnt/smb/tree && diff -r /tmp/work/tree /mnt/smb/tree || { echo "$name: tree differs"; return 1; }; t1=$(now)
  echo "$name tree: $(find /tmp/work/tree -type f | wc -l) files copied and diff -r clean in $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}')s"
}

echo "=== c. mount -o rdma"
dd if=/dev/urandom of=/tmp/work/rand bs=1M count="$SIZE" 2>/dev/null
cp -r "$REPO_DIR/smb3" /tmp/work/tree
OPTS="rdma,vers=3.1.1,username=alice,password=Secret-123"
dmesg -c >/dev/null
t0=$(now)
if timeout 60 mount -t cifs "//$RXE_IP/share" /mnt/smb -o "$OPTS"; then
  echo "mounted in $(awk -v a=$t0 -v b=$(now) 'BEGIN{printf "%.1f", b-a}')s"
  dmesg | grep -iE 'rdma|smbd|smb direct' | head -20
  grep -iE 'rdma|smbd|transport' /proc/fs/cifs/DebugData | head -20
  dmesg | grep -q 'RDMA transport established' || fail "the kernel did not log 'RDMA transport established'"
  grep -q 'RDMA' /proc/fs/cifs/DebugData || fail "DebugData shows no RDMA connection"
  echo "=== d/e. workload"
  workload smb3d || fail "smb3d workload"
  grep -iE 'SMBDirect|rdma' -A3 /proc/fs/cifs/DebugData | head -30
  umount /mnt/smb
else
  fail "mount -o rdma"; dmesg | tail -30
fi

echo "=== f. smb3d counters"
kill -TERM $SMB3D; wait $SMB3D
cat /tmp/smb3d.log | tail -20
grep -q 'smb-direct totals' /tmp/smb3d.log || fail "no totals from smb3d"
rdmaw=$(sed -n 's/.*rdma_write_bytes=\([0-9]*\).*/\1/p' /tmp/smb3d.log | tail -1)
rdmar=$(sed -n 's/.*rdma_read_bytes=\([0-9]*\).*/\1/p' /tmp/smb3d.log | tail -1)
echo "smb3d moved by RDMA: read (client WRITE) ${rdmar:-0} bytes, written (client READ) ${rdmaw:-0} bytes"
[ "${rdmar:-0}" -ge $((SIZE << 20)) ] || fail "WRITE payloads did not go by RDMA read"
[ "${rdmaw:-0}" -ge $((SIZE << 20)) ] || fail "READ data did not go by RDMA write"

if [ "${SMBD_KSMBD:-0}" != 0 ]; then
  # informational, off by default: the 6.12 cifs client oopsed in
  # smbd_disconnect_rdma_work (rdma_disconnect on a torn-down cm_id) in this
  # phase twice in four runs (every mount here first gets 5445 refused)
  echo "=== h. ksmbd over SMB-Direct (port 445), same workload"
  rm -rf /tmp/share/*; chmod 777 /tmp/share   # ksmbd writes as the mapped user
  mkdir -p /etc/ksmbd
  printf '[global]\n\tbind interfaces only = no\n[share]\n\tpath = /tmp/share\n\tread only = no\n' > /etc/ksmbd/ksmbd.conf
  export LD_LIBRARY_PATH=/softroce/bin/lib
  if modprobe ksmbd && ksmbd.adduser -a alice -p 'Secret-123' >/dev/null && ksmbd.mountd; then
    sleep 1
    if timeout 60 mount -t cifs "//$RXE_IP/share" /mnt/smb -o "$OPTS"; then
      grep -q 'RDMA' /proc/fs/cifs/DebugData && echo "ksmbd: RDMA connection"
      workload ksmbd || echo "ksmbd workload failed (not counted)"
      umount /mnt/smb
    else
      echo "ksmbd mount failed (not counted)"
    fi
    ksmbd.control -s >/dev/null 2>&1; sleep 1; rmmod ksmbd 2>/dev/null
  else
    echo "ksmbd did not start (not counted)"
  fi
fi

echo "=== g. multichannel over RDMA (a second rxe device on dummy1) and a signed mount (inline I/O)"
# last, and nothing is unmounted: the 6.12 client oopsed once tearing down
# the multichannel mount (same smbd_disconnect_rdma_work crash as above)
ip link add dummy1 type dummy && ip link set dummy1 mtu "${RXE_MTU:-1500}" up && ip addr add 10.99.1.1/24 dev dummy1
rdma link add rxe1 type rxe netdev dummy1 || fail "rdma link add rxe1"
rm -rf /tmp/share/*
mkdir -p /mnt/mc /mnt/signed
cat > /tmp/smb3d-mc.conf <<CONF
[global]
listen = $RXE_IP:4445 10.99.1.1:4445
rdma listen = $RXE_IP:5445 10.99.1.1:5445
multichannel = yes
interfaces = "$RXE_NETDEV;capability=RDMA" "dummy1;capability=RDMA"
users file = /tmp/users
control socket = /tmp/smb3d-mc.sock
[share]
path = /tmp/share
CONF
/softroce/bin/smb3d serve -c /tmp/smb3d-mc.conf > /tmp/smb3d-mc.log 2>&1 &
for i in $(seq 50); do grep -q "listening on 10.99.1.1:5445" /tmp/smb3d-mc.log && break; sleep 0.2; done
MC=32
if timeout 60 mount -t cifs "//$RXE_IP/share" /mnt/mc -o "$OPTS,multichannel,max_channels=2"; then
  for i in $(seq 20); do grep -q 'Extra Channels: 1' /proc/fs/cifs/DebugData && break; sleep 0.5; done
  dmesg | grep -E 'new channel' | tail -1
  grep -E 'Extra Channels|Capabilities|IPv4' /proc/fs/cifs/DebugData | head -8
  grep -q 'Extra Channels: 1' /proc/fs/cifs/DebugData || fail "no second channel"
  t0=$(now); dd if=/tmp/work/rand of=/mnt/mc/mc bs=1M count=$MC 2>/dev/null && sync; t1=$(now)
  echo "multichannel write: $(mibs $MC "$t0" "$t1")"
else
  fail "multichannel mount"
fi
if timeout 60 mount -t cifs "//$RXE_IP/share" /mnt/signed -o "$OPTS,sign,nosharesock"; then
  t0=$(now); cmp -n $((MC << 20)) /tmp/work/rand /mnt/signed/mc || fail "signed read differs"; t1=$(now)
  echo "signed read (inline, fragmented): $(mibs $MC "$t0" "$t1") byte-identical"
else
  fail "signed mount"
fi
grep -E 'channel bound' /tmp/smb3d-mc.log
echo "=== h. multichannel over TCP (issue 5): two addresses on two netdevs, max_channels=4"
mkdir -p /mnt/tcpmc
TOPTS="vers=3.1.1,port=4445,username=alice,password=Secret-123,multichannel,max_channels=4,nosharesock"
if timeout 60 mount -t cifs "//$RXE_IP/share" /mnt/tcpmc -o "$TOPTS"; then
  for i in $(seq 20); do grep -q 'Extra Channels: [1-9]' /proc/fs/cifs/DebugData && break; sleep 0.5; done
  dmesg | grep -E 'new channel' | tail -2
  grep -E 'Extra Channels' /proc/fs/cifs/DebugData | tail -1
  grep -q 'Extra Channels: [1-9]' /proc/fs/cifs/DebugData || fail "TCP multichannel: no second channel"
  rm -rf /mnt/tcpmc/tcptree
  t0=$(now); cp -r /tmp/work/tree /mnt/tcpmc/tcptree && diff -r /tmp/work/tree /mnt/tcpmc/tcptree || fail "TCP multichannel: tree differs"; t1=$(now)
  echo "TCP multichannel: $(find /tmp/work/tree -type f | wc -l) files copied and diff -r clean in $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}')s"
  /softroce/bin/smb3d status -s /tmp/smb3d-mc.sock | grep -E 'CHANNELS|tcp' | head -4
else
  fail "TCP multichannel mount"
fi
echo "ACCEPTANCE rc=$rc (steps a-h)"
exit $rc
GUEST
)
# the guest script sees only what is set here (vm.sh passes no environment)
script="SIZE=$SIZE REPO_DIR=$REPO SMBD_KSMBD=${SMBD_KSMBD:-0}
$script"
# MTU 9000 on dummy0 gives rxe an active MTU of 4096 (fewer packets per byte)
export VM_TIMEOUT=${VM_TIMEOUT:-1500} VM_MEM=${VM_MEM:-3072} RXE_MTU=${RXE_MTU:-9000}
set +e
OUT="$CACHE/run/smbdirect-last.log"
SOFTROCE_KC=$KC SOFTROCE_BIN=$BIN "$HERE/vm.sh" "$REPO" "$script" 2>&1 | tee "$OUT"
rc=${PIPESTATUS[0]}
if [ "$rc" = 125 ] && grep -q '^ACCEPTANCE rc=0 ' "$OUT"; then
  log "the guest kernel crashed after steps a-h passed: not counted"
  rc=0
fi
log "exit status $rc"
exit $rc
