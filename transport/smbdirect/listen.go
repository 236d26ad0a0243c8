package smbdirect

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"smb3d/numa"
	"smb3d/rdma-core-bindings"
	"smb3d/transport"
)

// Listener accepts SMB Direct connections on one RDMA address (or all of
// them). It implements transport.Listener: Accept returns connections
// that have completed the SMB Direct negotiation. Each connection request
// is handled in its own goroutine, so a peer that stalls its negotiation
// delays nobody else.
type Listener struct {
	l      *rdma.Listener
	opts   Options
	conns  chan *Conn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	devs map[*rdma.Device]*device
}

// device is what the connections on one RDMA device share: a protection
// domain and the pool of registered RDMA buffers.
type device struct {
	refs int
	node int // NUMA node its memory is bound to; numa.Unknown: not placed
	pd   *rdma.PD
	info rdma.DeviceInfo
	buf  *rdma.Buffer
	mr   *rdma.MR
	pool *Pool
}

// ParseAddr parses "host[:port]" (port Port when absent; "" or "*" for
// every address) into an address and port.
func ParseAddr(s string) (netip.AddrPort, error) {
	host, port := s, strconv.Itoa(Port)
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if host == "" || host == "*" {
		host = "0.0.0.0"
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("smbdirect: address %q: %w", s, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("smbdirect: port in %q: %w", s, err)
	}
	return netip.AddrPortFrom(a, uint16(n)), nil
}

// Listen listens for SMB Direct connections on addr ("ip[:port]", port
// 5445 by default; the address must belong to an RDMA-capable netdev, or
// be unspecified). Without the rdma build tag, or on a machine without an
// active RDMA port, it returns an error wrapping rdma.ErrNotCompiled or
// rdma.ErrNoDevice.
func Listen(addr string, opts Options) (*Listener, error) {
	ap, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if err := rdma.Available(); err != nil {
		return nil, fmt.Errorf("smbdirect: listen on %v: %w", ap, err)
	}
	opts = opts.withDefaults()
	l, err := rdma.Listen(ap, opts.Backlog)
	if err != nil {
		return nil, fmt.Errorf("smbdirect: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln := &Listener{l: l, opts: opts, conns: make(chan *Conn), ctx: ctx, cancel: cancel, devs: make(map[*rdma.Device]*device)}
	ln.wg.Add(1)
	go ln.acceptLoop()
	return ln, nil
}

func (ln *Listener) acceptLoop() {
	defer ln.wg.Done()
	for {
		ep, err := ln.l.Accept(ln.ctx)
		if err != nil {
			if ln.ctx.Err() == nil {
				ln.opts.Logger.Error("smbdirect: accept failed", "addr", ln.l.Addr().String(), "err", err)
				ln.cancel()
			}
			return
		}
		ln.wg.Add(1)
		go func() {
			defer ln.wg.Done()
			c, err := ln.handshake(ep)
			if err != nil {
				stats.rejected.Add(1)
				ln.opts.Logger.Warn("smbdirect: connection refused", "remote", ep.RemoteAddr().String(), "err", err)
				return
			}
			stats.conns.Add(1)
			select {
			case ln.conns <- c:
			case <-c.Done(): // ended before anyone accepted it
				c.Close()
			case <-ln.ctx.Done():
				c.Close()
			}
		}()
	}
}

// Accept returns the next negotiated connection.
func (ln *Listener) Accept() (transport.Conn, error) {
	select {
	case c := <-ln.conns:
		return c, nil
	case <-ln.ctx.Done():
		return nil, fmt.Errorf("smbdirect: listener %v: %w", ln.l.Addr(), net.ErrClosed)
	}
}

// Close stops listening; connections already accepted stay up. The
// per-device resources go with the last connection.
func (ln *Listener) Close() error {
	ln.cancel()
	err := ln.l.Close()
	ln.wg.Wait()
	ln.mu.Lock()
	for d, ds := range ln.devs {
		ln.putLocked(d, ds)
	}
	ln.mu.Unlock()
	return err
}

// Addr returns the address listened on.
func (ln *Listener) Addr() net.Addr { return Addr{ln.l.Addr()} }

// getDevice returns the shared state of d, creating it on first use (the
// listener holds one reference until Close).
func (ln *Listener) getDevice(d *rdma.Device) (*device, error) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ds := ln.devs[d]; ds != nil {
		ds.refs++
		return ds, nil
	}
	ds, err := newDevice(d, ln.opts)
	if err != nil {
		return nil, err
	}
	ds.refs = 2
	ln.devs[d] = ds
	return ds, nil
}

func (ln *Listener) putDevice(d *rdma.Device, ds *device) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.putLocked(d, ds)
}

func (ln *Listener) putLocked(d *rdma.Device, ds *device) {
	if ds.refs--; ds.refs > 0 {
		return
	}
	if ln.devs[d] == ds {
		delete(ln.devs, d)
	}
	ds.close()
}

func newDevice(d *rdma.Device, opts Options) (*device, error) {
	info, err := d.Info()
	if err != nil {
		return nil, err
	}
	pd, err := d.AllocPD()
	if err != nil {
		return nil, err
	}
	ds := &device{pd: pd, info: info, node: opts.Placement.ForRDMADevice(d.Name())}
	if ds.buf, err = rdma.Alloc(opts.RDMABuffers*opts.RDMABufferSize, ds.node); err != nil {
		ds.close()
		return nil, err
	}
	if ds.mr, err = pd.Register(ds.buf.Bytes(), rdma.AccessLocalWrite); err != nil {
		ds.close()
		return nil, err
	}
	ds.pool = NewPool(ds.mr, opts.RDMABufferSize)
	return ds, nil
}

func (ds *device) close() {
	if ds.mr != nil {
		ds.mr.Close()
	}
	if ds.buf != nil {
		ds.buf.Close()
	}
	ds.pd.Close()
}

// connMem is a connection's own registered memory.
type connMem struct {
	bufs []*rdma.Buffer
	mrs  []*rdma.MR
}

func (m *connMem) alloc(pd *rdma.PD, n, node int) (*rdma.MR, error) {
	b, err := rdma.Alloc(n, node)
	if err != nil {
		return nil, err
	}
	m.bufs = append(m.bufs, b)
	mr, err := pd.Register(b.Bytes(), rdma.AccessLocalWrite)
	if err != nil {
		return nil, err
	}
	m.mrs = append(m.mrs, mr)
	return mr, nil
}

func (m *connMem) close() {
	for _, mr := range m.mrs {
		mr.Close()
	}
	for _, b := range m.bufs {
		b.Close()
	}
}

// setup creates ep's CQ, QP and buffers on pd, the buffers bound to node
// (numa.Unknown: not bound); release undoes it all in the right order (QP,
// CQ, memory).
func setup(ep *rdma.Endpoint, pd *rdma.PD, opts Options, node int) (r Resources, release func(), err error) {
	dev := ep.Device()
	var mem connMem
	var cq *rdma.CQ
	release = func() {
		ep.Close()
		if cq != nil {
			cq.Close()
		}
		mem.close()
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	if cq, err = dev.NewCQ(opts.ReceiveCreditMax+opts.SendBuffers+opts.RDMADepth+8, nil); err != nil {
		return r, nil, err
	}
	if err = ep.CreateQP(pd, rdma.QPConfig{SendCQ: cq, RecvCQ: cq,
		MaxSendWR: opts.SendBuffers + opts.RDMADepth + 4, MaxRecvWR: opts.ReceiveCreditMax + 1}); err != nil {
		return r, nil, err
	}
	r = Resources{QP: ep, CQ: cq, Local: ep.LocalAddr(), Remote: ep.RemoteAddr()}
	if r.Recv, err = mem.alloc(pd, opts.ReceiveCreditMax*opts.MaxReceiveSize, node); err != nil {
		return r, nil, err
	}
	if r.Send, err = mem.alloc(pd, opts.SendBuffers*opts.MaxSendSize, node); err != nil {
		return r, nil, err
	}
	return r, release, nil
}

// handshake sets up a connection request's QP and buffers, posts the
// receives, accepts and negotiates (MS-SMBD 3.1.5.6). On failure
// everything is released.
func (ln *Listener) handshake(ep *rdma.Endpoint) (*Conn, error) {
	dev := ep.Device()
	ds, err := ln.getDevice(dev)
	if err != nil {
		ep.Reject(nil)
		return nil, err
	}
	opts := ln.opts
	r, release, err := setup(ep, ds.pd, opts, ds.node)
	if err != nil {
		ep.Reject(nil)
		ln.putDevice(dev, ds)
		return nil, err
	}
	// IRD/ORD: we issue the RDMA reads (initiator depth, bounded by the
	// peer's responder resources); the peer reads nothing from us.
	peer := ep.PeerParam()
	ord := max(1, min(ds.info.MaxQPInitRdAtom, opts.RDMADepth, 255))
	if peer.ResponderResources > 0 {
		ord = min(ord, int(peer.ResponderResources))
	}
	ird := 1
	if peer.InitiatorDepth > 0 {
		ird = max(1, min(int(peer.InitiatorDepth), ds.info.MaxQPRdAtom, 255))
	}
	r.Pool = ds.pool
	r.ReadDepth = ord
	r.Placed, r.Node = ds.node != numa.Unknown, ds.node
	r.Release = func() { release(); ln.putDevice(dev, ds) }
	c, err := newConn(r, opts, true)
	if err != nil {
		ep.Reject(nil)
		r.Release()
		return nil, err
	}
	param := rdma.ConnParam{ResponderResources: uint8(ird), InitiatorDepth: uint8(ord), RetryCount: 7, RNRRetryCount: 7}
	if len(peer.PrivateData) == 8 {
		// iWARP MPA v1 peers exchange IRD/ORD in private data
		// (big-endian, as the Linux client sends them)
		param.PrivateData = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(ird)), uint32(ord))
	}
	ctx, cancel := context.WithTimeout(ln.ctx, opts.NegotiateTimeout)
	err = ep.Accept(ctx, param)
	cancel()
	if err == nil {
		err = c.serverNegotiate()
	}
	if err != nil {
		c.fail(err)
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dial connects to an SMB Direct server and negotiates as the client
// (MS-SMBD 3.1.5.2). It is the initiator the tests use against Listen.
// The connection has its own protection domain; Register exposes memory
// of it for the peer's RDMA reads and writes.
func Dial(ctx context.Context, raddr netip.AddrPort, opts Options) (*Conn, error) {
	if err := rdma.Available(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ep, err := rdma.Resolve(ctx, raddr, nil)
	if err != nil {
		return nil, err
	}
	dev := ep.Device()
	info, err := dev.Info()
	if err != nil {
		ep.Close()
		return nil, err
	}
	pd, err := dev.AllocPD()
	if err != nil {
		ep.Close()
		return nil, err
	}
	node := opts.Placement.ForRDMADevice(dev.Name())
	r, release, err := setup(ep, pd, opts, node)
	if err != nil {
		pd.Close()
		return nil, err
	}
	var pool *Pool
	var extra connMem
	if mr, err := extra.alloc(pd, opts.RDMABuffers*opts.RDMABufferSize, node); err == nil {
		pool = NewPool(mr, opts.RDMABufferSize)
	}
	var regMu sync.Mutex
	r.Pool = pool
	r.ReadDepth = max(1, min(info.MaxQPInitRdAtom, 16))
	r.Placed, r.Node = node != numa.Unknown, node
	r.Release = func() {
		release()
		regMu.Lock()
		extra.close()
		regMu.Unlock()
		pd.Close()
	}
	r.Register = func(mem []byte, access rdma.Access) (rdma.MemoryRegion, error) {
		regMu.Lock()
		defer regMu.Unlock()
		mr, err := pd.Register(mem, access)
		if err == nil {
			extra.mrs = append(extra.mrs, mr)
		}
		return mr, err
	}
	c, err := newConn(r, opts, false)
	if err != nil {
		r.Release()
		return nil, err
	}
	depth := uint8(max(1, min(info.MaxQPRdAtom, 16)))
	if err := ep.Connect(ctx, rdma.ConnParam{ResponderResources: depth, InitiatorDepth: uint8(r.ReadDepth), RetryCount: 7, RNRRetryCount: 7}); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.clientNegotiate(); err != nil {
		c.fail(err)
		c.Close()
		return nil, err
	}
	return c, nil
}

// Addrs lists the IP addresses SMB Direct can listen on: those of the
// netdevs behind active RDMA ports (RoCE, iWARP, IPoIB), without IPv6
// link-local ones.
func Addrs() ([]netip.Addr, error) {
	devs, err := rdma.Devices()
	if err != nil {
		return nil, err
	}
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	add := func(a netip.Addr) {
		a = a.Unmap()
		if !a.IsValid() || a.IsLinkLocalUnicast() || a.IsUnspecified() || seen[a] {
			return
		}
		seen[a] = true
		out = append(out, a)
	}
	for _, d := range devs {
		for _, p := range d.Ports {
			if p.State != rdma.PortActive {
				continue
			}
			for _, g := range p.GIDs {
				if g.IfIndex == 0 {
					if a := g.Addr(); a.Is4In6() {
						add(a)
					}
					continue
				}
				ifi, err := net.InterfaceByIndex(g.IfIndex)
				if err != nil {
					continue
				}
				addrs, _ := ifi.Addrs()
				for _, ia := range addrs {
					if pfx, err := netip.ParsePrefix(ia.String()); err == nil {
						add(pfx.Addr())
					}
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("smbdirect: no address on an active RDMA port")
	}
	return out, nil
}
