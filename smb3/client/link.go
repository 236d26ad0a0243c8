package client

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"smb3d/smb3/wire"
)

// link is a channel's transport: whole SMB2 messages (or compound chains,
// or transform messages) in and out, without transport framing.
type link interface {
	// read returns the next message; the buffer belongs to the caller
	// (putBuf takes it back if it came from getBuf).
	read() (*[]byte, error)
	// write sends the concatenation of bufs as one message.
	write(bufs ...[]byte) error
	// setDeadline bounds setup exchanges (zero: none).
	setDeadline(t time.Time)
	close() error
}

// tcpLink is SMB2 over TCP: each message behind a 4-byte Direct TCP
// transport header (MS-SMB2 2.1).
type tcpLink struct {
	nc net.Conn
	br *bufio.Reader
}

func newTCPLink(nc net.Conn) *tcpLink {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetReadBuffer(4 << 20)
		tc.SetWriteBuffer(4 << 20)
	}
	return &tcpLink{nc: nc, br: bufio.NewReaderSize(nc, 256<<10)}
}

func (l *tcpLink) read() (*[]byte, error) {
	var th [4]byte
	if _, err := io.ReadFull(l.br, th[:]); err != nil {
		return nil, err
	}
	n := int(th[1])<<16 | int(th[2])<<8 | int(th[3])
	if th[0] != 0 || n < wire.HeaderSize {
		return nil, fmt.Errorf("%w: bad transport header %x", ErrProtocol, th)
	}
	bp := getBuf(n)
	if _, err := io.ReadFull(l.br, *bp); err != nil {
		putBuf(bp)
		return nil, err
	}
	return bp, nil
}

// write sends the header and bufs with one writev.
func (l *tcpLink) write(bufs ...[]byte) error {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	th := [4]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	nb := make(net.Buffers, 0, 1+len(bufs))
	nb = append(nb, th[:])
	for _, b := range bufs {
		if len(b) > 0 {
			nb = append(nb, b)
		}
	}
	_, err := nb.WriteTo(l.nc)
	return err
}

func (l *tcpLink) setDeadline(t time.Time) { l.nc.SetDeadline(t) }
func (l *tcpLink) close() error            { return l.nc.Close() }

// MessageConn is a message-oriented transport connection, as
// *smbdirect.Conn is: each WriteMessage sends one SMB2 message, each
// ReadMessage returns one (MS-SMBD 3.1.4.1, 3.1.4.2).
type MessageConn interface {
	ReadMessage() ([]byte, error)
	WriteMessage(bufs ...[]byte) error
	Close() error
}

// msgLink carries SMB2 over a MessageConn (SMB-Direct). A deadline is
// enforced by closing the connection when it passes, as a message
// transport has no read deadline of its own.
type msgLink struct {
	mc MessageConn

	mu    sync.Mutex
	timer *time.Timer
}

func (l *msgLink) read() (*[]byte, error) {
	m, err := l.mc.ReadMessage()
	if err != nil {
		return nil, err
	}
	if len(m) < wire.HeaderSize {
		return nil, fmt.Errorf("%w: %d-byte message", ErrProtocol, len(m))
	}
	return &m, nil
}

func (l *msgLink) write(bufs ...[]byte) error { return l.mc.WriteMessage(bufs...) }

func (l *msgLink) setDeadline(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if !t.IsZero() {
		l.timer = time.AfterFunc(time.Until(t), func() { l.mc.Close() })
	}
}

func (l *msgLink) close() error {
	l.setDeadline(time.Time{})
	return l.mc.Close()
}
