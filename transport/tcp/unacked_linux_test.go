//go:build linux

package tcp

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestUnacked checks SIOCOUTQ through Conn.Unacked: bytes the peer does not
// read stay unacknowledged only until its kernel takes them, so on loopback
// the count reaches zero.
func TestUnacked(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- nil
			return
		}
		done <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc := <-done
	if sc == nil {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	c := NewConn(sc)
	if err := c.WriteMessage(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, cc)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Unacked()
		if err != nil {
			t.Fatalf("Unacked: %v", err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Unacked = %d after 5 s on loopback", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	if _, err := c.Unacked(); err == nil {
		t.Errorf("Unacked on a closed connection: no error")
	}
}
