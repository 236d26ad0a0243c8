package uring

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"smb3d/numa"
)

// nodeMem binds to a node through the numa package, counting calls.
type nodeMem struct {
	node          int
	allocs, frees int
}

func (m *nodeMem) Alloc(n int) ([]byte, error) { m.allocs++; return numa.Alloc(n, m.node) }
func (m *nodeMem) Free(b []byte) error         { m.frees++; return numa.Free(b) }

// TestBufRingOnNode: a provided-buffer ring and a registered buffer take
// their memory from Config.Mem (here bound to node 0), and give it back.
func TestBufRingOnNode(t *testing.T) {
	requireKernel(t, "IORING_REGISTER_PBUF_RING", "5.19")
	if b, err := numa.Alloc(4096, 0); err != nil {
		t.Skipf("no node-bound memory here: %v", err)
	} else {
		numa.Free(b)
	}
	mem := &nodeMem{node: 0}
	r := newRing(t, Config{Entries: 8, Mem: mem})
	br, err := r.NewBufRing(5, 4, 8192)
	if err != nil {
		t.Fatal(err)
	}
	if mem.allocs != 1 {
		t.Fatalf("%d allocations for the buffer ring, want 1", mem.allocs)
	}
	b := br.Buf(3)
	mode, nodes, err := numa.MemPolicy(b)
	if err != nil || mode != unix.MPOL_BIND || !slices.Equal(nodes, []int{0}) {
		t.Errorf("buffer 3: %s %v %v", numa.ModeName(mode), nodes, err)
	}
	fixed, err := r.AllocBuffer(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterBuffers([][]byte{fixed}); err != nil {
		t.Fatal(err)
	}
	if mode, _, _ := numa.MemPolicy(fixed); mode != unix.MPOL_BIND {
		t.Errorf("registered buffer: %s", numa.ModeName(mode))
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.UnregisterBuffers(); err != nil {
		t.Fatal(err)
	}
	if err := r.FreeBuffer(fixed); err != nil {
		t.Fatal(err)
	}
	if mem.frees != 2 {
		t.Errorf("%d frees, want 2", mem.frees)
	}
}
