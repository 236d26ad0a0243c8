//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

// This file holds every pointer conversion the ring itself needs: the kernel ABI structs,
// the raw system calls, and the views into the mmap'd rings. Prep helpers that hand
// buffers to the kernel are in sqe_unsafe.go; registration calls in register_unsafe.go.

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sqe is struct io_uring_sqe (include/uapi/linux/io_uring.h), 64 bytes. Unions are named
// after their first member; the comments list the other names used by prep helpers.
type sqe struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16 // also recv/send/accept flags
	Fd          int32
	Off         uint64 // addr2, cmd_op
	Addr        uint64 // splice_off_in
	Len         uint32
	OpFlags     uint32 // rw_flags, fsync_flags, poll32_events, msg_flags, timeout_flags, ... splice_flags
	UserData    uint64
	BufIndex    uint16 // buf_group
	Personality uint16
	SpliceFdIn  int32 // file_index, addr_len
	Addr3       uint64
	_           uint64 // __pad2[0]
}

// rawCQE is struct io_uring_cqe, 16 bytes (no IORING_SETUP_CQE32).
type rawCQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// params is struct io_uring_params, 120 bytes.
type params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32
	Features     uint32
	WQFd         uint32
	Resv         [3]uint32
	SQOff        sqringOffsets
	CQOff        cqringOffsets
}

// kernelTimespec is struct __kernel_timespec.
type kernelTimespec struct {
	Sec  int64
	Nsec int64
}

// getEventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	Sigmask   uint64
	SigmaskSz uint32
	Pad       uint32
	Ts        uint64
}

// ctrlArea lives in an off-heap page per ring: arguments of io_uring_enter that contain
// addresses (the timespec pointed to by getEventsArg.Ts).
type ctrlArea struct {
	arg getEventsArg
	ts  kernelTimespec
}

func sysSetup(entries uint32, p *params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func sysEnter(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSz uintptr) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit),
		uintptr(minComplete), uintptr(flags), uintptr(arg), argSz)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

func sysRegister(fd int, op uint32, arg unsafe.Pointer, nrArgs uint32) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op), uintptr(arg),
		uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

// enter calls io_uring_enter without an argument.
func (r *Ring) enter(toSubmit, minComplete, flags uint32) (int, error) {
	return sysEnter(r.fd, toSubmit, minComplete, flags, nil, 0)
}

// enterTimeout calls io_uring_enter with IORING_ENTER_EXT_ARG and a relative timeout in ns.
// The argument and timespec live in the ring's off-heap control page.
func (r *Ring) enterTimeout(toSubmit, minComplete, flags uint32, ns int64) (int, error) {
	c := r.ctrl
	c.ts = kernelTimespec{Sec: ns / 1e9, Nsec: ns % 1e9}
	c.arg = getEventsArg{SigmaskSz: 8, Ts: uint64(uintptr(unsafe.Pointer(&c.ts)))}
	return sysEnter(r.fd, toSubmit, minComplete, flags|enterExtArg, unsafe.Pointer(&c.arg), unsafe.Sizeof(c.arg))
}

func u32At(mem []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// mapRings mmaps the SQ ring, CQ ring (one mapping when IORING_FEAT_SINGLE_MMAP) and the
// SQE array, and the off-heap control page and per-slot argument areas.
func (r *Ring) mapRings(p *params, scratchBytes int) error {
	sqSize := int(p.SQOff.Array) + int(p.SQEntries)*4
	cqSize := int(p.CQOff.Cqes) + int(p.CQEntries)*int(unsafe.Sizeof(rawCQE{}))
	single := p.Features&FeatSingleMmap != 0
	if single && cqSize > sqSize {
		sqSize = cqSize
	}
	prot := unix.PROT_READ | unix.PROT_WRITE
	flags := unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return os.NewSyscallError("mmap cq ring", err)
		}
	}
	sqeSize := int(p.SQEntries) * int(unsafe.Sizeof(sqe{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	ctrlSize := roundPage(int(unsafe.Sizeof(ctrlArea{})))
	if r.ctrlMem, err = unix.Mmap(-1, 0, ctrlSize+scratchBytes, prot, anon); err != nil {
		return os.NewSyscallError("mmap scratch", err)
	}
	r.ctrl = (*ctrlArea)(unsafe.Pointer(&r.ctrlMem[0]))
	r.scratch = r.ctrlMem[ctrlSize:]

	r.sqHead = u32At(r.sqMem, p.SQOff.Head)
	r.sqTail = u32At(r.sqMem, p.SQOff.Tail)
	r.sqFlags = u32At(r.sqMem, p.SQOff.Flags)
	r.sqDropped = u32At(r.sqMem, p.SQOff.Dropped)
	r.sqMask = *u32At(r.sqMem, p.SQOff.RingMask)
	r.sqEntries = *u32At(r.sqMem, p.SQOff.RingEntries)
	array := unsafe.Slice(u32At(r.sqMem, p.SQOff.Array), r.sqEntries)
	for i := range array {
		array[i] = uint32(i) // SQE index i always sits at ring position i
	}
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), r.sqEntries)

	r.cqHead = u32At(r.cqMem, p.CQOff.Head)
	r.cqTail = u32At(r.cqMem, p.CQOff.Tail)
	r.cqOverflow = u32At(r.cqMem, p.CQOff.Overflow)
	r.cqMask = *u32At(r.cqMem, p.CQOff.RingMask)
	r.cqEntries = *u32At(r.cqMem, p.CQOff.RingEntries)
	r.cqes = unsafe.Slice((*rawCQE)(unsafe.Pointer(&r.cqMem[p.CQOff.Cqes])), r.cqEntries)
	if p.CQOff.Flags != 0 {
		r.cqFlags = u32At(r.cqMem, p.CQOff.Flags)
	}
	return nil
}

func roundPage(n int) int {
	ps := os.Getpagesize()
	return (n + ps - 1) &^ (ps - 1)
}

// unmapRings releases every mapping made by mapRings. Safe on a partially mapped ring.
func (r *Ring) unmapRings() {
	r.sqHead, r.sqTail, r.sqFlags, r.sqDropped = nil, nil, nil, nil
	r.cqHead, r.cqTail, r.cqOverflow, r.cqFlags = nil, nil, nil, nil
	r.sqes, r.cqes, r.ctrl, r.scratch = nil, nil, nil, nil
	if r.cqMem != nil && len(r.sqMem) > 0 && &r.cqMem[0] != &r.sqMem[0] {
		unix.Munmap(r.cqMem)
	}
	for _, m := range [][]byte{r.sqMem, r.sqeMem, r.ctrlMem} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	r.sqMem, r.cqMem, r.sqeMem, r.ctrlMem = nil, nil, nil, nil
}

// Atomic access to the shared ring indexes. Go's sync/atomic operations are sequentially
// consistent, which is at least the acquire (loads of the kernel's producer index) and
// release (stores of our producer/consumer index) ordering the io_uring ABI requires, and
// also the full barrier between publishing the SQ tail and reading IORING_SQ_NEED_WAKEUP.
func load(p *uint32) uint32     { return atomic.LoadUint32(p) }
func store(p *uint32, v uint32) { atomic.StoreUint32(p, v) }
