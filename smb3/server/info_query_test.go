package server_test

import (
	"bytes"
	"testing"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

func (c *client) queryInfo(f wire.FileID, typ, class uint8, addl, max uint32) (wire.Status, []byte) {
	c.t.Helper()
	m := c.header(wire.CmdQueryInfo, 1)
	m = le.AppendUint16(m, 41)
	m = append(m, typ, class)
	m = le.AppendUint32(m, max)
	m = le.AppendUint16(m, 0) // InputBufferOffset
	m = le.AppendUint16(m, 0)
	m = le.AppendUint32(m, 0) // InputBufferLength
	m = le.AppendUint32(m, addl)
	m = le.AppendUint32(m, 0) // Flags
	m = appendFID(m, f)
	s, body := c.call(m)
	if s != wire.StatusSuccess && s != wire.StatusBufferOverflow {
		return s, nil
	}
	off, n := int(le.Uint16(body[2:]))-wire.HeaderSize, int(le.Uint32(body[4:]))
	if n == 0 {
		return s, nil
	}
	if off < 8 || off+n > len(body) {
		c.t.Fatalf("QUERY_INFO buffer %d+%d outside %d bytes", off, n, len(body))
	}
	return s, body[off : off+n]
}

func (c *client) setInfo(f wire.FileID, typ, class uint8, addl uint32, buf []byte) wire.Status {
	c.t.Helper()
	m := c.header(wire.CmdSetInfo, 1)
	m = le.AppendUint16(m, 33)
	m = append(m, typ, class)
	m = le.AppendUint32(m, uint32(len(buf)))
	m = le.AppendUint16(m, 96)
	m = le.AppendUint16(m, 0)
	m = le.AppendUint32(m, addl)
	m = appendFID(m, f)
	m = append(m, buf...)
	s, _ := c.call(m)
	return s
}

// TestQueryInfoClasses: the classes Windows and Linux clients ask for answer
// on a file and on a directory, with at least their fixed size.
func TestQueryInfoClasses(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	f, s := c.create("file.txt", accessAll, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	d, s := c.create("dir", accessAll, fileCreate, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	classes := []uint8{
		fscc.FileBasicInformation, fscc.FileStandardInformation, fscc.FileInternalInformation,
		fscc.FileEaInformation, fscc.FileAccessInformation, fscc.FilePositionInformation,
		fscc.FileModeInformation, fscc.FileAlignmentInformation, fscc.FileAllInformation,
		fscc.FileAlternateNameInformation, fscc.FileStreamInformation, fscc.FileCompressionInformation,
		fscc.FileNetworkOpenInformation, fscc.FileAttributeTagInformation, fscc.FileNormalizedNameInformation,
		fscc.FileIDInformation, fscc.FileStatInformation, fscc.FileCaseSensitiveInformation,
	}
	for _, h := range []wire.FileID{f, d} {
		for _, class := range classes {
			s, b := c.queryInfo(h, wire.InfoFile, class, 0, 65536)
			size, _ := fscc.FileInfoSize(class)
			if s != wire.StatusSuccess || len(b) < size.Fixed && !(class == fscc.FileStreamInformation && h == d) {
				t.Errorf("class %d on %v: %v, %d bytes", class, h, s, len(b))
			}
		}
		for _, class := range []uint8{fscc.FileFsVolumeInformation, fscc.FileFsSizeInformation,
			fscc.FileFsDeviceInformation, fscc.FileFsAttributeInformation, fscc.FileFsFullSizeInformation,
			fscc.FileFsSectorSizeInformation, fscc.FileFsObjectIDInformation, fscc.FileFsControlInformation} {
			if s, _ := c.queryInfo(h, wire.InfoFilesystem, class, 0, 65536); s != wire.StatusSuccess {
				t.Errorf("fs class %d: %v", class, s)
			}
		}
	}
	// FileAlternateNameInformation: the 8.3 name directory listings give.
	if s, b := c.queryInfo(f, wire.InfoFile, fscc.FileAlternateNameInformation, 0, 100); s != wire.StatusSuccess ||
		string(b[4:]) != string(utf16LE("FILE.TXT")) {
		t.Errorf("alternate name: %v %q", s, b)
	}
	// FileNormalizedNameInformation: the path as stored.
	if s, b := c.queryInfo(d, wire.InfoFile, fscc.FileNormalizedNameInformation, 0, 100); s != wire.StatusSuccess ||
		string(b[4:]) != string(utf16LE("dir")) {
		t.Errorf("normalized name: %v %q", s, b)
	}
}

// TestSetInfoBasicTimes: all four times set through FileBasicInformation
// read back exactly, ChangeTime included (it is kept by the server), and a
// zero time or attribute changes nothing (smb2.setinfo).
func TestSetInfoBasicTimes(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	f, s := c.create("t.txt", accessAll, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	const base = 133000000000000000 // 2022, whole seconds
	set := func(cr, ac, wr, ch uint64, attr uint32) wire.Status {
		var b []byte
		for _, v := range []uint64{cr, ac, wr, ch} {
			b = le.AppendUint64(b, v)
		}
		b = le.AppendUint32(b, attr)
		b = le.AppendUint32(b, 0)
		return c.setInfo(f, wire.InfoFile, fscc.FileBasicInformation, 0, b)
	}
	check := func(what string, attr uint32) {
		t.Helper()
		s, b := c.queryInfo(f, wire.InfoFile, fscc.FileBasicInformation, 0, 40)
		if s != wire.StatusSuccess {
			t.Fatal(s)
		}
		for i, want := range []uint64{base + 1e7, base + 2e7, base + 3e7, base + 4e7} {
			if got := le.Uint64(b[8*i:]); got != want {
				t.Errorf("%s: time %d = %d, want %d", what, i, got, want)
			}
		}
		if got := le.Uint32(b[32:]); got != attr {
			t.Errorf("%s: attributes %#x, want %#x", what, got, attr)
		}
	}
	if s := set(base+1e7, base+2e7, base+3e7, base+4e7, fscc.FileAttributeReadonly); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	check("set", fscc.FileAttributeReadonly)
	if s := set(0, 0, 0, 0, fscc.FileAttributeNormal); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	check("zero times", fscc.FileAttributeNormal)
	if s := set(0, 0, 0, 0, fscc.FileAttributeHidden); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s := set(0, 0, 0, 0, 0); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	check("zero attributes", fscc.FileAttributeHidden)
	if s := set(0, 0, 0, 0, fscc.FileAttributeDirectory); s != wire.StatusInvalidParameter {
		t.Errorf("file made a directory: %v, want STATUS_INVALID_PARAMETER", s)
	}
	// A directory listing reports the same ChangeTime.
	d, s := c.create("", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	s, body := c.call(c.queryDirRequest(d, classIDBoth, qdRestart, 0, "t.txt", 65536))
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if got := le.Uint64(body[8+32:]); got != base+4e7 {
		t.Errorf("listing ChangeTime %d, want %d", got, uint64(base+4e7))
	}
}

// TestSecurityDescriptorRoundTrip: a DACL set with SET_INFO comes back from
// QUERY_INFO as set (smb2.setinfo "add a new ACE to the DACL").
func TestSecurityDescriptorRoundTrip(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	f, s := c.create("sd.txt", accessAll, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	const secOwnerGroupDACL = 0x7
	s, orig := c.queryInfo(f, wire.InfoSecurity, 0, secOwnerGroupDACL, 65536)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	// A descriptor with only a DACL: one ACE, Authenticated Users
	// (S-1-5-11), STANDARD_RIGHTS_ALL.
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0}
	ace := append([]byte{0, 0}, le.AppendUint16(nil, uint16(8+len(sid)))...)
	ace = append(le.AppendUint32(ace, 0x001F0000), sid...)
	acl := append([]byte{2, 0}, le.AppendUint16(nil, uint16(8+len(ace)))...)
	acl = append(append(acl, 1, 0, 0, 0), ace...)
	sd := make([]byte, 20)
	sd[0] = 1
	le.PutUint16(sd[2:], 0x8004) // SELF_RELATIVE | DACL_PRESENT
	le.PutUint32(sd[16:], 20)
	sd = append(sd, acl...)
	if s := c.setInfo(f, wire.InfoSecurity, 0, 0x4, sd); s != wire.StatusSuccess {
		t.Fatalf("set DACL: %v", s)
	}
	s, got := c.queryInfo(f, wire.InfoSecurity, 0, 0x4, 65536)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if off := le.Uint32(got[16:]); off == 0 || !bytes.Equal(got[off:], acl) {
		t.Errorf("DACL back: % x, want % x", got, acl)
	}
	// Owner and group are still there.
	s, all := c.queryInfo(f, wire.InfoSecurity, 0, secOwnerGroupDACL, 65536)
	if s != wire.StatusSuccess || le.Uint32(all[4:]) == 0 || le.Uint32(all[8:]) == 0 || len(orig) == 0 {
		t.Errorf("owner/group lost: %v % x", s, all)
	}
	// Too small a buffer: STATUS_BUFFER_TOO_SMALL.
	if s, _ := c.queryInfo(f, wire.InfoSecurity, 0, secOwnerGroupDACL, 1); s != wire.StatusBufferTooSmall {
		t.Errorf("1-byte buffer: %v", s)
	}
	// A descriptor without a DACL sets a NULL DACL, reported as present
	// with no ACL (Windows; smb2.create.nulldacl).
	empty := make([]byte, 20)
	empty[0] = 1
	le.PutUint16(empty[2:], 0x8000)
	if s := c.setInfo(f, wire.InfoSecurity, 0, 0x4, empty); s != wire.StatusSuccess {
		t.Fatalf("set empty SD: %v", s)
	}
	if s, got := c.queryInfo(f, wire.InfoSecurity, 0, 0x4, 65536); s != wire.StatusSuccess ||
		le.Uint16(got[2:])&0x4 == 0 || le.Uint32(got[16:]) != 0 {
		t.Errorf("NULL DACL back: %v % x", s, got)
	}
	// A malformed descriptor is refused.
	if s := c.setInfo(f, wire.InfoSecurity, 0, 0x4, sd[:30]); s == wire.StatusSuccess {
		t.Error("truncated descriptor accepted")
	}
}

// TestSetInfoEAs: an EA with a value is set (its name upper-cased), one with
// an empty value is deleted, and deleting a missing one is not an error.
func TestSetInfoEAs(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	f, s := c.create("ea.txt", accessAll, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	ea := func(name, value string) []byte {
		b := le.AppendUint32(nil, 0)
		b = append(b, 0, byte(len(name)))
		b = le.AppendUint16(b, uint16(len(value)))
		b = append(b, name...)
		b = append(b, 0)
		return append(b, value...)
	}
	if s := c.setInfo(f, wire.InfoFile, fscc.FileFullEaInformation, 0, ea("NewEA", "testme")); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	s, b := c.queryInfo(f, wire.InfoFile, fscc.FileFullEaInformation, 0, 65536)
	if s != wire.StatusSuccess || !bytes.Contains(b, []byte("NEWEA\x00testme")) {
		t.Errorf("EA back: %v %q", s, b)
	}
	if s := c.setInfo(f, wire.InfoFile, fscc.FileFullEaInformation, 0, ea("newea", "")); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s, _ := c.queryInfo(f, wire.InfoFile, fscc.FileFullEaInformation, 0, 65536); s != wire.StatusNoEASOnFile {
		t.Errorf("after delete: %v, want STATUS_NO_EAS_ON_FILE", s)
	}
	if s := c.setInfo(f, wire.InfoFile, fscc.FileFullEaInformation, 0, ea("ZeroEA", "")); s != wire.StatusSuccess {
		t.Errorf("delete of a missing EA: %v", s)
	}
}
