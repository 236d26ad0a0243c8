package crypt

// OpenInPlaceTail is OpenInPlace for a message whose spare capacity belongs
// to the caller, as a transport's message buffer does: with 16 bytes of it
// past len(msg), a GCM message is decrypted where it lies (the tag is copied
// after the ciphertext, which crypto/cipher wants contiguous) instead of
// moving the whole ciphertext down first, and the plaintext is msg[52:]. Up
// to 16 bytes of msg's spare capacity are overwritten. Without that much
// spare capacity, and for CCM, it is OpenInPlace.
func OpenInPlaceTail(c Cipher, msg []byte) ([]byte, error) {
	tc, ok := c.(*transformCipher)
	if !ok || tc.gcm == nil || cap(msg)-len(msg) < tagSize {
		return OpenInPlace(c, msg)
	}
	n, err := checkTransform(msg)
	if err != nil {
		return nil, err
	}
	// The ciphertext stays where it is, so the header does too: nonce and
	// AAD are read from msg; the tag is copied behind the ciphertext.
	nonce := msg[thNonce : thNonce+tc.nonceSize]
	aad := msg[thAAD:TransformHeaderSize]
	buf := msg[TransformHeaderSize : len(msg)+tagSize]
	copy(buf[n:], msg[thSignature:thSignature+tagSize])
	pt, err := tc.gcm.Open(buf[:0], nonce, buf, aad)
	if err != nil {
		clear(msg)
		return nil, ErrAuth
	}
	return pt, nil
}
