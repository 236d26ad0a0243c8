package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"
)

// negotiateFlags is the NegotiateFlags field of the NTLM messages (MS-NLMP 2.2.2.5).
type negotiateFlags uint32

// NTLM negotiate flags (MS-NLMP 2.2.2.5). The spec's NTLMSSP_NEGOTIATE_ prefix is dropped.
const (
	flagUnicode             negotiateFlags = 0x00000001 // A
	flagOEM                 negotiateFlags = 0x00000002 // B
	flagRequestTarget       negotiateFlags = 0x00000004 // C
	flagSign                negotiateFlags = 0x00000010 // D
	flagSeal                negotiateFlags = 0x00000020 // E
	flagDatagram            negotiateFlags = 0x00000040 // F
	flagLMKey               negotiateFlags = 0x00000080 // G
	flagNTLM                negotiateFlags = 0x00000200 // H
	flagAnonymous           negotiateFlags = 0x00000800 // J
	flagOEMDomainSupplied   negotiateFlags = 0x00001000 // K
	flagOEMWorkstationSupp  negotiateFlags = 0x00002000 // L
	flagAlwaysSign          negotiateFlags = 0x00008000 // M
	flagTargetTypeDomain    negotiateFlags = 0x00010000 // N
	flagTargetTypeServer    negotiateFlags = 0x00020000 // O
	flagExtendedSessionSec  negotiateFlags = 0x00080000 // P
	flagIdentify            negotiateFlags = 0x00100000 // Q
	flagRequestNonNTSessKey negotiateFlags = 0x00400000 // R
	flagTargetInfo          negotiateFlags = 0x00800000 // S
	flagVersion             negotiateFlags = 0x02000000 // T
	flag128                 negotiateFlags = 0x20000000 // U
	flagKeyExch             negotiateFlags = 0x40000000 // V
	flag56                  negotiateFlags = 0x80000000 // W
)

// avID is an AV_PAIR AvId (MS-NLMP 2.2.2.1).
type avID uint16

const (
	avEOL             avID = 0
	avNbComputerName  avID = 1
	avNbDomainName    avID = 2
	avDNSComputerName avID = 3
	avDNSDomainName   avID = 4
	avDNSTreeName     avID = 5
	avFlags           avID = 6
	avTimestamp       avID = 7
	avSingleHost      avID = 8
	avTargetName      avID = 9
	avChannelBindings avID = 10
)

// avFlagMICPresent is the MsvAvFlags bit "the client is providing message integrity in the MIC field"
// (MS-NLMP 2.2.2.1).
const avFlagMICPresent = 0x00000002

// ntlmSignature starts every NTLM message (MS-NLMP 2.2.1).
var ntlmSignature = []byte("NTLMSSP\x00")

// NTLM message types (MS-NLMP 2.2.1).
const (
	ntlmNegotiate    = 1
	ntlmChallenge    = 2
	ntlmAuthenticate = 3
)

// utf16LE encodes s as UTF-16LE, as NTLM's Unicode strings are (MS-NLMP 2.2).
func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// NTHash returns MD4(UTF-16LE(password)), the NT one-way function NTOWFv1 (MS-NLMP 3.3.1) that the
// user store keeps instead of passwords.
func NTHash(password string) [16]byte {
	return md4Sum(utf16LE(password))
}

// hmacMD5 is HMAC_MD5(K, M) of MS-NLMP 6 over the concatenation of parts.
func hmacMD5(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// ntowfV2 is NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)).
// Only the user name is uppercased; the domain is used as given.
func ntowfV2(ntHash [16]byte, user, domain string) []byte {
	return hmacMD5(ntHash[:], utf16LE(strings.ToUpper(user)+domain))
}

// ntlmV2Proof returns NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp), where temp is
// the NTLMv2_CLIENT_CHALLENGE that follows the proof in NtChallengeResponse (MS-NLMP 3.3.2).
func ntlmV2Proof(responseKeyNT []byte, serverChallenge [8]byte, temp []byte) []byte {
	return hmacMD5(responseKeyNT, serverChallenge[:], temp)
}

// rc4K is RC4K(K, D) of MS-NLMP 6: a one-shot RC4 encryption (or decryption) of d with key k.
func rc4K(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic("auth: rc4 key: " + err.Error()) // keys here are always 16 bytes
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// fileTime converts t to a Windows FILETIME: 100 ns intervals since 1601-01-01 UTC (MS-DTYP 2.3.3).
func fileTime(t time.Time) uint64 {
	const epochDelta = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return uint64(t.UnixNano()/100 + epochDelta)
}

// Sign and seal key magic constants (MS-NLMP 3.4.5.2, 3.4.5.3), each including the terminating NUL.
var (
	magicClientSign = []byte("session key to client-to-server signing key magic constant\x00")
	magicServerSign = []byte("session key to server-to-client signing key magic constant\x00")
	magicClientSeal = []byte("session key to client-to-server sealing key magic constant\x00")
	magicServerSeal = []byte("session key to server-to-client sealing key magic constant\x00")
)

// signKey is SIGNKEY (MS-NLMP 3.4.5.2) with extended session security: MD5(key || magic).
func signKey(exportedSessionKey, magic []byte) []byte {
	h := md5.New()
	h.Write(exportedSessionKey)
	h.Write(magic)
	return h.Sum(nil)
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3). With extended session security the key is weakened to the
// negotiated strength (128, 56 or 40 bits) and hashed with the direction's magic constant. Without
// it, this server never grants NTLMSSP_NEGOTIATE_LM_KEY or DATAGRAM, so the key is the exported
// session key itself, shared by both directions.
func sealKey(flags negotiateFlags, exportedSessionKey, magic []byte) []byte {
	if flags&flagExtendedSessionSec == 0 {
		return append([]byte(nil), exportedSessionKey...)
	}
	k := exportedSessionKey
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		k = k[:7]
	default:
		k = k[:5]
	}
	h := md5.New()
	h.Write(k)
	h.Write(magic)
	return h.Sum(nil)
}
