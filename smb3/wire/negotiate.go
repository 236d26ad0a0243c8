package wire

import (
	"errors"
	"fmt"
)

// Dialect is an SMB2 dialect revision.
type Dialect uint16

const (
	Dialect202      Dialect = 0x0202
	Dialect210      Dialect = 0x0210
	Dialect300      Dialect = 0x0300
	Dialect302      Dialect = 0x0302
	Dialect311      Dialect = 0x0311
	DialectWildcard Dialect = 0x02FF
)

func (d Dialect) String() string {
	switch d {
	case Dialect202:
		return "2.0.2"
	case Dialect210:
		return "2.1"
	case Dialect300:
		return "3.0"
	case Dialect302:
		return "3.0.2"
	case Dialect311:
		return "3.1.1"
	case DialectWildcard:
		return "2.???"
	}
	return fmt.Sprintf("Dialect(%#04x)", uint16(d))
}

// Security modes and capabilities (MS-SMB2 2.2.3, 2.2.4).
const (
	NegotiateSigningEnabled  uint16 = 0x0001
	NegotiateSigningRequired uint16 = 0x0002

	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
	CapNotifications     uint32 = 0x00000080
)

// Negotiate context types (MS-SMB2 2.2.3.1).
const (
	CtxPreauthIntegrity uint16 = 0x0001
	CtxEncryption       uint16 = 0x0002
	CtxCompression      uint16 = 0x0003
	CtxNetname          uint16 = 0x0005
	CtxTransport        uint16 = 0x0006
	CtxRDMATransform    uint16 = 0x0007
	CtxSigning          uint16 = 0x0008
	HashSHA512          uint16 = 0x0001
)

// NegotiateRequest is a view of an SMB2 NEGOTIATE request (MS-SMB2 2.2.3).
type NegotiateRequest []byte

func (r NegotiateRequest) Validate() error {
	if err := body(r, 36, 36); err != nil {
		return err
	}
	n := uint64(r.DialectCount())
	if n == 0 {
		return errors.New("negotiate: no dialects")
	}
	if !checkRange(HeaderSize+36, 2*n, len(r)) {
		return ErrShort
	}
	return nil
}

func (r NegotiateRequest) DialectCount() uint16 { return le.Uint16(r[HeaderSize+2:]) }
func (r NegotiateRequest) SecurityMode() uint16 { return le.Uint16(r[HeaderSize+4:]) }
func (r NegotiateRequest) Capabilities() uint32 { return le.Uint32(r[HeaderSize+8:]) }
func (r NegotiateRequest) ClientGUID() (g [16]byte) {
	copy(g[:], r[HeaderSize+12:])
	return g
}
func (r NegotiateRequest) Dialects() []Dialect {
	n := int(r.DialectCount())
	ds := make([]Dialect, n)
	for i := range n {
		ds[i] = Dialect(le.Uint16(r[HeaderSize+36+2*i:]))
	}
	return ds
}

// NegotiateContext is one negotiate context.
type NegotiateContext struct {
	Type uint16
	Data []byte
}

// Contexts returns the negotiate contexts of a 3.1.1 request.
func (r NegotiateRequest) Contexts() ([]NegotiateContext, error) {
	off := uint64(le.Uint32(r[HeaderSize+28:]))
	cnt := int(le.Uint16(r[HeaderSize+32:]))
	return parseNegContexts(r, off, cnt)
}

func parseNegContexts(msg []byte, off uint64, cnt int) ([]NegotiateContext, error) {
	if cnt == 0 {
		return nil, nil
	}
	if cnt > 64 {
		return nil, errors.New("negotiate: too many contexts")
	}
	out := make([]NegotiateContext, 0, cnt)
	for i := 0; i < cnt; i++ {
		if !checkRange(off, 8, len(msg)) {
			return nil, ErrBadOffset
		}
		typ := le.Uint16(msg[off:])
		dl := uint64(le.Uint16(msg[off+2:]))
		data, err := slice(msg, off+8, dl)
		if err != nil {
			return nil, err
		}
		out = append(out, NegotiateContext{Type: typ, Data: data})
		off = (off + 8 + dl + 7) &^ 7
	}
	return out, nil
}

// NegotiateResponse is the content of an SMB2 NEGOTIATE response (MS-SMB2 2.2.4).
type NegotiateResponse struct {
	SecurityMode    uint16
	Dialect         Dialect
	ServerGUID      [16]byte
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      uint64
	ServerStartTime uint64
	SecurityBuffer  []byte
	Contexts        []NegotiateContext
}

// Append appends the response body (after the header).
func (r *NegotiateResponse) Append(b []byte) []byte {
	start := len(b)
	b = le.AppendUint16(b, 65)
	b = le.AppendUint16(b, r.SecurityMode)
	b = le.AppendUint16(b, uint16(r.Dialect))
	b = le.AppendUint16(b, uint16(len(r.Contexts)))
	b = append(b, r.ServerGUID[:]...)
	b = le.AppendUint32(b, r.Capabilities)
	b = le.AppendUint32(b, r.MaxTransactSize)
	b = le.AppendUint32(b, r.MaxReadSize)
	b = le.AppendUint32(b, r.MaxWriteSize)
	b = le.AppendUint64(b, r.SystemTime)
	b = le.AppendUint64(b, r.ServerStartTime)
	b = le.AppendUint16(b, HeaderSize+64)
	b = le.AppendUint16(b, uint16(len(r.SecurityBuffer)))
	ctxOffPos := len(b)
	b = le.AppendUint32(b, 0)
	b = append(b, r.SecurityBuffer...)
	if len(r.SecurityBuffer) == 0 {
		b = append(b, 0)
	}
	if len(r.Contexts) > 0 {
		for (len(b)-start+HeaderSize)%8 != 0 {
			b = append(b, 0)
		}
		le.PutUint32(b[ctxOffPos:], uint32(len(b)-start+HeaderSize))
		for i, c := range r.Contexts {
			if i > 0 {
				for (len(b)-start+HeaderSize)%8 != 0 {
					b = append(b, 0)
				}
			}
			b = le.AppendUint16(b, c.Type)
			b = le.AppendUint16(b, uint16(len(c.Data)))
			b = le.AppendUint32(b, 0)
			b = append(b, c.Data...)
		}
	}
	return b
}

// SMB1 negotiate, as clients send first (MS-SMB2 3.3.5.3).
const (
	smb1ProtocolID   = "\xffSMB"
	smb1CmdNegotiate = 0x72
	smb1HeaderSize   = 32
)

// ParseSMB1Negotiate returns the dialect strings of an SMB1 NEGOTIATE
// request (MS-CIFS 2.2.4.52.1).
func ParseSMB1Negotiate(b []byte) ([]string, error) {
	if len(b) < smb1HeaderSize+3 {
		return nil, ErrShort
	}
	if string(b[:4]) != smb1ProtocolID {
		return nil, ErrBadProtocol
	}
	if b[4] != smb1CmdNegotiate {
		return nil, fmt.Errorf("smb1: command %#x is not NEGOTIATE", b[4])
	}
	wc := int(b[smb1HeaderSize])
	p := smb1HeaderSize + 1 + 2*wc
	if len(b) < p+2 {
		return nil, ErrShort
	}
	bc := int(le.Uint16(b[p:]))
	p += 2
	if len(b) < p+bc {
		return nil, ErrShort
	}
	data := b[p : p+bc]
	var out []string
	for len(data) > 0 {
		if data[0] != 0x02 {
			return nil, errors.New("smb1: bad dialect buffer format")
		}
		data = data[1:]
		i := 0
		for i < len(data) && data[i] != 0 {
			i++
		}
		if i == len(data) {
			return nil, errors.New("smb1: unterminated dialect string")
		}
		out = append(out, string(data[:i]))
		data = data[i+1:]
		if len(out) > 64 {
			return nil, errors.New("smb1: too many dialects")
		}
	}
	return out, nil
}

// IsSMB1 reports whether b starts with the SMB1 protocol id.
func IsSMB1(b []byte) bool { return len(b) >= 4 && string(b[:4]) == smb1ProtocolID }
