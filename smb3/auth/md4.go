package auth

import (
	"encoding/binary"
	"math/bits"
)

// md4Sum returns the MD4 digest of data (RFC 1320). MD4 is broken as a hash; NTLM needs it only
// for the NT one-way function (MS-NLMP 3.3.1 NTOWFv1), and golang.org/x/crypto is not a dependency.
func md4Sum(data []byte) [16]byte {
	s := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}

	// RFC 1320 3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the bit length (little-endian).
	n := len(data)
	full := n &^ 63
	for i := 0; i < full; i += 64 {
		md4Block(&s, data[i:i+64])
	}
	var tail [128]byte
	r := copy(tail[:], data[full:])
	tail[r] = 0x80
	end := 64
	if r >= 56 {
		end = 128
	}
	binary.LittleEndian.PutUint64(tail[end-8:end], uint64(n)<<3)
	for i := 0; i < end; i += 64 {
		md4Block(&s, tail[i:i+64])
	}

	var out [16]byte
	for i, v := range s {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// md4Round2Order and md4Round3Order are the message word orders of rounds 2 and 3 (RFC 1320 3.4).
var (
	md4Round2Order = [16]uint8{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}
	md4Round3Order = [16]uint8{0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}
	md4Shift1      = [4]int{3, 7, 11, 19}
	md4Shift2      = [4]int{3, 5, 9, 13}
	md4Shift3      = [4]int{3, 9, 11, 15}
)

// md4Block processes one 64-byte block (RFC 1320 3.4).
func md4Block(s *[4]uint32, p []byte) {
	var x [16]uint32
	for i := range x {
		x[i] = binary.LittleEndian.Uint32(p[4*i:])
	}
	a, b, c, d := s[0], s[1], s[2], s[3]

	for i := range 16 {
		f := (b & c) | (^b & d)
		a = bits.RotateLeft32(a+f+x[i], md4Shift1[i%4])
		a, b, c, d = d, a, b, c
	}
	for i := range 16 {
		g := (b & c) | (b & d) | (c & d)
		a = bits.RotateLeft32(a+g+x[md4Round2Order[i]]+0x5a827999, md4Shift2[i%4])
		a, b, c, d = d, a, b, c
	}
	for i := range 16 {
		h := b ^ c ^ d
		a = bits.RotateLeft32(a+h+x[md4Round3Order[i]]+0x6ed9eba1, md4Shift3[i%4])
		a, b, c, d = d, a, b, c
	}

	s[0] += a
	s[1] += b
	s[2] += c
	s[3] += d
}
