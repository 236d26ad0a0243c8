package server_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"smb3d/transport"
)

// releaseConn is a pooling transport connection that hands out one
// message, then waits to be closed, and records what is released.
type releaseConn struct {
	msg      []byte
	read     bool
	closed   chan struct{}
	once     sync.Once
	mu       sync.Mutex
	released [][]byte
}

func (c *releaseConn) ReadMessage() ([]byte, error) {
	c.mu.Lock()
	first := !c.read
	c.read = true
	c.mu.Unlock()
	if first {
		return c.msg, nil
	}
	<-c.closed
	return nil, net.ErrClosed
}

func (c *releaseConn) WriteMessage(bufs ...[]byte) error { return nil }
func (c *releaseConn) SetMaxMessage(n int)               {}
func (c *releaseConn) Close() error                      { c.once.Do(func() { close(c.closed) }); return nil }
func (c *releaseConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 445}
}
func (c *releaseConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (c *releaseConn) Caps() transport.Caps { return 0 }
func (c *releaseConn) Name() string         { return "test" }

func (c *releaseConn) Release(msg []byte) {
	c.mu.Lock()
	c.released = append(c.released, msg)
	c.mu.Unlock()
}

type releaseListener struct {
	conns  chan transport.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *releaseListener) Accept() (transport.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *releaseListener) Close() error { l.once.Do(func() { close(l.closed) }); return nil }
func (l *releaseListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 445}
}

// TestMessageReleasedOnErrorPaths: a message that ends its connection
// (bad header, unsupported compression, undecryptable transform, a request
// before NEGOTIATE, a bad SMB1 negotiate) is still handed back to a pooling
// transport, exactly once: the io_uring transport's node-bound buffers
// stay mapped until they are.
func TestMessageReleasedOnErrorPaths(t *testing.T) {
	st := newServerTester(t)
	l := &releaseListener{conns: make(chan transport.Conn), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- st.srv.Serve(l) }()
	t.Cleanup(func() { l.Close(); <-served })

	msg := func(proto string, cmd uint16, structSize uint16) []byte {
		m := make([]byte, 64+16)
		copy(m, proto)
		le.PutUint16(m[4:], structSize)
		le.PutUint16(m[12:], cmd)
		return m
	}
	cases := []struct {
		name string
		msg  []byte
	}{
		{"bad header", msg("\xfeSMB", 0, 0)},
		{"compressed", msg("\xfcSMB", 0, 0)},
		{"bad transform", msg("\xfdSMB", 0, 0)},
		{"before negotiate", msg("\xfeSMB", 5, 64)},
		{"bad SMB1 negotiate", msg("\xffSMB", 0x72, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &releaseConn{msg: tc.msg, closed: make(chan struct{})}
			l.conns <- c
			select {
			case <-c.closed:
			case <-time.After(ioTimeout):
				t.Fatal("the server did not close the connection")
			}
			deadline := time.Now().Add(ioTimeout)
			for {
				c.mu.Lock()
				n := len(c.released)
				var same bool
				if n == 1 {
					same = &c.released[0][0] == &tc.msg[0]
				}
				c.mu.Unlock()
				if n == 1 && same {
					break
				}
				if n > 1 || (n == 1 && !same) || time.Now().After(deadline) {
					t.Fatalf("released %d message(s) (the one read: %v), want it once", n, same)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// No second release arrives late.
			time.Sleep(20 * time.Millisecond)
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.released) != 1 {
				t.Fatalf("released %d times, want once", len(c.released))
			}
		})
	}
}
