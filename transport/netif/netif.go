// Package netif discovers the network interfaces a server advertises to
// multichannel clients (MS-SMB2 FSCTL_QUERY_NETWORK_INTERFACE_INFO): their
// index, addresses, link speed (ethtool), RSS capability (more than one
// receive queue), RDMA devices (rdmamap) and NUMA node (sysfs).
package netif

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"smb3d/numa"
)

// Interface is one network interface and what the server says of it.
type Interface struct {
	Name        string
	Index       int
	Addrs       []netip.Addr
	Speed       uint64 // bits per second; 0 unknown
	RSS         bool
	RDMADevices []string // RDMA devices on this netdev
	RDMA        bool     // advertised RDMA-capable (a device and a listener)
	NUMANode    int      // -1 unknown
}

// Override is a configured correction in the spirit of Samba's
// interfaces = "eth0;capability=RSS,capability=RDMA,speed=10000000000".
type Override struct {
	Name  string
	RSS   *bool
	RDMA  *bool
	Speed uint64
}

// ParseOverride parses "IF;capability=RSS,capability=RDMA,speed=N".
func ParseOverride(s string) (Override, error) {
	name, opts, _ := strings.Cut(strings.TrimSpace(s), ";")
	o := Override{Name: strings.TrimSpace(name)}
	if o.Name == "" {
		return o, fmt.Errorf("interface override %q: no interface name", s)
	}
	t := true
	for _, kv := range strings.Split(opts, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, fmt.Errorf("interface override %q: %q is not key=value", s, kv)
		}
		switch strings.ToLower(k) {
		case "capability":
			switch strings.ToUpper(v) {
			case "RSS":
				o.RSS = &t
			case "RDMA":
				o.RDMA = &t
			default:
				return o, fmt.Errorf("interface override %q: unknown capability %q", s, v)
			}
		case "speed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return o, fmt.Errorf("interface override %q: bad speed %q", s, v)
			}
			o.Speed = n
		default:
			return o, fmt.Errorf("interface override %q: unknown key %q", s, k)
		}
	}
	return o, nil
}

// Options tune discovery.
type Options struct {
	// SysRoot is where sysfs is mounted ("/sys"); tests use a fake tree.
	SysRoot string
	// RDMAListening reports whether the SMB-Direct listener serves the
	// named netdev; an interface is advertised RDMA-capable only then.
	RDMAListening func(ifname string) bool
	// Only restricts discovery to these interface names (empty: all). The
	// loopback interface is advertised only when named here (for tests
	// that must stay on 127.0.0.1).
	Only []string
	// Overrides correct speed and capabilities per interface.
	Overrides []Override
}

func (o *Options) sys() string {
	if o.SysRoot == "" {
		return "/sys"
	}
	return o.SysRoot
}

// rxQueues counts /sys/class/net/IF/queues/rx-*.
func rxQueues(sys, name string) int {
	m, _ := filepath.Glob(filepath.Join(sys, "class/net", name, "queues/rx-*"))
	return len(m)
}

// NUMANode returns the NUMA node of a netdev from sysfs (numa.InterfaceNode:
// the first numa_node on the way up from its device); -1 when unknown.
func NUMANode(sys, name string) int {
	return numa.InterfaceNode(sys, name)
}

// sysSpeed reads /sys/class/net/IF/speed (Mb/s), the ethtool fallback.
func sysSpeed(sys, name string) uint64 {
	b, err := os.ReadFile(filepath.Join(sys, "class/net", name, "speed"))
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return uint64(n) * 1_000_000
}

// apply applies overrides.
func apply(ifs []Interface, ovs []Override) {
	for i := range ifs {
		for _, o := range ovs {
			if o.Name != ifs[i].Name {
				continue
			}
			if o.RSS != nil {
				ifs[i].RSS = *o.RSS
			}
			if o.RDMA != nil {
				ifs[i].RDMA = *o.RDMA
			}
			if o.Speed != 0 {
				ifs[i].Speed = o.Speed
			}
		}
	}
}

// advertisable reports whether an address may be advertised: not loopback,
// not unspecified, not IPv6 link-local (clients cannot use those: the
// kernel client fails them with -EINVAL).
func advertisable(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsLinkLocalUnicast() && !a.IsMulticast()
}
