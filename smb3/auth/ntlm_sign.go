package auth

import (
	"crypto/hmac"
	"crypto/rc4"
	"encoding/binary"
	"hash/crc32"
)

// ntlmSecurity holds the NTLM session security state (MS-NLMP 3.4) after authentication. SMB uses
// it only for the SPNEGO mechListMIC; SMB signing and encryption have their own keys.
type ntlmSecurity struct {
	flags negotiateFlags

	// With extended session security each direction has its own keys, RC4 handle and sequence
	// number (MS-NLMP 3.4.4.2). Without it both directions share one RC4 handle keyed with the
	// exported session key and one sequence number (MS-NLMP 3.4.4.1), as Samba implements it, so
	// the order of verify and sign calls matters.
	clientSign, serverSign []byte
	clientSeal, serverSeal *rc4.Cipher
	clientSeq, serverSeq   *uint32
}

func newNTLMSecurity(flags negotiateFlags, exportedSessionKey []byte) *ntlmSecurity {
	s := &ntlmSecurity{flags: flags}
	if flags&flagExtendedSessionSec != 0 {
		s.clientSign = signKey(exportedSessionKey, magicClientSign)
		s.serverSign = signKey(exportedSessionKey, magicServerSign)
		s.clientSeal = newRC4(sealKey(flags, exportedSessionKey, magicClientSeal))
		s.serverSeal = newRC4(sealKey(flags, exportedSessionKey, magicServerSeal))
		s.clientSeq, s.serverSeq = new(uint32), new(uint32)
		return s
	}
	shared := newRC4(sealKey(flags, exportedSessionKey, nil))
	s.clientSeal, s.serverSeal = shared, shared
	seq := new(uint32)
	s.clientSeq, s.serverSeq = seq, seq
	return s
}

func newRC4(key []byte) *rc4.Cipher {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic("auth: rc4 key: " + err.Error()) // keys here are 16 bytes
	}
	return c
}

// ntlmSignatureLen is the size of an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9).
const ntlmSignatureLen = 16

// mac computes the NTLMSSP_MESSAGE_SIGNATURE of msg (MS-NLMP 3.4.4) and advances the handle and
// sequence number.
func (s *ntlmSecurity) mac(sign []byte, seal *rc4.Cipher, seq *uint32, msg []byte) []byte {
	sig := make([]byte, ntlmSignatureLen)
	binary.LittleEndian.PutUint32(sig, 1) // Version
	if s.flags&flagExtendedSessionSec != 0 {
		// MS-NLMP 3.4.4.2: Checksum = HMAC_MD5(SigningKey, SeqNum || Message)[0..7], RC4-encrypted
		// with the sealing handle when key exchange was negotiated; SeqNum in clear.
		var sq [4]byte
		binary.LittleEndian.PutUint32(sq[:], *seq)
		copy(sig[4:12], hmacMD5(sign, sq[:], msg)[:8])
		if s.flags&flagKeyExch != 0 {
			seal.XORKeyStream(sig[4:12], sig[4:12])
		}
		copy(sig[12:], sq[:])
	} else {
		// MS-NLMP 3.4.4.1: RandomPad (0), CRC32(Message) and SeqNum, all RC4-encrypted.
		binary.LittleEndian.PutUint32(sig[8:], crc32.ChecksumIEEE(msg))
		binary.LittleEndian.PutUint32(sig[12:], *seq)
		seal.XORKeyStream(sig[4:], sig[4:])
	}
	*seq++
	return sig
}

// sign returns the server's signature of msg (server-to-client keys).
func (s *ntlmSecurity) sign(msg []byte) []byte {
	return s.mac(s.serverSign, s.serverSeal, s.serverSeq, msg)
}

// verify checks the client's signature of msg (client-to-server keys).
func (s *ntlmSecurity) verify(msg, sig []byte) bool {
	want := s.mac(s.clientSign, s.clientSeal, s.clientSeq, msg)
	if len(sig) != ntlmSignatureLen {
		return false
	}
	if s.flags&flagExtendedSessionSec == 0 {
		// The encrypted RandomPad is not compared (Samba ntlmssp_check_packet does the same).
		return hmac.Equal(sig[:4], want[:4]) && hmac.Equal(sig[8:], want[8:])
	}
	return hmac.Equal(sig, want)
}
