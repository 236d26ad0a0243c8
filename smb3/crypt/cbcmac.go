package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"sync"
)

// cbcMACer computes raw CBC-MAC chains with one AES key; it is shared by CMAC
// and CCM and is safe for concurrent use.
//
// A CBC-MAC is inherently serial: every block waits for the previous AES
// result, so it runs at the latency of one AES block encryption per 16
// bytes no matter how the calls are batched (crypto/cipher's CBC encrypter
// measured no faster than one Encrypt per block). What matters is not to
// allocate: per-call state lives in pooled scratch, because slices of local
// arrays passed to the cipher.Block interface escape to the heap.
type cbcMACer struct {
	b    cipher.Block
	pool sync.Pool // of *scratch
}

// scratch is per-call working memory for CMAC and CCM.
type scratch struct {
	x   [16]byte // CBC-MAC state
	blk [16]byte // a block being assembled
	s0  [16]byte // CCM: counter block 0 and its encryption
	ks  [ccmKeystream]byte
}

func newCBCMACer(b cipher.Block) *cbcMACer {
	m := &cbcMACer{b: b}
	m.pool.New = func() any { return new(scratch) }
	return m
}

func (m *cbcMACer) get() *scratch  { return m.pool.Get().(*scratch) }
func (m *cbcMACer) put(s *scratch) { m.pool.Put(s) }

// blocks chains the full 16-byte blocks of data into the CBC-MAC state x:
// for each block B, x = E(x XOR B). len(data) must be a multiple of 16.
func (m *cbcMACer) blocks(x *[16]byte, data []byte) {
	for ; len(data) >= 16; data = data[16:] {
		subtle.XORBytes(x[:], x[:], data[:16])
		m.b.Encrypt(x[:], x[:])
	}
}
