//go:build linux

package rdma

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
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

// Alloc maps size bytes (rounded up to whole pages) of anonymous memory.
// If node >= 0 the pages are bound (MPOL_PREFERRED) to that NUMA node; a
// kernel without NUMA support ignores the request. The memory is zeroed.
func Alloc(size int, node int) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("rdma: alloc %d bytes: size must be positive", size)
	}
	page := os.Getpagesize()
	n := (size + page - 1) &^ (page - 1)
	mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	if node >= 0 {
		if err := mbindPreferred(mem, node); err != nil {
			unix.Munmap(mem)
			return nil, err
		}
	}
	b := &Buffer{full: mem, mem: mem[:size:size], node: node}
	buffers.Lock()
	if buffers.byAddr == nil {
		buffers.byAddr = make(map[uintptr]*Buffer)
	}
	buffers.byAddr[uintptr(unsafe.Pointer(&mem[0]))] = b
	buffers.Unlock()
	track(kindBuffer)
	return b, nil
}

// mbindPreferred is the NUMA hook: mbind(MPOL_PREFERRED) to node.
func mbindPreferred(mem []byte, node int) error {
	const mpolPreferred = 1
	if node >= 64 {
		return fmt.Errorf("rdma: NUMA node %d out of range", node)
	}
	mask := uint64(1) << node
	_, _, errno := unix.Syscall6(unix.SYS_MBIND, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		mpolPreferred, uintptr(unsafe.Pointer(&mask)), 64, 0)
	if errno == unix.ENOSYS {
		return nil // kernel without CONFIG_NUMA: one node anyway
	}
	if errno != 0 {
		return os.NewSyscallError("mbind", errno)
	}
	return nil
}

// Bytes returns the buffer's memory.
func (b *Buffer) Bytes() []byte { return b.mem }

// Len returns the buffer's size.
func (b *Buffer) Len() int { return len(b.mem) }

// Node returns the NUMA node asked for in Alloc (-1 for none).
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
	return os.NewSyscallError("munmap", unix.Munmap(full))
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
