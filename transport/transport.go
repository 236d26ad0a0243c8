// Package transport defines what the SMB server needs from a transport: a
// connection that yields whole SMB2 messages and writes whole messages, and
// a listener. TCP (netpoller and io_uring) and SMB-Direct implement it.
package transport

import (
	"errors"
	"net"
)

// Caps are capability bits of a connection.
type Caps uint32

const (
	// CapSendFile: the connection can send a file range without copying
	// it through user space (splice).
	CapSendFile Caps = 1 << iota
	// CapRDMA: the connection can RDMA-read and -write peer buffers.
	CapRDMA
)

// Conn is one transport connection (an SMB channel). ReadMessage is called
// from a single goroutine; WriteMessage may be called from several, and each
// call sends one whole message atomically.
type Conn interface {
	// ReadMessage returns the next whole message, without transport
	// framing. The returned slice belongs to the caller.
	ReadMessage() ([]byte, error)
	// WriteMessage sends the concatenation of bufs as one message.
	WriteMessage(bufs ...[]byte) error
	// SetMaxMessage bounds the size of the messages ReadMessage accepts;
	// a larger one is a connection error.
	SetMaxMessage(n int)
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	Caps() Caps
	// Name is the transport's name for logs and status ("tcp", "tcp-uring", "smbdirect").
	Name() string
}

// Listener accepts transport connections.
type Listener interface {
	Accept() (Conn, error)
	Close() error
	Addr() net.Addr
}

// ErrMessageTooLarge is returned by ReadMessage for a message over the limit.
var ErrMessageTooLarge = errors.New("transport: message larger than allowed")
