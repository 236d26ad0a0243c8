package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
)

// Signed final SESSION_SETUP responses (AES-128-CMAC) from the blogs; the
// signature is in the message at bytes 48:64.
var cmacVectors = []struct {
	name, key, msg string
}{
	{"anatomy 3.1.1 channel 1", "73FE7A9A77BEF0BDE49C650D8CCB5F76",
		`FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000
		1900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00A11B3019A0030A01
		00A3120410010000003B453CDC3524164200000000`},
	{"anatomy 3.1.1 channel 2 (binding, Channel.SigningKey)", "C962BCA1A9DD1697B030644199705431",
		`FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000
		19000000001000008D604217FFBACF40635BF9D8729921500900000048001D00A11B3019A0030A01
		00A312041001000000CFB046FC5D368E2200000000`},
	{"enc311 A.1", "8765949DFEAEE105CE9118B45BE988F0",
		`FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000
		25000000001000006B85A4519A0F3EEA35BA946DD3AFE6B80900000048001D00A11B3019A0030A01
		00A3120410010000003932A87523AB660100000000`},
	{"enc311 A.2", "3DCC82C5795AE27F383242761078C59B",
		`FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000
		21000000001000003676196AEE8CA17E5D50A53642EF2BE40900000048001D00A11B3019A0030A01
		00A3120410010000000F57444342A2717E00000000`},
}

func TestCMACSignVectors(t *testing.T) {
	for _, v := range cmacVectors {
		t.Run(v.name, func(t *testing.T) {
			s, err := NewSigner(SigningAESCMAC, unhex(t, v.key))
			if err != nil {
				t.Fatal(err)
			}
			msg := unhex(t, v.msg)
			orig := bytes.Clone(msg)
			if !s.Verify(msg) {
				t.Fatal("Verify rejected the blog's signature")
			}
			if !bytes.Equal(msg, orig) {
				t.Fatal("Verify did not restore the message")
			}
			z := bytes.Clone(msg)
			clear(z[48:64])
			if sig := s.Sign(z); !bytes.Equal(sig[:], msg[48:64]) {
				t.Fatalf("Sign = %X, want %X", sig, msg[48:64])
			}
		})
	}
}

func newTestMsg(n int) []byte {
	msg := make([]byte, n)
	rand.Read(msg)
	copy(msg, []byte{0xFE, 'S', 'M', 'B'})
	clear(msg[48:64])
	return msg
}

func allSigners(t testing.TB) map[string]Signer {
	key := make([]byte, 16)
	rand.Read(key)
	m := map[string]Signer{}
	for name, alg := range map[string]uint16{"HMAC-SHA256": SigningHMACSHA256, "AES-CMAC": SigningAESCMAC, "AES-GMAC": SigningAESGMAC} {
		s, err := NewSigner(alg, key)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = s
	}
	return m
}

func TestSignVerifyTamper(t *testing.T) {
	for name, s := range allSigners(t) {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{64, 65, 100, 4096 + 7} {
				msg := newTestMsg(n)
				sig := s.Sign(msg)
				copy(msg[48:], sig[:])
				if !s.Verify(msg) {
					t.Fatalf("len %d: Verify rejected own signature", n)
				}
				if n > 200 {
					continue
				}
				for i := range msg {
					msg[i] ^= 0x01
					if s.Verify(msg) {
						t.Fatalf("len %d: Verify accepted a flip at byte %d", n, i)
					}
					msg[i] ^= 0x01
				}
				if !s.Verify(msg) {
					t.Fatal("Verify changed the message")
				}
				if s.Verify(msg[:n-1]) {
					t.Fatal("Verify accepted a truncated message")
				}
			}
			for n := range 64 {
				if s.Verify(make([]byte, n)) {
					t.Fatalf("Verify accepted %d-byte message", n)
				}
				_ = s.Sign(make([]byte, n)) // must not panic
			}
		})
	}
}

// TestHMACSigner: SMB 2.x signatures are the first 16 bytes of HMAC-SHA256.
func TestHMACSigner(t *testing.T) {
	key := []byte("0123456789abcdef")
	s, _ := NewSigner(SigningHMACSHA256, key)
	msg := newTestMsg(300)
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	if got, want := s.Sign(msg), m.Sum(nil)[:16]; !bytes.Equal(got[:], want) {
		t.Fatalf("Sign = %x, want %x", got, want)
	}
}

// TestGMACNonce checks the MS-SMB2 3.1.4.1 nonce: MessageId, then bit 0 for
// SMB2_FLAGS_SERVER_TO_REDIR and bit 1 for CANCEL; and that the signature is
// the GCM tag of an empty plaintext with the message as AAD.
func TestGMACNonce(t *testing.T) {
	key := unhex(t, "000102030405060708090a0b0c0d0e0f")
	s, _ := NewSigner(SigningAESGMAC, key)
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(b)
	for _, tc := range []struct {
		flags uint32
		cmd   uint16
		word  uint32
	}{
		{0, 0x0005, 0},
		{1, 0x0005, 1},
		{0x9, 0x0005, 1}, // SIGNED doesn't matter
		{0, cmdCancel, 2},
		{1, cmdCancel, 3},
		{0x8, cmdCancel, 2},
	} {
		msg := newTestMsg(120)
		binary.LittleEndian.PutUint32(msg[16:], tc.flags)
		binary.LittleEndian.PutUint16(msg[12:], tc.cmd)
		binary.LittleEndian.PutUint64(msg[24:], 0x1122334455667788)
		nonce := make([]byte, 12)
		binary.LittleEndian.PutUint64(nonce, 0x1122334455667788)
		binary.LittleEndian.PutUint32(nonce[8:], tc.word)
		want := g.Seal(nil, nonce, nil, msg)
		if got := s.Sign(msg); !bytes.Equal(got[:], want) {
			t.Errorf("flags %#x cmd %#x: Sign = %x, want %x", tc.flags, tc.cmd, got, want)
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	if _, err := NewSigner(7, make([]byte, 16)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown alg: %v", err)
	}
	for _, alg := range []uint16{SigningAESCMAC, SigningAESGMAC} {
		for _, n := range []int{0, 15, 17, 32} {
			if _, err := NewSigner(alg, make([]byte, n)); !errors.Is(err, ErrKeySize) {
				t.Errorf("alg %d key %d: %v", alg, n, err)
			}
		}
	}
	if _, err := NewSigner(SigningHMACSHA256, nil); !errors.Is(err, ErrKeySize) {
		t.Errorf("empty HMAC key: %v", err)
	}
}
