package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
	"smb3d/transport"
)

// Limits on what a connection may send, by state.
const (
	maxPreAuthMessage = 64 << 10 // before a session is authenticated
	maxChainLen       = 64       // requests in one compound chain
)

// conn is one transport connection: an SMB2 channel.
type conn struct {
	srv *Server
	t   transport.Conn
	log *slog.Logger

	// Negotiated state: written once by NEGOTIATE under mu, then read-only.
	mu            sync.Mutex
	negotiated    bool
	dialect       wire.Dialect
	clientGUID    [16]byte
	clientCaps    uint32
	clientSecMode uint16
	signingAlg    uint16
	cipherID      uint16
	preauth       crypt.PreauthHash
	smb1Negotiate bool
	authed        bool // a session finished authentication on this channel

	// Credits and the command sequence window (MS-SMB2 3.3.1.1, 3.3.1.2).
	creditMu sync.Mutex
	seqLo    uint64              // lowest message id not yet used
	seqHi    uint64              // one past the highest granted
	used     map[uint64]struct{} // ids in [seqLo, seqHi) used out of order

	// Requests in progress, for CANCEL.
	reqMu   sync.Mutex
	byMsgID map[uint64]*request
	byAsync map[uint64]*request

	// Channels of sessions on this connection: the signing key per channel.
	chMu     sync.Mutex
	channels map[uint64]*channel
	binds    map[uint64]*bindState // session bindings in progress
	// tortureUnacked: FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT was received
	// (channels.go); breaks sent here count as never acknowledged.
	tortureUnacked atomic.Bool
	breakFailed    atomic.Bool // a break sent here went unacknowledged (channels.go)

	// Memory budget: bytes of requests and expected responses in flight.
	memMu   sync.Mutex
	memCond *sync.Cond
	memUsed int64

	// Large encrypted messages decrypted off the reading goroutine
	// (decryptAhead). tail is owned by the goroutine in the reading role
	// and passes with it; ahead counts the offloaded messages not yet past
	// their ordered step.
	tail  chan struct{} // closed when the last offloaded message is past its ordered step
	ahead atomic.Int32

	readOn func() // starts a new reading goroutine (the reading role passes on)

	authTimer *time.Timer
	closeOnce sync.Once
	done      chan struct{}
	inflight  sync.WaitGroup // requests being run; see begin
	runMu     sync.Mutex     // orders begin against close
	closing   bool           // under runMu: close has started waiting on inflight
	sem       chan struct{}
	lastRecv  time.Time
}

// channel is a session's binding to one connection (MS-SMB2 3.3.1.14).
type channel struct {
	sess   *session
	signer crypt.Signer
	seq    uint64 // binding order (channels.go)
}

func newConn(s *Server, t transport.Conn) *conn {
	c := &conn{
		srv:      s,
		t:        t,
		log:      s.log.With("remote", t.RemoteAddr().String()),
		seqHi:    1,
		used:     make(map[uint64]struct{}),
		byMsgID:  make(map[uint64]*request),
		byAsync:  make(map[uint64]*request),
		channels: make(map[uint64]*channel),
		done:     make(chan struct{}),
		sem:      make(chan struct{}, 512),
	}
	c.memCond = sync.NewCond(&c.memMu)
	c.readOn = func() { go c.readLoop() }
	t.SetMaxMessage(maxPreAuthMessage)
	c.startAuthTimer()
	return c
}

// ConnError is a connection-fatal error with a reason token for metrics.
type ConnError struct {
	Reason string
	Err    error
}

func (e *ConnError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}
func (e *ConnError) Unwrap() error { return e.Err }

func connErr(reason string, err error) error { return &ConnError{Reason: reason, Err: err} }

func (c *conn) serve() {
	c.readLoop()
}

// startAuthTimer drops the connection if no session authenticates in time.
// Called by newConn, before any goroutine can close the connection.
func (c *conn) startAuthTimer() {
	c.authTimer = time.AfterFunc(c.srv.cfg.AuthTimeout, func() {
		c.mu.Lock()
		ok := c.authed
		c.mu.Unlock()
		if !ok {
			c.srv.reject("auth-timeout", "remote", c.t.RemoteAddr().String())
			c.close(connErr("auth-timeout", nil))
		}
	})
}

// readLoop reads messages and processes them in arrival order: a chain runs
// on the reading goroutine, so the state changes of one request are seen by
// the next (as Windows and Samba order them); READ and WRITE alone run on
// their own goroutines for parallel I/O. When a request must wait (it goes
// async), the reading role passes to a new goroutine and this one stays
// with the waiting request. A large encrypted message is decrypted on a
// goroutine of its own while the reader reads on (decryptAhead); it still
// takes its turn in arrival order.
func (c *conn) readLoop() {
	for {
		msg, err := c.t.ReadMessage()
		if err != nil {
			c.close(err)
			return
		}
		if c.decryptAhead(msg) {
			continue
		}
		if !c.waitTurn() {
			c.release(msg)
			return
		}
		handedOff, err := c.receive(msg, c.readOn)
		if err != nil {
			c.close(err)
			return
		}
		if handedOff {
			return
		}
	}
}

// Decrypting off the reader: a message of at least minDecryptAhead bytes
// sealed in a TRANSFORM_HEADER, with at most maxDecryptAhead such messages
// (one per core, at least 4, at most 16) between the reader and their turn.
// Below that size the hand-over costs more than the decryption (GCM opens
// ~4 GB/s per core here).
const minDecryptAhead = 128 << 10

var maxDecryptAhead = int32(min(max(runtime.GOMAXPROCS(0), 4), 16))

// decryptAhead hands a large encrypted message to a goroutine that
// decrypts it, waits for the message before it to be past its ordered step
// (the chain run, or for a lone READ/WRITE its credit and open accounting),
// takes its own step and then lets the next one go. So the decryption of a
// stream of large WRITEs runs beside the reading of the next ones, on as
// many cores as there are, while requests are still taken in arrival
// order. The message's bytes count against the connection's memory budget
// from here; when the budget or the limit of messages ahead is reached,
// the reader decrypts inline after the earlier ones (no unbounded queue).
// It runs on the reading goroutine and reports whether it took msg.
func (c *conn) decryptAhead(msg []byte) bool {
	if len(msg) < minDecryptAhead || string(msg[:4]) != "\xfdSMB" || c.ahead.Load() >= maxDecryptAhead {
		return false
	}
	size := int64(len(msg))
	if !c.tryAcquireMem(size) {
		return false
	}
	c.ahead.Add(1)
	prev, done := c.tail, make(chan struct{})
	c.tail = done
	if !c.begin() {
		c.ahead.Add(-1)
		c.tail = prev
		c.releaseMem(size)
		return false
	}
	go func() {
		defer c.inflight.Done()
		pt, sess, err := c.decrypt(msg)
		handedOff, ran := false, false
		if waitClosed(prev, c.done) {
			// A message that fails to decrypt ends the connection in its
			// turn, after the ones before it.
			if err == nil && c.srv.lookupSession(sess.id) != sess {
				// Logged off by a message before this one (in order, the
				// decryption would have failed).
				err = connErr("transform-unknown-session", fmt.Errorf("session %#x", sess.id))
			}
			if err == nil {
				ran = true
				handedOff, err = c.process(msg, pt, sess, size, func() {
					c.ahead.Add(-1)
					close(done)
				})
			}
			if err != nil {
				c.close(err)
			}
		}
		if !ran {
			c.releaseMem(size)
			c.release(msg)
		}
		if !handedOff {
			c.ahead.Add(-1)
			close(done)
		}
	}()
	return true
}

// waitTurn waits until the messages handed to decryptAhead are past their
// ordered step. It reports false when the connection closed meanwhile.
func (c *conn) waitTurn() bool {
	if c.tail == nil {
		return true
	}
	if !waitClosed(c.tail, c.done) {
		return false
	}
	c.tail = nil
	return true
}

// waitClosed waits for ch (nil: at once) to be closed; false if done is
// closed first.
func waitClosed(ch, done chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

func (c *conn) close(err error) {
	c.closeOnce.Do(func() {
		defer c.srv.removeConn(c)
		if c.authTimer != nil {
			c.authTimer.Stop()
		}
		close(c.done)
		c.memCond.Broadcast()
		c.t.Close()
		var ce *ConnError
		switch {
		case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, ErrServerClosed):
			c.log.Debug("connection closed")
		case errors.As(err, &ce):
			c.srv.stats.Rejections.Add(1)
			c.srv.metrics.reject(ce.Reason)
			c.log.Warn("connection dropped", "reason", ce.Reason, "err", err)
		default:
			c.log.Info("connection closed", "err", err)
		}
		// Cancel what is pending, then tear down this channel's sessions.
		c.reqMu.Lock()
		pend := make([]*request, 0, len(c.byAsync))
		for _, r := range c.byAsync {
			pend = append(pend, r)
		}
		c.reqMu.Unlock()
		for _, r := range pend {
			if r.hdr.Command() == wire.CmdCreate && r.sess != nil && r.sess.otherChannel(c) {
				// A CREATE waiting for breaks goes on while another channel
				// of its session is alive: the client replays it there and
				// gets its result (replay.go; smb2.replay.dhv2-pending2*).
				continue
			}
			r.cancel()
		}
		c.srv.dropInProgress(c)
		c.runMu.Lock()
		c.closing = true
		c.runMu.Unlock()
		go func() {
			c.inflight.Wait()
			c.chMu.Lock()
			chs := c.channels
			c.channels = nil
			c.chMu.Unlock()
			for _, ch := range chs {
				ch.sess.channelGone(c)
			}
		}()
	})
}

// begin counts a request run in inflight, unless the connection is closing:
// an Add from zero after close began waiting would race with that Wait.
func (c *conn) begin() bool {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.closing {
		return false
	}
	c.inflight.Add(1)
	return true
}

// receive handles one transport message on the reading goroutine: an SMB1
// negotiate, an encrypted message, or an SMB2 message or compound chain.
// handoff passes the reading role on when a request goes async.
func (c *conn) receive(msg []byte, handoff func()) (handedOff bool, err error) {
	if wire.IsSMB1(msg) {
		err := c.negotiateSMB1(msg)
		c.release(msg)
		return false, err
	}
	pt := msg
	var encSess *session
	if len(msg) >= 4 && string(msg[:4]) == "\xfdSMB" {
		p, sess, err := c.decrypt(msg)
		if err != nil {
			c.release(msg)
			return false, err
		}
		pt, encSess = p, sess
	} else if len(msg) >= 4 && string(msg[:4]) == "\xfcSMB" {
		c.release(msg)
		return false, connErr("compression-unsupported", nil)
	}
	return c.process(msg, pt, encSess, 0, handoff)
}

// process takes the ordered step of one SMB2 message or chain pt (msg
// decrypted when encSess is set): it splits the chain, charges credits in
// arrival order and runs it, or for a lone READ/WRITE accounts for it and
// starts it on its own goroutine. prepaid bytes of the connection's memory
// budget are already held for msg (decryptAhead); process releases them.
// handoff passes the ordered role on when a request of the chain goes
// async (the reader, or decryptAhead's next message, goes on). process owns
// msg: it hands it back to the transport on every path, the error paths
// included (a pooled, node-bound buffer would otherwise stay mapped), or
// passes it to the goroutine of a lone READ/WRITE, which does.
func (c *conn) process(msg, pt []byte, encSess *session, prepaid int64, handoff func()) (handedOff bool, err error) {
	owned := true
	defer func() {
		if err != nil && prepaid > 0 {
			c.releaseMem(prepaid)
		}
		if owned {
			c.release(msg)
		}
	}()
	if err := wire.Header(pt).Validate(); err != nil {
		return false, connErr("bad-header", err)
	}
	// Split the chain and charge credits in arrival order.
	var reqs []*request
	for rest := pt; len(rest) > 0; {
		n, more, err := wire.SplitCompound(rest)
		if err != nil {
			return false, connErr("bad-compound", err)
		}
		m := rest[:n]
		if err := wire.Header(m).Validate(); err != nil {
			return false, connErr("bad-header", err)
		}
		r := &request{c: c, msg: m, hdr: wire.Header(m), encSess: encSess}
		reqs = append(reqs, r)
		if len(reqs) > maxChainLen {
			return false, connErr("chain-too-long", nil)
		}
		if !more {
			break
		}
		rest = rest[n:]
	}
	if reqs[0].hdr.Command() == wire.CmdCancel && len(reqs) == 1 {
		c.cancel(reqs[0])
		c.releaseMem(prepaid)
		return false, nil
	}
	for _, r := range reqs {
		if r.hdr.Command() == wire.CmdCancel {
			continue
		}
		if err := c.chargeCredits(r.hdr); err != nil {
			return false, err
		}
	}
	c.mu.Lock()
	negotiated := c.negotiated
	c.mu.Unlock()
	if !negotiated {
		if reqs[0].hdr.Command() != wire.CmdNegotiate || len(reqs) != 1 {
			return false, connErr("not-negotiated", fmt.Errorf("%v before NEGOTIATE", reqs[0].hdr.Command()))
		}
		_, err := c.runChain(reqs, handoff)
		c.releaseMem(prepaid)
		prepaid = 0
		return false, err
	}
	c.registerSync(reqs)
	if !parallelIO(reqs) {
		if !c.begin() {
			return false, net.ErrClosed
		}
		handedOff, err := c.runChain(reqs, handoff)
		c.inflight.Done()
		c.releaseMem(prepaid)
		prepaid = 0
		return handedOff, err
	}
	o := c.ioOpen(reqs[0])
	select {
	case c.sem <- struct{}{}:
	case <-c.done:
		if o != nil {
			o.io.Done()
		}
		return false, net.ErrClosed
	}
	cost := int64(len(msg))
	for _, r := range reqs {
		if r.hdr.Command() == wire.CmdRead && len(r.msg) >= wire.HeaderSize+8 {
			cost += int64(le.Uint32(r.msg[wire.HeaderSize+4:]))
		}
	}
	if prepaid > 0 {
		// The message's own bytes are held already; what a READ adds is
		// taken without waiting: messages after this one hold budget and
		// wait for this step, so waiting here could wait forever. It is
		// bounded by the maximum read size per message ahead.
		c.forceMem(cost - prepaid)
	} else if !c.acquireMem(cost) {
		<-c.sem
		if o != nil {
			o.io.Done()
		}
		return false, net.ErrClosed
	}
	prepaid = 0 // now part of cost, released by the I/O goroutine
	if !c.begin() {
		c.releaseMem(cost)
		<-c.sem
		if o != nil {
			o.io.Done()
		}
		return false, net.ErrClosed
	}
	owned = false // the I/O goroutine releases msg
	go func() {
		defer func() {
			if o != nil {
				o.io.Done()
			}
			c.releaseMem(cost)
			<-c.sem
			c.inflight.Done()
		}()
		if _, err := c.runChain(reqs, nil); err != nil {
			c.close(err)
		}
		c.release(msg)
	}()
	return false, nil
}

// release hands a message buffer back to a pooling transport.
func (c *conn) release(msg []byte) {
	if rl, ok := c.t.(transport.Releaser); ok {
		rl.Release(msg)
	}
}

// parallelIO reports whether a message is a lone READ or WRITE, which runs
// on its own goroutine.
func parallelIO(reqs []*request) bool {
	if len(reqs) != 1 {
		return false
	}
	cmd := reqs[0].hdr.Command()
	return cmd == wire.CmdRead || cmd == wire.CmdWrite
}

// ioOpen finds the open a lone READ/WRITE names and counts the I/O on it,
// so CLOSE and FLUSH, which run in order, wait for it.
func (c *conn) ioOpen(r *request) *open {
	var id wire.FileID
	switch r.hdr.Command() {
	case wire.CmdRead:
		if wire.ReadRequest(r.msg).Validate() != nil {
			return nil
		}
		id = wire.ReadRequest(r.msg).FileID()
	case wire.CmdWrite:
		if wire.WriteRequest(r.msg).Validate() != nil {
			return nil
		}
		id = wire.WriteRequest(r.msg).FileID()
	default:
		return nil
	}
	o := c.srv.opens.get(id)
	if o != nil {
		o.io.Add(1)
	}
	return o
}

// acquireMem waits until cost bytes fit in the connection's memory budget
// (a request bigger than the budget runs alone). It fails once the
// connection is closed.
func (c *conn) acquireMem(cost int64) bool {
	limit := c.srv.cfg.MaxConnMemory
	c.memMu.Lock()
	defer c.memMu.Unlock()
	for c.memUsed > 0 && c.memUsed+cost > limit {
		select {
		case <-c.done:
			return false
		default:
		}
		c.memCond.Wait()
	}
	c.memUsed += cost
	return true
}

// tryAcquireMem takes cost bytes of the budget if they fit now.
func (c *conn) tryAcquireMem(cost int64) bool {
	c.memMu.Lock()
	defer c.memMu.Unlock()
	if c.memUsed > 0 && c.memUsed+cost > c.srv.cfg.MaxConnMemory {
		return false
	}
	c.memUsed += cost
	return true
}

// forceMem takes cost bytes of the budget without waiting.
func (c *conn) forceMem(cost int64) {
	c.memMu.Lock()
	c.memUsed += cost
	c.memMu.Unlock()
}

func (c *conn) releaseMem(cost int64) {
	if cost == 0 {
		return
	}
	c.memMu.Lock()
	c.memUsed -= cost
	c.memMu.Unlock()
	c.memCond.Broadcast()
}

// chargeCredits checks a request's MessageId and CreditCharge against the
// command sequence window (MS-SMB2 3.3.5.2.3) and consumes them.
func (c *conn) chargeCredits(h wire.Header) error {
	c.creditMu.Lock()
	defer c.creditMu.Unlock()
	mid := h.MessageID()
	charge := uint64(h.CreditCharge())
	if charge == 0 {
		charge = 1
	}
	if charge > 1 && c.dialect == wire.Dialect202 {
		charge = 1
	}
	if mid == ^uint64(0) {
		return connErr("bad-message-id", fmt.Errorf("message id %#x", mid))
	}
	if mid < c.seqLo || mid+charge > c.seqHi || mid+charge < mid {
		return connErr("message-id-outside-window", fmt.Errorf("id %d charge %d window [%d,%d)", mid, charge, c.seqLo, c.seqHi))
	}
	for i := mid; i < mid+charge; i++ {
		if _, dup := c.used[i]; dup {
			return connErr("message-id-reused", fmt.Errorf("id %d", i))
		}
	}
	for i := mid; i < mid+charge; i++ {
		c.used[i] = struct{}{}
	}
	for {
		if _, ok := c.used[c.seqLo]; !ok {
			break
		}
		delete(c.used, c.seqLo)
		c.seqLo++
	}
	return nil
}

// grantCredits decides the credits of a response (MS-SMB2 3.3.1.2).
func (c *conn) grantCredits(requested, charge uint16) uint16 {
	c.creditMu.Lock()
	defer c.creditMu.Unlock()
	outstanding := c.seqHi - c.seqLo - uint64(len(c.used))
	max := uint64(c.srv.cfg.MaxCredits)
	want := uint64(requested)
	if want == 0 {
		want = 1
	}
	if outstanding+want > max {
		if outstanding >= max {
			want = 0
		} else {
			want = max - outstanding
		}
	}
	if outstanding+want == 0 {
		want = 1
	}
	c.seqHi += want
	return uint16(want)
}

// sessionChannel returns this connection's channel of session id.
func (c *conn) channel(id uint64) *channel {
	c.chMu.Lock()
	defer c.chMu.Unlock()
	return c.channels[id]
}

func (c *conn) addChannel(s *session, signer crypt.Signer) {
	c.chMu.Lock()
	if c.channels != nil {
		c.channels[s.id] = &channel{sess: s, signer: signer, seq: channelSeq.Add(1)}
	}
	c.chMu.Unlock()
}

func (c *conn) removeChannel(id uint64) {
	c.chMu.Lock()
	delete(c.channels, id)
	c.chMu.Unlock()
}

func (c *conn) decrypt(msg []byte) ([]byte, *session, error) {
	id, err := crypt.TransformSessionID(msg)
	if err != nil {
		return nil, nil, connErr("bad-transform", err)
	}
	sess := c.srv.lookupSession(id)
	if sess == nil || sess.decrypter() == nil {
		return nil, nil, connErr("transform-unknown-session", fmt.Errorf("session %#x", id))
	}
	// The transport's message buffer is ours to its capacity
	// (transport.Conn.ReadMessage), so GCM decrypts where the ciphertext
	// lies, without moving it down next to the tag first.
	pt, err := crypt.OpenInPlaceTail(sess.decrypter(), msg)
	if err != nil {
		return nil, nil, connErr("decrypt-failed", err)
	}
	return pt, sess, nil
}

// send writes one response chain, sealing it when enc is set.
func (c *conn) send(chain []byte, enc *session) error {
	if enc != nil {
		e := enc.encrypter()
		if e == nil {
			return connErr("no-encryption-key", nil)
		}
		out := e.Seal(make([]byte, 0, len(chain)+e.Overhead()), chain, enc.id)
		return c.t.WriteMessage(out)
	}
	return c.t.WriteMessage(chain)
}

const transformHeaderSize = crypt.TransformHeaderSize

// sendSealed seals buf[transformHeaderSize:] in place and sends it.
func (c *conn) sendSealed(buf []byte, enc *session) error {
	e := enc.encrypter()
	if e == nil {
		return connErr("no-encryption-key", nil)
	}
	return c.t.WriteMessage(crypt.SealInPlace(e, buf, enc.id))
}

func (c *conn) registerSync(reqs []*request) {
	c.reqMu.Lock()
	for _, r := range reqs {
		c.byMsgID[r.hdr.MessageID()] = r
	}
	c.reqMu.Unlock()
}

func (c *conn) unregister(r *request) {
	c.reqMu.Lock()
	if c.byMsgID[r.hdr.MessageID()] == r {
		delete(c.byMsgID, r.hdr.MessageID())
	}
	if r.asyncID != 0 && c.byAsync[r.asyncID] == r {
		delete(c.byAsync, r.asyncID)
	}
	c.reqMu.Unlock()
}

// cancel handles SMB2 CANCEL (MS-SMB2 3.3.5.16): no response is sent.
func (c *conn) cancel(r *request) {
	var target *request
	c.reqMu.Lock()
	if r.hdr.IsAsync() {
		target = c.byAsync[r.hdr.AsyncID()]
	} else {
		target = c.byMsgID[r.hdr.MessageID()]
	}
	c.reqMu.Unlock()
	if target != nil {
		target.cancel()
	}
}
