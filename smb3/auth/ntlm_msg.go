package auth

import (
	"bytes"
	"encoding/binary"
	"io"
	"unicode/utf16"
)

// NTLM message views (MS-NLMP 2.2.1). Each is the message's bytes; call validate before any
// accessor. Offsets and lengths from the wire are checked as int against len before slicing.

// field is a decoded (Len, MaxLen, BufferOffset) triple (MS-NLMP 2.2.1.1 DomainNameFields et al.).
type field struct{ off, n int }

// readField decodes the 8-byte field descriptor at b[at:] and checks it lies within msg. Empty
// fields are valid whatever their offset. A non-empty payload must not start inside the fixed
// header (hdr bytes).
func readField(msg []byte, at, hdr int) (field, error) {
	n := int(binary.LittleEndian.Uint16(msg[at:]))
	off := int(binary.LittleEndian.Uint32(msg[at+4:]))
	if n == 0 {
		return field{}, nil
	}
	if off < hdr {
		return field{}, invalid("ntlm-field-offset")
	}
	if off > len(msg) || n > len(msg)-off {
		return field{}, io.ErrUnexpectedEOF
	}
	return field{off: off, n: n}, nil
}

func (f field) bytes(msg []byte) []byte { return msg[f.off : f.off+f.n] }

// checkHeader validates the signature and message type.
func checkHeader(b []byte, typ uint32, min int) error {
	if len(b) < min {
		return io.ErrUnexpectedEOF
	}
	if !bytes.Equal(b[:8], ntlmSignature) {
		return invalid("ntlm-signature")
	}
	if binary.LittleEndian.Uint32(b[8:]) != typ {
		return invalid("ntlm-message-type")
	}
	return nil
}

// isNTLMSSP reports whether b looks like a raw NTLM message rather than a SPNEGO token.
func isNTLMSSP(b []byte) bool { return bytes.HasPrefix(b, ntlmSignature) }

// negotiateMsg is a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). Only the flags are used: the domain and
// workstation a client may supply here are informational.
type negotiateMsg []byte

// negotiateMinLen is the fixed part through WorkstationFields; Version follows when
// NTLMSSP_NEGOTIATE_VERSION is set.
const negotiateMinLen = 32

func (m negotiateMsg) validate() error {
	if err := checkHeader(m, ntlmNegotiate, negotiateMinLen); err != nil {
		return err
	}
	if m.flags()&flagVersion != 0 && len(m) < negotiateMinLen+8 {
		return io.ErrUnexpectedEOF
	}
	// DomainNameFields and WorkstationFields are informational, but must lie within the message.
	for _, at := range []int{16, 24} {
		if _, err := readField(m, at, negotiateMinLen); err != nil {
			return err
		}
	}
	return nil
}

func (m negotiateMsg) flags() negotiateFlags {
	return negotiateFlags(binary.LittleEndian.Uint32(m[12:]))
}

// authenticateMsg is an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
type authenticateMsg []byte

// Layout of the AUTHENTICATE_MESSAGE fixed header.
const (
	authLMOff      = 12
	authNTOff      = 20
	authDomainOff  = 28
	authUserOff    = 36
	authWorkstOff  = 44
	authKeyOff     = 52
	authFlagsOff   = 60
	authVersionOff = 64
	authMICOff     = 72
	authMinLen     = 64 // through NegotiateFlags; Version and MIC are present only if the payload leaves room
	authMICEnd     = authMICOff + 16
)

// authFields are the decoded payload fields of an AUTHENTICATE_MESSAGE.
type authFields struct {
	lm, nt, domain, user, workstation, key field
	payloadStart                           int // lowest offset of a non-empty field, or len(msg)
}

func (m authenticateMsg) validate() (authFields, error) {
	var f authFields
	if err := checkHeader(m, ntlmAuthenticate, authMinLen); err != nil {
		return f, err
	}
	f.payloadStart = len(m)
	for _, x := range []struct {
		at int
		f  *field
	}{
		{authLMOff, &f.lm}, {authNTOff, &f.nt}, {authDomainOff, &f.domain},
		{authUserOff, &f.user}, {authWorkstOff, &f.workstation}, {authKeyOff, &f.key},
	} {
		v, err := readField(m, x.at, authMinLen)
		if err != nil {
			return f, err
		}
		*x.f = v
		if v.n > 0 && v.off < f.payloadStart {
			f.payloadStart = v.off
		}
	}
	return f, nil
}

func (m authenticateMsg) flags() negotiateFlags {
	return negotiateFlags(binary.LittleEndian.Uint32(m[authFlagsOff:]))
}

// decodeString decodes an NTLM string field: UTF-16LE when unicode, else OEM, taken as Latin-1.
func decodeString(b []byte, unicode bool) (string, error) {
	if !unicode {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), nil
	}
	if len(b)%2 != 0 {
		return "", invalid("ntlm-string-odd-length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// encodeString encodes s for an NTLM string field.
func encodeString(s string, unicode bool) []byte {
	if unicode {
		return utf16LE(s)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// avPairs walks an AV_PAIR list (MS-NLMP 2.2.2.1), calling f for each pair before MsvAvEOL.
// A list without MsvAvEOL or with a pair running past the end is malformed.
func avPairs(b []byte, f func(id avID, v []byte)) error {
	for {
		if len(b) < 4 {
			return io.ErrUnexpectedEOF
		}
		id := avID(binary.LittleEndian.Uint16(b))
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return nil
		}
		if n > len(b)-4 {
			return io.ErrUnexpectedEOF
		}
		f(id, b[4:4+n])
		b = b[4+n:]
	}
}

// appendAVPair appends one AV_PAIR.
func appendAVPair(b []byte, id avID, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(id))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// serverVersion is the VERSION structure (MS-NLMP 2.2.2.10) this server sends: Windows 10 /
// Server 2022 build 20348, NTLMSSP_REVISION_W2K3.
var serverVersion = [8]byte{10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f}

// challengeHeaderLen is the CHALLENGE_MESSAGE fixed part including Version (MS-NLMP 2.2.1.2).
const challengeHeaderLen = 56

// appendChallenge encodes a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). The Version field is always
// reserved; it is filled only when NTLMSSP_NEGOTIATE_VERSION is set.
func appendChallenge(b []byte, flags negotiateFlags, serverChallenge [8]byte, version [8]byte, targetName, targetInfo []byte) []byte {
	b = append(b, ntlmSignature...)
	b = binary.LittleEndian.AppendUint32(b, ntlmChallenge)
	off := challengeHeaderLen
	b = appendFieldDesc(b, len(targetName), off)
	b = binary.LittleEndian.AppendUint32(b, uint32(flags))
	b = append(b, serverChallenge[:]...)
	b = append(b, make([]byte, 8)...) // Reserved
	b = appendFieldDesc(b, len(targetInfo), off+len(targetName))
	if flags&flagVersion != 0 {
		b = append(b, version[:]...)
	} else {
		b = append(b, make([]byte, 8)...)
	}
	b = append(b, targetName...)
	return append(b, targetInfo...)
}

// appendFieldDesc appends a (Len, MaxLen, BufferOffset) descriptor.
func appendFieldDesc(b []byte, n, off int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}
