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
	if len(b) != 100<<10 || cap(b) != 128<<10+pageSize {
		t.Fatalf("len %d cap %d", len(b), cap(b))
	}
	small, err := p.Get(10)
	if err != nil || cap(small) != 64<<10+pageSize {
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
	if st.Idle != 128<<10+pageSize || st.InUse != 64<<10+pageSize || st.Buffers != 1 || st.Allocs != 2 {
		t.Fatalf("stats %+v", st)
	}
	if ms := p.Mappings(); len(ms) != 2 || ms[0].Len+ms[1].Len != 192<<10+2*pageSize || !slices.ContainsFunc(ms, func(a Allocation) bool { return a.Addr == addr && a.Len == 128<<10+pageSize }) {
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
	if _, err := p.Get(16<<20 + 1); err == nil { // inside the last class, but over MaxSize
		t.Fatal("Get over MaxSize succeeded")
	}
	if _, err := p.Get(0); err == nil {
		t.Fatal("Get(0) succeeded")
	}
	p.Put(b2)
	p.Put(small)
}

// TestPoolMessageClasses: the classes fit SMB messages. An 8 MiB WRITE
// (8 MiB of data, a 64-byte SMB2 header and a 48-byte WRITE request) costs
// 8 MiB and a page of mapped memory, not the 16 MiB of the next power of
// two; an 8 MiB READ response too, and a 1 MiB WRITE 1 MiB and a page.
func TestPoolMessageClasses(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{8<<20 + 64 + 48, 8<<20 + pageSize},       // WRITE of MaxWrite
		{8<<20 + 64 + 16, 8<<20 + pageSize},       // READ response of MaxRead
		{1<<20 + 112, 1<<20 + pageSize},           // a 1 MiB WRITE
		{8<<20 + pageSize, 8<<20 + pageSize},      // the class's last byte
		{8<<20 + pageSize + 1, 16<<20 + pageSize}, // beyond it: the next class
		{64 << 10, 64<<10 + pageSize},             // the staging buffer
		{1, 64<<10 + pageSize},                    // MinSize
	} {
		p := NewPool(Unknown, PoolConfig{MaxIdle: 64 << 20})
		before := AllocatedBytes()[Unknown]
		b, err := p.Get(tc.n)
		if err != nil {
			t.Fatalf("Get(%d): %v", tc.n, err)
		}
		if len(b) != tc.n || cap(b) != tc.want {
			t.Errorf("Get(%d): len %d cap %d, want cap %d", tc.n, len(b), cap(b), tc.want)
		}
		if got := AllocatedBytes()[Unknown] - before; got != int64(tc.want) {
			t.Errorf("Get(%d) mapped %d bytes, want %d", tc.n, got, tc.want)
		}
		if st := p.Stats(); st.InUse != tc.want {
			t.Errorf("Get(%d): InUse %d", tc.n, st.InUse)
		}
		b[0], b[len(b)-1] = 1, 2 // all of it ours
		p.Put(b)
		// Taken again from the idle list, not mapped anew.
		allocs := p.Stats().Allocs
		b2, _ := p.Get(tc.n)
		if Addr(b2) != Addr(b) || p.Stats().Allocs != allocs {
			t.Errorf("Get(%d) after Put: not reused", tc.n)
		}
		p.Put(b2)
		p.Close()
	}
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
	var unmapped []uintptr
	p := NewPool(Unknown, PoolConfig{MaxIdle: 3 << 19, // room for one 1 MiB buffer
		OnUnmap: func(b []byte) {
			if !mapped(Addr(b)) {
				t.Error("OnUnmap after the unmapping")
			}
			unmapped = append(unmapped, Addr(b))
		}})
	defer p.Close()
	a, _ := p.Get(1 << 20)
	b, _ := p.Get(1 << 20)
	aa, ba := Addr(a), Addr(b)
	p.Put(a)
	p.Put(b) // over MaxIdle: unmapped
	if !mapped(aa) || mapped(ba) {
		t.Fatalf("kept a %v, b %v; want a only", mapped(aa), mapped(ba))
	}
	if !slices.Equal(unmapped, []uintptr{ba}) {
		t.Fatalf("OnUnmap saw %#x, want b %#x", unmapped, ba)
	}
	p.Close()
	if !slices.Equal(unmapped, []uintptr{ba, aa}) {
		t.Fatalf("OnUnmap saw %#x after Close, want b %#x then a %#x", unmapped, ba, aa)
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
					found = a.Node == n.ID && a.Len == ClassSize(20)
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
