package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"smb3d/smb3/wire"
)

// QUERY_DIRECTORY flags (MS-SMB2 2.2.33) and the classes the tests use.
const (
	qdRestart = 0x01
	qdSingle  = 0x02
	qdIndex   = 0x04
	qdReopen  = 0x10

	classNames  = 12 // FileNamesInformation
	classIDBoth = 37 // FileIdBothDirectoryInformation
)

func (c *client) queryDirRequest(f wire.FileID, class, flags uint8, index uint32, pattern string, max uint32) []byte {
	p := utf16LE(pattern)
	m := c.header(wire.CmdQueryDirectory, 1)
	m = le.AppendUint16(m, 33)
	m = append(m, class, flags)
	m = le.AppendUint32(m, index)
	m = appendFID(m, f)
	m = le.AppendUint16(m, 96)
	m = le.AppendUint16(m, uint16(len(p)))
	m = le.AppendUint32(m, max)
	if len(p) == 0 {
		p = []byte{0}
	}
	return append(m, p...)
}

// queryDir sends one QUERY_DIRECTORY and returns the names of a
// FileNamesInformation or FileIdBothDirectoryInformation answer.
func (c *client) queryDir(f wire.FileID, class, flags uint8, index uint32, pattern string, max uint32) ([]string, wire.Status) {
	c.t.Helper()
	s, body := c.call(c.queryDirRequest(f, class, flags, index, pattern, max))
	if s != wire.StatusSuccess {
		return nil, s
	}
	off, n := int(le.Uint16(body[2:]))-wire.HeaderSize, int(le.Uint32(body[4:]))
	if off < 8 || off+n > len(body) {
		c.t.Fatalf("QUERY_DIRECTORY buffer %d+%d outside %d bytes", off, n, len(body))
	}
	buf := body[off : off+n]
	nameOff := map[uint8]int{classNames: 12, classIDBoth: 104}[class]
	var names []string
	for len(buf) > 0 {
		next := int(le.Uint32(buf))
		ln := int(le.Uint32(buf[map[uint8]int{classNames: 8, classIDBoth: 60}[class]:]))
		u := make([]uint16, ln/2)
		for i := range u {
			u[i] = le.Uint16(buf[nameOff+2*i:])
		}
		names = append(names, string(utf16.Decode(u)))
		if next == 0 {
			break
		}
		if next%8 != 0 || next > len(buf) {
			c.t.Fatalf("NextEntryOffset %d of %d bytes", next, len(buf))
		}
		buf = buf[next:]
	}
	return names, s
}

// listAll continues a listing until STATUS_NO_MORE_FILES, at most limit
// calls (a server that restarts would never end).
func (c *client) listAll(f wire.FileID, class, flags uint8, max uint32, limit int) []string {
	c.t.Helper()
	var all []string
	for i := 0; i < limit; i++ {
		names, s := c.queryDir(f, class, flags, 0, "", max)
		if s == wire.StatusNoMoreFiles {
			return all
		}
		if s != wire.StatusSuccess {
			c.t.Fatalf("QUERY_DIRECTORY: %v", s)
		}
		all = append(all, names...)
	}
	c.t.Fatalf("listing did not end after %d calls (%d names)", limit, len(all))
	return nil
}

func makeFiles(t testing.TB, dir string, n int, name func(int) string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, name(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueryDirectorySorted: "." and ".." first, then the names in
// upper-case order, each once, whatever the buffer size.
func TestQueryDirectorySorted(t *testing.T) {
	st := newServerTester(t)
	want := []string{"b", "A", "c.txt", "C", "Zeta", "alpha", "ß"}
	makeFiles(t, filepath.Join(st.root, "d"), len(want), func(i int) string { return want[i] })
	c := st.login()
	f, s := c.create("d", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	for _, tc := range []struct {
		flags uint8
		max   uint32
	}{{0, 65536}, {qdSingle, 65536}, {0, 40}} {
		if _, s := c.queryDir(f, classNames, qdRestart|qdSingle, 0, "*", 65536); s != wire.StatusSuccess {
			t.Fatal(s)
		}
		got := append([]string{"."}, c.listAll(f, classNames, tc.flags, tc.max, 100)...)
		exp := append([]string{".", ".."}, slices.SortedFunc(slices.Values(want), func(a, b string) int {
			return strings.Compare(strings.ToUpper(a), strings.ToUpper(b))
		})...)
		if !slices.Equal(got, exp) {
			t.Errorf("flags %#x max %d: got %q, want %q", tc.flags, tc.max, got, exp)
		}
	}
}

// TestQueryDirectoryModified: an enumeration continues after the last name
// returned, without the files removed meanwhile and with the files added
// after its position (smb2.dir.fixed, smb2.dir.modify).
func TestQueryDirectoryModified(t *testing.T) {
	st := newServerTester(t)
	dir := filepath.Join(st.root, "d")
	makeFiles(t, dir, 40, func(i int) string { return fmt.Sprintf("f%02d", i) })
	c := st.login()
	f, s := c.create("d", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	var got []string
	for len(got) < 12 { // ".", "..", f00..f09
		names, s := c.queryDir(f, classNames, qdSingle, 0, "*", 65536)
		if s != wire.StatusSuccess {
			t.Fatal(s)
		}
		got = append(got, names...)
	}
	for i := 5; i < 40; i += 2 {
		os.Remove(filepath.Join(dir, fmt.Sprintf("f%02d", i)))
	}
	for _, n := range []string{"f05x", "zz"} { // before and after the position
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got = append(got, c.listAll(f, classNames, 0, 65536, 100)...)
	var want []string
	for i := 0; i < 40; i++ {
		if i < 10 || i%2 == 0 {
			want = append(want, fmt.Sprintf("f%02d", i))
		}
	}
	want = append(append([]string{".", ".."}, want...), "zz")
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestQueryDirectoryIndex: SMB2_INDEX_SPECIFIED continues the enumeration
// (the FileIndex is ignored), so a client resuming by index ends
// (smb2.dir.many hung on a server that restarted instead).
func TestQueryDirectoryIndex(t *testing.T) {
	st := newServerTester(t)
	makeFiles(t, filepath.Join(st.root, "d"), 50, func(i int) string { return fmt.Sprintf("t%03d.txt", i) })
	c := st.login()
	f, s := c.create("d", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	n := 0
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("enumeration by index does not end")
		}
		names, s := c.queryDir(f, classIDBoth, qdIndex, 0, "*", 1024)
		if s == wire.StatusNoMoreFiles {
			break
		}
		if s != wire.StatusSuccess {
			t.Fatal(s)
		}
		n += len(names)
	}
	if n != 52 {
		t.Errorf("%d entries, want 52", n)
	}
}

// TestQueryDirectoryNoMatch: no match on the first query is
// STATUS_NO_SUCH_FILE, then STATUS_NO_MORE_FILES (MS-FSA 2.1.5.6.3); a
// restart with another pattern starts over with it.
func TestQueryDirectoryNoMatch(t *testing.T) {
	st := newServerTester(t)
	makeFiles(t, filepath.Join(st.root, "d"), 3, func(i int) string { return fmt.Sprintf("file%d.txt", i) })
	c := st.login()
	f, s := c.create("d", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	// A buffer below one entry's fixed part: STATUS_INFO_LENGTH_MISMATCH,
	// before anything else (MS-FSA 2.1.5.6.3).
	if _, s := c.queryDir(f, classNames, 0, 0, "*.doc", 8); s != wire.StatusInfoLengthMismatch {
		t.Errorf("8-byte buffer: %v, want STATUS_INFO_LENGTH_MISMATCH", s)
	}
	if _, s := c.queryDir(f, classNames, 0, 0, "*.doc", 65536); s != wire.StatusNoSuchFile {
		t.Errorf("first query: %v, want STATUS_NO_SUCH_FILE", s)
	}
	if _, s := c.queryDir(f, classNames, 0, 0, "*.doc", 65536); s != wire.StatusNoMoreFiles {
		t.Errorf("second query: %v, want STATUS_NO_MORE_FILES", s)
	}
	names, s := c.queryDir(f, classNames, qdRestart, 0, "FILE1.TXT", 65536)
	if s != wire.StatusSuccess || !slices.Equal(names, []string{"file1.txt"}) {
		t.Errorf("restart with a name: %q %v", names, s)
	}
	names, s = c.queryDir(f, classNames, qdReopen, 0, `<"TXT`, 65536)
	if s != wire.StatusSuccess || len(names) != 3 {
		t.Errorf("reopen with DOS wildcards: %q %v", names, s)
	}
}

// BenchmarkQueryDirectory lists a directory of 10,000 files the way
// smbclient does (FileIdBothDirectoryInformation, 64 KiB answers).
func BenchmarkQueryDirectory(b *testing.B) {
	st := newServerTester(b)
	makeFiles(b, filepath.Join(st.root, "big"), 10000, func(i int) string {
		return fmt.Sprintf("file_%05d_with_a_longer_name.txt", i)
	})
	c := st.loginTB(b)
	f, s := c.create("big", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		b.Fatal(s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, s := c.queryDir(f, classIDBoth, qdRestart, 0, "*", 65536); s != wire.StatusSuccess {
			b.Fatal(s)
		}
		if n := len(c.listAll(f, classIDBoth, 0, 65536, 1000)); n < 9000 {
			b.Fatalf("%d names", n)
		}
	}
}
