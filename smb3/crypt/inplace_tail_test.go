package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestOpenInPlaceTail: with spare capacity a GCM message opens where it lies
// (plaintext at msg[52:], no more than 16 bytes of the spare capacity
// written); without it, and for CCM, it opens as OpenInPlace does; a
// tampered message fails with ErrAuth either way, and truncated ones with
// ErrTruncated.
func TestOpenInPlaceTail(t *testing.T) {
	for _, id := range cipherIDs {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			c := newTestCipher(t, id)
			gcm := c.(*transformCipher).gcm != nil
			for _, n := range []int{1, 16, 100, 5000, 1 << 20} {
				msg := newTestMsg(max(n, 64))[:n]
				tr := c.Seal(nil, msg, 7)
				// Spare capacity: 16 bytes for the tag, 16 more that must
				// stay as they are.
				work := make([]byte, len(tr), len(tr)+32)
				copy(work, tr)
				sentinel := work[len(tr)+16 : len(tr)+32]
				for i := range sentinel {
					sentinel[i] = 0xA5
				}
				pt, err := OpenInPlaceTail(c, work)
				if err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("len %d: %v", n, err)
				}
				if gcm && &pt[0] != &work[TransformHeaderSize] {
					t.Fatalf("len %d: GCM plaintext not at msg[52:]", n)
				}
				if !bytes.Equal(sentinel, bytes.Repeat([]byte{0xA5}, 16)) {
					t.Fatalf("len %d: wrote past 16 bytes of spare capacity", n)
				}
				// No spare capacity: the OpenInPlace way.
				exact := append([]byte(nil), tr...)[:len(tr):len(tr)]
				if pt, err := OpenInPlaceTail(c, exact); err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("len %d without spare capacity: %v", n, err)
				}
				for _, at := range []int{4, 20, len(tr) - 1} { // tag, nonce, ciphertext
					bad := make([]byte, len(tr), len(tr)+16)
					copy(bad, tr)
					bad[at] ^= 1
					if _, err := OpenInPlaceTail(c, bad); !errors.Is(err, ErrAuth) {
						t.Fatalf("len %d, byte %d flipped: %v", n, at, err)
					}
				}
			}
			for n := range 53 {
				if _, err := OpenInPlaceTail(c, make([]byte, n, n+16)); !errors.Is(err, ErrTruncated) {
					t.Fatalf("prefix %d: %v", n, err)
				}
			}
		})
	}
}

func BenchmarkOpenInPlaceTail1M(b *testing.B) {
	msg := newTestMsg(1 << 20)
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		tr := c.Seal(nil, msg, 1)
		work := make([]byte, len(tr), len(tr)+tagSize)
		b.Run(cipherNames[id], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				copy(work, tr)
				if _, err := OpenInPlaceTail(c, work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
