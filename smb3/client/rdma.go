package client

import (
	"context"
	"fmt"
	"sync"

	"smb3d/rdma-core-bindings"
	"smb3d/transport"
	"smb3d/transport/smbdirect"
)

// SMB2 over SMB-Direct (MS-SMB2 2.1, 3.2.4.6, 3.2.4.7; MS-SMBD 3.1.4).
//
// Messages travel as SMB-Direct messages (the transport fragments and
// reassembles them and keeps its own credits). A READ or WRITE larger
// than rdmaThreshold on a session that neither signs nor encrypts names
// one of the channel's registered buffers with an SMB_DIRECT buffer
// descriptor (Channel SMB2_CHANNEL_RDMA_V1): the server RDMA-writes READ
// data into it, or RDMA-reads WRITE data from it, and the response carries
// no data. Signed or encrypted sessions send everything inline, as the
// Linux client does (the RDMA-moved bytes would be neither signed nor
// encrypted), so their READ and WRITE sizes are bounded by what the server
// reassembles (MaxFragmentedSize).
//
// The buffers are registered once per channel, not per request, and the
// requests use RDMA_V1, not RDMA_V1_INVALIDATE: the server could reach
// them between requests. That suits a load generator that trusts the
// server; a general client would register per request (or bind a memory
// window) and ask the server to invalidate it with the response.

// rdmaThreshold is the largest READ/WRITE payload sent inline on a session
// that could use RDMA (the Linux client's rdma_readwrite_threshold).
const rdmaThreshold = 4096

// rdmaChan is an SMB-Direct channel's registered memory for READ and
// WRITE data, cut into slots of size bytes, one per request in flight.
type rdmaChan struct {
	mr     rdma.MemoryRegion
	size   int      // bytes per slot
	inline int      // largest inline READ/WRITE payload
	free   chan int // free slot indexes
	unmap  func()   // releases the memory once the connection is closed and no slot is in use

	mu     sync.Mutex
	inUse  int
	closed bool
}

// rdmaSlot is a slot taken for one request.
type rdmaSlot struct {
	i    int
	b    []byte // the slot's memory, the request's length
	desc transport.BufferDescriptor
}

// get takes a free slot for n bytes, waiting while all are in use.
func (r *rdmaChan) get(n int) (*rdmaSlot, error) {
	if n > r.size {
		return nil, fmt.Errorf("smb3/client: %d bytes by RDMA, the registered buffers hold %d", n, r.size)
	}
	i := <-r.free
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.free <- i
		return nil, ErrClosed
	}
	r.inUse++
	r.mu.Unlock()
	off := i * r.size
	return &rdmaSlot{i: i, b: r.mr.Bytes()[off : off+n],
		desc: transport.BufferDescriptor{Offset: r.mr.Addr() + uint64(off), Token: r.mr.RKey(), Length: uint32(n)}}, nil
}

// put returns a slot.
func (r *rdmaChan) put(s *rdmaSlot) {
	r.mu.Lock()
	r.inUse--
	last := r.closed && r.inUse == 0
	r.mu.Unlock()
	r.free <- s.i
	if last {
		r.unmap()
	}
}

// close marks the memory for release: now if no request holds a slot,
// else when the last one returns it (its bytes may still be being copied).
func (r *rdmaChan) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	now := r.inUse == 0
	r.mu.Unlock()
	if now {
		r.unmap()
	}
}

// appendDescriptor appends an SMB_DIRECT_BUFFER_DESCRIPTOR_V1 (MS-SMBD
// 2.2.3.1).
func appendDescriptor(b []byte, d transport.BufferDescriptor) []byte {
	b = le.AppendUint64(b, d.Offset)
	b = le.AppendUint32(b, d.Token)
	return le.AppendUint32(b, d.Length)
}

// rdmaLink is a channel over an SMB-Direct connection with its buffers.
type rdmaLink struct {
	msgLink
	sc *smbdirect.Conn
	ch *rdmaChan
}

func (l *rdmaLink) close() error {
	err := l.msgLink.close() // deregisters the buffers with the connection's PD
	l.ch.close()
	return err
}

// newRDMAConn makes a channel of sc, registering its READ/WRITE buffers;
// on failure sc is closed.
func newRDMAConn(sc *smbdirect.Conn, cfg Config) (*conn, error) {
	size := cfg.RDMABufferSize
	if m := sc.PeerMaxReadWriteSize(); m > 0 {
		size = min(size, m)
	}
	size = max(rdmaThreshold, size&^4095)
	buf, err := rdma.Alloc(size*cfg.RDMABuffers, -1)
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("smb3/client: RDMA buffers: %w", err)
	}
	mr, err := sc.Register(buf.Bytes(), rdma.AccessLocalWrite|rdma.AccessRemoteWrite|rdma.AccessRemoteRead)
	if err != nil {
		sc.Close()
		buf.Close()
		return nil, fmt.Errorf("smb3/client: registering RDMA buffers: %w", err)
	}
	ch := &rdmaChan{mr: mr, size: size, free: make(chan int, cfg.RDMABuffers),
		inline: max(rdmaThreshold, (sc.PeerMaxFragmentedSize()-512)&^4095),
		unmap:  func() { buf.Close() }}
	for i := range cfg.RDMABuffers {
		ch.free <- i
	}
	return newConn(&rdmaLink{msgLink: msgLink{mc: sc}, sc: sc, ch: ch}, cfg.Credits), nil
}

// dialRDMA connects to addr ("ip[:port]", port 5445 by default) by
// SMB-Direct.
func (s *Session) dialRDMA(ctx context.Context, addr string) (*conn, error) {
	ap, err := smbdirect.ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	// The transport's own RDMA pool serves the initiator of RDMA reads and
	// writes, which the client never is: keep it minimal. Messages go in
	// fragments of up to 8 KiB when the server receives that much (smb3d
	// does; ksmbd takes 1364 bytes): fewer sends for inline requests.
	sc, err := smbdirect.Dial(ctx, ap, smbdirect.Options{RDMABuffers: 1, RDMABufferSize: 4096,
		MaxSendSize: 8192, NegotiateTimeout: s.cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("smb3/client: SMB-Direct to %v: %w", ap, err)
	}
	return newRDMAConn(sc, s.cfg)
}

// NewSMBDirectSession sets up a session over sc, an SMB-Direct connection
// the caller made (smbdirect.Dial, or smbdirect.Client over rdmafake in
// tests): NEGOTIATE, SESSION_SETUP. The session owns sc from then on; on
// failure sc is closed. Config.RDMA is implied.
func NewSMBDirectSession(sc *smbdirect.Conn, cfg Config) (*Session, error) {
	cfg.RDMA = true
	cfg.withDefaults()
	s := &Session{cfg: cfg}
	if cfg.Breaks {
		s.breaks = make(chan LeaseBreak, 64)
	}
	c, err := newRDMAConn(sc, cfg)
	if err != nil {
		return nil, err
	}
	return s.start(c, sc.RemoteAddr().String())
}

// BindSMBDirect binds sc as a further channel of the session (see Bind).
// On failure sc is closed.
func (s *Session) BindSMBDirect(sc *smbdirect.Conn) error {
	c, err := newRDMAConn(sc, s.cfg)
	if err != nil {
		return err
	}
	return s.bind(c, sc.RemoteAddr().String())
}

// ioLimit bounds a READ or WRITE length n by what the session's SMB-Direct
// channels can move in one request: a registered buffer when the data goes
// by RDMA, the server's reassembly limit when it goes inline.
func (s *Session) ioLimit(n uint32) int {
	s.mu.Lock()
	cs := s.chans
	s.mu.Unlock()
	lim := int(n)
	for _, c := range cs {
		if c.rdma == nil {
			continue
		}
		if s.useRDMA() {
			lim = min(lim, c.rdma.size)
		} else {
			lim = min(lim, c.rdma.inline)
		}
	}
	return lim
}

// useRDMA reports whether READ/WRITE data may go by RDMA: not when every
// message is signed or encrypted.
func (s *Session) useRDMA() bool { return !s.signing && !s.encrypting }

// rdmaSlotFor returns a slot when a READ/WRITE of n bytes on c goes by
// RDMA, nil when it goes inline.
func (s *Session) rdmaSlotFor(c *conn, n int) (*rdmaSlot, error) {
	if c.rdma == nil || n <= rdmaThreshold || !s.useRDMA() {
		return nil, nil
	}
	return c.rdma.get(n)
}
