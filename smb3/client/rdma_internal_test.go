package client

import (
	"bytes"
	"encoding/hex"
	"testing"

	"smb3d/rdma-core-bindings"
	"smb3d/rdma-core-bindings/rdmafake"
	"smb3d/smb3/wire"
	"smb3d/transport"
)

func testFile() *File {
	s := &Session{id: 0x1122334455667788}
	return &File{t: &Tree{s: s, id: 7}, ID: wire.FileID{Persistent: 1, Volatile: 2}}
}

var testDesc = transport.BufferDescriptor{Offset: 0x00007f0012340000, Token: 0xabcd, Length: 1 << 20}

// TestRDMAReadRequest: the READ body with Channel RDMA_V1 and one buffer
// descriptor (MS-SMB2 2.2.19, MS-SMBD 2.2.3.1), byte for byte, and as the
// server's decoder sees it.
func TestRDMAReadRequest(t *testing.T) {
	r := testFile().readReq(1<<20, 0x2000, &rdmaSlot{desc: testDesc})
	golden := "3100" + "5000" + "00001000" + "0020000000000000" + // size, padding, flags, length, offset
		"0100000000000000" + "0200000000000000" + // file id
		"00000000" + "01000000" + "00000000" + // minimum count, channel RDMA_V1, remaining
		"7000" + "1000" + // ReadChannelInfoOffset 0x70, length 16
		"00003412007f0000" + "cdab0000" + "00001000" // descriptor
	if got := hex.EncodeToString(r.msg[wire.HeaderSize:]); got != golden {
		t.Fatalf("READ body\n got %s\nwant %s", got, golden)
	}
	if r.charge != 16 {
		t.Errorf("charge %d, want 16", r.charge)
	}
	req := wire.ReadRequest(r.msg)
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	ds, err := transport.ParseBufferDescriptors(req.ChannelInfo())
	if err != nil || len(ds) != 1 || ds[0] != testDesc || req.Channel() != wire.ChannelRDMAV1 || req.Length() != 1<<20 {
		t.Fatalf("decoded: channel %d length %d descriptors %+v (%v)", req.Channel(), req.Length(), ds, err)
	}
	for n := range len(r.msg) {
		if wire.ReadRequest(r.msg[:n]).Validate() == nil {
			t.Fatalf("a %d-byte prefix validates", n)
		}
	}
}

// TestRDMAWriteRequest: WRITE with Channel RDMA_V1 has Length and
// DataOffset 0 (ksmbd refuses anything else) and the length in
// RemainingBytes (MS-SMB2 2.2.21); no payload follows.
func TestRDMAWriteRequest(t *testing.T) {
	p := make([]byte, 300001)
	r := testFile().writeReq(p, 0x10, &rdmaSlot{desc: testDesc})
	golden := "3100" + "0000" + "00000000" + "1000000000000000" + // size, DataOffset 0, Length 0, offset
		"0100000000000000" + "0200000000000000" + // file id
		"01000000" + "e1930400" + // channel RDMA_V1, RemainingBytes 300001
		"7000" + "1000" + "00000000" + // WriteChannelInfoOffset 0x70, length 16, flags
		"00003412007f0000" + "cdab0000" + "00001000"
	if got := hex.EncodeToString(r.msg[wire.HeaderSize:]); got != golden {
		t.Fatalf("WRITE body\n got %s\nwant %s", got, golden)
	}
	if r.data != nil {
		t.Error("an RDMA WRITE carries the payload inline too")
	}
	req := wire.WriteRequest(r.msg)
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	ds, err := transport.ParseBufferDescriptors(req.ChannelInfo())
	if err != nil || len(ds) != 1 || ds[0] != testDesc || req.RemainingBytes() != 300001 || req.Length() != 0 {
		t.Fatalf("decoded: remaining %d length %d descriptors %+v (%v)", req.RemainingBytes(), req.Length(), ds, err)
	}
	// inline: the payload follows at DataOffset 0x70
	r = testFile().writeReq([]byte("abc"), 0, nil)
	req = wire.WriteRequest(append(append([]byte(nil), r.msg...), r.data...))
	if err := req.Validate(); err != nil || !bytes.Equal(req.Data(), []byte("abc")) || req.Channel() != wire.ChannelNone {
		t.Fatalf("inline WRITE: %v, data %q", err, req.Data())
	}
}

// TestRDMAChanLifetime: closing a channel while a request holds a slot
// defers the release of the memory to the slot's return; slots are
// disjoint and their descriptors name them.
func TestRDMAChanLifetime(t *testing.T) {
	ep, _ := rdmafake.Pair(rdmafake.Config{})
	mr := ep.Register(make([]byte, 3*8192), rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	released := 0
	ch := &rdmaChan{mr: mr, size: 8192, free: make(chan int, 3), unmap: func() { released++ }}
	for i := range 3 {
		ch.free <- i
	}
	if _, err := ch.get(8193); err == nil {
		t.Fatal("a slot for more than the slot size")
	}
	a, err := ch.get(8192)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ch.get(100)
	if a.i == b.i || a.desc.Token != mr.RKey() || b.desc.Length != 100 ||
		a.desc.Offset != mr.Addr()+uint64(a.i*8192) || b.desc.Offset != mr.Addr()+uint64(b.i*8192) {
		t.Fatalf("slots %+v %+v", a, b)
	}
	ch.close()
	if released != 0 {
		t.Fatal("memory released while slots are in use")
	}
	ch.put(a)
	if released != 0 {
		t.Fatal("memory released while a slot is in use")
	}
	ch.put(b)
	if released != 1 {
		t.Fatalf("released %d times after the last slot came back, want 1", released)
	}
	if _, err := ch.get(10); err != ErrClosed {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	ch.close()
	if released != 1 {
		t.Fatal("released twice")
	}
}

// readResponse builds a READ response: inline data, or DataRemaining only.
func readResponse(data []byte, remaining uint32) []byte {
	b := make([]byte, wire.HeaderSize)
	b = wire.AppendReadResponseHeader(b, uint32(len(data)), remaining)
	return append(b, data...)
}

func TestReadResponseData(t *testing.T) {
	buf := []byte("0123456789")
	for _, tc := range []struct {
		name string
		msg  []byte
		n    int
		rdma []byte
		want string
		err  bool
	}{
		{"inline", readResponse([]byte("abc"), 0), 10, nil, "abc", false},
		{"rdma", readResponse(nil, 4), 10, buf, "0123", false},
		{"rdma answered inline", readResponse([]byte("xy"), 0), 10, buf, "xy", false},
		{"rdma empty", readResponse(nil, 0), 10, buf, "", false},
		{"rdma beyond the request", readResponse(nil, 11), 10, buf, "", true},
		{"rdma beyond the buffer", readResponse(nil, 8), 10, buf[:5], "", true},
		{"inline beyond the request", readResponse([]byte("abcd"), 0), 3, nil, "", true},
	} {
		got, err := readResponseData(tc.msg, tc.n, tc.rdma)
		if (err != nil) != tc.err || string(got) != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
	msg := readResponse([]byte("abc"), 0)
	for n := range len(msg) {
		if _, err := readResponseData(msg[:n], 10, nil); err == nil {
			t.Fatalf("a %d-byte prefix of a READ response with 3 bytes of data parsed", n)
		}
	}
}

func FuzzReadResponseData(f *testing.F) {
	f.Add(readResponse([]byte("abc"), 0), uint16(10), false)
	f.Add(readResponse(nil, 4), uint16(10), true)
	f.Fuzz(func(t *testing.T, msg []byte, n uint16, rdma bool) {
		var buf []byte
		if rdma {
			buf = make([]byte, 100)
		}
		data, err := readResponseData(msg, int(n), buf)
		if err == nil && len(data) > int(n) {
			t.Fatalf("%d bytes of data for a %d-byte READ", len(data), n)
		}
	})
}
