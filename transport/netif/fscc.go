package netif

import "smb3d/smb3/fscc"

// DefaultSpeed is advertised when a driver reports none (virtual devices):
// 1 Gb/s, so clients weigh such interfaces like ordinary links.
const DefaultSpeed = 1_000_000_000

// ToFSCC turns interfaces into NETWORK_INTERFACE_INFO entries, one per
// address; addresses of one interface share its index, as Windows clients
// expect for one NIC.
func ToFSCC(ifs []Interface) []fscc.NetworkInterface {
	var out []fscc.NetworkInterface
	for _, i := range ifs {
		var caps uint32
		if i.RSS {
			caps |= fscc.InterfaceCapRSS
		}
		if i.RDMA {
			caps |= fscc.InterfaceCapRDMA
		}
		speed := i.Speed
		if speed == 0 {
			speed = DefaultSpeed
		}
		for _, a := range i.Addrs {
			out = append(out, fscc.NetworkInterface{IfIndex: uint32(i.Index), Capability: caps, LinkSpeed: speed, Addr: a})
		}
	}
	return out
}
