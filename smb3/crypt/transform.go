package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Cipher ids as in SMB2_ENCRYPTION_CAPABILITIES (MS-SMB2 2.2.3.1.2).
const (
	CipherAES128CCM uint16 = 1
	CipherAES128GCM uint16 = 2
	CipherAES256CCM uint16 = 3
	CipherAES256GCM uint16 = 4
)

// TRANSFORM_HEADER layout (MS-SMB2 2.2.41).
const (
	// TransformHeaderSize is the size of the SMB2 TRANSFORM_HEADER.
	TransformHeaderSize = 52

	thSignature    = 4  // Signature, 16 bytes: the AEAD tag
	thNonce        = 20 // Nonce, 16 bytes: 11 (CCM) or 12 (GCM) used, rest zero
	thOriginalSize = 36 // OriginalMessageSize, 4 bytes
	thFlags        = 42 // Flags/EncryptionAlgorithm, 2 bytes
	thSessionID    = 44 // SessionId, 8 bytes

	// thAAD is where the additional authenticated data starts: "The SMB2
	// TRANSFORM_HEADER, excluding the ProtocolId and Signature fields"
	// (MS-SMB2 3.1.4.3), bytes 20:52.
	thAAD = thNonce

	transformFlagEncrypted = 0x0001

	tagSize = 16
)

// transformProtocolID is 0xFD 'S' 'M' 'B'.
var transformProtocolID = [4]byte{0xFD, 'S', 'M', 'B'}

// KeySize returns the key length in bytes of cipher id, or 0 if unknown.
func KeySize(id uint16) int {
	switch id {
	case CipherAES128CCM, CipherAES128GCM:
		return 16
	case CipherAES256CCM, CipherAES256GCM:
		return 32
	}
	return 0
}

// IsTransform reports whether msg starts with the TRANSFORM_HEADER
// ProtocolId 0xFD 'S' 'M' 'B'.
func IsTransform(msg []byte) bool {
	return len(msg) >= 4 && [4]byte(msg[:4]) == transformProtocolID
}

// Cipher encrypts and decrypts with an SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41,
// 3.1.4.3). Ciphers are safe for concurrent use.
type Cipher interface {
	// Seal appends to dst the 52-byte transform header followed by the
	// ciphertext of msg (a whole message or compound chain), for sessionID.
	// Nonces never repeat for a key: they come from a per-Cipher counter after
	// a random prefix. Flags/EncryptionAlgorithm is 0x0001. dst must not
	// overlap msg. Seal panics if len(msg) does not fit OriginalMessageSize
	// (32 bits).
	Seal(dst, msg []byte, sessionID uint64) []byte
	// Open verifies and decrypts a message that starts with the transform
	// header; it returns the plaintext appended to dst. dst must not overlap
	// msg. Errors: ErrTruncated, ErrBadProtocolID, ErrBadFlags, ErrBadSize,
	// ErrAuth (tag mismatch); on error dst is returned unchanged in length.
	Open(dst, msg []byte) ([]byte, error)
	// Overhead is the number of bytes Seal adds: 52.
	Overhead() int
}

// NewCipher returns a Cipher for id (CipherAES128CCM, CipherAES128GCM,
// CipherAES256CCM, CipherAES256GCM) and key (16 or 32 bytes, per KeySize).
// SMB 3.0 and 3.0.2 always use CipherAES128CCM.
func NewCipher(id uint16, key []byte) (Cipher, error) {
	ks := KeySize(id)
	if ks == 0 {
		return nil, ErrUnsupported
	}
	if len(key) != ks {
		return nil, ErrKeySize
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrKeySize
	}
	c := &transformCipher{id: id}
	switch id {
	case CipherAES128CCM, CipherAES256CCM:
		c.ccm = newCCM(b, 11, tagSize)
		c.nonceSize = 11
	default:
		c.gcm, err = cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		c.nonceSize = 12
	}
	// Nonce = random prefix || 64-bit counter starting at a random value.
	// The prefix and start make a collision unlikely even if a second Cipher
	// were (wrongly) made for the same key.
	var seed [12]byte
	rand.Read(seed[:])
	copy(c.prefix[:], seed[:4])
	c.start = binary.LittleEndian.Uint64(seed[4:])
	c.ctr.Store(c.start)
	c.hdrPool.New = func() any { return new([TransformHeaderSize]byte) }
	return c, nil
}

type transformCipher struct {
	id        uint16
	nonceSize int
	gcm       cipher.AEAD // GCM ciphers
	ccm       *ccm        // CCM ciphers
	prefix    [4]byte     // first nonceSize-8 bytes used
	start     uint64
	ctr       atomic.Uint64
	hdrPool   sync.Pool // of *[TransformHeaderSize]byte, for OpenInPlace
}

func (c *transformCipher) Overhead() int { return TransformHeaderSize }

// nextNonce writes a fresh nonce into n (nonceSize bytes).
func (c *transformCipher) nextNonce(n []byte) {
	v := c.ctr.Add(1)
	if v == c.start {
		// 2^64 messages under one key: unreachable, but never wrap.
		panic("smb3/crypt: nonce space exhausted")
	}
	p := c.nonceSize - 8
	copy(n[:p], c.prefix[:p])
	binary.LittleEndian.PutUint64(n[p:], v)
}

func (c *transformCipher) Seal(dst, msg []byte, sessionID uint64) []byte {
	n := len(msg)
	if uint64(n) > math.MaxUint32 {
		panic("smb3/crypt: message too large for OriginalMessageSize")
	}
	start := len(dst)
	// Room for the header, the ciphertext and GCM's appended tag.
	out := slices.Grow(dst, TransformHeaderSize+n+tagSize)
	out = out[:start+TransformHeaderSize+n]
	h := out[start : start+TransformHeaderSize]
	copy(h, transformProtocolID[:])
	clear(h[4:])
	c.nextNonce(h[thNonce : thNonce+c.nonceSize])
	binary.LittleEndian.PutUint32(h[thOriginalSize:], uint32(n))
	binary.LittleEndian.PutUint16(h[thFlags:], transformFlagEncrypted)
	binary.LittleEndian.PutUint64(h[thSessionID:], sessionID)
	c.seal(out[start:], msg)
	return out
}

// seal encrypts msg into th[52:] and writes the tag into th's Signature,
// where th is a filled-in transform header with room for len(msg)+16 bytes
// after it (capacity).
func (c *transformCipher) seal(th, msg []byte) {
	n := len(msg)
	nonce := th[thNonce : thNonce+c.nonceSize]
	aad := th[thAAD:TransformHeaderSize]
	ct := th[TransformHeaderSize : TransformHeaderSize+n]
	if c.gcm != nil {
		res := c.gcm.Seal(ct[:0], nonce, msg, aad)
		copy(th[thSignature:thSignature+tagSize], res[n:n+tagSize])
		return
	}
	tag := c.ccm.sealDetached(ct, nonce, msg, aad)
	copy(th[thSignature:thSignature+tagSize], tag[:])
}

// checkTransform validates the fixed fields of a transform message and
// returns the ciphertext length.
func checkTransform(msg []byte) (int, error) {
	// MS-SMB2 3.3.5.2.1.1: "If the size of the message received from the
	// client is not greater than the size of the SMB2 TRANSFORM_HEADER ...,
	// the server MUST disconnect the connection."
	if len(msg) <= TransformHeaderSize {
		return 0, ErrTruncated
	}
	if !IsTransform(msg) {
		return 0, ErrBadProtocolID
	}
	// "If the Flags/EncryptionAlgorithm in the SMB2 TRANSFORM_HEADER is not
	// 0x0001, the server MUST disconnect the connection."
	if binary.LittleEndian.Uint16(msg[thFlags:]) != transformFlagEncrypted {
		return 0, ErrBadFlags
	}
	n := len(msg) - TransformHeaderSize
	if uint64(binary.LittleEndian.Uint32(msg[thOriginalSize:])) != uint64(n) {
		return 0, ErrBadSize
	}
	return n, nil
}

func (c *transformCipher) Open(dst, msg []byte) ([]byte, error) {
	n, err := checkTransform(msg)
	if err != nil {
		return dst, err
	}
	nonce := msg[thNonce : thNonce+c.nonceSize]
	aad := msg[thAAD:TransformHeaderSize]
	tag := msg[thSignature : thSignature+tagSize]
	ct := msg[TransformHeaderSize:]
	start := len(dst)
	out := slices.Grow(dst, n+tagSize)
	if c.gcm != nil {
		// crypto/cipher wants ciphertext||tag; SMB puts the tag first. Lay
		// them out in dst and decrypt in place.
		buf := out[start : start+n+tagSize]
		copy(buf, ct)
		copy(buf[n:], tag)
		if _, err := c.gcm.Open(buf[:0], nonce, buf, aad); err != nil {
			clear(buf)
			return dst, ErrAuth
		}
		return out[:start+n], nil
	}
	if !c.ccm.openDetached(out[start:start+n], nonce, ct, aad, tag) {
		return dst, ErrAuth
	}
	return out[:start+n], nil
}

// TransformSessionID returns the SessionId field of a transform header
// (bytes 44:52), after checking the length (more than the 52-byte header, as
// Open requires) and ProtocolId 0xFD 'S' 'M' 'B'. It does not authenticate
// anything: use it to find the session whose key opens the message.
func TransformSessionID(msg []byte) (uint64, error) {
	if len(msg) <= TransformHeaderSize {
		return 0, ErrTruncated
	}
	if !IsTransform(msg) {
		return 0, ErrBadProtocolID
	}
	return binary.LittleEndian.Uint64(msg[thSessionID:]), nil
}
