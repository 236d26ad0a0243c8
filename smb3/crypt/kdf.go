package crypt

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
)

// Dialects, as the wire values of MS-SMB2 2.2.3 that DeriveKeys accepts.
const (
	Dialect202 uint16 = 0x0202
	Dialect210 uint16 = 0x0210
	Dialect300 uint16 = 0x0300
	Dialect302 uint16 = 0x0302
	Dialect311 uint16 = 0x0311
)

// KDF is the key derivation function of MS-SMB2 3.1.4.2: NIST SP 800-108
// in counter mode with HMAC-SHA256 as the PRF, r = 32, and
//
//	K(i) = HMAC-SHA256(key, [i]_32 || label || 0x00 || context || [L]_32)
//
// with big-endian counters. L is the output length in bits (a multiple of 8;
// SMB uses 128 and 256). label and context are used as given: the MS-SMB2
// labels such as "SMB2AESCMAC" include their terminating NUL, so pass
// "SMB2AESCMAC\x00".
func KDF(key, label, context []byte, L int) []byte {
	if L <= 0 || L%8 != 0 {
		panic("smb3/crypt: KDF output length must be a positive multiple of 8 bits")
	}
	n := L / 8
	out := make([]byte, 0, (n+sha256.Size-1)/sha256.Size*sha256.Size)
	h := hmac.New(sha256.New, key)
	var buf [4]byte
	for i := uint32(1); len(out) < n; i++ {
		h.Reset()
		binary.BigEndian.PutUint32(buf[:], i)
		h.Write(buf[:])
		h.Write(label)
		h.Write([]byte{0})
		h.Write(context)
		binary.BigEndian.PutUint32(buf[:], uint32(L))
		h.Write(buf[:])
		out = h.Sum(out)
	}
	return out[:n:n]
}

// Keys holds a session's (or a channel's) derived keys, seen from the server.
// Microsoft's published examples list keys from the client's side: their
// EncryptionKey is Decryption here, their DecryptionKey is Encryption.
type Keys struct {
	Signing     []byte // 16 bytes
	Decryption  []byte // ServerIn: decrypts client->server (16 or 32 bytes by cipher)
	Encryption  []byte // ServerOut: encrypts server->client
	Application []byte
}

// SessionKey returns Session.SessionKey as MS-SMB2 3.3.5.5.3 defines it from
// the cryptographic key gssKey of the authentication: "the first 16 bytes of
// the cryptographic key ... If the cryptographic key is less than 16 bytes, it
// is right-padded with zero bytes."
func SessionKey(gssKey []byte) []byte {
	k := make([]byte, 16)
	copy(k, gssKey)
	return k
}

// DeriveKeys derives the session keys as MS-SMB2 3.3.5.5.3 says for the server
// side. dialect is the wire value (0x0202, 0x0210, 0x0300, 0x0302, 0x0311);
// sessionKey is the full cryptographic key from the authentication (GSS);
// preauth is Session.PreauthIntegrityHashValue (3.1.1 only); cipher is
// Connection.CipherId (3.1.1 only; 3.0 and 3.0.2 always use AES-128-CCM).
//
//   - 2.0.2 and 2.1: Signing and Application are Session.SessionKey; there are
//     no encryption keys.
//   - 3.0 and 3.0.2: labels "SMB2AESCMAC"/"SmbSign", "SMB2AESCCM"/"ServerIn ",
//     "SMB2AESCCM"/"ServerOut", "SMB2APP"/"SmbRpc".
//   - 3.1.1: "SMBSigningKey", "SMBC2SCipherKey", "SMBS2CCipherKey",
//     "SMBAppKey", each with preauth as the context. For AES-256-CCM and
//     AES-256-GCM the encryption keys come from the full session key with
//     L = 256.
//
// Unknown dialects yield zero Keys. The returned slices are freshly allocated.
func DeriveKeys(dialect uint16, sessionKey []byte, preauth []byte, cipher uint16) Keys {
	sk := SessionKey(sessionKey)
	switch dialect {
	case Dialect202, Dialect210:
		return Keys{Signing: sk, Application: SessionKey(sessionKey)}
	case Dialect300, Dialect302:
		return Keys{
			Signing:     KDF(sk, []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00"), 128),
			Decryption:  KDF(sk, []byte("SMB2AESCCM\x00"), []byte("ServerIn \x00"), 128),
			Encryption:  KDF(sk, []byte("SMB2AESCCM\x00"), []byte("ServerOut\x00"), 128),
			Application: KDF(sk, []byte("SMB2APP\x00"), []byte("SmbRpc\x00"), 128),
		}
	case Dialect311:
		encKey, L := sk, 128
		if cipher == CipherAES256CCM || cipher == CipherAES256GCM {
			// Session.FullSessionKey: the whole cryptographic key.
			encKey, L = sessionKey, 256
		}
		return Keys{
			Signing:     KDF(sk, []byte("SMBSigningKey\x00"), preauth, 128),
			Decryption:  KDF(encKey, []byte("SMBC2SCipherKey\x00"), preauth, L),
			Encryption:  KDF(encKey, []byte("SMBS2CCipherKey\x00"), preauth, L),
			Application: KDF(sk, []byte("SMBAppKey\x00"), preauth, 128),
		}
	}
	return Keys{}
}

// PreauthHash is the SMB 3.1.1 preauthentication integrity hash value
// (MS-SMB2 3.3.5.4, 3.3.5.5): SHA-512, starting from 64 zero bytes, chained
// over each NEGOTIATE and SESSION_SETUP message as H = SHA-512(H || msg).
type PreauthHash [64]byte

// Update chains msg, a whole SMB2 message (header and body, without the
// 4-byte transport header), into h.
func (h *PreauthHash) Update(msg []byte) {
	d := sha512.New()
	d.Write(h[:])
	d.Write(msg)
	d.Sum(h[:0])
}

// Clear overwrites the key material in k with zeros (on logoff or session
// expiry). Signers and Ciphers made from the keys keep their own expanded
// copies.
func (k *Keys) Clear() {
	clear(k.Signing)
	clear(k.Decryption)
	clear(k.Encryption)
	clear(k.Application)
}
