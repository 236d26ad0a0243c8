// Package tcp carries SMB2 over TCP with the 4-byte Direct TCP transport
// header (MS-SMB2 2.1): a zero byte then a 24-bit big-endian length.
package tcp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"smb3d/transport"
)

// MaxFrame is the largest length the 24-bit header can carry.
const MaxFrame = 1<<24 - 1

// Listener accepts TCP connections.
type Listener struct{ l net.Listener }

// Listen listens on a TCP address.
func Listen(addr string) (*Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{l: l}, nil
}

// NewListener wraps an existing net.Listener (tests use in-memory ones).
func NewListener(l net.Listener) *Listener { return &Listener{l: l} }

func (l *Listener) Accept() (transport.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
	return NewConn(c), nil
}
func (l *Listener) Close() error   { return l.l.Close() }
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Conn is an SMB2 Direct TCP connection over any net.Conn.
type Conn struct {
	c   net.Conn
	r   *bufio.Reader
	max atomic.Int64

	wmu sync.Mutex
}

// NewConn wraps a net.Conn.
func NewConn(c net.Conn) *Conn {
	tc := &Conn{c: c, r: bufio.NewReaderSize(c, 8<<10)}
	tc.max.Store(MaxFrame)
	return tc
}

func (c *Conn) SetMaxMessage(n int) {
	if n > MaxFrame {
		n = MaxFrame
	}
	c.max.Store(int64(n))
}

func (c *Conn) ReadMessage() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 0 {
		return nil, fmt.Errorf("tcp: bad transport header byte %#x", hdr[0])
	}
	n := int64(hdr[1])<<16 | int64(hdr[2])<<8 | int64(hdr[3])
	if n > c.max.Load() {
		return nil, fmt.Errorf("%w: %d > %d", transport.ErrMessageTooLarge, n, c.max.Load())
	}
	if n == 0 {
		return nil, fmt.Errorf("tcp: empty message")
	}
	buf := getBuf(int(n))
	if _, err := io.ReadFull(c.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

func (c *Conn) WriteMessage(bufs ...[]byte) error {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if n > MaxFrame {
		return fmt.Errorf("%w: %d", transport.ErrMessageTooLarge, n)
	}
	hdr := [4]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	v := make(net.Buffers, 0, len(bufs)+1)
	v = append(v, hdr[:])
	v = append(v, bufs...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := v.WriteTo(c.c)
	return err
}

func (c *Conn) Close() error         { return c.c.Close() }
func (c *Conn) LocalAddr() net.Addr  { return c.c.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }
func (c *Conn) Caps() transport.Caps { return 0 }
func (c *Conn) Name() string         { return "tcp" }

// Large message buffers are pooled by power-of-two size class, so a stream
// of 1-8 MiB WRITEs does not allocate (and zero) a buffer per message.
const minPooled = 64 << 10

var bufPools [25]sync.Pool // classes 2^16 .. 2^24

func class(n int) int {
	c := 16
	for 1<<c < n {
		c++
	}
	return c
}

func getBuf(n int) []byte {
	if n < minPooled {
		return make([]byte, n)
	}
	c := class(n)
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// Release returns a buffer from ReadMessage for reuse once the server is
// done with the message (and everything that points into it).
func (c *Conn) Release(b []byte) {
	if cap(b) < minPooled || cap(b)&(cap(b)-1) != 0 || cap(b) > 1<<24 {
		return
	}
	b = b[:cap(b)]
	bufPools[class(cap(b))].Put(&b)
}
