package crypt

import (
	"encoding/binary"
	"math"
	"slices"
)

// SealInPlace encrypts a message that the caller has built after 52 bytes
// of headroom: buf[:52] is scratch for the TRANSFORM_HEADER and buf[52:] is
// the message (or compound chain). It fills in the header, encrypts the
// message where it lies and returns the transformed message, which is buf
// itself unless buf lacked the 16 bytes of spare capacity GCM needs to
// append its tag, in which case it was grown. It saves Seal's copy of a
// large READ response. For a Cipher not made by NewCipher it falls back to
// Seal.
func SealInPlace(c Cipher, buf []byte, sessionID uint64) []byte {
	if len(buf) < TransformHeaderSize {
		panic("smb3/crypt: SealInPlace needs 52 bytes of headroom")
	}
	tc, ok := c.(*transformCipher)
	if !ok {
		return c.Seal(nil, buf[TransformHeaderSize:], sessionID)
	}
	n := len(buf) - TransformHeaderSize
	if uint64(n) > math.MaxUint32 {
		panic("smb3/crypt: message too large for OriginalMessageSize")
	}
	if tc.gcm != nil {
		buf = slices.Grow(buf, tagSize)
	}
	h := buf[:TransformHeaderSize]
	copy(h, transformProtocolID[:])
	clear(h[4:])
	tc.nextNonce(h[thNonce : thNonce+tc.nonceSize])
	binary.LittleEndian.PutUint32(h[thOriginalSize:], uint32(n))
	binary.LittleEndian.PutUint16(h[thFlags:], transformFlagEncrypted)
	binary.LittleEndian.PutUint64(h[thSessionID:], sessionID)
	// Exact overlap of plaintext and ciphertext is allowed by both AEADs.
	tc.seal(buf, buf[TransformHeaderSize:])
	return buf
}

// OpenInPlace verifies and decrypts msg, a message that starts with the
// transform header, overwriting msg, and returns the plaintext as a
// subslice of msg (msg[52:] for CCM; for GCM the ciphertext is first moved
// down next to the tag, so the plaintext starts earlier). The errors are
// Open's; on ErrAuth the contents of msg are destroyed. For a Cipher not
// made by NewCipher it falls back to Open.
func OpenInPlace(c Cipher, msg []byte) ([]byte, error) {
	tc, ok := c.(*transformCipher)
	if !ok {
		return c.Open(nil, msg)
	}
	n, err := checkTransform(msg)
	if err != nil {
		return nil, err
	}
	// The header must survive the move below: keep a copy of it (pooled,
	// since slices handed to the AEAD interface escape).
	hdr := tc.hdrPool.Get().(*[TransformHeaderSize]byte)
	defer tc.hdrPool.Put(hdr)
	copy(hdr[:], msg)
	nonce := hdr[thNonce : thNonce+tc.nonceSize]
	aad := hdr[thAAD:TransformHeaderSize]
	tag := hdr[thSignature : thSignature+tagSize]
	if tc.gcm != nil {
		// crypto/cipher wants ciphertext||tag: move the ciphertext down so
		// that the tag fits at the end of msg.
		off := TransformHeaderSize - tagSize
		buf := msg[off:]
		copy(buf, msg[TransformHeaderSize:])
		copy(buf[n:], tag)
		pt, err := tc.gcm.Open(buf[:0], nonce, buf, aad)
		if err != nil {
			clear(msg)
			return nil, ErrAuth
		}
		return pt, nil
	}
	pt := msg[TransformHeaderSize:]
	if !tc.ccm.openDetached(pt, nonce, pt, aad, tag) {
		clear(msg)
		return nil, ErrAuth
	}
	return pt, nil
}
