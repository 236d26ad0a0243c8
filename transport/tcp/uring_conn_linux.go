//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"smb3d/numa"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"smb3d/transport"
	"smb3d/transport/tcp/uring"
)

// Receive queue bounds: the loop stops receiving from a connection whose
// reader is this far behind, and starts again once it has caught up.
const (
	rqHighMsgs  = 64
	rqHighBytes = 16 << 20
	rqLowMsgs   = 16
	rqLowBytes  = 4 << 20

	stageSize = 64 << 10 // staging buffer for small messages and headers
	maxIovecs = 64       // iovecs of one batched SENDMSG
	pageSize  = 4096
	pipeWant  = 1 << 20 // F_SETPIPE_SZ for sendfile (fs.pipe-max-size is 1 MiB by default)
)

var errClosed = net.ErrClosed

// maxChunks is the number of pipe-sized chunks in one sendfile link chain
// (a variable for tests).
var maxChunks = 16

// URingConn is an SMB2 Direct TCP connection driven by an io_uring (see
// URingListener). ReadMessage returns whole messages received by the ring's
// owner; WriteMessage and SendFile hand the message to the owner and wait
// until the kernel has taken all of it.
type URingConn struct {
	node int // NUMA node of its ring's thread; numa.Unknown when not placed
	// bufs: the ring's node-bound buffers (staging, and messages over
	// 64 KiB, which go back through Release); nil when not placed.
	bufs *numa.Pool

	loop         *ringLoop
	fd           int
	laddr, raddr net.Addr
	max          atomic.Int64
	closed       atomic.Bool
	canSplice    bool
	noDirect     bool

	// Writers: the direct send, and the count of writes handed to the ring.
	wmu        sync.Mutex
	fdClosed   bool        // the loop closed fd: its number may belong to another file now
	ringWrites int         // writes posted to the ring and not finished
	broken     atomic.Bool // a send failed: the stream is cut

	// Receive queue: filled by the loop, drained by the reader.
	rmu     sync.Mutex
	rq      [][]byte
	rqBytes int
	rerr    error
	paused  bool          // the loop stopped receiving (queue full)
	rnote   chan struct{} // capacity 1: something was queued

	// Owned by the loop goroutine.
	id        uint32
	inflight  int // ring requests of this connection not yet completed
	closing   bool
	dead      bool // no more receives (EOF, error, close)
	recvArmed bool
	stage     []byte
	sStart    int
	sEnd      int
	partial   []byte // a message whose body is being received
	have      int    // bytes of partial already received
	fixed     bool   // partial is a registered buffer: READ_FIXED into slot
	slot      uint16
	lowat     int // SO_RCVLOWAT set on the socket (0: the default, 1)
	wq        []*writeReq
	cur       []*writeReq // the writes of the send in flight
	expect    []int32     // expected result of each request of the send in flight
	pending   int         // CQEs of the send in flight still to come
	sendErr   error
	werr      error // the connection can no longer send
	pipeR     int
	pipeW     int
	pipeSize  int
}

// writeReq is one message to send: bufs (the 4-byte header first), then,
// for a sendfile, n bytes of fd at off.
type writeReq struct {
	th      [4]byte // the Direct TCP header
	bufs    [][]byte
	size    int // bytes of bufs
	file    bool
	hdrSent bool // sendfile: bufs went out, off and n say what is left
	total   int  // sendfile: the file bytes of the message
	fd      int
	off     int64
	n       int
	done    chan error
}

var writeReqPool = sync.Pool{New: func() any { return &writeReq{done: make(chan error, 1)} }}

// finish hands err to the writer; a second finish would be a bug, and must
// not block the loop.
func (w *writeReq) finish(err error) {
	select {
	case w.done <- err:
	default:
	}
}

func newURingConn(fd int, laddr, raddr net.Addr, canSplice bool) *URingConn {
	c := &URingConn{fd: fd, laddr: laddr, raddr: raddr, canSplice: canSplice, rnote: make(chan struct{}, 1), pipeR: -1, pipeW: -1, node: numa.Unknown}
	c.max.Store(MaxFrame)
	return c
}

func (c *URingConn) SetMaxMessage(n int) {
	if n > MaxFrame {
		n = MaxFrame
	}
	c.max.Store(int64(n))
}

// ReadMessage returns the next whole message.
func (c *URingConn) ReadMessage() ([]byte, error) {
	for {
		c.rmu.Lock()
		if len(c.rq) > 0 {
			m := c.rq[0]
			c.rq[0] = nil
			c.rq = c.rq[1:]
			c.rqBytes -= len(m)
			resume := c.paused && len(c.rq) <= rqLowMsgs && c.rqBytes <= rqLowBytes
			if resume {
				c.paused = false
			}
			c.rmu.Unlock()
			if resume {
				c.loop.post(loopCmd{kind: cmdResume, c: c})
			}
			return m, nil
		}
		err := c.rerr
		c.rmu.Unlock()
		if err != nil {
			return nil, err
		}
		<-c.rnote
	}
}

func (c *URingConn) WriteMessage(bufs ...[]byte) error {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if n > MaxFrame {
		return fmt.Errorf("%w: %d", transport.ErrMessageTooLarge, n)
	}
	w := writeReqPool.Get().(*writeReq)
	w.th = [4]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	w.bufs = append(w.bufs[:0], w.th[:])
	for _, b := range bufs {
		if len(b) > 0 {
			w.bufs = append(w.bufs, b)
		}
	}
	w.size = n + 4
	return c.write(w)
}

// SendFile sends hdr and n bytes of fd at off as one message, the file's
// bytes by splice (transport.FileSender).
func (c *URingConn) SendFile(hdr []byte, fd int, off int64, n int) error {
	if !c.canSplice {
		return fmt.Errorf("tcp-uring: sendfile: %w", errors.ErrUnsupported)
	}
	total := len(hdr) + n
	if total > MaxFrame || n < 0 || off < 0 {
		return fmt.Errorf("%w: %d", transport.ErrMessageTooLarge, total)
	}
	if n == 0 {
		return c.WriteMessage(hdr)
	}
	w := writeReqPool.Get().(*writeReq)
	w.th = [4]byte{0, byte(total >> 16), byte(total >> 8), byte(total)}
	w.bufs = append(w.bufs[:0], w.th[:])
	if len(hdr) > 0 {
		w.bufs = append(w.bufs, hdr)
	}
	w.size = 4 + len(hdr)
	w.file, w.fd, w.off, w.n, w.total = true, fd, off, n, n
	return c.write(w)
}

func (c *URingConn) write(w *writeReq) error {
	if c.closed.Load() {
		w.bufs = w.bufs[:0]
		writeReqPool.Put(w)
		return errClosed
	}
	err, posted := c.sendDirect(w)
	if posted {
		err = <-w.done
		c.wmu.Lock()
		c.ringWrites--
		c.wmu.Unlock()
	}
	if err != nil && err != errClosed {
		c.broken.Store(true)
	}
	clear(w.bufs)
	w.bufs = w.bufs[:0]
	w.file, w.hdrSent = false, false
	writeReqPool.Put(w)
	return err
}

// sendDirect is the write fast path: when the ring has no write of this
// connection queued or in flight, one non-blocking sendmsg from the calling
// goroutine, as the netpoller transport does, spares the hand-over to the
// ring's thread and back. What the socket does not take (it is full) goes to
// the ring, which then owns the connection's writes until they are done.
// Posting happens under wmu, so the ring gets writes in the order they
// took it. posted means w went to the ring: wait for w.done.
func (c *URingConn) sendDirect(w *writeReq) (err error, posted bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken.Load() || c.fdClosed {
		return errClosed, false
	}
	if c.ringWrites > 0 || w.file || c.noDirect {
		return c.postWrite(w)
	}
	for {
		n, err := unix.SendmsgBuffers(c.fd, w.bufs, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			n = 0 // the socket is full; n is -1 here
		} else if err != nil {
			return &net.OpError{Op: "write", Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: os.NewSyscallError("sendmsg", err)}, false
		}
		if n == w.size {
			return nil, false
		}
		// Keep what is left, in order, for the ring.
		w.size -= n
		for n > 0 {
			if n >= len(w.bufs[0]) {
				n -= len(w.bufs[0])
				w.bufs[0] = nil
				w.bufs = w.bufs[1:]
				continue
			}
			w.bufs[0] = w.bufs[0][n:]
			n = 0
		}
		return c.postWrite(w)
	}
}

// postWrite hands w to the ring; c.wmu is held.
func (c *URingConn) postWrite(w *writeReq) (error, bool) {
	if !c.loop.post(loopCmd{kind: cmdWrite, c: c, w: w}) {
		return errClosed, false
	}
	c.ringWrites++
	return nil, true
}

// Close shuts the socket down at once (requests in flight end), and has the
// loop close the descriptor once the ring has no request on it left.
func (c *URingConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return errClosed
	}
	c.wmu.Lock()
	if !c.fdClosed {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	c.wmu.Unlock()
	c.fail(errClosed)
	c.loop.post(loopCmd{kind: cmdClose, c: c})
	return nil
}

// fail ends ReadMessage with err once the queue is drained.
func (c *URingConn) fail(err error) {
	c.rmu.Lock()
	if c.rerr == nil || err == errClosed {
		c.rerr = err
	}
	var drop [][]byte
	if err == errClosed {
		drop = c.rq
		c.rq, c.rqBytes = nil, 0
	}
	c.rmu.Unlock()
	for _, m := range drop {
		c.Release(m) // never handed to the reader: back to the pool
	}
	select {
	case c.rnote <- struct{}{}:
	default:
	}
}

// Release takes back a message from ReadMessage for a later one
// (transport.Releaser): into the ring's node pool when it came from there
// (known by its end address, so an in-place decryption's plaintext counts),
// else the netpoller Conn's heap pools; nothing may refer to it afterwards.
func (c *URingConn) Release(m []byte) {
	if c.bufs != nil && c.bufs.Put(m) {
		return
	}
	(*Conn)(nil).Release(m)
}

// msgBuf is a buffer for an n-byte message (loop goroutine): from the node
// pool when the connection is placed and the message is large, else the
// heap pools.
func (c *URingConn) msgBuf(n int) []byte {
	if c.bufs != nil && n >= nodeMinMsg {
		if b, err := c.bufs.Get(n); err == nil {
			return b
		}
	}
	return getBuf(n)
}

func (c *URingConn) LocalAddr() net.Addr  { return c.laddr }
func (c *URingConn) RemoteAddr() net.Addr { return c.raddr }
func (c *URingConn) Name() string         { return "tcp-uring" }
func (c *URingConn) Caps() transport.Caps {
	if c.canSplice {
		return transport.CapSendFile
	}
	return 0
}

// deliver queues a whole message for the reader (loop goroutine).
func (c *URingConn) deliver(m []byte) {
	c.rmu.Lock()
	c.rq = append(c.rq, m)
	c.rqBytes += len(m)
	if len(c.rq) >= rqHighMsgs || c.rqBytes >= rqHighBytes {
		c.paused = true
	}
	c.rmu.Unlock()
	select {
	case c.rnote <- struct{}{}:
	default:
	}
}

func (c *URingConn) isPaused() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.paused
}

// pump arms the next receive when the connection wants one.
func (l *ringLoop) pump(c *URingConn) {
	if c.recvArmed || c.dead || c.closing || c.isPaused() {
		return
	}
	if c.partial != nil && c.fixed && !l.pool.cfg.fixedPartial {
		l.pumpFixed(c)
		return
	}
	if c.lowat > 1 {
		c.setLowat(1)
	}
	s, err := l.sqe()
	if err != nil {
		l.recvFailed(c, err)
		return
	}
	if c.partial != nil && c.fixed {
		s.PrepReadFixed(c.fd, c.partial[c.have:], -1, c.slot)
		s.SetUserData(userData(c.id, udRecvFixd, 0))
	} else if c.partial != nil {
		s.PrepRecv(c.fd, c.partial[c.have:], unix.MSG_WAITALL)
		s.SetUserData(userData(c.id, udRecvBody, 0))
	} else {
		if c.stage == nil {
			c.stage = c.stageBuf()
		}
		if c.sStart > 0 {
			c.sEnd = copy(c.stage, c.stage[c.sStart:c.sEnd])
			c.sStart = 0
		}
		s.PrepRecv(c.fd, c.stage[c.sEnd:], 0)
		s.SetUserData(userData(c.id, udRecv, 0))
	}
	c.recvArmed = true
	c.inflight++
}

// fixedLowatCap bounds the low-water mark of a registered-buffer receive:
// the ring wakes about once per MiB of a message, and copies a large
// message while the rest of it arrives.
const fixedLowatCap = 1 << 20

// pumpFixed arms the receive of the rest of a message into its registered
// buffer: the socket's receive low-water mark is raised to what is missing,
// at most fixedLowatCap (the kernel also wakes earlier when the receive
// window closes or memory runs short), then POLL_ADD(POLLIN), which
// completes only once that much has arrived, is linked to READ_FIXED, so
// the ring wakes once per MiB rather than once per segment. The poll posts
// a CQE only when it fails (then the read is cancelled).
func (l *ringLoop) pumpFixed(c *URingConn) {
	if l.r.SQSpace() < 2 {
		if _, err := l.r.Submit(); err != nil {
			l.recvFailed(c, err)
			return
		}
	}
	if l.r.SQSpace() < 2 || l.r.FreeSlots() < 2 {
		l.recvFailed(c, fmt.Errorf("tcp-uring: receive: %w", uring.ErrBusy))
		return
	}
	want := len(c.partial) - c.have
	switch m := l.pool.cfg.fixedLowat; {
	case m == 0:
		want = min(want, fixedLowatCap)
	case m > 0:
		want = min(want, m)
	}
	c.setLowat(want)
	p, _ := l.r.GetSQE()
	p.PrepPollAdd(c.fd, unix.POLLIN, false)
	p.SetFlags(uring.FlagIOLink | uring.FlagCQESkipSuccess)
	p.SetUserData(userData(c.id, udPollFixd, 0))
	s, _ := l.r.GetSQE()
	s.PrepReadFixed(c.fd, c.partial[c.have:], -1, c.slot)
	s.SetUserData(userData(c.id, udRecvFixd, 0))
	c.recvArmed = true
	c.inflight++ // the read's CQE comes either way; the poll's only on failure, before it
}

// setLowat sets SO_RCVLOWAT (loop goroutine); a failure leaves the
// default, which costs wake-ups, not correctness.
func (c *URingConn) setLowat(n int) {
	if n == c.lowat {
		return
	}
	if unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, n) == nil {
		c.lowat = n
	}
}

func (l *ringLoop) recvFailed(c *URingConn, err error) {
	c.dead = true
	c.fail(err)
}

// recvDone handles a receive's result: res bytes into the staging buffer, or
// into the body of c.partial.
func (l *ringLoop) recvDone(c *URingConn, res int32, body bool) {
	if res < 0 {
		err := syscall.Errno(-res)
		if err == unix.ECANCELED || c.closing {
			l.recvFailed(c, errClosed)
			return
		}
		l.recvFailed(c, &net.OpError{Op: "read", Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err})
		return
	}
	if body {
		c.have += int(res)
		if c.have < len(c.partial) {
			if c.fixed && res > 0 {
				// A READ ends with what the socket had: read on.
				l.pump(c)
				return
			}
			// MSG_WAITALL ends short only at EOF or on an error.
			l.recvFailed(c, io.ErrUnexpectedEOF)
			return
		}
		m := c.partial
		if c.fixed {
			l.pool.fixedMsgs.Add(1)
		}
		c.partial, c.have, c.fixed = nil, 0, false
		c.deliver(m)
	} else {
		if res == 0 {
			if c.sEnd > c.sStart {
				l.recvFailed(c, io.ErrUnexpectedEOF)
			} else {
				l.recvFailed(c, io.EOF)
			}
			return
		}
		c.sEnd += int(res)
	}
	if err := c.parse(); err != nil {
		l.recvFailed(c, err)
		return
	}
	l.pump(c)
}

// parse delivers the whole messages in the staging buffer and starts a
// partial one: its body is then received straight into its own buffer.
func (c *URingConn) parse() error {
	for c.sEnd-c.sStart >= 4 {
		h := c.stage[c.sStart : c.sStart+4]
		if h[0] != 0 {
			return fmt.Errorf("tcp: bad transport header byte %#x", h[0])
		}
		n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		if max := c.max.Load(); int64(n) > max {
			return fmt.Errorf("%w: %d > %d", transport.ErrMessageTooLarge, n, max)
		}
		if n == 0 {
			return fmt.Errorf("tcp: empty message")
		}
		m := c.msgBuf(n)
		k := copy(m, c.stage[c.sStart+4:c.sEnd])
		if k < n {
			c.partial, c.have = m, k
			if c.loop.fixed != nil && n >= nodeMinMsg && c.bufs.Owns(m) {
				c.slot, c.fixed = c.loop.fixed.slotOf(m)
			}
			c.sStart, c.sEnd = 0, 0
			return nil
		}
		c.sStart += 4 + n
		c.deliver(m)
	}
	if c.sStart == c.sEnd {
		c.sStart, c.sEnd = 0, 0
	}
	return nil
}

// startSend submits the next send of c: a batch of queued messages as one
// SENDMSG, or one sendfile chain.
func (l *ringLoop) startSend(c *URingConn) {
	if c.pending > 0 || len(c.wq) == 0 || c.closing {
		return
	}
	if c.werr != nil {
		for _, w := range c.wq {
			w.finish(c.werr)
		}
		clear(c.wq)
		c.wq = c.wq[:0]
		return
	}
	c.sendErr = nil
	c.expect = c.expect[:0]
	if c.wq[0].file {
		w := c.wq[0]
		c.wq = c.wq[1:]
		c.cur = append(c.cur[:0], w)
		if err := l.prepSendFile(c, w); err != nil {
			l.sendFailed(c, err)
		}
		return
	}
	var iov [][]byte
	size := 0
	i := 0
	for ; i < len(c.wq) && !c.wq[i].file; i++ {
		if i > 0 && len(iov)+len(c.wq[i].bufs) > maxIovecs {
			break
		}
		iov = append(iov, c.wq[i].bufs...)
		size += c.wq[i].size
	}
	c.cur = append(c.cur[:0], c.wq[:i]...)
	c.wq = c.wq[i:]
	s, err := l.sqe()
	if err != nil {
		l.sendFailed(c, err)
		return
	}
	s.PrepSendmsg(c.fd, iov, unix.MSG_WAITALL|unix.MSG_NOSIGNAL)
	s.SetUserData(userData(c.id, udSend, 0))
	c.expect = append(c.expect, int32(size))
	c.pending = 1
	c.inflight++
}

// prepSendFile submits SENDMSG(header, MSG_MORE) -> [SPLICE file->pipe ->
// SPLICE pipe->socket]... as one link chain of at most maxChunks chunks; the
// rest of a larger range follows in the next chain. A chunk is at most the
// pipe's size less the offset's position in its first page: the pipe holds
// pages.
func (l *ringLoop) prepSendFile(c *URingConn, w *writeReq) error {
	if c.pipeR < 0 {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return fmt.Errorf("tcp-uring: %w", os.NewSyscallError("pipe2", err))
		}
		c.pipeR, c.pipeW = p[0], p[1]
		sz, err := unix.FcntlInt(uintptr(c.pipeW), unix.F_SETPIPE_SZ, pipeWant)
		if err != nil {
			sz, err = unix.FcntlInt(uintptr(c.pipeW), unix.F_GETPIPE_SZ, 0)
			if err != nil {
				return fmt.Errorf("tcp-uring: pipe size: %w", err)
			}
		}
		c.pipeSize = sz
	}
	nsqe := 1 + 2*maxChunks
	if int(l.r.SQSpace()) < nsqe {
		if _, err := l.r.Submit(); err != nil {
			return err
		}
	}
	if int(l.r.SQSpace()) < nsqe || l.r.FreeSlots() < nsqe {
		return fmt.Errorf("tcp-uring: sendfile: %w", uring.ErrBusy)
	}
	if !w.hdrSent {
		s, _ := l.r.GetSQE()
		s.PrepSendmsg(c.fd, w.bufs, unix.MSG_MORE|unix.MSG_WAITALL|unix.MSG_NOSIGNAL)
		s.SetFlags(uring.FlagIOLink)
		s.SetUserData(userData(c.id, udSend, 0))
		c.expect = append(c.expect, int32(w.size))
		c.inflight++
		c.pending++
		w.hdrSent = true
	}
	for i := 0; i < maxChunks && w.n > 0; i++ {
		k := min(w.n, c.pipeSize-int(w.off%pageSize))
		last := i == maxChunks-1 || w.n == k
		in, _ := l.r.GetSQE()
		in.PrepSplice(w.fd, w.off, c.pipeW, -1, k, unix.SPLICE_F_MOVE)
		in.SetFlags(uring.FlagIOLink)
		in.SetUserData(userData(c.id, udSend, len(c.expect)))
		c.expect = append(c.expect, int32(k))
		out, _ := l.r.GetSQE()
		flags := uint32(unix.SPLICE_F_MOVE)
		if w.n > k {
			flags |= unix.SPLICE_F_MORE
		}
		out.PrepSplice(c.pipeR, -1, c.fd, -1, k, flags)
		if !last {
			out.SetFlags(uring.FlagIOLink)
		}
		out.SetUserData(userData(c.id, udSend, len(c.expect)))
		c.expect = append(c.expect, int32(k))
		c.inflight += 2
		c.pending += 2
		w.off += int64(k)
		w.n -= k
	}
	return nil
}

// sendDone handles one CQE of the send in flight.
func (l *ringLoop) sendDone(c *URingConn, idx int, res int32) {
	c.pending--
	if c.sendErr == nil && idx < len(c.expect) && res != c.expect[idx] {
		if res < 0 {
			c.sendErr = &net.OpError{Op: "write", Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: syscall.Errno(-res)}
		} else {
			c.sendErr = fmt.Errorf("tcp-uring: short send (%d of %d bytes)", res, c.expect[idx])
		}
	}
	if c.pending > 0 {
		return
	}
	if c.sendErr == nil && len(c.cur) == 1 && c.cur[0].file && c.cur[0].n > 0 && !c.closing {
		// The next chunks of a large sendfile.
		c.expect = c.expect[:0]
		if err := l.prepSendFile(c, c.cur[0]); err != nil {
			l.sendFailed(c, err)
		}
		return
	}
	if c.sendErr == nil && len(c.cur) == 1 && c.cur[0].file {
		l.pool.spliced.Add(uint64(c.cur[0].total))
	}
	if c.sendErr != nil {
		// Part of a message may have gone out: the stream is broken.
		if c.closing {
			c.sendErr = errClosed
		}
		c.werr = c.sendErr
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	for _, w := range c.cur {
		w.finish(c.sendErr)
	}
	clear(c.cur)
	c.cur = c.cur[:0]
	l.startSend(c)
}

// sendFailed ends the current writes with err before anything was submitted.
func (l *ringLoop) sendFailed(c *URingConn, err error) {
	c.werr = err
	for _, w := range c.cur {
		w.finish(err)
	}
	clear(c.cur)
	c.cur = c.cur[:0]
	unix.Shutdown(c.fd, unix.SHUT_RDWR)
	l.startSend(c)
}

// closeConn starts closing c: queued writes fail, requests in flight are
// cancelled; the descriptor is closed when the last of them completes. It
// reports whether the loop must exit.
func (l *ringLoop) closeConn(c *URingConn) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.dead = true
	for _, w := range c.wq {
		w.finish(errClosed)
	}
	clear(c.wq)
	c.wq = c.wq[:0]
	if c.inflight == 0 {
		return l.closeConnNow(c)
	}
	if s, err := l.sqe(); err == nil {
		s.PrepCancelFd(c.fd, uring.CancelAll)
		s.SetUserData(userData(c.id, udCancel, 0))
		c.inflight++
	}
	return false
}

// closeConnNow releases c's descriptors; it reports whether the loop must exit.
func (l *ringLoop) closeConnNow(c *URingConn) bool {
	if _, ok := l.conns[c.id]; !ok {
		return false
	}
	delete(l.conns, c.id)
	// Writers send directly and Close shuts down from other goroutines:
	// under wmu, none of them can be using the number as it is closed.
	c.wmu.Lock()
	c.fdClosed = true
	unix.Close(c.fd)
	c.wmu.Unlock()
	if c.pipeR >= 0 {
		unix.Close(c.pipeR)
		unix.Close(c.pipeW)
		c.pipeR, c.pipeW = -1, -1
	}
	for _, w := range c.cur {
		w.finish(errClosed)
	}
	for _, w := range c.wq {
		w.finish(errClosed)
	}
	c.cur, c.wq = nil, nil
	// No request of c is in flight (inflight is 0), so the kernel is done
	// with its staging buffer and the partial message; unless the ring
	// failed, when only its Close can tell.
	for _, b := range [][]byte{c.stage, c.partial} {
		if b == nil || c.bufs == nil {
			continue
		}
		if l.failing {
			l.orphans = append(l.orphans, b)
		} else {
			c.bufs.Put(b)
		}
	}
	c.stage, c.partial, c.fixed = nil, nil, false
	return l.pool.release(l)
}

// stageBuf is the connection's staging buffer: on the node when placed.
func (c *URingConn) stageBuf() []byte {
	if c.bufs != nil {
		if b, err := c.bufs.Get(stageSize); err == nil {
			return b
		}
	}
	return make([]byte, stageSize)
}

// NUMANode is the node the connection's ring thread is pinned to, or -1
// (status and metrics show it per channel).
func (c *URingConn) NUMANode() int { return c.node }

// NodeMemory lists the node-bound buffers of the connection's ring (its
// staging buffers and large messages, handed out or idle); nil when the
// connection is not placed (its buffers are then in a pool bound to no
// node, for registered receives, or on the Go heap under NoFixedRecv).
func (c *URingConn) NodeMemory() []numa.Allocation {
	if c.bufs == nil || c.node == numa.Unknown {
		return nil
	}
	return c.bufs.Mappings()
}
