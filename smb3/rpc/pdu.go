package rpc

import (
	"encoding/binary"
	"fmt"
	"io"
)

var le = binary.LittleEndian

// PType is a connection-oriented PDU type (C706 12.6.4.1).
type PType uint8

// PDU types.
const (
	PTypeRequest              PType = 0
	PTypeResponse             PType = 2
	PTypeFault                PType = 3
	PTypeBind                 PType = 11
	PTypeBindAck              PType = 12
	PTypeBindNak              PType = 13
	PTypeAlterContext         PType = 14
	PTypeAlterContextResp     PType = 15
	PTypeAuth3                PType = 16
	PTypeShutdown             PType = 17
	PTypeCoCancel             PType = 18
	PTypeOrphaned             PType = 19
	pfcFirstFrag              uint8 = 0x01
	pfcLastFrag               uint8 = 0x02
	pfcSupportHeaderSign      uint8 = 0x04 // in bind and bind_ack (MS-RPCE 2.2.2.3)
	pfcDidNotExecute          uint8 = 0x20
	pfcObjectUUID             uint8 = 0x80
	headerSize                      = 16
	requestHeaderSize               = 24
	responseHeaderSize              = 24
	faultSize                       = 32
	rpcVersion                      = 5
	rpcVersionMinor                 = 0
	drepLittleEndianASCIIIEEE       = 0x10
	minFragSize                     = 2048      // MUST NOT be less than 1432 (C706 12.6.3.1); Samba clamps to 2048
	maxFragSize                     = 5840      // what we offer, as Samba does
	maxRequestSize                  = 256 << 10 // srvsvc and wkssvc requests are tiny; bounds what one open holds
	maxContexts                     = 16
	maxTransferSyntaxes             = 16
)

// FaultStatus is a fault PDU's status (C706 appendix E, MS-RPCE 3.1.1.5.5).
type FaultStatus uint32

// Fault statuses.
const (
	FaultAccessDenied    FaultStatus = 0x00000005
	FaultCantPerform     FaultStatus = 0x000006d8
	FaultNDR             FaultStatus = 0x000006f7 // RPC_X_BAD_STUB_DATA / nca_s_fault_ndr
	FaultOpRngError      FaultStatus = 0x1c010002 // nca_s_op_rng_error
	FaultUnkIf           FaultStatus = 0x1c010003 // nca_s_unk_if
	FaultProtoError      FaultStatus = 0x1c01000b // nca_s_proto_error
	FaultContextMismatch FaultStatus = 0x1c00001a // nca_s_fault_context_mismatch
	FaultRemoteNoMemory  FaultStatus = 0x1c000018 // nca_s_fault_remote_no_memory
)

// Bind result and reason codes (C706 12.6.3.1 p_cont_def_result_t,
// p_provider_reason_t; MS-RPCE 2.2.2.4 negotiate_ack).
const (
	resultAcceptance                   uint16 = 0
	resultUserRejection                uint16 = 1
	resultProviderRejection            uint16 = 2
	resultNegotiateAck                 uint16 = 3
	reasonNotSpecified                 uint16 = 0
	reasonAbstractSyntaxNotSupported   uint16 = 1
	reasonTransferSyntaxesNotSupported uint16 = 2
	reasonLocalLimitExceeded           uint16 = 3
)

// Bind nak reasons (C706 12.6.3.10).
const (
	nakReasonNotSpecified          uint16 = 0
	nakProtocolVersionNotSupported uint16 = 4
)

// UUID is a DCE UUID in its NDR (little-endian fields) encoding.
type UUID [16]byte

// ParseUUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into the wire
// form; it panics on a malformed constant.
func ParseUUID(s string) UUID {
	var raw [16]byte
	j := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		if j == 32 || i+1 >= len(s) {
			panic("rpc: bad UUID " + s)
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			panic("rpc: bad UUID " + s)
		}
		raw[j/2] = hi<<4 | lo
		j += 2
		i++
	}
	if j != 32 {
		panic("rpc: bad UUID " + s)
	}
	var u UUID
	u[0], u[1], u[2], u[3] = raw[3], raw[2], raw[1], raw[0]
	u[4], u[5] = raw[5], raw[4]
	u[6], u[7] = raw[7], raw[6]
	copy(u[8:], raw[8:])
	return u
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String formats u as the usual text form.
func (u UUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%x", le.Uint32(u[:]), le.Uint16(u[4:]), le.Uint16(u[6:]), u[8], u[9], u[10:])
}

// SyntaxID is an interface or transfer syntax with its version
// (C706 12.6.3.1 p_syntax_id_t; the version is major in the low 16 bits).
type SyntaxID struct {
	UUID    UUID
	Version uint32
}

const syntaxIDSize = 20

func (s SyntaxID) append(b []byte) []byte {
	b = append(b, s.UUID[:]...)
	return le.AppendUint32(b, s.Version)
}

func decodeSyntaxID(b []byte) SyntaxID {
	var s SyntaxID
	copy(s.UUID[:], b)
	s.Version = le.Uint32(b[16:])
	return s
}

// Transfer syntaxes.
var (
	// SyntaxNDR is NDR 2.0 (C706 14), the only one served.
	SyntaxNDR = SyntaxID{ParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2}
	// SyntaxNDR64 is refused (MS-RPCE 2.2.5).
	SyntaxNDR64 = SyntaxID{ParseUUID("71710533-beba-4937-8319-b5dbef9ccc36"), 1}
	// bindTimeFeatureUUIDPrefix is the first 8 bytes of the bind time
	// feature negotiation syntax 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx
	// (MS-RPCE 3.3.1.5.3); the feature bits are in byte 8.
	bindTimeFeaturePrefix = ParseUUID("6cb71c2c-9812-4540-0000-000000000000")
)

// Bind time features (MS-RPCE 2.2.2.14).
const (
	featureSecurityContextMultiplexing = 0x01
	featureKeepConnectionOnOrphan      = 0x02
)

func isBindTimeFeature(s SyntaxID) (uint16, bool) {
	if [8]byte(s.UUID[:8]) != [8]byte(bindTimeFeaturePrefix[:8]) || s.Version != 1 {
		return 0, false
	}
	return le.Uint16(s.UUID[8:]), true
}

// Header is the common header of every connection-oriented PDU
// (C706 12.6.3.1).
type Header []byte

// ErrShortPDU is wrapped by errors about a PDU shorter than its fields.
var ErrShortPDU = io.ErrUnexpectedEOF

// FormatError is a PDU that cannot be parsed; Reason is a short token.
type FormatError struct {
	Reason string
}

func (e *FormatError) Error() string { return "rpc: malformed PDU: " + e.Reason }

func formatErr(reason string) error { return &FormatError{Reason: reason} }

// Validate checks the fixed header: version 5.0, little-endian NDR with
// ASCII and IEEE floats, and a fragment length that fits in b.
func (h Header) Validate() error {
	if len(h) < headerSize {
		return io.ErrUnexpectedEOF
	}
	if h[0] != rpcVersion || h[1] > 1 { // MS-RPCE 2.2.2.1: minor 0 or 1
		return formatErr("version")
	}
	if h[4] != drepLittleEndianASCIIIEEE {
		// Big-endian or EBCDIC senders are not served.
		return formatErr("data representation")
	}
	fl := int(h.FragLength())
	if fl < headerSize {
		return formatErr("frag_length")
	}
	if fl > len(h) {
		return io.ErrUnexpectedEOF
	}
	if int(h.AuthLength()) > fl-headerSize {
		return formatErr("auth_length")
	}
	return nil
}

func (h Header) PType() PType       { return PType(h[2]) }
func (h Header) Flags() uint8       { return h[3] }
func (h Header) FragLength() uint16 { return le.Uint16(h[8:]) }
func (h Header) AuthLength() uint16 { return le.Uint16(h[10:]) }
func (h Header) CallID() uint32     { return le.Uint32(h[12:]) }
func (h Header) body() []byte       { return h[headerSize:h.FragLength()] }

func appendHeader(b []byte, t PType, flags uint8, callID uint32) []byte {
	b = append(b, rpcVersion, rpcVersionMinor, byte(t), flags, drepLittleEndianASCIIIEEE, 0, 0, 0)
	b = le.AppendUint16(b, 0) // frag_length, filled in by finish
	b = le.AppendUint16(b, 0) // auth_length
	return le.AppendUint32(b, callID)
}

// finish fills in the frag_length of the PDU that starts at b[start:].
func finish(b []byte, start int) []byte {
	le.PutUint16(b[start+8:], uint16(len(b)-start))
	return b
}

// ContextElem is one presentation context of a bind or alter_context
// (C706 12.6.3.1 p_cont_elem_t).
type ContextElem struct {
	ContextID        uint16
	AbstractSyntax   SyntaxID
	TransferSyntaxes []SyntaxID
}

// Bind is a bind or alter_context PDU (C706 12.6.4.3, 12.6.4.1).
type Bind struct {
	CallID       uint32
	Flags        uint8
	MaxXmitFrag  uint16
	MaxRecvFrag  uint16
	AssocGroupID uint32
	Contexts     []ContextElem
}

// DecodeBind parses a bind or alter_context PDU; pdu is one whole PDU whose
// Header has been validated.
func DecodeBind(pdu Header) (Bind, error) {
	b := pdu.body()
	b = b[:len(b)-authTrailerLen(pdu)]
	if len(b) < 12 {
		return Bind{}, io.ErrUnexpectedEOF
	}
	bd := Bind{
		CallID:       pdu.CallID(),
		Flags:        pdu.Flags(),
		MaxXmitFrag:  le.Uint16(b),
		MaxRecvFrag:  le.Uint16(b[2:]),
		AssocGroupID: le.Uint32(b[4:]),
	}
	n := int(b[8])
	if n > maxContexts {
		return Bind{}, formatErr("too many contexts")
	}
	off := 12
	for range n {
		if len(b)-off < 4+syntaxIDSize {
			return Bind{}, io.ErrUnexpectedEOF
		}
		ce := ContextElem{ContextID: le.Uint16(b[off:])}
		nts := int(b[off+2])
		if nts > maxTransferSyntaxes {
			return Bind{}, formatErr("too many transfer syntaxes")
		}
		ce.AbstractSyntax = decodeSyntaxID(b[off+4:])
		off += 4 + syntaxIDSize
		if len(b)-off < nts*syntaxIDSize {
			return Bind{}, io.ErrUnexpectedEOF
		}
		for range nts {
			ce.TransferSyntaxes = append(ce.TransferSyntaxes, decodeSyntaxID(b[off:]))
			off += syntaxIDSize
		}
		bd.Contexts = append(bd.Contexts, ce)
	}
	return bd, nil
}

// Len is the encoded size of the bind.
func (bd *Bind) Len() int {
	n := headerSize + 12
	for _, c := range bd.Contexts {
		n += 4 + syntaxIDSize + syntaxIDSize*len(c.TransferSyntaxes)
	}
	return n
}

// Append encodes a bind PDU (client side: tests and fuzz seeds).
func (bd *Bind) Append(b []byte, t PType) []byte {
	start := len(b)
	b = appendHeader(b, t, bd.Flags|pfcFirstFrag|pfcLastFrag, bd.CallID)
	b = le.AppendUint16(b, bd.MaxXmitFrag)
	b = le.AppendUint16(b, bd.MaxRecvFrag)
	b = le.AppendUint32(b, bd.AssocGroupID)
	b = append(b, byte(len(bd.Contexts)), 0, 0, 0)
	for _, c := range bd.Contexts {
		b = le.AppendUint16(b, c.ContextID)
		b = append(b, byte(len(c.TransferSyntaxes)), 0)
		b = c.AbstractSyntax.append(b)
		for _, ts := range c.TransferSyntaxes {
			b = ts.append(b)
		}
	}
	return finish(b, start)
}

// authTrailerLen is the size of the auth verifier (sec_trailer plus
// auth_value, MS-RPCE 2.2.2.11) at the end of a PDU, or 0.
func authTrailerLen(pdu Header) int {
	al := int(pdu.AuthLength())
	if al == 0 {
		return 0
	}
	n := al + 8
	if n > len(pdu.body()) {
		return len(pdu.body())
	}
	return n
}

// ContextResult is one entry of a bind_ack's result list
// (C706 12.6.3.1 p_result_t).
type ContextResult struct {
	Result         uint16
	Reason         uint16
	TransferSyntax SyntaxID
}

// BindAck is a bind_ack or alter_context_resp PDU (C706 12.6.4.4).
type BindAck struct {
	CallID       uint32
	Flags        uint8
	MaxXmitFrag  uint16
	MaxRecvFrag  uint16
	AssocGroupID uint32
	SecAddr      string // the port spec, "\PIPE\srvsvc"; empty in alter_context_resp
	Results      []ContextResult
}

// Len is the encoded size of the bind_ack.
func (a *BindAck) Len() int {
	n := headerSize + 10
	if a.SecAddr != "" {
		n += len(a.SecAddr) + 1
	}
	n = (n + 3) &^ 3
	return n + 4 + 24*len(a.Results)
}

// Append encodes a bind_ack (t PTypeBindAck) or alter_context_resp.
func (a *BindAck) Append(b []byte, t PType) []byte {
	start := len(b)
	b = appendHeader(b, t, a.Flags|pfcFirstFrag|pfcLastFrag, a.CallID)
	b = le.AppendUint16(b, a.MaxXmitFrag)
	b = le.AppendUint16(b, a.MaxRecvFrag)
	b = le.AppendUint32(b, a.AssocGroupID)
	if a.SecAddr == "" {
		b = le.AppendUint16(b, 0)
	} else {
		b = le.AppendUint16(b, uint16(len(a.SecAddr)+1))
		b = append(b, a.SecAddr...)
		b = append(b, 0)
	}
	for (len(b)-start)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, byte(len(a.Results)), 0, 0, 0)
	for _, r := range a.Results {
		b = le.AppendUint16(b, r.Result)
		b = le.AppendUint16(b, r.Reason)
		b = r.TransferSyntax.append(b)
	}
	return finish(b, start)
}

// DecodeBindAck parses a bind_ack or alter_context_resp (client side).
func DecodeBindAck(pdu Header) (BindAck, error) {
	b := pdu.body()
	if len(b) < 10 {
		return BindAck{}, io.ErrUnexpectedEOF
	}
	a := BindAck{CallID: pdu.CallID(), Flags: pdu.Flags(), MaxXmitFrag: le.Uint16(b), MaxRecvFrag: le.Uint16(b[2:]), AssocGroupID: le.Uint32(b[4:])}
	n := int(le.Uint16(b[8:]))
	off := 10 + n
	if off > len(b) {
		return BindAck{}, io.ErrUnexpectedEOF
	}
	if n > 0 {
		if b[off-1] != 0 {
			return BindAck{}, formatErr("sec_addr not terminated")
		}
		a.SecAddr = string(b[10 : off-1])
	}
	off = (off+headerSize+3)&^3 - headerSize
	if off+4 > len(b) {
		return BindAck{}, io.ErrUnexpectedEOF
	}
	nr := int(b[off])
	off += 4
	if len(b)-off < nr*24 {
		return BindAck{}, io.ErrUnexpectedEOF
	}
	for range nr {
		a.Results = append(a.Results, ContextResult{Result: le.Uint16(b[off:]), Reason: le.Uint16(b[off+2:]), TransferSyntax: decodeSyntaxID(b[off+4:])})
		off += 24
	}
	return a, nil
}

// appendBindNak encodes a bind_nak (C706 12.6.4.5) offering version 5.0.
func appendBindNak(b []byte, callID uint32, reason uint16) []byte {
	start := len(b)
	b = appendHeader(b, PTypeBindNak, pfcFirstFrag|pfcLastFrag, callID)
	b = le.AppendUint16(b, reason)
	b = append(b, 1, rpcVersion, rpcVersionMinor) // n_protocols, p_protocols[0]
	for (len(b)-start)%4 != 0 {
		b = append(b, 0)
	}
	return finish(b, start)
}

// Request is a request PDU (C706 12.6.4.9) as a view of the whole PDU.
type Request Header

// Validate checks the request-specific fields after Header.Validate.
func (r Request) Validate() error {
	h := Header(r)
	need := requestHeaderSize
	if h.Flags()&pfcObjectUUID != 0 {
		need += 16
	}
	if int(h.FragLength())-authTrailerLen(h) < need {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (r Request) AllocHint() uint32 { return le.Uint32(r[16:]) }
func (r Request) ContextID() uint16 { return le.Uint16(r[20:]) }
func (r Request) Opnum() uint16     { return le.Uint16(r[22:]) }

// Stub is the stub data, without object UUID and auth verifier.
func (r Request) Stub() []byte {
	h := Header(r)
	start := requestHeaderSize
	if h.Flags()&pfcObjectUUID != 0 {
		start += 16
	}
	return r[start : int(h.FragLength())-authTrailerLen(h)]
}

// AppendRequest encodes one request fragment (client side).
func AppendRequest(b []byte, flags uint8, callID uint32, allocHint uint32, ctxID, opnum uint16, stub []byte) []byte {
	start := len(b)
	b = appendHeader(b, PTypeRequest, flags, callID)
	b = le.AppendUint32(b, allocHint)
	b = le.AppendUint16(b, ctxID)
	b = le.AppendUint16(b, opnum)
	b = append(b, stub...)
	return finish(b, start)
}

// appendResponse encodes one response fragment (C706 12.6.4.10).
func appendResponse(b []byte, flags uint8, callID, allocHint uint32, ctxID uint16, stub []byte) []byte {
	start := len(b)
	b = appendHeader(b, PTypeResponse, flags, callID)
	b = le.AppendUint32(b, allocHint)
	b = le.AppendUint16(b, ctxID)
	b = append(b, 0, 0) // cancel_count, reserved
	b = append(b, stub...)
	return finish(b, start)
}

// Response is a response PDU as a view (client side).
type Response Header

// Validate checks the response-specific fields after Header.Validate.
func (r Response) Validate() error {
	if int(Header(r).FragLength())-authTrailerLen(Header(r)) < responseHeaderSize {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (r Response) AllocHint() uint32 { return le.Uint32(r[16:]) }
func (r Response) ContextID() uint16 { return le.Uint16(r[20:]) }
func (r Response) Stub() []byte {
	h := Header(r)
	return r[responseHeaderSize : int(h.FragLength())-authTrailerLen(h)]
}

// appendFault encodes a fault PDU (C706 12.6.4.7).
func appendFault(b []byte, flags uint8, callID uint32, ctxID uint16, status FaultStatus) []byte {
	start := len(b)
	b = appendHeader(b, PTypeFault, pfcFirstFrag|pfcLastFrag|flags, callID)
	b = le.AppendUint32(b, 0) // alloc_hint
	b = le.AppendUint16(b, ctxID)
	b = append(b, 0, 0) // cancel_count, reserved
	b = le.AppendUint32(b, uint32(status))
	b = le.AppendUint32(b, 0) // reserved
	return finish(b, start)
}

// FaultStatusOf returns the status of a fault PDU.
func FaultStatusOf(pdu Header) (FaultStatus, error) {
	if len(pdu.body()) < faultSize-headerSize {
		return 0, io.ErrUnexpectedEOF
	}
	return FaultStatus(le.Uint32(pdu[24:])), nil
}
