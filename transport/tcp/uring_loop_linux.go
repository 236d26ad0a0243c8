//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"smb3d/numa"
	"smb3d/transport/tcp/uring"
)

// A ringLoop is one io_uring and the goroutine that owns it, locked to its OS
// thread. It serves one connection or a small set of them (URingConfig.Rings).
// The owner sleeps in io_uring_enter; other goroutines hand it commands
// (writes, close, resume receiving) through a queue and wake it by writing an
// eventfd that has a READ in flight on the ring.
type ringLoop struct {
	pool *ringPool
	node int // NUMA node the loop's thread is pinned to; numa.Unknown when none
	// bufs holds the staging and message buffers of the loop's
	// connections, bound to node; nil when the loop is not placed (they
	// come from the Go heap then). Closed when the loop ends.
	bufs *numa.Pool

	// Shared: any goroutine posts commands.
	mu   sync.Mutex
	cmds []loopCmd
	dead bool        // the loop has ended: post refuses commands
	wake atomic.Bool // an eventfd write is pending or done since the owner last looked
	evfd int

	// nconns is guarded by pool.mu.
	nconns  int
	exiting bool

	// Owned by the loop goroutine.
	r      *uring.Ring
	conns  map[uint32]*URingConn
	nextID uint32
	evBuf  []byte
	cqes   []uring.CQE
	cmdBuf []loopCmd
	// failing: the ring failed with requests in flight; buffers of the
	// connections torn down wait in orphans until the ring's Close says
	// no request is left (or are leaked if it cannot).
	failing bool
	orphans [][]byte
	// fixed: the registered buffers; nil under URingConfig.NoFixedRecv.
	fixed *fixedTable
}

// fixedSlots is the size of a ring's registered-buffer table: more large
// messages than this in the pool at once are received by RECV instead.
const fixedSlots = 256

// fixedTable maps the ring's pool buffers to their slots in the ring's
// registered-buffer table. A buffer is registered, whole, the first time a
// message is received into it, and stays so while the pool keeps it; when
// the pool unmaps it (numa.PoolConfig.OnUnmap, on whatever goroutine gave
// it back), forget drops its address, so that a new mapping at the same
// address is never taken for it, and the loop empties the slot (the kernel
// holds the old pages until then). A slot is only used for a buffer the
// loop holds, so the pool cannot unmap it during a READ_FIXED; a message
// the server still holds when the ring closes stays mapped (the pool's
// rule) and the ring's registration goes with the ring.
type fixedTable struct {
	l  *ringLoop
	mu sync.Mutex
	// Guarded by mu.
	slot  map[uintptr]uint16 // start address of a registered buffer -> slot
	stale []uint16           // slots of buffers unmapped since: to empty

	// Loop goroutine only.
	free []uint16
	off  bool // the table could not be registered: RECV as without
	full int  // a buffer this large did not fit under RLIMIT_MEMLOCK; 0: none
}

// forget is the pool's OnUnmap: b's slot must not serve another mapping.
func (f *fixedTable) forget(b []byte) {
	f.mu.Lock()
	s, ok := f.slot[numa.Addr(b)]
	if ok {
		delete(f.slot, numa.Addr(b))
		f.stale = append(f.stale, s)
	}
	f.mu.Unlock()
	if ok {
		f.l.post(loopCmd{kind: cmdFixedClear}) // refused once the loop has ended
	}
}

// clear empties the stale slots (loop goroutine).
func (f *fixedTable) clear() {
	f.mu.Lock()
	st := f.stale
	f.stale = nil
	f.mu.Unlock()
	for _, s := range st {
		if err := f.l.r.UpdateBuffers(int(s), [][]byte{nil}); err != nil {
			continue // leave the slot out rather than reuse it blind
		}
		f.free = append(f.free, s)
		f.full = 0 // pinned memory was let go: try again
	}
}

// slotOf returns the registered slot of m, a buffer from the loop's pool,
// registering it when it is not yet (loop goroutine); false: receive m
// by RECV.
func (f *fixedTable) slotOf(m []byte) (uint16, bool) {
	if f == nil || f.off {
		return 0, false
	}
	f.clear()
	a := numa.Addr(m)
	f.mu.Lock()
	s, ok := f.slot[a]
	f.mu.Unlock()
	if ok {
		return s, true
	}
	if len(f.free) == 0 {
		return 0, false
	}
	s = f.free[len(f.free)-1]
	if f.full > 0 && cap(m) >= f.full {
		return 0, false // as large as one that did not fit: do not pin it in vain
	}
	if err := f.l.r.UpdateBuffers(int(s), [][]byte{m[:cap(m)]}); err != nil {
		// ENOMEM: over RLIMIT_MEMLOCK, which registered pages count
		// against without CAP_IPC_LOCK (the kernel pins the pages before
		// it finds out): no buffer this large is tried again until a
		// registered one is let go; a smaller one may still fit.
		if errors.Is(err, unix.ENOMEM) {
			f.l.pool.fixedRefused.Add(1)
			f.full = cap(m)
		} else {
			f.off = true
		}
		return 0, false
	}
	f.free = f.free[:len(f.free)-1]
	f.mu.Lock()
	f.slot[a] = s
	f.mu.Unlock()
	return s, true
}

type cmdKind uint8

const (
	cmdAdd cmdKind = iota + 1
	cmdWrite
	cmdResume
	cmdClose
	cmdFixedClear
)

type loopCmd struct {
	kind cmdKind
	c    *URingConn
	w    *writeReq
}

// User data of the loop's requests: connection id << 16 | kind << 8 | index.
const (
	udEventfd  = 1
	udRecv     = 2 // receive into the staging buffer
	udRecvBody = 3 // receive the rest of a message into its own buffer (MSG_WAITALL)
	udSend     = 4 // one request of the current send (SENDMSG batch or sendfile chain)
	udCancel   = 5
	udRecvFixd = 6 // READ_FIXED of the rest of a message into its registered buffer
	udPollFixd = 7 // the POLL_ADD linked before it: a CQE only when it failed
)

func userData(id uint32, kind, idx int) uint64 {
	return uint64(id)<<16 | uint64(kind)<<8 | uint64(idx)
}

// ringPool hands connections to loops: a new loop per connection up to
// cfg.Rings loops, then the least loaded one.
type ringPool struct {
	cfg     URingConfig
	spliced atomic.Uint64 // file bytes sent by SendFile
	// Messages received into registered buffers, and the
	// READ_FIXED completions it took.
	fixedMsgs, fixedReads atomic.Uint64
	fixedRefused          atomic.Uint64 // registrations refused over RLIMIT_MEMLOCK
	mu                    sync.Mutex
	loops                 []*ringLoop
}

func (p *ringPool) assign(node int) (*ringLoop, error) {
	limit := p.cfg.Rings
	if limit <= 0 {
		limit = 4 * runtime.GOMAXPROCS(0)
	}
	p.mu.Lock()
	if len(p.loops) >= limit {
		// Share the least loaded ring of the same node (any ring when
		// none is on that node).
		var best *ringLoop
		for _, l := range p.loops {
			if l.node == node && (best == nil || l.nconns < best.nconns) {
				best = l
			}
		}
		if best == nil {
			best = p.loops[0]
			for _, l := range p.loops[1:] {
				if l.nconns < best.nconns {
					best = l
				}
			}
		}
		best.nconns++
		p.mu.Unlock()
		return best, nil
	}
	p.mu.Unlock()
	l, err := startLoop(p, node)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	l.nconns = 1
	p.loops = append(p.loops, l)
	p.mu.Unlock()
	return l, nil
}

// release drops one connection from l and reports whether l must exit.
func (p *ringPool) release(l *ringLoop) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.nconns--
	if l.nconns > 0 {
		return false
	}
	l.exiting = true
	for i, x := range p.loops {
		if x == l {
			p.loops = append(p.loops[:i], p.loops[i+1:]...)
			break
		}
	}
	return true
}

// startLoop starts a loop goroutine and waits until its ring exists.
func startLoop(p *ringPool, node int) (*ringLoop, error) {
	l := &ringLoop{pool: p, node: node, conns: make(map[uint32]*URingConn), evBuf: make([]byte, 8), cqes: make([]uring.CQE, 64)}
	ready := make(chan error, 1)
	go l.run(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

func (l *ringLoop) run(ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pcfg := numa.PoolConfig{MinSize: stageSize, MaxSize: MaxFrame + 1}
	if !l.pool.cfg.NoFixedRecv {
		l.fixed = &fixedTable{l: l, slot: make(map[uintptr]uint16)}
		pcfg.OnUnmap = l.fixed.forget
	}
	if l.node != numa.Unknown {
		// The ring is created on this thread, so the kernel allocates its
		// memory on the node; the connections' buffers are bound to it.
		if err := numa.PinThread(l.node); err != nil {
			l.node = numa.Unknown
		} else {
			l.bufs = numa.NewPool(l.node, pcfg)
		}
	}
	if l.bufs == nil && l.fixed != nil {
		// Registered buffers come from a pool of the loop's own, placed
		// or not.
		l.bufs = numa.NewPool(numa.Unknown, pcfg)
	}
	defer func() {
		if l.bufs != nil {
			l.bufs.Close() // buffers the server still holds go when released
		}
	}()
	entries := l.pool.cfg.Entries
	if entries == 0 {
		entries = 256
	}
	ucfg := uring.Config{Entries: entries, MaxInflight: int(entries) * 2, Disable: l.pool.cfg.DisableSetup}
	if l.bufs != nil {
		ucfg.Mem = nodeMem(l.node) // provided-buffer rings, registered buffers
	}
	r, err := uring.New(ucfg)
	if err != nil {
		ready <- err
		return
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		r.Close()
		ready <- os.NewSyscallError("eventfd", err)
		return
	}
	l.r, l.evfd = r, fd
	if l.fixed != nil {
		if err := r.RegisterBuffersSparse(fixedSlots); err != nil {
			l.fixed.off = true // an old kernel: RECV as without
		}
		for s := fixedSlots - 1; s >= 0; s-- {
			l.fixed.free = append(l.fixed.free, uint16(s))
		}
	}
	if pl := l.pool.cfg.Placement; l.node != numa.Unknown && pl != nil {
		if set, ok := pl.Topology().CPUSet(l.node); ok {
			r.RegisterIOWQAff(&set) // io-wq workers (splice, file I/O) on the node
		}
	}
	if err := l.armEventfd(); err != nil {
		r.Close()
		unix.Close(fd)
		ready <- err
		return
	}
	ready <- nil
	err = l.serve()
	if err == nil {
		err = errClosed
	} else {
		err = fmt.Errorf("tcp-uring: ring: %w", err)
	}
	// The ring is gone or failing: every connection still here is dead,
	// and so is every command still queued.
	l.mu.Lock()
	l.dead = true
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, cmd := range cmds {
		switch cmd.kind {
		case cmdWrite:
			cmd.w.finish(err)
		case cmdAdd:
			cmd.c.fail(err)
			cmd.c.wmu.Lock()
			cmd.c.fdClosed = true
			unix.Close(cmd.c.fd)
			cmd.c.wmu.Unlock()
			l.pool.release(l)
		}
	}
	l.failing = true
	for _, c := range l.conns {
		c.fail(err)
		c.inflight = 0
		l.closeConnNow(c)
	}
	if r.Close() == nil {
		// No request is left in flight: the buffers can go.
		for _, b := range l.orphans {
			l.bufs.Put(b)
		}
	} // else the kernel may still write them: leaked with the ring's memory
	l.orphans = nil
	unix.Close(fd)
}

// nodeMem is a uring.Allocator bound to a node (numa.Alloc).
type nodeMem int

func (m nodeMem) Alloc(n int) ([]byte, error) { return numa.Alloc(n, int(m)) }
func (m nodeMem) Free(b []byte) error         { return numa.Free(b) }

// serve runs until the last connection has gone, or the ring fails.
func (l *ringLoop) serve() error {
	for {
		l.wake.Store(false)
		if l.runCmds() {
			return nil
		}
		if _, err := l.r.SubmitAndWait(1); err != nil {
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EBUSY) {
				return err
			}
		}
		for {
			n := l.r.PeekCQEs(l.cqes)
			if n == 0 {
				break
			}
			for _, cqe := range l.cqes[:n] {
				if l.complete(cqe) {
					l.r.CQAdvance(n)
					return nil
				}
			}
			l.r.CQAdvance(n)
		}
	}
}

// post hands a command to the loop and wakes it; it reports false when the
// loop has ended.
func (l *ringLoop) post(cmd loopCmd) bool {
	l.mu.Lock()
	if l.dead {
		l.mu.Unlock()
		return false
	}
	l.cmds = append(l.cmds, cmd)
	l.mu.Unlock()
	if l.wake.CompareAndSwap(false, true) {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		for {
			if _, err := unix.Write(l.evfd, one[:]); err != unix.EINTR {
				break
			}
		}
	}
	return true
}

// runCmds runs the posted commands; it reports whether the loop must exit.
func (l *ringLoop) runCmds() bool {
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = l.cmdBuf[:0]
	l.mu.Unlock()
	exit := false
	for i, cmd := range cmds {
		c := cmd.c
		switch cmd.kind {
		case cmdAdd:
			l.nextID++
			if l.nextID == 0 {
				l.nextID = 1
			}
			c.id = l.nextID
			l.conns[c.id] = c
			l.pump(c)
		case cmdWrite:
			if c.closing || c.werr != nil {
				err := c.werr
				if err == nil {
					err = errClosed
				}
				cmd.w.finish(err)
				break
			}
			c.wq = append(c.wq, cmd.w)
			l.startSend(c)
		case cmdResume:
			l.pump(c)
		case cmdClose:
			exit = l.closeConn(c) || exit
		case cmdFixedClear:
			l.fixed.clear()
		}
		cmds[i] = loopCmd{}
	}
	l.cmdBuf = cmds[:0]
	return exit
}

func (l *ringLoop) armEventfd() error {
	s, err := l.sqe()
	if err != nil {
		return err
	}
	s.PrepRead(l.evfd, l.evBuf, 0)
	s.SetUserData(userData(0, udEventfd, 0))
	return nil
}

// sqe returns a free SQE, submitting first when the SQ is full.
func (l *ringLoop) sqe() (uring.SQE, error) {
	s, err := l.r.GetSQE()
	if errors.Is(err, uring.ErrSQFull) {
		if _, err := l.r.Submit(); err != nil {
			return s, err
		}
		s, err = l.r.GetSQE()
	}
	return s, err
}

// complete handles one CQE; it reports whether the loop must exit.
func (l *ringLoop) complete(cqe uring.CQE) bool {
	id := uint32(cqe.UserData >> 16)
	kind := int(cqe.UserData>>8) & 0xff
	idx := int(cqe.UserData & 0xff)
	if kind == udEventfd {
		if err := l.armEventfd(); err != nil {
			// Without the wake-up read the loop cannot hear commands.
			panic(fmt.Sprintf("tcp-uring: re-arming the eventfd read: %v", err))
		}
		return false
	}
	c := l.conns[id]
	if c == nil || kind == udPollFixd {
		// The read linked to a failed poll reports the failure.
		return false
	}
	c.inflight--
	switch kind {
	case udRecv:
		c.recvArmed = false
		l.recvDone(c, cqe.Res, false)
	case udRecvBody:
		c.recvArmed = false
		l.recvDone(c, cqe.Res, true)
	case udRecvFixd:
		c.recvArmed = false
		l.pool.fixedReads.Add(1)
		l.recvDone(c, cqe.Res, true)
	case udSend:
		l.sendDone(c, idx, cqe.Res)
	case udCancel:
	}
	if c.closing && c.inflight == 0 {
		return l.closeConnNow(c)
	}
	return false
}
