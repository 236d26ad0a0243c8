package crypt

import (
	"fmt"
	"testing"
)

func BenchmarkSign64K(b *testing.B) {
	msg := newTestMsg(64 << 10)
	for _, alg := range []struct {
		name string
		id   uint16
	}{{"HMAC-SHA256", SigningHMACSHA256}, {"AES-CMAC", SigningAESCMAC}, {"AES-GMAC", SigningAESGMAC}} {
		s, err := NewSigner(alg.id, make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				s.Sign(msg)
			}
		})
		b.Run(alg.name+"/Verify", func(b *testing.B) {
			sig := s.Sign(msg)
			copy(msg[48:], sig[:])
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if !s.Verify(msg) {
					b.Fatal("verify failed")
				}
			}
			clear(msg[48:64])
		})
	}
}

func BenchmarkSign1K(b *testing.B) {
	msg := newTestMsg(1 << 10)
	for _, id := range []uint16{SigningHMACSHA256, SigningAESCMAC, SigningAESGMAC} {
		s, _ := NewSigner(id, make([]byte, 16))
		b.Run(fmt.Sprint(id), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				s.Sign(msg)
			}
		})
	}
}

var cipherNames = map[uint16]string{
	CipherAES128CCM: "AES-128-CCM", CipherAES128GCM: "AES-128-GCM",
	CipherAES256CCM: "AES-256-CCM", CipherAES256GCM: "AES-256-GCM",
}

func BenchmarkSeal1M(b *testing.B) {
	msg := newTestMsg(1 << 20)
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		b.Run(cipherNames[id], func(b *testing.B) {
			buf := make([]byte, 0, len(msg)+100)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				buf = c.Seal(buf[:0], msg, 1)
			}
		})
	}
}

func BenchmarkOpen1M(b *testing.B) {
	msg := newTestMsg(1 << 20)
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		tr := c.Seal(nil, msg, 1)
		b.Run(cipherNames[id], func(b *testing.B) {
			buf := make([]byte, 0, len(msg)+100)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				var err error
				if buf, err = c.Open(buf[:0], tr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSealSmall(b *testing.B) {
	msg := newTestMsg(200)
	for _, id := range cipherIDs {
		c := newTestCipher(b, id)
		b.Run(cipherNames[id], func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				buf = c.Seal(buf[:0], msg, 1)
			}
		})
	}
}

func BenchmarkPreauthUpdate(b *testing.B) {
	msg := newTestMsg(1024)
	var h PreauthHash
	b.ReportAllocs()
	for b.Loop() {
		h.Update(msg)
	}
}
