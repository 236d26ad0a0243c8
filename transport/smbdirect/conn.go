package smbdirect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/numa"
	"smb3d/rdma-core-bindings"
	"smb3d/transport"
)

// Work request IDs carry their kind in the top two bits and a slot index
// or an operation number below.
const (
	kindRecv uint64 = 0 << 62
	kindSend uint64 = 1 << 62
	kindRDMA uint64 = 2 << 62
	kindMask uint64 = 3 << 62
)

// slots is registered memory carved into equal slots.
type slots struct {
	mr   rdma.MemoryRegion
	size int
	n    int
}

func (s *slots) bytes(i int) []byte    { return s.mr.Bytes()[i*s.size : (i+1)*s.size] }
func (s *slots) sge(i, n int) rdma.SGE { return s.mr.SGE(i*s.size, n) }

// Pool is a set of pre-registered buffers that RDMA reads and writes go
// through, shared by the connections on one protection domain (device).
type Pool struct {
	s    slots
	free chan int
}

// NewPool makes a pool of mr.Bytes() cut into buffers of size bytes. The
// memory must be registered with local write access.
func NewPool(mr rdma.MemoryRegion, size int) *Pool {
	n := len(mr.Bytes()) / size
	p := &Pool{s: slots{mr: mr, size: size, n: n}, free: make(chan int, n)}
	for i := range n {
		p.free <- i
	}
	return p
}

// Resources are what a connection runs on. The Conn owns them from
// newConn on: Release is called once, after the completion loop ended,
// and must destroy the QP before the CQ and the memory regions.
type Resources struct {
	QP      rdma.QueuePair
	CQ      rdma.CompletionQueue
	Recv    rdma.MemoryRegion // ReceiveCreditMax x MaxReceiveSize, local write
	Send    rdma.MemoryRegion // SendBuffers x MaxSendSize
	Pool    *Pool
	Local   netip.AddrPort
	Remote  netip.AddrPort
	Release func()
	// ReadDepth is the number of RDMA reads the QP may have in flight
	// (the initiator depth agreed with the peer).
	ReadDepth int
	// Register, if set, registers memory in the connection's protection
	// domain (Conn.Register).
	Register func(mem []byte, access rdma.Access) (rdma.MemoryRegion, error)
	// Placed says the connection is placed on NUMA node Node (its RDMA
	// device's, by Options.Placement, which the listener also binds its
	// registered memory to): the completion loop runs on an OS thread
	// pinned to the node's CPUs, and NUMANode reports it.
	Placed bool
	Node   int
}

const (
	phaseNegotiate = iota
	phaseData
)

// Conn is an SMB Direct connection (MS-SMBD 3.1). It implements
// transport.RDMAConn.
//
// Goroutines: the completion loop (loop) owns the CQ and handles every
// completion; the control goroutine sends the messages the protocol needs
// by itself (credit grants, responses to SMB_DIRECT_RESPONSE_REQUESTED,
// keepalives) and runs the idle timer; ReadMessage's caller takes whole
// messages; writers send under writeMu. Everything shared is under mu.
type Conn struct {
	opts   Options
	r      Resources
	server bool
	recv   slots
	send   slots
	log    func(msg string, args ...any)
	debug  bool // per-message debug logs

	// fixed once negotiated
	maxSend     int // bytes per data transfer message sent, header included
	peerMaxFrag int // largest message the peer reassembles
	peerMaxRW   int // the server's MaxReadWriteSize (client side only)
	maxMsg      atomic.Int64

	writeMu sync.Mutex // one upper-layer message's fragments at a time

	mu   sync.Mutex
	wake chan struct{} // closed and replaced when the state below changes
	err  error         // why the connection ended; nil while it lives

	phase       int
	negMsg      []byte // the negotiate message received
	sendCredits int    // credits the peer granted us, not yet used
	peerTarget  int    // credits the peer asks to hold
	posted      int    // receives posted
	granted     int    // posted receives granted to the peer, not yet used by it
	freeSend    []int
	deferred    []int // receive slots not reposted while the queue is full
	msgs        [][]byte
	queued      int // bytes in msgs and partial
	partial     []byte
	partialRem  uint32
	inPartial   bool
	lastRecv    time.Time
	respRequest bool      // the peer set SMB_DIRECT_RESPONSE_REQUESTED
	kaSent      time.Time // an unanswered keepalive was sent then
	ops         map[uint64]chan rdma.Completion
	opSeq       uint64

	node    atomic.Int32 // NUMA node of the completion loop; numa.Unknown when not placed
	loopTID atomic.Int32 // the pinned completion loop's thread (0: not pinned)

	rdmaSem  chan struct{}
	readSem  chan struct{}
	kick     chan struct{}
	dead     chan struct{} // closed with err
	cancel   context.CancelFunc
	loopDone chan struct{}
	ctlDone  chan struct{}
	released chan struct{}
	closing  sync.Once
	discs    sync.WaitGroup // Disconnect calls in flight, done before Release
}

var _ transport.RDMAConn = (*Conn)(nil)

// newConn takes over r, posts every receive and starts the completion
// loop. The caller then accepts (or connects) and negotiates.
func newConn(r Resources, opts Options, server bool) (*Conn, error) {
	opts = opts.withDefaults()
	c := &Conn{
		opts: opts, r: r, server: server,
		recv:     slots{mr: r.Recv, size: opts.MaxReceiveSize, n: len(r.Recv.Bytes()) / opts.MaxReceiveSize},
		send:     slots{mr: r.Send, size: opts.MaxSendSize, n: len(r.Send.Bytes()) / opts.MaxSendSize},
		wake:     make(chan struct{}),
		ops:      make(map[uint64]chan rdma.Completion),
		rdmaSem:  make(chan struct{}, opts.RDMADepth),
		readSem:  make(chan struct{}, max(1, r.ReadDepth)),
		kick:     make(chan struct{}, 1),
		dead:     make(chan struct{}),
		loopDone: make(chan struct{}),
		ctlDone:  make(chan struct{}),
		released: make(chan struct{}),
		lastRecv: time.Now(),
		maxSend:  opts.MaxSendSize,
	}
	c.maxMsg.Store(int64(opts.MaxFragmentedSize))
	c.node.Store(numa.Unknown)
	if r.Placed {
		c.node.Store(int32(r.Node))
	}
	lg := opts.Logger.With("transport", "smbdirect", "remote", r.Remote.String())
	c.log = lg.Debug
	c.debug = lg.Enabled(context.Background(), slog.LevelDebug)
	if c.recv.n < 1 || c.send.n < 1 {
		return nil, errors.New("smbdirect: no receive or send buffers")
	}
	for i := range c.send.n {
		c.freeSend = append(c.freeSend, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.mu.Lock()
	var wrs []rdma.RecvWR
	for i := range c.recv.n {
		wrs = append(wrs, rdma.RecvWR{ID: kindRecv | uint64(i), SGL: []rdma.SGE{c.recv.sge(i, c.recv.size)}})
		if len(wrs) == 64 || i == c.recv.n-1 {
			if err := r.QP.PostRecv(wrs...); err != nil {
				c.mu.Unlock()
				cancel()
				return nil, err
			}
			c.posted += len(wrs)
			wrs = wrs[:0]
		}
	}
	c.mu.Unlock()
	go c.loop(ctx)
	go c.control()
	return c, nil
}

// broadcast wakes every waiter; mu held.
func (c *Conn) broadcast() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// waitLocked waits for a state change, the deadline or the end of the
// connection; mu is held on entry and on return. It reports false when
// the deadline passed.
func (c *Conn) waitLocked(deadline time.Time) bool {
	ch := c.wake
	c.mu.Unlock()
	defer c.mu.Lock()
	if deadline.IsZero() {
		<-ch
		return true
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

func (c *Conn) kickControl() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// fail ends the connection with err (the first error wins): the QP is
// disconnected, so every outstanding work request completes flushed.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
}

func (c *Conn) failLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if !errors.Is(err, ErrClosed) && !errors.Is(err, io.EOF) {
		c.opts.Logger.Warn("smbdirect: disconnecting", "remote", c.r.Remote.String(), "err", err)
	}
	close(c.dead)
	c.broadcast()
	// not under mu (rdma_disconnect may take a while), and finished
	// before Close releases the endpoint
	c.discs.Add(1)
	go func() {
		defer c.discs.Done()
		c.r.QP.Disconnect()
	}()
}

// loop handles completions until Close.
func (c *Conn) loop(ctx context.Context) {
	defer close(c.loopDone)
	if c.r.Placed && c.r.Node != numa.Unknown {
		// Completions are handled on the node whose memory they touch.
		// The thread is not unlocked: it exits with the goroutine rather
		// than go back to the scheduler pinned.
		runtime.LockOSThread()
		var err error
		if pl := c.opts.Placement; pl != nil {
			err = pl.Topology().PinThread(c.r.Node)
		} else {
			err = numa.PinThread(c.r.Node)
		}
		if err != nil {
			c.opts.Logger.Warn("smbdirect: completion thread not pinned", "node", c.r.Node, "err", err)
			c.node.Store(numa.Unknown)
		}
		c.loopTID.Store(int32(numa.ThreadID()))
	}
	wcs := make([]rdma.Completion, 64)
	for {
		n, err := c.r.CQ.Wait(ctx, wcs)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(&ConnError{Reason: "completion queue", Err: err})
			}
			return
		}
		for i := range wcs[:n] {
			c.complete(&wcs[i])
		}
	}
}

func (c *Conn) complete(wc *rdma.Completion) {
	idx := wc.WRID &^ kindMask
	switch wc.WRID & kindMask {
	case kindRecv:
		c.onRecv(int(idx), wc)
	case kindSend:
		c.mu.Lock()
		c.freeSend = append(c.freeSend, int(idx))
		if err := wc.Err(); err != nil {
			c.failLocked(c.wcErr("send", err))
		}
		c.broadcast()
		c.mu.Unlock()
	case kindRDMA:
		c.mu.Lock()
		ch := c.ops[idx]
		delete(c.ops, idx)
		c.mu.Unlock()
		if ch != nil {
			ch <- *wc
		}
	}
}

// wcErr turns a failed completion into the connection's error: a flush
// means the connection was already going down.
func (c *Conn) wcErr(op string, err error) error {
	if errors.Is(err, rdma.WCWRFlushErr) {
		return io.EOF
	}
	return &ConnError{Reason: op + " failed", Err: err}
}

// onRecv handles a receive completion (MS-SMBD 3.1.5.8, 3.1.5.6/7 while
// negotiating).
func (c *Conn) onRecv(idx int, wc *rdma.Completion) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posted--
	if err := wc.Err(); err != nil {
		c.failLocked(c.wcErr("receive", err))
		return
	}
	if c.err != nil {
		return
	}
	if int(wc.ByteLen) > c.recv.size {
		c.failLocked(connErr("oversized receive", "%d bytes in a %d-byte buffer", wc.ByteLen, c.recv.size))
		return
	}
	b := c.recv.bytes(idx)[:wc.ByteLen]
	c.lastRecv = time.Now()
	c.kaSent = time.Time{}
	if c.phase == phaseNegotiate {
		if c.negMsg != nil {
			c.failLocked(connErr("message before negotiation", "a second message before the negotiate response"))
			return
		}
		c.negMsg = append([]byte{}, b...)
		c.repostLocked(idx)
		c.broadcast()
		return
	}
	// MS-SMBD 3.1.5.8: a message uses one of the credits granted to the
	// peer; one without a credit breaks the protocol.
	if c.granted == 0 {
		c.failLocked(connErr("no credit", "the peer sent a message without a receive credit"))
		return
	}
	c.granted--
	m := DataTransfer(b)
	if err := m.Validate(); err != nil {
		c.failLocked(&ConnError{Reason: "malformed data transfer", Err: err})
		return
	}
	c.peerTarget = max(1, int(m.CreditsRequested()))
	c.sendCredits = min(c.sendCredits+int(m.CreditsGranted()), 1<<20)
	if m.Flags()&FlagResponseRequested != 0 {
		c.respRequest = true
		c.kickControl()
	}
	if m.DataLength() > 0 {
		if err := c.reassembleLocked(m.Data(), m.RemainingDataLength()); err != nil {
			c.failLocked(err)
			return
		}
	}
	if c.queued <= c.queueLimit() {
		c.repostLocked(idx)
	} else {
		c.deferred = append(c.deferred, idx)
	}
	if c.err == nil && c.grantableLocked() > 0 && c.granted <= c.lowWater() {
		c.kickControl()
	}
	c.broadcast()
}

// queueLimit bounds the bytes received and not yet read before receives
// stop being reposted (and so credits stop being granted).
func (c *Conn) queueLimit() int { return 2 * c.opts.MaxFragmentedSize }

// lowWater is the number of credits held by the peer below which the
// control goroutine grants more without waiting for a message to carry
// them.
func (c *Conn) lowWater() int { return max(1, min(c.peerTarget, c.recv.n)/2) }

// reassembleLocked adds a fragment (MS-SMBD 3.1.5.8: RemainingDataLength
// is what follows this fragment; the first fragment fixes the total).
func (c *Conn) reassembleLocked(d []byte, rem uint32) error {
	if !c.inPartial {
		total := uint64(len(d)) + uint64(rem)
		if total > uint64(c.opts.MaxFragmentedSize) || total > uint64(c.maxMsg.Load()) {
			return &ConnError{Reason: "message too large", Err: fmt.Errorf("%w: %d bytes", transport.ErrMessageTooLarge, total)}
		}
		if rem == 0 {
			c.msgs = append(c.msgs, append([]byte(nil), d...))
			c.queued += len(d)
			stats.msgRecv.Add(1)
			if c.debug {
				c.log("message in", "bytes", len(d), "send_credits", c.sendCredits, "granted", c.granted)
			}
			return nil
		}
		c.partial = append(make([]byte, 0, total), d...)
		c.partialRem, c.inPartial = rem, true
		c.queued += len(d)
		return nil
	}
	if uint64(len(d))+uint64(rem) != uint64(c.partialRem) {
		return connErr("fragment mismatch", "fragment of %d bytes with %d remaining after %d announced", len(d), rem, c.partialRem)
	}
	c.partial = append(c.partial, d...)
	c.queued += len(d)
	c.partialRem = rem
	if rem == 0 {
		c.msgs = append(c.msgs, c.partial)
		c.partial, c.inPartial = nil, false
		stats.msgRecv.Add(1)
	}
	return nil
}

func (c *Conn) repostLocked(idx int) {
	if c.err != nil {
		return
	}
	if err := c.r.QP.PostRecv(rdma.RecvWR{ID: kindRecv | uint64(idx), SGL: []rdma.SGE{c.recv.sge(idx, c.recv.size)}}); err != nil {
		c.failLocked(&ConnError{Reason: "post receive", Err: err})
		return
	}
	c.posted++
}

// grantableLocked is the number of credits the next message grants:
// posted receives not yet granted, up to what the peer asked for
// (MS-SMBD 3.1.5.9).
func (c *Conn) grantableLocked() int {
	avail := c.posted - c.granted
	want := c.peerTarget - c.granted
	if c.granted == 0 {
		want = max(want, 1) // never leave the peer without a credit
	}
	return max(0, min(avail, want, 65535))
}

// mayUseCreditLocked reports whether a message granting g credits may be
// sent now. MS-SMBD 3.1.5.1: the last send credit is not spent on a message
// that leaves the peer without a credit, or the peer could never send the
// grant we then need; it is spent when the message grants credits, or when
// the peer already holds some to answer with.
func (c *Conn) mayUseCreditLocked(g int) bool {
	return c.sendCredits > 1 || c.sendCredits == 1 && (g > 0 || c.granted > 0)
}

// acquireLocked waits for a send buffer and a send credit and takes them,
// together with the credits the message grants. A peer that grants nothing
// within CreditTimeout is disconnected.
func (c *Conn) acquireLocked() (slot, grant int, err error) {
	deadline := time.Now().Add(c.opts.CreditTimeout)
	for {
		if c.err != nil {
			return 0, 0, c.err
		}
		g := c.grantableLocked()
		if len(c.freeSend) > 0 && c.mayUseCreditLocked(g) {
			slot = c.freeSend[len(c.freeSend)-1]
			c.freeSend = c.freeSend[:len(c.freeSend)-1]
			c.sendCredits--
			c.granted += g
			return slot, g, nil
		}
		if !c.waitLocked(deadline) {
			c.failLocked(&ConnError{Reason: "send credits exhausted", Err: ErrCreditTimeout})
		}
	}
}

// sendData sends one data transfer message: hdr with the credits filled
// in, and n payload bytes taken from the cursor. inv != 0 sends it with
// invalidate.
func (c *Conn) sendData(hdr DataHeader, cur *cursor, inv uint32) error {
	c.mu.Lock()
	slot, grant, err := c.acquireLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	hdr.CreditsRequested = uint16(c.opts.SendCreditTarget)
	hdr.CreditsGranted = uint16(grant)
	buf := c.send.bytes(slot)
	b := hdr.Append(buf[:0])
	n := len(b)
	if hdr.DataLength > 0 {
		n += cur.copyTo(buf[n : n+int(hdr.DataLength)])
	}
	wr := rdma.SendWR{ID: kindSend | uint64(slot), Op: rdma.OpSend, Flags: rdma.SendSignaled, SGL: []rdma.SGE{c.send.sge(slot, n)}}
	if inv != 0 {
		wr.Op, wr.InvalidateRKey = rdma.OpSendWithInv, inv
	}
	if err := c.r.QP.PostSend(wr); err != nil {
		c.mu.Lock()
		c.freeSend = append(c.freeSend, slot)
		c.failLocked(&ConnError{Reason: "post send", Err: err})
		c.mu.Unlock()
		return err
	}
	return nil
}

// sendRaw sends a negotiate message; it needs no credit.
func (c *Conn) sendRaw(p []byte) error {
	c.mu.Lock()
	for len(c.freeSend) == 0 && c.err == nil {
		c.waitLocked(time.Time{})
	}
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	slot := c.freeSend[len(c.freeSend)-1]
	c.freeSend = c.freeSend[:len(c.freeSend)-1]
	c.mu.Unlock()
	n := copy(c.send.bytes(slot), p)
	return c.r.QP.PostSend(rdma.SendWR{ID: kindSend | uint64(slot), Op: rdma.OpSend, Flags: rdma.SendSignaled, SGL: []rdma.SGE{c.send.sge(slot, n)}})
}

// cursor walks a list of buffers.
type cursor struct{ bufs [][]byte }

func (cu *cursor) copyTo(p []byte) int {
	n := 0
	for n < len(p) && len(cu.bufs) > 0 {
		k := copy(p[n:], cu.bufs[0])
		n += k
		cu.bufs[0] = cu.bufs[0][k:]
		if len(cu.bufs[0]) == 0 {
			cu.bufs = cu.bufs[1:]
		}
	}
	return n
}

// WriteMessage sends bufs as one upper-layer message, fragmented into
// data transfer messages of the negotiated send size (MS-SMBD 3.1.5.1).
func (c *Conn) WriteMessage(bufs ...[]byte) error { return c.write(0, bufs) }

// WriteMessageInvalidate sends a message whose first fragment goes by
// Send with Invalidate, invalidating token at the peer (MS-SMBD 3.1.4.1,
// SMB2_CHANNEL_RDMA_V1_INVALIDATE).
func (c *Conn) WriteMessageInvalidate(token uint32, bufs ...[]byte) error {
	return c.write(token, bufs)
}

func (c *Conn) write(inv uint32, bufs [][]byte) error {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return errors.New("smbdirect: empty message")
	}
	if total > c.peerMaxFrag {
		return fmt.Errorf("%w: %d bytes, the peer reassembles at most %d", transport.ErrMessageTooLarge, total, c.peerMaxFrag)
	}
	cur := &cursor{bufs: append([][]byte(nil), bufs...)}
	per := c.maxSend - DataOffset
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.debug {
		start := time.Now()
		defer func() { c.log("message out", "bytes", total, "inv", inv != 0, "took", time.Since(start)) }()
	}
	for sent := 0; sent < total; {
		n := min(per, total-sent)
		h := DataHeader{RemainingDataLength: uint32(total - sent - n), DataLength: uint32(n)}
		if err := c.sendData(h, cur, inv); err != nil {
			return err
		}
		inv = 0
		sent += n
		stats.frags.Add(1)
	}
	stats.msgSent.Add(1)
	return nil
}

// ReadMessage returns the next reassembled upper-layer message.
func (c *Conn) ReadMessage() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.msgs) == 0 {
		if c.err != nil {
			return nil, c.err
		}
		c.waitLocked(time.Time{})
	}
	m := c.msgs[0]
	c.msgs[0] = nil
	c.msgs = c.msgs[1:]
	c.queued -= len(m)
	for len(c.deferred) > 0 && c.queued <= c.queueLimit() && c.err == nil {
		idx := c.deferred[len(c.deferred)-1]
		c.deferred = c.deferred[:len(c.deferred)-1]
		c.repostLocked(idx)
		c.kickControl()
	}
	return m, nil
}

// SetMaxMessage bounds the messages ReadMessage accepts (never above
// MaxFragmentedSize).
func (c *Conn) SetMaxMessage(n int) {
	c.maxMsg.Store(int64(min(n, c.opts.MaxFragmentedSize)))
}

// control sends empty messages when the protocol needs them and runs the
// keepalive timer (MS-SMBD 3.1.6.2).
func (c *Conn) control() {
	defer close(c.ctlDone)
	tick := max(10*time.Millisecond, min(time.Second, c.opts.KeepaliveTimeout/2, c.opts.KeepaliveInterval/2))
	t := time.NewTicker(tick)
	defer t.Stop()
	qpDone := c.r.QP.Done()
	for {
		select {
		case <-c.dead:
			return
		case <-qpDone:
			err := c.r.QP.Err()
			if err == nil || errors.Is(err, rdma.ErrDisconnected) {
				err = io.EOF
			}
			c.fail(err)
			return
		case <-c.kick:
		case <-t.C:
		}
		c.mu.Lock()
		if c.phase != phaseData || c.err != nil {
			c.mu.Unlock()
			continue
		}
		now := time.Now()
		var flags uint16
		send := false
		switch {
		case !c.kaSent.IsZero() && now.Sub(c.kaSent) > c.opts.KeepaliveTimeout:
			c.failLocked(&ConnError{Reason: "keepalive timeout", Err: ErrKeepaliveTimeout})
			c.mu.Unlock()
			return
		case c.kaSent.IsZero() && now.Sub(c.lastRecv) > c.opts.KeepaliveInterval:
			flags, send = FlagResponseRequested, true
			c.kaSent = now
			stats.kas.Add(1)
		}
		if c.respRequest {
			c.respRequest, send = false, true
		}
		if c.grantableLocked() > 0 && c.granted <= c.lowWater() {
			send = true
			stats.grants.Add(1)
		}
		c.mu.Unlock()
		if send {
			// the message grants what it can; with the write lock it
			// does not split another message's fragments (it could, the
			// peer ignores empty messages in reassembly, but this keeps
			// the order simple)
			c.sendData(DataHeader{Flags: flags}, &cursor{}, 0)
		}
	}
}

// serverNegotiate waits for the negotiate request and answers it
// (MS-SMBD 3.1.5.6).
func (c *Conn) serverNegotiate() error {
	req, err := c.waitNegotiate()
	if err != nil {
		return err
	}
	r := NegotiateRequest(req)
	if err := r.Validate(); err != nil {
		return &ConnError{Reason: "negotiate request", Err: err}
	}
	// "If MinVersion is greater than 0x0100 or MaxVersion is less than
	// 0x0100, the server MUST send a negotiate response with Status
	// STATUS_NOT_SUPPORTED and then terminate the connection."
	if r.MinVersion() > Version || r.MaxVersion() < Version {
		resp := NegotiateResponseFields{MinVersion: Version, MaxVersion: Version, Status: StatusNotSupported}
		c.sendRaw(resp.Append(nil))
		c.drainSends(time.Second)
		return connErr("negotiate version", "peer versions %#04x-%#04x", r.MinVersion(), r.MaxVersion())
	}
	switch {
	case r.CreditsRequested() == 0:
		return connErr("negotiate request", "no credits requested")
	case r.MaxReceiveSize() < MinReceiveSize:
		return connErr("negotiate request", "MaxReceiveSize %d below %d", r.MaxReceiveSize(), MinReceiveSize)
	case r.MaxFragmentedSize() < MinFragmentedSize:
		return connErr("negotiate request", "MaxFragmentedSize %d below %d", r.MaxFragmentedSize(), MinFragmentedSize)
	}
	c.mu.Lock()
	c.maxSend = min(c.opts.MaxSendSize, int(r.MaxReceiveSize()))
	c.peerMaxFrag = int(r.MaxFragmentedSize())
	c.peerTarget = int(r.CreditsRequested())
	grant := min(c.posted, c.peerTarget, 65535)
	c.granted = grant
	c.phase = phaseData
	peerTarget := c.peerTarget
	c.mu.Unlock()
	resp := NegotiateResponseFields{
		MinVersion: Version, MaxVersion: Version, NegotiatedVersion: Version,
		CreditsRequested: uint16(c.opts.SendCreditTarget), CreditsGranted: uint16(grant),
		Status:            StatusSuccess,
		MaxReadWriteSize:  uint32(c.opts.MaxReadWriteSize),
		PreferredSendSize: uint32(c.maxSend),
		MaxReceiveSize:    uint32(c.opts.MaxReceiveSize),
		MaxFragmentedSize: uint32(c.opts.MaxFragmentedSize),
	}
	if err := c.sendRaw(resp.Append(nil)); err != nil {
		return err
	}
	c.log("negotiated", "send_size", c.maxSend, "peer_fragmented", c.peerMaxFrag, "credits_granted", grant, "peer_credit_target", peerTarget)
	return nil
}

// clientNegotiate sends the negotiate request and checks the response
// (MS-SMBD 3.1.5.2, 3.1.5.7).
func (c *Conn) clientNegotiate() error {
	req := NegotiateRequestFields{MinVersion: Version, MaxVersion: Version,
		CreditsRequested:  uint16(c.opts.SendCreditTarget),
		PreferredSendSize: uint32(c.opts.MaxSendSize),
		MaxReceiveSize:    uint32(c.opts.MaxReceiveSize),
		MaxFragmentedSize: uint32(c.opts.MaxFragmentedSize)}
	if err := c.sendRaw(req.Append(nil)); err != nil {
		return err
	}
	b, err := c.waitNegotiate()
	if err != nil {
		return err
	}
	r := NegotiateResponse(b)
	if err := r.Validate(); err != nil {
		return &ConnError{Reason: "negotiate response", Err: err}
	}
	switch {
	case r.Status() != StatusSuccess:
		return connErr("negotiate refused", "status %#08x", r.Status())
	case r.NegotiatedVersion() != Version:
		return connErr("negotiate response", "version %#04x", r.NegotiatedVersion())
	case r.CreditsRequested() == 0 || r.CreditsGranted() == 0:
		return connErr("negotiate response", "credits requested %d granted %d", r.CreditsRequested(), r.CreditsGranted())
	case r.PreferredSendSize() > uint32(c.opts.MaxReceiveSize):
		return connErr("negotiate response", "PreferredSendSize %d above our MaxReceiveSize", r.PreferredSendSize())
	case r.MaxReceiveSize() < MinReceiveSize || r.MaxFragmentedSize() < MinFragmentedSize:
		return connErr("negotiate response", "MaxReceiveSize %d MaxFragmentedSize %d", r.MaxReceiveSize(), r.MaxFragmentedSize())
	}
	c.mu.Lock()
	c.maxSend = min(c.opts.MaxSendSize, int(r.MaxReceiveSize()))
	c.peerMaxFrag = int(r.MaxFragmentedSize())
	c.peerMaxRW = int(r.MaxReadWriteSize())
	c.peerTarget = int(r.CreditsRequested())
	c.sendCredits = int(r.CreditsGranted())
	c.phase = phaseData
	c.mu.Unlock()
	c.kickControl() // grant the server its first credits
	return nil
}

func (c *Conn) waitNegotiate() ([]byte, error) {
	deadline := time.Now().Add(c.opts.NegotiateTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.negMsg == nil {
		if c.err != nil {
			return nil, c.err
		}
		if !c.waitLocked(deadline) {
			return nil, &ConnError{Reason: "negotiate timeout", Err: ErrNegotiateTimeout}
		}
	}
	return c.negMsg, nil
}

// drainSends waits until every send completed (or d passed).
func (c *Conn) drainSends(d time.Duration) {
	deadline := time.Now().Add(d)
	c.mu.Lock()
	for len(c.freeSend) < c.send.n && c.err == nil && c.waitLocked(deadline) {
	}
	c.mu.Unlock()
}

// RDMAWrite writes p into the peer's buffers (MS-SMB2 3.3.5.12 over
// MS-SMBD 3.1.4.3) through the registered pool.
func (c *Conn) RDMAWrite(descs []transport.BufferDescriptor, p []byte) error {
	_, err := c.rdma(descs, len(p), true, func(b []byte, pos int) (int, error) {
		return copy(b, p[pos:]), nil
	}, nil)
	if err == nil {
		stats.rdmaWrite.Add(uint64(len(p)))
	}
	return err
}

// RDMARead fills p from the peer's buffers (MS-SMB2 3.3.5.13 over
// MS-SMBD 3.1.4.4).
func (c *Conn) RDMARead(descs []transport.BufferDescriptor, p []byte) error {
	_, err := c.rdma(descs, len(p), false, nil, func(b []byte, pos int) error {
		copy(p[pos:], b)
		return nil
	})
	if err == nil {
		stats.rdmaRead.Add(uint64(len(p)))
	}
	return err
}

// RDMAWriteFrom writes up to n bytes of r, from off on, into the peer's
// buffers, reading them straight into registered memory (no copy through
// the Go heap): a READ served from a file. It returns the bytes written,
// fewer than n at the end of r (io.EOF is not an error).
func (c *Conn) RDMAWriteFrom(descs []transport.BufferDescriptor, r io.ReaderAt, off int64, n int) (int, error) {
	done, err := c.rdma(descs, n, true, func(b []byte, pos int) (int, error) {
		k, err := r.ReadAt(b, off+int64(pos))
		if err == io.EOF {
			if k == 0 {
				return 0, io.EOF
			}
			err = nil
		}
		return k, err
	}, nil)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	stats.rdmaWrite.Add(uint64(done))
	return done, err
}

// RDMAReadTo pulls n bytes from the peer's buffers and writes them to w
// at off, straight from registered memory: a WRITE into a file.
func (c *Conn) RDMAReadTo(descs []transport.BufferDescriptor, w io.WriterAt, off int64, n int) error {
	_, err := c.rdma(descs, n, false, nil, func(b []byte, pos int) error {
		_, err := w.WriteAt(b, off+int64(pos))
		return err
	})
	if err == nil {
		stats.rdmaRead.Add(uint64(n))
	}
	return err
}

type pending struct {
	ch    chan rdma.Completion
	chunk int
	pos   int // where the segment starts in the transfer
	n     int
	read  bool
}

// rdma moves n bytes between the peer's buffers and the pool, one pool
// buffer per work request, several in flight. For a write, fill puts the
// bytes at pos into b and returns how many (fewer ends the transfer; 0 with
// io.EOF ends it without sending); for a read, sink takes the bytes at pos.
// It returns the bytes transferred.
func (c *Conn) rdma(descs []transport.BufferDescriptor, n int, write bool,
	fill func(b []byte, pos int) (int, error), sink func(b []byte, pos int) error) (done int, firstErr error) {
	if c.debug {
		start := time.Now()
		defer func() {
			c.log("rdma", "write", write, "bytes", n, "done", done, "descs", len(descs), "took", time.Since(start), "err", firstErr)
		}()
	}
	if c.r.Pool == nil {
		return 0, errors.New("smbdirect: no RDMA buffer pool")
	}
	if n < 0 || n > c.opts.MaxReadWriteSize {
		return 0, fmt.Errorf("smbdirect: RDMA transfer of %d bytes, at most %d", n, c.opts.MaxReadWriteSize)
	}
	var total uint64
	for _, d := range descs {
		if d.Length == 0 || d.Offset+uint64(d.Length) < d.Offset {
			return 0, fmt.Errorf("smbdirect: bad buffer descriptor %+v", d)
		}
		total += uint64(d.Length)
	}
	if total < uint64(n) {
		return 0, fmt.Errorf("smbdirect: buffer descriptors cover %d bytes, %d needed", total, n)
	}
	pool := c.r.Pool
	var inflight []pending
	finish := func() {
		pd := inflight[0]
		inflight = inflight[1:]
		var wc rdma.Completion
		ok := false
		select {
		case wc, ok = <-pd.ch:
		case <-c.loopDone:
			// no completion will come: the buffer may be reused only
			// once the QP is destroyed
			<-c.released
		}
		if ok {
			if err := wc.Err(); err != nil {
				if firstErr == nil {
					firstErr = c.wcErr("RDMA", err)
				}
				c.fail(firstErr)
			} else if pd.read {
				if err := sink(pool.s.bytes(pd.chunk)[:pd.n], pd.pos); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		} else if firstErr == nil {
			firstErr = c.errOr(ErrClosed)
		}
		pool.free <- pd.chunk
		if pd.read {
			<-c.readSem
		}
		<-c.rdmaSem
	}
	pos, eof := 0, false
	for _, d := range descs {
		for off := uint64(0); off < uint64(d.Length) && pos < n && firstErr == nil && !eof; {
			seg := min(pool.s.size, int(uint64(d.Length)-off), n-pos)
			if err := c.acquireRDMA(!write, len(inflight) > 0, finish); err != nil {
				firstErr = err
				break
			}
			// a buffer of the pool: finish our own oldest transfer rather
			// than wait while holding buffers
			chunk := -1
			for chunk < 0 && firstErr == nil {
				select {
				case chunk = <-pool.free:
					continue
				default:
				}
				if len(inflight) > 0 {
					finish()
					continue
				}
				select {
				case chunk = <-pool.free:
				case <-c.dead:
					firstErr = c.errOr(ErrClosed)
				}
			}
			release := func() {
				if chunk >= 0 {
					pool.free <- chunk
				}
				<-c.rdmaSem
				if !write {
					<-c.readSem
				}
			}
			if firstErr != nil {
				release()
				break
			}
			op := rdma.OpRDMARead
			if write {
				op = rdma.OpRDMAWrite
				k, err := fill(pool.s.bytes(chunk)[:seg], pos)
				if k < seg {
					eof = true
				}
				if err != nil || k == 0 {
					if !errors.Is(err, io.EOF) {
						firstErr = err
					}
					release()
					break
				}
				seg = k
			}
			ch := make(chan rdma.Completion, 1)
			c.mu.Lock()
			c.opSeq++
			id := c.opSeq &^ kindMask
			c.ops[id] = ch
			err := c.err
			c.mu.Unlock()
			if err == nil {
				err = c.r.QP.PostSend(rdma.SendWR{ID: kindRDMA | id, Op: op, Flags: rdma.SendSignaled,
					SGL: []rdma.SGE{pool.s.sge(chunk, seg)}, RemoteAddr: d.Offset + off, RKey: d.Token})
			}
			if err != nil {
				c.mu.Lock()
				delete(c.ops, id)
				c.mu.Unlock()
				close(ch)
				firstErr = err
			}
			inflight = append(inflight, pending{ch: ch, chunk: chunk, pos: pos, n: seg, read: !write})
			off += uint64(seg)
			pos += seg
		}
	}
	for len(inflight) > 0 {
		finish()
	}
	if firstErr != nil {
		return 0, firstErr
	}
	return pos, nil
}

// acquireRDMA takes a slot of the RDMA depth (and of the read depth for a
// read). While the op has work in flight it finishes its oldest one
// instead of waiting, so an op never waits on slots it holds itself.
func (c *Conn) acquireRDMA(read, busy bool, finish func()) error {
	for {
		select {
		case c.rdmaSem <- struct{}{}:
			if !read {
				return nil
			}
			select {
			case c.readSem <- struct{}{}:
				return nil
			default:
				<-c.rdmaSem
			}
		default:
		}
		if busy {
			finish()
			busy = false
			continue
		}
		select {
		case c.rdmaSem <- struct{}{}:
			if !read {
				return nil
			}
			select {
			case c.readSem <- struct{}{}:
				return nil
			case <-c.dead:
				<-c.rdmaSem
				return c.errOr(ErrClosed)
			}
		case <-c.dead:
			return c.errOr(ErrClosed)
		}
	}
}

func (c *Conn) errOr(def error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return def
}

// Close disconnects and releases the connection's resources.
func (c *Conn) Close() error {
	c.closing.Do(func() {
		c.fail(ErrClosed)
		c.discs.Wait()
		c.cancel()
		<-c.loopDone
		<-c.ctlDone
		if c.r.Release != nil {
			c.r.Release()
		}
		close(c.released)
	})
	return nil
}

// Register registers mem for the peer's RDMA reads and writes, on a
// connection from Dial (the initiator side); the region lives until Close.
func (c *Conn) Register(mem []byte, access rdma.Access) (rdma.MemoryRegion, error) {
	if c.r.Register == nil {
		return nil, errors.New("smbdirect: Register needs a connection from Dial")
	}
	return c.r.Register(mem, access)
}

func (c *Conn) LocalAddr() net.Addr   { return Addr{c.r.Local} }
func (c *Conn) RemoteAddr() net.Addr  { return Addr{c.r.Remote} }
func (c *Conn) Caps() transport.Caps  { return transport.CapRDMA }
func (c *Conn) Name() string          { return "smbdirect" }
func (c *Conn) Done() <-chan struct{} { return c.dead }

// NUMANode is the node the connection is placed on (its RDMA device's), or
// -1 (status and metrics show it per channel).
func (c *Conn) NUMANode() int { return int(c.node.Load()) }

// NodeMemory lists the registered memory a placed connection works on: its
// receive and send buffers and its device's RDMA buffer pool, with the node
// they were bound to; nil when the connection is not placed.
func (c *Conn) NodeMemory() []numa.Allocation {
	if !c.r.Placed {
		return nil
	}
	var out []numa.Allocation
	for _, mr := range []rdma.MemoryRegion{c.r.Recv, c.r.Send} {
		if mr != nil && len(mr.Bytes()) > 0 {
			out = append(out, numa.Allocation{Addr: numa.Addr(mr.Bytes()), Len: len(mr.Bytes()), Node: c.r.Node})
		}
	}
	if c.r.Pool != nil {
		b := c.r.Pool.s.mr.Bytes()
		out = append(out, numa.Allocation{Addr: numa.Addr(b), Len: len(b), Node: c.r.Node})
	}
	return out
}

// CompletionThread is the OS thread (tid) of a placed connection's
// completion loop, pinned to its node's CPUs; 0 when not pinned.
func (c *Conn) CompletionThread() int { return int(c.loopTID.Load()) }
func (c *Conn) Err() error            { return c.errOr(nil) }
