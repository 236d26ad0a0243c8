//go:build rdma && cgo && linux

package rdma

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestDevices(t *testing.T) {
	testAddr(t) // skips without a device
	if err := Available(); err != nil {
		t.Fatalf("Available() = %v with a device present", err)
	}
	devs, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("no devices")
	}
	for _, d := range devs {
		t.Logf("%s guid %s fw %q vendor %#x/%#x max_mr_size %d max_qp %d max_qp_wr %d max_sge %d max_cqe %d rd_atom %d/%d mw2 %v",
			d.Name, d.GUID(), d.FirmwareVersion, d.VendorID, d.VendorPartID, d.MaxMRSize, d.MaxQP, d.MaxQPWR,
			d.MaxSGE, d.MaxCQE, d.MaxQPRdAtom, d.MaxQPInitRdAtom, d.MemWindowType2)
		if d.Name == "" || d.MaxQPWR <= 0 || d.MaxSGE <= 0 || d.MaxMRSize == 0 || len(d.Ports) == 0 {
			t.Errorf("%s: implausible attributes %+v", d.Name, d)
		}
		for _, p := range d.Ports {
			t.Logf("  port %d %v link %v mtu %v/%v", p.Port, p.State, p.LinkLayer, p.ActiveMTU, p.MaxMTU)
			for _, g := range p.GIDs {
				t.Logf("    gid %d %v %v ifindex %d", g.Index, g.Addr(), g.Type, g.IfIndex)
			}
			if p.State == PortActive && p.LinkLayer == LinkLayerEthernet && len(p.GIDs) == 0 {
				t.Errorf("%s port %d: active RoCE port without GIDs", d.Name, p.Port)
			}
		}
	}
	dev, err := OpenDevice(devs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, dev)
	if dev.Name() != devs[0].Name {
		t.Errorf("OpenDevice(%q).Name() = %q", devs[0].Name, dev.Name())
	}
	if _, err := OpenDevice("no-such-device"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("OpenDevice(no-such-device) = %v, want ErrNoDevice", err)
	}
}

// TestWCStatusText checks the Go table against ibv_wc_status_str.
func TestWCStatusText(t *testing.T) {
	for s := WCSuccess; s <= WCTMRndvIncomplete; s++ {
		if got, want := s.String(), wcStatusStr(s); got != want {
			t.Errorf("status %d: %q, ibv_wc_status_str says %q", s, got, want)
		}
	}
}

// TestRegisterRefusesGoMemory: Go heap memory must not reach the device.
func TestRegisterRefusesGoMemory(t *testing.T) {
	testAddr(t)
	noLeaks(t)
	dev := must[*Device](t)(OpenDevice(""))
	defer closeOK(t, dev)
	pd := must[*PD](t)(dev.AllocPD())
	defer closeOK(t, pd)
	if mr, err := pd.Register(make([]byte, 4096), AccessLocalWrite); err == nil {
		mr.Close()
		t.Fatal("Register accepted Go heap memory")
	}
	b := must[*Buffer](t)(Alloc(1<<16, 0))
	defer closeOK(t, b)
	mr := must[*MR](t)(pd.Register(b.Bytes()[4096:8192], AccessLocalWrite|AccessRemoteRead))
	defer closeOK(t, mr)
	if mr.Len() != 4096 || mr.LKey() == 0 {
		t.Errorf("MR len %d lkey %#x", mr.Len(), mr.LKey())
	}
	if s := mr.SGE(100, 200); s.Addr != mr.Addr()+100 || s.Length != 200 || s.LKey != mr.LKey() {
		t.Errorf("SGE = %+v", s)
	}
}

// messenger exchanges fixed-size messages over a side: receive slots in the
// first half of its buffer, send slots in the second.
type messenger struct {
	*side
	size, slots int
	freeSend    []int
	got         []Completion // receive completions not yet consumed
	sends       int          // send completions seen
}

const recvTag = 1 << 32

func newMessenger(s *side, size, slots int) *messenger {
	m := &messenger{side: s, size: size, slots: slots}
	for i := range slots {
		m.freeSend = append(m.freeSend, i)
	}
	return m
}

func (m *messenger) postRecv(i int) error {
	return m.ep.PostRecv(RecvWR{ID: recvTag | uint64(i), SGL: []SGE{m.mr.SGE(i*m.size, m.size)}})
}

func (m *messenger) postAllRecvs() error {
	for i := range m.slots {
		if err := m.postRecv(i); err != nil {
			return err
		}
	}
	return nil
}

// pump waits for completions and sorts them.
func (m *messenger) pump(ctx context.Context) error {
	n, err := m.cq.Wait(ctx, m.wc)
	if err != nil {
		return err
	}
	for _, c := range m.wc[:n] {
		if err := c.Err(); err != nil {
			return err
		}
		if c.Opcode == WCRecv {
			m.got = append(m.got, c)
		} else {
			m.freeSend = append(m.freeSend, int(c.WRID))
			m.sends++
		}
	}
	return nil
}

func (m *messenger) send(ctx context.Context, msg []byte) error {
	for len(m.freeSend) == 0 {
		if err := m.pump(ctx); err != nil {
			return err
		}
	}
	i := m.freeSend[len(m.freeSend)-1]
	m.freeSend = m.freeSend[:len(m.freeSend)-1]
	off := (m.slots + i) * m.size
	copy(m.mr.Bytes()[off:], msg)
	return m.ep.PostSend(SendWR{ID: uint64(i), Op: OpSend, Flags: SendSignaled, SGL: []SGE{m.mr.SGE(off, len(msg))}})
}

// recv returns the next message; it is valid until repost is called.
func (m *messenger) recv(ctx context.Context) (slot int, msg []byte, err error) {
	for len(m.got) == 0 {
		if err := m.pump(ctx); err != nil {
			return 0, nil, err
		}
	}
	c := m.got[0]
	m.got = m.got[1:]
	slot = int(c.WRID &^ recvTag)
	return slot, m.mr.Bytes()[slot*m.size : slot*m.size+int(c.ByteLen)], nil
}

func fillMsg(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(seq>>3) ^ byte(i)
	}
}

// exchange runs count request/response round trips with up to window
// requests in flight and returns the time it took.
func exchange(t *testing.T, cq CQOptions, count, window int) time.Duration {
	const size, slots = 512, 64
	prep := func(s *side) error { return newMessenger(s, size, slots).postAllRecvs() }
	cli, srv := connectPair(t, pairConfig{bufSize: 2 * slots * size, cq: cq, prepare: prep})
	cm, sm := newMessenger(cli, size, slots), newMessenger(srv, size, slots)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	srvErr := make(chan error, 1)
	go func() { // echo server: verify, answer with seq|1<<63
		reply := make([]byte, size)
		for n := 0; n < count; n++ {
			slot, msg, err := sm.recv(ctx)
			if err != nil {
				srvErr <- err
				return
			}
			seq := binary.LittleEndian.Uint64(msg)
			want := make([]byte, len(msg))
			fillMsg(want, seq)
			if !bytes.Equal(msg, want) {
				srvErr <- errors.New("server: corrupt message")
				return
			}
			fillMsg(reply[:len(msg)], seq|1<<63)
			if err := sm.postRecv(slot); err != nil {
				srvErr <- err
				return
			}
			if err := sm.send(ctx, reply[:len(msg)]); err != nil {
				srvErr <- err
				return
			}
		}
		srvErr <- nil
	}()

	start := time.Now()
	msg := make([]byte, size)
	sent, received := 0, 0
	for received < count {
		for sent < count && sent-received < window {
			n := 16 + sent%(size-16)
			fillMsg(msg[:n], uint64(sent))
			if err := cm.send(ctx, msg[:n]); err != nil {
				t.Fatal("client send:", err)
			}
			sent++
		}
		slot, got, err := cm.recv(ctx)
		if err != nil {
			t.Fatal("client recv:", err)
		}
		seq := uint64(received) | 1<<63
		want := make([]byte, 16+received%(size-16))
		fillMsg(want, seq)
		if !bytes.Equal(got, want) {
			t.Fatalf("reply %d: corrupt or out of order (%d bytes, seq %#x)", received, len(got), binary.LittleEndian.Uint64(got))
		}
		if err := cm.postRecv(slot); err != nil {
			t.Fatal(err)
		}
		received++
	}
	elapsed := time.Since(start)
	if err := <-srvErr; err != nil {
		t.Fatal(err)
	}
	return elapsed
}

// TestMessages: two endpoints connect through rdma_cm and exchange 10,000
// request/response pairs (20,000 sends), contents verified.
func TestMessages(t *testing.T) {
	noLeaks(t)
	const count = 10000
	d := exchange(t, CQOptions{}, count, 16)
	t.Logf("%d round trips in %v: %.0f messages/s (netpoller CQ)", count, d.Round(time.Millisecond), 2*count/d.Seconds())
}

// TestMessagesPolling is TestMessages with busy-polled CQs.
func TestMessagesPolling(t *testing.T) {
	noLeaks(t)
	const count = 2000
	d := exchange(t, CQOptions{Polling: true}, count, 16)
	t.Logf("%d round trips in %v: %.0f messages/s (polling CQ)", count, d.Round(time.Millisecond), 2*count/d.Seconds())
}

// fillPattern fills b with a xorshift sequence from seed.
func fillPattern(b []byte, seed uint64) {
	x := seed*0x9e3779b97f4a7c15 | 1
	for i := 0; i+8 <= len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
}

// TestRDMAWriteRead moves 1 GiB (256 MiB with -test.short) half by RDMA write and
// half by RDMA read, in 1 MiB work requests over a 16 MiB region, and
// verifies a CRC32 of every round on both sides. The server passes its
// region's address and rkey to the client in the accept's private data.
func TestRDMAWriteRead(t *testing.T) {
	noLeaks(t)
	total := int64(1 << 30)
	if testing.Short() {
		total = 256 << 20
	}
	const region, chunk, depth = 16 << 20, 1 << 20, 16
	var info [12]byte
	cli, srv := connectPair(t, pairConfig{
		bufSize: region,
		accept: func(s *side) ConnParam {
			binary.LittleEndian.PutUint64(info[:], s.mr.Addr())
			binary.LittleEndian.PutUint32(info[8:], s.mr.RKey())
			p := s.ep.PeerParam()
			return ConnParam{PrivateData: info[:], ResponderResources: p.InitiatorDepth, InitiatorDepth: p.ResponderResources}
		},
	})
	pd := cli.ep.PeerParam().PrivateData
	if len(pd) < 12 || !bytes.Equal(pd[:12], info[:]) {
		t.Fatalf("private data from the acceptor: %x, want %x", pd, info)
	}
	raddr, rkey := binary.LittleEndian.Uint64(pd), binary.LittleEndian.Uint32(pd[8:])
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	// move posts region/chunk work requests of op with up to depth in flight.
	move := func(op WROpcode, round int) time.Duration {
		start := time.Now()
		posted, done := 0, 0
		const n = region / chunk
		for done < n {
			for posted < n && posted-done < depth {
				off := posted * chunk
				err := cli.ep.PostSend(SendWR{ID: uint64(round<<16 | posted), Op: op, Flags: SendSignaled,
					SGL: []SGE{cli.mr.SGE(off, chunk)}, RemoteAddr: raddr + uint64(off), RKey: rkey})
				if err != nil {
					t.Fatal(err)
				}
				posted++
			}
			k, err := cli.cq.Wait(ctx, cli.wc)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cli.wc[:k] {
				if err := c.Err(); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			done += k
		}
		return time.Since(start)
	}

	var moved int64
	var wtime, rtime time.Duration
	var wbytes, rbytes int64
	for round := 0; moved < total; round++ {
		if round%2 == 0 { // write: client memory -> server memory
			fillPattern(cli.mr.Bytes(), uint64(round))
			want := crc32.ChecksumIEEE(cli.mr.Bytes())
			wtime += move(OpRDMAWrite, round)
			if got := crc32.ChecksumIEEE(srv.mr.Bytes()); got != want {
				t.Fatalf("round %d: RDMA write: server CRC %08x, client CRC %08x", round, got, want)
			}
			wbytes += region
		} else { // read: server memory -> client memory
			fillPattern(srv.mr.Bytes(), uint64(round))
			want := crc32.ChecksumIEEE(srv.mr.Bytes())
			rtime += move(OpRDMARead, round)
			if got := crc32.ChecksumIEEE(cli.mr.Bytes()); got != want {
				t.Fatalf("round %d: RDMA read: client CRC %08x, server CRC %08x", round, got, want)
			}
			rbytes += region
		}
		moved += region
	}
	t.Logf("moved %d MiB: RDMA write %d MiB at %.1f MiB/s, RDMA read %d MiB at %.1f MiB/s",
		moved>>20, wbytes>>20, float64(wbytes)/(1<<20)/wtime.Seconds(), rbytes>>20, float64(rbytes)/(1<<20)/rtime.Seconds())
}

// TestConnectNoListener: connecting to a port nobody listens on is refused.
func TestConnectNoListener(t *testing.T) {
	addr := testAddr(t)
	noLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep := must[*Endpoint](t)(Resolve(ctx, netip.AddrPortFrom(addr, 47999), nil))
	setup(t, ep, &pairConfig{bufSize: 4096, cqSize: 16})
	err := ep.Connect(ctx, ConnParam{RetryCount: 7})
	t.Logf("connect to a port without listener: %v", err)
	if err == nil {
		t.Fatal("connect succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v is not ECONNREFUSED", err)
	}
	var re *RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("error %T is not a *RejectedError", err)
	}
}

// TestBadRKey: an RDMA read with a wrong rkey completes with a remote
// access error, mapped to a *WCError.
func TestBadRKey(t *testing.T) {
	noLeaks(t)
	cli, srv := connectPair(t, pairConfig{bufSize: 1 << 16})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := cli.ep.PostSend(SendWR{ID: 42, Op: OpRDMARead, Flags: SendSignaled, SGL: []SGE{cli.mr.SGE(0, 4096)},
		RemoteAddr: srv.mr.Addr(), RKey: srv.mr.RKey() ^ 0x5a5a00})
	if err != nil {
		t.Fatal(err)
	}
	n, err := cli.cq.Wait(ctx, cli.wc)
	if err != nil || n < 1 {
		t.Fatal(n, err)
	}
	werr := cli.wc[0].Err()
	t.Logf("bad rkey: %v", werr)
	var wce *WCError
	if !errors.As(werr, &wce) || wce.WRID != 42 {
		t.Fatalf("got %v, want a *WCError for work request 42", werr)
	}
	if !errors.Is(werr, WCRemAccessErr) {
		t.Errorf("status %v, want %v", wce.Status, WCRemAccessErr)
	}
}

// TestPeerDisconnectMidTransfer: the server goes away while the client has
// RDMA writes in flight; the client sees errors (not a hang), Done closes,
// and nothing leaks.
func TestPeerDisconnectMidTransfer(t *testing.T) {
	noLeaks(t)
	const chunk, depth = 64 << 10, 32
	cli, srv := connectPair(t, pairConfig{bufSize: 4 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	posted, completed := 0, 0
	var firstErr error
	var closedAt time.Time
	for firstErr == nil {
		for posted-completed < depth {
			off := (posted % 64) * chunk
			err := cli.ep.PostSend(SendWR{ID: uint64(posted), Op: OpRDMAWrite, Flags: SendSignaled,
				SGL: []SGE{cli.mr.SGE(off, chunk)}, RemoteAddr: srv.mr.Addr() + uint64(off), RKey: srv.mr.RKey()})
			if err != nil {
				firstErr = err // the QP is in the error state already
				break
			}
			posted++
		}
		if firstErr != nil {
			break
		}
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatal("wait:", err) // a timeout here is the hang this test is about
		}
		for _, c := range cli.wc[:n] {
			if err := c.Err(); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		completed += n
		if completed >= 100 && closedAt.IsZero() {
			closedAt = time.Now()
			if err := srv.ep.Close(); err != nil { // the peer goes away mid-transfer
				t.Fatal(err)
			}
		}
	}
	t.Logf("after %d writes: %v (%v after the peer closed)", completed, firstErr, time.Since(closedAt).Round(time.Millisecond))
	select {
	case <-cli.ep.Done():
		if !errors.Is(cli.ep.Err(), ErrDisconnected) {
			t.Errorf("Err() = %v, want ErrDisconnected", cli.ep.Err())
		}
	case <-ctx.Done():
		t.Fatal("Done not closed after the peer disconnected")
	}
	// the rest of the work requests are flushed: drain them without hanging
	for completed < posted {
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatalf("draining (%d of %d): %v", completed, posted, err)
		}
		completed += n
	}
}

// TestMemoryWindow exposes part of an MR through a type 2 memory window
// (the userspace equivalent of FRWR): the peer writes through the window's
// rkey, invalidates it with a send-with-invalidate, and the old rkey is dead.
func TestMemoryWindow(t *testing.T) {
	testAddr(t)
	noLeaks(t)
	devs := must[[]DeviceInfo](t)(Devices())
	if !devs[0].MemWindowType2 {
		t.Skipf("%s has no type 2 memory windows", devs[0].Name)
	}
	const size = 1 << 16
	cli, srv := connectPair(t, pairConfig{bufSize: size,
		access:  AccessLocalWrite | AccessMWBind,
		prepare: func(s *side) error { return s.ep.PostRecv(RecvWR{ID: 7, SGL: []SGE{s.mr.SGE(0, 64)}}) }})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mw := must[*MW](t)(srv.pd.AllocMW())
	defer closeOK(t, mw)
	rkey := mw.NextRKey()
	win := srv.mr.Addr() + 4096
	err := srv.ep.PostSend(SendWR{ID: 1, Op: OpBindMW, Flags: SendSignaled,
		Bind: &MWBind{MW: mw, MR: srv.mr, Addr: win, Length: 8192, Access: AccessRemoteWrite | AccessRemoteRead, RKey: rkey}})
	if err != nil {
		t.Fatal(err)
	}
	if c := srv.waitOne(t, ctx); c.Opcode != WCBindMW {
		t.Fatalf("bind completion opcode %v", c.Opcode)
	}
	fillPattern(cli.mr.Bytes()[:8192], 99)
	if err := cli.ep.PostSend(SendWR{ID: 2, Op: OpRDMAWrite, Flags: SendSignaled,
		SGL: []SGE{cli.mr.SGE(0, 8192)}, RemoteAddr: win, RKey: rkey}); err != nil {
		t.Fatal(err)
	}
	cli.waitOne(t, ctx)
	if !bytes.Equal(srv.mr.Bytes()[4096:4096+8192], cli.mr.Bytes()[:8192]) {
		t.Fatal("RDMA write through the window: data differs")
	}
	// send with invalidate: the server's receive reports the invalidated rkey
	if err := cli.ep.PostSend(SendWR{ID: 3, Op: OpSendWithInv, Flags: SendSignaled,
		SGL: []SGE{cli.mr.SGE(0, 16)}, InvalidateRKey: rkey}); err != nil {
		t.Fatal(err)
	}
	cli.waitOne(t, ctx)
	c := srv.waitOne(t, ctx)
	if c.Flags&WCWithInv == 0 || c.InvalidatedRKey != rkey {
		t.Fatalf("receive: flags %#x invalidated rkey %#x, want %#x", c.Flags, c.InvalidatedRKey, rkey)
	}
	// the old rkey no longer works
	if err := cli.ep.PostSend(SendWR{ID: 4, Op: OpRDMAWrite, Flags: SendSignaled,
		SGL: []SGE{cli.mr.SGE(0, 64)}, RemoteAddr: win, RKey: rkey}); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cli.wc[:n] { // the posted receive is flushed as well
			if c.WRID == 4 {
				if !errors.Is(c.Err(), WCRemAccessErr) {
					t.Fatalf("write with an invalidated rkey: %v, want a remote access error", c.Err())
				}
				t.Logf("write with an invalidated rkey: %v", c.Err())
				return
			}
		}
	}
}

// TestCQWaitCancel: Wait on an idle CQ returns the context's error.
func TestCQWaitCancel(t *testing.T) {
	testAddr(t)
	noLeaks(t)
	dev := must[*Device](t)(OpenDevice(""))
	defer closeOK(t, dev)
	cq := must[*CQ](t)(dev.NewCQ(16, nil))
	defer closeOK(t, cq)
	wc := make([]Completion, 4)
	for i := 0; i < 2; i++ { // twice: a stale deadline must not leak into the next Wait
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := cq.Wait(ctx, wc)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want DeadlineExceeded", err)
		}
	}
	go func() { time.Sleep(50 * time.Millisecond); cq.Close() }()
	if _, err := cq.Wait(context.Background(), wc); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait during Close = %v, want ErrClosed", err)
	}
}

// TestHotPathAllocs: posting a work request and polling allocate nothing
// (the shim's arguments stay on the stack: #cgo noescape).
func TestHotPathAllocs(t *testing.T) {
	noLeaks(t)
	cli, srv := connectPair(t, pairConfig{bufSize: 1 << 16, qp: QPConfig{MaxSendWR: 256}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wr := []SendWR{{ID: 1, Op: OpRDMAWrite, SGL: []SGE{cli.mr.SGE(0, 64)}, RemoteAddr: srv.mr.Addr(), RKey: srv.mr.RKey()}}
	if n := testing.AllocsPerRun(100, func() {
		if err := cli.ep.PostSend(wr...); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("PostSend: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { cli.cq.Poll(cli.wc) }); n != 0 {
		t.Errorf("Poll: %v allocations", n)
	}
	// a signaled request retires the unsignaled ones before it
	wr[0].Flags = SendSignaled
	if err := cli.ep.PostSend(wr...); err != nil {
		t.Fatal(err)
	}
	cli.waitOne(t, ctx)
}
