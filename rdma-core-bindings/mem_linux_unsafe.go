//go:build linux

package rdma

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"smb3d/numa"
)

// Buffer is memory mapped outside the Go heap, suitable for registration
// (PD.Register). The garbage collector never moves or frees it; Close unmaps
// it, after which Bytes must not be used.
type Buffer struct {
	full []byte // as returned by mmap (whole pages)
	mem  []byte // the size asked for
	node int
}

// buffers are the live Buffers by address, so PD.Register can refuse memory
// that is not from Alloc (Go heap memory must not be handed to the HCA).
var buffers struct {
	sync.Mutex
	byAddr map[uintptr]*Buffer
}

// Alloc maps size bytes (rounded up to whole pages) of anonymous memory,
// with every page faulted in. If node >= 0 the pages are bound to that NUMA
// node (numa.Alloc: mbind MPOL_BIND), so registered memory sits on the
// device's node; a kernel without NUMA support gets unbound memory. The
// memory is zeroed.
func Alloc(size int, node int) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("rdma: alloc %d bytes: size must be positive", size)
	}
	if node < 0 {
		node = numa.Unknown
	}
	mem, err := numa.Alloc(size, node)
	if errors.Is(err, errors.ErrUnsupported) {
		node = numa.Unknown // kernel without CONFIG_NUMA: one node anyway
		mem, err = numa.Alloc(size, node)
	}
	if err != nil {
		return nil, fmt.Errorf("rdma: %w", err)
	}
	full := mem[:cap(mem)]
	b := &Buffer{full: full, mem: mem[:size:size], node: node}
	buffers.Lock()
	if buffers.byAddr == nil {
		buffers.byAddr = make(map[uintptr]*Buffer)
	}
	buffers.byAddr[uintptr(unsafe.Pointer(&full[0]))] = b
	buffers.Unlock()
	track(kindBuffer)
	return b, nil
}

// Bytes returns the buffer's memory.
func (b *Buffer) Bytes() []byte { return b.mem }

// Len returns the buffer's size.
func (b *Buffer) Len() int { return len(b.mem) }

// Node returns the NUMA node the memory is bound to (-1 for none).
func (b *Buffer) Node() int { return b.node }

// Close unmaps the buffer. MRs over it must be closed first.
func (b *Buffer) Close() error {
	if b.mem == nil {
		return nil
	}
	full := b.full
	buffers.Lock()
	delete(buffers.byAddr, uintptr(unsafe.Pointer(&full[0])))
	buffers.Unlock()
	b.mem, b.full = nil, nil
	untrack(kindBuffer)
	return numa.Free(full)
}

// inBuffer reports whether mem lies entirely inside one live Buffer.
func inBuffer(mem []byte) bool {
	if len(mem) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(&mem[0]))
	buffers.Lock()
	defer buffers.Unlock()
	for base, b := range buffers.byAddr {
		if p >= base && p+uintptr(len(mem)) <= base+uintptr(len(b.mem)) {
			return true
		}
	}
	return false
}
