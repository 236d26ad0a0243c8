package crypt

import (
	"crypto/aes"
	"crypto/subtle"
)

// cmac is AES-CMAC (RFC 4493; NIST SP 800-38B) with a fixed key. It is safe
// for concurrent use.
type cmac struct {
	m      *cbcMACer
	k1, k2 [16]byte
}

func newCMAC(key []byte) (*cmac, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrKeySize
	}
	c := &cmac{m: newCBCMACer(b)}
	// RFC 4493 2.3 Generate_Subkey: L = AES-128(K, 0^128); K1 = L<<1 (xor Rb
	// if MSB(L)); K2 = K1<<1 (xor Rb if MSB(K1)).
	var l [16]byte
	b.Encrypt(l[:], l[:])
	c.k1 = dbl(l)
	c.k2 = dbl(c.k1)
	return c, nil
}

// dbl doubles a block in GF(2^128) as RFC 4493 does (Rb = 0x87).
func dbl(in [16]byte) [16]byte {
	var out [16]byte
	carry := in[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[15] = in[15]<<1 ^ byte(subtle.ConstantTimeByteEq(carry, 1))*0x87
	return out
}

// sum returns the 16-byte CMAC of the concatenation of parts. The parts let
// a signer substitute zeros for the Signature field without touching the
// message; only the last part may have a length that is not a multiple of 16,
// except that parts of any length are accepted (they are joined through a
// small buffer).
func (c *cmac) sum(parts ...[]byte) [16]byte {
	st := c.m.get()
	x, pend := &st.x, &st.blk
	*x = [16]byte{}
	np := 0 // bytes pending in pend
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	seen := 0
	for _, p := range parts {
		// Fill a pending partial block first.
		if np > 0 {
			k := copy(pend[np:], p)
			np += k
			p = p[k:]
			seen += k
			if np < 16 || seen == total {
				continue
			}
			c.m.blocks(x, pend[:])
			np = 0
		}
		// Bulk: all full blocks of p, keeping back the very last block of the
		// whole message, which CMAC treats specially.
		n := len(p) / 16 * 16
		if seen+n == total && n > 0 {
			n -= 16
		}
		c.m.blocks(x, p[:n])
		seen += n
		np = copy(pend[:], p[n:])
		seen += np
	}
	// Last block: complete -> XOR K1; partial or empty -> pad 10* and XOR K2.
	if np == 16 {
		subtle.XORBytes(pend[:], pend[:], c.k1[:])
	} else {
		pend[np] = 0x80
		clear(pend[np+1:])
		subtle.XORBytes(pend[:], pend[:], c.k2[:])
	}
	subtle.XORBytes(x[:], x[:], pend[:])
	c.m.b.Encrypt(x[:], x[:])
	sum := *x
	c.m.put(st)
	return sum
}
