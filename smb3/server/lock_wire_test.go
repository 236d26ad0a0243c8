package server_test

import (
	"testing"

	"smb3d/smb3/wire"
)

// lockRequest is an SMB2 LOCK of one element (MS-SMB2 2.2.26).
func (c *client) lockRequest(f wire.FileID, off, n uint64, flags uint32) []byte {
	b := c.header(wire.CmdLock, 1)
	b = le.AppendUint16(b, 48) // StructureSize
	b = le.AppendUint16(b, 1)  // LockCount
	b = le.AppendUint32(b, 0)  // LockSequence
	b = appendFID(b, f)
	b = le.AppendUint64(b, off)
	b = le.AppendUint64(b, n)
	b = le.AppendUint32(b, flags)
	return le.AppendUint32(b, 0) // Reserved
}

// TestBlockingLock drives a blocking LOCK over the wire: it goes async,
// CANCEL ends it with STATUS_CANCELLED, the holder's unlock grants it, and
// closing its handle ends it with STATUS_RANGE_NOT_LOCKED
// (smb2.lock.async, smb2.lock.cancel).
func TestBlockingLock(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	h1, s := c.create("lock.txt", accessRW, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("create: %v", s)
	}
	h2, s := c.create("lock.txt", accessRW, fileOpen, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("second open: %v", s)
	}
	expect := func(what string, got, want wire.Status) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
	const ex, un = wire.LockFlagExclusive, wire.LockFlagUnlock
	s, _ = c.call(c.lockRequest(h1, 100, 10, ex))
	expect("lock h1", s, wire.StatusSuccess)

	id := c.pending(c.lockRequest(h2, 100, 10, ex))
	c.send(c.cancelRequest(id))
	h := c.recv()
	expect("cancelled lock", wire.Status(h.Status()), wire.StatusCancelled)

	id = c.pending(c.lockRequest(h2, 100, 10, ex))
	s, _ = c.call(c.lockRequest(h2, 100, 10, un))
	expect("unlock of the pending range", s, wire.StatusRangeNotLocked)
	c.send(c.lockRequest(h1, 100, 10, un))
	for range 2 {
		h = c.recv()
		switch {
		case h.AsyncID() == id:
			expect("granted lock", wire.Status(h.Status()), wire.StatusSuccess)
		default:
			expect("unlock h1", wire.Status(h.Status()), wire.StatusSuccess)
		}
	}

	id = c.pending(c.lockRequest(h1, 105, 1, ex))
	c.send(c.closeRequest(h1))
	for range 2 {
		h = c.recv()
		switch {
		case h.AsyncID() == id:
			expect("lock of a closed handle", wire.Status(h.Status()), wire.StatusRangeNotLocked)
		default:
			expect("close h1", wire.Status(h.Status()), wire.StatusSuccess)
		}
	}
	expect("close h2", c.close(h2), wire.StatusSuccess)
}
