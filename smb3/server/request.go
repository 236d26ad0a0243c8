package server

import (
	"context"
	"sync"
	"time"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
	"smb3d/transport"
)

// request is one SMB2 request of a (possibly compound) message.
type request struct {
	c       *conn
	msg     []byte // header + body
	hdr     wire.Header
	encSess *session // the message was encrypted with this session's key

	sess *session
	tree *tree

	// Set while building the response.
	chain      *chainRun
	asyncID    uint64
	signNew    crypt.Signer       // sign the response with this (final SESSION_SETUP)
	hashResp   *crypt.PreauthHash // add the response to this preauth hash
	after      func()             // run after the response is sent
	invalidate uint32             // RDMA_V1_INVALIDATE: token to invalidate with the response

	mu        sync.Mutex
	ctx       context.Context
	cancelCtx context.CancelFunc
	cancelled bool // a CANCEL arrived, possibly before context() was called
}

func (r *request) cancel() {
	r.mu.Lock()
	r.cancelled = true
	cf := r.cancelCtx
	r.mu.Unlock()
	if cf != nil {
		cf()
	}
}

// context returns a context cancelled by CANCEL or by the connection closing.
func (r *request) context() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		r.ctx, r.cancelCtx = context.WithCancel(context.Background())
		if r.cancelled {
			r.cancelCtx()
		}
		go func(ctx context.Context, done <-chan struct{}, cf context.CancelFunc) {
			select {
			case <-ctx.Done():
			case <-done:
				cf()
			}
		}(r.ctx, r.c.done, r.cancelCtx)
	}
	return r.ctx
}

// chainState carries what related requests inherit (MS-SMB2 3.3.5.2.7.2).
type chainState struct {
	sess    *session
	tree    *tree
	fid     wire.FileID
	hasFid  bool
	failed  bool
	lastErr wire.Status
}

// chainRun is the response chain being built for one received message.
type chainRun struct {
	c         *conn
	out       []byte
	starts    []int      // start of each response in out
	reqs      []*request // the request of each response in out
	first     *request
	last      *request // the last request of the received chain
	compound  bool     // the received message held more than one request
	handoff   func()   // passes the connection's ordered role on; nil off it (chain runs in order only with one)
	handedOff bool     // handoff was called
	encSess   *session
	sent      int     // responses already sent (async interim flushes)
	pooled    *[]byte // out's array when it came from readBufs (io.go), returned by recycle
}

type handlerFunc func(r *request, st *chainState, out []byte) ([]byte, wire.Status)

type cmdInfo struct {
	validate    func([]byte) error
	needSession bool
	needTree    bool
	handle      handlerFunc
}

var cmdTable [wire.NumCommands]cmdInfo

func init() {
	v := func(f func([]byte) error) func([]byte) error { return f }
	cmdTable = [wire.NumCommands]cmdInfo{
		wire.CmdNegotiate:      {v(func(b []byte) error { return wire.NegotiateRequest(b).Validate() }), false, false, handleNegotiate},
		wire.CmdSessionSetup:   {v(func(b []byte) error { return wire.SessionSetupRequest(b).Validate() }), false, false, handleSessionSetup},
		wire.CmdLogoff:         {wire.ValidateEmpty, true, false, handleLogoff},
		wire.CmdTreeConnect:    {v(func(b []byte) error { return wire.TreeConnectRequest(b).Validate() }), true, false, handleTreeConnect},
		wire.CmdTreeDisconnect: {wire.ValidateEmpty, true, true, handleTreeDisconnect},
		wire.CmdCreate:         {v(func(b []byte) error { return wire.CreateRequest(b).Validate() }), true, true, handleCreate},
		wire.CmdClose:          {v(func(b []byte) error { return wire.CloseRequest(b).Validate() }), true, true, handleClose},
		wire.CmdFlush:          {v(func(b []byte) error { return wire.FlushRequest(b).Validate() }), true, true, handleFlush},
		wire.CmdRead:           {v(func(b []byte) error { return wire.ReadRequest(b).Validate() }), true, true, handleRead},
		wire.CmdWrite:          {v(func(b []byte) error { return wire.WriteRequest(b).Validate() }), true, true, handleWrite},
		wire.CmdLock:           {v(func(b []byte) error { return wire.LockRequest(b).Validate() }), true, true, handleLock},
		wire.CmdIoctl:          {v(func(b []byte) error { return wire.IoctlRequest(b).Validate() }), true, true, handleIoctl},
		wire.CmdCancel:         {wire.ValidateEmpty, false, false, nil},
		wire.CmdEcho:           {wire.ValidateEmpty, false, false, handleEcho},
		wire.CmdQueryDirectory: {v(func(b []byte) error { return wire.QueryDirectoryRequest(b).Validate() }), true, true, handleQueryDirectory},
		wire.CmdChangeNotify:   {v(func(b []byte) error { return wire.ChangeNotifyRequest(b).Validate() }), true, true, handleChangeNotify},
		wire.CmdQueryInfo:      {v(func(b []byte) error { return wire.QueryInfoRequest(b).Validate() }), true, true, handleQueryInfo},
		wire.CmdSetInfo:        {v(func(b []byte) error { return wire.SetInfoRequest(b).Validate() }), true, true, handleSetInfo},
		wire.CmdOplockBreak:    {v(func(b []byte) error { return wire.OplockBreakAck(b).Validate() }), true, true, handleOplockBreak},
	}
}

// runChain processes the requests of one message in order and sends the
// responses as one chain. handoff is set when it runs in the connection's
// order (on the reading goroutine, or as decryptAhead's turn): it passes
// that role on when a request goes async, and handedOff reports that it
// was called. A lone READ or WRITE on its own goroutine has none.
func (c *conn) runChain(reqs []*request, handoff func()) (handedOff bool, err error) {
	run := &chainRun{handoff: handoff, c: c, first: reqs[0], last: reqs[len(reqs)-1], compound: len(reqs) > 1, encSess: reqs[0].encSess, out: make([]byte, 0, 1024)}
	if run.encSess != nil {
		// Headroom for the TRANSFORM_HEADER, so the chain is sealed in place.
		run.out = append(run.out, make([]byte, transformHeaderSize)...)
	}
	var st chainState
	for _, r := range reqs {
		if len(run.starts) > 0 {
			for (len(run.out)-run.starts[0])%8 != 0 {
				run.out = append(run.out, 0)
			}
		}
		start := len(run.out)
		run.starts = append(run.starts, start)
		run.reqs = append(run.reqs, r)
		r.chain = run
		run.out = append(run.out, make([]byte, wire.HeaderSize)...)
		var status wire.Status
		t0 := time.Now()
		run.out, status = c.dispatch(r, &st, run.out, start)
		ms := status
		if ms == statusNoResponse {
			ms = wire.StatusSuccess // answered by the handler itself (zero-copy READ) or dropped
		}
		c.srv.metrics.observe(r.hdr.Command(), ms, time.Since(t0))
		c.unregister(r)
		start = run.starts[len(run.starts)-1]
		if status == statusNoResponse {
			if r.after != nil {
				// No response, but its consequence (a disconnect) stands.
				defer r.after()
			}
			run.out = run.out[:start]
			run.starts = run.starts[:len(run.starts)-1]
			run.reqs = run.reqs[:len(run.reqs)-1]
			continue
		}
		if len(run.out) == start+wire.HeaderSize {
			// No body: an error response (MS-SMB2 2.2.2).
			run.out = wire.AppendErrorResponse(run.out, nil)
		}
		c.fillHeader(r, run.out[start:start+wire.HeaderSize], status, r.asyncID != 0)
		// Only a failed CREATE (or a first request wrongly marked related)
		// fails the related requests after it (MS-SMB2 3.3.5.2.7.2).
		if r.hdr.Command() == wire.CmdCreate || (r == run.first && r.hdr.IsRelated()) {
			st.failed = status.IsError()
			st.lastErr = status
		}
	}
	err = run.flush()
	run.recycle()
	return run.handedOff, err
}

// statusNoResponse marks a request that gets no response (a dropped
// request, or a handler that already sent its own).
const statusNoResponse wire.Status = 0xFFFFFFFF

// flush signs and sends the responses not yet sent.
func (run *chainRun) flush() error {
	if run.sent >= len(run.starts) {
		return nil
	}
	first := run.starts[run.sent]
	if run.compound && len(run.out) > run.starts[len(run.starts)-1] {
		// Every response of a compound is padded to 8 bytes, the last
		// one too (MS-SMB2 3.3.4.1.3; smb2.compound.compound-padding).
		for (len(run.out)-run.starts[0])%8 != 0 {
			run.out = append(run.out, 0)
		}
	}
	for i := run.sent; i < len(run.starts); i++ {
		s := run.starts[i]
		end := len(run.out)
		if i+1 < len(run.starts) {
			end = run.starts[i+1]
		}
		h := wire.Header(run.out[s:end])
		if i+1 < len(run.starts) {
			h.SetNextCommand(uint32(end - s))
		} else {
			h.SetNextCommand(0)
		}
		run.c.sign(run.reqs[i], run.out[s:end])
		if hr := run.reqs[i].hashResp; hr != nil {
			hr.Update(run.out[s:end])
		}
	}
	reqs := run.reqs[run.sent:]
	run.sent = len(run.starts)
	var err error
	var inval uint32
	for _, r := range reqs {
		if r.invalidate != 0 {
			inval = r.invalidate
		}
	}
	if run.encSess != nil && first >= transformHeaderSize {
		err = run.c.sendSealed(run.out[first-transformHeaderSize:], run.encSess)
	} else if rc, ok := run.c.t.(transport.RDMAConn); ok && inval != 0 {
		err = rc.WriteMessageInvalidate(inval, run.out[first:])
	} else {
		err = run.c.send(run.out[first:], run.encSess)
	}
	for _, r := range reqs {
		if r.after != nil {
			r.after()
			r.after = nil
		}
	}
	return err
}

// fillHeader writes the response header for r.
func (c *conn) fillHeader(r *request, hb []byte, status wire.Status, async bool) {
	h := wire.Header(hb)
	copy(hb, wire.ProtocolID)
	le.PutUint16(hb[4:], wire.HeaderSize)
	h.SetCreditCharge(r.hdr.CreditCharge())
	h.SetStatus(uint32(status))
	h.SetCommand(r.hdr.Command())
	flags := wire.FlagServerToRedir | (r.hdr.Flags() & (wire.FlagRelatedOperations | wire.FlagPriorityMask))
	h.SetMessageID(r.hdr.MessageID())
	tid := r.hdr.TreeID()
	if r.tree != nil {
		tid = r.tree.id
	}
	if async {
		flags |= wire.FlagAsyncCommand
		h.SetAsyncID(r.asyncID)
		h.SetCredits(0)
	} else {
		le.PutUint32(hb[32:], 0)
		h.SetTreeID(tid)
		h.SetCredits(c.grantCredits(r.hdr.CreditRequest(), r.hdr.CreditCharge()))
	}
	h.SetFlags(flags)
	sid := r.hdr.SessionID()
	if r.sess != nil {
		sid = r.sess.id
	}
	h.SetSessionID(sid)
	for i := 48; i < 64; i++ {
		hb[i] = 0
	}
}

// sign signs one response message in place when the rules say so
// (MS-SMB2 3.3.4.1.1).
func (c *conn) sign(r *request, m []byte) {
	if r.encSess != nil {
		return
	}
	signer := r.signNew
	if signer == nil && r.sess == nil && r.hdr.IsSigned() && r.hdr.SessionID() != 0 {
		// A session ended under this channel (a failed re-authentication):
		// its USER_SESSION_DELETED is signed with the channel key it had
		// (smb2.session.bind_invalid_auth).
		if ch := c.channel(r.hdr.SessionID()); ch != nil && ch.signer != nil && ch.signer.Verify(r.msg) {
			signer = ch.signer // only for a sender that holds the key
		}
	}
	if signer == nil {
		if r.sess == nil {
			return
		}
		if !r.hdr.IsSigned() && !r.sess.signingRequired() {
			return
		}
		if ch := c.channel(r.sess.id); ch != nil {
			signer = ch.signer
		} else if r.hdr.IsSigned() {
			// Not a channel of this connection (USER_SESSION_DELETED):
			// signed with the session's key as Windows does, since a
			// client that signed drops an unsigned answer
			// (smb2.session.bind2).
			r.sess.mu.Lock()
			signer = r.sess.signer
			r.sess.mu.Unlock()
			if signer != nil && !signer.Verify(r.msg) {
				signer = nil // only for a sender that holds the key
			}
		}
		if signer == nil {
			return
		}
	}
	h := wire.Header(m)
	h.SetFlags(h.Flags() | wire.FlagSigned)
	sig := signer.Sign(m)
	copy(m[48:64], sig[:])
}

// dispatch validates r, resolves its session and tree, checks its
// signature, and runs its handler (MS-SMB2 3.3.5.2).
func (c *conn) dispatch(r *request, st *chainState, out []byte, start int) ([]byte, wire.Status) {
	c.srv.stats.Requests.Add(1)
	cmd := r.hdr.Command()
	if int(cmd) >= len(cmdTable) || cmdTable[cmd].handle == nil {
		return out, wire.StatusInvalidParameter
	}
	info := &cmdTable[cmd]
	if err := info.validate(r.msg); err != nil {
		c.log.Debug("invalid request", "cmd", cmd, "err", err)
		return out, wire.StatusInvalidParameter
	}
	related := r.hdr.IsRelated()
	if related && r.chain.first == r {
		// MS-SMB2 3.3.5.2.7.2: the first request cannot be related.
		return out, wire.StatusInvalidParameter
	}
	if related && st.failed {
		return out, st.lastErr
	}
	if !related {
		st.sess, st.tree = nil, nil
		st.hasFid = false
	}
	if o, status, ok := c.handleTortureIoctl(r, out); ok {
		return o, status // channels.go: Samba's test-only FSCTL_SMBTORTURE, sent without a session
	}
	// Session.
	if info.needSession || (cmd == wire.CmdSessionSetup && r.hdr.SessionID() != 0) || (cmd == wire.CmdEcho && r.hdr.SessionID() != 0 && r.hdr.IsSigned()) {
		var sess *session
		if related {
			// A related request uses the previous request's session;
			// without one it is invalid (Samba, Windows).
			sess = st.sess
			if sess == nil {
				return out, wire.StatusInvalidParameter
			}
		} else {
			sess = c.srv.lookupSession(r.hdr.SessionID())
		}
		if sess == nil {
			if cmd == wire.CmdSessionSetup {
				return out, wire.StatusUserSessionDeleted
			}
			return out, wire.StatusUserSessionDeleted
		}
		r.sess = sess
		st.sess = sess
		if cmd != wire.CmdSessionSetup {
			if status := sess.checkUsable(c); status != 0 {
				return out, status
			}
		}
		if status := c.checkSignature(r); status != 0 {
			return out, status
		}
		if cmd != wire.CmdSessionSetup && sess.encryptData() && r.encSess == nil {
			return out, wire.StatusAccessDenied
		}
	}
	if info.needTree {
		var t *tree
		if related && r.hdr.TreeID() == ^uint32(0) {
			t = st.tree
		} else {
			t = r.sess.tree(r.hdr.TreeID())
		}
		if t == nil {
			return out, wire.StatusNetworkNameDeleted
		}
		if t.encrypt && r.encSess == nil {
			return out, wire.StatusAccessDenied
		}
		r.tree = t
		st.tree = t
	}
	out, status := info.handle(r, st, out)
	r.noteChannelUse(st, status) // channels.go
	return out, status
}

// checkSignature verifies a signed request, and refuses an unsigned one when
// the session requires signing (MS-SMB2 3.3.5.2.4).
func (c *conn) checkSignature(r *request) wire.Status {
	if r.encSess != nil {
		return 0
	}
	if !r.hdr.IsSigned() {
		if r.sess.signingRequired() && r.hdr.Command() != wire.CmdSessionSetup {
			return wire.StatusAccessDenied
		}
		return 0
	}
	ch := c.channel(r.sess.id)
	var signer crypt.Signer
	if ch != nil {
		signer = ch.signer
	}
	if signer == nil {
		if r.hdr.Command() == wire.CmdSessionSetup {
			return 0 // binding requests are checked by the session setup handler
		}
		return wire.StatusAccessDenied
	}
	if !signer.Verify(r.msg) {
		// MS-SMB2 3.3.5.2.4 fails the request with ACCESS_DENIED; a forged
		// or corrupted message also ends the connection (issue 3), since
		// nothing after it on this stream can be trusted.
		c.srv.reject("bad-signature", "cmd", r.hdr.Command().String())
		if r.hdr.Command() != wire.CmdSessionSetup {
			// A binding or re-authentication signed with the session's
			// key instead of this channel's is refused, not fatal
			// (smb2.session.bind_negative_smb3signCtoH*).
			r.after = func() { c.close(connErr("bad-signature", nil)) }
		}
		return wire.StatusAccessDenied
	}
	return 0
}

// canGoAsync reports whether r may go async: only the last request of a
// compound chain can (Windows answers STATUS_INTERNAL_ERROR for one in the
// middle; smb2.compound.interim2, async_flush_close).
func (r *request) canGoAsync() bool {
	return r.chain == nil || r.chain.last == r || r.hdr.Command() == wire.CmdCreate
}

// goAsync turns r into an async operation (MS-SMB2 3.3.4.2): it sends the
// responses built so far and an interim STATUS_PENDING for r, after which the
// handler may block; its final response goes out with the async id.
func (r *request) goAsync(out []byte) []byte {
	if r.asyncID != 0 {
		return out
	}
	c := r.c
	r.asyncID = c.srv.newID()
	c.reqMu.Lock()
	c.byAsync[r.asyncID] = r
	c.reqMu.Unlock()
	run := r.chain
	run.out = out
	start := run.starts[len(run.starts)-1]
	// Build the interim response in place of r's, send everything so far.
	saved := append([]byte(nil), run.out[start:]...)
	run.out = run.out[:start+wire.HeaderSize]
	c.fillHeader(r, run.out[start:], wire.StatusPending, true)
	// The interim grants the credits (the final response grants none).
	wire.Header(run.out[start:]).SetCredits(c.grantCredits(r.hdr.CreditRequest(), r.hdr.CreditCharge()))
	run.out = wire.AppendErrorResponse(run.out, nil)
	run.flush()
	if run.handoff != nil && !run.handedOff {
		// This goroutine now waits with r; the next message goes on.
		run.handedOff = true
		run.handoff()
	}
	// Continue r's response in a fresh chain of its own.
	run.out = run.out[:0]
	if run.encSess != nil {
		run.out = append(run.out, make([]byte, transformHeaderSize)...)
	}
	run.starts = []int{len(run.out)}
	run.out = append(run.out, saved...)
	run.compound = false
	run.reqs = []*request{r}
	run.sent = 0
	return run.out
}
