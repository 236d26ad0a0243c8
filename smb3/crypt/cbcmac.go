package crypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"sync"
)

// cbcScratch is the size of the throw-away CBC output buffer used to run a
// CBC-MAC through crypto/cipher's CBC encrypter in chunks.
const cbcScratch = 4096

// cbcMACer computes raw CBC-MAC chains with one AES key. It is shared by
// CMAC and CCM, and is safe for concurrent use.
type cbcMACer struct {
	b    cipher.Block
	pool sync.Pool // of *cbcState
}

type cbcState struct {
	mode  cipher.BlockMode
	setIV func([]byte)
	buf   [cbcScratch]byte
}

func newCBCMACer(b cipher.Block) *cbcMACer {
	m := &cbcMACer{b: b}
	m.pool.New = func() any {
		var zero [16]byte
		mode := cipher.NewCBCEncrypter(b, zero[:])
		st := &cbcState{mode: mode}
		if s, ok := mode.(interface{ SetIV([]byte) }); ok {
			st.setIV = s.SetIV
		}
		return st
	}
	return m
}

// blocks chains the full 16-byte blocks of data into the CBC-MAC state x:
// for each block B, x = E(x XOR B). len(data) must be a multiple of 16.
func (m *cbcMACer) blocks(x *[16]byte, data []byte) {
	if len(data) < 8*16 {
		m.blocksSlow(x, data)
		return
	}
	st := m.pool.Get().(*cbcState)
	if st.setIV == nil {
		m.pool.Put(st)
		m.blocksSlow(x, data)
		return
	}
	st.setIV(x[:])
	for len(data) > 0 {
		n := min(len(data), cbcScratch)
		st.mode.CryptBlocks(st.buf[:n], data[:n])
		data = data[n:]
		if len(data) == 0 {
			copy(x[:], st.buf[n-16:n])
		}
	}
	m.pool.Put(st)
}

// blocksSlow is blocks one AES call at a time.
func (m *cbcMACer) blocksSlow(x *[16]byte, data []byte) {
	for ; len(data) >= 16; data = data[16:] {
		subtle.XORBytes(x[:], x[:], data[:16])
		m.b.Encrypt(x[:], x[:])
	}
}
