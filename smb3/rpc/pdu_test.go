package rpc

import (
	"bytes"
	"errors"
	"testing"
)

func TestUUIDWire(t *testing.T) {
	// The NDR transfer syntax as it appears in every bind (C706 appendix I).
	checkBytes(t, "NDR", SyntaxNDR.UUID[:], unhexT(t, "045d888aeb1cc9119fe808002b104860"))
	if s := SyntaxSrvsvc.UUID.String(); s != "4b324fc8-1670-01d3-1278-5a47bf6ee188" {
		t.Fatalf("String() = %s", s)
	}
}

// goldenBind is a bind for srvsvc 3.0 offering NDR, NDR64 and bind time
// feature negotiation (features 0x03), hand-assembled from C706 12.6.4.3
// and MS-RPCE 2.2.2.14, in the shape Windows clients send.
const goldenBind = `
05 00 0b 03 10 00 00 00  a0 00 00 00 01 00 00 00 // v5.0 bind, first|last, drep, frag 160, auth 0, call 1
b8 10 b8 10 78 56 34 12                          // max_xmit 4280, max_recv 4280, assoc group
03 00 00 00                                      // 3 contexts
00 00 01 00 c8 4f 32 4b 70 16 d3 01 12 78 5a 47 bf 6e e1 88 03 00 00 00 // ctx 0: srvsvc v3
            04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00 //   NDR v2
01 00 01 00 c8 4f 32 4b 70 16 d3 01 12 78 5a 47 bf 6e e1 88 03 00 00 00 // ctx 1
            33 05 71 71 ba be 37 49 83 19 b5 db ef 9c cc 36 01 00 00 00 //   NDR64 v1
02 00 01 00 c8 4f 32 4b 70 16 d3 01 12 78 5a 47 bf 6e e1 88 03 00 00 00 // ctx 2
            2c 1c b7 6c 12 98 40 45 03 00 00 00 00 00 00 00 01 00 00 00 //   BTFN 0x03 v1
`

// goldenBindAck is the answer: NDR accepted on context 0, NDR64 refused
// (provider_rejection, proposed_transfer_syntaxes_not_supported), and
// negotiate_ack with both features (C706 12.6.4.4, MS-RPCE 3.3.1.5.3).
const goldenBindAck = `
05 00 0c 03 10 00 00 00  74 00 00 00 01 00 00 00 // bind_ack, frag 116, call 1
b8 10 b8 10 78 56 34 12                          // 4280/4280, the client's assoc group
0d 00 5c 50 49 50 45 5c 73 72 76 73 76 63 00     // sec_addr "\PIPE\srvsvc"
00                                               // pad to 4
03 00 00 00                                      // 3 results
00 00 00 00 04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00
02 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
03 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
`

func TestBindGolden(t *testing.T) {
	in := unhexT(t, goldenBind)
	checkBytes(t, "bind encoder", bindFor(SyntaxSrvsvc, 4280), in)
	h := Header(in)
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	bd, err := DecodeBind(h)
	if err != nil {
		t.Fatal(err)
	}
	if bd.MaxXmitFrag != 4280 || bd.AssocGroupID != 0x12345678 || len(bd.Contexts) != 3 || bd.Contexts[1].TransferSyntaxes[0] != SyntaxNDR64 {
		t.Fatalf("decoded %+v", bd)
	}
	p, _ := NewPipe("srvsvc", testConfig(true))
	if err := p.Write(in); err != nil {
		t.Fatal(err)
	}
	out, more := p.Read(1 << 16)
	if more {
		t.Fatal("more")
	}
	want := unhexT(t, goldenBindAck)
	checkBytes(t, "bind_ack", out, want)
	ack, err := DecodeBindAck(Header(out))
	if err != nil || ack.SecAddr != `\PIPE\srvsvc` || len(ack.Results) != 3 {
		t.Fatalf("DecodeBindAck: %+v %v", ack, err)
	}
	a2 := ack.Append(nil, PTypeBindAck)
	checkBytes(t, "bind_ack re-encoded", a2, want)
}

func TestBindTruncated(t *testing.T) {
	in := unhexT(t, goldenBind)
	truncations(t, in, func(b []byte) error {
		// The frag_length says how long the PDU is; a shorter buffer is
		// incomplete (the pipe waits for more).
		if err := Header(b).Validate(); err != nil {
			return err
		}
		_, err := DecodeBind(Header(b))
		return err
	})
	// The same prefixes with frag_length patched to fit must fail in
	// DecodeBind itself.
	for i := headerSize; i < len(in); i++ {
		b := append([]byte(nil), in[:i]...)
		le.PutUint16(b[8:], uint16(i))
		if err := Header(b).Validate(); err != nil {
			t.Fatalf("prefix %d: %v", i, err)
		}
		if _, err := DecodeBind(Header(b)); err == nil && i < len(in) {
			// A bind that lists fewer contexts is still well formed only
			// at context boundaries; ours has 3, so any cut fails.
			t.Fatalf("prefix %d decoded", i)
		}
	}
}

func TestBindAckTruncated(t *testing.T) {
	in := unhexT(t, goldenBindAck)
	for i := headerSize; i < len(in); i++ {
		b := append([]byte(nil), in[:i]...)
		le.PutUint16(b[8:], uint16(i))
		if _, err := DecodeBindAck(Header(b)); err == nil {
			t.Fatalf("prefix %d decoded", i)
		}
	}
}

func TestHeaderValidate(t *testing.T) {
	good := unhexT(t, goldenBind)
	for _, tc := range []struct {
		name  string
		patch func(b []byte)
	}{
		{"version 4", func(b []byte) { b[0] = 4 }},
		{"minor 2", func(b []byte) { b[1] = 2 }},
		{"big endian", func(b []byte) { b[4] = 0 }},
		{"frag below header", func(b []byte) { le.PutUint16(b[8:], 15) }},
		{"auth beyond frag", func(b []byte) { le.PutUint16(b[10:], 200) }},
	} {
		b := append([]byte(nil), good...)
		tc.patch(b)
		var fe *FormatError
		if err := Header(b).Validate(); !errors.As(err, &fe) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestBindRefusals(t *testing.T) {
	// NDR64 alone: provider_rejection, proposed_transfer_syntaxes_not_supported.
	p, _ := NewPipe(`\PIPE\SRVSVC`, testConfig(true))
	bd := Bind{CallID: 7, MaxXmitFrag: 1000, MaxRecvFrag: 9000, Contexts: []ContextElem{
		{ContextID: 0, AbstractSyntax: SyntaxSrvsvc, TransferSyntaxes: []SyntaxID{SyntaxNDR64}},
		{ContextID: 1, AbstractSyntax: SyntaxWkssvc, TransferSyntaxes: []SyntaxID{SyntaxNDR}},
	}}
	if err := p.Write(bd.Append(nil, PTypeBind)); err != nil {
		t.Fatal(err)
	}
	out, _ := p.Read(1 << 16)
	ack, err := DecodeBindAck(Header(out))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Results[0] != (ContextResult{Result: resultProviderRejection, Reason: reasonTransferSyntaxesNotSupported}) ||
		ack.Results[1] != (ContextResult{Result: resultProviderRejection, Reason: reasonAbstractSyntaxNotSupported}) {
		t.Fatalf("results %+v", ack.Results)
	}
	// Fragment sizes: the smaller of the client's, at least 2048, 8-aligned.
	if ack.MaxXmitFrag != 2048 || ack.MaxRecvFrag != 2048 {
		t.Fatalf("frag sizes %d/%d", ack.MaxXmitFrag, ack.MaxRecvFrag)
	}
	if ack.AssocGroupID == 0 {
		t.Fatal("no association group")
	}
	// Nothing was accepted: a request is a protocol error.
	if err := p.Write(AppendRequest(nil, pfcFirstFrag|pfcLastFrag, 8, 0, 0, 15, nil)); err != nil {
		t.Fatal(err)
	}
	out, _ = p.Read(1 << 16)
	if st, _ := FaultStatusOf(Header(out)); Header(out).PType() != PTypeFault || st != FaultProtoError {
		t.Fatalf("request without binding: %x", out)
	}

	// A second bind on a bound pipe is refused with bind_nak.
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	if err := c.p.Write(bindFor(SyntaxSrvsvc, 4280)); err != nil {
		t.Fatal(err)
	}
	if h := c.readPDU(); h.PType() != PTypeBindNak {
		t.Fatalf("second bind answered with %d", h.PType())
	}
	// alter_context adds a context; wkssvc is not on this pipe.
	alter := Bind{CallID: 9, Contexts: []ContextElem{{ContextID: 5, AbstractSyntax: SyntaxSrvsvc, TransferSyntaxes: []SyntaxID{SyntaxNDR}}}}
	if err := c.p.Write(alter.Append(nil, PTypeAlterContext)); err != nil {
		t.Fatal(err)
	}
	h := c.readPDU()
	if h.PType() != PTypeAlterContextResp {
		t.Fatalf("alter_context answered with %d", h.PType())
	}
	if a, err := DecodeBindAck(h); err != nil || a.Results[0].Result != resultAcceptance || a.SecAddr != "" {
		t.Fatalf("alter_context_resp %+v %v", a, err)
	}
	if !c.p.contexts[5] {
		t.Fatal("context 5 not added")
	}
}

func TestFaults(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	check := func(name string, want FaultStatus, pdu []byte) {
		t.Helper()
		if err := c.p.Write(pdu); err != nil {
			t.Fatal(err)
		}
		h := c.readPDU()
		st, err := FaultStatusOf(h)
		if h.PType() != PTypeFault || err != nil || st != want {
			t.Fatalf("%s: type %d status %#x %v", name, h.PType(), st, err)
		}
		if h.Flags()&pfcDidNotExecute == 0 {
			t.Fatalf("%s: no PFC_DID_NOT_EXECUTE", name)
		}
		if h.FragLength() != faultSize {
			t.Fatalf("%s: fault of %d bytes", name, h.FragLength())
		}
	}
	one := pfcFirstFrag | pfcLastFrag
	check("opnum out of range", FaultOpRngError, AppendRequest(nil, one, 2, 0, 0, 200, nil))
	check("opnum not served", FaultOpRngError, AppendRequest(nil, one, 3, 0, 0, 1, nil))
	check("unknown context", FaultUnkIf, AppendRequest(nil, one, 4, 0, 9, 15, nil))
	check("bad stub", FaultNDR, AppendRequest(nil, one, 5, 0, 0, 15, []byte{1, 0, 0, 0}))
	check("middle fragment first", FaultProtoError, AppendRequest(nil, pfcLastFrag, 6, 0, 0, 15, nil))
	check("response from the client", FaultProtoError, appendResponse(nil, one, 7, 0, 0, nil))
	// A first fragment, then another call's first fragment.
	if err := c.p.Write(AppendRequest(nil, pfcFirstFrag, 8, 100, 0, 15, make([]byte, 8))); err != nil {
		t.Fatal(err)
	}
	check("interleaved call", FaultProtoError, AppendRequest(nil, pfcFirstFrag, 9, 100, 0, 15, make([]byte, 8)))
	check("alloc hint too large", FaultRemoteNoMemory, AppendRequest(nil, pfcFirstFrag, 10, 1<<30, 0, 15, nil))

	// A byte stream that is not DCE/RPC breaks the pipe.
	if err := c.p.Write(make([]byte, 16)); !errors.Is(err, ErrPipeBroken) {
		t.Fatalf("garbage: %v", err)
	}
	if err := c.p.Write(bindFor(SyntaxSrvsvc, 4280)); !errors.Is(err, ErrPipeBroken) {
		t.Fatalf("after garbage: %v", err)
	}
}

func TestPartialWrites(t *testing.T) {
	// PDUs split across writes and several PDUs in one write.
	p, _ := NewPipe("wkssvc", testConfig(true))
	b := bindFor(SyntaxWkssvc, 4280)
	e := &encoder{}
	e.ptr(false)
	e.u32(100)
	b = AppendRequest(b, pfcFirstFrag|pfcLastFrag, 2, 0, 0, opNetrWkstaGetInfo, e.b)
	for i := range b {
		if err := p.Write(b[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, more := p.Read(1 << 16); more {
		t.Fatal("bind_ack too long")
	}
	out, _ := p.Read(1 << 16)
	if Header(out).PType() != PTypeResponse {
		t.Fatalf("got %x", out)
	}
	if p.Available() != 0 {
		t.Fatal("left over output")
	}
	if b, more := p.Read(10); b != nil || more {
		t.Fatal("read from an empty pipe")
	}
}

func TestOutputBound(t *testing.T) {
	// A client that writes calls and never reads is stopped.
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	req := AppendRequest(nil, pfcFirstFrag|pfcLastFrag, 2, 0, 0, opNetrShareEnum, enumRequest(1, 0xFFFFFFFF, nil))
	batch := bytes.Repeat(req, 100)
	for i := 0; ; i++ {
		err := c.p.Write(batch)
		if errors.Is(err, ErrOutputFull) {
			break
		}
		if err != nil || i > 1000 {
			t.Fatalf("after %d writes: %v", i, err)
		}
	}
	if c.p.Available() > maxOutput+maxFragSize {
		t.Fatalf("%d bytes queued", c.p.Available())
	}
}

func TestLen(t *testing.T) {
	bd, _ := DecodeBind(Header(unhexT(t, goldenBind)))
	if n := len(bd.Append(nil, PTypeBind)); n != bd.Len() {
		t.Fatalf("bind: Append %d, Len %d", n, bd.Len())
	}
	for _, sec := range []string{"", `\PIPE\srvsvc`, `\PIPE\x`, `\PIPE\wkssvc`} {
		a := BindAck{SecAddr: sec, Results: make([]ContextResult, 2)}
		if n := len(a.Append(nil, PTypeBindAck)); n != a.Len() {
			t.Fatalf("bind_ack %q: Append %d, Len %d", sec, n, a.Len())
		}
	}
}
