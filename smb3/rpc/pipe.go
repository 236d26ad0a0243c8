package rpc

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Config is what the RPC services know about the server and the caller.
type Config struct {
	Shares     ShareLister
	ServerName string // NetBIOS name
	Domain     string // NetBIOS domain or workgroup
	Comment    string // server comment (SERVER_INFO_101)
	// Admin is true for callers that may see administrator levels
	// (share paths at levels 2 and 502); false for guests and anonymous.
	Admin bool
	// Now is the clock NetrRemoteTOD reads; nil: time.Now.
	Now func() time.Time
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Config) shares() []Share {
	if c.Shares == nil {
		return nil
	}
	return c.Shares.Shares()
}

// opFunc decodes one call's [in] parameters from d and encodes its [out]
// parameters into e; a decode error (d.err) turns into a fault.
type opFunc func(p *Pipe, d *decoder, e *encoder)

// iface is an RPC interface served on a pipe.
type iface struct {
	name     string
	syntax   SyntaxID
	maxOpnum uint16 // the highest opnum the interface defines
	ops      map[uint16]opFunc
}

// ifaces are the pipes served, by lower-case name.
var ifaces = map[string]*iface{"srvsvc": srvsvc, "wkssvc": wkssvc}

// PipeName canonicalizes a CREATE name on IPC$: case-insensitive, with an
// optional leading "\PIPE\" (MS-SMB2 3.3.5.9 leaves pipe names to the
// server; Windows accepts both). It reports whether the pipe is served.
func PipeName(name string) (string, bool) {
	n := strings.ToLower(strings.ReplaceAll(name, "/", `\`))
	n = strings.TrimPrefix(n, `\`)
	n = strings.TrimPrefix(n, `pipe\`)
	_, ok := ifaces[n]
	return n, ok
}

// Limits.
const (
	maxOutput   = 256 << 10 // bytes queued for the client to read (a bigger answer still goes whole)
	maxPrealloc = 64 << 10  // what a request's alloc_hint may reserve up front
)

// Errors from Write.
var (
	// ErrPipeBroken is returned once a byte stream that is not DCE/RPC was
	// written; the pipe is unusable (Windows closes it).
	ErrPipeBroken = errors.New("rpc: pipe broken by a malformed PDU")
	// ErrOutputFull is returned when the client writes calls without
	// reading the answers.
	ErrOutputFull = errors.New("rpc: too much unread output")
)

var assocGroups atomic.Uint32

// Pipe is the server end of one named pipe open: it takes the bytes the
// client writes (Write), runs the calls and queues the answers, one PDU per
// message (Read). It is not safe for concurrent use.
type Pipe struct {
	cfg *Config
	ifc *iface

	bound      bool
	assocGroup uint32
	maxXmit    uint16 // our fragments are at most this long
	maxRecv    uint16
	contexts   map[uint16]bool // accepted presentation contexts

	in     []byte     // a partial PDU
	call   *callState // a fragmented request being reassembled
	out    [][]byte   // messages to read; out[0] may be partly read
	outLen int
	broken bool
}

type callState struct {
	callID uint32
	ctxID  uint16
	opnum  uint16
	stub   []byte
}

// NewPipe opens pipe name (as PipeName canonicalizes it) for a caller.
func NewPipe(name string, cfg *Config) (*Pipe, bool) {
	n, ok := PipeName(name)
	if !ok {
		return nil, false
	}
	return &Pipe{cfg: cfg, ifc: ifaces[n], contexts: make(map[uint16]bool)}, true
}

// Name is the canonical pipe name.
func (p *Pipe) Name() string { return p.ifc.name }

// Available is the number of bytes waiting to be read.
func (p *Pipe) Available() int { return p.outLen }

// Read returns up to max bytes of the next message. more is true when the
// message did not fit; the rest is returned by the next Read (the caller
// answers STATUS_BUFFER_OVERFLOW). It returns nil when nothing is pending.
func (p *Pipe) Read(max int) (data []byte, more bool) {
	if len(p.out) == 0 {
		return nil, false
	}
	m := p.out[0]
	if len(m) > max {
		p.out[0] = m[max:]
		p.outLen -= max
		return m[:max], true
	}
	p.out[0] = nil
	p.out = p.out[1:]
	p.outLen -= len(m)
	return m, false
}

func (p *Pipe) queue(msg []byte) {
	p.out = append(p.out, msg)
	p.outLen += len(msg)
}

// Write delivers bytes the client wrote: whole PDUs, or parts of one.
// Calls run as their last fragment arrives.
func (p *Pipe) Write(b []byte) error {
	if p.broken {
		return ErrPipeBroken
	}
	if p.outLen > maxOutput {
		return ErrOutputFull
	}
	if len(p.in) > 0 {
		p.in = append(p.in, b...)
		b = p.in
	}
	for len(b) >= headerSize {
		if p.outLen > maxOutput {
			// The rest of the write is dropped with the error.
			p.in = p.in[:0]
			return ErrOutputFull
		}
		h := Header(b)
		if err := h.Validate(); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			p.broken = true
			p.in = nil
			return ErrPipeBroken
		}
		n := int(h.FragLength())
		p.handle(Header(b[:n:n]))
		b = b[n:]
	}
	p.in = append(p.in[:0], b...)
	return nil
}

func (p *Pipe) fault(callID uint32, ctxID uint16, status FaultStatus, didNotExecute bool) {
	var flags uint8
	if didNotExecute {
		flags = pfcDidNotExecute
	}
	p.queue(appendFault(nil, flags, callID, ctxID, status))
}

// handle runs one validated PDU.
func (p *Pipe) handle(h Header) {
	switch h.PType() {
	case PTypeBind:
		p.bind(h)
	case PTypeAlterContext:
		p.alterContext(h)
	case PTypeRequest:
		p.request(Request(h))
	case PTypeAuth3, PTypeShutdown, PTypeCoCancel:
		// No authentication; cancels arrive after a call has run.
	case PTypeOrphaned:
		if p.call != nil && p.call.callID == h.CallID() {
			p.call = nil
		}
	default:
		// C706 12.6.4: a client sends no other type.
		p.fault(h.CallID(), 0, FaultProtoError, true)
	}
}

// negotiate answers the presentation contexts of a bind or alter_context
// (C706 12.6.3.1; MS-RPCE 3.3.1.5.3 bind time feature negotiation).
func (p *Pipe) negotiate(ctxs []ContextElem) ([]ContextResult, bool) {
	var res []ContextResult
	accepted := false
	for _, c := range ctxs {
		r := ContextResult{Result: resultProviderRejection, Reason: reasonTransferSyntaxesNotSupported}
		if len(c.TransferSyntaxes) == 1 {
			if f, ok := isBindTimeFeature(c.TransferSyntaxes[0]); ok {
				// MS-RPCE 3.3.1.5.3: answer negotiate_ack with the
				// features supported among those asked for.
				r = ContextResult{Result: resultNegotiateAck, Reason: f & (featureSecurityContextMultiplexing | featureKeepConnectionOnOrphan)}
				res = append(res, r)
				continue
			}
		}
		if c.AbstractSyntax.UUID != p.ifc.syntax.UUID || uint16(c.AbstractSyntax.Version) != uint16(p.ifc.syntax.Version) {
			r.Reason = reasonAbstractSyntaxNotSupported
			res = append(res, r)
			continue
		}
		for _, ts := range c.TransferSyntaxes {
			if ts == SyntaxNDR {
				// NDR64 and anything else is refused with
				// proposed_transfer_syntaxes_not_supported.
				r = ContextResult{Result: resultAcceptance, TransferSyntax: SyntaxNDR}
				p.contexts[c.ContextID] = true
				accepted = true
				break
			}
		}
		res = append(res, r)
	}
	return res, accepted
}

// bind is a bind PDU (C706 12.6.4.3): one association per pipe.
func (p *Pipe) bind(h Header) {
	if p.bound {
		p.queue(appendBindNak(nil, h.CallID(), nakReasonNotSpecified))
		return
	}
	bd, err := DecodeBind(h)
	if err != nil {
		p.queue(appendBindNak(nil, h.CallID(), nakReasonNotSpecified))
		return
	}
	if h.AuthLength() != 0 {
		// No RPC-level authentication: the SMB session is the caller.
		const nakAuthTypeNotRecognized = 8
		p.queue(appendBindNak(nil, h.CallID(), nakAuthTypeNotRecognized))
		return
	}
	// The fragment sizes are the smaller of the client's and ours, at
	// least 2048, on an 8-byte boundary, the same both ways (as Samba).
	m := max(min(bd.MaxXmitFrag, bd.MaxRecvFrag), minFragSize)
	m = min(m, maxFragSize) &^ 7
	p.maxXmit, p.maxRecv = m, m
	p.assocGroup = bd.AssocGroupID
	if p.assocGroup == 0 {
		p.assocGroup = 0x53f0 + assocGroups.Add(1)
	}
	res, ok := p.negotiate(bd.Contexts)
	p.bound = ok
	ack := BindAck{
		CallID:       h.CallID(),
		MaxXmitFrag:  p.maxXmit,
		MaxRecvFrag:  p.maxRecv,
		AssocGroupID: p.assocGroup,
		SecAddr:      `\PIPE\` + p.ifc.name,
		Results:      res,
	}
	p.queue(ack.Append(nil, PTypeBindAck))
}

// alterContext adds presentation contexts to the association
// (C706 12.6.4.1).
func (p *Pipe) alterContext(h Header) {
	bd, err := DecodeBind(h)
	if !p.bound || err != nil || h.AuthLength() != 0 {
		p.fault(h.CallID(), 0, FaultProtoError, true)
		return
	}
	res, _ := p.negotiate(bd.Contexts)
	ack := BindAck{
		CallID:       h.CallID(),
		MaxXmitFrag:  p.maxXmit,
		MaxRecvFrag:  p.maxRecv,
		AssocGroupID: p.assocGroup,
		Results:      res,
	}
	p.queue(ack.Append(nil, PTypeAlterContextResp))
}

// request is a request fragment (C706 12.6.4.9); the call runs on the last.
func (p *Pipe) request(r Request) {
	h := Header(r)
	if err := r.Validate(); err != nil || !p.bound {
		p.call = nil
		p.fault(h.CallID(), 0, FaultProtoError, true)
		return
	}
	if h.AuthLength() != 0 {
		p.call = nil
		p.fault(h.CallID(), r.ContextID(), FaultAccessDenied, true)
		return
	}
	if h.Flags()&pfcFirstFrag != 0 {
		if p.call != nil {
			// A new call before the last one's last fragment.
			p.call = nil
			p.fault(h.CallID(), r.ContextID(), FaultProtoError, true)
			return
		}
		if r.AllocHint() > maxRequestSize {
			p.fault(h.CallID(), r.ContextID(), FaultRemoteNoMemory, true)
			return
		}
		p.call = &callState{callID: h.CallID(), ctxID: r.ContextID(), opnum: r.Opnum(),
			stub: make([]byte, 0, min(max(int(r.AllocHint()), len(r.Stub())), maxPrealloc))}
	} else if p.call == nil || p.call.callID != h.CallID() {
		p.call = nil
		p.fault(h.CallID(), r.ContextID(), FaultProtoError, true)
		return
	}
	c := p.call
	if len(c.stub)+len(r.Stub()) > maxRequestSize {
		p.call = nil
		p.fault(h.CallID(), c.ctxID, FaultRemoteNoMemory, true)
		return
	}
	c.stub = append(c.stub, r.Stub()...)
	if h.Flags()&pfcLastFrag == 0 {
		return
	}
	p.call = nil
	p.run(c)
}

// run executes a reassembled call and queues its response fragments.
func (p *Pipe) run(c *callState) {
	if !p.contexts[c.ctxID] {
		p.fault(c.callID, c.ctxID, FaultUnkIf, true)
		return
	}
	op := p.ifc.ops[c.opnum]
	if op == nil {
		// C706: an opnum the interface does not define is
		// nca_s_op_rng_error; the ones defined but not served get the
		// same answer, as Samba gives.
		p.fault(c.callID, c.ctxID, FaultOpRngError, true)
		return
	}
	d := &decoder{b: c.stub}
	e := &encoder{}
	op(p, d, e)
	if d.done() != nil {
		p.fault(c.callID, c.ctxID, FaultNDR, true)
		return
	}
	p.respond(c.callID, c.ctxID, e.b)
}

// respond splits stub into response fragments of at most maxXmit bytes
// (C706 12.6.3.7), each fragment's stub a multiple of 8 but the last.
func (p *Pipe) respond(callID uint32, ctxID uint16, stub []byte) {
	room := (int(p.maxXmit) - responseHeaderSize) &^ 7
	off := 0
	for {
		n := min(len(stub)-off, room)
		var flags uint8
		if off == 0 {
			flags |= pfcFirstFrag
		}
		if off+n == len(stub) {
			flags |= pfcLastFrag
		}
		p.queue(appendResponse(nil, flags, callID, uint32(len(stub)-off), ctxID, stub[off:off+n]))
		off += n
		if off == len(stub) {
			return
		}
	}
}
