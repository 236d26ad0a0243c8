// Package uring is smb3d's own thin io_uring layer, written on golang.org/x/sys/unix raw
// system calls (io_uring_setup 425, io_uring_enter 426, io_uring_register 427), without cgo
// and without linkname tricks. It is the ring under the io_uring TCP transport (issue 6).
//
// # Ownership
//
// A Ring belongs to one goroutine, locked to its OS thread with runtime.LockOSThread before
// New and until after Close: by default the ring is created with IORING_SETUP_SINGLE_ISSUER
// and DEFER_TASKRUN (when the kernel has them), which tie submission and completion
// processing to the creating thread. No Ring method is safe for concurrent use. To sleep
// without spinning and without parking an OS thread in io_uring_enter, register an Eventfd
// (RegisterEventfd): its Wait parks in Go's netpoller until the kernel posts a completion.
//
// # Submitting and completing
//
//	s, err := r.GetSQE()          // ErrSQFull: Submit and retry; ErrBusy: reap and retry
//	s.PrepRecv(fd, buf, 0)        // exactly one Prep per SQE
//	s.SetFlags(uring.FlagIOLink)  // optional IOSQE_* flags
//	s.SetUserData(tag)            // comes back in CQE.UserData
//	r.Submit()                    // or SubmitAndWait(n)
//	n := r.PeekCQEs(cqes)         // copies; WaitCQE/WaitCQEs block until some are ready
//	r.CQAdvance(n)                // consumes them
//
// The ring owns sqe->user_data: it is a RequestID (slot index and generation) that indexes
// a per-request slot table. A slot lives from GetSQE until the request's last CQE, the one
// without IORING_CQE_F_MORE (for SEND_ZC, the IORING_CQE_F_NOTIF notification; for
// multishot RECV and ACCEPT, the one that ends the request). PeekCQEs moves raw CQEs out of
// the kernel's ring into a small queue as it reads them, so CQ entries are freed at once,
// and releases the slots they finish; CQAdvance pops that queue.
//
// FlagCQESkipSuccess means what the caller expects everywhere: no CQE on success; a CQE
// on failure, and -ECANCELED for each later request of a link chain the failure breaks.
// The kernel's flag is used where that can be kept (the skip-flagged head of an IO_LINK
// chain: its success is proven by its successor's CQE, and on failure the ring synthesizes
// the -ECANCELED CQEs the kernel suppresses); elsewhere the ring drops the kernel flag and
// hides the successful CQE itself.
//
// # Memory handed to the kernel
//
// Every address in an SQE stays valid and unmoved until its slot is released:
//
//   - Caller memory the kernel reads or writes later (data buffers, iovec targets,
//     *unix.Statx_t, registered buffers) is pinned with runtime.Pinner: the slot's Pinner
//     for a request, the ring's for registered buffers (until UnregisterBuffers or Close).
//     Pinning also keeps the object alive. Memory from Mmap, BufRing and the rings is
//     outside the Go heap and needs no pin.
//   - Structures the package builds (iovec arrays, msghdr, __kernel_timespec, open_how,
//     NUL-terminated paths, the io_uring_getevents_arg of a timed wait) are written into
//     off-heap memory: a 512-byte scratch area per slot and a control page per ring, all
//     from one anonymous mmap. What does not fit goes to the Go heap and is pinned.
//   - Kernel ABI structs hold addresses as uint64, so no Go pointer is stored off-heap.
//
// Close cancels everything in flight (IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_ANY),
// reaps until no request is left, and only then unmaps and unpins. Requests that do not end
// within 5s keep their memory for the life of the process instead of risking a write into
// reused memory.
//
// # Shared ring indexes
//
// The SQ/CQ head, tail and flags words are read and written with sync/atomic on *uint32
// views of the mmap'd rings. Go's atomics are sequentially consistent, stronger than the
// acquire/release pairs the ABI needs and enough for the full barrier between publishing
// the SQ tail and testing IORING_SQ_NEED_WAKEUP under SQPOLL. The provided-buffer ring's
// 16-bit tail is published with a 32-bit store that rewrites bufs[0].bid with its own value.
//
// # Features
//
// Probe learns once per process which setup flags, IORING_FEAT_* bits and opcodes
// (IORING_REGISTER_PROBE) the kernel has; Features.String is the line to log at start.
// Missing features are reported as *UnsupportedFeatureError naming the minimum kernel;
// errors.Is(err, ErrNotSupported) matches them all, and a disabled io_uring
// (kernel.io_uring_disabled) is one too, so callers can fall back to the netpoller.
// io_uring_register opcodes cannot be probed; EINVAL from one on a kernel older than its
// first release is mapped to the same error.
//
// Files containing unsafe are named *_unsafe.go: ring_unsafe.go (ABI structs, syscalls,
// ring mapping), sqe_unsafe.go (prep helpers), register_unsafe.go (registration, buffer
// rings). The package targets 64-bit little-endian Linux (amd64, arm64, riscv64, loong64,
// ppc64le), whose struct layouts it uses; elsewhere New and Probe return an
// *UnsupportedFeatureError.
package uring
