package numa

import (
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func mapped(addr uintptr) bool {
	for _, a := range Allocations() {
		if a.Addr == addr {
			return true
		}
	}
	return false
}

func TestPoolReuse(t *testing.T) {
	p := NewPool(Unknown, PoolConfig{})
	defer p.Close()
	b, err := p.Get(100 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 100<<10 || cap(b) != 128<<10 {
		t.Fatalf("len %d cap %d", len(b), cap(b))
	}
	small, err := p.Get(10)
	if err != nil || cap(small) != 64<<10 {
		t.Fatalf("small: cap %d, %v", cap(small), err)
	}
	addr := Addr(b)
	if !p.Owns(b) || !p.Owns(b[52:]) {
		t.Fatal("Owns: false for a buffer handed out")
	}
	// A reslice with the same end (an in-place decryption's plaintext)
	// gives the whole buffer back.
	if !p.Put(b[52:60]) {
		t.Fatal("Put of a reslice refused")
	}
	if p.Put(b) {
		t.Fatal("second Put accepted")
	}
	if p.Put(make([]byte, 128<<10)) {
		t.Fatal("Put of heap memory accepted")
	}
	if p.Put(nil) {
		t.Fatal("Put(nil) accepted")
	}
	st := p.Stats()
	if st.Idle != 128<<10 || st.InUse != 64<<10 || st.Buffers != 1 || st.Allocs != 2 {
		t.Fatalf("stats %+v", st)
	}
	if ms := p.Mappings(); len(ms) != 2 || ms[0].Len+ms[1].Len != 192<<10 || !slices.ContainsFunc(ms, func(a Allocation) bool { return a.Addr == addr && a.Len == 128<<10 }) {
		t.Fatalf("Mappings %+v", ms)
	}
	b2, err := p.Get(128 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if Addr(b2) != addr {
		t.Fatalf("not reused: %#x, was %#x", Addr(b2), addr)
	}
	if p.Stats().Allocs != 2 {
		t.Fatal("a reuse mapped memory")
	}
	if _, err := p.Get(16<<20 + 1); err == nil {
		t.Fatal("Get over MaxSize succeeded")
	}
	if _, err := p.Get(0); err == nil {
		t.Fatal("Get(0) succeeded")
	}
	p.Put(b2)
	p.Put(small)
}

// TestPoolCloseOutstanding: Close unmaps idle buffers at once; one still
// handed out stays mapped and usable until it is given back, then goes.
func TestPoolCloseOutstanding(t *testing.T) {
	p := NewPool(Unknown, PoolConfig{})
	held, _ := p.Get(1 << 20)
	idle, _ := p.Get(1 << 20)
	ia, ha := Addr(idle), Addr(held)
	p.Put(idle)
	if !mapped(ia) || !mapped(ha) {
		t.Fatal("buffers not tracked")
	}
	p.Close()
	p.Close()
	if mapped(ia) {
		t.Fatal("idle buffer still mapped after Close")
	}
	if !mapped(ha) {
		t.Fatal("a buffer in use was unmapped by Close")
	}
	for i := range held {
		held[i] = byte(i) // still ours: no fault
	}
	if _, err := p.Get(10); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	if st := p.Stats(); !st.Closed || st.Buffers != 1 || st.Idle != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !p.Put(held) {
		t.Fatal("Put after Close refused")
	}
	if mapped(ha) {
		t.Fatal("buffer given back after Close still mapped")
	}
}

func TestPoolMaxIdle(t *testing.T) {
	p := NewPool(Unknown, PoolConfig{MaxIdle: 1 << 20})
	defer p.Close()
	a, _ := p.Get(1 << 20)
	b, _ := p.Get(1 << 20)
	aa, ba := Addr(a), Addr(b)
	p.Put(a)
	p.Put(b) // over MaxIdle: unmapped
	if !mapped(aa) || mapped(ba) {
		t.Fatalf("kept a %v, b %v; want a only", mapped(aa), mapped(ba))
	}
}

// TestPoolLive: on every node of this machine, the pool's buffers are bound
// to it and every page is there, a reused buffer too.
func TestPoolLive(t *testing.T) {
	topo := liveTopology(t)
	for _, n := range topo.Nodes {
		if n.MemoryBytes == 0 {
			continue
		}
		p := NewPool(n.ID, PoolConfig{})
		for round := range 2 {
			b, err := p.Get(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			mode, nodes, err := MemPolicy(b)
			if err != nil || mode != unix.MPOL_BIND || !slices.Equal(nodes, []int{n.ID}) {
				t.Errorf("node %d round %d: %s %v %v", n.ID, round, ModeName(mode), nodes, err)
			}
			where, err := PageNodes(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range where {
				if w != n.ID {
					t.Fatalf("node %d: page %d on %d", n.ID, i, w)
				}
			}
			found := false
			for _, a := range Allocations() {
				if a.Addr == Addr(b) {
					found = a.Node == n.ID && a.Len == 1<<20
				}
			}
			if !found {
				t.Errorf("node %d: buffer not in Allocations as bound to it", n.ID)
			}
			if AllocatedBytes()[n.ID] < 1<<20 {
				t.Errorf("AllocatedBytes %v", AllocatedBytes())
			}
			at, err := PageNodesAt(Addr(b), len(b))
			if err != nil || !slices.Equal(at, where) {
				t.Errorf("PageNodesAt %v, %v", at, err)
			}
			p.Put(b)
		}
		p.Close()
	}
}

// TestPoolConcurrent: takers on one goroutine, givers on others (the ring
// thread and the server's request goroutines); run with -race.
func TestPoolConcurrent(t *testing.T) {
	p := NewPool(Unknown, PoolConfig{MaxIdle: 4 << 20})
	ch := make(chan []byte, 16)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				b[0], b[len(b)-1] = 1, 2
				if !p.Put(b) {
					t.Error("Put refused")
				}
			}
		}()
	}
	for i := range 400 {
		b, err := p.Get(64<<10 + i*1000)
		if err != nil {
			t.Fatal(err)
		}
		ch <- b
	}
	close(ch)
	wg.Wait()
	if st := p.Stats(); st.Buffers != 0 || st.InUse != 0 {
		t.Fatalf("stats %+v", st)
	}
	p.Close()
	if p.Stats().Idle != 0 {
		t.Fatal("idle after Close")
	}
}
