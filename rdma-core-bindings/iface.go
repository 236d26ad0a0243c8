package rdma

import "context"

// The interfaces below are what the SMB-Direct transport needs of a
// connection, a completion queue and a memory region. They are satisfied by
// *Endpoint, *CQ and *MR (in every build), so transport/smbdirect can take
// them and be unit-tested against an in-memory fake, without cgo or RDMA.

// QueuePair is a connected RC queue pair.
type QueuePair interface {
	PostSend(wrs ...SendWR) error
	PostRecv(wrs ...RecvWR) error
	PeerParam() ConnParam
	// Disconnect ends the connection; outstanding work requests complete
	// with WCWRFlushErr.
	Disconnect() error
	// Done is closed when the connection ends, for whatever reason (Err).
	Done() <-chan struct{}
	Err() error
	Close() error
}

// CompletionQueue delivers work completions.
type CompletionQueue interface {
	// Poll returns the completions ready now.
	Poll(out []Completion) (int, error)
	// Wait returns at least one completion, waiting if needed.
	Wait(ctx context.Context, out []Completion) (int, error)
	Close() error
}

// MemoryRegion is registered memory.
type MemoryRegion interface {
	Bytes() []byte
	Addr() uint64
	LKey() uint32
	RKey() uint32
	SGE(off, n int) SGE
	Close() error
}

var (
	_ QueuePair       = (*Endpoint)(nil)
	_ CompletionQueue = (*CQ)(nil)
	_ MemoryRegion    = (*MR)(nil)
)
