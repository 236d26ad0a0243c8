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
