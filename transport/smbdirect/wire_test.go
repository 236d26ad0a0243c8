package smbdirect

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
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

// The Linux client's negotiate request (fs/smb/client/smbdirect.c
// defaults: 255 credits, 1364-byte sends and receives, 1364*255/2 bytes
// reassembled).
const goldenNegReq = `0001 0001 0000 ff00 54050000 54050000 56a70200`

// The answer to it with this package's defaults (MS-SMBD Appendix B).
const goldenNegResp = `0001 0001 0001 0000 ff00 ff00 00000000 00001000 54050000 00200000 00001000`

// A fragment: 255 credits requested, 1 granted, response requested, 256
// bytes to follow, 4 bytes of data at offset 24.
const goldenData = `ff00 0100 0100 0000 00010000 18000000 04000000 00000000 61626364`

func TestNegotiateRequestGolden(t *testing.T) {
	b := unhex(t, goldenNegReq)
	r := NegotiateRequest(b)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	got := NegotiateRequestFields{r.MinVersion(), r.MaxVersion(), r.CreditsRequested(), r.PreferredSendSize(), r.MaxReceiveSize(), r.MaxFragmentedSize()}
	want := NegotiateRequestFields{0x100, 0x100, 255, 1364, 1364, 1364 * 255 / 2}
	if got != want {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	if enc := want.Append(nil); !bytes.Equal(enc, b) || len(enc) != want.Len() {
		t.Fatalf("encoded % x\nwant    % x", enc, b)
	}
}

func TestNegotiateResponseGolden(t *testing.T) {
	b := unhex(t, goldenNegResp)
	r := NegotiateResponse(b)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	got := NegotiateResponseFields{r.MinVersion(), r.MaxVersion(), r.NegotiatedVersion(), r.CreditsRequested(), r.CreditsGranted(),
		r.Status(), r.MaxReadWriteSize(), r.PreferredSendSize(), r.MaxReceiveSize(), r.MaxFragmentedSize()}
	want := NegotiateResponseFields{0x100, 0x100, 0x100, 255, 255, 0, 1 << 20, 1364, 8192, 1 << 20}
	if got != want {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	if enc := want.Append(nil); !bytes.Equal(enc, b) || len(enc) != want.Len() {
		t.Fatalf("encoded % x\nwant    % x", enc, b)
	}
}

func TestDataTransferGolden(t *testing.T) {
	b := unhex(t, goldenData)
	m := DataTransfer(b)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.CreditsRequested() != 255 || m.CreditsGranted() != 1 || m.Flags() != FlagResponseRequested ||
		m.RemainingDataLength() != 256 || m.DataOffset() != 24 || string(m.Data()) != "abcd" {
		t.Fatalf("parsed %d %d %d %d %d %q", m.CreditsRequested(), m.CreditsGranted(), m.Flags(), m.RemainingDataLength(), m.DataOffset(), m.Data())
	}
	h := DataHeader{CreditsRequested: 255, CreditsGranted: 1, Flags: FlagResponseRequested, RemainingDataLength: 256, DataLength: 4}
	enc := append(h.Append(nil), "abcd"...)
	if !bytes.Equal(enc, b) || h.Len() != DataOffset {
		t.Fatalf("encoded % x\nwant    % x", enc, b)
	}
	// an empty message is the 20-byte header with DataOffset 0
	e := DataHeader{CreditsRequested: 10, CreditsGranted: 3}
	eb := e.Append(nil)
	if len(eb) != e.Len() || len(eb) != DataHeaderSize || DataTransfer(eb).Validate() != nil || DataTransfer(eb).Data() != nil {
		t.Fatalf("empty message % x", eb)
	}
}

// Every prefix shorter than the message fails cleanly.
func TestTruncated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        []byte
		validate func([]byte) error
	}{
		{"negotiate request", unhex(t, goldenNegReq), func(b []byte) error { return NegotiateRequest(b).Validate() }},
		{"negotiate response", unhex(t, goldenNegResp), func(b []byte) error { return NegotiateResponse(b).Validate() }},
		{"data transfer", unhex(t, goldenData), func(b []byte) error { return DataTransfer(b).Validate() }},
	} {
		for n := range len(tc.b) {
			if err := tc.validate(tc.b[:n]); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s truncated to %d bytes: %v", tc.name, n, err)
			}
		}
		if err := tc.validate(tc.b); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestDataTransferBounds(t *testing.T) {
	base := unhex(t, goldenData)
	for _, tc := range []struct {
		name        string
		off, length uint32
	}{
		{"offset inside the header", 16, 4},
		{"unaligned offset", 25, 3},
		{"length past the end", 24, 5},
		{"huge length", 24, 0xffffffff},
		{"huge offset", 0xfffffff8, 8},
	} {
		b := append([]byte(nil), base...)
		le.PutUint32(b[12:], tc.off)
		le.PutUint32(b[16:], tc.length)
		if err := DataTransfer(b).Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func FuzzDataTransfer(f *testing.F) {
	f.Add(unhex(f, goldenData))
	f.Add(DataHeader{CreditsGranted: 1}.Append(nil))
	f.Add(append(DataHeader{DataLength: 1364 - 24}.Append(nil), make([]byte, 1340)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := DataTransfer(b)
		if m.Validate() != nil {
			return
		}
		d := m.Data()
		if len(d) != int(m.DataLength()) {
			t.Fatalf("data of %d bytes, DataLength %d", len(d), m.DataLength())
		}
		_ = m.CreditsGranted() + m.CreditsRequested() + m.Flags()
		_ = m.RemainingDataLength()
	})
}

func FuzzNegotiate(f *testing.F) {
	f.Add(unhex(f, goldenNegReq))
	f.Add(unhex(f, goldenNegResp))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r := NegotiateRequest(b); r.Validate() == nil {
			enc := NegotiateRequestFields{r.MinVersion(), r.MaxVersion(), r.CreditsRequested(), r.PreferredSendSize(), r.MaxReceiveSize(), r.MaxFragmentedSize()}.Append(nil)
			if !bytes.Equal(enc[:4], b[:4]) || !bytes.Equal(enc[6:], b[6:20]) {
				t.Fatalf("request round trip % x -> % x", b[:20], enc)
			}
		}
		if r := NegotiateResponse(b); r.Validate() == nil {
			enc := NegotiateResponseFields{r.MinVersion(), r.MaxVersion(), r.NegotiatedVersion(), r.CreditsRequested(), r.CreditsGranted(),
				r.Status(), r.MaxReadWriteSize(), r.PreferredSendSize(), r.MaxReceiveSize(), r.MaxFragmentedSize()}.Append(nil)
			if !bytes.Equal(enc[:6], b[:6]) || !bytes.Equal(enc[8:], b[8:32]) {
				t.Fatalf("response round trip % x -> % x", b[:32], enc)
			}
		}
	})
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":       "10.0.0.1:5445",
		"10.0.0.1:445":   "10.0.0.1:445",
		"":               "0.0.0.0:5445",
		"*:445":          "0.0.0.0:445",
		"[fd00::1]:5445": "[fd00::1]:5445",
		"fd00::1":        "[fd00::1]:5445",
	} {
		got, err := ParseAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"host.example:445", "10.0.0.1:99999", "10.0.0.1:x"} {
		if _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) accepted", bad)
		}
	}
}
