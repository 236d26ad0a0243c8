package rpc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// unhexT decodes hex with spaces, newlines and // comments.
func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

func checkBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// testShares is the share list the tests use.
var testShares = ShareListerFunc(func() []Share {
	return []Share{
		{Name: "IPC$", Type: STypeIPC | STypeSpecial, Comment: "IPC Service"},
		{Name: "share", Type: STypeDiskTree, Comment: "c", Path: `C:\srv\share`},
	}
})

func testConfig(admin bool) *Config {
	return &Config{Shares: testShares, ServerName: "SMB3D", Domain: "WORKGROUP", Comment: "smb3d", Admin: admin}
}

// bindFor is a client bind for syntax with NDR, NDR64 and bind time
// feature negotiation contexts, as Windows sends them.
func bindFor(syntax SyntaxID, maxFrag uint16) []byte {
	btfn := bindTimeFeaturePrefix
	btfn[8] = featureSecurityContextMultiplexing | featureKeepConnectionOnOrphan
	bd := Bind{
		CallID: 1, MaxXmitFrag: maxFrag, MaxRecvFrag: maxFrag, AssocGroupID: 0x12345678,
		Contexts: []ContextElem{
			{ContextID: 0, AbstractSyntax: syntax, TransferSyntaxes: []SyntaxID{SyntaxNDR}},
			{ContextID: 1, AbstractSyntax: syntax, TransferSyntaxes: []SyntaxID{SyntaxNDR64}},
			{ContextID: 2, AbstractSyntax: syntax, TransferSyntaxes: []SyntaxID{{UUID: btfn, Version: 1}}},
		},
	}
	return bd.Append(nil, PTypeBind)
}

// testClient drives a Pipe as a client would.
type testClient struct {
	t      testing.TB
	p      *Pipe
	callID uint32
	frag   int // request fragment stub size; 0: one fragment
}

func newTestClient(t testing.TB, name string, cfg *Config, syntax SyntaxID, maxFrag uint16) *testClient {
	t.Helper()
	p, ok := NewPipe(name, cfg)
	if !ok {
		t.Fatalf("NewPipe(%q) failed", name)
	}
	c := &testClient{t: t, p: p, callID: 1}
	if err := p.Write(bindFor(syntax, maxFrag)); err != nil {
		t.Fatal(err)
	}
	ack := c.readPDU()
	if ack.PType() != PTypeBindAck {
		t.Fatalf("bind answered with type %d", ack.PType())
	}
	return c
}

// readPDU reads one whole PDU from the pipe, in small reads to exercise
// STATUS_BUFFER_OVERFLOW-style partial reads.
func (c *testClient) readPDU() Header {
	c.t.Helper()
	var msg []byte
	for {
		b, more := c.p.Read(100)
		if b == nil && !more && msg == nil {
			c.t.Fatal("nothing to read")
		}
		msg = append(msg, b...)
		if !more {
			break
		}
	}
	h := Header(msg)
	if err := h.Validate(); err != nil {
		c.t.Fatalf("server PDU: %v", err)
	}
	if int(h.FragLength()) != len(msg) {
		c.t.Fatalf("message of %d bytes holds a PDU of %d", len(msg), h.FragLength())
	}
	return h
}

// call sends one request and returns the reassembled response stub, or
// the fault status.
func (c *testClient) call(opnum uint16, stub []byte) ([]byte, FaultStatus) {
	c.t.Helper()
	c.callID++
	room := len(stub)
	if c.frag > 0 {
		room = c.frag
	}
	for off := 0; ; {
		n := min(room, len(stub)-off)
		var flags uint8
		if off == 0 {
			flags |= pfcFirstFrag
		}
		if off+n == len(stub) {
			flags |= pfcLastFrag
		}
		if err := c.p.Write(AppendRequest(nil, flags, c.callID, uint32(len(stub)-off), 0, opnum, stub[off:off+n])); err != nil {
			c.t.Fatal(err)
		}
		off += n
		if off == len(stub) {
			break
		}
	}
	var out []byte
	for first := true; ; first = false {
		h := c.readPDU()
		if h.CallID() != c.callID {
			c.t.Fatalf("call id %d, want %d", h.CallID(), c.callID)
		}
		if h.PType() == PTypeFault {
			st, err := FaultStatusOf(h)
			if err != nil {
				c.t.Fatal(err)
			}
			return nil, st
		}
		if h.PType() != PTypeResponse {
			c.t.Fatalf("answer type %d", h.PType())
		}
		r := Response(h)
		if err := r.Validate(); err != nil {
			c.t.Fatal(err)
		}
		if first != (h.Flags()&pfcFirstFrag != 0) {
			c.t.Fatalf("fragment flags %#x", h.Flags())
		}
		if int(h.FragLength()) > int(c.p.maxXmit) {
			c.t.Fatalf("fragment of %d bytes, max_xmit_frag %d", h.FragLength(), c.p.maxXmit)
		}
		out = append(out, r.Stub()...)
		if h.Flags()&pfcLastFrag != 0 {
			return out, 0
		}
	}
}

// truncations checks that every strict prefix of b fails decode with an
// error, and never panics.
func truncations(t *testing.T, b []byte, decode func([]byte) error) {
	t.Helper()
	for i := range len(b) {
		if err := decode(b[:i]); err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("prefix %d: unexpected error type %T %v", i, err, err)
			}
		}
	}
}
