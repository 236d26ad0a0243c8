package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"smb3d/smb3/auth"
)

// ntlmClient is an NTLMv2 initiator (MS-NLMP 3.1.5). It negotiates no key
// exchange, so the session key is the SessionBaseKey, and sends no MIC, so
// SPNEGO needs no mechListMIC (MS-SPNG 3.1.5.1).
type ntlmClient struct {
	user, domain, password string
	sessionKey             []byte
}

// NEGOTIATE_MESSAGE flags: UNICODE, REQUEST_TARGET, SIGN, NTLM, ALWAYS_SIGN,
// EXTENDED_SESSIONSECURITY, VERSION, 128.
const ntlmFlags = 0x22088215

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, r := range u {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func fieldDesc(b []byte, n, off int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(n)) // Len
	b = binary.LittleEndian.AppendUint16(b, uint16(n)) // MaxLen
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}

// negotiate returns the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
func (c *ntlmClient) negotiate() []byte {
	b := []byte("NTLMSSP\x00")
	b = binary.LittleEndian.AppendUint32(b, 1) // MessageType
	b = binary.LittleEndian.AppendUint32(b, ntlmFlags)
	b = fieldDesc(b, 0, 40)                           // DomainNameFields
	b = fieldDesc(b, 0, 40)                           // WorkstationFields
	return append(b, 6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f) // Version
}

// authenticate answers a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with an
// AUTHENTICATE_MESSAGE (2.2.1.3) carrying an NTLMv2 response (3.3.2).
func (c *ntlmClient) authenticate(chal []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(chal) < 48 || string(chal[:8]) != "NTLMSSP\x00" || le.Uint32(chal[8:]) != 2 {
		return nil, errors.New("ntlm: not a CHALLENGE_MESSAGE")
	}
	flags := le.Uint32(chal[20:]) & ntlmFlags
	var serverChallenge [8]byte
	copy(serverChallenge[:], chal[24:32])
	n, off := uint64(le.Uint16(chal[40:])), uint64(le.Uint32(chal[44:]))
	if off+n > uint64(len(chal)) {
		return nil, errors.New("ntlm: TargetInfo out of bounds")
	}
	info := chal[off : off+n]
	// MS-NLMP 3.1.5.1.2: use the server's MsvAvTimestamp when it sent one.
	var ts []byte
	for p := info; len(p) >= 4; {
		id, l := le.Uint16(p), int(le.Uint16(p[2:]))
		if id == 0 || 4+l > len(p) {
			break
		}
		if id == 7 && l == 8 {
			ts = p[4:12]
		}
		p = p[4+l:]
	}
	if ts == nil {
		ft := uint64(time.Now().UnixNano()/100) + 116444736000000000
		ts = le.AppendUint64(nil, ft)
	}
	var cc [8]byte
	rand.Read(cc[:])
	nt := auth.NTHash(c.password)
	key := hmacMD5(nt[:], utf16LE(strings.ToUpper(c.user)+c.domain))
	temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	temp = append(temp, ts...)
	temp = append(temp, cc[:]...) // ClientChallenge
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, info...)
	temp = append(temp, 0, 0, 0, 0)
	proof := hmacMD5(key, serverChallenge[:], temp)
	ntResp := append(proof, temp...)
	lmResp := make([]byte, 24)
	c.sessionKey = hmacMD5(key, proof)

	dom, user, ws := utf16LE(c.domain), utf16LE(c.user), utf16LE("SMB3BENCH")
	const hdr = 88
	b := []byte("NTLMSSP\x00")
	b = le.AppendUint32(b, 3)
	o := hdr
	for _, p := range [][]byte{lmResp, ntResp, dom, user, ws} {
		b = fieldDesc(b, len(p), o)
		o += len(p)
	}
	b = fieldDesc(b, 0, o)                          // EncryptedRandomSessionKeyFields
	b = le.AppendUint32(b, flags)                   // NegotiateFlags
	b = append(b, 10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f) // Version
	b = append(b, make([]byte, 16)...)              // MIC: not sent (no MsvAvFlags)
	for _, p := range [][]byte{lmResp, ntResp, dom, user, ws} {
		b = append(b, p...)
	}
	return b, nil
}

// SPNEGO (RFC 4178, MS-SPNG) in the few DER shapes an NTLM-only initiator needs.
var (
	oidSPNEGO  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
	oidNTLMSSP = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}
)

// derAppend is auth's DER encoder: one implementation for both sides.
func derAppend(b []byte, tag byte, parts ...[]byte) []byte { return auth.AppendDER(b, tag, parts...) }

// spnegoInit wraps the first NTLM token in a NegTokenInit with mechTypes [NTLMSSP].
func spnegoInit(tok []byte) []byte {
	mechs := derAppend(nil, 0xa0, derAppend(nil, 0x30, derAppend(nil, 0x06, oidNTLMSSP)))
	mtok := derAppend(nil, 0xa2, derAppend(nil, 0x04, tok))
	init := derAppend(nil, 0xa0, derAppend(nil, 0x30, mechs, mtok))
	return derAppend(nil, 0x60, derAppend(nil, 0x06, oidSPNEGO), init)
}

// spnegoResp wraps a later NTLM token in a NegTokenResp.
func spnegoResp(tok []byte) []byte {
	return derAppend(nil, 0xa1, derAppend(nil, 0x30, derAppend(nil, 0xa2, derAppend(nil, 0x04, tok))))
}

// derNext splits one TLV off b.
func derNext(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errors.New("spnego: short DER")
	}
	tag = b[0]
	n, hl := uint64(b[1]), uint64(2)
	if n >= 0x80 {
		k := int(n & 0x7f)
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errors.New("spnego: bad DER length")
		}
		n = 0
		for i := 0; i < k; i++ {
			n = n<<8 | uint64(b[2+i])
		}
		hl += uint64(k)
	}
	if hl+n > uint64(len(b)) {
		return 0, nil, nil, errors.New("spnego: DER length out of range")
	}
	return tag, b[hl : hl+n], b[hl+n:], nil
}

// spnegoParseResp returns negState (-1 if absent) and the responseToken of
// a NegTokenResp; a raw NTLMSSP token is passed through.
func spnegoParseResp(b []byte) (state int, tok []byte, err error) {
	if bytes.HasPrefix(b, []byte("NTLMSSP\x00")) {
		return -1, b, nil
	}
	tag, c, _, err := derNext(b)
	if err != nil {
		return 0, nil, err
	}
	if tag != 0xa1 {
		return 0, nil, fmt.Errorf("spnego: tag %#x, want NegTokenResp", tag)
	}
	tag, seq, _, err := derNext(c)
	if err != nil || tag != 0x30 {
		return 0, nil, fmt.Errorf("spnego: NegTokenResp is not a SEQUENCE")
	}
	state = -1
	for len(seq) > 0 {
		var f []byte
		tag, f, seq, err = derNext(seq)
		if err != nil {
			return 0, nil, err
		}
		_, v, _, err := derNext(f)
		if err != nil {
			return 0, nil, err
		}
		switch tag {
		case 0xa0:
			if len(v) == 1 {
				state = int(v[0])
			}
		case 0xa2:
			tok = v
		}
	}
	return state, tok, nil
}

func utf16Decode(u []uint16) []rune { return utf16.Decode(u) }
