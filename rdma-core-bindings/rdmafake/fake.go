// Package rdmafake is an in-memory stand-in for a connected pair of RDMA RC
// queue pairs, for unit tests of code written against the interfaces of
// package rdma (QueuePair, CompletionQueue, MemoryRegion) - the SMB-Direct
// transport in particular - without cgo, rdma-core or a device.
//
// It follows the verbs semantics such code depends on: sends consume the
// peer's posted receives in order (and wait for one, like an RNR retry
// count of 7); RDMA read and write check the peer's rkey, access rights and
// bounds; a send larger than the receive buffer, a bad rkey or a bad local
// SGE completes in error and moves both QPs to the error state, after which
// every outstanding and new work request completes with WCWRFlushErr;
// unsignaled successful sends produce no completion; OpSendWithInv
// invalidates the receiver's rkey and reports it in the receive completion.
// Everything happens synchronously inside PostSend/PostRecv.
package rdmafake

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"smb3d/rdma-core-bindings"
)

// Endpoint is one side of a fake connection. It implements rdma.QueuePair.
type Endpoint struct {
	conn *conn
	peer *Endpoint
	// SendCQ and RecvCQ receive the endpoint's completions (the same CQ
	// unless Config.SeparateCQs).
	SendCQ, RecvCQ *CQ

	// guarded by conn.mu
	param   rdma.ConnParam // the peer's, see PeerParam
	recvs   []rdma.RecvWR  // posted receives, in order
	waiting []pendingSend  // the peer's sends waiting for a receive
	mrs     map[uint32]*MR // by lkey (rkey == lkey in the fake)
	nextKey uint32
}

type pendingSend struct {
	wr   rdma.SendWR
	data []byte
}

// conn is the state the two endpoints share.
type conn struct {
	eps    []*Endpoint
	mu     sync.Mutex
	failed bool
	err    error
	done   chan struct{}
}

// Config configures Pair.
type Config struct {
	// PrivateData of each side, as its peer sees it in PeerParam.
	PrivateDataA, PrivateDataB []byte
	// SeparateCQs gives each endpoint distinct send and receive CQs.
	SeparateCQs bool
}

// Pair returns two connected endpoints.
func Pair(cfg Config) (a, b *Endpoint) {
	c := &conn{done: make(chan struct{})}
	mk := func(seed uint32) *Endpoint {
		ep := &Endpoint{conn: c, mrs: make(map[uint32]*MR), nextKey: seed}
		ep.SendCQ = newCQ()
		ep.RecvCQ = ep.SendCQ
		if cfg.SeparateCQs {
			ep.RecvCQ = newCQ()
		}
		return ep
	}
	a, b = mk(0x1000), mk(0x8000)
	a.peer, b.peer = b, a
	c.eps = []*Endpoint{a, b}
	a.param = rdma.ConnParam{PrivateData: cfg.PrivateDataB, ResponderResources: 16, InitiatorDepth: 16}
	b.param = rdma.ConnParam{PrivateData: cfg.PrivateDataA, ResponderResources: 16, InitiatorDepth: 16}
	return a, b
}

// MR is fake registered memory. It implements rdma.MemoryRegion; its
// addresses are synthetic (Addr is not the memory's real address).
type MR struct {
	ep     *Endpoint
	mem    []byte
	base   uint64
	key    uint32
	access rdma.Access
	valid  bool // for remote access: false once invalidated or closed
}

// Register registers mem (any memory) with the endpoint's fake PD.
func (ep *Endpoint) Register(mem []byte, access rdma.Access) *MR {
	ep.conn.mu.Lock()
	defer ep.conn.mu.Unlock()
	ep.nextKey++
	mr := &MR{ep: ep, mem: mem, key: ep.nextKey, access: access, valid: true,
		base: uint64(ep.nextKey) << 32}
	ep.mrs[mr.key] = mr
	return mr
}

func (mr *MR) Bytes() []byte { return mr.mem }
func (mr *MR) Addr() uint64  { return mr.base }
func (mr *MR) Len() int      { return len(mr.mem) }
func (mr *MR) LKey() uint32  { return mr.key }
func (mr *MR) RKey() uint32  { return mr.key }

// SGE returns the entry for mem[off:off+n]; it panics outside the region.
func (mr *MR) SGE(off, n int) rdma.SGE {
	if off < 0 || n < 0 || off > len(mr.mem) || n > len(mr.mem)-off {
		panic(fmt.Sprintf("rdmafake: SGE [%d:+%d] outside a %d-byte MR", off, n, len(mr.mem)))
	}
	return rdma.SGE{Addr: mr.base + uint64(off), Length: uint32(n), LKey: mr.key}
}

// Close deregisters the region.
func (mr *MR) Close() error {
	mr.ep.conn.mu.Lock()
	defer mr.ep.conn.mu.Unlock()
	delete(mr.ep.mrs, mr.key)
	mr.valid = false
	return nil
}

// Invalidate makes the region's rkey unusable for the peer (as a
// completed OpLocalInv would).
func (mr *MR) Invalidate() {
	mr.ep.conn.mu.Lock()
	mr.valid = false
	mr.ep.conn.mu.Unlock()
}

// span resolves addr/length in ep's regions by key. remote selects rkey
// semantics (access rights, invalidation).
func (ep *Endpoint) span(key uint32, addr uint64, length uint32, need rdma.Access, remote bool) ([]byte, bool) {
	mr := ep.mrs[key]
	if mr == nil || (remote && (!mr.valid || mr.access&need != need)) {
		return nil, false
	}
	if addr < mr.base || addr-mr.base > uint64(len(mr.mem)) || uint64(length) > uint64(len(mr.mem))-(addr-mr.base) {
		return nil, false
	}
	off := addr - mr.base
	return mr.mem[off : off+uint64(length)], true
}

func (ep *Endpoint) gather(sgl []rdma.SGE) ([]byte, bool) {
	var out []byte
	for _, s := range sgl {
		b, ok := ep.span(s.LKey, s.Addr, s.Length, 0, false)
		if !ok {
			return nil, false
		}
		out = append(out, b...)
	}
	return out, true
}

// scatter copies data into sgl; it reports false if sgl is too small or bad.
func (ep *Endpoint) scatter(sgl []rdma.SGE, data []byte) bool {
	for _, s := range sgl {
		b, ok := ep.span(s.LKey, s.Addr, s.Length, 0, false)
		if !ok {
			return false
		}
		data = data[copy(b, data):]
	}
	return len(data) == 0
}

// PostRecv posts receives; a send waiting for one is delivered at once.
func (ep *Endpoint) PostRecv(wrs ...rdma.RecvWR) error {
	c := ep.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, wr := range wrs {
		if c.failed {
			ep.RecvCQ.push(rdma.Completion{WRID: wr.ID, Status: rdma.WCWRFlushErr, Opcode: rdma.WCRecv})
			continue
		}
		ep.recvs = append(ep.recvs, wr)
	}
	for len(ep.waiting) > 0 && len(ep.recvs) > 0 && !c.failed {
		p := ep.waiting[0]
		ep.waiting = ep.waiting[1:]
		ep.deliver(p.wr, p.data)
	}
	return nil
}

// PostSend executes send-queue work requests.
func (ep *Endpoint) PostSend(wrs ...rdma.SendWR) error {
	c := ep.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, wr := range wrs {
		if c.failed {
			ep.SendCQ.push(rdma.Completion{WRID: wr.ID, Status: rdma.WCWRFlushErr})
			continue
		}
		ep.execute(wr)
	}
	return nil
}

func (ep *Endpoint) complete(wr rdma.SendWR, op rdma.WCOpcode, n int) {
	if wr.Flags&rdma.SendSignaled != 0 {
		ep.SendCQ.push(rdma.Completion{WRID: wr.ID, Opcode: op, ByteLen: uint32(n)})
	}
}

// fail completes wr with status and moves both QPs to the error state.
func (ep *Endpoint) fail(wr rdma.SendWR, status rdma.WCStatus) {
	ep.SendCQ.push(rdma.Completion{WRID: wr.ID, Status: status})
	ep.conn.breakLocked(fmt.Errorf("rdmafake: work request %#x: %w", wr.ID, status))
}

func (ep *Endpoint) execute(wr rdma.SendWR) {
	switch wr.Op {
	case rdma.OpSend, rdma.OpSendWithImm, rdma.OpSendWithInv:
		data, ok := ep.gather(wr.SGL)
		if !ok {
			ep.fail(wr, rdma.WCLocProtErr)
			return
		}
		data = append([]byte(nil), data...)
		if len(ep.peer.recvs) == 0 {
			ep.peer.waiting = append(ep.peer.waiting, pendingSend{wr, data})
			return
		}
		ep.peer.deliver(wr, data)
	case rdma.OpRDMAWrite, rdma.OpRDMAWriteWithImm:
		data, ok := ep.gather(wr.SGL)
		if !ok {
			ep.fail(wr, rdma.WCLocProtErr)
			return
		}
		dst, ok := ep.peer.span(wr.RKey, wr.RemoteAddr, uint32(len(data)), rdma.AccessRemoteWrite, true)
		if !ok {
			ep.fail(wr, rdma.WCRemAccessErr)
			return
		}
		copy(dst, data)
		if wr.Op == rdma.OpRDMAWriteWithImm {
			if len(ep.peer.recvs) == 0 {
				ep.peer.waiting = append(ep.peer.waiting, pendingSend{wr, nil})
				return
			}
			ep.peer.deliver(wr, nil)
			return
		}
		ep.complete(wr, rdma.WCRDMAWrite, 0)
	case rdma.OpRDMARead:
		var n uint32
		for _, s := range wr.SGL {
			n += s.Length
		}
		src, ok := ep.peer.span(wr.RKey, wr.RemoteAddr, n, rdma.AccessRemoteRead, true)
		if !ok {
			ep.fail(wr, rdma.WCRemAccessErr)
			return
		}
		if !ep.scatter(wr.SGL, src) {
			ep.fail(wr, rdma.WCLocProtErr)
			return
		}
		ep.complete(wr, rdma.WCRDMARead, int(n))
	case rdma.OpLocalInv:
		if mr := ep.mrs[wr.InvalidateRKey]; mr != nil {
			mr.valid = false
		}
		ep.complete(wr, rdma.WCLocalInv, 0)
	default:
		ep.fail(wr, rdma.WCLocQPOpErr)
	}
}

// deliver hands the peer's send (or write with immediate) to ep's first
// posted receive and completes both sides. Called with conn.mu held.
func (ep *Endpoint) deliver(wr rdma.SendWR, data []byte) {
	r := ep.recvs[0]
	ep.recvs = ep.recvs[1:]
	sender := ep.peer
	if wr.Op == rdma.OpRDMAWriteWithImm {
		ep.RecvCQ.push(rdma.Completion{WRID: r.ID, Opcode: rdma.WCRecvRDMAWithImm, Flags: rdma.WCWithImm, Imm: wr.Imm})
		sender.complete(wr, rdma.WCRDMAWrite, 0)
		return
	}
	if !ep.scatter(r.SGL, data) {
		ep.RecvCQ.push(rdma.Completion{WRID: r.ID, Status: rdma.WCLocLenErr, Opcode: rdma.WCRecv})
		sender.fail(wr, rdma.WCRemInvReqErr)
		return
	}
	c := rdma.Completion{WRID: r.ID, Opcode: rdma.WCRecv, ByteLen: uint32(len(data))}
	switch wr.Op {
	case rdma.OpSendWithImm:
		c.Flags, c.Imm = rdma.WCWithImm, wr.Imm
	case rdma.OpSendWithInv:
		c.Flags, c.InvalidatedRKey = rdma.WCWithInv, wr.InvalidateRKey
		if mr := ep.mrs[wr.InvalidateRKey]; mr != nil {
			mr.valid = false
		}
	}
	ep.RecvCQ.push(c)
	sender.complete(wr, rdma.WCSend, len(data))
}

// breakLocked moves both QPs to the error state: posted receives and
// waiting sends complete flushed, Done closes. Called with mu held.
func (c *conn) breakLocked(err error) {
	if c.failed {
		return
	}
	c.failed, c.err = true, err
	for _, ep := range c.endpoints() {
		for _, r := range ep.recvs {
			ep.RecvCQ.push(rdma.Completion{WRID: r.ID, Status: rdma.WCWRFlushErr, Opcode: rdma.WCRecv})
		}
		ep.recvs = nil
		for _, p := range ep.waiting { // sends of the peer
			ep.peer.SendCQ.push(rdma.Completion{WRID: p.wr.ID, Status: rdma.WCWRFlushErr})
		}
		ep.waiting = nil
	}
	close(c.done)
}

func (c *conn) endpoints() []*Endpoint { return c.eps }

// PeerParam returns the peer's private data (Config) and limits.
func (ep *Endpoint) PeerParam() rdma.ConnParam { return ep.param }

// Disconnect ends the connection for both sides.
func (ep *Endpoint) Disconnect() error {
	ep.conn.mu.Lock()
	ep.conn.breakLocked(rdma.ErrDisconnected)
	ep.conn.mu.Unlock()
	return nil
}

// Done is closed when the connection ends.
func (ep *Endpoint) Done() <-chan struct{} { return ep.conn.done }

// Err returns why the connection ended, or nil.
func (ep *Endpoint) Err() error {
	ep.conn.mu.Lock()
	defer ep.conn.mu.Unlock()
	return ep.conn.err
}

// Close disconnects.
func (ep *Endpoint) Close() error { return ep.Disconnect() }

// CQ is a fake completion queue; it implements rdma.CompletionQueue.
type CQ struct {
	mu     sync.Mutex
	q      []rdma.Completion
	notify chan struct{}
	closed bool
}

func newCQ() *CQ { return &CQ{notify: make(chan struct{}, 1)} }

func (cq *CQ) push(c rdma.Completion) {
	cq.mu.Lock()
	cq.q = append(cq.q, c)
	cq.mu.Unlock()
	select {
	case cq.notify <- struct{}{}:
	default:
	}
}

// Poll returns the completions ready now.
func (cq *CQ) Poll(out []rdma.Completion) (int, error) {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if cq.closed {
		return 0, rdma.ErrClosed
	}
	n := copy(out, cq.q)
	cq.q = cq.q[n:]
	return n, nil
}

// Wait returns at least one completion, waiting until there is one.
func (cq *CQ) Wait(ctx context.Context, out []rdma.Completion) (int, error) {
	if len(out) == 0 {
		return 0, errors.New("rdmafake: CQ.Wait with an empty slice")
	}
	for {
		if n, err := cq.Poll(out); n > 0 || err != nil {
			return n, err
		}
		select {
		case <-cq.notify:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Close closes the CQ; Wait and Poll return rdma.ErrClosed afterwards.
func (cq *CQ) Close() error {
	cq.mu.Lock()
	cq.closed = true
	cq.mu.Unlock()
	select {
	case cq.notify <- struct{}{}:
	default:
	}
	return nil
}

var (
	_ rdma.QueuePair       = (*Endpoint)(nil)
	_ rdma.CompletionQueue = (*CQ)(nil)
	_ rdma.MemoryRegion    = (*MR)(nil)
)
