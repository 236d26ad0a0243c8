package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"testing"
)

// NIST SP 800-38C Appendix C, Examples 1-4 (K = 40..4f).
func TestCCMSP80038C(t *testing.T) {
	key := unhex(t, "404142434445464748494a4b4c4d4e4f")
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	// Example 4: A is 524288 bits, the bytes 00..ff repeated 256 times.
	bigA := make([]byte, 65536)
	for i := range bigA {
		bigA[i] = byte(i)
	}
	for _, tc := range []struct {
		name    string
		tagSize int
		nonce   string
		aad     []byte
		p       string
		c       string
	}{
		{"C.1", 4, "10111213141516", unhex(t, "0001020304050607"), "20212223", "7162015b 4dac255d"},
		{"C.2", 6, "1011121314151617", unhex(t, "000102030405060708090a0b0c0d0e0f"),
			"202122232425262728292a2b2c2d2e2f",
			"d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd"},
		{"C.3", 8, "101112131415161718191a1b", unhex(t, "000102030405060708090a0b0c0d0e0f10111213"),
			"202122232425262728292a2b2c2d2e2f3031323334353637",
			"e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951"},
		{"C.4", 14, "101112131415161718191a1b1c", bigA,
			"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
			"69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72 b4ac6bec93e8598e7f0dadbcea5b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nonce, p, want := unhex(t, tc.nonce), unhex(t, tc.p), unhex(t, tc.c)
			c := newCCM(b, len(nonce), tc.tagSize)
			ct := make([]byte, len(p))
			tag := c.sealDetached(ct, nonce, p, tc.aad)
			got := append(ct, tag[:tc.tagSize]...)
			if !bytes.Equal(got, want) {
				t.Fatalf("C = %x, want %x", got, want)
			}
			pt := make([]byte, len(p))
			if !c.openDetached(pt, nonce, want[:len(p)], tc.aad, want[len(p):]) || !bytes.Equal(pt, p) {
				t.Fatalf("open failed or wrong plaintext %x", pt)
			}
			bad := bytes.Clone(want)
			bad[len(bad)-1] ^= 1
			if c.openDetached(pt, nonce, bad[:len(p)], tc.aad, bad[len(p):]) {
				t.Fatal("open accepted a bad tag")
			}
			if !bytes.Equal(pt, make([]byte, len(p))) {
				t.Fatal("failed open left plaintext in out")
			}
		})
	}
}

// TestCCMInPlace checks that sealing and opening with out == input works and
// that the bulk (CBC, batched CTR) paths agree across batch boundaries.
func TestCCMInPlace(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	b, _ := aes.NewCipher(key)
	c := newCCM(b, 11, 16)
	nonce := make([]byte, 11)
	aad := make([]byte, 32)
	rand.Read(nonce)
	rand.Read(aad)
	for _, n := range []int{0, 1, 16, 17, 511, 512, 513, 4096, 4097, 70000} {
		p := make([]byte, n)
		rand.Read(p)
		out := make([]byte, n)
		tag := c.sealDetached(out, nonce, p, aad)
		buf := bytes.Clone(p)
		tag2 := c.sealDetached(buf, nonce, buf, aad)
		if tag != tag2 || !bytes.Equal(out, buf) {
			t.Fatalf("len %d: in-place seal differs", n)
		}
		if !c.openDetached(buf, nonce, buf, aad, tag[:]) || !bytes.Equal(buf, p) {
			t.Fatalf("len %d: in-place open failed", n)
		}
	}
}
