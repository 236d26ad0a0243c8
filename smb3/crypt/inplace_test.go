package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestInPlace(t *testing.T) {
	for _, id := range cipherIDs {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			c := newTestCipher(t, id)
			for _, n := range []int{1, 16, 100, 5000, 1 << 20} {
				msg := newTestMsg(max(n, 64))[:n]
				buf := make([]byte, 52+n, 52+n+16)
				copy(buf[52:], msg)
				tr := SealInPlace(c, buf, 99)
				if &tr[0] != &buf[0] {
					t.Fatal("SealInPlace reallocated despite spare capacity")
				}
				if sid, _ := TransformSessionID(tr); sid != 99 {
					t.Fatalf("session id %d", sid)
				}
				// Seal and SealInPlace interoperate with Open and OpenInPlace.
				got, err := c.Open(nil, tr)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("len %d: Open(SealInPlace): %v", n, err)
				}
				pt, err := OpenInPlace(c, tr)
				if err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("len %d: OpenInPlace(SealInPlace): %v", n, err)
				}
				tr2 := c.Seal(nil, msg, 5)
				pt, err = OpenInPlace(c, tr2)
				if err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("len %d: OpenInPlace(Seal): %v", n, err)
				}
				// Tampering is caught in place too.
				tr3 := c.Seal(nil, msg, 5)
				tr3[len(tr3)-1] ^= 1
				if _, err := OpenInPlace(c, tr3); !errors.Is(err, ErrAuth) {
					t.Fatalf("len %d: tampered: %v", n, err)
				}
			}
			// Without spare capacity SealInPlace still works (it grows).
			buf := make([]byte, 52+10)
			if _, err := c.Open(nil, SealInPlace(c, buf, 1)); err != nil {
				t.Fatal(err)
			}
			for n := range 53 {
				if _, err := OpenInPlace(c, make([]byte, n)); !errors.Is(err, ErrTruncated) {
					t.Fatalf("prefix %d: %v", n, err)
				}
			}
		})
	}
}

func TestInPlaceVectors(t *testing.T) {
	for _, v := range transformVectors {
		c, _ := NewCipher(v.cipher, unhex(t, v.key))
		pt, err := OpenInPlace(c, unhex(t, v.tr))
		if err != nil || !bytes.Equal(pt, unhex(t, v.plain)) {
			t.Errorf("%s: OpenInPlace: %v", v.name, err)
		}
	}
}

func TestKeysClear(t *testing.T) {
	k := DeriveKeys(Dialect311, []byte("0123456789abcdef"), make([]byte, 64), CipherAES128GCM)
	k.Clear()
	for _, b := range [][]byte{k.Signing, k.Encryption, k.Decryption, k.Application} {
		if len(b) != 16 || !bytes.Equal(b, make([]byte, 16)) {
			t.Fatalf("not cleared: %x", b)
		}
	}
}

func BenchmarkOpenInPlace1M(b *testing.B) {
	msg := newTestMsg(1 << 20)
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		tr := c.Seal(nil, msg, 1)
		work := make([]byte, len(tr))
		b.Run(cipherNames[id], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				copy(work, tr)
				if _, err := OpenInPlace(c, work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSealInPlace1M(b *testing.B) {
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		buf := make([]byte, 52+1<<20, 52+1<<20+16)
		b.Run(cipherNames[id], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(1 << 20)
			for b.Loop() {
				buf = SealInPlace(c, buf, 1)
			}
		})
	}
}
