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
}

type cmdKind uint8

const (
	cmdAdd cmdKind = iota + 1
	cmdWrite
	cmdResume
	cmdClose
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
)

func userData(id uint32, kind, idx int) uint64 {
	return uint64(id)<<16 | uint64(kind)<<8 | uint64(idx)
}

// ringPool hands connections to loops: a new loop per connection up to
// cfg.Rings loops, then the least loaded one.
type ringPool struct {
	cfg     URingConfig
	spliced atomic.Uint64 // file bytes sent by SendFile
	mu      sync.Mutex
	loops   []*ringLoop
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
	if l.node != numa.Unknown {
		// The ring is created on this thread, so the kernel allocates its
		// memory on the node; the connections' buffers are bound to it.
		if err := numa.PinThread(l.node); err != nil {
			l.node = numa.Unknown
		} else {
			l.bufs = numa.NewPool(l.node, numa.PoolConfig{MinSize: stageSize, MaxSize: MaxFrame + 1})
		}
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
	if c == nil {
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
	case udSend:
		l.sendDone(c, idx, cqe.Res)
	case udCancel:
	}
	if c.closing && c.inflight == 0 {
		return l.closeConnNow(c)
	}
	return false
}
