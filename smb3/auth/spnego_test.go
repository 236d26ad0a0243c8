package auth

import (
	"bytes"
	"errors"
	"testing"
)

// negTokenInitGolden is the NegTokenInit2 Samba's smbd sends in its NEGOTIATE response when
// NTLMSSP is its only mechanism (and the layout of Windows' with a shorter mechTypes list):
//
//	60 48                    [APPLICATION 0]
//	  06 06 2b0601050502     SPNEGO 1.3.6.1.5.5.2
//	  a0 3e 30 3c            NegTokenInit2
//	    a0 0e 30 0c 06 0a 2b06010401823702020a    mechTypes: NTLMSSP 1.3.6.1.4.1.311.2.2.10
//	    a3 2a 30 28 a0 26 1b 24 "not_defined_in_RFC4178@please_ignore"   negHints.hintName
const negTokenInitGolden = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b24" +
	"6e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"

func TestNegTokenInitGolden(t *testing.T) {
	got := NegTokenInit(&Config{})
	checkHex(t, "NegTokenInit", got, negTokenInitGolden)
	init, resp, err := parseNegotiationToken(got)
	if err != nil || resp != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(init.mechTypes) != 1 || !bytes.Equal(init.mechTypes[0], oidNTLMSSP) || init.mechToken != nil {
		t.Errorf("parsed %+v", init)
	}
	checkHex(t, "mechTypeList", init.mechTypeList, "300c060a2b06010401823702020a")
}

func TestNegTokenRespRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 300) // a long-form length
	for _, tt := range []struct {
		state          negState
		mech, tok, mic []byte
		golden         string
	}{
		{negStateAcceptCompleted, nil, nil, nil, "a1073005a0030a0100"},
		{negStateReject, nil, nil, nil, "a1073005a0030a0102"},
		{negStateAcceptIncomplete, oidNTLMSSP, []byte{1, 2}, nil, "a11b3019a0030a0101a10c060a2b06010401823702020aa2040402" + "0102"},
		{negStateAcceptCompleted, nil, nil, make([]byte, 16), "a11b3019a0030a0100a3120410" + "00000000000000000000000000000000"},
		{negStateAbsent, nil, long, []byte{9}, ""},
	} {
		b := appendNegTokenResp(nil, tt.state, tt.mech, tt.tok, tt.mic)
		if tt.golden != "" {
			checkHex(t, "NegTokenResp", b, tt.golden)
		}
		init, r, err := parseNegotiationToken(b)
		if err != nil || init != nil {
			t.Fatalf("parse %x: %v", b, err)
		}
		if r.state != tt.state || !bytes.Equal(r.supportedMech, tt.mech) || !bytes.Equal(r.responseToken, tt.tok) || !bytes.Equal(r.mechListMIC, tt.mic) ||
			(r.responseToken == nil) != (tt.tok == nil) || (r.mechListMIC == nil) != (tt.mic == nil) {
			t.Errorf("round trip of %x: %+v", b, r)
		}
	}
}

func TestSPNEGOMalformed(t *testing.T) {
	for _, tt := range []struct {
		name, hex string
		want      error
	}{
		{"empty sequence init", "6008" + "06062b0601050502" + "", ErrInvalidToken},
		{"wrong oid", "6008" + "0606" + "2b0601050503", ErrUnsupportedMech},
		{"no mechTypes", "600e06062b0601050502" + "a0043002a100", ErrInvalidToken},
		{"indefinite length", "6080", ErrInvalidToken},
		{"huge length", "6084ffffffff", ErrInvalidToken},
		{"high tag", "7f01", ErrInvalidToken},
		{"fields out of order", "a10a3008a2030401" + "00a0010a", ErrInvalidToken},
		{"negState too big", "a1073005a0030a0104", ErrInvalidToken},
		{"negState wrong type", "a1073005a0030201" + "00", ErrInvalidToken},
		{"not a sequence", "a1053103a00100", ErrInvalidToken},
		{"other choice", "a2023000", ErrInvalidToken},
	} {
		_, _, err := parseNegotiationToken(unhex(t, tt.hex))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

// clientTokens returns the tokens a client sends in an exchange against testConfig, with the
// context that received all but the last of them, for each client shape.
func clientTokens(t testing.TB) (names []string, first [][]byte, second [][]byte) {
	shapes := []struct {
		name string
		c    testClient
	}{
		{"spnego", testClient{flags: sambaFlags, spnego: true, mic: true, mechListMIC: true, sambaLayout: true}},
		{"spnego-windows", testClient{flags: windowsFlags, spnego: true, mic: true, mechListMIC: true, negState: true}},
		{"raw", testClient{flags: windowsFlags, mic: true}},
		{"raw-no-keyexch", testClient{flags: sambaFlags &^ flagKeyExch}},
	}
	for _, s := range shapes {
		c := s.c
		c.user, c.domain, c.password, c.workstation = "alice", "WORKGROUP", "secret", "CLIENT1"
		ctx := NewContext(testConfig())
		in := c.first()
		out, _, err := ctx.Step(in)
		if err != nil {
			t.Fatal(err)
		}
		in2, err := c.next(out)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, s.name)
		first = append(first, in)
		second = append(second, in2)
	}
	return
}

// contextAfterFirst returns a context that has answered first.
func contextAfterFirst(t testing.TB, first []byte) *Context {
	ctx := NewContext(testConfig())
	if _, _, err := ctx.Step(first); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestTruncated feeds every proper prefix of every client message; each must fail with
// ErrInvalidToken, and the whole message must still succeed.
func TestTruncated(t *testing.T) {
	names, first, second := clientTokens(t)
	for i, name := range names {
		for n := 1; n < len(first[i]); n++ {
			_, _, err := NewContext(testConfig()).Step(first[i][:n])
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrUnsupportedMech) {
				t.Errorf("%s: first token cut to %d/%d: err %v", name, n, len(first[i]), err)
			}
		}
		for n := 0; n < len(second[i]); n++ {
			_, done, err := contextAfterFirst(t, first[i]).Step(second[i][:n])
			if done || !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: second token cut to %d/%d: done %v err %v", name, n, len(second[i]), done, err)
			}
		}
		if _, done, err := contextAfterFirst(t, first[i]).Step(second[i]); !done || err != nil {
			t.Errorf("%s: whole exchange: done %v err %v", name, done, err)
		}
	}
}

// FuzzStepFirst fuzzes a context's first token.
func FuzzStepFirst(f *testing.F) {
	_, first, _ := clientTokens(f)
	for _, b := range first {
		f.Add(b)
	}
	f.Add(NegTokenInit(&Config{}))
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx := NewContext(testConfig())
		out, done, err := ctx.Step(in)
		if done {
			t.Fatalf("first token completed authentication")
		}
		if err == nil && out == nil {
			t.Fatalf("no error and no reply")
		}
	})
}

// FuzzStepSecond fuzzes the token after the CHALLENGE (the AUTHENTICATE message), for each client
// shape. Nothing but the real message may authenticate.
func FuzzStepSecond(f *testing.F) {
	_, first, second := clientTokens(f)
	for i, b := range second {
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, shape uint8, in []byte) {
		i := int(shape) % len(first)
		ctx := contextAfterFirst(t, first[i])
		_, done, err := ctx.Step(in)
		if done && err != nil {
			t.Fatalf("done with error %v", err)
		}
		if done && !ctx.IsGuest() && !ctx.IsAnonymous() && len(ctx.SessionKey()) != 16 {
			t.Fatalf("authenticated without a session key")
		}
	})
}
