package smbdirect

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/numa"
	"smb3d/rdma-core-bindings"
	"smb3d/rdma-core-bindings/rdmafake"
)

// fakeTwoNodes is a topology with node 0 on the first CPU this process may
// use and node 1 on the second, and an RDMA device on each plus one whose
// node is unknown (as rxe devices over the NICs of the two-node guest).
func fakeTwoNodes(t *testing.T) *numa.Topology {
	cpus, err := numa.ThreadCPUs()
	if err != nil || len(cpus) < 2 {
		t.Skipf("needs two CPUs (have %v, %v)", cpus, err)
	}
	return &numa.Topology{
		Nodes: []numa.Node{{ID: 0, CPUs: cpus[:1], MemoryBytes: 1 << 30}, {ID: 1, CPUs: cpus[1:2], MemoryBytes: 1 << 30}},
		RDMA:  []numa.RDMADevice{{Name: "rxe0", Netdev: "eth0", Node: 0}, {Name: "rxe1", Netdev: "eth1", Node: 1}, {Name: "rxeu", Netdev: "eth2", Node: numa.Unknown}},
	}
}

// TestDevicePlacement: the node a listener binds a device's memory to and
// places its connections on, under each policy.
func TestDevicePlacement(t *testing.T) {
	topo := fakeTwoNodes(t)
	for _, c := range []struct {
		policy string
		want   map[string]int
	}{
		{"auto", map[string]int{"rxe0": 0, "rxe1": 1, "rxeu": numa.Unknown}},
		{"1", map[string]int{"rxe0": 1, "rxe1": 1, "rxeu": 1}},
		{"off", map[string]int{"rxe0": numa.Unknown, "rxe1": numa.Unknown, "rxeu": numa.Unknown}},
	} {
		p, err := numa.ParsePolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := numa.NewPlacement(p, topo)
		if err != nil {
			t.Fatal(err)
		}
		for dev, want := range c.want {
			if got := (Options{Placement: pl}).Placement.ForRDMADevice(dev); got != want {
				t.Errorf("numa = %s: %s on node %d, want %d", c.policy, dev, got, want)
			}
		}
	}
	// No placement configured: nothing placed.
	if got := (Options{}).Placement.ForRDMADevice("rxe1"); got != numa.Unknown {
		t.Errorf("nil placement: node %d", got)
	}
	// One node: auto places nothing.
	one := &numa.Topology{Nodes: topo.Nodes[:1], RDMA: topo.RDMA[:1]}
	pl, _ := numa.NewPlacement(numa.Policy{}, one)
	if got := pl.ForRDMADevice("rxe0"); got != numa.Unknown {
		t.Errorf("one node, auto: node %d", got)
	}
}

// TestCompletionLoopPinned: a placed connection handles its completions on
// a thread pinned to its node's CPUs (node 1 of the fake topology: the
// second CPU), reports the node, and still moves messages; an unplaced one
// pins nothing.
func TestCompletionLoopPinned(t *testing.T) {
	topo := fakeTwoNodes(t)
	pl, err := numa.NewPlacement(numa.Policy{}, topo)
	if err != nil {
		t.Fatal(err)
	}
	node := pl.ForRDMADevice("rxe1")
	a, b := rdmafake.Pair(rdmafake.Config{})
	sopts := testOpts()
	sopts.Placement = pl
	sr := resources(a, sopts)
	sr.Placed, sr.Node = true, node
	srv, err := newConn(sr, sopts, true)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := newConn(resources(b, testOpts()), testOpts(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	errc := make(chan error, 1)
	go func() { errc <- srv.serverNegotiate() }()
	if err := cli.clientNegotiate(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if srv.NUMANode() != 1 || cli.NUMANode() != numa.Unknown {
		t.Fatalf("nodes: server %d, client %d; want 1, -1", srv.NUMANode(), cli.NUMANode())
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.loopTID.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	tid := srv.CompletionThread()
	if tid == 0 {
		t.Fatal("completion loop not pinned")
	}
	if cli.loopTID.Load() != 0 {
		t.Error("unplaced connection pinned its completion loop")
	}
	tp, err := numa.TaskStatus(tid)
	if err != nil {
		t.Fatal(err)
	}
	n1, _ := topo.Node(1)
	if !slices.Equal(tp.CPUs, n1.CPUs) {
		t.Errorf("completion thread %d: Cpus_allowed_list %v, want node 1's %v", tid, tp.CPUs, n1.CPUs)
	}
	t.Logf("completion thread %d on CPUs %v (node 1)", tid, tp.CPUs)
	if nm := srv.NodeMemory(); len(nm) != 3 || nm[0].Node != 1 || nm[0].Len != len(sr.Recv.Bytes()) {
		t.Errorf("placed connection's NodeMemory %+v, want receive, send and pool on node 1", nm)
	}
	if nm := cli.NodeMemory(); nm != nil {
		t.Errorf("unplaced connection's NodeMemory %+v", nm)
	}
	// Messages still flow both ways through the pinned loop.
	for i := range 20 {
		if err := cli.WriteMessage(bytes1(i, 3000)); err != nil {
			t.Fatal(err)
		}
		if m := readTimeout(t, srv); len(m) != 3000 || m[0] != byte(i) {
			t.Fatalf("message %d: %d bytes", i, len(m))
		}
		if err := srv.WriteMessage(bytes1(i, 5000)); err != nil {
			t.Fatal(err)
		}
		if m := readTimeout(t, cli); len(m) != 5000 {
			t.Fatalf("reply %d: %d bytes", i, len(m))
		}
	}
}

func bytes1(v, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(v)
	}
	return b
}

// TestRegisteredMemoryOnNode: rdma.Alloc with a node (what a listener asks
// for a placed device's RDMA buffer pool and each connection's receive and
// send buffers) binds every page to it.
func TestRegisteredMemoryOnNode(t *testing.T) {
	topo, err := numa.System()
	if err != nil || len(topo.Nodes) == 0 {
		t.Skipf("no NUMA topology: %v", err)
	}
	node := topo.Nodes[0].ID
	buf, err := rdma.Alloc(1<<20, node)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	mode, nodes, err := numa.MemPolicy(buf.Bytes())
	if err != nil || mode != unix.MPOL_BIND || !slices.Equal(nodes, []int{node}) || buf.Node() != node {
		t.Fatalf("get_mempolicy %s %v %v; Node() %d", numa.ModeName(mode), nodes, err, buf.Node())
	}
	where, _ := numa.PageNodes(buf.Bytes())
	for i, w := range where {
		if w != node {
			t.Fatalf("page %d on node %d", i, w)
		}
	}
	un, err := rdma.Alloc(4096, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer un.Close()
	if mode, _, _ := numa.MemPolicy(un.Bytes()); mode != unix.MPOL_DEFAULT || un.Node() != numa.Unknown {
		t.Errorf("unplaced: %s, Node() %d", numa.ModeName(mode), un.Node())
	}
}
