package numa

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeSys builds sysfs trees the way the kernel lays them out, as far as
// placement and ghw read them.
type fakeSys struct {
	t    *testing.T
	root string
}

func newFakeSys(t *testing.T) *fakeSys { return &fakeSys{t: t, root: t.TempDir()} }

func (f *fakeSys) mk(p string) {
	if err := os.MkdirAll(filepath.Join(f.root, p), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeSys) wr(p, v string) {
	f.mk(filepath.Dir(p))
	if err := os.WriteFile(filepath.Join(f.root, p), []byte(v), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeSys) ln(target, p string) {
	f.mk(filepath.Dir(p))
	if err := os.Symlink(filepath.Join(f.root, target), filepath.Join(f.root, p)); err != nil {
		f.t.Fatal(err)
	}
}

// node adds node id with the given CPUs and MiB of memory. complete=false
// leaves out what ghw needs (hugepages/), so the sysfs fallback reads it.
func (f *fakeSys) node(id int, cpus []int, mib int, nnodes int, complete bool) {
	d := fmt.Sprintf("devices/system/node/node%d", id)
	f.mk(d)
	var list []string
	for _, c := range cpus {
		f.wr(fmt.Sprintf("%s/cpu%d/topology/core_id", d, c), fmt.Sprintf("%d\n", c))
		f.wr(fmt.Sprintf("%s/cpu%d/online", d, c), "1\n")
		list = append(list, fmt.Sprint(c))
	}
	f.wr(d+"/cpulist", strings.Join(list, ",")+"\n")
	f.wr(d+"/meminfo", fmt.Sprintf("Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n", id, mib*1024, id, mib*512))
	var dist []string
	for j := 0; j < nnodes; j++ {
		if j == id {
			dist = append(dist, "10")
		} else {
			dist = append(dist, "21")
		}
	}
	f.wr(d+"/distance", strings.Join(dist, " ")+"\n")
	if complete {
		f.mk(d + "/hugepages")
	}
}

// pciNIC adds netdev name as a virtio device under PCI function pci, whose
// numa_node is node ("" writes no numa_node at all).
func (f *fakeSys) pciNIC(name, pci, node string) {
	dev := "devices/" + pci + "/virtio" + name
	f.mk(dev)
	if node != "" {
		f.wr("devices/"+pci+"/numa_node", node+"\n")
	}
	f.mk("devices/virtual/net/" + name)
	f.ln("devices/virtual/net/"+name, "class/net/"+name)
	f.ln(dev, "devices/virtual/net/"+name+"/device")
}

// virtualNIC adds a netdev with no device (lo, dummy).
func (f *fakeSys) virtualNIC(name string) {
	f.mk("devices/virtual/net/" + name)
	f.ln("devices/virtual/net/"+name, "class/net/"+name)
}

// upper adds a netdev stacked on lower ones (VLAN, bond): lower_* links.
func (f *fakeSys) upper(name string, lower ...string) {
	f.virtualNIC(name)
	for _, l := range lower {
		f.ln("devices/virtual/net/"+l, "devices/virtual/net/"+name+"/lower_"+l)
	}
}

// rxe adds a soft-RoCE device on netdev (no device link, a parent file).
func (f *fakeSys) rxe(name, netdev string) {
	f.mk("devices/virtual/infiniband/" + name)
	f.wr("devices/virtual/infiniband/"+name+"/parent", netdev+"\n")
	f.ln("devices/virtual/infiniband/"+name, "class/infiniband/"+name)
}

// hca adds an RDMA device on PCI function pci with numa_node node.
func (f *fakeSys) hca(name, pci, node string) {
	d := "devices/" + pci
	f.mk(d + "/infiniband/" + name)
	f.wr(d+"/numa_node", node+"\n")
	f.ln(d+"/infiniband/"+name, "class/infiniband/"+name)
	f.ln(d, d+"/infiniband/"+name+"/device")
}

func discover(t *testing.T, f *fakeSys) *Topology {
	t.Helper()
	topo, err := Discover(f.root)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func placement(t *testing.T, p Policy, topo *Topology) *Placement {
	t.Helper()
	pl, err := NewPlacement(p, topo)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func checkNodes(t *testing.T, topo *Topology, want map[int][]int) {
	t.Helper()
	if len(topo.Nodes) != len(want) {
		t.Fatalf("%d nodes %+v, want %d", len(topo.Nodes), topo.Nodes, len(want))
	}
	for id, cpus := range want {
		n, ok := topo.Node(id)
		if !ok {
			t.Fatalf("node %d missing", id)
		}
		if !slices.Equal(n.CPUs, cpus) {
			t.Errorf("node %d CPUs %v, want %v", id, n.CPUs, cpus)
		}
	}
}

func TestOneNode(t *testing.T) {
	f := newFakeSys(t)
	f.node(0, []int{0, 1, 2, 3}, 4096, 1, true)
	f.pciNIC("eth0", "pci0000:00/0000:00:03.0", "0")
	f.virtualNIC("lo")
	topo := discover(t, f)
	checkNodes(t, topo, map[int][]int{0: {0, 1, 2, 3}})
	if n := topo.Nodes[0]; n.MemoryBytes != 4096<<20 || !slices.Equal(n.Distances, []int{10}) {
		t.Errorf("node 0: %d bytes, distances %v", n.MemoryBytes, n.Distances)
	}
	if topo.Interfaces["eth0"] != 0 || topo.Interfaces["lo"] != Unknown {
		t.Errorf("interfaces %v", topo.Interfaces)
	}
	// One node: auto has nothing to gain and places nothing.
	if n := placement(t, Policy{Mode: Auto}, topo).ForInterface("eth0"); n != Unknown {
		t.Errorf("auto on one node placed eth0 on %d", n)
	}
	if n := placement(t, Policy{Mode: Fixed, Node: 0}, topo).ForInterface("lo"); n != 0 {
		t.Errorf("numa = 0 placed lo on %d", n)
	}
	if _, err := NewPlacement(Policy{Mode: Fixed, Node: 1}, topo); err == nil {
		t.Error("numa = 1 accepted on a one-node machine")
	}
}

func TestTwoNodes(t *testing.T) {
	f := newFakeSys(t)
	f.node(0, []int{0, 1}, 1024, 2, true)
	f.node(1, []int{2, 3}, 1024, 2, true)
	// The guest of the integration test: eth0 on the root bus, eth1 behind a
	// PCI expander bridge on node 1, the virtio device between netdev and PCI.
	f.pciNIC("eth0", "pci0000:00/0000:00:04.0", "0")
	f.pciNIC("eth1", "pci0000:20/0000:20:00.0/0000:21:01.0", "1")
	f.pciNIC("eth2", "pci0000:20/0000:20:00.0/0000:21:02.0", "1")
	f.virtualNIC("lo")
	f.upper("eth1.100", "eth1")      // VLAN on node 1
	f.upper("bond0", "eth1", "eth2") // bond within node 1
	f.upper("bond1", "eth0", "eth1") // bond across nodes
	f.upper("vlan7", "bond0")        // VLAN on a bond
	f.rxe("rxe1", "eth1")
	f.rxe("rxe_b", "bond0")
	topo := discover(t, f)
	checkNodes(t, topo, map[int][]int{0: {0, 1}, 1: {2, 3}})
	auto := placement(t, Policy{Mode: Auto}, topo)
	for ifname, want := range map[string]int{"eth0": 0, "eth1": 1, "lo": Unknown, "nosuch": Unknown,
		"eth1.100": 1, "bond0": 1, "bond1": Unknown, "vlan7": 1} {
		if n := auto.ForInterface(ifname); n != want {
			t.Errorf("auto: %s on node %d, want %d", ifname, n, want)
		}
	}
	for _, dev := range []string{"rxe1", "rxe_b"} {
		if n := auto.ForRDMADevice(dev); n != 1 {
			t.Errorf("auto: %s on node %d, want 1 (its netdev's)", dev, n)
		}
	}
	off := placement(t, Policy{Mode: Off}, topo)
	for _, ifname := range []string{"eth0", "eth1"} {
		if n := off.ForInterface(ifname); n != Unknown {
			t.Errorf("off: %s placed on %d", ifname, n)
		}
	}
	fixed := placement(t, Policy{Mode: Fixed, Node: 1}, topo)
	for _, ifname := range []string{"eth0", "eth1", "lo"} {
		if n := fixed.ForInterface(ifname); n != 1 {
			t.Errorf("numa = 1: %s on %d", ifname, n)
		}
	}
	var nilPl *Placement
	if n := nilPl.ForInterface("eth1"); n != Unknown {
		t.Errorf("nil placement placed eth1 on %d", n)
	}
}

func TestFourNodes(t *testing.T) {
	f := newFakeSys(t)
	want := map[int][]int{}
	for id := 0; id < 4; id++ {
		// interleaved numbering, as on two-socket machines with SMT
		cpus := []int{id, id + 4, id + 8, id + 12}
		want[id] = cpus
		f.node(id, cpus, 2048, 4, true)
		f.pciNIC(fmt.Sprintf("eth%d", id), fmt.Sprintf("pci0000:%02x/0000:%02x:00.0", id*0x40, id*0x40), fmt.Sprint(id))
		f.hca(fmt.Sprintf("mlx5_%d", id), fmt.Sprintf("pci0000:%02x/0000:%02x:00.1", id*0x40, id*0x40), fmt.Sprint(id))
	}
	f.rxe("rxe2", "eth2")
	topo := discover(t, f)
	checkNodes(t, topo, want)
	auto := placement(t, Policy{Mode: Auto}, topo)
	for id := 0; id < 4; id++ {
		if n := auto.ForInterface(fmt.Sprintf("eth%d", id)); n != id {
			t.Errorf("eth%d on node %d", id, n)
		}
		if n := auto.ForRDMADevice(fmt.Sprintf("mlx5_%d", id)); n != id {
			t.Errorf("mlx5_%d on node %d", id, n)
		}
		if d := topo.Nodes[id].Distances; len(d) != 4 || d[id] != 10 {
			t.Errorf("node %d distances %v", id, d)
		}
	}
	if n := auto.ForRDMADevice("rxe2"); n != 2 {
		t.Errorf("rxe2 on node %d, want 2", n)
	}
	if len(topo.RDMA) != 5 {
		t.Errorf("RDMA devices %+v", topo.RDMA)
	}
	for _, d := range topo.RDMA {
		if d.Name == "rxe2" && d.Netdev != "eth2" {
			t.Errorf("rxe2 netdev %q", d.Netdev)
		}
	}
}

func TestUnknownNode(t *testing.T) {
	f := newFakeSys(t)
	f.node(0, []int{0}, 512, 3, true)
	f.node(1, []int{1}, 512, 3, true)
	f.node(2, nil, 512, 3, true)                      // memory only (CXL, HBM): no CPU to pin to
	f.pciNIC("eth0", "pci0000:00/0000:00:03.0", "-1") // the kernel does not know
	f.pciNIC("eth1", "pci0000:00/0000:00:04.0", "")   // nothing says
	f.pciNIC("eth2", "pci0000:00/0000:00:05.0", "2")  // a node without CPUs
	f.pciNIC("eth3", "pci0000:00/0000:00:06.0", "7")  // a node that is not there
	f.pciNIC("eth4", "pci0000:00/0000:00:07.0", "x")  // garbage
	f.virtualNIC("dummy0")
	f.rxe("rxe0", "dummy0")
	f.rxe("rxe9", "../../etc")
	topo := discover(t, f)
	auto := placement(t, Policy{Mode: Auto}, topo)
	for _, ifname := range []string{"eth0", "eth1", "eth2", "eth3", "eth4", "dummy0"} {
		if n := auto.ForInterface(ifname); n != Unknown {
			t.Errorf("%s placed on %d (sysfs %d), want no placement", ifname, n, topo.Interfaces[ifname])
		}
	}
	for _, dev := range []string{"rxe0", "rxe9", "nosuch"} {
		if n := auto.ForRDMADevice(dev); n != Unknown {
			t.Errorf("%s placed on %d", dev, n)
		}
	}
	if nd := RDMANetdev(f.root, "rxe9"); nd != "" {
		t.Errorf("rxe9 parent accepted as %q", nd)
	}
	if _, err := NewPlacement(Policy{Mode: Fixed, Node: 2}, topo); err == nil {
		t.Error("numa = 2 accepted for a node without CPUs")
	}
	// Pinning to the unknown node is a no-op, not an error.
	if err := topo.PinThread(Unknown); err != nil {
		t.Error(err)
	}
}

// TestGhwFallback: a node ghw cannot read whole (no hugepages/) is still
// found, from cpulist.
func TestGhwFallback(t *testing.T) {
	f := newFakeSys(t)
	f.node(0, []int{0, 1}, 1024, 2, true)
	f.node(1, []int{2, 3, 5}, 1024, 2, false)
	f.wr("devices/system/node/node1/cpulist", "2-3,5\n")
	topo := discover(t, f)
	checkNodes(t, topo, map[int][]int{0: {0, 1}, 1: {2, 3, 5}})
	if n, _ := topo.Node(1); n.MemoryBytes != 1024<<20 {
		t.Errorf("node 1 memory %d", n.MemoryBytes)
	}
}

func TestNoNUMA(t *testing.T) {
	f := newFakeSys(t)
	f.pciNIC("eth0", "pci0000:00/0000:00:03.0", "0")
	topo := discover(t, f)
	if len(topo.Nodes) != 0 {
		t.Fatalf("nodes %+v", topo.Nodes)
	}
	if n := placement(t, Policy{Mode: Auto}, topo).ForInterface("eth0"); n != Unknown {
		t.Errorf("placed on %d without NUMA", n)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{
		"auto": {Mode: Auto}, "": {Mode: Auto}, "AUTO": {Mode: Auto}, "off": {Mode: Off}, "no": {Mode: Off},
		"0": {Mode: Fixed, Node: 0}, " 3 ": {Mode: Fixed, Node: 3},
	} {
		got, err := ParsePolicy(in)
		if err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if again, _ := ParsePolicy(got.String()); again != got {
			t.Errorf("%+v does not round-trip through %q", got, got.String())
		}
	}
	for _, bad := range []string{"-1", "node1", "1.5", "maybe"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"": nil, "0": {0}, "0-3": {0, 1, 2, 3}, "0-1,8,10-11\n": {0, 1, 8, 10, 11}, "3,1,2-3": {1, 2, 3},
	} {
		got, err := ParseCPUList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseCPUList(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1", "1,,2"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) accepted", bad)
		}
	}
}
