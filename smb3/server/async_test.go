package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"smb3d/smb3/wire"
)

func (c *client) changeNotifyRequest(f wire.FileID) []byte {
	m := c.header(wire.CmdChangeNotify, 1)
	m = le.AppendUint16(m, 32)   // StructureSize
	m = le.AppendUint16(m, 0)    // Flags
	m = le.AppendUint32(m, 4096) // OutputBufferLength
	m = appendFID(m, f)
	m = le.AppendUint32(m, 0x17) // CompletionFilter: FILE_NAME|DIR_NAME|ATTRIBUTES|LAST_WRITE
	return le.AppendUint32(m, 0) // Reserved
}

// cancelRequest is an async CANCEL for asyncID (MS-SMB2 2.2.30); CANCEL uses
// no message id of its own.
func (c *client) cancelRequest(asyncID uint64) []byte {
	var b []byte
	b = append(b, wire.ProtocolID...)
	b = le.AppendUint16(b, 64)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, uint16(wire.CmdCancel))
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, wire.FlagAsyncCommand)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, asyncID)
	b = le.AppendUint64(b, c.sessID)
	b = append(b, make([]byte, 16)...)
	b = le.AppendUint16(b, 4)
	return le.AppendUint16(b, 0)
}

// pending sends a request that must go async and returns its AsyncId.
func (c *client) pending(m []byte) uint64 {
	c.t.Helper()
	c.send(m)
	f, err := c.readFrame(ioTimeout)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	h := wire.Header(f)
	if h.Validate() != nil || !h.IsAsync() || wire.Status(h.Status()) != wire.StatusPending {
		c.t.Fatalf("want an interim STATUS_PENDING, got %v async=%v", wire.Status(h.Status()), h.IsAsync())
	}
	c.credits += int(h.CreditRequest())
	return h.AsyncID()
}

// TestChangeNotifyCancel: CHANGE_NOTIFY goes async (STATUS_PENDING), CANCEL
// completes it with STATUS_CANCELLED, a change completes another one, and a
// connection closed with one pending does not disturb other clients.
func TestChangeNotifyCancel(t *testing.T) {
	st := newServerTester(t)
	by := st.bystander()
	c := st.login()
	dir, s := c.create("", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("open root: %v", s)
	}
	notify := c.changeNotifyRequest(dir)
	id := c.pending(notify)
	c.send(c.cancelRequest(id))
	h := c.recv()
	if h.Command() != wire.CmdChangeNotify || wire.Status(h.Status()) != wire.StatusCancelled || h.AsyncID() != id {
		t.Fatalf("after CANCEL: %v %v async id %#x (want %#x)", h.Command(), wire.Status(h.Status()), h.AsyncID(), id)
	}

	c.close(dir)
	// A fresh open: re-arming the same one races with event delivery (see
	// TestChangeNotifyRearmRace).
	dir, s = c.create("", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("open root: %v", s)
	}
	id = c.pending(c.changeNotifyRequest(dir))
	if err := os.WriteFile(filepath.Join(st.root, "new.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h = c.recv()
	if h.Command() != wire.CmdChangeNotify || h.AsyncID() != id {
		t.Fatalf("completion: %v async id %#x", h.Command(), h.AsyncID())
	}
	if s := wire.Status(h.Status()); s != wire.StatusSuccess && s != wire.StatusNotifyEnumDir {
		t.Errorf("completion status %v", s)
	}
	c.close(dir)

	// Many connections leave notifies pending and go away.
	for i := range 20 {
		v := st.login()
		d, s := v.create("", accessRead, fileOpen, optDirectory)
		if s != wire.StatusSuccess {
			t.Fatalf("open root: %v", s)
		}
		v.pending(v.changeNotifyRequest(d))
		v.c.Close()
		if i%5 == 0 {
			by.check(t, fmt.Sprintf("abandoned notify %d", i))
		}
	}
	time.Sleep(100 * time.Millisecond)
	by.check(t, "abandoned notifies")
}

// TestMaxOpensPerSession: opens beyond the limit get
// STATUS_INSUFFICIENT_RESOURCES, and closing one makes room.
func TestMaxOpensPerSession(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) { c.MaxOpensPerSession = 5 })
	c := st.login()
	var fids []wire.FileID
	for i := range 5 {
		f, s := c.create(fmt.Sprintf("o%d.txt", i), accessRW, fileOverwriteIf, optNonDirectory)
		if s != wire.StatusSuccess {
			t.Fatalf("open %d: %v", i, s)
		}
		fids = append(fids, f)
	}
	if _, s := c.create("o5.txt", accessRW, fileOverwriteIf, optNonDirectory); s != wire.StatusInsufficientResources {
		t.Fatalf("open beyond the limit: %v, want STATUS_INSUFFICIENT_RESOURCES", s)
	}
	c.close(fids[0])
	if _, s := c.create("o5.txt", accessRW, fileOverwriteIf, optNonDirectory); s != wire.StatusSuccess {
		t.Fatalf("open after a close: %v", s)
	}
}

// TestMaxConnections: connections beyond the limit are closed at once,
// and the ones inside it keep working.
func TestMaxConnections(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) { c.MaxConnections = 3 })
	a, b := st.login(), st.login()
	extra := st.dial() // the third, allowed
	over := st.dial()  // the fourth
	over.writeFrame(over.negotiateRequest())
	if s, err := over.expectDisconnect(false); err != nil {
		t.Errorf("connection over the limit: %v (%v)", err, s)
	}
	extra.negotiate()
	a.roundTrip("a.txt")
	b.roundTrip("b.txt")
	// Closing one makes room for another.
	extra.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for st.srv.NumConns() > 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st.login().roundTrip("c.txt")
}

// TestChangeNotifyRearmRace: a second CHANGE_NOTIFY on the same open sets
// notifyWatch.filter under w.mu (notifyWatchFor), while the inotify reader
// reads it in notifier.dispatch under n.mu only: a data race (go test -race)
// whenever events arrive while a client re-arms its notify, which clients
// do after every completion.
func TestChangeNotifyRearmRace(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	dir, s := c.create("", accessRead, fileOpen, optDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("open root: %v", s)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.WriteFile(filepath.Join(st.root, fmt.Sprintf("churn-%d", i%8)), []byte("x"), 0o644)
		}
	}()
	for range 50 {
		m := c.changeNotifyRequest(dir)
		c.send(m)
		h := c.recv() // the completion (events are flowing), or the interim skipped by recv
		if h.Command() != wire.CmdChangeNotify {
			t.Fatalf("got %v", h.Command())
		}
	}
	close(stop)
	<-done
}
