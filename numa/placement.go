package numa

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Mode is how placement picks a channel's node.
type Mode uint8

const (
	// Auto places a channel on its interface's (or RDMA device's) node, and
	// does not place it when that node is unknown.
	Auto Mode = iota
	// Off never places: no pinning, memory from the default policy.
	Off
	// Fixed places every channel on one configured node.
	Fixed
)

// Policy is the configured placement: "auto", "off" or a node number
// (the proposed `numa =` option of [global]).
type Policy struct {
	Mode Mode
	Node int // Fixed only
}

// ParsePolicy parses "auto", "off" (also "no", "false") or a node number.
func ParsePolicy(s string) (Policy, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", "auto", "yes", "true":
		return Policy{Mode: Auto}, nil
	case "off", "no", "false", "none":
		return Policy{Mode: Off}, nil
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Policy{}, fmt.Errorf("numa: %q is not auto, off or a node number", s)
		}
		return Policy{Mode: Fixed, Node: n}, nil
	}
}

func (p Policy) String() string {
	switch p.Mode {
	case Off:
		return "off"
	case Fixed:
		return strconv.Itoa(p.Node)
	default:
		return "auto"
	}
}

// Placement decides the node of each channel from a Policy and the
// topology. It is immutable after NewPlacement and safe for concurrent use.
// A nil *Placement places nothing.
type Placement struct {
	policy Policy
	topo   *Topology
}

// NewPlacement checks the policy against the topology: a fixed node must
// exist and have CPUs. With fewer than two nodes, auto places nothing
// (there is nothing to gain, and nothing to get wrong).
func NewPlacement(p Policy, t *Topology) (*Placement, error) {
	if t == nil {
		t = &Topology{}
	}
	if p.Mode == Fixed {
		n, ok := t.Node(p.Node)
		if !ok {
			return nil, fmt.Errorf("numa = %d: no such node (the machine has %d)", p.Node, len(t.Nodes))
		}
		if len(n.CPUs) == 0 {
			return nil, fmt.Errorf("numa = %d: node has no online CPUs", p.Node)
		}
	}
	return &Placement{policy: p, topo: t}, nil
}

// Policy returns the configured policy.
func (pl *Placement) Policy() Policy {
	if pl == nil {
		return Policy{Mode: Off}
	}
	return pl.policy
}

// Topology returns the topology placement works from.
func (pl *Placement) Topology() *Topology {
	if pl == nil {
		return &Topology{}
	}
	return pl.topo
}

// decide turns a device's node into the placement node.
func (pl *Placement) decide(devNode int) int {
	if pl == nil {
		return Unknown
	}
	switch pl.policy.Mode {
	case Off:
		return Unknown
	case Fixed:
		return pl.policy.Node
	}
	if len(pl.topo.Nodes) < 2 || devNode < 0 {
		return Unknown
	}
	// A node sysfs names for a device but that has no CPUs online (or is not
	// in the topology) cannot take a thread: do not place.
	if n, ok := pl.topo.Node(devNode); !ok || len(n.CPUs) == 0 {
		return Unknown
	}
	return devNode
}

// ForInterface is the node for a channel accepted on netdev ifname, or
// Unknown (do not place).
func (pl *Placement) ForInterface(ifname string) int {
	if pl == nil {
		return Unknown
	}
	n, ok := pl.topo.Interfaces[ifname]
	if !ok {
		n = InterfaceNode(pl.topo.sys(), ifname)
	}
	return pl.decide(n)
}

// ForRDMADevice is the node for a channel on RDMA device dev, or Unknown.
func (pl *Placement) ForRDMADevice(dev string) int {
	if pl == nil {
		return Unknown
	}
	for _, d := range pl.topo.RDMA {
		if d.Name == dev {
			return pl.decide(d.Node)
		}
	}
	return pl.decide(RDMADeviceNode(pl.topo.sys(), dev))
}

// ForLocalAddr is the node for a channel whose local address is a (the
// address a TCP connection was accepted on): the node of the interface that
// holds the address, or Unknown.
func (pl *Placement) ForLocalAddr(a netip.Addr) int {
	if pl == nil || pl.policy.Mode == Off {
		return Unknown
	}
	if pl.policy.Mode == Fixed {
		return pl.policy.Node
	}
	name, err := InterfaceOfAddr(a)
	if err != nil {
		return Unknown
	}
	return pl.ForInterface(name)
}

// InterfaceOfAddr names the local interface that holds address a.
func InterfaceOfAddr(a netip.Addr) (string, error) {
	a = a.Unmap()
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			ipn, ok := ad.(*net.IPNet)
			if !ok {
				continue
			}
			if b, ok := netip.AddrFromSlice(ipn.IP); ok && b.Unmap() == a.WithZone("") {
				return ifc.Name, nil
			}
		}
	}
	return "", fmt.Errorf("numa: no interface holds %s", a)
}

func (t *Topology) sys() string {
	if t.SysRoot == "" {
		return DefaultSysRoot
	}
	return t.SysRoot
}
