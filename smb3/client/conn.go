package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

var le = binary.LittleEndian

// Errors.
var (
	ErrClosed    = errors.New("smb3/client: connection closed")
	ErrSignature = errors.New("smb3/client: bad response signature")
	ErrProtocol  = errors.New("smb3/client: protocol violation")
)

// StatusError is a non-success NTSTATUS in a response.
type StatusError struct {
	Cmd    wire.Command
	Status wire.Status
}

func (e *StatusError) Error() string { return fmt.Sprintf("%v: %v", e.Cmd, e.Status) }

// IsStatus reports whether err is a StatusError with status s.
func IsStatus(err error, s wire.Status) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == s
}

// req is one request to send: msg is the header and body (the header's
// command, flags, tree and session ids already set by the builder), data an
// optional payload that follows the body (WRITE), and charge its credit
// charge (MS-SMB2 3.2.4.1.5).
type req struct {
	msg    []byte
	data   []byte
	charge uint16
	sign   bool // sign even when the session does not
}

// Response is one response message (header and body).
type Response struct {
	Msg []byte
	buf *[]byte // pooled frame buffer the message lives in, or nil
}

// Header returns the response header view.
func (r *Response) Header() wire.Header { return wire.Header(r.Msg) }

// Status is the response's NTSTATUS.
func (r *Response) Status() wire.Status { return wire.Status(r.Header().Status()) }

// Body is the message after the header.
func (r *Response) Body() []byte { return r.Msg[wire.HeaderSize:] }

// Release returns the frame buffer to the pool; r must not be used after.
func (r *Response) Release() {
	if r.buf != nil {
		putBuf(r.buf)
		r.buf, r.Msg = nil, nil
	}
}

type call struct {
	done chan struct{}
	resp Response
	err  error
}

// conn is one transport connection (a channel once the session is set up).
type conn struct {
	t    link
	rdma *rdmaChan // SMB-Direct: registered buffers for READ/WRITE data; nil over TCP
	s    *Session  // nil until session setup
	max  struct{ read, write, trans uint32 }

	// Fixed after negotiate.
	dialect  wire.Dialect
	largeMTU bool
	signAlg  uint16
	cipherID uint16
	preauth  crypt.PreauthHash // connection preauth hash after NEGOTIATE

	// Written during setup, read by the reader goroutine afterwards.
	signer    crypt.Signer // Channel.SigningKey signer; nil: no signing
	forceSign bool         // sign with signer even when the session does not (binding, TREE_CONNECT)

	// wmu serializes writers: one message or chain per Write.
	wmu sync.Mutex

	// Credits and message ids, under cmu.
	cmu      sync.Mutex
	ccond    *sync.Cond
	nextID   uint64
	avail    int // credits granted and not yet used
	inflight int // credits charged by requests still outstanding
	target   int // credits the client tries to hold

	// Calls in flight, under pmu; err is set once when the reader stops.
	pmu     sync.Mutex
	pending map[uint64]*call
	err     error
}

func newConn(t link, target int) *conn {
	c := &conn{t: t, avail: 1, target: target, pending: map[uint64]*call{}}
	if rl, ok := t.(*rdmaLink); ok {
		c.rdma = rl.ch
	}
	c.ccond = sync.NewCond(&c.cmu)
	go c.readLoop()
	return c
}

func (c *conn) close() error { return c.t.close() }

// Frame buffers are pooled by power-of-two size class from 64 KiB up.
var bufPools [12]sync.Pool // 64K .. 128M

func sizeClass(n int) int {
	c := 0
	for s := 64 << 10; s < n; s <<= 1 {
		c++
	}
	return c
}

func getBuf(n int) *[]byte {
	if n <= 4<<10 {
		b := make([]byte, n)
		return &b
	}
	cl := sizeClass(n)
	if cl >= len(bufPools) {
		b := make([]byte, n)
		return &b
	}
	if p, ok := bufPools[cl].Get().(*[]byte); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, (64<<10)<<cl)
	return &b
}

func putBuf(p *[]byte) {
	n := cap(*p)
	if n < 64<<10 {
		return
	}
	cl := sizeClass(n)
	if cl < len(bufPools) && (64<<10)<<cl == n {
		bufPools[cl].Put(p)
	}
}

// readLoop owns the read side: it reads frames, decrypts, verifies
// signatures, takes the granted credits and completes calls.
func (c *conn) readLoop() {
	var err error
	defer func() { c.fail(err) }()
	for {
		var bp *[]byte
		if bp, err = c.t.read(); err != nil {
			return
		}
		m := *bp
		encrypted := crypt.IsTransform(m)
		if encrypted {
			s := c.s
			if s == nil || s.dec == nil {
				err = fmt.Errorf("%w: encrypted response without keys", ErrProtocol)
				return
			}
			if m, err = crypt.OpenInPlace(s.dec, m); err != nil {
				return
			}
		}
		compound := false
		for len(m) > 0 {
			var ln int
			var more bool
			if ln, more, err = wire.SplitCompound(m); err != nil {
				return
			}
			if more {
				compound = true
			}
			msg := m[:ln:ln]
			m = m[ln:]
			h := wire.Header(msg)
			if err = h.Validate(); err != nil {
				return
			}
			var owner *[]byte
			if !compound && !more {
				owner = bp
			}
			c.deliver(msg, owner, encrypted)
		}
		if compound {
			// Messages of a chain share the buffer: leave it to the GC.
			continue
		}
	}
}

func (c *conn) deliver(msg []byte, owner *[]byte, encrypted bool) {
	h := wire.Header(msg)
	st := wire.Status(h.Status())
	c.cmu.Lock()
	c.avail += int(h.CreditRequest())
	interim := h.IsAsync() && st == wire.StatusPending
	c.cmu.Unlock()
	c.ccond.Broadcast()
	if h.MessageID() == ^uint64(0) { // oplock/lease break notification
		if c.s != nil && c.s.breaks != nil && len(msg) >= wire.HeaderSize+44 && le.Uint16(msg[wire.HeaderSize:]) == 44 {
			var lb LeaseBreak
			body := msg[wire.HeaderSize:]
			lb.AckRequired = le.Uint32(body[4:])&1 != 0
			copy(lb.Key[:], body[8:24])
			lb.Current, lb.New = le.Uint32(body[24:]), le.Uint32(body[28:])
			lb.Channel = c.s.channelIndex(c)
			select {
			case c.s.breaks <- lb:
			default:
			}
		}
		if owner != nil {
			putBuf(owner)
		}
		return
	}
	if interim {
		if owner != nil {
			putBuf(owner)
		}
		return
	}
	var verr error
	if !encrypted && h.IsSigned() && c.signer != nil && h.Command() != wire.CmdSessionSetup {
		if !c.signer.Verify(msg) {
			verr = fmt.Errorf("%w: %v message %d", ErrSignature, h.Command(), h.MessageID())
		}
	}
	c.pmu.Lock()
	cl := c.pending[h.MessageID()]
	delete(c.pending, h.MessageID())
	c.pmu.Unlock()
	if cl == nil {
		if owner != nil {
			putBuf(owner)
		}
		return
	}
	c.cmu.Lock()
	c.inflight -= int(max(h.CreditCharge(), 1))
	c.cmu.Unlock()
	cl.resp = Response{Msg: msg, buf: owner}
	cl.err = verr
	close(cl.done)
}

func (c *conn) fail(err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	c.pmu.Lock()
	if c.err == nil {
		c.err = err
	}
	p := c.pending
	c.pending = map[uint64]*call{}
	c.pmu.Unlock()
	for _, cl := range p {
		cl.err = err
		close(cl.done)
	}
	c.cmu.Lock()
	c.avail = 1 << 30 // wake and never block again: sends now fail
	c.cmu.Unlock()
	c.ccond.Broadcast()
	c.t.close()
}

// acquire takes charge credits and returns the first message id and the
// CreditRequest to send, blocking while the window is exhausted.
func (c *conn) acquire(charge int) (id uint64, creq uint16) {
	c.cmu.Lock()
	for c.avail < charge {
		c.ccond.Wait()
	}
	c.avail -= charge
	c.inflight += charge
	id = c.nextID
	c.nextID += uint64(charge)
	want := charge
	if held := c.avail + c.inflight; held < c.target {
		want += min(c.target-held, 256)
	}
	c.cmu.Unlock()
	return id, uint16(want)
}

// roundTrip sends reqs as one message or a related compound chain
// (MS-SMB2 3.2.4.1.4) and waits for every response. Each response must be
// released by the caller. With hook, it is called with each final request
// message as sent (before encryption), for the preauth hash.
func (c *conn) roundTrip(reqs []req, hook func(msg []byte)) ([]Response, error) {
	calls, err := c.send(reqs, hook)
	if err != nil {
		return nil, err
	}
	out := make([]Response, len(calls))
	var first error
	for i, cl := range calls {
		<-cl.done
		out[i] = cl.resp
		if cl.err != nil && first == nil {
			first = cl.err
		}
	}
	if first != nil {
		for i := range out {
			out[i].Release()
		}
		return nil, first
	}
	return out, nil
}

func (c *conn) send(reqs []req, hook func(msg []byte)) ([]*call, error) {
	s := c.s
	sign := c.signer != nil && (c.forceSign || s != nil && s.signing)
	seal := s != nil && s.enc != nil && s.encrypting
	calls := make([]*call, len(reqs))
	ids := make([]uint64, len(reqs))
	total := 0
	for i := range reqs {
		ch := int(max(reqs[i].charge, 1))
		if c.dialect < wire.Dialect210 || !c.largeMTU {
			ch = 1
		}
		reqs[i].charge = uint16(ch)
		total += ch
	}
	// All messages of a chain take their ids in one go, in order.
	first, creq := c.acquire(total)
	id := first
	for i := range reqs {
		ids[i] = id
		id += uint64(reqs[i].charge)
	}
	c.pmu.Lock()
	if c.err != nil {
		err := c.err
		c.pmu.Unlock()
		return nil, err
	}
	for i := range reqs {
		calls[i] = &call{done: make(chan struct{})}
		c.pending[ids[i]] = calls[i]
	}
	c.pmu.Unlock()

	for i := range reqs {
		m := reqs[i].msg
		h := wire.Header(m)
		h.SetMessageID(ids[i])
		h.SetCreditCharge(reqs[i].charge)
		cr := reqs[i].charge
		if i == len(reqs)-1 {
			cr = creq - uint16(total) + reqs[i].charge
		}
		h.SetCredits(cr)
		if i > 0 {
			h.SetFlags(h.Flags() | wire.FlagRelatedOperations)
		}
	}
	var err error
	if len(reqs) == 1 && !sign && !reqs[0].sign && !seal && hook == nil {
		// Header+body and payload in one message (one writev over TCP).
		r := reqs[0]
		c.wmu.Lock()
		err = c.t.write(r.msg, r.data)
		c.wmu.Unlock()
	} else {
		// One message: transform headroom, the chain.
		n := 0
		for i, r := range reqs {
			l := len(r.msg) + len(r.data)
			if i < len(reqs)-1 {
				l = (l + 7) &^ 7
			}
			n += l
		}
		head := 0
		if seal {
			head = crypt.TransformHeaderSize
		}
		fb := getBuf(head + n + 16)
		f := (*fb)[:head]
		for i, r := range reqs {
			start := len(f)
			f = append(f, r.msg...)
			f = append(f, r.data...)
			if i < len(reqs)-1 {
				for (len(f)-start)%8 != 0 {
					f = append(f, 0)
				}
				le.PutUint32(f[start+20:], uint32(len(f)-start)) // NextCommand
			}
			m := f[start:]
			if !seal && c.signer != nil && (sign || r.sign) {
				le.PutUint32(m[16:], le.Uint32(m[16:])|wire.FlagSigned)
				sig := c.signer.Sign(m)
				copy(m[48:64], sig[:])
			}
			if hook != nil {
				hook(m)
			}
		}
		out := f
		if seal {
			out = crypt.SealInPlace(s.enc, f, s.id)
		}
		c.wmu.Lock()
		err = c.t.write(out)
		c.wmu.Unlock()
		putBuf(fb)
	}
	if err != nil {
		c.fail(err)
		return nil, err
	}
	return calls, nil
}

// header returns a new request header for cmd with the session and tree ids.
func header(cmd wire.Command, sessID uint64, treeID uint32, extra int) []byte {
	b := make([]byte, wire.HeaderSize, wire.HeaderSize+extra)
	copy(b, wire.ProtocolID)
	le.PutUint16(b[4:], wire.HeaderSize)
	le.PutUint16(b[12:], uint16(cmd))
	le.PutUint32(b[36:], treeID)
	le.PutUint64(b[40:], sessID)
	return b
}

// withDeadline bounds setup exchanges on c.
func withDeadline(c *conn, d time.Duration) func() {
	c.t.setDeadline(time.Now().Add(d))
	return func() { c.t.setDeadline(time.Time{}) }
}
