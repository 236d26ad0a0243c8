//go:build linux

package netif

import (
	"net"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/Mellanox/rdmamap"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Discover lists the interfaces that are up, not loopback, and have an
// address worth advertising.
func Discover(opts Options) ([]Interface, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	sys := opts.sys()
	var out []Interface
	for _, l := range links {
		a := l.Attrs()
		named := slices.Contains(opts.Only, a.Name)
		loop := a.Flags&net.FlagLoopback != 0
		if loop && !named || a.Flags&net.FlagUp == 0 {
			// The loopback is advertised only when named (tests).
			continue
		}
		if a.OperState != netlink.OperUp && a.OperState != netlink.OperUnknown {
			continue
		}
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, a.Name) {
			continue
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, err
		}
		ifc := Interface{Name: a.Name, Index: a.Index, NUMANode: NUMANode(sys, a.Name)}
		for _, ad := range addrs {
			ip, ok := netip.AddrFromSlice(ad.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if advertisable(ip) || loop && ip.IsLoopback() {
				ifc.Addrs = append(ifc.Addrs, ip)
			}
		}
		if len(ifc.Addrs) == 0 {
			continue
		}
		ifc.Speed = ethtoolSpeed(a.Name)
		if ifc.Speed == 0 {
			ifc.Speed = sysSpeed(sys, a.Name)
		}
		ifc.RSS = rxQueues(sys, a.Name) > 1
		if dev, err := rdmamap.GetRdmaDeviceForNetdevice(a.Name); err == nil && dev != "" {
			ifc.RDMADevices = []string{dev}
		}
		if len(ifc.RDMADevices) > 0 && opts.RDMAListening != nil {
			ifc.RDMA = opts.RDMAListening(a.Name)
		}
		out = append(out, ifc)
	}
	apply(out, opts.Overrides)
	return out, nil
}

// ethtoolCmd is struct ethtool_cmd (linux/ethtool.h), enough for ETHTOOL_GSET.
type ethtoolCmd struct {
	cmd           uint32
	supported     uint32
	advertising   uint32
	speed         uint16
	duplex        uint8
	port          uint8
	phyAddress    uint8
	transceiver   uint8
	autoneg       uint8
	mdioSupport   uint8
	maxtxpkt      uint32
	maxrxpkt      uint32
	speedHi       uint16
	ethTpMdix     uint8
	ethTpMdixCtrl uint8
	lpAdvertising uint32
	reserved      [2]uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

const ethtoolGSet = 0x00000001

// ethtoolSpeed asks the driver for the link speed (SIOCETHTOOL, ETHTOOL_GSET);
// 0 when the driver does not say (virtual devices report SPEED_UNKNOWN).
func ethtoolSpeed(name string) uint64 {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	cmd := ethtoolCmd{cmd: ethtoolGSet}
	var ifr ifreqData
	copy(ifr.name[:], name)
	ifr.data = uintptr(unsafe.Pointer(&cmd))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	if errno != 0 {
		return 0
	}
	mbps := uint32(cmd.speedHi)<<16 | uint32(cmd.speed)
	if mbps == 0 || mbps == 0xFFFFFFFF || mbps == 0xFFFF {
		return 0
	}
	return uint64(mbps) * 1_000_000
}
