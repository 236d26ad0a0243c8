package rpc

import (
	"strings"
	"testing"
)

// enumRequest is the NetrShareEnum stub smbclient sends: a server name,
// the level with an empty container, MAX_PREFERRED_LENGTH and a resume
// handle of 0.
func enumRequest(level, prefMax uint32, resume *uint32) []byte {
	e := &encoder{}
	e.ptr(true)
	e.wstr(`\\127.0.0.1`)
	e.u32(level)
	e.u32(level)
	e.ptr(true) // container
	e.u32(0)
	e.ptr(false)
	e.u32(prefMax)
	e.ptr(resume != nil)
	if resume != nil {
		e.u32(*resume)
	}
	return e.b
}

// goldenEnum1 is NetrShareEnum level 1 over testShares, hand-assembled
// from MS-SRVS 2.2.4.38 (SHARE_ENUM_STRUCT), 2.2.4.23 (SHARE_INFO_1) and
// the NDR rules for embedded pointers (C706 14.3.12.3: referents after
// the array, in order).
const goldenEnum1 = `
01 00 00 00 01 00 00 00 00 00 02 00 // Level 1, union discriminant 1, container pointer
02 00 00 00 04 00 02 00 02 00 00 00 // EntriesRead 2, Buffer pointer, conformance 2
08 00 02 00 03 00 00 80 0c 00 02 00 // [0] netname ptr, STYPE_IPC|STYPE_SPECIAL, remark ptr
10 00 02 00 00 00 00 00 14 00 02 00 // [1] netname ptr, STYPE_DISKTREE, remark ptr
05 00 00 00 00 00 00 00 05 00 00 00 49 00 50 00 43 00 24 00 00 00 00 00 // "IPC$", pad
0c 00 00 00 00 00 00 00 0c 00 00 00 49 00 50 00 43 00 20 00 53 00 65 00 72 00 76 00 69 00 63 00 65 00 00 00 // "IPC Service" (11 units and NUL)
06 00 00 00 00 00 00 00 06 00 00 00 73 00 68 00 61 00 72 00 65 00 00 00 // "share"
02 00 00 00 00 00 00 00 02 00 00 00 63 00 00 00 // "c"
02 00 00 00 // TotalEntries
18 00 02 00 00 00 00 00 // ResumeHandle pointer, 0
00 00 00 00 // NERR_Success
`

func TestShareEnumGolden(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(false), SyntaxSrvsvc, 4280)
	var zero uint32
	out, f := c.call(opNetrShareEnum, enumRequest(1, 0xFFFFFFFF, &zero))
	if f != 0 {
		t.Fatalf("fault %#x", f)
	}
	checkBytes(t, "NetrShareEnum level 1", out, unhexT(t, goldenEnum1))
}

// enumResult decodes the tail of a NetrShareEnum response at a level
// without strings beyond netname/remark: the names, total, resume, status.
func decodeEnum(t *testing.T, b []byte) (names []string, total, resume, status uint32) {
	t.Helper()
	d := &decoder{b: b}
	level := d.u32()
	if d.u32() != level {
		t.Fatal("discriminant")
	}
	if d.ptr() {
		n := d.u32()
		if d.ptr() {
			if d.u32() != n {
				t.Fatal("conformance")
			}
			fields := shareInfoFields[level]
			var strs int
			for range n {
				for _, f := range []byte(fields) {
					switch f {
					case 's':
						if d.ptr() {
							strs++
						}
					case 'u':
						d.u32()
					case 'b':
						d.u32()
						d.ptr()
					}
				}
			}
			per := strs / int(n)
			for i := 0; i < strs; i++ {
				s := d.wstr()
				if i%per == 0 {
					names = append(names, s)
				}
			}
		}
	}
	total = d.u32()
	if d.ptr() {
		resume = d.u32()
	}
	status = d.u32()
	if d.err != nil {
		t.Fatal(d.err)
	}
	if d.off != len(b) {
		t.Fatalf("%d bytes left", len(b)-d.off)
	}
	return
}

func TestShareEnumLevels(t *testing.T) {
	for _, admin := range []bool{true, false} {
		c := newTestClient(t, "srvsvc", testConfig(admin), SyntaxSrvsvc, 4280)
		for _, tc := range []struct {
			op         uint16
			level      uint32
			want, anon uint32
		}{
			{opNetrShareEnum, 0, werrOK, werrOK},
			{opNetrShareEnum, 1, werrOK, werrOK},
			{opNetrShareEnum, 2, werrOK, werrAccessDenied},
			{opNetrShareEnum, 501, werrOK, werrAccessDenied},
			{opNetrShareEnum, 502, werrOK, werrAccessDenied},
			{opNetrShareEnum, 503, werrInvalidLevel, werrInvalidLevel},
			{opNetrShareEnum, 7, werrInvalidLevel, werrInvalidLevel},
			{opNetrShareEnumSticky, 1, werrOK, werrOK},
			{opNetrShareEnumSticky, 501, werrInvalidLevel, werrInvalidLevel},
		} {
			out, f := c.call(tc.op, enumRequest(tc.level, 0xFFFFFFFF, nil))
			if f != 0 {
				t.Fatalf("op %d level %d: fault %#x", tc.op, tc.level, f)
			}
			if tc.level == 503 || tc.level == 7 {
				// Only the status matters; 503 has an arm (a NULL
				// pointer), 7 does not.
				want := 4 + 4 + 4 + 4 + 4 + 4
				if tc.level == 7 {
					want -= 4
				}
				if len(out) != want || le.Uint32(out[len(out)-4:]) != werrInvalidLevel {
					t.Fatalf("level %d: %x", tc.level, out)
				}
				continue
			}
			names, total, _, st := decodeEnum(t, out)
			want := tc.want
			if !admin {
				want = tc.anon
			}
			if st != want {
				t.Fatalf("admin %v op %d level %d: status %d, want %d", admin, tc.op, tc.level, st, want)
			}
			if st != werrOK {
				continue
			}
			wantNames := "IPC$,share"
			if tc.op == opNetrShareEnumSticky {
				wantNames = "share"
			}
			if strings.Join(names, ",") != wantNames || int(total) != len(names) {
				t.Fatalf("level %d: names %q total %d", tc.level, names, total)
			}
		}
	}
}

func TestShareEnumResume(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	// A preferred length that holds one entry: ERROR_MORE_DATA and a
	// resume handle, then the rest.
	var resume uint32
	var got []string
	for i := 0; ; i++ {
		out, f := c.call(opNetrShareEnum, enumRequest(1, 40, &resume))
		if f != 0 {
			t.Fatalf("fault %#x", f)
		}
		names, total, next, st := decodeEnum(t, out)
		got = append(got, names...)
		if i == 0 && (st != werrMoreData || total != 2 || next != 1 || len(names) != 1) {
			t.Fatalf("first call: %q total %d resume %d status %d", names, total, next, st)
		}
		if st == werrOK {
			break
		}
		resume = next
		if i > 3 {
			t.Fatal("no end")
		}
	}
	if strings.Join(got, ",") != "IPC$,share" {
		t.Fatalf("got %q", got)
	}
	// A resume handle past the end returns nothing.
	resume = 10
	out, _ := c.call(opNetrShareEnum, enumRequest(1, 0xFFFFFFFF, &resume))
	if names, total, _, st := decodeEnum(t, out); len(names) != 0 || total != 0 || st != werrOK {
		t.Fatalf("past the end: %q %d %d", names, total, st)
	}
}

func getInfoRequest(name string, level uint32) []byte {
	e := &encoder{}
	e.ptr(false)
	e.wstr(name)
	e.u32(level)
	return e.b
}

// goldenGetInfo2 is NetrShareGetInfo level 2 for "share" (MS-SRVS 2.2.4.24).
const goldenGetInfo2 = `
02 00 00 00 00 00 02 00             // discriminant 2, pointer
04 00 02 00 00 00 00 00 08 00 02 00 // netname ptr, STYPE_DISKTREE, remark ptr
00 00 00 00 ff ff ff ff 00 00 00 00 // permissions, max_uses -1, current_uses
0c 00 02 00 00 00 00 00             // path ptr, passwd NULL
06 00 00 00 00 00 00 00 06 00 00 00 73 00 68 00 61 00 72 00 65 00 00 00 // "share"
02 00 00 00 00 00 00 00 02 00 00 00 63 00 00 00 // "c"
0d 00 00 00 00 00 00 00 0d 00 00 00 43 00 3a 00 5c 00 73 00 72 00 76 00 5c 00 73 00 68 00 61 00 72 00 65 00 00 00 00 00 // "C:\srv\share", pad
00 00 00 00
`

func TestShareGetInfo(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	out, f := c.call(opNetrShareGetInfo, getInfoRequest("SHARE", 2))
	if f != 0 {
		t.Fatalf("fault %#x", f)
	}
	checkBytes(t, "NetrShareGetInfo level 2", out, unhexT(t, goldenGetInfo2))
	for _, tc := range []struct {
		name  string
		level uint32
		want  uint32
		size  int
	}{
		{"share", 0, werrOK, 8 + 4 + 24 + 4},
		{"IPC$", 1, werrOK, 0},
		{"ipc$", 501, werrOK, 0},
		{"share", 502, werrOK, 0},
		{"share", 1005, werrOK, 4 + 4 + 4 + 4},
		{"nosuch", 1, nerrNetNameNotFound, 4 + 4 + 4},
		{"share", 3, werrInvalidLevel, 4 + 4},
		{"share", 1004, werrOK, 4 + 4 + 4 + 12 + 4 + 4},
		{"share", 1006, werrOK, 4 + 4 + 4 + 4},
		{"share", 1007, werrInvalidLevel, 4 + 4 + 4},
		{"share", 9, werrInvalidLevel, 4 + 4},
	} {
		out, f := c.call(opNetrShareGetInfo, getInfoRequest(tc.name, tc.level))
		if f != 0 {
			t.Fatalf("%s %d: fault %#x", tc.name, tc.level, f)
		}
		if st := le.Uint32(out[len(out)-4:]); st != tc.want {
			t.Fatalf("%s %d: status %d want %d", tc.name, tc.level, st, tc.want)
		}
		if tc.size != 0 && len(out) != tc.size {
			t.Fatalf("%s %d: %d bytes: %x", tc.name, tc.level, len(out), out)
		}
	}
	anon := newTestClient(t, "srvsvc", testConfig(false), SyntaxSrvsvc, 4280)
	for _, level := range []uint32{2, 502} {
		out, _ := anon.call(opNetrShareGetInfo, getInfoRequest("share", level))
		if st := le.Uint32(out[len(out)-4:]); st != werrAccessDenied {
			t.Fatalf("anonymous level %d: %d", level, st)
		}
	}
	// NetrShareCheck finds a share by its path.
	e := &encoder{}
	e.ptr(false)
	e.wstr(`c:\SRV\share`)
	out, _ = c.call(opNetrShareCheck, e.b)
	checkBytes(t, "NetrShareCheck", out, unhexT(t, "00000000 00000000"))
	e = &encoder{}
	e.ptr(false)
	e.wstr(`C:\elsewhere`)
	out, _ = c.call(opNetrShareCheck, e.b)
	checkBytes(t, "NetrShareCheck not shared", out, unhexT(t, "00000000 07090000"))
}

func TestServerGetInfo(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	req := func(level uint32) []byte {
		e := &encoder{}
		e.ptr(true)
		e.wstr(`\\SMB3D`)
		e.u32(level)
		return e.b
	}
	out, _ := c.call(opNetrServerGetInfo, req(101))
	// MS-SRVS 2.2.4.41 SERVER_INFO_101.
	checkBytes(t, "NetrServerGetInfo level 101", out, unhexT(t, `
65 00 00 00 00 00 02 00             // discriminant 101, pointer
f4 01 00 00 04 00 02 00             // PLATFORM_ID_NT, name ptr
0a 00 00 00 00 00 00 00 03 90 00 00 // version 10.0, type
08 00 02 00                         // comment ptr
06 00 00 00 00 00 00 00 06 00 00 00 53 00 4d 00 42 00 33 00 44 00 00 00 // "SMB3D"
06 00 00 00 00 00 00 00 06 00 00 00 73 00 6d 00 62 00 33 00 64 00 00 00 // "smb3d"
00 00 00 00`))
	for _, tc := range []struct {
		level uint32
		want  uint32
		size  int
	}{
		{100, werrOK, 4 + 4 + 8 + 24 + 4},
		{102, werrOK, 0},
		{502, werrInvalidLevel, 12},
		{7, werrInvalidLevel, 8},
	} {
		out, f := c.call(opNetrServerGetInfo, req(tc.level))
		if f != 0 {
			t.Fatalf("level %d: fault %#x", tc.level, f)
		}
		if st := le.Uint32(out[len(out)-4:]); st != tc.want || tc.size != 0 && len(out) != tc.size {
			t.Fatalf("level %d: %x", tc.level, out)
		}
	}
}

func TestWkstaGetInfo(t *testing.T) {
	c := newTestClient(t, "WKSSVC", testConfig(false), SyntaxWkssvc, 4280)
	e := &encoder{}
	e.ptr(false)
	e.u32(100)
	out, f := c.call(opNetrWkstaGetInfo, e.b)
	if f != 0 {
		t.Fatalf("fault %#x", f)
	}
	// MS-WKST 2.2.5.1 WKSTA_INFO_100.
	checkBytes(t, "NetrWkstaGetInfo level 100", out, unhexT(t, `
64 00 00 00 00 00 02 00 f4 01 00 00 04 00 02 00 08 00 02 00 0a 00 00 00 00 00 00 00
06 00 00 00 00 00 00 00 06 00 00 00 53 00 4d 00 42 00 33 00 44 00 00 00 // "SMB3D"
0a 00 00 00 00 00 00 00 0a 00 00 00 57 00 4f 00 52 00 4b 00 47 00 52 00 4f 00 55 00 50 00 00 00 // "WORKGROUP"
00 00 00 00`))
	e = &encoder{}
	e.ptr(false)
	e.u32(102)
	out, _ = c.call(opNetrWkstaGetInfo, e.b)
	checkBytes(t, "NetrWkstaGetInfo level 102 anonymous", out, unhexT(t, "66000000 00000000 05000000"))
}

// TestFragmentation sends requests in small fragments and reads answers
// larger than max_xmit_frag in pieces.
func TestFragmentation(t *testing.T) {
	many := ShareListerFunc(func() []Share {
		var l []Share
		for i := range 300 {
			l = append(l, Share{Name: "share" + strings.Repeat("x", i%40) + string(rune('a'+i%26)), Comment: strings.Repeat("comment ", 5)})
		}
		return l
	})
	cfg := &Config{Shares: many, ServerName: "S", Admin: true}
	c := newTestClient(t, "srvsvc", cfg, SyntaxSrvsvc, 2048)
	c.frag = 8
	out, f := c.call(opNetrShareEnum, enumRequest(1, 0xFFFFFFFF, nil))
	if f != 0 {
		t.Fatalf("fault %#x", f)
	}
	if len(out) < 10000 {
		t.Fatalf("answer of %d bytes should span fragments", len(out))
	}
	names, total, _, st := decodeEnum(t, out)
	if len(names) != 300 || total != 300 || st != werrOK {
		t.Fatalf("%d names, total %d, status %d", len(names), total, st)
	}
}

func TestPipeName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"srvsvc", "srvsvc", true},
		{"SRVSVC", "srvsvc", true},
		{`\PIPE\srvsvc`, "srvsvc", true},
		{`\pipe\WksSvc`, "wkssvc", true},
		{`PIPE\srvsvc`, "srvsvc", true},
		{"lsarpc", "lsarpc", false},
		{`\PIPE\`, "", false},
		{"srvsvc\\x", "", false},
	} {
		got, ok := PipeName(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("PipeName(%q) = %q %v", tc.in, got, ok)
		}
	}
}
