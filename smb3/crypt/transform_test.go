package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// Transform vectors: each is a whole transformed message and its plaintext,
// with the key that opens it (and, sealing with the same nonce, produces it).
var transformVectors = []struct {
	name   string
	cipher uint16
	key    string
	tr     string
	plain  string
}{
	// [enc311] Appendix A.1, AES-128-GCM.
	{"enc311 A.1 write request", CipherAES128GCM, "A2F5E80E5D59103034F32E52F698E5EC",
		`FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000
		0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02
		D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4
		4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9
		1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8`,
		`FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000
		25000000001000000000000000000000000000000000000031007000170000000000000000000000
		0600000004000000010000000400000000000000000000007000000000000000536D623320656E63
		72797074696F6E2074657374696E67`},
	{"enc311 A.1 write response", CipherAES128GCM, "748C50868C90F302962A5C35F5F9A8BF",
		`FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000
		00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8
		F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B
		82E03C9E18A050FF0EA1C967`,
		`FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000
		25000000001000000000000000000000000000000000000011000000170000000000000000000000`},
	{"enc311 A.1 read request", CipherAES128GCM, "A2F5E80E5D59103034F32E52F698E5EC",
		`FD534D426DAC0B6FD85A3ED42BB917DA38FE0386D7AA8C6D36859243B715E0A60000000071000000
		000001002500000000100000
		88A47BF09CA3C3141CDD7306BE9D9475AB24FCCB833D77461C041F8FB983D0C188F0729272B31D9D
		3D0DC6B687C069EEE0CC8EACA2C536D019ACC9E185D1EB630E0FCB793EEECEB06D82A1D77706E700
		DBEBFB4FEB54D7AD2D97E7288804F90757FE4D08D6A84A3FF433E7451E768E4699`,
		`FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000
		25000000001000000000000000000000000000000000000031000000170000000000000000000000
		060000000400000001000000040000000000000000000000000000000000000000`},
	{"enc311 A.1 read response", CipherAES128GCM, "748C50868C90F302962A5C35F5F9A8BF",
		`FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000
		000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C
		BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500
		202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A`,
		`FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000
		25000000001000000000000000000000000000000000000011005000170000000000000000000000
		536D623320656E6372797074696F6E2074657374696E67`},
	// [enc311] Appendix A.2, AES-128-CCM.
	{"enc311 A.2 write request", CipherAES128CCM, "DFAAA31AAE40A2485D47AC4DF09FDA1D",
		`FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F000000000087000000
		000001002100000000100000
		56A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381AE8689F973ACDB8D716E4477
		803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6E
		FB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024FE8BA79154F340A82740D1D5
		180C69B0A2DE6A4BA893BD55D3210E`,
		`FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000
		21000000001000000000000000000000000000000000000031007000170000000000000000000000
		0500000004000000010000000400000000000000000000007000000000000000536D623320656E63
		72797074696F6E2074657374696E67`},
	{"enc311 A.2 write response", CipherAES128CCM, "95C544AEF6072680DA1CE49A68A97FA6",
		`FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000
		000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7
		F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E
		13D9120965390E004A96A3F7`,
		`FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000
		21000000001000000000000000000000000000000000000011000000170000000000000000000000`},
	{"enc311 A.2 read request", CipherAES128CCM, "DFAAA31AAE40A2485D47AC4DF09FDA1D",
		`FD534D4235BF9600C841F0CDA9BD1BC3727B7E36A0F92E964EDC3049B86E19000000000071000000
		000001002100000000100000
		C4CCD3EB483A0638E69C99E391E7F64BCC10D6BEE46FEEA258C4BCAF792CB5A6E69283924081806D
		AB64827E9D14A5345D5221AB6DAFCB0E89FC2606B63D92163F4F6C93D1213D86ABF123B93EAD3AEF
		9A3471EFD68A423A00A6E0064D9AE3C842EFFFAD236A3BF25D37F4CD054C97DE18`,
		`FE534D4240000100000000000800010008000000000000000600000000000000FFFE000001000000
		21000000001000000000000000000000000000000000000031000000170000000000000000000000
		050000000400000001000000040000000000000000000000000000000000000000`},
	{"enc311 A.2 read response", CipherAES128CCM, "95C544AEF6072680DA1CE49A68A97FA6",
		`FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000
		00000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606
		BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63
		7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B`,
		`FE534D4240000100000000000800010001000000000000000600000000000000FFFE000001000000
		21000000001000000000000000000000000000000000000011005000170000000000000000000000
		536D623320656E6372797074696F6E2074657374696E67`},
	// [enc30] SMB 3.0, AES-128-CCM; the 16-byte Nonce field carries more than
	// the 11 nonce bytes, and all 16 are authenticated.
	{"enc30 write request", CipherAES128CCM, "261B72350558F2E9DCF613070383EDBF",
		`FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A
		744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5
		2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4
		4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5
		AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6
		C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB`,
		`FE534D4240000100000000000900400008000000000000000400000000000000
		FFFE0000010000001100001400E4080000000000000000000000000000000000
		3100700017000000000000000000000015010000390000020100000039020000
		00000000000000007000000000000000536D623320656E6372797074696F6E20
		74657374696E67`},
	{"enc30 write response", CipherAES128CCM, "8FE2B57EC34D2DB5B1A9727F526BBDB5",
		`FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014
		00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079
		E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787
		1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1
		77309E5B`,
		`FE534D4240000100000000000900210009000000000000000400000000000000
		FFFE0000010000001100001400E4080000000000000000000000000000000000
		11000000170000000000000000000000`},
}

// sealWithHeader seals msg under the given transform header's nonce, size,
// flags and session id (its Signature is ignored), as Seal would with that
// nonce.
func sealWithHeader(c Cipher, hdr, msg []byte) []byte {
	out := make([]byte, TransformHeaderSize+len(msg), TransformHeaderSize+len(msg)+tagSize)
	copy(out, hdr[:TransformHeaderSize])
	clear(out[thSignature : thSignature+tagSize])
	c.(*transformCipher).seal(out, msg)
	return out
}

func TestTransformVectors(t *testing.T) {
	for _, v := range transformVectors {
		t.Run(v.name, func(t *testing.T) {
			c, err := NewCipher(v.cipher, unhex(t, v.key))
			if err != nil {
				t.Fatal(err)
			}
			tr, plain := unhex(t, v.tr), unhex(t, v.plain)
			got, err := c.Open([]byte("prefix"), tr)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, append([]byte("prefix"), plain...)) {
				t.Fatalf("Open = %X\nwant %X", got, plain)
			}
			if sealed := sealWithHeader(c, tr, plain); !bytes.Equal(sealed, tr) {
				t.Fatalf("seal = %X\nwant %X", sealed, tr)
			}
			sid, err := TransformSessionID(tr)
			if err != nil || sid != binary.LittleEndian.Uint64(tr[44:]) {
				t.Fatalf("TransformSessionID = %#x, %v", sid, err)
			}
		})
	}
}

var cipherIDs = []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM}

func newTestCipher(t testing.TB, id uint16) Cipher {
	key := make([]byte, KeySize(id))
	rand.Read(key)
	c, err := NewCipher(id, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, id := range cipherIDs {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			c := newTestCipher(t, id)
			if c.Overhead() != 52 {
				t.Fatalf("Overhead = %d", c.Overhead())
			}
			for _, n := range []int{1, 15, 16, 17, 64, 1000, 4096, 65536 + 3, 1 << 20} {
				msg := newTestMsg(max(n, 64))[:n]
				pre := []byte{1, 2, 3}
				sealed := c.Seal(bytes.Clone(pre), msg, 0x1122334455667788)
				if !bytes.Equal(sealed[:3], pre) || len(sealed) != 3+52+n {
					t.Fatalf("len %d: bad Seal output length %d", n, len(sealed))
				}
				tr := sealed[3:]
				if !IsTransform(tr) || binary.LittleEndian.Uint32(tr[36:]) != uint32(n) ||
					binary.LittleEndian.Uint16(tr[42:]) != 1 || binary.LittleEndian.Uint16(tr[40:]) != 0 {
					t.Fatalf("len %d: bad header %X", n, tr[:52])
				}
				if sid, _ := TransformSessionID(tr); sid != 0x1122334455667788 {
					t.Fatalf("session id %#x", sid)
				}
				// Unused nonce bytes are zero.
				if ns := map[bool]int{true: 11, false: 12}[id == CipherAES128CCM || id == CipherAES256CCM]; !bytes.Equal(tr[20+ns:36], make([]byte, 16-ns)) {
					t.Fatalf("nonce padding not zero: %X", tr[20:36])
				}
				if n >= 16 && bytes.Contains(tr, msg[:16]) {
					t.Fatalf("len %d: plaintext visible in output", n)
				}
				got, err := c.Open(nil, tr)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("len %d: Open: %v", n, err)
				}
				// A different key must fail.
				if _, err := newTestCipher(t, id).Open(nil, tr); !errors.Is(err, ErrAuth) {
					t.Fatalf("len %d: other key: %v", n, err)
				}
			}
		})
	}
}

// TestOpenTamper flips every bit position's byte of a sealed message; each
// must be rejected with a specific error.
func TestOpenTamper(t *testing.T) {
	for _, id := range cipherIDs {
		c := newTestCipher(t, id)
		msg := newTestMsg(100)
		tr := c.Seal(nil, msg, 42)
		for i := range tr {
			for _, bit := range []byte{0x01, 0x80} {
				tr[i] ^= bit
				dst := []byte("keep")
				got, err := c.Open(dst, tr)
				tr[i] ^= bit
				var want error
				switch {
				case i < 4:
					want = ErrBadProtocolID
				case i >= 36 && i < 40:
					want = ErrBadSize
				case i >= 42 && i < 44:
					want = ErrBadFlags
				default:
					want = ErrAuth
				}
				if !errors.Is(err, want) {
					t.Fatalf("cipher %d byte %d: err %v, want %v", id, i, err, want)
				}
				if string(got) != "keep" {
					t.Fatalf("cipher %d byte %d: dst changed to %q", id, i, got)
				}
			}
		}
		if _, err := c.Open(nil, tr); err != nil {
			t.Fatalf("cipher %d: untampered: %v", id, err)
		}
	}
}

func TestOpenTruncated(t *testing.T) {
	for _, id := range cipherIDs {
		c := newTestCipher(t, id)
		tr := c.Seal(nil, newTestMsg(80), 7)
		for n := range len(tr) {
			_, err := c.Open(nil, tr[:n])
			if err == nil {
				t.Fatalf("cipher %d: prefix %d accepted", id, n)
			}
			if n <= 52 && !errors.Is(err, ErrTruncated) {
				t.Fatalf("cipher %d: prefix %d: %v, want ErrTruncated", id, n, err)
			}
			if _, err := TransformSessionID(tr[:n]); n <= 52 && !errors.Is(err, ErrTruncated) {
				t.Fatalf("TransformSessionID prefix %d: %v", n, err)
			}
		}
		// Extra trailing bytes are a size mismatch too.
		if _, err := c.Open(nil, append(bytes.Clone(tr), 0)); !errors.Is(err, ErrBadSize) {
			t.Fatalf("cipher %d: trailing byte: %v", id, err)
		}
	}
	if _, err := TransformSessionID(append([]byte{0xFE, 'S', 'M', 'B'}, make([]byte, 60)...)); !errors.Is(err, ErrBadProtocolID) {
		t.Fatalf("TransformSessionID on an SMB2 header: %v", err)
	}
}

func TestNoncesDistinct(t *testing.T) {
	for _, id := range cipherIDs {
		c := newTestCipher(t, id)
		seen := map[[16]byte]bool{}
		msg := newTestMsg(64)
		var buf []byte
		for i := range 20000 {
			buf = c.Seal(buf[:0], msg, 1)
			n := [16]byte(buf[20:36])
			if seen[n] {
				t.Fatalf("cipher %d: nonce %X repeated after %d messages", id, n, i)
			}
			seen[n] = true
		}
		// A second Cipher for the same key starts elsewhere (random prefix).
		c2 := newTestCipher(t, id)
		if n := [16]byte(c2.Seal(nil, msg, 1)[20:36]); seen[n] {
			t.Fatalf("cipher %d: second Cipher repeated a nonce", id)
		}
	}
}

func TestNewCipherErrors(t *testing.T) {
	if _, err := NewCipher(0, make([]byte, 16)); !errors.Is(err, ErrUnsupported) {
		t.Error(err)
	}
	if _, err := NewCipher(5, make([]byte, 16)); !errors.Is(err, ErrUnsupported) {
		t.Error(err)
	}
	for _, id := range cipherIDs {
		for _, n := range []int{0, 15, 24, 31, 33} {
			if n == KeySize(id) {
				continue
			}
			if _, err := NewCipher(id, make([]byte, n)); !errors.Is(err, ErrKeySize) {
				t.Errorf("cipher %d key %d: %v", id, n, err)
			}
		}
	}
}

// TestConcurrentSeal runs Seal/Open from several goroutines on one Cipher
// (run with -race).
func TestConcurrentSeal(t *testing.T) {
	for _, id := range cipherIDs {
		c := newTestCipher(t, id)
		done := make(chan error)
		for g := range 4 {
			go func() {
				msg := newTestMsg(5000 + g)
				var buf, pt []byte
				for range 50 {
					buf = c.Seal(buf[:0], msg, uint64(g))
					var err error
					pt, err = c.Open(pt[:0], buf)
					if err != nil || !bytes.Equal(pt, msg) {
						done <- fmt.Errorf("cipher %d: %v", id, err)
						return
					}
				}
				done <- nil
			}()
		}
		for range 4 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
}
