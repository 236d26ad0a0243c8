// Package tcp carries SMB2 over TCP with the 4-byte Direct TCP transport
// header (MS-SMB2 2.1): a zero byte then a 24-bit big-endian length.
package tcp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"smb3d/numa"
	"smb3d/transport"
)

// MaxFrame is the largest length the 24-bit header can carry.
const MaxFrame = 1<<24 - 1

// Listener accepts TCP connections.
type Listener struct {
	l  net.Listener
	pl *numa.Placement
}

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

// SetPlacement gives the listener's connections large message buffers bound
// to the NUMA node of the interface each was accepted on (see Conn.NUMANode:
// the netpoller cannot pin the reading thread, only place the buffers).
// Call it before Accept.
func (l *Listener) SetPlacement(pl *numa.Placement) { l.pl = pl }

func (l *Listener) Accept() (transport.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
	nc := NewConn(c)
	nc.place(l.pl)
	return nc, nil
}
func (l *Listener) Close() error   { return l.l.Close() }
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Conn is an SMB2 Direct TCP connection over any net.Conn.
type Conn struct {
	c   net.Conn
	r   *bufio.Reader
	max atomic.Int64
	// bufs: node-bound buffers for messages over 64 KiB (the shared pool
	// of the node of the interface the connection came in on); nil when
	// not placed. Set before the connection is handed out.
	bufs *numa.Pool

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
	buf := c.msgBuf(int(n))
	if _, err := io.ReadFull(c.r, buf); err != nil {
		c.Release(buf)
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

// NUMANode is the node the connection's large message buffers are bound
// to, or -1. The netpoller reads on whatever thread the runtime picks: only
// the buffers are placed, not the thread (the io_uring transport pins both).
func (c *Conn) NUMANode() int {
	if c.bufs == nil {
		return numa.Unknown
	}
	return c.bufs.Node()
}

// NodeMemory lists the node-bound buffers of the connection's node pool
// (shared by the netpoller connections on that node); nil when not placed.
func (c *Conn) NodeMemory() []numa.Allocation {
	if c.bufs == nil {
		return nil
	}
	return c.bufs.Mappings()
}

// place gives c the shared buffer pool of the node pl picks for its local
// address; nothing when pl places nothing.
func (c *Conn) place(pl *numa.Placement) {
	if pl == nil {
		return
	}
	ta, ok := c.c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return
	}
	a, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return
	}
	if node := pl.ForLocalAddr(a.Unmap()); node != numa.Unknown {
		c.bufs = nodePool(node)
	}
}

// nodePools are the netpoller's buffer pools, one per node, shared by its
// connections and kept for the life of the process (idle memory bounded by
// the pool's MaxIdle).
var nodePools struct {
	sync.Mutex
	m map[int]*numa.Pool
}

func nodePool(node int) *numa.Pool {
	nodePools.Lock()
	defer nodePools.Unlock()
	if nodePools.m == nil {
		nodePools.m = make(map[int]*numa.Pool)
	}
	p := nodePools.m[node]
	if p == nil {
		p = numa.NewPool(node, numa.PoolConfig{MinSize: nodeMinMsg, MaxSize: MaxFrame + 1})
		nodePools.m[node] = p
	}
	return p
}

// nodeMinMsg is the smallest message taken from a node pool: above the
// server's limit before authentication (64 KiB), so a message that is never
// released (the server drops the connection on some errors without
// releasing it) leaks node memory only to an authenticated peer, one
// message per connection it loses.
const nodeMinMsg = 64<<10 + 1

// msgBuf is a buffer for an n-byte message: from the node pool when the
// connection is placed and the message is large, else the heap pools.
func (c *Conn) msgBuf(n int) []byte {
	if c.bufs != nil && n >= nodeMinMsg {
		if b, err := c.bufs.Get(n); err == nil {
			return b
		}
	}
	return getBuf(n)
}

func (c *Conn) Close() error         { return c.c.Close() }
func (c *Conn) LocalAddr() net.Addr  { return c.c.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }
func (c *Conn) Caps() transport.Caps { return 0 }
func (c *Conn) Name() string         { return "tcp" }

// Large message buffers are pooled by size class: a power of two plus a
// page, as the node pools (numa.ClassSize), so a stream of 1-8 MiB WRITEs
// does not allocate (and zero) a buffer per message, and an 8 MiB WRITE
// (8 MiB + 112 bytes of headers) takes 8 MiB + 4 KiB, not 16 MiB.
const (
	minPooled = 64 << 10
	heapSlack = 4096
)

var bufPools [25]sync.Pool // classes 2^16 .. 2^24 (+ heapSlack)

// class is the smallest c >= 16 with classSize(c) >= n.
func class(n int) int {
	c := 16
	for classSize(c) < n {
		c++
	}
	return c
}

func classSize(c int) int { return 1<<c + heapSlack }

func getBuf(n int) []byte {
	if n < minPooled {
		return make([]byte, n)
	}
	c := class(n)
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, classSize(c))
}

// Release returns a buffer from ReadMessage for reuse once the server is
// done with the message (and everything that points into it).
func (c *Conn) Release(b []byte) {
	if c != nil && c.bufs != nil && c.bufs.Put(b) {
		return
	}
	if cap(b) < minPooled || cap(b) > classSize(24) || classSize(class(cap(b))) != cap(b) {
		return
	}
	b = b[:cap(b)]
	bufPools[class(cap(b))].Put(&b)
}
