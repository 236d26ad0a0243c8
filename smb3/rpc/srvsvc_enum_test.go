package rpc

import (
	"testing"
	"time"
)

// emptyEnumRequest is an enumeration request with n optional strings
// (NULL), the level and an empty container, and a resume handle.
func emptyEnumRequest(n int, level uint32, arm bool) []byte {
	e := &encoder{}
	for range n {
		e.ptr(false)
	}
	e.u32(level)
	e.u32(level)
	if arm {
		e.ptr(true)
		e.u32(0)
		e.ptr(false)
	}
	e.u32(0xFFFFFFFF)
	e.ptr(true)
	e.u32(0)
	return e.b
}

func TestEmptyEnums(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	for _, tc := range []struct {
		op      uint16
		strs    int
		level   uint32
		invalid uint32
	}{
		{opNetrCharDevEnum, 1, 1, 2},
		{opNetrCharDevQEnum, 2, 0, 2},
		{opNetrConnectionEnum, 2, 1, 2},
		{opNetrFileEnum, 3, 3, 1},
		{opNetrSessionEnum, 3, 502, 3},
		{opNetrServerTransportEnum, 1, 3, 4},
	} {
		out, f := c.call(tc.op, emptyEnumRequest(tc.strs, tc.level, true))
		if f != 0 {
			t.Fatalf("op %d: fault %#x", tc.op, f)
		}
		// level, discriminant, container{0, NULL}, total 0, resume 0, OK
		want := unhexT(t, "00000000 00000000 00000200 00000000 00000000 00000000 04000200 00000000 00000000")
		le.PutUint32(want, tc.level)
		le.PutUint32(want[4:], tc.level)
		checkBytes(t, "empty enumeration", out, want)
		out, f = c.call(tc.op, emptyEnumRequest(tc.strs, tc.invalid, false))
		if f != 0 || le.Uint32(out[len(out)-4:]) != werrInvalidLevel {
			t.Fatalf("op %d level %d: %x %#x", tc.op, tc.invalid, out, f)
		}
		// A container with entries is not read: a fault, not a guess.
		bad := emptyEnumRequest(tc.strs, tc.level, true)
		le.PutUint32(bad[len(bad)-16:], 0x20000)
		if _, f := c.call(tc.op, bad); f != FaultNDR {
			t.Fatalf("op %d with an input array: fault %#x", tc.op, f)
		}
	}
}

func TestServerDiskEnum(t *testing.T) {
	c := newTestClient(t, "srvsvc", testConfig(true), SyntaxSrvsvc, 4280)
	e := &encoder{}
	e.ptr(false)
	e.u32(0)     // Level
	e.u32(0)     // EntriesRead
	e.ptr(false) // Buffer
	e.u32(0xFFFFFFFF)
	e.ptr(true)
	e.u32(0)
	out, f := c.call(opNetrServerDiskEnum, e.b)
	if f != 0 {
		t.Fatalf("fault %#x", f)
	}
	// MS-SRVS 2.2.4.66/67: a conformant varying array of [string] WCHAR[3].
	checkBytes(t, "NetrServerDiskEnum", out, unhexT(t, `
02000000 00000200 02000000 00000000 02000000 // EntriesRead, Buffer ptr, max/offset/actual
00000000 03000000 4300 3a00 0000 0000        // "C:" and pad
00000000 01000000 0000 0000                  // "" (the end) and pad
02000000 04000200 00000000 00000000          // TotalEntries, ResumeHandle, NERR_Success
`))
}

func TestRemoteTOD(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 1, 2, 500_000_000, time.UTC)
	cfg := testConfig(false)
	cfg.Now = func() time.Time { return now }
	c := newTestClient(t, "srvsvc", cfg, SyntaxSrvsvc, 4280)
	e := &encoder{}
	e.ptr(false)
	out, f := c.call(opNetrRemoteTOD, e.b)
	if f != 0 || len(out) != 4+48+4 {
		t.Fatalf("fault %#x, %d bytes", f, len(out))
	}
	le.PutUint32(out[8:], 0) // msecs: uptime
	want := unhexT(t, `
00000200 00000000 00000000 // pointer, elapsed (below), msecs (masked)
08000000 01000000 02000000 32000000 // 08:01:02.50
00000000 36010000          // timezone UTC, tinterval 310
1a000000 0b000000 ea070000 04000000 // 26 November 2026, Thursday
00000000`)
	le.PutUint32(want[4:], uint32(now.Unix()))
	checkBytes(t, "NetrRemoteTOD", out, want)
}

func TestWkstaGetInfo502(t *testing.T) {
	for _, admin := range []bool{true, false} {
		c := newTestClient(t, "wkssvc", testConfig(admin), SyntaxWkssvc, 4280)
		e := &encoder{}
		e.ptr(false)
		e.u32(502)
		out, f := c.call(opNetrWkstaGetInfo, e.b)
		if f != 0 {
			t.Fatalf("fault %#x", f)
		}
		want, st := 4+4+35*4+4, werrOK
		if !admin {
			want, st = 12, werrAccessDenied
		}
		if len(out) != want || le.Uint32(out[len(out)-4:]) != st {
			t.Fatalf("admin %v: %x", admin, out)
		}
	}
}
