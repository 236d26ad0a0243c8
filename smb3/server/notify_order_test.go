//go:build linux

package server_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

// TestChangeNotifyOldestFirst: with two CHANGE_NOTIFY requests pending on
// one handle, a change completes the oldest with that change, and the next
// change completes the other one (Windows: smb2.notify.mask-change expects
// one change per request); neither request is left with an empty answer.
func TestChangeNotifyOldestFirst(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	dir, s := c.create("", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("open root: %v", s)
	}
	first := c.pending(c.changeNotifyRequest(dir))
	second := c.pending(c.changeNotifyRequest(dir))
	names := map[uint64]string{}
	for i, name := range []string{"one.txt", "two.txt"} {
		if err := os.WriteFile(filepath.Join(st.root, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		h := c.recv()
		if wire.Status(h.Status()) != wire.StatusSuccess {
			t.Fatalf("completion %d: %v", i, wire.Status(h.Status()))
		}
		body := h[wire.HeaderSize:]
		off, n := int(le.Uint16(body[2:]))-wire.HeaderSize, int(le.Uint32(body[4:]))
		evs, err := fscc.DecodeNotifyInformation(body[off : off+n])
		if err != nil || len(evs) != 1 {
			t.Fatalf("completion %d: %d changes, err %v", i, len(evs), err)
		}
		names[h.AsyncID()] = evs[0].Name
		time.Sleep(20 * time.Millisecond)
	}
	if names[first] != "one.txt" || names[second] != "two.txt" {
		t.Fatalf("changes by request: %v (first %#x, second %#x)", names, first, second)
	}
}

func renameInfo(to string) []byte {
	n := utf16LE(to)
	b := make([]byte, 20)
	le.PutUint32(b[16:], uint32(len(n)))
	return append(b, n...)
}

// TestRenameParentShare: a rename opens the target's directory for
// FILE_WRITE_DATA sharing read and write (as Windows' I/O manager does),
// so an open of that directory without DELETE access that shares write lets
// renames into and inside it through, and one with DELETE access does not.
func TestRenameParentShare(t *testing.T) {
	st := newServerTester(t)
	if err := os.MkdirAll(filepath.Join(st.root, "d", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a", "sub/b"} {
		if err := os.WriteFile(filepath.Join(st.root, "d", f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := st.login()
	const fileAllNoDelete = 0x1ff                                          // SEC_FILE_ALL: every file right, no DELETE
	d, s := c.createShare(`d`, fileAllNoDelete, 3, fileOpen, optDirectory) // share read|write
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	for _, tc := range []struct{ from, to string }{{`d\a`, `d\a2`}, {`d\sub\b`, `d\b2`}} {
		f, s := c.create(tc.from, accessAll, fileOpen, optNonDirectory)
		if s != wire.StatusSuccess {
			t.Fatal(s)
		}
		if s := c.setInfo(f, 1, fscc.FileRenameInformation, 0, renameInfo(tc.to)); s != wire.StatusSuccess {
			t.Fatalf("rename %s -> %s with the directory open without DELETE: %v", tc.from, tc.to, s)
		}
		c.close(f)
	}
	c.close(d)
	d, s = c.createShare(`d`, accessAll, 7, fileOpen, optDirectory) // DELETE access, sharing all
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	f, s := c.create(`d\a2`, accessAll, fileOpen, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s := c.setInfo(f, 1, fscc.FileRenameInformation, 0, renameInfo(`d\a3`)); s != wire.StatusSharingViolation {
		t.Fatalf("rename with the directory open with DELETE: %v, want a sharing violation", s)
	}
}

// createShare is create with a share mode.
func (c *client) createShare(name string, access, share, disp, opts uint32) (wire.FileID, wire.Status) {
	c.t.Helper()
	m := c.createRequest(name, access, disp, opts)
	le.PutUint32(m[wire.HeaderSize+32:], share)
	s, body := c.call(m)
	if s != wire.StatusSuccess {
		return wire.FileID{}, s
	}
	return wire.FileID{Persistent: le.Uint64(body[64:]), Volatile: le.Uint64(body[72:])}, s
}
