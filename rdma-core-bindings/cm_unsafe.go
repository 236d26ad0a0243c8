//go:build rdma && cgo && linux

package rdma

/*
#cgo noescape smb3d_post_send
#cgo nocallback smb3d_post_send
#cgo noescape smb3d_post_recv
#cgo nocallback smb3d_post_recv
#include <errno.h>
#include <stdlib.h>
#include "smb3d_verbs.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// cmEvent is a connection manager event, copied and acked by the shim.
type cmEvent struct {
	typ    C.int
	status int
	id     *C.struct_rdma_cm_id
	param  ConnParam
}

var cmEventNames = [...]string{
	"ADDR_RESOLVED", "ADDR_ERROR", "ROUTE_RESOLVED", "ROUTE_ERROR", "CONNECT_REQUEST",
	"CONNECT_RESPONSE", "CONNECT_ERROR", "UNREACHABLE", "REJECTED", "ESTABLISHED",
	"DISCONNECTED", "DEVICE_REMOVAL", "MULTICAST_JOIN", "MULTICAST_ERROR", "ADDR_CHANGE",
	"TIMEWAIT_EXIT",
}

func (e cmEvent) name() string {
	if int(e.typ) < len(cmEventNames) {
		return "RDMA_CM_EVENT_" + cmEventNames[e.typ]
	}
	return fmt.Sprintf("rdma_cm event %d", int(e.typ))
}

// eventChannel is an rdma_cm event channel read by one goroutine through
// the netpoller.
type eventChannel struct {
	ch   *C.struct_rdma_event_channel
	pfd  *pollFD
	done chan struct{} // closed when the reading goroutine has returned
}

func newEventChannel() (*eventChannel, error) {
	ch, err := C.rdma_create_event_channel()
	if ch == nil {
		return nil, verbErr("rdma_create_event_channel", errnoOf(err))
	}
	pfd, err := newPollFD(int(ch.fd), "rdma-cm-channel")
	if err != nil {
		C.rdma_destroy_event_channel(ch)
		return nil, err
	}
	return &eventChannel{ch: ch, pfd: pfd, done: make(chan struct{})}, nil
}

// run calls handle for every event until the channel is closed.
func (ec *eventChannel) run(handle func(cmEvent)) {
	defer close(ec.done)
	for {
		var ev C.struct_smb3d_cm_event
		var rc C.int
		err := ec.pfd.wait(context.Background(), func() bool {
			rc = C.smb3d_get_cm_event(ec.ch, &ev)
			return rc != -C.EAGAIN
		})
		if err != nil || rc != 0 {
			return // closed (or the channel broke: nothing more will come)
		}
		e := cmEvent{typ: C.int(ev.event), status: int(ev.status), id: ev.id}
		e.param = ConnParam{
			ResponderResources: uint8(ev.responder_resources),
			InitiatorDepth:     uint8(ev.initiator_depth),
			RetryCount:         uint8(ev.retry_count),
			RNRRetryCount:      uint8(ev.rnr_retry_count),
		}
		if n := int(ev.private_data_len); n > 0 {
			e.param.PrivateData = C.GoBytes(unsafe.Pointer(&ev.private_data[0]), C.int(n))
		}
		handle(e)
	}
}

// stop ends the reading goroutine (if started) and waits for it.
func (ec *eventChannel) stop(started bool) {
	ec.pfd.close()
	if started {
		<-ec.done
	}
}

func (ec *eventChannel) destroy() { C.rdma_destroy_event_channel(ec.ch) }

func toCAddr(ap netip.AddrPort) C.struct_smb3d_addr {
	var a C.struct_smb3d_addr
	ip := ap.Addr()
	if ip.Is4() || ip.Is4In6() {
		b := ip.Unmap().As4()
		C.memcpy(unsafe.Pointer(&a.ip[0]), unsafe.Pointer(&b[0]), 4)
		a.ip_len = 4
	} else if ip.Is6() {
		b := ip.As16()
		C.memcpy(unsafe.Pointer(&a.ip[0]), unsafe.Pointer(&b[0]), 16)
		a.ip_len = 16
	}
	a.port = C.uint16_t(ap.Port())
	return a
}

func fromCAddr(a *C.struct_smb3d_addr) netip.AddrPort {
	var ip netip.Addr
	switch a.ip_len {
	case 4:
		ip = netip.AddrFrom4(*(*[4]byte)(unsafe.Pointer(&a.ip[0])))
	case 16:
		ip = netip.AddrFrom16(*(*[16]byte)(unsafe.Pointer(&a.ip[0])))
	default:
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, uint16(a.port))
}

// cParam converts p; free must be called after the verb.
func cParam(p *ConnParam) (cp C.struct_rdma_conn_param, free func()) {
	cp.responder_resources = C.uint8_t(p.ResponderResources)
	cp.initiator_depth = C.uint8_t(p.InitiatorDepth)
	cp.retry_count = C.uint8_t(p.RetryCount)
	cp.rnr_retry_count = C.uint8_t(p.RNRRetryCount)
	free = func() {}
	if len(p.PrivateData) > 0 {
		mem := C.CBytes(p.PrivateData)
		cp.private_data = mem
		cp.private_data_len = C.uint8_t(len(p.PrivateData))
		free = func() { C.free(mem) }
	}
	return cp, free
}

// Listener accepts RC connections on an address and port (rdma_listen).
type Listener struct {
	id   *C.struct_rdma_cm_id
	ec   *eventChannel
	addr netip.AddrPort
	reqs chan *Endpoint

	closeOnce sync.Once
}

// Listen binds to laddr and listens. The address must belong to an RDMA
// capable netdev (or be unspecified to listen on all of them); port 0 picks
// a free port (see Addr). backlog bounds both the kernel's queue and the
// requests waiting for Accept; requests beyond it are rejected.
func Listen(laddr netip.AddrPort, backlog int) (*Listener, error) {
	if backlog <= 0 {
		backlog = 16
	}
	ec, err := newEventChannel()
	if err != nil {
		return nil, err
	}
	l := &Listener{ec: ec, reqs: make(chan *Endpoint, backlog)}
	if rc, err := C.rdma_create_id(ec.ch, &l.id, nil, C.RDMA_PS_TCP); rc != 0 {
		ec.stop(false)
		ec.destroy()
		return nil, verbErr("rdma_create_id", errnoOf(err))
	}
	fail := func(err error) (*Listener, error) {
		C.rdma_destroy_id(l.id)
		ec.stop(false)
		ec.destroy()
		return nil, err
	}
	a := toCAddr(laddr)
	if rc, err := C.smb3d_bind_addr(l.id, &a); rc != 0 {
		return fail(fmt.Errorf("rdma: listen on %v: %w", laddr, verbErr("rdma_bind_addr", errnoOf(err))))
	}
	if rc, err := C.rdma_listen(l.id, C.int(backlog)); rc != 0 {
		return fail(fmt.Errorf("rdma: listen on %v: %w", laddr, verbErr("rdma_listen", errnoOf(err))))
	}
	var la C.struct_smb3d_addr
	C.smb3d_local_addr(l.id, &la)
	l.addr = fromCAddr(&la)
	track(kindListener)
	go ec.run(l.handle)
	return l, nil
}

// handle runs on the listener's event goroutine.
func (l *Listener) handle(e cmEvent) {
	if e.typ != C.RDMA_CM_EVENT_CONNECT_REQUEST {
		return // events of requests not yet migrated, device removal: nothing to do
	}
	ep, err := newEndpoint(e.id)
	if err != nil {
		C.rdma_reject(e.id, nil, 0)
		C.rdma_destroy_id(e.id)
		return
	}
	ep.peer = e.param
	select {
	case l.reqs <- ep:
	default: // backlog full
		ep.Reject(nil)
	}
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Accept returns the next connection request: an Endpoint whose PeerParam
// holds the connector's private data and limits. Create its QP on
// ep.Device(), then call ep.Accept, or ep.Reject.
func (l *Listener) Accept(ctx context.Context) (*Endpoint, error) {
	select {
	case ep := <-l.reqs:
		return ep, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.ec.done:
		return nil, ErrClosed
	}
}

// Close stops listening and rejects the requests not yet accepted.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.ec.stop(true)
		for {
			select {
			case ep := <-l.reqs:
				ep.Reject(nil)
				continue
			default:
			}
			break
		}
		C.rdma_destroy_id(l.id)
		l.ec.destroy()
		untrack(kindListener)
	})
	return nil
}

// Endpoint is one side of an RC connection: an rdma_cm id with its own event
// channel and, after CreateQP, its queue pair.
//
// Posting work requests is safe from several goroutines. The connect phase
// (Resolve, CreateQP, Connect or Accept) belongs to one goroutine.
type Endpoint struct {
	id *C.struct_rdma_cm_id
	ec *eventChannel

	events chan cmEvent // connect-phase events, from the event goroutine
	peer   ConnParam    // the peer's connect request or accept

	mu        sync.RWMutex // guards qp against Close; held (read) while posting
	qp        *C.struct_ibv_qp
	connected bool
	closed    bool

	closeOnce sync.Once
	closeErr  error

	done     chan struct{}
	doneOnce sync.Once
	err      error // why done was closed
}

// newEndpoint wraps id (from rdma_create_id or a connect request) with a new
// event channel and starts its event goroutine.
func newEndpoint(id *C.struct_rdma_cm_id) (*Endpoint, error) {
	ec, err := newEventChannel()
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{id: id, ec: ec, events: make(chan cmEvent, 8), done: make(chan struct{})}
	if id != nil {
		if rc, err := C.rdma_migrate_id(id, ec.ch); rc != 0 {
			ec.stop(false)
			ec.destroy()
			return nil, verbErr("rdma_migrate_id", errnoOf(err))
		}
	} else if rc, err := C.rdma_create_id(ec.ch, &ep.id, nil, C.RDMA_PS_TCP); rc != 0 {
		ec.stop(false)
		ec.destroy()
		return nil, verbErr("rdma_create_id", errnoOf(err))
	}
	track(kindEndpoint)
	go ec.run(ep.handle)
	return ep, nil
}

// handle runs on the endpoint's event goroutine.
func (ep *Endpoint) handle(e cmEvent) {
	switch e.typ {
	case C.RDMA_CM_EVENT_DISCONNECTED, C.RDMA_CM_EVENT_DEVICE_REMOVAL:
		ep.mu.RLock()
		if ep.connected {
			C.rdma_disconnect(ep.id) // answer the peer's request (DREP); flushes the QP
		}
		ep.mu.RUnlock()
		ep.fail(ErrDisconnected)
	case C.RDMA_CM_EVENT_TIMEWAIT_EXIT, C.RDMA_CM_EVENT_ADDR_CHANGE:
		return
	}
	select {
	case ep.events <- e:
	default: // nobody is connecting any more
	}
}

// fail records why the connection ended, moves the QP to the error state
// (so that every outstanding work request completes, flushed) and closes Done.
func (ep *Endpoint) fail(err error) {
	ep.doneOnce.Do(func() {
		ep.err = err
		ep.mu.RLock()
		if ep.qp != nil {
			C.smb3d_qp_to_error(ep.qp)
		}
		ep.mu.RUnlock()
		close(ep.done)
	})
}

// Resolve starts an active connection to raddr: it resolves the address and
// the route, which binds the endpoint to a device (see Device). Create a QP
// with CreateQP, then Connect.
func Resolve(ctx context.Context, raddr netip.AddrPort, opts *ResolveOptions) (*Endpoint, error) {
	var o ResolveOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	ep, err := newEndpoint(nil)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Endpoint, error) {
		ep.Close()
		return nil, fmt.Errorf("rdma: resolve %v: %w", raddr, err)
	}
	dst := toCAddr(raddr)
	var src C.struct_smb3d_addr
	if o.Local.IsValid() {
		src = toCAddr(netip.AddrPortFrom(o.Local, 0))
	}
	ms := C.int(o.Timeout / time.Millisecond)
	if rc, err := C.smb3d_resolve_addr(ep.id, &src, &dst, ms); rc != 0 {
		return fail(verbErr("rdma_resolve_addr", errnoOf(err)))
	}
	if _, err := ep.await(ctx, "resolve address", C.RDMA_CM_EVENT_ADDR_RESOLVED); err != nil {
		return fail(err)
	}
	if rc, err := C.rdma_resolve_route(ep.id, ms); rc != 0 {
		return fail(verbErr("rdma_resolve_route", errnoOf(err)))
	}
	if _, err := ep.await(ctx, "resolve route", C.RDMA_CM_EVENT_ROUTE_RESOLVED); err != nil {
		return fail(err)
	}
	return ep, nil
}

// await waits for the event want; any other event is an error.
func (ep *Endpoint) await(ctx context.Context, op string, want C.int) (cmEvent, error) {
	select {
	case e := <-ep.events:
		if e.typ == want {
			return e, nil
		}
		if e.typ == C.RDMA_CM_EVENT_REJECTED {
			var ra C.struct_smb3d_addr
			C.smb3d_peer_addr(ep.id, &ra)
			return e, &RejectedError{Remote: fromCAddr(&ra), Reason: e.status, PrivateData: e.param.PrivateData}
		}
		return e, &CMError{Op: op, Event: e.name(), Status: e.status}
	case <-ctx.Done():
		return cmEvent{}, ctx.Err()
	case <-ep.ec.done:
		return cmEvent{}, ErrClosed
	}
}

// Device returns the device the endpoint is bound to (after Resolve, or for
// an accepted request). PDs and CQs for its QP must be created on it.
func (ep *Endpoint) Device() *Device { return cmDevice(ep.id.verbs) }

// PeerParam returns the peer's connection parameters: for an accepted
// request the connector's, after Connect the acceptor's (its private data).
func (ep *Endpoint) PeerParam() ConnParam { return ep.peer }

// LocalAddr returns the endpoint's local address.
func (ep *Endpoint) LocalAddr() netip.AddrPort {
	var a C.struct_smb3d_addr
	C.smb3d_local_addr(ep.id, &a)
	return fromCAddr(&a)
}

// RemoteAddr returns the peer's address.
func (ep *Endpoint) RemoteAddr() netip.AddrPort {
	var a C.struct_smb3d_addr
	C.smb3d_peer_addr(ep.id, &a)
	return fromCAddr(&a)
}

// CreateQP creates the endpoint's RC queue pair in pd (which must be on
// ep.Device()).
func (ep *Endpoint) CreateQP(pd *PD, cfg QPConfig) error {
	c := cfg.withDefaults()
	if c.SendCQ == nil || c.RecvCQ == nil {
		return errors.New("rdma: CreateQP needs a send and a receive CQ")
	}
	if pd.pd.context != ep.id.verbs {
		return errors.New("rdma: CreateQP: the PD is not on the endpoint's device")
	}
	var a C.struct_ibv_qp_init_attr
	a.send_cq = c.SendCQ.cq
	a.recv_cq = c.RecvCQ.cq
	a.qp_type = C.IBV_QPT_RC
	a.cap.max_send_wr = C.uint32_t(c.MaxSendWR)
	a.cap.max_recv_wr = C.uint32_t(c.MaxRecvWR)
	a.cap.max_send_sge = C.uint32_t(c.MaxSendSGE)
	a.cap.max_recv_sge = C.uint32_t(c.MaxRecvSGE)
	a.cap.max_inline_data = C.uint32_t(c.MaxInlineData)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return ErrClosed
	}
	if ep.qp != nil {
		return errors.New("rdma: CreateQP: the endpoint has a QP already")
	}
	if rc, err := C.rdma_create_qp(ep.id, pd.pd, &a); rc != 0 {
		return verbErr("rdma_create_qp", errnoOf(err))
	}
	ep.qp = ep.id.qp
	return nil
}

// Connect connects a resolved endpoint (with its QP) and waits until the
// connection is established. A connection nobody listens for, or that the
// peer rejects, returns a *RejectedError (errors.Is ECONNREFUSED).
func (ep *Endpoint) Connect(ctx context.Context, p ConnParam) error {
	cp, free := cParam(&p)
	rc, err := C.rdma_connect(ep.id, &cp)
	free()
	if rc != 0 {
		return fmt.Errorf("rdma: connect to %v: %w", ep.RemoteAddr(), verbErr("rdma_connect", errnoOf(err)))
	}
	e, err := ep.await(ctx, "connect", C.RDMA_CM_EVENT_ESTABLISHED)
	if err != nil {
		return err
	}
	ep.peer = e.param
	ep.setConnected()
	return nil
}

// Accept accepts a connection request (from Listener.Accept) and waits until
// the connection is established.
func (ep *Endpoint) Accept(ctx context.Context, p ConnParam) error {
	cp, free := cParam(&p)
	rc, err := C.rdma_accept(ep.id, &cp)
	free()
	if rc != 0 {
		return fmt.Errorf("rdma: accept from %v: %w", ep.RemoteAddr(), verbErr("rdma_accept", errnoOf(err)))
	}
	if _, err := ep.await(ctx, "accept", C.RDMA_CM_EVENT_ESTABLISHED); err != nil {
		return err
	}
	ep.setConnected()
	return nil
}

func (ep *Endpoint) setConnected() {
	ep.mu.Lock()
	ep.connected = true
	ep.mu.Unlock()
}

// Reject rejects a connection request with optional private data and closes
// the endpoint.
func (ep *Endpoint) Reject(privateData []byte) error {
	var rc C.int
	var err error
	if len(privateData) > 0 {
		mem := C.CBytes(privateData)
		rc, err = C.rdma_reject(ep.id, mem, C.uint8_t(len(privateData)))
		C.free(mem)
	} else {
		rc, err = C.rdma_reject(ep.id, nil, 0)
	}
	ep.Close()
	if rc != 0 {
		return verbErr("rdma_reject", errnoOf(err))
	}
	return nil
}

// Disconnect disconnects (rdma_disconnect): outstanding work requests on
// both sides complete with WCWRFlushErr, and Done is closed.
func (ep *Endpoint) Disconnect() error {
	ep.mu.Lock()
	was := ep.connected
	ep.connected = false
	ep.mu.Unlock()
	var err error
	if was {
		if rc, e := C.rdma_disconnect(ep.id); rc != 0 {
			err = verbErr("rdma_disconnect", errnoOf(e))
		}
	}
	ep.fail(ErrDisconnected)
	return err
}

// Done is closed when the connection ends: the peer disconnected, the
// device went away, or Disconnect or Close was called. Err says why.
func (ep *Endpoint) Done() <-chan struct{} { return ep.done }

// Err returns why Done was closed (ErrDisconnected, ErrClosed), or nil.
func (ep *Endpoint) Err() error {
	select {
	case <-ep.done:
		return ep.err
	default:
		return nil
	}
}

// Close disconnects if needed and destroys the QP, the cm id and the event
// channel. The PD and CQs stay with their owner.
func (ep *Endpoint) Close() error {
	ep.closeOnce.Do(func() { ep.closeErr = ep.close() })
	return ep.closeErr
}

func (ep *Endpoint) close() error {
	ep.mu.Lock()
	ep.closed = true
	if ep.connected {
		C.rdma_disconnect(ep.id)
		ep.connected = false
	}
	ep.mu.Unlock()
	ep.fail(ErrClosed)
	ep.ec.stop(true)
	ep.mu.Lock()
	if ep.qp != nil {
		C.rdma_destroy_qp(ep.id)
		ep.qp = nil
	}
	ep.mu.Unlock()
	var err error
	if rc, e := C.rdma_destroy_id(ep.id); rc != 0 {
		err = verbErr("rdma_destroy_id", errnoOf(e))
	}
	ep.ec.destroy()
	untrack(kindEndpoint)
	return err
}

// PostRecv posts receive work requests (at most 64, with 256 SGEs in all,
// per call).
func (ep *Endpoint) PostRecv(wrs ...RecvWR) error {
	if len(wrs) == 0 {
		return nil
	}
	if len(wrs) > C.SMB3D_MAX_POST_WR {
		return fmt.Errorf("rdma: post recv: %d work requests, at most %d per call", len(wrs), C.SMB3D_MAX_POST_WR)
	}
	var wbuf [16]C.struct_smb3d_recv_wr
	var sbuf [16]C.struct_ibv_sge
	cw, cs := wbuf[:0], sbuf[:0]
	for i := range wrs {
		cw = append(cw, C.struct_smb3d_recv_wr{wr_id: C.uint64_t(wrs[i].ID), num_sge: C.uint32_t(len(wrs[i].SGL))})
		cs = appendSGEs(cs, wrs[i].SGL)
	}
	var sp *C.struct_ibv_sge
	if len(cs) > 0 {
		sp = &cs[0]
	}
	var bad C.int
	ep.mu.RLock()
	if ep.qp == nil {
		ep.mu.RUnlock()
		return errNoQP(ep)
	}
	rc := C.smb3d_post_recv(ep.qp, C.int(len(cw)), &cw[0], sp, &bad)
	ep.mu.RUnlock()
	if rc != 0 {
		return fmt.Errorf("rdma: post recv (work request %#x): %w", wrs[bad].ID, verbErr("ibv_post_recv", syscall.Errno(rc)))
	}
	return nil
}

// PostSend posts send-queue work requests (at most 64, with 256 SGEs in
// all, per call). Only requests with SendSignaled produce a completion when
// they succeed; a failed request always completes.
func (ep *Endpoint) PostSend(wrs ...SendWR) error {
	if len(wrs) == 0 {
		return nil
	}
	if len(wrs) > C.SMB3D_MAX_POST_WR {
		return fmt.Errorf("rdma: post send: %d work requests, at most %d per call", len(wrs), C.SMB3D_MAX_POST_WR)
	}
	var wbuf [16]C.struct_smb3d_send_wr
	var sbuf [16]C.struct_ibv_sge
	cw, cs := wbuf[:0], sbuf[:0]
	for i := range wrs {
		w := &wrs[i]
		c := C.struct_smb3d_send_wr{
			wr_id:       C.uint64_t(w.ID),
			remote_addr: C.uint64_t(w.RemoteAddr),
			opcode:      C.uint32_t(w.Op),
			send_flags:  C.uint32_t(w.Flags),
			num_sge:     C.uint32_t(len(w.SGL)),
			rkey:        C.uint32_t(w.RKey),
		}
		switch w.Op {
		case OpSendWithImm, OpRDMAWriteWithImm:
			c.imm_or_inv = C.uint32_t(w.Imm)
		case OpSendWithInv, OpLocalInv:
			c.imm_or_inv = C.uint32_t(w.InvalidateRKey)
		case OpBindMW:
			b := w.Bind
			if b == nil || b.MW == nil || b.MR == nil {
				return errors.New("rdma: post send: OpBindMW needs Bind with MW and MR")
			}
			c.bind_mw, c.bind_mr = b.MW.mw, b.MR.mr
			c.bind_addr, c.bind_length = C.uint64_t(b.Addr), C.uint64_t(b.Length)
			c.bind_access, c.bind_rkey = C.uint32_t(b.Access), C.uint32_t(b.RKey)
		}
		cw = append(cw, c)
		cs = appendSGEs(cs, w.SGL)
	}
	var sp *C.struct_ibv_sge
	if len(cs) > 0 {
		sp = &cs[0]
	}
	var bad C.int
	ep.mu.RLock()
	if ep.qp == nil {
		ep.mu.RUnlock()
		return errNoQP(ep)
	}
	rc := C.smb3d_post_send(ep.qp, C.int(len(cw)), &cw[0], sp, &bad)
	ep.mu.RUnlock()
	if rc != 0 {
		return fmt.Errorf("rdma: post send (work request %#x): %w", wrs[bad].ID, verbErr("ibv_post_send", syscall.Errno(rc)))
	}
	return nil
}

func appendSGEs(cs []C.struct_ibv_sge, sgl []SGE) []C.struct_ibv_sge {
	for _, s := range sgl {
		cs = append(cs, C.struct_ibv_sge{addr: C.uint64_t(s.Addr), length: C.uint32_t(s.Length), lkey: C.uint32_t(s.LKey)})
	}
	return cs
}

func errNoQP(ep *Endpoint) error {
	if ep.closed {
		return ErrClosed
	}
	return errors.New("rdma: the endpoint has no QP (CreateQP)")
}

// qpState returns the QP's state (enum ibv_qp_state), for tests.
func (ep *Endpoint) qpState() int {
	ep.mu.RLock()
	defer ep.mu.RUnlock()
	if ep.qp == nil {
		return -1
	}
	return int(C.smb3d_qp_state(ep.qp))
}
