package auth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// RFC 3961 A.1 n-fold vectors.
func TestNFold(t *testing.T) {
	for _, tt := range []struct {
		in   string
		bits int
		want string
	}{
		{"012345", 64, "be072631276b1955"},
		{"password", 56, "78a07b6caf85fa"},
		{"Rough Consensus, and Running Code", 64, "bb6ed30870b7f0e0"},
		{"password", 168, "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{"MASSACHVSETTS INSTITVTE OF TECHNOLOGY", 192, "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{"Q", 168, "518a54a215a8452a518a54a215a8452a518a54a215"},
		{"ba", 168, "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"},
		{"kerberos", 64, "6b65726265726f73"},
		{"kerberos", 128, "6b65726265726f737b9b5b2b93132b93"},
		{"kerberos", 168, "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"},
		{"kerberos", 256, "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"},
	} {
		checkHex(t, tt.in, nfold([]byte(tt.in), tt.bits/8), tt.want)
	}
}

// RFC 3962 Appendix B: AES string-to-key.
func TestStringToKeyAES(t *testing.T) {
	for _, tt := range []struct {
		pass, salt     string
		iter           int
		key128, key256 string
	}{
		{"password", "ATHENA.MIT.EDUraeburn", 1, "42263c6e89f4fc28b8df68ee09799f15",
			"fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"},
		{"password", "ATHENA.MIT.EDUraeburn", 2, "c651bf29e2300ac27fa469d693bdda13",
			"a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"},
		{"password", "ATHENA.MIT.EDUraeburn", 1200, "4c01cd46d632d01e6dbe230a01ed642a",
			"55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"},
		{"password", "\x12\x34\x56\x78\x78\x56\x34\x12", 5, "e9b23d52273747dd5c35cb55be619d8e",
			"97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31"},
		{strings.Repeat("X", 64), "pass phrase equals block size", 1200, "59d1bb789a828b1aa54ef9c2883f69ed",
			"89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34"},
		{strings.Repeat("X", 65), "pass phrase exceeds block size", 1200, "cb8005dc5f90179a7f02104c0018751d",
			"d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b"},
		{"\xf0\x9d\x84\x9e", "EXAMPLE.COMpianist", 50, "f149c1f2e154a73452d43e7fe62a56e5",
			"4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e"},
	} {
		checkHex(t, "aes128 "+tt.salt, stringToKeyAES(tt.pass, tt.salt, tt.iter, 16), tt.key128)
		checkHex(t, "aes256 "+tt.salt, stringToKeyAES(tt.pass, tt.salt, tt.iter, 32), tt.key256)
	}
}

// RFC 3962 Appendix B: AES-CBC with ciphertext stealing, key "chicken teriyaki", zero IV.
func TestCTSVectors(t *testing.T) {
	key := []byte("chicken teriyaki")
	plain := "I would like the General Gau's Chicken, please, and wonton soup."
	for _, tt := range []struct {
		n    int
		want string
	}{
		{17, "c6353568f2bf8cb4d8a580362da7ff7f97"},
		{31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"},
		{32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"},
		{47, "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5"},
		{48, "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8"},
		{64, "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"},
	} {
		p := []byte(plain[:tt.n])
		ct := ctsEncrypt(key, p)
		checkHex(t, "cts", ct, tt.want)
		if got := ctsDecrypt(key, ct); !bytes.Equal(got, p) {
			t.Errorf("ctsDecrypt(%d bytes) = %q", tt.n, got)
		}
	}
	for n := 16; n <= 80; n++ { // every tail length round-trips
		p := bytes.Repeat([]byte{byte(n)}, n)
		if got := ctsDecrypt(key, ctsEncrypt(key, p)); !bytes.Equal(got, p) {
			t.Errorf("round trip of %d bytes", n)
		}
	}
}

// Keys derived by MIT krb5 1.20 (ktutil addent -password, salt "EXAMPLE.COMalice") agree with
// ours; and encryption round-trips and detects tampering.
func TestKrbKeyEncrypt(t *testing.T) {
	for _, etype := range []int32{etypeAES128SHA1, etypeAES256SHA1} {
		k := krbKey{etype, stringToKeyAES("secret", "EXAMPLE.COMalice", 4096, etypeKeyLen(etype))}
		for _, n := range []int{0, 1, 15, 16, 17, 100} {
			plain := bytes.Repeat([]byte{0x5a}, n)
			ct, err := k.encrypt(usageAPRepPart, plain, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct) != 16+n+12 {
				t.Errorf("%d bytes encrypt to %d", n, len(ct))
			}
			got, err := k.decrypt(usageAPRepPart, ct)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s: decrypt %d bytes: %x, %v", etypeName(etype), n, got, err)
			}
			if _, err := k.decrypt(usageTicket, ct); !errors.Is(err, errIntegrity) {
				t.Errorf("wrong usage: %v", err)
			}
			ct[len(ct)/2] ^= 1
			if _, err := k.decrypt(usageAPRepPart, ct); !errors.Is(err, errIntegrity) {
				t.Errorf("tampered: %v", err)
			}
		}
		if _, err := k.decrypt(usageTicket, make([]byte, 27)); err == nil {
			t.Error("short ciphertext accepted")
		}
	}
}
