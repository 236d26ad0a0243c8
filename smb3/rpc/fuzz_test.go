package rpc

import (
	"testing"
)

// FuzzPipe writes arbitrary bytes after a bind: the pipe must answer or
// refuse without panicking, every queued PDU must parse, and every answer
// must respect max_xmit_frag.
func FuzzPipe(f *testing.F) {
	bind := bindFor(SyntaxSrvsvc, 4280)
	var zero uint32
	one := pfcFirstFrag | pfcLastFrag
	f.Add(bind, []byte{})
	f.Add(bind, AppendRequest(nil, one, 2, 0, 0, opNetrShareEnum, enumRequest(1, 0xFFFFFFFF, &zero)))
	f.Add(bind, AppendRequest(nil, one, 2, 0, 0, opNetrShareEnum, enumRequest(2, 10, &zero)))
	f.Add(bind, AppendRequest(nil, one, 3, 0, 0, opNetrShareGetInfo, getInfoRequest("share", 502)))
	f.Add(bind, AppendRequest(nil, pfcFirstFrag, 4, 0, 0, opNetrShareGetInfo, getInfoRequest("share", 1)[:6]))
	f.Add([]byte{}, bind)
	f.Fuzz(func(t *testing.T, first, rest []byte) {
		p, _ := NewPipe("srvsvc", testConfig(true))
		p.Write(first)
		p.Write(rest)
		for p.Available() > 0 {
			m, more := p.Read(1 << 16)
			if more {
				t.Fatal("message over 64 KiB")
			}
			h := Header(m)
			if err := h.Validate(); err != nil {
				t.Fatalf("server PDU does not parse: %v", err)
			}
			if int(h.FragLength()) != len(m) {
				t.Fatal("frag_length")
			}
			if p.bound && h.PType() == PTypeResponse && len(m) > int(p.maxXmit) {
				t.Fatalf("fragment of %d > %d", len(m), p.maxXmit)
			}
		}
	})
}

// FuzzDecodeBind checks the bind parser on arbitrary PDUs.
func FuzzDecodeBind(f *testing.F) {
	f.Add(bindFor(SyntaxSrvsvc, 4280))
	f.Add(bindFor(SyntaxWkssvc, 2048)[:60])
	f.Fuzz(func(t *testing.T, b []byte) {
		h := Header(b)
		if h.Validate() != nil {
			return
		}
		bd, err := DecodeBind(h)
		if err != nil {
			return
		}
		// What decodes re-encodes to a PDU that decodes the same.
		again, err := DecodeBind(Header(bd.Append(nil, PTypeBind)))
		if err != nil || len(again.Contexts) != len(bd.Contexts) {
			t.Fatalf("re-encoded bind: %v", err)
		}
		DecodeBindAck(h)
	})
}

// FuzzNDR runs every served call on arbitrary stub data: an answer or a
// fault, never a panic or a runaway allocation.
func FuzzNDR(f *testing.F) {
	var zero uint32
	f.Add(uint16(opNetrShareEnum), enumRequest(502, 0xFFFFFFFF, &zero))
	f.Add(uint16(opNetrShareEnumSticky), enumRequest(0, 1, nil))
	f.Add(uint16(opNetrShareGetInfo), getInfoRequest("IPC$", 1005))
	f.Add(uint16(opNetrShareCheck), getInfoRequest("C:\\", 0))
	f.Add(uint16(opNetrServerGetInfo), getInfoRequest("x", 102)[4:])
	f.Add(uint16(opNetrSessionEnum), emptyEnumRequest(3, 502, true))
	f.Add(uint16(opNetrServerDiskEnum), emptyEnumRequest(1, 0, false)[4:])
	f.Add(uint16(opNetrRemoteTOD), []byte{0, 0, 0, 0})
	// An input container with a level 502 array (reserved bytes included).
	e := &encoder{}
	e.ptr(false)
	e.u32(502)
	e.u32(502)
	e.ptr(true)
	e.u32(1)
	e.ptr(true)
	e.u32(1)
	e.ptr(true)
	e.u32(0)
	e.ptr(false)
	e.u32(0)
	e.u32(0)
	e.u32(0)
	e.ptr(false)
	e.ptr(false)
	e.u32(3)
	e.ptr(true)
	e.wstr("n")
	e.u32(3)
	e.b = append(e.b, 1, 2, 3)
	e.u32(0xFFFFFFFF)
	e.ptr(false)
	f.Add(uint16(opNetrShareEnum), e.b)
	f.Fuzz(func(t *testing.T, opnum uint16, stub []byte) {
		for _, ifc := range []*iface{srvsvc, wkssvc} {
			op := ifc.ops[opnum]
			if op == nil {
				continue
			}
			p := &Pipe{cfg: testConfig(opnum%2 == 0), ifc: ifc}
			d := &decoder{b: stub}
			op(p, d, &encoder{})
		}
	})
}

func TestSkipShareInfoArray(t *testing.T) {
	// The level 502 container seeded in FuzzNDR is read to its end.
	e := &encoder{}
	e.u32(1)
	e.ptr(true)
	e.u32(0)
	e.ptr(false)
	e.u32(0)
	e.u32(0)
	e.u32(0)
	e.ptr(false)
	e.ptr(false)
	e.u32(3)
	e.ptr(true)
	e.wstr("n")
	e.u32(3)
	e.b = append(e.b, 1, 2, 3)
	d := &decoder{b: e.b}
	skipShareInfoArray(d, 502, 1)
	if d.err != nil || d.off != len(e.b) {
		t.Fatalf("err %v at %d/%d", d.err, d.off, len(e.b))
	}
	for i := range len(e.b) {
		d := &decoder{b: e.b[:i]}
		skipShareInfoArray(d, 502, 1)
		if d.err == nil {
			t.Fatalf("prefix %d read", i)
		}
	}
}

// TestRequestTruncation cuts every request stub short: each op must
// notice (a fault), whatever the cut.
func TestRequestTruncation(t *testing.T) {
	var zero uint32
	wks := &encoder{}
	wks.ptr(true)
	wks.wstr(`\\S`)
	wks.u32(100)
	disk := &encoder{}
	disk.ptr(true)
	disk.wstr(`\\S`)
	disk.u32(0)
	disk.u32(0)
	disk.ptr(false)
	disk.u32(0xFFFFFFFF)
	disk.ptr(true)
	disk.u32(0)
	srv := &encoder{}
	srv.ptr(true)
	srv.wstr(`\\SMB3D`)
	srv.u32(101)
	for _, tc := range []struct {
		name string
		ifc  *iface
		op   uint16
		stub []byte
	}{
		{"NetrShareEnum", srvsvc, opNetrShareEnum, enumRequest(2, 0xFFFFFFFF, &zero)},
		{"NetrShareEnumSticky", srvsvc, opNetrShareEnumSticky, enumRequest(1, 100, nil)},
		{"NetrShareGetInfo", srvsvc, opNetrShareGetInfo, getInfoRequest("share", 2)},
		{"NetrShareCheck", srvsvc, opNetrShareCheck, getInfoRequest(`C:\x`, 0)[:26]},
		{"NetrServerGetInfo", srvsvc, opNetrServerGetInfo, srv.b},
		{"NetrSessionEnum", srvsvc, opNetrSessionEnum, emptyEnumRequest(3, 10, true)},
		{"NetrServerDiskEnum", srvsvc, opNetrServerDiskEnum, disk.b},
		{"NetrWkstaGetInfo", wkssvc, opNetrWkstaGetInfo, wks.b},
	} {
		p := &Pipe{cfg: testConfig(true), ifc: tc.ifc}
		d := &decoder{b: tc.stub}
		tc.ifc.ops[tc.op](p, d, &encoder{})
		if d.err != nil {
			t.Fatalf("%s: whole stub: %v", tc.name, d.err)
		}
		for i := range len(tc.stub) {
			d := &decoder{b: tc.stub[:i]}
			tc.ifc.ops[tc.op](p, d, &encoder{})
			if d.err == nil {
				t.Fatalf("%s: %d of %d bytes decoded", tc.name, i, len(tc.stub))
			}
		}
	}
}
