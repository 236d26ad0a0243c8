package numa

import (
	"fmt"
	"math/bits"
	"os"
	"slices"
	"sync"
)

// Allocation is one live mapping from Alloc: where it is, how large (whole
// pages), and the node it is bound to (Unknown: the default policy).
type Allocation struct {
	Addr uintptr
	Len  int
	Node int
}

// allocs are the live mappings from Alloc, by address, so metrics can count
// node-bound memory and tests can check where each mapping's pages are.
var allocs struct {
	sync.Mutex
	m     map[uintptr]Allocation
	bytes map[int]int64 // node -> bytes mapped
}

func track(addr uintptr, n, node int) {
	allocs.Lock()
	if allocs.m == nil {
		allocs.m = make(map[uintptr]Allocation)
		allocs.bytes = make(map[int]int64)
	}
	allocs.m[addr] = Allocation{Addr: addr, Len: n, Node: node}
	allocs.bytes[node] += int64(n)
	allocs.Unlock()
}

func untrack(addr uintptr) {
	allocs.Lock()
	if a, ok := allocs.m[addr]; ok {
		delete(allocs.m, addr)
		allocs.bytes[a.Node] -= int64(a.Len)
	}
	allocs.Unlock()
}

// Allocations lists the live mappings from Alloc, by address.
func Allocations() []Allocation {
	allocs.Lock()
	out := make([]Allocation, 0, len(allocs.m))
	for _, a := range allocs.m {
		out = append(out, a)
	}
	allocs.Unlock()
	slices.SortFunc(out, func(a, b Allocation) int { return cmpAddr(a.Addr, b.Addr) })
	return out
}

// AllocatedBytes is the memory mapped by Alloc and not yet freed, by node
// (Unknown for mappings under the default policy); nodes with none are left
// out.
func AllocatedBytes() map[int]int64 {
	allocs.Lock()
	defer allocs.Unlock()
	out := make(map[int]int64, len(allocs.bytes))
	for n, b := range allocs.bytes {
		if b != 0 {
			out[n] = b
		}
	}
	return out
}

// PoolConfig shapes a Pool. Zero fields take the defaults.
type PoolConfig struct {
	// MinSize and MaxSize bound the buffers: a request is rounded up to a
	// size class of at least MinSize (64 KiB); more than MaxSize (16 MiB)
	// is refused. The classes are a power of two plus one page (ClassSize),
	// so an SMB message of 2^k payload bytes and its headers (an 8 MiB
	// WRITE is 8 MiB + 112 bytes) costs 2^k + a page, not 2^(k+1).
	MinSize, MaxSize int
	// MaxIdle bounds the bytes kept for reuse; a buffer given back beyond
	// it is unmapped (32 MiB).
	MaxIdle int
	// OnUnmap, when set, is called with each buffer (whole, from its first
	// byte) just before the pool unmaps it, from the goroutine that gave
	// it back or closed the pool: an io_uring that registered the buffer
	// forgets it, so that a later mapping at the same address is not taken
	// for it.
	OnUnmap func(b []byte)
}

// Pool hands out buffers bound to one node (Alloc, mmap + mbind MPOL_BIND),
// by size class (ClassSize), and takes them back for reuse. It is safe for
// concurrent use: a transport's ring thread takes buffers, and the server
// gives them back (transport.Releaser) from any goroutine.
//
// Ownership: a buffer from Get belongs to its holder until Put; the pool
// never unmaps a buffer it has handed out. Close unmaps the idle buffers at
// once and each outstanding one when it comes back, so memory a request
// still reads is never unmapped under it. A buffer that is never given back
// stays mapped (Stats counts it).
type Pool struct {
	node             int
	minClass, maxCls int
	maxSize          int
	maxIdle          int
	onUnmap          func([]byte)

	mu     sync.Mutex
	idle   [][][]byte      // by class - minClass: buffers at full capacity
	out    map[uintptr]int // end address of each buffer handed out -> class
	idleB  int
	outB   int
	allocs uint64
	closed bool
}

// PoolStats describes a pool.
type PoolStats struct {
	Node        int
	InUse, Idle int    // bytes handed out, bytes kept for reuse
	Buffers     int    // buffers handed out
	Allocs      uint64 // mappings made (misses)
	Closed      bool
}

// NewPool makes an empty pool of buffers on node (Unknown: memory under the
// default policy, still outside the Go heap).
func NewPool(node int, cfg PoolConfig) *Pool {
	if cfg.MinSize <= 0 {
		cfg.MinSize = 64 << 10
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 16 << 20
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = 32 << 20
	}
	minC, maxC := classOf(cfg.MinSize), classOf(cfg.MaxSize)
	if maxC < minC {
		maxC = minC
	}
	return &Pool{node: node, minClass: minC, maxCls: maxC, maxSize: cfg.MaxSize, maxIdle: cfg.MaxIdle, onUnmap: cfg.OnUnmap,
		idle: make([][][]byte, maxC-minC+1), out: make(map[uintptr]int)}
}

// pageSize is the slack above each class's power of two.
var pageSize = os.Getpagesize()

// ClassSize is the capacity of the buffers of size class c: 2^c plus one
// page, so that a message whose payload is a power of two (an SMB READ or
// WRITE of MaxRead/MaxWrite bytes) fits with its headers.
func ClassSize(c int) int { return 1<<c + pageSize }

// classOf is the smallest class c with ClassSize(c) >= n.
func classOf(n int) int {
	n -= pageSize
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// Node is the node the pool's buffers are bound to.
func (p *Pool) Node() int { return p.node }

// MaxSize is the largest length Get hands out.
func (p *Pool) MaxSize() int { return p.maxSize }

// Get returns a buffer of length n (capacity ClassSize of its class) on the
// pool's node. Its contents are whatever the last holder left. Give it back with
// Put, or any reslice of it that keeps its end (b[k:], b[:m]).
func (p *Pool) Get(n int) ([]byte, error) {
	c := max(classOf(n), p.minClass)
	if n <= 0 || n > p.maxSize {
		return nil, fmt.Errorf("numa: pool: %d bytes: size out of range (1..%d)", n, p.maxSize)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("numa: pool on node %d: closed", p.node)
	}
	if l := p.idle[c-p.minClass]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.idle[c-p.minClass] = l[:len(l)-1]
		p.idleB -= len(b)
		p.out[end(b)] = c
		p.outB += len(b)
		p.mu.Unlock()
		return b[:n], nil
	}
	p.allocs++
	p.mu.Unlock()
	// Map outside the lock: faulting in a large buffer takes a while.
	b, err := Alloc(ClassSize(c), p.node)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		Free(b)
		return nil, fmt.Errorf("numa: pool on node %d: closed", p.node)
	}
	p.out[end(b)] = c
	p.outB += len(b)
	p.mu.Unlock()
	return b[:n], nil
}

// Put gives back a buffer from Get (or a reslice with the same end). It
// reports false, and does nothing, for memory the pool did not hand out or
// has already taken back: Go heap buffers can be passed safely.
func (p *Pool) Put(b []byte) bool {
	e := end(b)
	if e == 0 {
		return false
	}
	p.mu.Lock()
	c, ok := p.out[e]
	if !ok {
		p.mu.Unlock()
		return false
	}
	delete(p.out, e)
	size := ClassSize(c)
	p.outB -= size
	full := b[:cap(b)]
	full = sliceBack(full, size-len(full)) // b may start inside the buffer
	if p.closed || p.idleB+size > p.maxIdle {
		p.mu.Unlock()
		p.unmap(full)
		return true
	}
	p.idle[c-p.minClass] = append(p.idle[c-p.minClass], full)
	p.idleB += size
	p.mu.Unlock()
	return true
}

// Owns reports whether b (or a reslice with its end) is a buffer the pool
// has handed out and not taken back.
func (p *Pool) Owns(b []byte) bool {
	e := end(b)
	p.mu.Lock()
	_, ok := p.out[e]
	p.mu.Unlock()
	return e != 0 && ok
}

// Close unmaps the idle buffers; a buffer still handed out is unmapped when
// it is given back. Get fails afterwards. Close is idempotent.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = make([][][]byte, len(idle))
	p.idleB = 0
	p.mu.Unlock()
	for _, l := range idle {
		for _, b := range l {
			p.unmap(b)
		}
	}
}

// unmap frees a buffer the pool handed out at least once.
func (p *Pool) unmap(b []byte) {
	if p.onUnmap != nil {
		p.onUnmap(b)
	}
	Free(b)
}

// Mappings lists the pool's buffers, handed out and idle, by address, each
// bound to the pool's node (for checks of where their pages are).
func (p *Pool) Mappings() []Allocation {
	p.mu.Lock()
	var out []Allocation
	for e, c := range p.out {
		out = append(out, Allocation{Addr: e - uintptr(ClassSize(c)), Len: ClassSize(c), Node: p.node})
	}
	for _, l := range p.idle {
		for _, b := range l {
			out = append(out, Allocation{Addr: Addr(b), Len: len(b), Node: p.node})
		}
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b Allocation) int { return cmpAddr(a.Addr, b.Addr) })
	return out
}

func cmpAddr(a, b uintptr) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Stats returns a snapshot.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Node: p.node, InUse: p.outB, Idle: p.idleB, Buffers: len(p.out), Allocs: p.allocs, Closed: p.closed}
}
