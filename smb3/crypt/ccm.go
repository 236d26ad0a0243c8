package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// ccm is AES-CCM (NIST SP 800-38C; RFC 3610) with a fixed key, nonce size and
// tag size. SMB uses an 11-byte nonce and a 16-byte tag (MS-SMB2 2.2.41,
// [RFC4309]); the generic parameters exist so that the SP 800-38C examples
// can be checked. It is safe for concurrent use.
//
// The tag is handled detached from the ciphertext because SMB carries it in
// the TRANSFORM_HEADER Signature field, ahead of the ciphertext.
//
// Speed: the CBC-MAC is serial and bounds CCM at roughly one AES latency per
// block; the CTR keystream uses crypto/cipher's CTR (8-way pipelined on
// amd64/arm64) for payloads of ccmStdCTR bytes and more, which costs one
// allocation, and a batched per-block loop on pooled scratch below that.
type ccm struct {
	m         *cbcMACer
	nonceSize int
	tagSize   int
}

const (
	// ccmKeystream is the number of keystream bytes generated per batch by
	// the small-payload CTR loop.
	ccmKeystream = 256
	// ccmStdCTR is the payload size from which cipher.NewCTR is used.
	ccmStdCTR = 1024
)

func newCCM(b cipher.Block, nonceSize, tagSize int) *ccm {
	if b.BlockSize() != 16 || nonceSize < 7 || nonceSize > 13 || tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		panic("smb3/crypt: bad CCM parameters")
	}
	return &ccm{m: newCBCMACer(b), nonceSize: nonceSize, tagSize: tagSize}
}

// fits reports whether a payload of n bytes fits the length field
// (q = 15 - nonceSize bytes).
func (c *ccm) fits(n int) bool {
	q := 15 - c.nonceSize
	return q >= 8 || uint64(n) < 1<<(8*uint(q))
}

// mac computes into st.x the CBC-MAC T of SP 800-38C 6.1 steps 1-4 (all 16
// bytes; the tag is its first tagSize bytes) over B0, the encoded AAD and
// the payload.
func (c *ccm) mac(st *scratch, nonce, payload, aad []byte) {
	q := 15 - c.nonceSize
	x := &st.x
	// A.2.1: B0 = Flags || N || Q; Flags = 64*Adata + 8*[(t-2)/2] + [q-1].
	*x = [16]byte{}
	x[0] = byte((c.tagSize-2)/2<<3 | (q - 1))
	if len(aad) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	var qb [8]byte
	binary.BigEndian.PutUint64(qb[:], uint64(len(payload)))
	copy(x[16-q:], qb[8-min(q, 8):])
	c.m.b.Encrypt(x[:], x[:])

	if len(aad) > 0 {
		// A.2.2: the length of a, encoded in 2, 6 or 10 bytes, then a, then
		// zero padding to a block boundary.
		blk := &st.blk
		*blk = [16]byte{}
		var hl int
		switch a := uint64(len(aad)); {
		case a < 0xff00:
			binary.BigEndian.PutUint16(blk[:], uint16(a))
			hl = 2
		case a < 1<<32:
			blk[0], blk[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(blk[2:], uint32(a))
			hl = 6
		default:
			blk[0], blk[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(blk[2:], a)
			hl = 10
		}
		k := copy(blk[hl:], aad)
		c.m.blocks(x, blk[:])
		c.macPadded(st, aad[k:])
	}
	c.macPadded(st, payload)
}

// macPadded chains data, zero-padded to a block boundary, into st.x.
func (c *ccm) macPadded(st *scratch, data []byte) {
	full := len(data) / 16 * 16
	c.m.blocks(&st.x, data[:full])
	if full < len(data) {
		st.blk = [16]byte{}
		copy(st.blk[:], data[full:])
		c.m.blocks(&st.x, st.blk[:])
	}
}

// ctrBlock sets b to the counter block Ctr_i of SP 800-38C A.3:
// Flags = q-1, then N, then [i] in the last q bytes.
func (c *ccm) ctrBlock(b *[16]byte, nonce []byte, i uint32) {
	*b = [16]byte{}
	b[0] = byte(15 - c.nonceSize - 1)
	copy(b[1:], nonce)
	c.setCtr(b, i)
}

// setCtr writes i into the counter field (the last q bytes) of b.
func (c *ccm) setCtr(b *[16]byte, i uint32) {
	q := 15 - c.nonceSize
	if q >= 4 {
		binary.BigEndian.PutUint32(b[12:], i)
		return
	}
	for j := 0; j < q; j++ {
		b[15-j] = byte(i >> (8 * j))
	}
}

// xorKeyStream XORs src with the CTR keystream S_1, S_2, ... into dst.
// dst and src must be equal or not overlap. It uses st.blk and st.ks.
func (c *ccm) xorKeyStream(st *scratch, dst, src, nonce []byte) {
	if len(src) == 0 {
		return
	}
	ctr := &st.blk
	c.ctrBlock(ctr, nonce, 1)
	if len(src) >= ccmStdCTR {
		// crypto/cipher increments the whole block as a 128-bit integer; the
		// payload limit keeps the q-byte counter from ever carrying out, so
		// the two agree.
		cipher.NewCTR(c.m.b, ctr[:]).XORKeyStream(dst, src)
		return
	}
	n := uint32(1)
	for len(src) > 0 {
		m := min(len(src), ccmKeystream)
		for off := 0; off < m; off += 16 {
			c.setCtr(ctr, n)
			c.m.b.Encrypt(st.ks[off:off+16], ctr[:])
			n++
		}
		subtle.XORBytes(dst[:m], src[:m], st.ks[:m])
		dst, src = dst[m:], src[m:]
	}
}

// sealDetached encrypts plaintext into out (len(out) >= len(plaintext); out
// and plaintext equal or disjoint) and returns the tag (its first tagSize
// bytes are meaningful, the rest zero).
func (c *ccm) sealDetached(out, nonce, plaintext, aad []byte) [16]byte {
	if len(nonce) != c.nonceSize || !c.fits(len(plaintext)) {
		panic("smb3/crypt: bad CCM nonce or payload length")
	}
	st := c.m.get()
	c.mac(st, nonce, plaintext, aad)
	c.xorKeyStream(st, out[:len(plaintext)], plaintext, nonce)
	c.ctrBlock(&st.s0, nonce, 0)
	c.m.b.Encrypt(st.s0[:], st.s0[:])
	subtle.XORBytes(st.x[:], st.x[:], st.s0[:])
	t := st.x
	c.m.put(st)
	clear(t[c.tagSize:])
	return t
}

// openDetached decrypts ciphertext into out (same aliasing rules as
// sealDetached) and checks tag in constant time. On failure out is zeroed.
func (c *ccm) openDetached(out, nonce, ciphertext, aad, tag []byte) bool {
	if len(nonce) != c.nonceSize || len(tag) != c.tagSize || !c.fits(len(ciphertext)) {
		return false
	}
	out = out[:len(ciphertext)]
	st := c.m.get()
	c.xorKeyStream(st, out, ciphertext, nonce)
	c.mac(st, nonce, out, aad)
	c.ctrBlock(&st.s0, nonce, 0)
	c.m.b.Encrypt(st.s0[:], st.s0[:])
	subtle.XORBytes(st.x[:], st.x[:], st.s0[:])
	ok := subtle.ConstantTimeCompare(st.x[:c.tagSize], tag) == 1
	c.m.put(st)
	if !ok {
		clear(out)
	}
	return ok
}
