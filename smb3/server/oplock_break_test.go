package server_test

import (
	"bytes"
	"testing"

	"smb3d/smb3/wire"
)

// Oplock levels and lease states as the wire carries them.
const (
	tOplockNone  = 0x00
	tOplockII    = 0x01
	tOplockBatch = 0x09
	tOplockLease = 0xFF
	tLeaseRWH    = 0x07
	tLeaseRH     = 0x03
)

// createWith builds a CREATE with an oplock request, a share mode and
// create contexts (MS-SMB2 2.2.13).
func createWith(c *client, name string, access, disp, share uint32, oplock uint8, ctxs []wire.CreateContext) []byte {
	b := c.createRequest(name, access, disp, 0)
	h := wire.HeaderSize
	b[h+3] = oplock
	le.PutUint32(b[h+32:], share)
	if len(ctxs) > 0 {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		off := len(b)
		b = wire.AppendCreateContexts(b, ctxs)
		le.PutUint32(b[h+48:], uint32(off))
		le.PutUint32(b[h+52:], uint32(len(b)-off))
	}
	return b
}

// createResult is what a test needs from a CREATE response.
type createResult struct {
	status wire.Status
	oplock uint8
	fid    wire.FileID
	ctxs   map[string][]byte
}

func parseCreate(t *testing.T, s wire.Status, body []byte) createResult {
	t.Helper()
	r := createResult{status: s}
	if s != wire.StatusSuccess {
		return r
	}
	if len(body) < 88 {
		t.Fatalf("short CREATE response: %d bytes", len(body))
	}
	r.oplock = body[2]
	r.fid = wire.FileID{Persistent: le.Uint64(body[64:]), Volatile: le.Uint64(body[72:])}
	r.ctxs = map[string][]byte{}
	off, n := int(le.Uint32(body[80:])), int(le.Uint32(body[84:]))
	if n > 0 {
		// Offsets count from the start of the SMB2 header.
		start := off - wire.HeaderSize
		if start < 0 || start+n > len(body) {
			t.Fatalf("create contexts at %d+%d outside a %d-byte body", off, n, len(body))
		}
		ctxs, err := wire.ParseCreateContexts(body[start : start+n])
		if err != nil {
			t.Fatalf("response contexts: %v", err)
		}
		for _, c := range ctxs {
			r.ctxs[c.Name] = c.Data
		}
	}
	return r
}

// notification reads the next unsolicited OPLOCK_BREAK from the server.
func notification(t *testing.T, c *client) []byte {
	t.Helper()
	m, err := c.readFrame(ioTimeout)
	if err != nil {
		t.Fatalf("waiting for a break notification: %v", err)
	}
	h := wire.Header(m)
	if h.Command() != wire.CmdOplockBreak || h.MessageID() != ^uint64(0) {
		t.Fatalf("got %v (message id %#x), want an OPLOCK_BREAK notification", h.Command(), h.MessageID())
	}
	return m[wire.HeaderSize:]
}

func oplockAck(c *client, fid wire.FileID, level uint8) []byte {
	b := c.header(wire.CmdOplockBreak, 1)
	b = le.AppendUint16(b, 24)
	b = append(b, level, 0)
	b = le.AppendUint32(b, 0)
	return appendFID(b, fid)
}

func leaseAck(c *client, key [16]byte, state uint32) []byte {
	b := c.header(wire.CmdOplockBreak, 1)
	b = le.AppendUint16(b, 36)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = append(b, key[:]...)
	b = le.AppendUint32(b, state)
	return le.AppendUint64(b, 0)
}

func leaseContext(key [16]byte, state uint32) wire.CreateContext {
	d := append([]byte(nil), key[:]...)
	d = le.AppendUint32(d, state)
	d = le.AppendUint32(d, 0)
	d = le.AppendUint64(d, 0)
	return wire.CreateContext{Name: "RqLs", Data: d}
}

const (
	tAccessAll  = 0x001F01FF
	tShareAll   = 7
	tDispOpenIf = 3
	tDispOpen   = 1
)

// TestOplockBreakAck: a second open of a file with a batch oplock goes
// async while the holder is asked to break to level II, completes once
// the holder acknowledges, and gets level II itself (MS-SMB2 3.3.4.6,
// 3.3.5.22.1).
func TestOplockBreakAck(t *testing.T) {
	st := newServerTester(t)
	c1, c2 := st.login(), st.login()
	r1 := doCreate(t, c1, createWith(c1, "batch.dat", tAccessAll, tDispOpenIf, tShareAll, tOplockBatch, nil))
	if r1.status != wire.StatusSuccess || r1.oplock != tOplockBatch {
		t.Fatalf("first open: %v, oplock %#x; want success with a batch oplock", r1.status, r1.oplock)
	}
	req := createWith(c2, "batch.dat", tAccessAll, tDispOpen, tShareAll, tOplockBatch, nil)
	c2.send(req)

	n := notification(t, c1)
	if got := (wire.FileID{Persistent: le.Uint64(n[8:]), Volatile: le.Uint64(n[16:])}); got != r1.fid || n[2] != tOplockII {
		t.Fatalf("break for %v to %#x; want %v to level II", got, n[2], r1.fid)
	}
	if s, body := c1.call(oplockAck(c1, r1.fid, tOplockII)); s != wire.StatusSuccess || body[2] != tOplockII {
		t.Fatalf("acknowledgment: %v", s)
	}
	h := c2.recv()
	r2 := parseCreate(t, wire.Status(h.Status()), h[wire.HeaderSize:])
	if r2.status != wire.StatusSuccess || r2.oplock != tOplockII {
		t.Fatalf("second open: %v, oplock %#x; want success with level II", r2.status, r2.oplock)
	}
	// A write breaks every level II oplock, the writer's own included,
	// to none without an acknowledgment; the writer's notification comes
	// before the WRITE response.
	c2.send(c2.writeRequest(r2.fid, 0, []byte("x")))
	if n := notification(t, c2); n[2] != tOplockNone {
		t.Fatalf("write broke the writer to %#x, want none", n[2])
	}
	if h := c2.recv(); h.Command() != wire.CmdWrite || wire.Status(h.Status()) != wire.StatusSuccess {
		t.Fatalf("write: %v %v", h.Command(), wire.Status(h.Status()))
	}
	if n := notification(t, c1); n[2] != tOplockNone {
		t.Fatalf("write broke holder 1 to %#x, want none", n[2])
	}
}

// TestLeaseBreakKeepsCachedWrite: two clients with leases on one file; the
// second open breaks the first lease from RWH to RH, the holder flushes its
// cached write before acknowledging, and the data is there for the second
// client (no data lost across the break).
func TestLeaseBreakKeepsCachedWrite(t *testing.T) {
	st := newServerTester(t)
	c1, c2 := st.login(), st.login()
	k1 := [16]byte{1, 2, 3}
	k2 := [16]byte{4, 5, 6}
	r1 := doCreate(t, c1, createWith(c1, "lease.dat", tAccessAll, tDispOpenIf, tShareAll, tOplockLease, []wire.CreateContext{leaseContext(k1, tLeaseRWH)}))
	if r1.status != wire.StatusSuccess || r1.oplock != tOplockLease || le.Uint32(r1.ctxs["RqLs"][16:]) != tLeaseRWH {
		t.Fatalf("first open: %v, oplock %#x; want an RWH lease", r1.status, r1.oplock)
	}
	c2.send(createWith(c2, "lease.dat", tAccessAll, tDispOpen, tShareAll, tOplockLease, []wire.CreateContext{leaseContext(k2, tLeaseRWH)}))

	n := notification(t, c1)
	if le.Uint16(n) != 44 || !bytes.Equal(n[8:24], k1[:]) || le.Uint32(n[24:]) != tLeaseRWH || le.Uint32(n[28:]) != tLeaseRH || le.Uint32(n[4:])&1 == 0 {
		t.Fatalf("lease break %x; want key %x RWH to RH with an acknowledgment required", n, k1)
	}
	// The holder writes back what it cached, then acknowledges.
	cached := []byte("written under a write-caching lease")
	if s := c1.write(r1.fid, 0, cached); s != wire.StatusSuccess {
		t.Fatalf("flush before the acknowledgment: %v", s)
	}
	if s, _ := c1.call(leaseAck(c1, k1, tLeaseRH)); s != wire.StatusSuccess {
		t.Fatalf("lease acknowledgment: %v", s)
	}
	h := c2.recv()
	r2 := parseCreate(t, wire.Status(h.Status()), h[wire.HeaderSize:])
	if r2.status != wire.StatusSuccess || le.Uint32(r2.ctxs["RqLs"][16:]) != tLeaseRH {
		t.Fatalf("second open: %v; want an RH lease", r2.status)
	}
	got, s := c2.read(r2.fid, 0, 4096)
	if s != wire.StatusSuccess || !bytes.Equal(got, cached) {
		t.Fatalf("read after the break: %v %q, want %q", s, got, cached)
	}
}

// doCreate sends a CREATE and parses its response.
func doCreate(t *testing.T, c *client, req []byte) createResult {
	t.Helper()
	s, body := c.call(req)
	return parseCreate(t, s, body)
}
