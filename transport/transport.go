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

// FileSender is a connection that can send a message whose tail is a file
// range without copying the file's bytes through user space (CapSendFile):
// a READ response that is neither signed nor encrypted (MS-SMB2 3.3.5.12).
// The io_uring TCP transport sends hdr by SENDMSG with MSG_MORE, then
// splices file -> pipe -> socket.
type FileSender interface {
	Conn
	// SendFile sends one message, hdr followed by n bytes of the file fd
	// from offset off, atomically with respect to WriteMessage. fd must stay
	// open until SendFile returns. The message length is promised before the
	// file is read: if the file has fewer than n bytes at off by then, the
	// message cannot be completed, SendFile returns an error and the
	// connection is broken (callers check the size first).
	SendFile(hdr []byte, fd int, off int64, n int) error
}

// Listener accepts transport connections.
type Listener interface {
	Accept() (Conn, error)
	Close() error
	Addr() net.Addr
}

// ErrMessageTooLarge is returned by ReadMessage for a message over the limit.
var ErrMessageTooLarge = errors.New("transport: message larger than allowed")

// BufferDescriptor names a span of the peer's registered memory
// (MS-SMBD 2.2.3.1 Buffer Descriptor V1): 16 bytes on the wire.
type BufferDescriptor struct {
	Offset uint64
	Token  uint32
	Length uint32
}

// BufferDescriptorSize is the wire size of one descriptor.
const BufferDescriptorSize = 16

// ParseBufferDescriptors decodes a ReadChannelInfo/WriteChannelInfo list.
func ParseBufferDescriptors(b []byte) ([]BufferDescriptor, error) {
	if len(b) == 0 || len(b)%BufferDescriptorSize != 0 {
		return nil, errors.New("transport: channel info is not a list of buffer descriptors")
	}
	out := make([]BufferDescriptor, len(b)/BufferDescriptorSize)
	for i := range out {
		d := b[i*BufferDescriptorSize:]
		out[i] = BufferDescriptor{
			Offset: uint64(d[0]) | uint64(d[1])<<8 | uint64(d[2])<<16 | uint64(d[3])<<24 | uint64(d[4])<<32 | uint64(d[5])<<40 | uint64(d[6])<<48 | uint64(d[7])<<56,
			Token:  uint32(d[8]) | uint32(d[9])<<8 | uint32(d[10])<<16 | uint32(d[11])<<24,
			Length: uint32(d[12]) | uint32(d[13])<<8 | uint32(d[14])<<16 | uint32(d[15])<<24,
		}
	}
	return out, nil
}

// RDMAConn is a connection that can move data straight between local
// buffers and the peer's registered memory (SMB-Direct): the server
// RDMA-writes READ data into the client's buffers and RDMA-reads WRITE data
// from them (MS-SMB2 3.3.5.12, 3.3.5.13 with Channel RDMA_V1).
type RDMAConn interface {
	Conn
	// RDMAWrite writes p into the peer memory named by descs, in order.
	RDMAWrite(descs []BufferDescriptor, p []byte) error
	// RDMARead fills p from the peer memory named by descs, in order.
	RDMARead(descs []BufferDescriptor, p []byte) error
	// WriteMessageInvalidate sends a message that also invalidates the
	// peer's memory registration token (RDMA_V1_INVALIDATE; Send with
	// Invalidate).
	WriteMessageInvalidate(token uint32, bufs ...[]byte) error
}

// Releaser is implemented by connections that pool message buffers: the
// server hands a message back once nothing refers to it any more.
type Releaser interface {
	Release(msg []byte)
}
