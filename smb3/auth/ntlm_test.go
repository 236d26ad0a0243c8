package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s = %x, want %s", name, got, want)
	}
}

// MS-NLMP 4.2.1 common values and 4.2.4 NTLMv2 example.
var (
	specServerChallenge = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	// specTemp is the NTLMv2_CLIENT_CHALLENGE of 4.2.4.1.3/4.2.4.2.2: Time 0, ClientChallenge aa..,
	// AV pairs NbDomainName "Domain", NbComputerName "Server", EOL, then Z(4).
	specTemp = "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000" +
		"02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000 00000000"
	specRandomSessionKey = bytes.Repeat([]byte{0x55}, 16)

	// specChallenge is the CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3.
	specChallenge = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef" +
		"00000000000000002400240044000000060070170000000f5300650072007600" +
		"6500720002000c0044006f006d00610069006e0001000c005300650072007600" +
		"6500720000000000"
	// specAuthenticate is the AUTHENTICATE_MESSAGE of MS-NLMP 4.2.4.3 (no MIC).
	specAuthenticate = `
		4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
		48000000080008005400000010001000 5c00000010001000d8000000358288e2
		0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
		4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
		aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
		00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
		01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
		94ce1ce90bc9d03e`
)

// TestNTLMv2Vectors checks MS-NLMP 4.2.4.1.1 (NTOWFv2), 4.2.4.2.2 (NTProofStr), 4.2.4.1.2
// (SessionBaseKey) and 4.2.4.2.3 (EncryptedRandomSessionKey).
func TestNTLMv2Vectors(t *testing.T) {
	responseKey := ntowfV2(NTHash("Password"), "User", "Domain")
	checkHex(t, "NTOWFv2", responseKey, "0c868a403bfd7a93a3001ef22ef02e3f")
	if k := ntowfV2(NTHash("Password"), "user", "Domain"); !bytes.Equal(k, responseKey) {
		t.Error("NTOWFv2 must uppercase the user name")
	}
	if k := ntowfV2(NTHash("Password"), "User", "DOMAIN"); bytes.Equal(k, responseKey) {
		t.Error("NTOWFv2 must not change the domain's case")
	}
	proof := ntlmV2Proof(responseKey, specServerChallenge, unhex(t, specTemp))
	checkHex(t, "NTProofStr", proof, "68cd0ab851e51c96aabc927bebef6a1c")
	sessionBaseKey := hmacMD5(responseKey, proof)
	checkHex(t, "SessionBaseKey", sessionBaseKey, "8de40ccadbc14a82f15cb0ad0de95ca3")
	checkHex(t, "EncryptedRandomSessionKey", rc4K(sessionBaseKey, specRandomSessionKey), "c5dad2544fc9799094ce1ce90bc9d03e")
}

// TestChallengeGolden encodes the CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3.
func TestChallengeGolden(t *testing.T) {
	var info []byte
	info = appendAVPair(info, avNbDomainName, utf16LE("Domain"))
	info = appendAVPair(info, avNbComputerName, utf16LE("Server"))
	info = appendAVPair(info, avEOL, nil)
	got := appendChallenge(nil, 0xe28a8233, specServerChallenge, [8]byte{6, 0, 0x70, 0x17, 0, 0, 0, 0x0f},
		utf16LE("Server"), info)
	checkHex(t, "CHALLENGE_MESSAGE", got, specChallenge)
}

// specServer returns an NTLM acceptor that has sent the 4.2.4.3 CHALLENGE_MESSAGE.
func specServer(t *testing.T, cfg *Config) *ntlmServer {
	s := newNTLMServer(cfg).(*ntlmServer)
	s.state = ntlmWantAuthenticate
	s.serverChallenge = specServerChallenge
	s.chalFlags = 0xe28a8233
	s.challenge = unhex(t, specChallenge)
	return s
}

func specUsers() *Users {
	u := NewUsers()
	u.Set("user", NTHash("Password"))
	return u
}

// TestAuthenticateSpec runs the whole AUTHENTICATE_MESSAGE of MS-NLMP 4.2.4.3 through the
// acceptor: NTLMv2 verification, key exchange (ExportedSessionKey = RandomSessionKey = 55..55),
// and the 4.2.4.4 sealing and signing keys.
func TestAuthenticateSpec(t *testing.T) {
	s := specServer(t, &Config{Users: specUsers()})
	out, done, err := s.step(unhex(t, specAuthenticate))
	if err != nil || !done || out != nil {
		t.Fatalf("step = %x, %v, %v", out, done, err)
	}
	r := s.result()
	if r.user != "User" || r.domain != "Domain" || r.workstation != "COMPUTER" || r.guest || r.anonymous {
		t.Errorf("result = %+v", r)
	}
	if !bytes.Equal(r.sessionKey, specRandomSessionKey) {
		t.Errorf("exported session key = %x, want 55..55", r.sessionKey)
	}
	checkHex(t, "client signing key", s.sec.clientSign, "4788dc861b4782f35d43fd98fe1a2d39")
	checkHex(t, "client sealing key", sealKey(s.flags, r.sessionKey, magicClientSeal), "59f600973cc4960a25480a7c196e4c58")
	if s.canSign() != true || s.wantMIC() {
		t.Errorf("canSign %v wantMIC %v", s.canSign(), s.wantMIC())
	}

	// Wrong password.
	u := NewUsers()
	u.Set("User", NTHash("password"))
	s = specServer(t, &Config{Users: u})
	if _, _, err := s.step(unhex(t, specAuthenticate)); !errors.Is(err, ErrLogonFailure) {
		t.Errorf("wrong password: err = %v", err)
	}
	// Unknown user, with and without guest.
	s = specServer(t, &Config{Users: NewUsers()})
	if _, _, err := s.step(unhex(t, specAuthenticate)); !errors.Is(err, ErrLogonFailure) {
		t.Errorf("unknown user: err = %v", err)
	}
	s = specServer(t, &Config{Users: NewUsers(), AllowGuest: true})
	if _, done, err := s.step(unhex(t, specAuthenticate)); err != nil || !done || !s.result().guest || s.result().sessionKey != nil {
		t.Errorf("guest: done %v err %v result %+v", done, err, s.result())
	}
}

// TestSealSignSpec checks MS-NLMP 4.2.4.4: sealing "Plaintext" with the client handle and signing
// it with the same handle gives the example's ciphertext and signature.
func TestSealSignSpec(t *testing.T) {
	sec := newNTLMSecurity(0xe2888235, specRandomSessionKey)
	plain := utf16LE("Plaintext")
	sealed := make([]byte, len(plain))
	sec.clientSeal.XORKeyStream(sealed, plain)
	checkHex(t, "sealed", sealed, "54e50165bf1936dc996020c1811b0f06fb5f")
	sig := sec.mac(sec.clientSign, sec.clientSeal, sec.clientSeq, plain)
	checkHex(t, "signature", sig, "010000007fb38ec5c55d497600000000")

	// The server-to-client direction of the same example, as computed by independent
	// implementations (pyspnego/ntlm-auth test data): it uses the other two magic constants.
	sealed2 := make([]byte, len(plain))
	sec.serverSeal.XORKeyStream(sealed2, plain)
	checkHex(t, "server sealed", sealed2, "160871b730ba74e946c453d7465b54278dd0")
	checkHex(t, "server signature", sec.mac(sec.serverSign, sec.serverSeal, sec.serverSeq, plain), "01000000b298b847ce7c580700000000")
}

// TestAuthenticateCaptured verifies a real client's AUTHENTICATE_MESSAGE (published with the
// go-ntlm tests): NTLMv2 without extended session security, key exchange, a long DNS domain.
func TestAuthenticateCaptured(t *testing.T) {
	msg, err := base64.StdEncoding.DecodeString("TlRMTVNTUAADAAAAGAAYALYAAADSANIAzgAAADQANABIAAAAIAAgAHwAAAAaABoAnAAAABAAEACgAQAAVYKQQgUCzg4AAAAPYQByAHIAYQB5ADEAMgAuAG0AcwBnAHQAcwB0AC4AcgBlAHUAdABlAHIAcwAuAGMAbwBtAHUAcwBlAHIAcwB0AHIAZQBzAHMAMQAwADAAMAAwADgATgBZAEMAVgBBADEAMgBTADIAQwBNAFMAQQBPYrLjU4h0YlWZeEoNvTJtBQMnnJuAeUwsP+vGmAHNRBpgZ+4ChQLqAQEAAAAAAACPFEIFjx7OAQUDJ5ybgHlMAAAAAAIADgBSAEUAVQBUAEUAUgBTAAEAHABVAEsAQgBQAC0AQwBCAFQAUgBNAEYARQAwADYABAAWAFIAZQB1AHQAZQByAHMALgBuAGUAdAADADQAdQBrAGIAcAAtAGMAYgB0AHIAbQBmAGUAMAA2AC4AUgBlAHUAdABlAHIAcwAuAG4AZQB0AAUAFgBSAGUAdQB0AGUAcgBzAC4AbgBlAHQAAAAAAAAAAAANuvnqD3K88ZpjkLleL0NW")
	if err != nil {
		t.Fatal(err)
	}
	u := NewUsers()
	u.Set("USERSTRESS100008", NTHash("Welcome1"))
	s := newNTLMServer(&Config{Users: u}).(*ntlmServer)
	s.state = ntlmWantAuthenticate
	copy(s.serverChallenge[:], unhex(t, "3d74b2d04ebe1eb3"))
	s.chalFlags = 0xe2898235 | flagKeyExch | flagSign
	if _, done, err := s.step(msg); err != nil || !done {
		t.Fatalf("done %v err %v", done, err)
	}
	if r := s.result(); r.user != "userstress100008" || r.domain != "array12.msgtst.reuters.com" || r.workstation != "NYCVA12S2CMSA" || len(r.sessionKey) != 16 {
		t.Errorf("result %+v", r)
	}
}

// TestNTLMRejects covers the refusal paths of the acceptor.
func TestNTLMRejects(t *testing.T) {
	auth := unhex(t, specAuthenticate)
	mutate := func(f func(m []byte)) []byte {
		m := bytes.Clone(auth)
		f(m)
		return m
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"proof flipped", mutate(func(m []byte) { m[0x84] ^= 1 }), ErrLogonFailure},
		{"blob flipped", mutate(func(m []byte) { m[0x84+40] ^= 1 }), ErrLogonFailure},
		{"ntlmv1 length", mutate(func(m []byte) { m[20] = 24; m[22] = 24 }), ErrLogonFailure},
		{"short ntlmv2", mutate(func(m []byte) { m[20] = 30; m[22] = 30 }), ErrInvalidToken},
		{"nt past end", mutate(func(m []byte) { m[24] = 0xf0 }), ErrInvalidToken},
		{"field in header", mutate(func(m []byte) { m[16] = 8 }), ErrInvalidToken},
		{"odd user length", mutate(func(m []byte) { m[36] = 7 }), ErrInvalidToken},
		{"key length", mutate(func(m []byte) { m[52] = 8 }), ErrInvalidToken},
		{"bad signature", mutate(func(m []byte) { m[0] = 'X' }), ErrInvalidToken},
		{"bad type", mutate(func(m []byte) { m[8] = 1 }), ErrInvalidToken},
	}
	for _, tt := range tests {
		s := specServer(t, &Config{Users: specUsers()})
		_, done, err := s.step(tt.msg)
		if done || !errors.Is(err, tt.want) {
			t.Errorf("%s: done %v err %v, want %v", tt.name, done, err, tt.want)
		}
	}
}
