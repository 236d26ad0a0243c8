//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

// Prep helpers. Every address handed to the kernel stays valid until the request's last
// CQE has been consumed by CQAdvance (or, for a CQE_SKIP_SUCCESS request inside a link,
// until its successor's):
//
//   - Caller memory the kernel reads or writes asynchronously (data buffers, iovec targets,
//     *unix.Statx_t) is pinned with the slot's runtime.Pinner, which also keeps it from
//     being freed. Off-heap memory (from Mmap, registered or provided buffers) needs no pin;
//     Pin ignores it.
//   - Small structures the package builds (iovec arrays, msghdr, __kernel_timespec,
//     open_how, NUL-terminated paths) go to the slot's 512-byte scratch area, mmap'd outside
//     the Go heap. If they do not fit they are allocated on the Go heap and pinned instead.
//
// The kernel structs here use uint64 for addresses, so no Go pointer is ever stored
// outside the Go heap.

import (
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovec is struct iovec on 64-bit Linux.
type iovec struct {
	Base uint64
	Len  uint64
}

// msghdr is struct user_msghdr on 64-bit Linux, 56 bytes.
type msghdr struct {
	Name       uint64
	Namelen    uint32
	_          uint32
	Iov        uint64
	Iovlen     uint64
	Control    uint64
	Controllen uint64
	Flags      int32
	_          uint32
}

// alloc returns n bytes (8-aligned) of the slot's off-heap scratch area, or nil.
func (s SQE) alloc(n uintptr) unsafe.Pointer {
	sl := &s.r.slots[s.idx]
	off := (uintptr(sl.used) + 7) &^ 7
	if off+n > scratchSize {
		return nil
	}
	sl.used = uint32(off + n)
	return unsafe.Pointer(&s.r.scratch[uintptr(s.idx)*scratchSize+off])
}

// pin keeps the Go object p points into from moving or being freed until the request
// completes. It does nothing for memory outside the Go heap.
func (s SQE) pin(p unsafe.Pointer) {
	if p != nil {
		s.r.slots[s.idx].pin.Pin(p)
	}
}

// bufAddr pins b and returns its address for the kernel.
func (s SQE) bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	s.pin(p)
	return uint64(uintptr(p))
}

// iovecs builds an iovec array over bufs, pinning each buffer.
func (s SQE) iovecs(bufs [][]byte) uint64 {
	if len(bufs) == 0 {
		return 0
	}
	size := uintptr(len(bufs)) * unsafe.Sizeof(iovec{})
	p := s.alloc(size)
	if p == nil {
		heap := make([]iovec, len(bufs))
		p = unsafe.Pointer(&heap[0])
		s.pin(p)
	}
	iov := unsafe.Slice((*iovec)(p), len(bufs))
	for i, b := range bufs {
		iov[i] = iovec{Base: s.bufAddr(b), Len: uint64(len(b))}
	}
	return uint64(uintptr(p))
}

// cstring copies path, NUL-terminated, where the kernel can read it later.
func (s SQE) cstring(path string) (uint64, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return 0, unix.EINVAL
	}
	n := len(path) + 1
	p := s.alloc(uintptr(n))
	if p == nil {
		heap := make([]byte, n)
		p = unsafe.Pointer(&heap[0])
		s.pin(p)
	}
	b := unsafe.Slice((*byte)(p), n)
	copy(b, path)
	b[n-1] = 0
	return uint64(uintptr(p)), nil
}

func (s SQE) timespec(d time.Duration) uint64 {
	p := s.alloc(unsafe.Sizeof(kernelTimespec{})) // always fits: it is the only allocation
	*(*kernelTimespec)(p) = kernelTimespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
	return uint64(uintptr(p))
}

func (s SQE) rw(op Op, fd int, addr uint64, n int, off int64) {
	e := s.e
	e.Opcode = uint8(op)
	e.Fd = int32(fd)
	e.Addr = addr
	e.Len = uint32(n)
	e.Off = uint64(off)
}

// PrepNop prepares IORING_OP_NOP.
func (s SQE) PrepNop() { s.e.Opcode = uint8(OpNop) }

// PrepRead prepares IORING_OP_READ of len(buf) bytes at off (-1: the file position).
func (s SQE) PrepRead(fd int, buf []byte, off int64) {
	s.rw(OpRead, fd, s.bufAddr(buf), len(buf), off)
}

// PrepWrite prepares IORING_OP_WRITE of buf at off (-1: the file position).
func (s SQE) PrepWrite(fd int, buf []byte, off int64) {
	s.rw(OpWrite, fd, s.bufAddr(buf), len(buf), off)
}

// PrepReadFixed prepares IORING_OP_READ_FIXED into buf, which must lie inside registered
// buffer index.
func (s SQE) PrepReadFixed(fd int, buf []byte, off int64, index uint16) {
	s.rw(OpReadFixed, fd, s.bufAddr(buf), len(buf), off)
	s.e.BufIndex = index
}

// PrepWriteFixed prepares IORING_OP_WRITE_FIXED from buf inside registered buffer index.
func (s SQE) PrepWriteFixed(fd int, buf []byte, off int64, index uint16) {
	s.rw(OpWriteFixed, fd, s.bufAddr(buf), len(buf), off)
	s.e.BufIndex = index
}

// PrepReadv prepares IORING_OP_READV into bufs at off.
func (s SQE) PrepReadv(fd int, bufs [][]byte, off int64) {
	s.rw(OpReadv, fd, s.iovecs(bufs), len(bufs), off)
}

// PrepWritev prepares IORING_OP_WRITEV of bufs at off.
func (s SQE) PrepWritev(fd int, bufs [][]byte, off int64) {
	s.rw(OpWritev, fd, s.iovecs(bufs), len(bufs), off)
}

// PrepFsync prepares IORING_OP_FSYNC; flags may be FsyncDatasync.
func (s SQE) PrepFsync(fd int, flags uint32) {
	s.rw(OpFsync, fd, 0, 0, 0)
	s.e.OpFlags = flags
}

// PrepRecv prepares IORING_OP_RECV into buf.
func (s SQE) PrepRecv(fd int, buf []byte, msgFlags int) {
	s.rw(OpRecv, fd, s.bufAddr(buf), len(buf), 0)
	s.e.OpFlags = uint32(msgFlags)
}

// PrepRecvSelect prepares a single IORING_OP_RECV of up to maxLen bytes into a buffer the
// kernel picks from provided-buffer group bgid (the CQE carries its id).
func (s SQE) PrepRecvSelect(fd int, bgid uint16, maxLen int, msgFlags int) {
	s.rw(OpRecv, fd, 0, maxLen, 0)
	s.e.OpFlags = uint32(msgFlags)
	s.e.Flags |= uint8(FlagBufferSelect)
	s.e.BufIndex = bgid
}

// PrepRecvMultishot prepares a multishot IORING_OP_RECV (6.0) that takes its buffers from
// provided-buffer group bgid: one CQE per receive, with IORING_CQE_F_BUFFER and the buffer
// id, and IORING_CQE_F_MORE while it stays armed.
func (s SQE) PrepRecvMultishot(fd int, bgid uint16, msgFlags int) {
	s.rw(OpRecv, fd, 0, 0, 0)
	s.e.OpFlags = uint32(msgFlags)
	s.e.Ioprio = RecvMultishot
	s.e.Flags |= uint8(FlagBufferSelect)
	s.e.BufIndex = bgid
}

// PrepSend prepares IORING_OP_SEND of buf. On a stream socket, add unix.MSG_WAITALL to
// have the ring retry a short send until all of buf is sent (a short send would otherwise
// complete the request early and break its link chain).
func (s SQE) PrepSend(fd int, buf []byte, msgFlags int) {
	s.rw(OpSend, fd, s.bufAddr(buf), len(buf), 0)
	s.e.OpFlags = uint32(msgFlags)
}

// PrepSendZC prepares IORING_OP_SEND_ZC (6.0). It posts two CQEs: the result, with
// IORING_CQE_F_MORE, then a notification (IORING_CQE_F_NOTIF) once the kernel no longer
// needs buf; buf stays pinned until then. zcFlags may hold SendZCReportUsage.
func (s SQE) PrepSendZC(fd int, buf []byte, msgFlags int, zcFlags uint16) {
	s.rw(OpSendZC, fd, s.bufAddr(buf), len(buf), 0)
	s.e.OpFlags = uint32(msgFlags)
	s.e.Ioprio = zcFlags
}

// PrepSendZCFixed is PrepSendZC from buf inside registered buffer index
// (IORING_RECVSEND_FIXED_BUF): the kernel skips pinning the pages per send.
func (s SQE) PrepSendZCFixed(fd int, buf []byte, msgFlags int, zcFlags uint16, index uint16) {
	s.PrepSendZC(fd, buf, msgFlags, zcFlags|RecvsendFixedBuf)
	s.e.BufIndex = index
}

// PrepSendmsg prepares IORING_OP_SENDMSG of bufs as one message (msgFlags may hold
// unix.MSG_MORE, to let a following send or splice share its segments, and
// unix.MSG_WAITALL, as for PrepSend).
func (s SQE) PrepSendmsg(fd int, bufs [][]byte, msgFlags int) {
	p := s.alloc(unsafe.Sizeof(msghdr{}))
	if p == nil {
		heap := new(msghdr)
		p = unsafe.Pointer(heap)
		s.pin(p)
	}
	*(*msghdr)(p) = msghdr{Iov: s.iovecs(bufs), Iovlen: uint64(len(bufs))}
	s.rw(OpSendmsg, fd, uint64(uintptr(p)), 1, 0)
	s.e.OpFlags = uint32(msgFlags)
}

// PrepSplice prepares IORING_OP_SPLICE of n bytes from fdIn at offIn to fdOut at offOut
// (an offset of -1 means the file position; it must be -1 for a pipe). flags are
// SPLICE_F_* (unix.SPLICE_F_MOVE, ...) plus SpliceFdInFixed when fdIn is a registered file
// index; FlagFixedFile on the SQE makes fdOut one.
func (s SQE) PrepSplice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32) {
	s.rw(OpSplice, fdOut, uint64(offIn), n, offOut)
	s.e.SpliceFdIn = int32(fdIn)
	s.e.OpFlags = flags
}

// PrepAccept prepares IORING_OP_ACCEPT; flags are accept4 flags (unix.SOCK_CLOEXEC, ...).
// The peer address is not collected.
func (s SQE) PrepAccept(fd int, flags int) {
	s.rw(OpAccept, fd, 0, 0, 0)
	s.e.OpFlags = uint32(flags)
}

// PrepAcceptMultishot prepares a multishot IORING_OP_ACCEPT (5.19): one CQE per
// connection, each with IORING_CQE_F_MORE while it stays armed.
func (s SQE) PrepAcceptMultishot(fd int, flags int) {
	s.PrepAccept(fd, flags)
	s.e.Ioprio = AcceptMultishot
}

// PrepShutdown prepares IORING_OP_SHUTDOWN (5.11); how is unix.SHUT_RD, SHUT_WR or SHUT_RDWR.
func (s SQE) PrepShutdown(fd int, how int) { s.rw(OpShutdown, fd, 0, how, 0) }

// PrepClose prepares IORING_OP_CLOSE of fd.
func (s SQE) PrepClose(fd int) { s.rw(OpClose, fd, 0, 0, 0) }

// PrepCloseFixed prepares IORING_OP_CLOSE of registered file slot index (5.15).
func (s SQE) PrepCloseFixed(index uint32) {
	s.rw(OpClose, 0, 0, 0, 0)
	s.e.SpliceFdIn = int32(index + 1)
}

// PrepOpenat2 prepares IORING_OP_OPENAT2 of path relative to dirfd. how is copied.
func (s SQE) PrepOpenat2(dirfd int, path string, how *unix.OpenHow) error {
	addr, err := s.cstring(path)
	if err != nil {
		return err
	}
	p := s.alloc(unsafe.Sizeof(unix.OpenHow{}))
	if p == nil {
		heap := new(unix.OpenHow)
		p = unsafe.Pointer(heap)
		s.pin(p)
	}
	*(*unix.OpenHow)(p) = *how
	s.rw(OpOpenat2, dirfd, addr, int(unsafe.Sizeof(unix.OpenHow{})), int64(uintptr(p)))
	return nil
}

// PrepStatx prepares IORING_OP_STATX of path relative to dirfd into st, which stays
// pinned until the completion.
func (s SQE) PrepStatx(dirfd int, path string, flags int, mask uint32, st *unix.Statx_t) error {
	addr, err := s.cstring(path)
	if err != nil {
		return err
	}
	p := unsafe.Pointer(st)
	s.pin(p)
	s.rw(OpStatx, dirfd, addr, int(mask), int64(uintptr(p)))
	s.e.OpFlags = uint32(flags)
	return nil
}

// PrepUnlinkat prepares IORING_OP_UNLINKAT (flags: 0 or unix.AT_REMOVEDIR).
func (s SQE) PrepUnlinkat(dirfd int, path string, flags int) error {
	addr, err := s.cstring(path)
	if err != nil {
		return err
	}
	s.rw(OpUnlinkat, dirfd, addr, 0, 0)
	s.e.OpFlags = uint32(flags)
	return nil
}

// PrepRenameat prepares IORING_OP_RENAMEAT (renameat2 flags, e.g. unix.RENAME_NOREPLACE).
func (s SQE) PrepRenameat(oldDirfd int, oldPath string, newDirfd int, newPath string, flags uint32) error {
	oldAddr, err := s.cstring(oldPath)
	if err != nil {
		return err
	}
	newAddr, err := s.cstring(newPath)
	if err != nil {
		return err
	}
	s.rw(OpRenameat, oldDirfd, oldAddr, newDirfd, int64(newAddr))
	s.e.OpFlags = flags
	return nil
}

// PrepTimeout prepares IORING_OP_TIMEOUT: it completes with -ETIME after d, or with 0
// once count other completions have arrived (count 0: only the timer).
func (s SQE) PrepTimeout(d time.Duration, count uint32, flags uint32) {
	s.rw(OpTimeout, -1, s.timespec(d), 1, int64(count))
	s.e.OpFlags = flags
}

// PrepLinkTimeout prepares IORING_OP_LINK_TIMEOUT for the previous SQE, which must carry
// FlagIOLink: if that request has not completed after d it is cancelled (-ECANCELED) and
// this one completes with -ETIME; otherwise this one completes with -ECANCELED.
func (s SQE) PrepLinkTimeout(d time.Duration, flags uint32) {
	s.rw(OpLinkTimeout, -1, s.timespec(d), 1, 0)
	s.e.OpFlags = flags
}

// PrepCancel prepares IORING_OP_ASYNC_CANCEL of the request target (see SQE.ID); flags
// may add CancelAll.
func (s SQE) PrepCancel(target RequestID, flags uint32) {
	s.rw(OpAsyncCancel, -1, uint64(target), 0, 0)
	s.e.OpFlags = flags
}

// PrepCancelFd prepares IORING_OP_ASYNC_CANCEL of the requests on fd (5.19); flags may add
// CancelAll or CancelFdFixed.
func (s SQE) PrepCancelFd(fd int, flags uint32) {
	s.rw(OpAsyncCancel, fd, 0, 0, 0)
	s.e.OpFlags = flags | CancelFd
}

// PrepPollAdd prepares IORING_OP_POLL_ADD for events (unix.POLLIN, ...); multishot
// (PollAddMulti, 5.13) keeps it armed.
func (s SQE) PrepPollAdd(fd int, events uint32, multishot bool) {
	s.rw(OpPollAdd, fd, 0, 0, 0)
	s.e.OpFlags = events
	if multishot {
		s.e.Len = PollAddMulti
	}
}
