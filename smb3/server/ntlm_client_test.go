package server_test

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"

	"smb3d/smb3/auth"
)

// ntlmClient is a minimal raw-NTLMSSP NTLMv2 initiator (MS-NLMP 3.1.5) for
// driving SESSION_SETUP by hand. It negotiates no key exchange, so the
// session key is the SessionBaseKey.
type ntlmClient struct {
	user, domain, password string
	sessionKey             []byte
}

// NEGOTIATE_MESSAGE flags: UNICODE, REQUEST_TARGET, SIGN, NTLM, ALWAYS_SIGN,
// EXTENDED_SESSIONSECURITY, VERSION, 128.
const ntlmFlags = 0x22088215

func utf16LE(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
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

// authenticate answers a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.3) with an
// AUTHENTICATE_MESSAGE carrying an NTLMv2 response.
func (c *ntlmClient) authenticate(chal []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(chal) < 48 || string(chal[:8]) != "NTLMSSP\x00" || le.Uint32(chal[8:]) != 2 {
		return nil, errors.New("not a CHALLENGE_MESSAGE")
	}
	flags := le.Uint32(chal[20:]) & ntlmFlags
	var serverChallenge [8]byte
	copy(serverChallenge[:], chal[24:32])
	n, off := int(le.Uint16(chal[40:])), int(le.Uint32(chal[44:]))
	if off+n > len(chal) {
		return nil, errors.New("TargetInfo out of bounds")
	}
	info := chal[off : off+n]
	// The server's MsvAvTimestamp, if any (MS-NLMP 3.1.5.1.2).
	ts := make([]byte, 8)
	for p := info; len(p) >= 4; {
		id, l := le.Uint16(p), int(le.Uint16(p[2:]))
		if id == 0 || 4+l > len(p) {
			break
		}
		if id == 7 && l == 8 {
			copy(ts, p[4:12])
		}
		p = p[4+l:]
	}
	nt := auth.NTHash(c.password)
	key := hmacMD5(nt[:], utf16LE(strings.ToUpper(c.user)+c.domain))
	temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	temp = append(temp, ts...)
	temp = append(temp, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22) // ClientChallenge
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, info...)
	temp = append(temp, 0, 0, 0, 0)
	proof := hmacMD5(key, serverChallenge[:], temp)
	ntResp := append(proof, temp...)
	lmResp := make([]byte, 24)
	c.sessionKey = hmacMD5(key, proof)

	dom, user, ws := utf16LE(c.domain), utf16LE(c.user), utf16LE("TESTER")
	const hdr = 88
	b := []byte("NTLMSSP\x00")
	b = le.AppendUint32(b, 3)
	o := hdr
	b = fieldDesc(b, len(lmResp), o) // LmChallengeResponseFields
	o += len(lmResp)
	b = fieldDesc(b, len(ntResp), o) // NtChallengeResponseFields
	o += len(ntResp)
	b = fieldDesc(b, len(dom), o) // DomainNameFields
	o += len(dom)
	b = fieldDesc(b, len(user), o) // UserNameFields
	o += len(user)
	b = fieldDesc(b, len(ws), o) // WorkstationFields
	o += len(ws)
	b = fieldDesc(b, 0, o)                          // EncryptedRandomSessionKeyFields
	b = le.AppendUint32(b, flags)                   // NegotiateFlags
	b = append(b, 10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f) // Version
	b = append(b, make([]byte, 16)...)              // MIC (not sent: no MsvAvFlags)
	for _, p := range [][]byte{lmResp, ntResp, dom, user, ws} {
		b = append(b, p...)
	}
	return b, nil
}
