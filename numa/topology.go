// Package numa places a channel's thread and memory on the NUMA node of the
// interface it was accepted on: the topology (nodes, their CPUs and memory,
// from ghw), the node of each network interface and RDMA device (from
// sysfs), thread pinning (sched_setaffinity) and node-bound memory
// (mmap + mbind(MPOL_BIND)), and the Placement policy that decides which node
// a channel gets.
//
// Everything is read through a sysfs root ("/sys" on a live system), so the
// tests run on fake trees. A node of -1 (Unknown) means the kernel does not
// know it; an unknown node means no pinning and no binding, never a guess.
package numa

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jaypipes/ghw"
)

// Unknown is the node of a device the kernel reports no node for (sysfs
// numa_node -1, or no numa_node anywhere up the device's path).
const Unknown = -1

// DefaultSysRoot is where sysfs is mounted on a live system.
const DefaultSysRoot = "/sys"

// Node is one NUMA node.
type Node struct {
	ID          int
	CPUs        []int // online logical CPUs, ascending
	MemoryBytes int64 // usable memory (nodeN/meminfo MemTotal); 0: a CPU-only node
	Distances   []int // SLIT distances to every node, by node order in sysfs
}

// RDMADevice is one RDMA device (/sys/class/infiniband/DEV).
type RDMADevice struct {
	Name   string
	Netdev string // the netdev of a software device (rxe's "parent"); "" for an HCA
	Node   int
}

// Topology is the machine as placement sees it.
type Topology struct {
	SysRoot    string
	Nodes      []Node         // ascending ID; empty if the kernel has no NUMA support
	Interfaces map[string]int // netdev name -> node (Unknown when not known)
	RDMA       []RDMADevice
}

// Discover reads the topology under sys (DefaultSysRoot when ""): the nodes
// from ghw, read through sys with ghw's path override; the node of every
// netdev in class/net and every device in class/infiniband from sysfs.
// A machine without /sys/devices/system/node (kernel without NUMA) has no
// nodes, which disables placement; it is not an error.
func Discover(sys string) (*Topology, error) {
	if sys == "" {
		sys = DefaultSysRoot
	}
	t := &Topology{SysRoot: sys, Interfaces: map[string]int{}}
	nodes, err := readNodes(sys)
	if err != nil {
		return nil, err
	}
	t.Nodes = nodes
	ents, err := os.ReadDir(filepath.Join(sys, "class/net"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("numa: %w", err)
	}
	for _, e := range ents {
		t.Interfaces[e.Name()] = InterfaceNode(sys, e.Name())
	}
	ents, err = os.ReadDir(filepath.Join(sys, "class/infiniband"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("numa: %w", err)
	}
	for _, e := range ents {
		t.RDMA = append(t.RDMA, RDMADevice{Name: e.Name(), Netdev: RDMANetdev(sys, e.Name()), Node: RDMADeviceNode(sys, e.Name())})
	}
	return t, nil
}

// readNodes asks ghw for the nodes under sys. ghw drops a node silently when
// one of its files is missing (caches, hugepages, meminfo); such a node is
// then read from nodeN/cpulist and nodeN/meminfo directly, so a node is
// never lost and its CPUs never guessed.
func readNodes(sys string) ([]Node, error) {
	dir := filepath.Join(sys, "devices/system/node")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("numa: %w", err)
	}
	var ids []int
	for _, e := range ents {
		if id, ok := strings.CutPrefix(e.Name(), "node"); ok {
			if n, err := strconv.Atoi(id); err == nil {
				ids = append(ids, n)
			}
		}
	}
	slices.Sort(ids)
	byID := map[int]Node{}
	if info, err := ghw.Topology(ghw.WithChroot("/"), ghw.WithPathOverrides(ghw.PathOverrides{"/sys": sys}), ghw.WithDisableWarnings()); err == nil {
		for _, gn := range info.Nodes {
			n := Node{ID: gn.ID, Distances: gn.Distances}
			for _, c := range gn.Cores {
				n.CPUs = append(n.CPUs, c.LogicalProcessors...)
			}
			slices.Sort(n.CPUs)
			n.CPUs = slices.Compact(n.CPUs)
			if gn.Memory != nil {
				n.MemoryBytes = gn.Memory.TotalUsableBytes
			}
			byID[n.ID] = n
		}
	}
	nodes := make([]Node, 0, len(ids))
	for _, id := range ids {
		n, ok := byID[id]
		if !ok {
			n, err = readNode(dir, id)
			if err != nil {
				return nil, err
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// readNode reads one node from sysfs without ghw.
func readNode(dir string, id int) (Node, error) {
	n := Node{ID: id}
	d := filepath.Join(dir, "node"+strconv.Itoa(id))
	b, err := os.ReadFile(filepath.Join(d, "cpulist"))
	if err != nil {
		return n, fmt.Errorf("numa: node %d: %w", id, err)
	}
	if n.CPUs, err = ParseCPUList(string(b)); err != nil {
		return n, fmt.Errorf("numa: node %d: %w", id, err)
	}
	if b, err := os.ReadFile(filepath.Join(d, "meminfo")); err == nil {
		// "Node 0 MemTotal:       16318420 kB"
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && f[2] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[3], 10, 64)
				n.MemoryBytes = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(d, "distance")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			v, _ := strconv.Atoi(f)
			n.Distances = append(n.Distances, v)
		}
	}
	return n, nil
}

// ParseCPUList parses a kernel CPU list ("0-3,8,10-11"; "" is empty).
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// Node returns the node with the given id.
func (t *Topology) Node(id int) (Node, bool) {
	for _, n := range t.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// CPUs returns the CPUs of a node (nil for an unknown node or one without
// CPUs).
func (t *Topology) CPUs(node int) []int {
	n, _ := t.Node(node)
	return n.CPUs
}

// InterfaceNode is the node of a netdev: the numa_node of the first device
// on the way up from /sys/class/net/IF/device (a virtio netdev's own device
// has none; its PCI parent has it). A netdev without a device of its own
// (VLAN, bond, macvlan) has the node of its lower devices
// (/sys/class/net/IF/lower_*) when they all agree. Unknown when there is no
// device (dummy, loopback), no numa_node, the kernel says -1, or lower
// devices disagree.
func InterfaceNode(sys, ifname string) int {
	return interfaceNode(sys, ifname, 0)
}

func interfaceNode(sys, ifname string, depth int) int {
	dir := filepath.Join(sys, "class/net", ifname)
	if _, err := os.Lstat(filepath.Join(dir, "device")); err == nil {
		return deviceNode(sys, filepath.Join(dir, "device"))
	}
	lower, _ := filepath.Glob(filepath.Join(dir, "lower_*"))
	if len(lower) == 0 || depth >= 8 {
		return Unknown
	}
	node := Unknown
	for i, l := range lower {
		n := interfaceNode(sys, strings.TrimPrefix(filepath.Base(l), "lower_"), depth+1)
		if n == Unknown || (i > 0 && n != node) {
			return Unknown
		}
		node = n
	}
	return node
}

// RDMADeviceNode is the node of an RDMA device: from its device like a
// netdev's (an HCA), or else from the netdev its sysfs "parent" names (rxe,
// which has no device of its own).
func RDMADeviceNode(sys, dev string) int {
	if n := deviceNode(sys, filepath.Join(sys, "class/infiniband", dev, "device")); n != Unknown {
		return n
	}
	if nd := RDMANetdev(sys, dev); nd != "" {
		return InterfaceNode(sys, nd)
	}
	return Unknown
}

// RDMANetdev is the netdev a software RDMA device runs on (rxe's
// /sys/class/infiniband/DEV/parent), or "".
func RDMANetdev(sys, dev string) string {
	b, err := os.ReadFile(filepath.Join(sys, "class/infiniband", dev, "parent"))
	if err != nil {
		return ""
	}
	name := strings.TrimSpace(string(b))
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return ""
	}
	return name
}

// deviceNode walks up from the device link to the first numa_node, staying
// inside sys.
func deviceNode(sys, link string) int {
	dev, err := filepath.EvalSymlinks(link)
	if err != nil {
		return Unknown
	}
	root, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return Unknown
	}
	for d := dev; strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "numa_node"))
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n < 0 {
			return Unknown
		}
		return n
	}
	return Unknown
}
