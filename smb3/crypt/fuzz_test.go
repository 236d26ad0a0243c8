package crypt

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open for every cipher, with a fixed key.
// Open must never panic, must fail with one of this package's errors and
// leave dst alone, and anything it accepts must re-seal to the same bytes.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{0x5a}, 32)
	ciphers := map[uint16]Cipher{}
	for _, id := range cipherIDs {
		c, err := NewCipher(id, key[:KeySize(id)])
		if err != nil {
			f.Fatal(err)
		}
		ciphers[id] = c
		// Seeds: valid messages from the encoder, for each cipher.
		f.Add(uint8(id), c.Seal(nil, []byte("hello, transform"), 1))
		f.Add(uint8(id), c.Seal(nil, bytes.Repeat([]byte{1}, 200), 2))
	}
	for _, v := range transformVectors {
		f.Add(uint8(v.cipher), unhex(f, v.tr))
	}
	f.Add(uint8(1), []byte{})
	f.Add(uint8(2), []byte{0xFD, 'S', 'M', 'B'})
	f.Fuzz(func(t *testing.T, sel uint8, msg []byte) {
		id := cipherIDs[int(sel)%len(cipherIDs)]
		c := ciphers[id]
		orig := bytes.Clone(msg)
		dst := []byte("dst")
		got, err := c.Open(dst, msg)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("foreign error %v", err)
			}
			if string(got) != "dst" {
				t.Fatalf("dst changed on error: %q", got)
			}
			return
		}
		if !bytes.HasPrefix(got, []byte("dst")) || len(got) != 3+len(msg)-52 {
			t.Fatalf("bad output length %d for input %d", len(got), len(msg))
		}
		if resealed := sealWithHeader(c, msg, got[3:]); !bytes.Equal(resealed, msg) {
			t.Fatal("accepted message does not re-seal to itself")
		}
	})
}

// FuzzVerify feeds arbitrary messages to Verify of every signer. Verify must
// never panic, must leave the message as it was, and must accept a message
// after its own signature has been put in.
func FuzzVerify(f *testing.F) {
	key := bytes.Repeat([]byte{0xa5}, 16)
	var signers []Signer
	for _, alg := range []uint16{SigningHMACSHA256, SigningAESCMAC, SigningAESGMAC} {
		s, err := NewSigner(alg, key)
		if err != nil {
			f.Fatal(err)
		}
		signers = append(signers, s)
	}
	for _, v := range cmacVectors {
		f.Add(uint8(1), unhex(f, v.msg))
	}
	f.Add(uint8(0), make([]byte, 64))
	f.Add(uint8(2), make([]byte, 63))
	f.Add(uint8(2), []byte{})
	f.Fuzz(func(t *testing.T, sel uint8, msg []byte) {
		s := signers[int(sel)%len(signers)]
		orig := bytes.Clone(msg)
		ok := s.Verify(msg)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Verify modified the message")
		}
		if len(msg) < 64 {
			if ok {
				t.Fatal("Verify accepted a message shorter than the header")
			}
			return
		}
		clear(msg[48:64])
		sig := s.Sign(msg)
		copy(msg[48:64], sig[:])
		if !s.Verify(msg) {
			t.Fatal("Verify rejected a freshly signed message")
		}
		if ok != bytes.Equal(orig[48:64], sig[:]) {
			t.Fatal("Verify result disagrees with Sign")
		}
	})
}
