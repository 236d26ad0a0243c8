package smbdirect

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"smb3d/numa"
)

// Port is the SMB Direct port for iWARP (MS-SMB2 2.1) and the first one
// the Linux client tries for every RDMA device; 445 is the InfiniBand and
// RoCE convention (RDMA port spaces are separate from TCP's).
const Port = 5445

// Options configure a listener and its connections. Zero fields take the
// defaults of MS-SMBD Appendix B (and the Linux client's where noted).
type Options struct {
	// ReceiveCreditMax is the number of receives posted and the most
	// credits granted to the peer (MS-SMBD Appendix B: 255).
	ReceiveCreditMax int
	// SendCreditTarget is the number of send credits asked of the peer
	// (255).
	SendCreditTarget int
	// MaxSendSize is the largest message sent, header included (1364).
	MaxSendSize int
	// MaxReceiveSize is the largest message received, header included
	// (8192); receives are posted with buffers of this size.
	MaxReceiveSize int
	// MaxFragmentedSize is the largest upper-layer message reassembled
	// (1 MiB).
	MaxFragmentedSize int
	// MaxReadWriteSize is the largest RDMA transfer of one request
	// (1 MiB).
	MaxReadWriteSize int
	// KeepaliveInterval is how long the peer may stay silent before a
	// keepalive asks it to respond (120 s); KeepaliveTimeout how long
	// that response may take (5 s).
	KeepaliveInterval time.Duration
	KeepaliveTimeout  time.Duration
	// NegotiateTimeout bounds the wait for the negotiate request after
	// the connection is established (10 s).
	NegotiateTimeout time.Duration
	// CreditTimeout bounds a send's wait for a send credit; a peer that
	// grants none for that long is disconnected (60 s).
	CreditTimeout time.Duration
	// SendBuffers is the number of registered send buffers per
	// connection (64).
	SendBuffers int
	// RDMABufferSize and RDMABuffers size the pool of pre-registered
	// buffers RDMA reads and writes go through, one pool per device
	// (1 MiB x 16).
	RDMABufferSize int
	RDMABuffers    int
	// RDMADepth bounds the RDMA work requests in flight per connection
	// (16); reads are further bounded by the negotiated initiator depth.
	RDMADepth int
	// Backlog of connection requests (64).
	Backlog int
	// Logger for connection-level events (nil: discard).
	Logger *slog.Logger
	// Placement puts each RDMA device's registered memory (the pool of
	// RDMA buffers, each connection's receive and send buffers) on the
	// device's NUMA node, and each connection's completion loop on an OS
	// thread pinned to that node's CPUs; nil places nothing.
	Placement *numa.Placement
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.ReceiveCreditMax, 255)
	def(&o.SendCreditTarget, 255)
	def(&o.MaxSendSize, 1364)
	def(&o.MaxReceiveSize, 8192)
	def(&o.MaxFragmentedSize, 1<<20)
	def(&o.MaxReadWriteSize, 1<<20)
	def(&o.SendBuffers, 64)
	def(&o.RDMABufferSize, 1<<20)
	def(&o.RDMABuffers, 16)
	def(&o.RDMADepth, 16)
	def(&o.Backlog, 64)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&o.KeepaliveInterval, 120*time.Second)
	dur(&o.KeepaliveTimeout, 5*time.Second)
	dur(&o.NegotiateTimeout, 10*time.Second)
	dur(&o.CreditTimeout, 60*time.Second)
	o.ReceiveCreditMax = min(o.ReceiveCreditMax, 65535)
	o.SendCreditTarget = min(o.SendCreditTarget, 65535)
	o.MaxSendSize = max(o.MaxSendSize, MinReceiveSize)
	o.MaxReceiveSize = max(o.MaxReceiveSize, MinReceiveSize)
	o.MaxFragmentedSize = max(o.MaxFragmentedSize, MinFragmentedSize)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ConnError is a connection-fatal error: the connection was disconnected
// for Reason (a short token for counters and logs), caused by Err.
type ConnError struct {
	Reason string
	Err    error
}

func (e *ConnError) Error() string {
	if e.Err == nil {
		return "smbdirect: " + e.Reason
	}
	return fmt.Sprintf("smbdirect: %s: %v", e.Reason, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

func connErr(reason string, format string, a ...any) *ConnError {
	return &ConnError{Reason: reason, Err: fmt.Errorf(format, a...)}
}

// Errors a connection ends with.
var (
	ErrClosed           = errors.New("smbdirect: connection closed")
	ErrNegotiateTimeout = errors.New("smbdirect: no negotiate message in time")
	ErrKeepaliveTimeout = errors.New("smbdirect: peer did not answer a keepalive")
	ErrCreditTimeout    = errors.New("smbdirect: peer granted no send credit in time")
)

// Stats are process-wide counters of the SMB Direct transport.
type Stats struct {
	Conns            int64  // connections negotiated
	Rejected         int64  // connections refused during negotiation
	MessagesSent     uint64 // upper-layer messages
	MessagesReceived uint64
	FragmentsSent    uint64 // data transfer messages with data
	CreditGrants     uint64 // empty messages sent to grant credits
	Keepalives       uint64 // keepalive requests sent
	RDMAReadBytes    uint64 // bytes pulled from peers by RDMA read
	RDMAWriteBytes   uint64 // bytes pushed to peers by RDMA write
}

var stats struct {
	conns, rejected                      atomic.Int64
	msgSent, msgRecv, frags, grants, kas atomic.Uint64
	rdmaRead, rdmaWrite                  atomic.Uint64
}

// Counters returns the process-wide counters.
func Counters() Stats {
	return Stats{
		Conns: stats.conns.Load(), Rejected: stats.rejected.Load(),
		MessagesSent: stats.msgSent.Load(), MessagesReceived: stats.msgRecv.Load(),
		FragmentsSent: stats.frags.Load(), CreditGrants: stats.grants.Load(), Keepalives: stats.kas.Load(),
		RDMAReadBytes: stats.rdmaRead.Load(), RDMAWriteBytes: stats.rdmaWrite.Load(),
	}
}

// Addr is the address of an SMB Direct endpoint.
type Addr struct{ netip.AddrPort }

func (Addr) Network() string { return "rdma" }

var _ net.Addr = Addr{}
