package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"smb3d/smb3/wire"
)

// TestRawClient is the serverTester's own check: negotiate, NTLMv2 logon
// with a verified response signature, tree connect, and file I/O that lands
// on disk.
func TestRawClient(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	if c.dialect != wire.Dialect311 {
		t.Errorf("dialect %v, want 3.1.1", c.dialect)
	}
	if s := c.echo(); s != wire.StatusSuccess {
		t.Fatalf("echo: %v", s)
	}
	c.roundTrip("hello.txt")
	got, err := os.ReadFile(filepath.Join(st.root, "hello.txt"))
	if err != nil || !bytes.Equal(got, []byte("round trip hello.txt")) {
		t.Fatalf("on disk: %q, %v", got, err)
	}
	// Signed requests are verified and accepted.
	c.sign = true
	c.roundTrip("signed.txt")
}

// TestCompoundRelated sends a related CREATE + WRITE + READ + CLOSE chain
// (MS-SMB2 3.3.5.2.7.2), the shape of FuzzServer's seeds, and checks each
// response of the chain.
func TestCompoundRelated(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	all := wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)}
	msgs := [][]byte{
		c.createRequest("chain.txt", accessRW, fileOverwriteIf, optNonDirectory),
		c.writeRequest(all, 0, []byte("chained")),
		c.readRequest(all, 0, 100),
		c.closeRequest(all),
	}
	var chain []byte
	for i, m := range msgs {
		if i > 0 {
			le.PutUint32(m[16:], wire.FlagRelatedOperations)
		}
		for i < len(msgs)-1 && len(m)%8 != 0 {
			m = append(m, 0)
		}
		if i < len(msgs)-1 {
			le.PutUint32(m[20:], uint32(len(m)))
		}
		chain = append(chain, m...)
	}
	if err := c.writeFrame(chain); err != nil {
		t.Fatal(err)
	}
	resp, err := c.readFrame(ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Command{wire.CmdCreate, wire.CmdWrite, wire.CmdRead, wire.CmdClose}
	for i, rest := 0, resp; ; i++ {
		n, more, err := wire.SplitCompound(rest)
		if err != nil {
			t.Fatalf("response chain: %v", err)
		}
		h := wire.Header(rest[:n])
		if i >= len(want) || h.Command() != want[i] || wire.Status(h.Status()) != wire.StatusSuccess {
			t.Fatalf("response %d: %v %v", i, h.Command(), wire.Status(h.Status()))
		}
		if h.Command() == wire.CmdRead {
			body := h[wire.HeaderSize:]
			off, l := int(body[2]), int(le.Uint32(body[4:]))
			if got := string(rest[off : off+l]); got != "chained" {
				t.Errorf("READ in the chain: %q", got)
			}
		}
		if !more {
			if i != len(want)-1 {
				t.Fatalf("%d responses, want %d", i+1, len(want))
			}
			break
		}
		rest = rest[n:]
	}
}

// TestLogoff: after LOGOFF the session's id and file ids are dead, on this
// connection and any other.
func TestLogoff(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	f, s := c.create("logoff.txt", accessRW, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	m := c.header(wire.CmdLogoff, 1)
	m = le.AppendUint16(m, 4)
	m = le.AppendUint16(m, 0)
	if s, _ := c.call(m); s != wire.StatusSuccess {
		t.Fatalf("LOGOFF: %v", s)
	}
	if _, s := c.read(f, 0, 10); s != wire.StatusUserSessionDeleted {
		t.Errorf("READ after LOGOFF: %v, want STATUS_USER_SESSION_DELETED", s)
	}
	if s := c.treeConnect(testShare); s != wire.StatusUserSessionDeleted {
		t.Errorf("TREE_CONNECT after LOGOFF: %v, want STATUS_USER_SESSION_DELETED", s)
	}
	// The connection itself lives on: log on again.
	if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
		t.Fatalf("second logon: %v", s)
	}
	if s := c.treeConnect(testShare); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if _, s := c.read(f, 0, 10); s == wire.StatusSuccess {
		t.Errorf("the old file id still works in a new session")
	}
	c.roundTrip("logoff.txt")
}
