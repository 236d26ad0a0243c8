package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// smb1NegotiateGolden is the SMB1 multi-protocol NEGOTIATE that Windows
// clients send first (MS-CIFS 2.2.3.1, 2.2.4.52.1; MS-SMB2 3.3.5.3).
func smb1NegotiateGolden(dialects ...string) []byte {
	var data []byte
	for _, d := range dialects {
		data = append(data, 0x02) // BufferFormat: dialect string
		data = append(data, d...) // DialectString
		data = append(data, 0)    // terminating NUL
	}
	var b []byte
	b = append(b, "\xffSMB"...)   // Protocol
	b = p8(b, 0x72)               // Command: SMB_COM_NEGOTIATE
	b = p32(b, 0)                 // Status
	b = p8(b, 0x18)               // Flags: CASE_INSENSITIVE | CANONICALIZED_PATHS
	b = p16(b, 0xc853)            // Flags2
	b = p16(b, 0)                 // PIDHigh
	b = pad(b, 8)                 // SecurityFeatures
	b = p16(b, 0)                 // Reserved
	b = p16(b, 0xffff)            // TID
	b = p16(b, 0xfeff)            // PIDLow
	b = p16(b, 0)                 // UID
	b = p16(b, 0)                 // MID
	b = p8(b, 0)                  // WordCount
	b = p16(b, uint16(len(data))) // ByteCount
	return append(b, data...)     // Dialects
}

var windowsDialects = []string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"}

func TestSMB1NegotiateGolden(t *testing.T) {
	g := smb1NegotiateGolden(windowsDialects...)
	if !IsSMB1(g) {
		t.Fatal("IsSMB1 = false")
	}
	if IsSMB1(negotiateGolden()) || IsSMB1(g[:3]) {
		t.Fatal("IsSMB1 = true for a non-SMB1 message")
	}
	got, err := ParseSMB1Negotiate(g)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, windowsDialects) {
		t.Fatalf("dialects %q, want %q", got, windowsDialects)
	}
	for n := range len(g) {
		var err error
		noPanic(t, "ParseSMB1Negotiate", func() { _, err = ParseSMB1Negotiate(bytes.Clone(g[:n])) })
		if err == nil {
			t.Errorf("prefix %d of %d accepted", n, len(g))
		}
		if n < 35 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("prefix %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	// No dialects at all is a valid (if useless) message.
	if got, err := ParseSMB1Negotiate(smb1NegotiateGolden()); err != nil || len(got) != 0 {
		t.Errorf("no dialects: %q, %v", got, err)
	}
}

func TestSMB1NegotiateMalformed(t *testing.T) {
	g := smb1NegotiateGolden(windowsDialects...)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(g)) }
	many := make([]string, 65)
	for i := range many {
		many[i] = "X"
	}
	for _, c := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"SMB2 protocol id", mut(func(b []byte) []byte { copy(b, ProtocolID); return b }), ErrBadProtocol},
		{"not NEGOTIATE", mut(func(b []byte) []byte { b[4] = 0x73; return b }), nil},
		{"ByteCount past the end", mut(func(b []byte) []byte { le.PutUint16(b[33:], uint16(len(b))); return b }), io.ErrUnexpectedEOF},
		{"ByteCount max", mut(func(b []byte) []byte { le.PutUint16(b[33:], 0xffff); return b }), io.ErrUnexpectedEOF},
		{"WordCount max", mut(func(b []byte) []byte { b[32] = 0xff; return b }), io.ErrUnexpectedEOF},
		{"bad BufferFormat", mut(func(b []byte) []byte { b[35] = 0x03; return b }), nil},
		{"unterminated dialect", mut(func(b []byte) []byte { return b[:len(b)-1] }), nil},
		{"unterminated, ByteCount fixed", mut(func(b []byte) []byte {
			b = b[:len(b)-1]
			le.PutUint16(b[33:], le.Uint16(b[33:])-1)
			return b
		}), nil},
		{"65 dialects", smb1NegotiateGolden(many...), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			noPanic(t, "ParseSMB1Negotiate", func() { _, err = ParseSMB1Negotiate(c.msg) })
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err %v, want %v", err, c.want)
			}
		})
	}
	if got, err := ParseSMB1Negotiate(smb1NegotiateGolden(many[:64]...)); err != nil || len(got) != 64 {
		t.Errorf("64 dialects: %d, %v", len(got), err)
	}
	// Words before ByteCount are skipped.
	b := smb1NegotiateGolden(windowsDialects...)
	w := append(bytes.Clone(b[:32]), 2, 0xaa, 0xbb, 0xcc, 0xdd)
	w = append(w, b[33:]...)
	if got, err := ParseSMB1Negotiate(w); err != nil || !reflect.DeepEqual(got, windowsDialects) {
		t.Errorf("WordCount 2: %q, %v", got, err)
	}
}

// TestNegotiateResponseGolden encodes MS-SMB2 2.2.4 with a security buffer
// and two negotiate contexts (2.2.4.1).
func TestNegotiateResponseGolden(t *testing.T) {
	guid := [16]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}
	sec := []byte("\x60\x0bspnego-init")                                // 13 bytes
	preauth := append(p16(p16(p16(nil, 1), 4), HashSHA512), 1, 2, 3, 4) // count, salt length, alg, salt
	enc := p16(p16(nil, 1), 2)                                          // count, AES-128-GCM
	r := &NegotiateResponse{
		SecurityMode: NegotiateSigningEnabled | NegotiateSigningRequired, Dialect: Dialect311,
		ServerGUID: guid, Capabilities: CapLeasing | CapLargeMTU | CapEncryption,
		MaxTransactSize: 8 << 20, MaxReadSize: 8 << 20, MaxWriteSize: 4 << 20,
		SystemTime: 0x01dc000000000001, ServerStartTime: 0,
		SecurityBuffer: sec,
		Contexts:       []NegotiateContext{{CtxPreauthIntegrity, preauth}, {CtxEncryption, enc}},
	}
	var want []byte
	want = p16(want, 65)                  // StructureSize
	want = p16(want, 3)                   // SecurityMode
	want = p16(want, uint16(Dialect311))  // DialectRevision
	want = p16(want, 2)                   // NegotiateContextCount
	want = append(want, guid[:]...)       // ServerGuid
	want = p32(want, 0x46)                // Capabilities
	want = p32(want, 8<<20)               // MaxTransactSize
	want = p32(want, 8<<20)               // MaxReadSize
	want = p32(want, 4<<20)               // MaxWriteSize
	want = p64(want, 0x01dc000000000001)  // SystemTime
	want = p64(want, 0)                   // ServerStartTime
	want = p16(want, 128)                 // SecurityBufferOffset
	want = p16(want, 13)                  // SecurityBufferLength
	want = p32(want, 144)                 // NegotiateContextOffset
	want = append(want, sec...)           // Buffer: 128..141
	want = pad(want, 3)                   // Padding to 144
	want = p16(want, CtxPreauthIntegrity) // ContextType
	want = p16(want, 10)                  // DataLength
	want = p32(want, 0)                   // Reserved
	want = append(want, preauth...)       // Data: 152..162
	want = pad(want, 6)                   // Padding to 168
	want = p16(want, CtxEncryption)       // ContextType
	want = p16(want, 4)                   // DataLength
	want = p32(want, 0)                   // Reserved
	want = append(want, enc...)           // Data
	hdr := AppendResponseHeader(nil, &ResponseHeader{Command: CmdNegotiate})
	got := r.Append(hdr)
	mustEqual(t, "negotiate response body", got[HeaderSize:], want)
	// Parse the contexts back through the offsets the encoder wrote.
	off := uint64(le.Uint32(got[HeaderSize+60:]))
	ctxs, err := parseNegContexts(got, off, int(le.Uint16(got[HeaderSize+6:])))
	if err != nil || !reflect.DeepEqual(ctxs, r.Contexts) {
		t.Errorf("contexts parsed back: %+v, %v", ctxs, err)
	}
	so, sl := le.Uint16(got[HeaderSize+56:]), le.Uint16(got[HeaderSize+58:])
	eqBytes(t, "security buffer parsed back", got[so:so+sl], sec)

	// 2.x: no contexts, an empty security buffer still has its one byte.
	r2 := &NegotiateResponse{Dialect: Dialect210, SecurityMode: NegotiateSigningEnabled, ServerGUID: guid}
	got = r2.Append(nil)
	want = nil
	want = p16(want, 65)                 // StructureSize
	want = p16(want, 1)                  // SecurityMode
	want = p16(want, uint16(Dialect210)) // DialectRevision
	want = p16(want, 0)                  // NegotiateContextCount/Reserved
	want = append(want, guid[:]...)      // ServerGuid
	want = pad(want, 4*4+8+8)            // Capabilities .. ServerStartTime
	want = p16(want, 128)                // SecurityBufferOffset
	want = p16(want, 0)                  // SecurityBufferLength
	want = p32(want, 0)                  // NegotiateContextOffset/Reserved2
	want = p8(want, 0)                   // Buffer
	mustEqual(t, "2.1 negotiate response", got, want)
}

// TestNegotiateRequestContextsOnWire checks the contexts' offsets in the
// golden request: the first at NegotiateContextOffset, the next 8-aligned.
func TestNegotiateRequestContextsOnWire(t *testing.T) {
	g := negotiateGolden()
	ctxs, err := NegotiateRequest(g).Contexts()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(g[112:]), "\x01\x00\x26\x00") || !strings.HasPrefix(string(g[160:]), "\x02\x00\x06\x00") {
		t.Fatalf("golden layout changed")
	}
	eq(t, "len", len(ctxs), 2)
}
