//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config selects the ring's size and optional modes. The zero value is a 256-entry ring with
// every probed flag that suits a single owner thread.
type Config struct {
	// Entries is the submission queue size (rounded up to a power of two by the kernel).
	// Default 256.
	Entries uint32
	// CQEntries, when non-zero, sets the completion queue size (IORING_SETUP_CQSIZE);
	// the kernel default is twice Entries.
	CQEntries uint32
	// SQPoll starts a kernel thread that polls the SQ (IORING_SETUP_SQPOLL), so Submit
	// is a memory store unless the thread went idle. SQPoll excludes DEFER_TASKRUN and
	// COOP_TASKRUN.
	SQPoll bool
	// SQThreadCPU pins the SQPOLL thread to this CPU (IORING_SETUP_SQ_AFF) when SQAff is set.
	SQThreadCPU uint32
	SQAff       bool
	// SQThreadIdle is how long the SQPOLL thread spins before sleeping (default 1s in the kernel).
	SQThreadIdle time.Duration
	// MaxInflight bounds the requests between GetSQE and their last CQE; it sizes the slot
	// table. Default: the CQ size.
	MaxInflight int
	// Disable lists setup flags (Setup*) not to use even when the kernel supports them.
	Disable uint32
	// Mem maps the memory of provided-buffer rings (NewBufRing) and of
	// Ring.AllocBuffer, for registered buffers; nil: anonymous mmap under
	// the default policy. A transport that places the ring on a NUMA node
	// passes one that binds to that node (numa.Alloc).
	Mem Allocator
}

// Allocator maps and unmaps memory outside the Go heap. Free gets back
// exactly the slice Alloc returned (length n, whole-page capacity).
type Allocator interface {
	Alloc(n int) ([]byte, error)
	Free(b []byte) error
}

// mmapAllocator is the default Allocator: anonymous private memory.
type mmapAllocator struct{}

func (mmapAllocator) Alloc(n int) ([]byte, error) { return Mmap(n) }
func (mmapAllocator) Free(b []byte) error         { return Munmap(b) }

// scratchSize is the per-request off-heap argument area (iovecs, msghdr, timespec,
// open_how, short paths).
const scratchSize = 512

// slot is what the ring keeps for one request until its last CQE: the caller's user data,
// the pins on every Go buffer the kernel may touch, and skip-success predecessors whose
// completion this request's completion proves.
type slot struct {
	gen      uint32
	busy     bool
	used     uint32 // bytes of the slot's scratch area in use
	userData uint64
	pin      runtime.Pinner
	// deps are kernel-skipped predecessors released with this request (see flush).
	deps []RequestID
	// chainRest are the later requests of this kernel-skipped request's link chain.
	chainRest []RequestID
	// hideSuccess: the caller asked for FlagCQESkipSuccess, emulated by the ring.
	hideSuccess bool
}

// Ring is one io_uring instance. It is owned by one goroutine, which must be locked to its
// OS thread (runtime.LockOSThread) from before New until after Close when the ring uses
// IORING_SETUP_SINGLE_ISSUER or DEFER_TASKRUN, as it does by default. No method is safe
// for concurrent use; the Eventfd helper is how other goroutines learn about completions.
type Ring struct {
	// Fixed after New.
	fd       int
	flags    uint32 // setup flags in effect
	features uint32 // IORING_FEAT_* reported by the kernel

	// Kernel-shared memory, fixed after New.
	sqMem, cqMem, sqeMem, ctrlMem []byte
	sqHead, sqTail, sqFlags       *uint32
	sqDropped                     *uint32
	sqMask, sqEntries             uint32
	sqes                          []sqe
	cqHead, cqTail, cqOverflow    *uint32
	cqFlags                       *uint32
	cqMask, cqEntries             uint32
	cqes                          []rawCQE
	ctrl                          *ctrlArea
	scratch                       []byte

	// Owned by the owner goroutine.
	sqeTail  uint32   // SQEs handed out by GetSQE
	flushed  uint32   // SQEs published to the kernel (our copy of *sqTail)
	pending  []uint32 // slot of each SQE not yet published, in ring order
	slots    []slot
	free     []uint32 // free slot indexes (a stack, so hot slots stay hot)
	inflight int
	cqOut    []CQE // completions taken from the kernel's CQ, not yet consumed
	cqOutOff int
	ids      []RequestID    // scratch for process
	bufPin   runtime.Pinner // registered buffers
	bufs     [][]byte
	bufRings map[uint16]*BufRing
	closed   bool
	mem      Allocator // fixed after New
}

// AllocBuffer maps n bytes with the ring's allocator (Config.Mem), for
// registered buffers (RegisterBuffers) that should sit where the ring does.
// Free it with FreeBuffer once it is unregistered and no request uses it.
func (r *Ring) AllocBuffer(n int) ([]byte, error) { return r.mem.Alloc(n) }

// FreeBuffer unmaps memory from AllocBuffer.
func (r *Ring) FreeBuffer(b []byte) error { return r.mem.Free(b) }

// leaked holds rings whose requests did not finish by Close's deadline: their memory stays
// mapped and their buffers pinned forever rather than be reused under the kernel.
var leaked struct {
	sync.Mutex
	rings []*Ring
}

// New creates a ring. The calling goroutine becomes its owner (see Ring).
func New(cfg Config) (*Ring, error) {
	feat, err := Probe()
	if err != nil {
		return nil, err
	}
	entries := cfg.Entries
	if entries == 0 {
		entries = 256
	}
	var p params
	want := SetupClamp | SetupSubmitAll | SetupSingleIssuer
	if cfg.SQPoll {
		if err := feat.CheckSetup(SetupSQPoll); err != nil {
			return nil, err
		}
		want |= SetupSQPoll
		p.SQThreadIdle = uint32(cfg.SQThreadIdle / time.Millisecond)
		if cfg.SQAff {
			want |= SetupSQAff
			p.SQThreadCPU = cfg.SQThreadCPU
		}
	} else {
		want |= SetupDeferTaskrun | SetupCoopTaskrun | SetupTaskrunFlag
	}
	if cfg.CQEntries != 0 {
		want |= SetupCQSize
		p.CQEntries = cfg.CQEntries
	}
	want &^= cfg.Disable
	flags := want & feat.SetupFlags
	if flags&SetupSingleIssuer == 0 {
		flags &^= SetupDeferTaskrun
	}
	if flags&SetupDeferTaskrun != 0 {
		flags &^= SetupCoopTaskrun // DEFER_TASKRUN already implies it
	}
	if flags&(SetupDeferTaskrun|SetupCoopTaskrun) == 0 {
		flags &^= SetupTaskrunFlag
	}
	p.Flags = flags
	fd, err := sysSetup(entries, &p)
	if err != nil {
		return nil, os.NewSyscallError("io_uring_setup", err)
	}
	r := &Ring{fd: fd, flags: p.Flags, features: p.Features, mem: cfg.Mem}
	if r.mem == nil {
		r.mem = mmapAllocator{}
	}
	n := cfg.MaxInflight
	if n <= 0 {
		n = int(p.CQEntries)
	}
	if err := r.mapRings(&p, n*scratchSize); err != nil {
		r.unmapRings()
		unix.Close(fd)
		return nil, err
	}
	r.slots = make([]slot, n)
	r.free = make([]uint32, n)
	for i := range r.free {
		r.free[i] = uint32(n - 1 - i)
	}
	return r, nil
}

// Fd returns the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// SetupFlags returns the IORING_SETUP_* flags the ring was created with.
func (r *Ring) SetupFlags() uint32 { return r.flags }

// Features returns the IORING_FEAT_* flags the kernel reported for this ring.
func (r *Ring) Features() uint32 { return r.features }

// SQEntries returns the submission queue size chosen by the kernel.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the completion queue size.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Inflight returns the number of requests between GetSQE and their last CQE.
func (r *Ring) Inflight() int { return r.inflight }

// SQSpace returns how many SQEs GetSQE can hand out before ErrSQFull: check it before
// starting a link chain, which must go to the kernel in one Submit.
func (r *Ring) SQSpace() uint32 {
	if r.closed {
		return 0
	}
	return r.sqEntries - (r.sqeTail - load(r.sqHead))
}

// FreeSlots returns how many requests can start before GetSQE returns ErrBusy.
func (r *Ring) FreeSlots() int { return len(r.free) }

// SQE is a submission queue entry handed out by GetSQE, with the request slot that keeps its
// arguments alive. Call exactly one Prep method, then optionally SetFlags and SetUserData;
// an SQE without a Prep call is submitted as a NOP.
type SQE struct {
	r   *Ring
	e   *sqe
	idx uint32
}

// ID returns the request's identity inside the ring, the target for PrepCancel.
func (s SQE) ID() RequestID {
	return RequestID(uint64(s.r.slots[s.idx].gen)<<32 | uint64(s.idx))
}

// SetUserData sets the value returned in CQE.UserData.
func (s SQE) SetUserData(v uint64) { s.r.slots[s.idx].userData = v }

// SetFlags adds IOSQE_* flags. With FlagCQESkipSuccess no CQE is returned when the request
// succeeds (res >= 0); failures, and -ECANCELED for the rest of a link chain it breaks,
// are returned as usual. The kernel flag itself is used where the ring can account for
// the request without its CQE (see flush); elsewhere the ring hides the success itself.
func (s SQE) SetFlags(f SQEFlags) { s.e.Flags |= uint8(f) }

// SetIOPrio sets sqe->ioprio (the I/O priority for reads and writes).
func (s SQE) SetIOPrio(v uint16) { s.e.Ioprio = v }

// GetSQE returns the next free submission queue entry, zeroed, with a request slot.
// It returns ErrSQFull when the SQ is full (Submit, then retry) and ErrBusy when
// MaxInflight requests are outstanding (reap completions, then retry).
func (r *Ring) GetSQE() (SQE, error) {
	if r.closed {
		return SQE{}, ErrClosed
	}
	if r.sqeTail-load(r.sqHead) >= r.sqEntries {
		return SQE{}, ErrSQFull
	}
	if len(r.free) == 0 {
		return SQE{}, ErrBusy
	}
	idx := r.free[len(r.free)-1]
	r.free = r.free[:len(r.free)-1]
	sl := &r.slots[idx]
	sl.gen++
	sl.busy = true
	sl.used = 0
	sl.userData = 0
	e := &r.sqes[r.sqeTail&r.sqMask]
	*e = sqe{UserData: uint64(sl.gen)<<32 | uint64(idx)}
	r.sqeTail++
	r.pending = append(r.pending, idx)
	r.inflight++
	return SQE{r: r, e: e, idx: idx}, nil
}

// kernelSkipOps are the opcodes for which IOSQE_CQE_SKIP_SUCCESS is passed to the kernel:
// single-shot requests whose one CQE means failure when the flag is set. Multishot and
// zero-copy requests (several CQEs) and timeouts (-ETIME that may count as success) are
// emulated instead.
var kernelSkipOps = func() (m [256]bool) {
	for _, op := range []Op{OpNop, OpReadv, OpWritev, OpFsync, OpReadFixed, OpWriteFixed, OpSendmsg,
		OpRead, OpWrite, OpSend, OpSplice, OpClose, OpStatx, OpUnlinkat, OpRenameat, OpOpenat2} {
		m[op] = true
	}
	return m
}()

// flush publishes the SQEs handed out since the last flush and returns how many SQEs the
// kernel has not consumed yet.
//
// It also decides, per SQE flagged FlagCQESkipSuccess, how the flag is honoured. The
// kernel's flag is kept only where this ring can still account for every request: in the
// run of skip-flagged requests at the head of an IOSQE_IO_LINK chain, followed within this
// submission by a request that posts a CQE. A kernel-skipped request that succeeds is then
// released by its successor's completion (deps); one that fails posts a CQE, and the kernel
// suppresses the CQEs of the rest of the chain, which the ring synthesizes as -ECANCELED
// (chainRest) so that the caller sees the same completions either way. Everywhere else the
// flag is cleared and the ring hides the CQE if res >= 0 (hideSuccess; unlike the kernel it
// then also hides a short transfer, though the -ECANCELED of the requests that the short
// transfer's broken link cancelled still arrive).
func (r *Ring) flush() uint32 {
	if r.sqeTail != r.flushed {
		kernelSkip := r.features&FeatCQESkip != 0
		prefix := true // every earlier request of the current chain is kernel-skipped
		for i, idx := range r.pending {
			e := &r.sqes[(r.flushed+uint32(i))&r.sqMask]
			linked := e.Flags&uint8(FlagIOLink|FlagIOHardlink) != 0
			if e.Flags&uint8(FlagCQESkipSuccess) != 0 && int(idx) < len(r.slots) {
				sl := &r.slots[idx]
				// The successor must start only after this request ends, so that its CQE
				// proves this one finished: not a LINK_TIMEOUT, which runs alongside.
				if kernelSkip && prefix && linked && e.Flags&uint8(FlagIOHardlink) == 0 &&
					kernelSkipOps[e.Opcode] && i+1 < len(r.pending) && int(r.pending[i+1]) < len(r.slots) &&
					r.sqes[(r.flushed+uint32(i+1))&r.sqMask].Opcode != uint8(OpLinkTimeout) {
					next := &r.slots[r.pending[i+1]]
					next.deps = append(next.deps, RequestID(e.UserData))
					for j := i + 1; j < len(r.pending); j++ {
						ej := &r.sqes[(r.flushed+uint32(j))&r.sqMask]
						sl.chainRest = append(sl.chainRest, RequestID(ej.UserData))
						if ej.Flags&uint8(FlagIOLink|FlagIOHardlink) == 0 {
							break
						}
					}
				} else {
					e.Flags &^= uint8(FlagCQESkipSuccess)
					sl.hideSuccess = true
					prefix = false
				}
			} else {
				prefix = false
			}
			if !linked {
				prefix = true
			}
		}
		r.pending = r.pending[:0]
		r.flushed = r.sqeTail
		store(r.sqTail, r.sqeTail)
	}
	return r.flushed - load(r.sqHead)
}

// Submit publishes the prepared SQEs and, unless the SQPOLL thread is awake, tells the
// kernel with io_uring_enter. It returns the number of SQEs the kernel consumed. EAGAIN or
// EBUSY mean the kernel is short of memory or holds overflowed completions: reap, retry.
func (r *Ring) Submit() (int, error) { return r.submit(0) }

// SubmitAndWait submits like Submit and then waits until at least n completions are in
// the CQ (they are not consumed: use PeekCQEs and CQAdvance).
func (r *Ring) SubmitAndWait(n int) (int, error) { return r.submit(uint32(n)) }

func (r *Ring) submit(wait uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	before := r.flushed
	toSubmit := r.flush()
	var flags uint32
	if wait > 0 || r.cqNeedsEnter() {
		flags |= enterGetevents
	}
	if r.flags&SetupSQPoll != 0 {
		if load(r.sqFlags)&sqNeedWakeup != 0 {
			flags |= enterSQWakeup
		}
		if flags == 0 {
			return int(r.flushed - before), nil
		}
	} else if toSubmit == 0 && flags == 0 {
		return 0, nil
	}
	for {
		n, err := r.enter(toSubmit, wait, flags)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, os.NewSyscallError("io_uring_enter", err)
		}
		if r.flags&SetupSQPoll != 0 {
			n = int(r.flushed - before)
		}
		return n, nil
	}
}

// cqNeedsEnter reports whether completions are held in the kernel: CQEs that overflowed
// the CQ ring (IORING_SQ_CQ_OVERFLOW), or task work that posts them (IORING_SQ_TASKRUN,
// from COOP_TASKRUN/DEFER_TASKRUN with TASKRUN_FLAG). An io_uring_enter with GETEVENTS
// moves them into the ring.
func (r *Ring) cqNeedsEnter() bool {
	return load(r.sqFlags)&(sqCQOverflow|sqTaskrun) != 0
}

// SQReady returns the number of SQEs published but not yet consumed by the kernel.
func (r *Ring) SQReady() uint32 { return r.flushed - load(r.sqHead) }

// CQOverflow returns the kernel's count of CQEs lost to overflow (always 0 with
// IORING_FEAT_NODROP, where overflowed CQEs are held and flushed later).
func (r *Ring) CQOverflow() uint32 { return load(r.cqOverflow) }

// PeekCQEs copies up to len(dst) completions into dst without waiting and returns how
// many. They stay at the front of the completion queue until CQAdvance consumes them.
// When the kernel holds completions back (CQ overflow, deferred task work) it enters the
// kernel once to flush them.
//
// Raw CQEs are moved out of the kernel's ring as they are peeked, so its entries are freed
// at once; the request a CQE finishes (no IORING_CQE_F_MORE) is released then, unpinning
// its buffers: the kernel is done with them.
func (r *Ring) PeekCQEs(dst []CQE) int {
	if r.closed {
		return 0
	}
	r.reap(len(dst))
	return copy(dst, r.cqOut[r.cqOutOff:])
}

// CQAdvance consumes the first n completions PeekCQEs returned.
func (r *Ring) CQAdvance(n int) {
	n = min(n, len(r.cqOut)-r.cqOutOff)
	r.cqOutOff += n
	if r.cqOutOff == len(r.cqOut) {
		r.cqOut = r.cqOut[:0]
		r.cqOutOff = 0
	}
}

// reap moves raw CQEs out of the kernel's ring until want completions are waiting in
// cqOut or the ring is empty.
func (r *Ring) reap(want int) {
	entered := false
	for len(r.cqOut)-r.cqOutOff < want {
		head, tail := load(r.cqHead), load(r.cqTail)
		if head == tail {
			if entered || !r.cqNeedsEnter() {
				return
			}
			r.enter(0, 0, enterGetevents)
			entered = true
			continue
		}
		if r.cqOutOff > 0 && len(r.cqOut) == cap(r.cqOut) {
			n := copy(r.cqOut, r.cqOut[r.cqOutOff:])
			r.cqOut = r.cqOut[:n]
			r.cqOutOff = 0
		}
		for ; head != tail && len(r.cqOut)-r.cqOutOff < want; head++ {
			r.process(r.cqes[head&r.cqMask])
		}
		store(r.cqHead, head)
	}
}

// process accounts for one raw CQE: it drops completions of requests the ring already
// released (and its own internal requests), hides successes the caller asked to skip,
// releases finished requests, and queues the rest for PeekCQEs.
func (r *Ring) process(c rawCQE) {
	id := RequestID(c.UserData)
	sl := r.slotOf(id)
	if sl == nil {
		return
	}
	out := CQE{UserData: sl.userData, ID: id, Res: c.Res, Flags: c.Flags}
	visible := !sl.hideSuccess || c.Res < 0
	if c.Flags&CQEFMore == 0 {
		// A kernel-skipped request posts a CQE only when it failed; the kernel then
		// suppresses the CQEs of the rest of its chain, which never ran.
		r.ids = append(r.ids[:0], sl.chainRest...)
		r.release(id)
		if visible {
			r.cqOut = append(r.cqOut, out)
			visible = false
		}
		for _, x := range r.ids {
			if xs := r.slotOf(x); xs != nil {
				r.cqOut = append(r.cqOut, CQE{UserData: xs.userData, ID: x, Res: -int32(unix.ECANCELED)})
				r.release(x)
			}
		}
	}
	if visible {
		r.cqOut = append(r.cqOut, out)
	}
}

func (r *Ring) slotOf(id RequestID) *slot {
	idx := uint32(id)
	if int(idx) >= len(r.slots) {
		return nil
	}
	sl := &r.slots[idx]
	if !sl.busy || sl.gen != uint32(id>>32) {
		return nil
	}
	return sl
}

// release frees a request's slot and, recursively, the skip-success requests it vouches for.
func (r *Ring) release(id RequestID) {
	sl := r.slotOf(id)
	if sl == nil {
		return
	}
	sl.busy = false
	sl.hideSuccess = false
	sl.pin.Unpin()
	for _, d := range sl.deps {
		r.release(d)
	}
	clear(sl.deps)
	sl.deps = sl.deps[:0]
	clear(sl.chainRest)
	sl.chainRest = sl.chainRest[:0]
	r.free = append(r.free, uint32(id))
	r.inflight--
}

// WaitCQE returns the first completion without consuming it (see CQAdvance), waiting up to
// timeout for one; a negative timeout waits without limit. It returns ErrTimeout when the
// time runs out, ErrIdle when nothing is in flight.
func (r *Ring) WaitCQE(timeout time.Duration) (CQE, error) {
	if err := r.WaitCQEs(1, timeout); err != nil {
		return CQE{}, err
	}
	return r.cqOut[r.cqOutOff], nil
}

// WaitCQEs waits until at least minN completions are ready for PeekCQEs or timeout passes
// (negative: no limit; zero: only flush what the kernel holds), returning ErrTimeout then,
// or ErrIdle as soon as no request is left in flight. It submits nothing and consumes
// nothing.
func (r *Ring) WaitCQEs(minN int, timeout time.Duration) error {
	if r.closed {
		return ErrClosed
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		r.reap(minN)
		have := len(r.cqOut) - r.cqOutOff
		if have >= minN {
			return nil
		}
		if r.inflight == 0 {
			return ErrIdle
		}
		want := uint32(minN - have) // the kernel's ring is empty now
		var err error
		if timeout < 0 {
			_, err = r.enter(0, want, enterGetevents)
		} else {
			left := time.Until(deadline)
			if left <= 0 {
				if r.flags&SetupDeferTaskrun != 0 {
					r.enter(0, 0, enterGetevents) // run deferred task work once
					if r.reap(minN); len(r.cqOut)-r.cqOutOff >= minN {
						return nil
					}
				}
				return ErrTimeout
			}
			if r.features&FeatExtArg == 0 {
				return &UnsupportedFeatureError{Feature: "IORING_ENTER_EXT_ARG (wait with timeout)", MinKernel: "5.11"}
			}
			_, err = r.enterTimeout(0, want, enterGetevents, int64(left))
		}
		switch err {
		case nil, unix.EINTR, unix.ETIME:
			// Loop: reap, and report a timeout when the deadline has passed.
		default:
			return os.NewSyscallError("io_uring_enter", err)
		}
	}
}

// Close must be called: a ring dropped with requests in flight still has their buffers
// pinned, and the runtime panics when it finds the leaked pins.
//
// Close cancels the requests in flight, waits (up to 5s) for their completions so that no
// buffer is released while the kernel may still use it, then unmaps the rings and closes
// the descriptor. Requests that do not finish in time keep their memory mapped and their
// buffers pinned for the life of the process (a bounded leak instead of a use-after-free).
// Close must run on the owner goroutine; from another thread a SINGLE_ISSUER ring cannot
// cancel, and in-flight requests are then leaked as above.
func (r *Ring) Close() error {
	if r.closed {
		return ErrClosed
	}
	if r.inflight > 0 {
		r.drain(5 * time.Second)
	}
	r.closed = true
	if r.inflight > 0 {
		// The kernel cancels the rest when the fd closes, but we cannot see when.
		leaked.Lock()
		leaked.rings = append(leaked.rings, r)
		leaked.Unlock()
		if err := unix.Close(r.fd); err != nil {
			return os.NewSyscallError("close", err)
		}
		return fmt.Errorf("io_uring: closed with %d requests in flight; their memory is leaked", r.inflight)
	}
	for _, br := range r.bufRings {
		br.unmap()
	}
	r.bufRings = nil
	r.unmapRings()
	r.bufPin.Unpin()
	r.bufs = nil
	if err := unix.Close(r.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// drain submits whatever is pending plus a cancel of everything, then reaps until no
// request is in flight or the timeout passes.
func (r *Ring) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	cancelled := false
	for r.inflight > 0 && time.Now().Before(deadline) {
		if !cancelled && r.sqeTail-load(r.sqHead) < r.sqEntries {
			// An internal request without a slot: its CQE is ignored by CQAdvance.
			e := &r.sqes[r.sqeTail&r.sqMask]
			*e = sqe{Opcode: uint8(OpAsyncCancel), Fd: -1, OpFlags: CancelAny, UserData: internalID}
			r.sqeTail++
			r.pending = append(r.pending, ^uint32(0))
			cancelled = true
		}
		if _, err := r.submit(0); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if err := r.WaitCQEs(1, 50*time.Millisecond); err != nil && err != ErrTimeout && err != ErrIdle {
			return
		}
		var buf [64]CQE
		for {
			n := r.PeekCQEs(buf[:])
			if n == 0 {
				break
			}
			r.CQAdvance(n)
		}
	}
}

// internalID is the user_data of requests the ring makes for itself; no slot matches it.
const internalID = ^uint64(0)
