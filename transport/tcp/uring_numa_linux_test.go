//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/numa"
)

// placedListener is an io_uring listener that places every connection on
// one node of this machine (numa = N), so the node-bound buffers are used
// even on a one-node machine.
func placedListener(t *testing.T) (*URingListener, int) {
	t.Helper()
	topo, err := numa.System()
	if err != nil || len(topo.Nodes) == 0 {
		t.Skipf("no NUMA topology: %v", err)
	}
	node := -1
	for _, n := range topo.Nodes {
		if len(n.CPUs) > 0 && n.MemoryBytes > 0 {
			node = n.ID
			break
		}
	}
	if node < 0 {
		t.Skip("no node with CPUs and memory")
	}
	pl, err := numa.NewPlacement(numa.Policy{Mode: numa.Fixed, Node: node}, topo)
	if err != nil {
		t.Fatal(err)
	}
	return uringListener(t, URingConfig{Placement: pl}), node
}

// onNode checks that b is bound to node and every page of it is there.
func onNode(t *testing.T, what string, b []byte, node int) {
	t.Helper()
	mode, nodes, err := numa.MemPolicy(b)
	if err != nil || mode != unix.MPOL_BIND || !slices.Equal(nodes, []int{node}) {
		t.Errorf("%s: get_mempolicy %s %v %v, want bind [%d]", what, numa.ModeName(mode), nodes, err, node)
	}
	where, err := numa.PageNodes(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range where {
		if w != node {
			t.Fatalf("%s: page %d on node %d, want %d", what, i, w, node)
		}
	}
}

func allocated(addr uintptr) (numa.Allocation, bool) {
	for _, a := range numa.Allocations() {
		if addr >= a.Addr && addr < a.Addr+uintptr(a.Len) {
			return a, true
		}
	}
	return numa.Allocation{}, false
}

// TestURingPlacedBuffers: a placed connection's staging buffer and its
// large messages come from its ring's node pool (bound, every page on the
// node), a released message is reused, small messages stay on the heap;
// when the ring ends its pool goes, except a message the server still
// holds, which stays mapped (and readable) until it is released.
func TestURingPlacedBuffers(t *testing.T) {
	l, node := placedListener(t)
	cc, sc := dialPair(t, l)
	uc := sc.(*URingConn)
	if uc.NUMANode() != node || uc.bufs == nil || uc.bufs.Node() != node {
		t.Fatalf("connection on node %d (pool %v), want %d", uc.NUMANode(), uc.bufs, node)
	}
	r := rand.New(rand.NewPCG(9, 9))
	big := randBytes(r, 1<<20)
	cc.Write(frame([]byte("ping")))
	cc.Write(frame(big))
	m, err := sc.ReadMessage()
	if err != nil || string(m) != "ping" {
		t.Fatalf("%q %v", m, err)
	}
	if uc.bufs.Owns(m) {
		t.Error("a small message came from the node pool")
	}
	sc.(interface{ Release([]byte) }).Release(m)
	m1, err := sc.ReadMessage()
	if err != nil || !bytes.Equal(m1, big) {
		t.Fatalf("1 MiB message: %d bytes, %v", len(m1), err)
	}
	if !uc.bufs.Owns(m1) {
		t.Fatal("a 1 MiB message did not come from the node pool")
	}
	onNode(t, "message", m1, node)
	// The staging buffer: the pool's one 64 KiB (and a page) mapping.
	var stage []numa.Allocation
	for _, a := range numa.Allocations() {
		if a.Len == numa.ClassSize(16) && a.Node == node {
			stage = append(stage, a)
		}
	}
	if len(stage) == 0 {
		t.Fatal("no 64 KiB staging buffer bound to the node")
	}
	if nodes, err := numa.PageNodesAt(stage[0].Addr, stage[0].Len); err != nil || slices.ContainsFunc(nodes, func(n int) bool { return n != node }) {
		t.Errorf("staging buffer pages %v %v", nodes, err)
	}
	if e, err := numa.NumaMaps(stage[0].Addr); err != nil || e.Policy != "bind:"+strconv.Itoa(node) {
		t.Errorf("staging buffer numa_maps %q %v", e.Line, err)
	}
	nm := uc.NodeMemory()
	if !slices.ContainsFunc(nm, func(a numa.Allocation) bool { return a.Addr == stage[0].Addr && a.Node == node }) ||
		!slices.ContainsFunc(nm, func(a numa.Allocation) bool { return a.Addr == numa.Addr(m1) && a.Len == numa.ClassSize(20) }) {
		t.Errorf("NodeMemory %+v lacks the staging buffer or the message", nm)
	}
	addr := numa.Addr(m1)
	uc.Release(m1[52:]) // an in-place decryption's plaintext: same end
	if uc.bufs.Owns(m1) {
		t.Fatal("released message still handed out")
	}
	cc.Write(frame(big))
	m2, err := sc.ReadMessage()
	if err != nil || !bytes.Equal(m2, big) {
		t.Fatalf("second message: %v", err)
	}
	if numa.Addr(m2) != addr {
		t.Errorf("released buffer not reused (%#x, was %#x)", numa.Addr(m2), addr)
	}
	// Messages queued and never read go back to the pool on Close.
	for range 3 {
		cc.Write(frame(big[:200<<10]))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		uc.rmu.Lock()
		n := len(uc.rq)
		uc.rmu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages queued, want 3", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pool := uc.bufs
	cc.Close()
	sc.Close()
	for !pool.Stats().Closed {
		if time.Now().After(deadline) {
			t.Fatal("the ring's pool was not closed after its last connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := pool.Stats()
	if st.Buffers != 1 || st.InUse != numa.ClassSize(20) || st.Idle != 0 {
		t.Errorf("after close: %+v, want only the held message", st)
	}
	if _, ok := allocated(stage[0].Addr); ok {
		t.Error("staging buffer still mapped after the ring ended")
	}
	// The held message is still ours to read.
	if a, ok := allocated(numa.Addr(m2)); !ok || a.Node != node || !bytes.Equal(m2, big) {
		t.Fatal("a message the server holds was unmapped (or changed) when the ring ended")
	}
	uc.Release(m2)
	if _, ok := allocated(numa.Addr(m2)); ok {
		t.Error("message released after the ring ended is still mapped")
	}
	if st := pool.Stats(); st.Buffers != 0 || st.InUse != 0 {
		t.Errorf("pool %+v", st)
	}
}

// TestURingUnplacedBuffersOnHeap: without placement and without registered
// receive buffers (NoFixedRecv) nothing is mapped.
func TestURingUnplacedBuffersOnHeap(t *testing.T) {
	l := uringListener(t, URingConfig{NoFixedRecv: true})
	cc, sc := dialPair(t, l)
	if uc := sc.(*URingConn); uc.bufs != nil || uc.NUMANode() != numa.Unknown {
		t.Fatalf("unplaced connection has a pool (node %d)", uc.NUMANode())
	}
	before := len(numa.Allocations())
	cc.Write(frame(make([]byte, 1<<20)))
	m, err := sc.ReadMessage()
	if err != nil || len(m) != 1<<20 {
		t.Fatal(err)
	}
	if _, ok := allocated(numa.Addr(m)); ok || len(numa.Allocations()) != before {
		t.Error("an unplaced connection mapped memory")
	}
	sc.(*URingConn).Release(m)
}

// TestNetpollPlacedBuffers: the netpoller cannot pin its reading thread,
// but a placed connection's large messages still come from its node's
// shared pool (bound, every page there) and go back on Release; small ones
// stay on the heap.
func TestNetpollPlacedBuffers(t *testing.T) {
	topo, err := numa.System()
	if err != nil || len(topo.Nodes) == 0 {
		t.Skipf("no NUMA topology: %v", err)
	}
	node := topo.Nodes[0].ID
	pl, err := numa.NewPlacement(numa.Policy{Mode: numa.Fixed, Node: node}, topo)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.SetPlacement(pl)
	t.Cleanup(func() { ln.Close() })
	cc, sc := dialPair(t, ln)
	c := sc.(*Conn)
	if c.NUMANode() != node {
		t.Fatalf("netpoll connection on node %d, want %d", c.NUMANode(), node)
	}
	big := make([]byte, 1<<20)
	big[7] = 7
	cc.Write(frame([]byte("small")))
	cc.Write(frame(big))
	m, err := c.ReadMessage()
	if err != nil || string(m) != "small" || c.bufs.Owns(m) {
		t.Fatalf("small message %q %v (from the pool: %v)", m, err, c.bufs.Owns(m))
	}
	m, err = c.ReadMessage()
	if err != nil || !bytes.Equal(m, big) {
		t.Fatal(err)
	}
	if !c.bufs.Owns(m) {
		t.Fatal("large message not from the node pool")
	}
	onNode(t, "netpoll message", m, node)
	if nm := c.NodeMemory(); !slices.ContainsFunc(nm, func(a numa.Allocation) bool { return a.Addr == numa.Addr(m) }) {
		t.Errorf("NodeMemory %+v lacks the message", nm)
	}
	c.Release(m)
	if c.bufs.Owns(m) {
		t.Error("released message still handed out")
	}
	// Unplaced listener: heap, node -1.
	ln2, _ := Listen("127.0.0.1:0")
	t.Cleanup(func() { ln2.Close() })
	_, sc2 := dialPair(t, ln2)
	if n := sc2.(*Conn).NUMANode(); n != numa.Unknown {
		t.Errorf("unplaced netpoll connection on node %d", n)
	}
}
