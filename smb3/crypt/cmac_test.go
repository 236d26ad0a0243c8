package crypt

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

// RFC 4493 section 4, "Test Vectors".
func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c")
	c, err := newCMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	// Subkey generation (RFC 4493 4, "Subkey Generation").
	if want := unhex(t, "fbeed618 35713366 7c85e08f 7236a8de"); !bytes.Equal(c.k1[:], want) {
		t.Errorf("K1 = %x, want %x", c.k1, want)
	}
	if want := unhex(t, "f7ddac30 6ae266cc f90bc11e e46d513b"); !bytes.Equal(c.k2[:], want) {
		t.Errorf("K2 = %x, want %x", c.k2, want)
	}
	m := unhex(t, `6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51
		30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710`)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
		{16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
		{40, "dfa66747 de9ae630 30ca3261 1497c827"},
		{64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
	} {
		got := c.sum(m[:tc.n])
		if want := unhex(t, tc.want); !bytes.Equal(got[:], want) {
			t.Errorf("CMAC(M[:%d]) = %x, want %x", tc.n, got, want)
		}
	}
}

// TestCMACParts checks that splitting the input into parts (and the bulk
// CBC path for long inputs) gives the same MAC as one-block-at-a-time.
func TestCMACParts(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	c, _ := newCMAC(key)
	msg := make([]byte, 20000)
	rand.Read(msg)
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 127, 128, 129, 4095, 4096, 4097, 4111, 4112, 8192 + 16, 20000} {
		m := msg[:n]
		want := slowCMAC(c, m)
		if got := c.sum(m); got != want {
			t.Errorf("len %d: sum = %x, want %x", n, got, want)
		}
		for range 20 {
			var parts [][]byte
			rest := m
			for len(rest) > 0 {
				k := r.IntN(len(rest) + 1)
				if r.IntN(4) == 0 {
					k = 0
				}
				parts = append(parts, rest[:k])
				rest = rest[k:]
			}
			parts = append(parts, nil)
			if got := c.sum(parts...); got != want {
				t.Fatalf("len %d split %d ways: sum = %x, want %x", n, len(parts), got, want)
			}
		}
	}
}

// slowCMAC is RFC 4493 2.4 written out block by block.
func slowCMAC(c *cmac, m []byte) [16]byte {
	var x [16]byte
	nb := (len(m) + 15) / 16
	complete := nb > 0 && len(m)%16 == 0
	if nb == 0 {
		nb = 1
	}
	for i := 0; i < nb-1; i++ {
		for j := range 16 {
			x[j] ^= m[16*i+j]
		}
		c.m.b.Encrypt(x[:], x[:])
	}
	var last [16]byte
	tail := m[16*(nb-1):]
	copy(last[:], tail)
	if complete {
		for j := range 16 {
			last[j] ^= c.k1[j]
		}
	} else {
		last[len(tail)] = 0x80
		for j := range 16 {
			last[j] ^= c.k2[j]
		}
	}
	for j := range 16 {
		x[j] ^= last[j]
	}
	c.m.b.Encrypt(x[:], x[:])
	return x
}
