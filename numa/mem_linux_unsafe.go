//go:build linux

package numa

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxNodes bounds the node masks passed to the kernel (MAX_NUMNODES is
// 1024 in distribution kernels).
const maxNodes = 1024

type nodeMask [maxNodes / 64]uint64

// Alloc maps size bytes of anonymous memory outside the Go heap, bound with
// mbind(MPOL_BIND) to node, and faults every page in so the pages are
// placed now (a later fault could not go elsewhere either: MPOL_BIND).
// node == Unknown maps memory under the default policy (local to the thread
// that touches it), not faulted in: pages a buffer never uses (an idle
// connection's staging buffer) cost no memory. The slice has length size
// and a capacity of whole pages; give it (or any reslice of it with the
// same end) back to Free.
func Alloc(size, node int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("numa: alloc %d bytes: size must be positive", size)
	}
	if node < Unknown || node >= maxNodes {
		return nil, fmt.Errorf("numa: alloc: bad node %d", node)
	}
	page := os.Getpagesize()
	n := (size + page - 1) &^ (page - 1)
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	if node != Unknown {
		var mask nodeMask
		mask[node/64] |= 1 << (node % 64)
		if err := mbind(b, unix.MPOL_BIND, &mask, 0); err != nil {
			unix.Munmap(b)
			return nil, fmt.Errorf("numa: alloc %d bytes on node %d: %w", n, node, err)
		}
	}
	if node != Unknown {
		for i := 0; i < n; i += page {
			b[i] = 0 // fault in under the policy
		}
	}
	track(Addr(b), n, node)
	return b[:size], nil
}

// Free unmaps memory from Alloc.
func Free(b []byte) error {
	if cap(b) == 0 {
		return nil
	}
	full := b[:cap(b)]
	untrack(Addr(full))
	if err := unix.Munmap(full); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}

// mbind(2) over b's pages.
func mbind(b []byte, mode int, mask *nodeMask, flags int) error {
	_, _, e := unix.Syscall6(unix.SYS_MBIND, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(cap(b)),
		uintptr(mode), uintptr(unsafe.Pointer(mask)), maxNodes+1, uintptr(flags))
	if e != 0 {
		if e == unix.ENOSYS {
			return &UnsupportedFeatureError{Feature: "mbind", MinKernel: "2.6.7"}
		}
		return os.NewSyscallError("mbind", e)
	}
	return nil
}

// MemPolicy is the policy of the page at the start of b
// (get_mempolicy(MPOL_F_ADDR)): its mode (unix.MPOL_BIND, ...) and nodes.
func MemPolicy(b []byte) (mode int, nodes []int, err error) {
	if len(b) == 0 {
		return 0, nil, errors.New("numa: mempolicy of an empty slice")
	}
	var mask nodeMask
	var m int32
	_, _, e := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&m)), uintptr(unsafe.Pointer(&mask)),
		maxNodes+1, uintptr(unsafe.Pointer(&b[0])), unix.MPOL_F_ADDR, 0)
	if e != 0 {
		return 0, nil, os.NewSyscallError("get_mempolicy", e)
	}
	return int(m), maskNodes(&mask), nil
}

// PageNode is the node that holds the page at the start of b
// (get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR); faults the page in if needed).
func PageNode(b []byte) (int, error) {
	if len(b) == 0 {
		return Unknown, errors.New("numa: page node of an empty slice")
	}
	var m int32
	_, _, e := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&m)), 0, 0,
		uintptr(unsafe.Pointer(&b[0])), unix.MPOL_F_NODE|unix.MPOL_F_ADDR, 0)
	if e != 0 {
		return Unknown, os.NewSyscallError("get_mempolicy", e)
	}
	return int(m), nil
}

// PageNodes is the node of every page of b (move_pages(2) with no target
// nodes, which only queries); a page not present reports -ENOENT as a
// negative number.
func PageNodes(b []byte) ([]int, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return pageNodes(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
}

// pageNodes is PageNodes over [addr, addr+n) of this process, mapped or not
// by Go (the kernel looks the addresses up; nothing is dereferenced here).
func pageNodes(addr, n uintptr) ([]int, error) {
	page := uintptr(os.Getpagesize())
	start := addr &^ (page - 1)
	count := int((addr + n - start + page - 1) / page)
	pages := make([]uintptr, count)
	for i := range pages {
		pages[i] = start + uintptr(i)*page
	}
	status := make([]int32, count)
	_, _, e := unix.Syscall6(unix.SYS_MOVE_PAGES, 0, uintptr(count), uintptr(unsafe.Pointer(&pages[0])),
		0, uintptr(unsafe.Pointer(&status[0])), 0)
	if e != 0 {
		return nil, os.NewSyscallError("move_pages", e)
	}
	nodes := make([]int, count)
	for i, s := range status {
		nodes[i] = int(s)
	}
	return nodes, nil
}

// PageNodesAt is PageNodes over n bytes at addr, memory this process maps
// (an Allocation's span, say); nothing is read or written through addr.
func PageNodesAt(addr uintptr, n int) ([]int, error) {
	if n <= 0 {
		return nil, nil
	}
	return pageNodes(addr, uintptr(n))
}

func maskNodes(m *nodeMask) []int {
	var nodes []int
	for i, w := range m {
		for j := 0; j < 64; j++ {
			if w&(1<<j) != 0 {
				nodes = append(nodes, i*64+j)
			}
		}
	}
	return nodes
}

func uintptrOf(p *uint32) uintptr { return uintptr(unsafe.Pointer(p)) }
