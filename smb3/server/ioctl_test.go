package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

// fsctl sends an FSCTL on f and returns the status and the output, which
// is kept for errors that carry one (copychunk).
func (c *client) fsctl(f wire.FileID, ctl uint32, in []byte, maxOut uint32) (wire.Status, []byte) {
	c.t.Helper()
	m := c.header(wire.CmdIoctl, 1)
	m = le.AppendUint16(m, 57) // StructureSize
	m = le.AppendUint16(m, 0)  // Reserved
	m = le.AppendUint32(m, ctl)
	m = appendFID(m, f)
	inOff := uint32(120)
	if len(in) == 0 {
		inOff = 0
	}
	m = le.AppendUint32(m, inOff)
	m = le.AppendUint32(m, uint32(len(in)))
	m = le.AppendUint32(m, 0) // MaxInputResponse
	m = le.AppendUint32(m, 0) // OutputOffset
	m = le.AppendUint32(m, 0) // OutputCount
	m = le.AppendUint32(m, maxOut)
	m = le.AppendUint32(m, wire.IoctlFlagIsFsctl)
	m = le.AppendUint32(m, 0) // Reserved2
	m = append(m, in...)
	s, body := c.call(m)
	if len(body) < 48 || le.Uint16(body) != 49 {
		return s, nil // an error response
	}
	off, n := int(le.Uint32(body[32:]))-wire.HeaderSize, int(le.Uint32(body[36:]))
	if n == 0 {
		return s, nil
	}
	if off < 48 || off+n > len(body) {
		c.t.Fatalf("IOCTL output %d+%d outside %d bytes", off, n, len(body))
	}
	return s, body[off : off+n]
}

func (c *client) fileWith(name string, data []byte) wire.FileID {
	c.t.Helper()
	f, s := c.create(name, accessAll, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		c.t.Fatalf("create %s: %v", name, s)
	}
	if len(data) > 0 {
		if s := c.write(f, 0, data); s != wire.StatusSuccess {
			c.t.Fatalf("write %s: %v", name, s)
		}
	}
	return f
}

func fillPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// TestCopychunk: FSCTL_SRV_REQUEST_RESUME_KEY answers 32 bytes (the key,
// ContextLength 0 and 4 bytes of context, as Windows), and
// FSCTL_SRV_COPYCHUNK copies the chunks and reports them; limits, a source
// too short and access are checked with the response body still sent.
func TestCopychunk(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	data := fillPattern(3 << 20)
	src := c.fileWith("src.bin", data)
	dst := c.fileWith("dst.bin", nil)
	s, key := c.fsctl(src, fscc.FsctlSrvRequestResumeKey, nil, 32)
	if s != wire.StatusSuccess || len(key) != fscc.ResumeKeyResponseSize {
		t.Fatalf("resume key: %v, %d bytes", s, len(key))
	}
	copyReq := func(chunks ...fscc.Chunk) []byte {
		cc := fscc.CopychunkCopy{Chunks: chunks}
		copy(cc.SourceKey[:], key[:24])
		return cc.Append(nil)
	}
	resp := func(b []byte) [3]uint32 {
		if len(b) != 12 {
			t.Fatalf("copychunk response: %d bytes", len(b))
		}
		return [3]uint32{le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])}
	}
	s, out := c.fsctl(dst, fscc.FsctlSrvCopychunk, copyReq(
		fscc.Chunk{SourceOffset: 0, TargetOffset: 0, Length: 1 << 20},
		fscc.Chunk{SourceOffset: 1 << 20, TargetOffset: 1 << 20, Length: 1 << 20},
		fscc.Chunk{SourceOffset: 2 << 20, TargetOffset: 2 << 20, Length: 1 << 20},
		fscc.Chunk{SourceOffset: 10, TargetOffset: 3 << 20, Length: 100},
	), 12)
	if s != wire.StatusSuccess || resp(out) != [3]uint32{4, 0, 3<<20 + 100} {
		t.Fatalf("copychunk: %v %v", s, resp(out))
	}
	got, err := os.ReadFile(filepath.Join(st.root, "dst.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), data...), data[10:110]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("copied data differs (%d bytes, want %d)", len(got), len(want))
	}
	// Over the limits: STATUS_INVALID_PARAMETER with the limits.
	s, out = c.fsctl(dst, fscc.FsctlSrvCopychunk, copyReq(fscc.Chunk{Length: 2 << 20}), 12)
	if s != wire.StatusInvalidParameter || resp(out) != [3]uint32{256, 1 << 20, 16 << 20} {
		t.Fatalf("over the chunk size: %v %v", s, resp(out))
	}
	// Past the source's end: STATUS_INVALID_VIEW_SIZE after the first chunk.
	s, out = c.fsctl(dst, fscc.FsctlSrvCopychunk, copyReq(
		fscc.Chunk{SourceOffset: 0, TargetOffset: 0, Length: 10},
		fscc.Chunk{SourceOffset: 3<<20 - 5, TargetOffset: 0, Length: 10}), 12)
	if s != wire.StatusInvalidViewSize || resp(out) != [3]uint32{1, 0, 10} {
		t.Fatalf("past the end of the source: %v %v", s, resp(out))
	}
	// A destination without read access takes COPYCHUNK_WRITE only.
	wo, s := c.create("dst.bin", 0x00100116, fileOpen, optNonDirectory) // WRITE_DATA|APPEND|WRITE_EA|WRITE_ATTRIBUTES|SYNCHRONIZE
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	one := copyReq(fscc.Chunk{Length: 10})
	if s, _ := c.fsctl(wo, fscc.FsctlSrvCopychunk, one, 12); s != wire.StatusAccessDenied {
		t.Fatalf("COPYCHUNK without read access: %v", s)
	}
	if s, _ := c.fsctl(wo, fscc.FsctlSrvCopychunkWrite, one, 12); s != wire.StatusSuccess {
		t.Fatalf("COPYCHUNK_WRITE without read access: %v", s)
	}
	// A key that names no open.
	bad := fscc.CopychunkCopy{Chunks: []fscc.Chunk{{Length: 10}}}
	if s, _ := c.fsctl(dst, fscc.FsctlSrvCopychunk, bad.Append(nil), 12); s != wire.StatusObjectNameNotFound {
		t.Fatalf("bad key: %v", s)
	}
}

func qar(t *testing.T, c *client, f wire.FileID, off, n int64) []fscc.AllocatedRange {
	t.Helper()
	q := fscc.AllocatedRange{FileOffset: off, Length: n}
	in := le.AppendUint64(le.AppendUint64(nil, uint64(q.FileOffset)), uint64(q.Length))
	s, out := c.fsctl(f, fscc.FsctlQueryAllocatedRanges, in, 1024)
	if s != wire.StatusSuccess {
		t.Fatalf("QUERY_ALLOCATED_RANGES: %v", s)
	}
	rs, err := fscc.DecodeAllocatedRanges(out)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func attrsOf(t *testing.T, c *client, f wire.FileID) uint32 {
	t.Helper()
	s, b := c.queryInfo(f, 1, fscc.FileBasicInformation, 0, 40)
	if s != wire.StatusSuccess {
		t.Fatalf("FileBasicInformation: %v", s)
	}
	return le.Uint32(b[32:])
}

// TestSparse: FSCTL_SET_SPARSE sets the attribute (not on directories),
// SET_ZERO_DATA punches a hole in a sparse file and zeroes a range of
// another, and QUERY_ALLOCATED_RANGES reports the holes of a sparse file
// only; clearing the flag allocates the holes again.
func TestSparse(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	const size = 1 << 20
	f := c.fileWith("sparse.bin", fillPattern(size))
	if a := attrsOf(t, c, f); a&fscc.FileAttributeSparseFile != 0 {
		t.Fatalf("sparse before FSCTL_SET_SPARSE: %#x", a)
	}
	if s, _ := c.fsctl(f, fscc.FsctlSetSparse, nil, 0); s != wire.StatusSuccess {
		t.Fatalf("SET_SPARSE: %v", s)
	}
	if a := attrsOf(t, c, f); a&fscc.FileAttributeSparseFile == 0 {
		t.Fatalf("not sparse after FSCTL_SET_SPARSE: %#x", a)
	}
	// SET_INFO basic information keeps the flag.
	basic := make([]byte, 40)
	le.PutUint32(basic[32:], fscc.FileAttributeHidden)
	if s := c.setInfo(f, 1, fscc.FileBasicInformation, 0, basic); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if a := attrsOf(t, c, f); a&(fscc.FileAttributeSparseFile|fscc.FileAttributeHidden) != fscc.FileAttributeSparseFile|fscc.FileAttributeHidden {
		t.Fatalf("attributes after SET_INFO: %#x", a)
	}
	zero := func(from, to int64) {
		in := le.AppendUint64(le.AppendUint64(nil, uint64(from)), uint64(to))
		if s, _ := c.fsctl(f, fscc.FsctlSetZeroData, in, 0); s != wire.StatusSuccess {
			t.Fatalf("SET_ZERO_DATA: %v", s)
		}
	}
	zero(256<<10, 512<<10)
	rs := qar(t, c, f, 0, size)
	if len(rs) != 2 || rs[0] != (fscc.AllocatedRange{FileOffset: 0, Length: 256 << 10}) || rs[1] != (fscc.AllocatedRange{FileOffset: 512 << 10, Length: 512 << 10}) {
		t.Fatalf("allocated ranges after a hole: %+v", rs)
	}
	if rs := qar(t, c, f, 300<<10, 100<<10); len(rs) != 0 {
		t.Fatalf("ranges inside the hole: %+v", rs)
	}
	got, s := c.read(f, 250<<10, 12<<10)
	if s != wire.StatusSuccess || !bytes.Equal(got[:6<<10], fillPattern(size)[250<<10:256<<10]) || !bytes.Equal(got[6<<10:], make([]byte, 6<<10)) {
		t.Fatalf("data around the hole: %v", s)
	}
	// Not sparse any more: everything is allocated again, zeros stay.
	if s, _ := c.fsctl(f, fscc.FsctlSetSparse, []byte{0}, 0); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if rs := qar(t, c, f, 0, size); len(rs) != 1 || rs[0] != (fscc.AllocatedRange{FileOffset: 0, Length: size}) {
		t.Fatalf("ranges after clearing the flag: %+v", rs)
	}
	zero(0, 10) // a file that is not sparse is zeroed in place
	if got, _ := c.read(f, 0, 20); !bytes.Equal(got[:10], make([]byte, 10)) || !bytes.Equal(got[10:], fillPattern(20)[10:]) {
		t.Fatalf("zeroed head: %x", got)
	}
	d, s := c.create("dir", accessAll, fileOpenIf, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s, _ := c.fsctl(d, fscc.FsctlSetSparse, nil, 0); s != wire.StatusInvalidParameter {
		t.Fatalf("SET_SPARSE on a directory: %v", s)
	}
}

// TestDuplicateExtents: FSCTL_DUPLICATE_EXTENTS_TO_FILE copies a range
// into an existing target range (a reflink where the file system has
// them), does not extend the target, and refuses overlapping ranges of one
// file; FILE_SUPPORTS_BLOCK_REFCOUNTING is advertised.
func TestDuplicateExtents(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	data := fillPattern(256 << 10)
	src := c.fileWith("src.bin", data)
	dst := c.fileWith("dst.bin", make([]byte, 128<<10))
	dup := func(from wire.FileID, so, do, n int64) wire.Status {
		d := fscc.DuplicateExtentsData{SourcePersistent: from.Persistent, SourceVolatile: from.Volatile, SourceFileOffset: so, TargetFileOffset: do, ByteCount: n}
		s, _ := c.fsctl(dst, fscc.FsctlDuplicateExtentsToFile, d.Append(nil), 0)
		return s
	}
	if s := dup(src, 64<<10, 0, 64<<10); s != wire.StatusSuccess {
		t.Fatalf("duplicate: %v", s)
	}
	if s := dup(src, 0, 96<<10, 64<<10); s != wire.StatusSuccess { // half past the target's end
		t.Fatalf("duplicate past the end: %v", s)
	}
	got, err := os.ReadFile(filepath.Join(st.root, "dst.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte(nil), data[64<<10:128<<10]...), make([]byte, 32<<10)...), data[:32<<10]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("target after duplicate: %d bytes, want %d; equal prefix %v", len(got), len(want), bytes.Equal(got[:64<<10], want[:64<<10]))
	}
	if s := dup(src, 0, 0, 512<<10); s != wire.StatusNotSupported {
		t.Fatalf("source range past its end: %v", s)
	}
	if s := dup(dst, 0, 4096, 8192); s != wire.StatusNotSupported {
		t.Fatalf("overlapping ranges of one file: %v", s)
	}
	if s := dup(wire.FileID{Persistent: 1, Volatile: 1}, 0, 0, 10); s != wire.StatusInvalidHandle {
		t.Fatalf("unknown source handle: %v", s)
	}
	s, b := c.queryInfo(src, 2, fscc.FileFsAttributeInformation, 0, 512)
	if s != wire.StatusSuccess || le.Uint32(b)&fscc.FileSupportsBlockRefcounting == 0 {
		t.Fatalf("FileFsAttributeInformation: %v %x", s, b)
	}
}
