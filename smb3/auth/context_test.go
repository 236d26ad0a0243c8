package auth

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// constReader returns an endless stream of one byte, for reproducible server challenges.
type constReader byte

func (r constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

var testNow = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func testConfig() *Config {
	u := NewUsers()
	u.Set("alice", NTHash("secret"))
	u.Set("Bob", NTHash(""))
	return &Config{
		Users:         u,
		NetBIOSName:   "SMB3D",
		NetBIOSDomain: "WORKGROUP",
		DNSName:       "smb3d.example.com",
		DNSDomain:     "example.com",
		Now:           func() time.Time { return testNow },
		Rand:          constReader(0x5a),
	}
}

// run drives a full exchange and returns the context and the last error.
func run(t *testing.T, cfg *Config, c *testClient) (*Context, []byte, error) {
	t.Helper()
	ctx := NewContext(cfg)
	in := c.first()
	for range 4 {
		out, done, err := ctx.Step(in)
		if err != nil || done {
			return ctx, out, err
		}
		if in, err = c.next(out); err != nil {
			t.Fatalf("client: %v", err)
		}
	}
	t.Fatal("exchange did not finish")
	return nil, nil, nil
}

func TestExchange(t *testing.T) {
	empty := ""
	workgroup := "WORKGROUP"
	tests := []struct {
		name    string
		client  testClient
		wantMIC bool // server sends mechListMIC
	}{
		{"samba spnego mic", testClient{flags: sambaFlags, spnego: true, mic: true, mechListMIC: true, sambaLayout: true}, true},
		{"windows spnego mic", testClient{flags: windowsFlags, spnego: true, mic: true, mechListMIC: true, negState: true}, true},
		{"no key exchange", testClient{flags: sambaFlags &^ flagKeyExch, spnego: true, mic: true, mechListMIC: true}, true},
		{"no mic", testClient{flags: sambaFlags, spnego: true}, false},
		{"mechListMIC without NTLM MIC", testClient{flags: sambaFlags, spnego: true, mechListMIC: true}, true},
		{"no sign", testClient{flags: sambaFlags &^ flagSign, spnego: true}, false},
		{"56-bit", testClient{flags: sambaFlags&^flag128 | flag56, spnego: true, mic: true, mechListMIC: true}, true},
		{"no extended session security", testClient{flags: sambaFlags &^ flagExtendedSessionSec, spnego: true, mic: true, mechListMIC: true}, true},
		{"oem", testClient{flags: sambaFlags&^flagUnicode | flagOEM, spnego: true, mic: true, mechListMIC: true}, true},
		{"raw ntlmssp", testClient{flags: windowsFlags, mic: true}, false},
		{"raw ntlmssp no key exchange", testClient{flags: sambaFlags &^ flagKeyExch}, false},
		{"ntlm not first", testClient{flags: sambaFlags, spnego: true, mic: true,
			mechTypes: [][]byte{{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}, oidNTLMSSP}}, true},
		{"ntowf with empty domain", testClient{flags: sambaFlags, spnego: true, mic: true, mechListMIC: true, ntowfDomain: &empty}, true},
		{"ntowf with server domain", testClient{flags: sambaFlags, spnego: true, mic: true, mechListMIC: true, domain: "", ntowfDomain: &workgroup}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			c.user, c.password, c.workstation = "ALICE", "secret", "CLIENT1"
			if c.domain == "" && c.ntowfDomain == nil {
				c.domain = "MYDOMAIN"
			}
			ctx, out, err := run(t, testConfig(), &c)
			if err != nil {
				t.Fatalf("Step: %v", err)
			}
			if err := c.checkFinal(out, tt.wantMIC); err != nil {
				t.Error(err)
			}
			if ctx.User() != "ALICE" || ctx.Domain() != c.domain || ctx.Workstation() != "CLIENT1" || ctx.IsGuest() || ctx.IsAnonymous() {
				t.Errorf("user %q domain %q ws %q guest %v anon %v", ctx.User(), ctx.Domain(), ctx.Workstation(), ctx.IsGuest(), ctx.IsAnonymous())
			}
			if !bytes.Equal(ctx.SessionKey(), c.exportedKey) || len(ctx.SessionKey()) != 16 {
				t.Errorf("SessionKey %x, client's %x", ctx.SessionKey(), c.exportedKey)
			}
			if _, _, err := ctx.Step(out); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Step after done: %v", err)
			}
		})
	}
}

// TestExchangeWaitMIC: the client computes an NTLM MIC but sends its mechListMIC only in a third
// token; the server sends its own first, as Samba does.
func TestExchangeWaitMIC(t *testing.T) {
	c := testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true}
	ctx := NewContext(testConfig())
	out, _, err := ctx.Step(c.first())
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.next(out)
	if err != nil {
		t.Fatal(err)
	}
	out, done, err := ctx.Step(in)
	if err != nil || done {
		t.Fatalf("done %v err %v", done, err)
	}
	_, resp, err := parseNegotiationToken(out)
	if err != nil || resp.state != negStateAcceptIncomplete || resp.mechListMIC == nil {
		t.Fatalf("reply %x: %v", out, err)
	}
	if want := c.sec.mac(c.sec.serverSign, c.sec.serverSeal, c.sec.serverSeq, c.mechTypeList()); !bytes.Equal(resp.mechListMIC, want) {
		t.Errorf("server mechListMIC %x, want %x", resp.mechListMIC, want)
	}
	mic := c.sec.mac(c.sec.clientSign, c.sec.clientSeal, c.sec.clientSeq, c.mechTypeList())
	out, done, err = ctx.Step(appendNegTokenResp(nil, negStateAbsent, nil, nil, mic))
	if err != nil || !done {
		t.Fatalf("done %v err %v", done, err)
	}
	if _, resp, _ := parseNegotiationToken(out); resp == nil || resp.state != negStateAcceptCompleted {
		t.Errorf("final %x", out)
	}
}

func TestExchangeFailures(t *testing.T) {
	reject := appendNegTokenResp(nil, negStateReject, nil, nil, nil)
	tamper := func(pos int) func(b []byte) []byte {
		return func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-pos] ^= 0x80; return b }
	}
	tests := []struct {
		name   string
		cfg    func(*Config)
		client testClient
		edit   func([]byte) []byte // applied to the client's second token
		want   error
	}{
		{"wrong password", nil, testClient{user: "alice", password: "wrong", flags: sambaFlags, spnego: true, mic: true, mechListMIC: true}, nil, ErrLogonFailure},
		{"wrong password raw", nil, testClient{user: "alice", password: "wrong", flags: sambaFlags, mic: true}, nil, ErrLogonFailure},
		{"unknown user", nil, testClient{user: "mallory", password: "x", flags: sambaFlags, spnego: true}, nil, ErrLogonFailure},
		{"ntlmv1", nil, testClient{user: "alice", flags: sambaFlags, spnego: true, ntlmV1: true}, nil, ErrLogonFailure},
		{"anonymous refused", nil, testClient{flags: sambaFlags, spnego: true, anonymous: true}, nil, ErrLogonFailure},
		{"no response, guest refused", nil, testClient{user: "alice", flags: sambaFlags, spnego: true, anonymous: true}, nil, ErrLogonFailure},
		{"lm only", func(c *Config) { c.AllowGuest = true }, testClient{user: "alice", flags: sambaFlags, spnego: true, lmOnly: true}, nil, ErrLogonFailure},
		{"bad mechListMIC", nil, testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true, mechListMIC: true}, tamper(5), ErrLogonFailure}, // a Checksum byte
		{"bad NTLM MIC", nil, testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true}, func(b []byte) []byte {
			b = bytes.Clone(b)
			i := bytes.Index(b, ntlmSignature)
			b[i+80] ^= 1
			return b
		}, ErrLogonFailure},
		{"bad encrypted session key", nil, testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true}, tamper(1), ErrLogonFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			c := tt.client
			ctx := NewContext(cfg)
			out, _, err := ctx.Step(c.first())
			if err != nil {
				t.Fatal(err)
			}
			in, err := c.next(out)
			if err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				in = tt.edit(in)
			}
			out, done, err := ctx.Step(in)
			if done || !errors.Is(err, tt.want) {
				t.Fatalf("done %v err %v, want %v", done, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("error %v has no reason", err)
			}
			if c.spnego && !bytes.Equal(out, reject) {
				t.Errorf("out = %x, want SPNEGO reject", out)
			}
			if !c.spnego && out != nil {
				t.Errorf("raw: out = %x, want nil", out)
			}
			if _, _, err := ctx.Step(in); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Step after failure: %v", err)
			}
		})
	}
}

func TestGuestAndAnonymous(t *testing.T) {
	cfg := testConfig()
	cfg.AllowGuest, cfg.AllowAnonymous = true, true

	c := testClient{user: "nobody", password: "whatever", flags: sambaFlags, spnego: true, mic: true, mechListMIC: true}
	ctx, out, err := run(t, cfg, &c)
	if err != nil || !ctx.IsGuest() || ctx.IsAnonymous() || ctx.SessionKey() != nil || ctx.User() != "nobody" {
		t.Fatalf("guest: err %v guest %v key %x", err, ctx.IsGuest(), ctx.SessionKey())
	}
	if err := c.checkFinal(out, false); err != nil {
		t.Error(err)
	}

	// A known user with a wrong password is refused, not mapped to guest.
	c = testClient{user: "alice", password: "wrong", flags: sambaFlags, spnego: true}
	if _, _, err := run(t, cfg, &c); !errors.Is(err, ErrLogonFailure) {
		t.Errorf("known user, wrong password, guest allowed: %v", err)
	}

	// A known user whose password is empty authenticates normally.
	c = testClient{user: "bob", password: "", flags: sambaFlags, spnego: true, mic: true, mechListMIC: true}
	if ctx, _, err := run(t, cfg, &c); err != nil || ctx.IsGuest() || len(ctx.SessionKey()) != 16 {
		t.Errorf("empty password: err %v guest %v", err, ctx.IsGuest())
	}

	// A known user with no responses at all is a guest; with only an LM response, refused.
	c = testClient{user: "alice", flags: sambaFlags, spnego: true, anonymous: true}
	if ctx, _, err := run(t, cfg, &c); err != nil || !ctx.IsGuest() || ctx.SessionKey() != nil {
		t.Errorf("no response: err %v guest %v", err, ctx.IsGuest())
	}
	c = testClient{user: "alice", flags: sambaFlags, spnego: true, lmOnly: true}
	if _, _, err := run(t, cfg, &c); !errors.Is(err, ErrLogonFailure) {
		t.Errorf("LM only: %v", err)
	}

	c = testClient{flags: sambaFlags, spnego: true, anonymous: true}
	ctx, out, err = run(t, cfg, &c)
	if err != nil || !ctx.IsAnonymous() || ctx.IsGuest() || ctx.SessionKey() != nil || ctx.User() != "" {
		t.Fatalf("anonymous: err %v anon %v", err, ctx.IsAnonymous())
	}
	if err := c.checkFinal(out, false); err != nil {
		t.Error(err)
	}
}

func TestEmptyFirstBuffer(t *testing.T) {
	ctx := NewContext(testConfig())
	out, done, err := ctx.Step(nil)
	if err != nil || done || !bytes.Equal(out, NegTokenInit(testConfig())) {
		t.Fatalf("Step(nil) = %x, %v, %v", out, done, err)
	}
	c := testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true, mechListMIC: true}
	out, _, err = ctx.Step(c.first())
	if err != nil {
		t.Fatal(err)
	}
	in, _ := c.next(out)
	out, done, err = ctx.Step(in)
	if err != nil || !done {
		t.Fatalf("done %v err %v", done, err)
	}
}

func TestUnsupportedMech(t *testing.T) {
	krb5 := []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	ctx := NewContext(testConfig())
	out, done, err := ctx.Step(appendNegTokenInit(nil, [][]byte{krb5}, []byte{1, 2, 3}, false))
	if done || !errors.Is(err, ErrUnsupportedMech) {
		t.Fatalf("done %v err %v", done, err)
	}
	if !bytes.Equal(out, appendNegTokenResp(nil, negStateReject, nil, nil, nil)) {
		t.Errorf("out %x, want reject", out)
	}
}

// TestChallengeMessage checks the CHALLENGE_MESSAGE the acceptor sends for Samba's and Windows'
// NEGOTIATE flags.
func TestChallengeMessage(t *testing.T) {
	for _, tt := range []struct {
		in, want negotiateFlags
	}{
		// UNICODE NTLM ALWAYS_SIGN ESS TARGET_INFO VERSION 128 KEY_EXCH SIGN REQUEST_TARGET + TARGET_TYPE_SERVER.
		{sambaFlags, 0x628a8215},
		// Windows also asks OEM, LM_KEY and 56: OEM and LM_KEY are not granted.
		{windowsFlags, 0xe28a8215},
		{flagUnicode | flagNTLM, 0x00828201},
		{flagOEM | flagNTLM, 0x00828202},
	} {
		c := testClient{flags: tt.in}
		out, _, err := NewContext(testConfig()).Step(c.negotiateMessage())
		if err != nil {
			t.Fatal(err)
		}
		flags, chal, info, err := parseChallenge(out)
		if err != nil {
			t.Fatal(err)
		}
		if flags != tt.want {
			t.Errorf("NEGOTIATE %#08x: CHALLENGE flags %#08x, want %#08x", tt.in, flags, tt.want)
		}
		if chal != [8]byte{0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a} {
			t.Errorf("server challenge %x", chal)
		}
		got := map[avID]string{}
		if err := avPairs(info, func(id avID, v []byte) { got[id] = string(v) }); err != nil {
			t.Fatal(err)
		}
		want := map[avID]string{
			avNbDomainName:    string(utf16LE("WORKGROUP")),
			avNbComputerName:  string(utf16LE("SMB3D")),
			avDNSDomainName:   string(utf16LE("example.com")),
			avDNSComputerName: string(utf16LE("smb3d.example.com")),
			avTimestamp:       string([]byte{0x00, 0x00, 0x8c, 0x22, 0x7c, 0x7d, 0xdd, 0x01}),
		}
		for id, v := range want {
			if got[id] != v {
				t.Errorf("AV pair %d = %x, want %x", id, got[id], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("AV pairs %v", got)
		}
	}
}

// TestChallengeRandom checks that server challenges come from the random source.
func TestChallengeRandom(t *testing.T) {
	cfg := testConfig()
	cfg.Rand = nil
	c := testClient{flags: sambaFlags}
	a, _, _ := NewContext(cfg).Step(c.negotiateMessage())
	b, _, _ := NewContext(cfg).Step(c.negotiateMessage())
	_, ca, _, _ := parseChallenge(a)
	_, cb, _, _ := parseChallenge(b)
	if ca == cb {
		t.Errorf("two challenges are equal: %x", ca)
	}
}

// BenchmarkExchange measures the server side of a full SPNEGO/NTLMv2 logon with MIC and
// mechListMIC (the client's tokens are prepared once).
func BenchmarkExchange(b *testing.B) {
	_, first, second := clientTokens(b)
	cfg := testConfig()
	b.ReportAllocs()
	for b.Loop() {
		ctx := NewContext(cfg)
		if _, _, err := ctx.Step(first[0]); err != nil {
			b.Fatal(err)
		}
		if _, done, err := ctx.Step(second[0]); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

// TestWaitMICFailures: in the extra mechListMIC round, a missing or wrong MIC is refused.
func TestWaitMICFailures(t *testing.T) {
	for _, tt := range []struct {
		name string
		tok  func(mic []byte) []byte
		want error
	}{
		{"missing", func([]byte) []byte { return appendNegTokenResp(nil, negStateAbsent, nil, nil, nil) }, ErrInvalidToken},
		{"wrong", func(mic []byte) []byte {
			mic[5] ^= 1
			return appendNegTokenResp(nil, negStateAbsent, nil, nil, mic)
		}, ErrLogonFailure},
		{"negTokenInit", func([]byte) []byte { return NegTokenInit(nil) }, ErrInvalidToken},
		{"garbage", func([]byte) []byte { return []byte{0xa1, 0x05} }, ErrInvalidToken},
	} {
		c := testClient{user: "alice", password: "secret", flags: sambaFlags, spnego: true, mic: true}
		ctx := NewContext(testConfig())
		out, _, _ := ctx.Step(c.first())
		in, _ := c.next(out)
		if _, done, err := ctx.Step(in); err != nil || done {
			t.Fatalf("%s: done %v err %v", tt.name, done, err)
		}
		mic := c.sec.mac(c.sec.clientSign, c.sec.clientSeal, c.sec.clientSeq, c.mechTypeList())
		_, done, err := ctx.Step(tt.tok(mic))
		if done || !errors.Is(err, tt.want) {
			t.Errorf("%s: done %v err %v, want %v", tt.name, done, err, tt.want)
		}
		if ctx.SessionKey() != nil {
			t.Errorf("%s: session key after failure", tt.name)
		}
	}
}
