package smbdirect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"smb3d/rdma-core-bindings"
	"smb3d/rdma-core-bindings/rdmafake"
	"smb3d/transport"
)

// resources registers a connection's memory on a fake endpoint.
func resources(ep *rdmafake.Endpoint, opts Options) Resources {
	o := opts.withDefaults()
	return Resources{
		QP: ep, CQ: ep.RecvCQ,
		Recv:      ep.Register(make([]byte, o.ReceiveCreditMax*o.MaxReceiveSize), rdma.AccessLocalWrite),
		Send:      ep.Register(make([]byte, o.SendBuffers*o.MaxSendSize), rdma.AccessLocalWrite),
		Pool:      NewPool(ep.Register(make([]byte, o.RDMABuffers*o.RDMABufferSize), rdma.AccessLocalWrite), o.RDMABufferSize),
		ReadDepth: 4,
		Register: func(mem []byte, access rdma.Access) (rdma.MemoryRegion, error) {
			return ep.Register(mem, access), nil
		},
	}
}

func testOpts() Options {
	return Options{RDMABuffers: 4, RDMABufferSize: 64 << 10, NegotiateTimeout: 5 * time.Second, CreditTimeout: 5 * time.Second}
}

// pair returns a negotiated server and client connected by rdmafake.
func pair(t *testing.T, sopts, copts Options) (srv, cli *Conn) {
	t.Helper()
	a, b := rdmafake.Pair(rdmafake.Config{})
	var err error
	if srv, err = newConn(resources(a, sopts), sopts, true); err != nil {
		t.Fatal(err)
	}
	if cli, err = newConn(resources(b, copts), copts, false); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.serverNegotiate() }()
	if err := cli.clientNegotiate(); err != nil {
		t.Fatal("client:", err)
	}
	if err := <-errc; err != nil {
		t.Fatal("server:", err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return srv, cli
}

func readTimeout(t *testing.T, c *Conn) []byte {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() { b, err := c.ReadMessage(); ch <- res{b, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal("read:", r.err)
		}
		return r.b
	case <-time.After(10 * time.Second):
		t.Fatal("read: timeout")
	}
	return nil
}

func random(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	r.Read(b)
	return b
}

func TestMessages(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	// sizes around the fragment payload (1364-24 = 1340) and up to the
	// largest message the peer reassembles, which needs more fragments
	// than credits (1 MiB / 1340 = 783 > 255), so the receiver must grant
	// credits in the middle of a message
	for _, n := range []int{1, 1339, 1340, 1341, 2680, 65536, 300000, 1 << 20} {
		msg := random(n)
		errc := make(chan error, 1)
		go func() { errc <- cli.WriteMessage(msg[:n/2], msg[n/2:]) }()
		if got := readTimeout(t, srv); !bytes.Equal(got, msg) {
			t.Fatalf("client->server %d bytes: got %d bytes, differ", n, len(got))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		go func() { errc <- srv.WriteMessage(msg) }()
		if got := readTimeout(t, cli); !bytes.Equal(got, msg) {
			t.Fatalf("server->client %d bytes: got %d bytes, differ", n, len(got))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	checkCredits(t, srv)
	checkCredits(t, cli)
}

// checkCredits asserts the credit invariants once the connection is quiet.
func checkCredits(t *testing.T, c *Conn) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		c.mu.Lock()
		posted, granted, n := c.posted, c.granted, c.recv.n
		deferred := len(c.deferred)
		c.mu.Unlock()
		if posted == n || time.Now().After(deadline) {
			if posted+deferred != n || granted > posted || granted < 0 {
				t.Fatalf("posted %d + deferred %d of %d receives, %d granted", posted, deferred, n, granted)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentWriters(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := bytes.Repeat([]byte{byte(w), byte(i)}, 1000+w*700+i)
				if err := cli.WriteMessage(msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	seen := map[[2]byte]bool{}
	for range writers * each {
		m := readTimeout(t, srv)
		k := [2]byte{m[0], m[1]}
		if !bytes.Equal(m, bytes.Repeat(k[:], len(m)/2)) || seen[k] {
			t.Fatalf("message %v interleaved or duplicated", k)
		}
		seen[k] = true
	}
	wg.Wait()
}

func TestMessageTooLarge(t *testing.T) {
	sopts := testOpts()
	sopts.MaxFragmentedSize = 200000
	srv, cli := pair(t, sopts, testOpts())
	// the client refuses to send what the server does not reassemble
	if err := cli.WriteMessage(make([]byte, 200001)); !errors.Is(err, transport.ErrMessageTooLarge) {
		t.Fatalf("oversized write: %v", err)
	}
	// SetMaxMessage bounds what the server accepts; a larger message ends
	// the connection with a clear reason
	srv.SetMaxMessage(5000)
	go cli.WriteMessage(make([]byte, 6000))
	_, err := srv.ReadMessage()
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Reason != "message too large" {
		t.Fatalf("read: %v", err)
	}
}

func TestRDMA(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	// the client exposes 300 KiB in two regions
	mem1, mem2 := make([]byte, 100<<10), make([]byte, 200<<10)
	mr1, _ := cli.Register(mem1, rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	mr2, _ := cli.Register(mem2, rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	descs := []transport.BufferDescriptor{
		{Offset: mr1.Addr() + 1000, Token: mr1.RKey(), Length: 90 << 10},
		{Offset: mr2.Addr(), Token: mr2.RKey(), Length: 200 << 10},
	}
	data := random(290 << 10)
	if err := srv.RDMAWrite(descs, data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mem1[1000:1000+90<<10], data[:90<<10]) || !bytes.Equal(mem2, data[90<<10:]) {
		t.Fatal("RDMA write: data differ")
	}
	for i := range mem2 {
		mem2[i] ^= 0x5a
	}
	back := make([]byte, 250<<10) // a shorter read than the descriptors cover
	if err := srv.RDMARead(descs, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back[:90<<10], mem1[1000:1000+90<<10]) || !bytes.Equal(back[90<<10:], mem2[:160<<10]) {
		t.Fatal("RDMA read: data differ")
	}
	// descriptors that cannot hold the data, or wrap, are refused without
	// touching the connection
	if err := srv.RDMAWrite(descs[:1], data); err == nil {
		t.Fatal("write past the descriptors accepted")
	}
	if err := srv.RDMAWrite([]transport.BufferDescriptor{{Offset: 1<<64 - 10, Token: 1, Length: 100}}, data[:10]); err == nil {
		t.Fatal("wrapping descriptor accepted")
	}
	if err := srv.RDMARead(descs, make([]byte, 2<<20)); err == nil {
		t.Fatal("read above MaxReadWriteSize accepted")
	}
	if err := srv.WriteMessage([]byte("still up")); err != nil {
		t.Fatal(err)
	}
	if string(readTimeout(t, cli)) != "still up" {
		t.Fatal("message after refused descriptors")
	}
	// a bad token fails the operation and, as RDMA does, the connection
	bad := []transport.BufferDescriptor{{Offset: mr1.Addr(), Token: mr1.RKey() + 77, Length: 4096}}
	if err := srv.RDMAWrite(bad, data[:4096]); err == nil {
		t.Fatal("bad token accepted")
	}
	if _, err := srv.ReadMessage(); err == nil {
		t.Fatal("connection alive after a remote access error")
	}
}

func TestRDMAConcurrent(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	mem := make([]byte, 8<<20)
	mr, _ := cli.Register(mem, rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := []transport.BufferDescriptor{{Offset: mr.Addr() + uint64(i)<<20, Token: mr.RKey(), Length: 1 << 20}}
			p := random(1<<20 - i)
			if err := srv.RDMAWrite(d, p); err != nil {
				t.Error(err)
				return
			}
			q := make([]byte, len(p))
			if err := srv.RDMARead(d, q); err != nil || !bytes.Equal(p, q) {
				t.Errorf("op %d: %v / data differ", i, err)
			}
		}()
	}
	wg.Wait()
}

func TestSendWithInvalidate(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	srv := startServer(t, a, testOpts())
	p := newRawPeer(t, b, 8)
	p.negotiate(t, 8)
	mr := b.Register(make([]byte, 4096), rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	if err := srv.WriteMessageInvalidate(mr.RKey(), make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	wc, m := p.recv(t)
	for DataTransfer(m).DataLength() == 0 { // credit grants
		wc, m = p.recv(t)
	}
	if wc.Flags&rdma.WCWithInv == 0 || wc.InvalidatedRKey != mr.RKey() {
		t.Fatalf("first fragment not sent with invalidate: %+v", wc)
	}
	if wc, _ := p.recv(t); wc.Flags&rdma.WCWithInv != 0 {
		t.Fatal("second fragment sent with invalidate")
	}
}

func TestCloseWhileBlocked(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	done := make(chan error, 2)
	go func() { _, err := srv.ReadMessage(); done <- err }()
	go func() { _, err := cli.ReadMessage(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	srv.Close()
	for range 2 {
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("read returned no error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("read still blocked after Close")
		}
	}
	if err := cli.WriteMessage([]byte("x")); err == nil {
		t.Fatal("write after the peer closed")
	}
}

// rawPeer speaks MS-SMBD by hand over a fake endpoint, to send what a
// correct client would not.
type rawPeer struct {
	ep     *rdmafake.Endpoint
	mr     *rdmafake.MR
	n      int
	nextTx int
}

const rawSlot = 8192

func newRawPeer(t *testing.T, ep *rdmafake.Endpoint, nrecv int) *rawPeer {
	p := &rawPeer{ep: ep, n: nrecv, mr: ep.Register(make([]byte, 2*nrecv*rawSlot), rdma.AccessLocalWrite)}
	for i := range nrecv {
		ep.PostRecv(rdma.RecvWR{ID: uint64(i), SGL: []rdma.SGE{p.mr.SGE(i*rawSlot, rawSlot)}})
	}
	return p
}

func (p *rawPeer) send(b []byte) {
	i := p.n + p.nextTx%p.n
	p.nextTx++
	copy(p.mr.Bytes()[i*rawSlot:], b)
	p.ep.PostSend(rdma.SendWR{ID: 1 << 40, Op: rdma.OpSend, SGL: []rdma.SGE{p.mr.SGE(i*rawSlot, len(b))}})
}

// recv returns the next receive completion and its bytes, and reposts.
func (p *rawPeer) recv(t *testing.T) (rdma.Completion, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		wc := make([]rdma.Completion, 1)
		if _, err := p.ep.RecvCQ.Wait(ctx, wc); err != nil {
			t.Fatal("raw peer: no message:", err)
		}
		if wc[0].WRID >= 1<<40 {
			continue
		}
		if wc[0].Err() != nil {
			return wc[0], nil
		}
		i := int(wc[0].WRID)
		b := append([]byte(nil), p.mr.Bytes()[i*rawSlot:i*rawSlot+int(wc[0].ByteLen)]...)
		p.ep.PostRecv(rdma.RecvWR{ID: uint64(i), SGL: []rdma.SGE{p.mr.SGE(i*rawSlot, rawSlot)}})
		return wc[0], b
	}
}

// negotiate negotiates asking for credits credits and grants the server
// all its receives.
func (p *rawPeer) negotiate(t *testing.T, credits uint16) NegotiateResponse {
	t.Helper()
	p.send(NegotiateRequestFields{Version, Version, credits, 1364, rawSlot, 1 << 20}.Append(nil))
	_, b := p.recv(t)
	r := NegotiateResponse(b)
	if err := r.Validate(); err != nil || r.Status() != 0 {
		t.Fatalf("negotiate response % x", b)
	}
	p.send(DataHeader{CreditsRequested: 255, CreditsGranted: uint16(p.n)}.Append(nil))
	return r
}

func startServer(t *testing.T, ep *rdmafake.Endpoint, opts Options) *Conn {
	t.Helper()
	c, err := newConn(resources(ep, opts), opts, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	errc := make(chan error, 1)
	go func() {
		if err := c.serverNegotiate(); err != nil {
			c.fail(err)
		}
		errc <- nil
	}()
	t.Cleanup(func() { <-errc })
	return c
}

// waitDead waits for the connection to end and returns why.
func waitDead(t *testing.T, c *Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(5 * time.Second):
		t.Fatal("connection still up")
	}
	return nil
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Reason != reason {
		t.Fatalf("error %v, want reason %q", err, reason)
	}
}

func TestNegotiateGolden(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	startServer(t, a, testOpts())
	p := newRawPeer(t, b, 4)
	p.send(unhex(t, goldenNegReq))
	_, resp := p.recv(t)
	if want := unhex(t, goldenNegResp); !bytes.Equal(resp, want) {
		t.Fatalf("response % x\nwant     % x", resp, want)
	}
}

func TestNegotiateRefused(t *testing.T) {
	good := NegotiateRequestFields{Version, Version, 255, 1364, 1364, 1 << 20}
	for _, tc := range []struct {
		name   string
		req    []byte
		reason string
		status bool // a STATUS_NOT_SUPPORTED response comes first
	}{
		{"version above", func() []byte { r := good; r.MinVersion, r.MaxVersion = 0x200, 0x200; return r.Append(nil) }(), "negotiate version", true},
		{"version below", func() []byte { r := good; r.MinVersion, r.MaxVersion = 0x001, 0x0ff; return r.Append(nil) }(), "negotiate version", true},
		{"no credits", func() []byte { r := good; r.CreditsRequested = 0; return r.Append(nil) }(), "negotiate request", false},
		{"tiny receive size", func() []byte { r := good; r.MaxReceiveSize = 127; return r.Append(nil) }(), "negotiate request", false},
		{"tiny fragmented size", func() []byte { r := good; r.MaxFragmentedSize = 131071; return r.Append(nil) }(), "negotiate request", false},
		{"truncated", good.Append(nil)[:19], "negotiate request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := rdmafake.Pair(rdmafake.Config{})
			srv := startServer(t, a, testOpts())
			p := newRawPeer(t, b, 4)
			p.send(tc.req)
			if tc.status {
				_, resp := p.recv(t)
				r := NegotiateResponse(resp)
				if r.Validate() != nil || r.Status() != StatusNotSupported || r.MinVersion() != Version || r.MaxVersion() != Version {
					t.Fatalf("response % x", resp)
				}
			}
			wantReason(t, waitDead(t, srv), tc.reason)
			if wc, _ := p.recv(t); wc.Err() == nil {
				t.Fatal("the peer got a message after the refusal")
			}
		})
	}
}

func TestNegotiateTimeout(t *testing.T) {
	a, _ := rdmafake.Pair(rdmafake.Config{})
	opts := testOpts()
	opts.NegotiateTimeout = 50 * time.Millisecond
	srv := startServer(t, a, opts)
	if err := waitDead(t, srv); !errors.Is(err, ErrNegotiateTimeout) {
		t.Fatal(err)
	}
}

func TestPeerAbuse(t *testing.T) {
	data := func(h DataHeader, payload int) []byte { return append(h.Append(nil), make([]byte, payload)...) }
	for _, tc := range []struct {
		name   string
		msgs   [][]byte
		reason string
	}{
		{"short header", [][]byte{make([]byte, 19)}, "malformed data transfer"},
		{"data past the end", [][]byte{data(DataHeader{DataLength: 100}, 50)}, "malformed data transfer"},
		{"fragment mismatch", [][]byte{data(DataHeader{DataLength: 100, RemainingDataLength: 200}, 100), data(DataHeader{DataLength: 100, RemainingDataLength: 50}, 100)}, "fragment mismatch"},
		{"message too large", [][]byte{data(DataHeader{DataLength: 100, RemainingDataLength: 1 << 20}, 100)}, "message too large"},
		{"no credit", [][]byte{data(DataHeader{DataLength: 8}, 8), data(DataHeader{DataLength: 8}, 8), data(DataHeader{DataLength: 8}, 8)}, "no credit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := rdmafake.Pair(rdmafake.Config{})
			srv := startServer(t, a, testOpts())
			p := newRawPeer(t, b, 4)
			// negotiate for 2 credits: a third message has none
			p.send(NegotiateRequestFields{Version, Version, 2, 1364, rawSlot, 1 << 20}.Append(nil))
			if _, r := p.recv(t); NegotiateResponse(r).CreditsGranted() != 2 {
				t.Fatalf("granted %d", NegotiateResponse(r).CreditsGranted())
			}
			for _, m := range tc.msgs {
				p.send(m)
			}
			wantReason(t, waitDead(t, srv), tc.reason)
		})
	}
}

func TestMessageBeforeNegotiation(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	p := newRawPeer(t, b, 4)
	// both wait in the fake until the server posts its receives
	p.send(NegotiateRequestFields{Version, Version, 2, 1364, 1364, 1 << 20}.Append(nil))
	p.send(append(DataHeader{DataLength: 10}.Append(nil), make([]byte, 10)...))
	opts := testOpts()
	c, err := newConn(resources(a, opts), opts, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantReason(t, waitDead(t, c), "message before negotiation")
}

func TestResponseRequested(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	startServer(t, a, testOpts())
	p := newRawPeer(t, b, 4)
	p.negotiate(t, 16)
	p.send(DataHeader{CreditsRequested: 16, Flags: FlagResponseRequested}.Append(nil))
	_, m := p.recv(t)
	if d := DataTransfer(m); d.Validate() != nil || d.DataLength() != 0 {
		t.Fatalf("answer % x", m)
	}
}

func TestKeepalive(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	opts := testOpts()
	opts.KeepaliveInterval, opts.KeepaliveTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv := startServer(t, a, opts)
	p := newRawPeer(t, b, 4)
	p.negotiate(t, 16)
	// skip the credit grant that answers the peer's larger target
	keepalive := func() {
		t.Helper()
		for range 3 {
			_, m := p.recv(t)
			if d := DataTransfer(m); d.Validate() == nil && d.Flags()&FlagResponseRequested != 0 {
				return
			}
		}
		t.Fatal("no keepalive")
	}
	keepalive()
	// answered: the connection lives on and asks again later
	p.send(DataHeader{CreditsRequested: 16}.Append(nil))
	keepalive()
	// not answered: disconnected
	wantReason(t, waitDead(t, srv), "keepalive timeout")
}

// MS-SMBD 3.1.5.1: the last send credit goes only with a credit grant.
func TestLastCredit(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	opts := testOpts()
	opts.ReceiveCreditMax = 8
	srv := startServer(t, a, opts)
	p := newRawPeer(t, b, 4)
	// the server grants all its 8 receives and has nothing left to grant;
	// the peer grants the server one credit
	p.send(NegotiateRequestFields{Version, Version, 8, 1364, rawSlot, 1 << 20}.Append(nil))
	p.recv(t)
	p.send(DataHeader{CreditsRequested: 8, CreditsGranted: 1}.Append(nil))
	// the empty message used a credit; its receive is reposted, so the
	// server has one to grant: the write goes out, granting it
	errc := make(chan error, 1)
	go func() { errc <- srv.WriteMessage([]byte("one")) }()
	_, m := p.recv(t)
	if d := DataTransfer(m); d.CreditsGranted() == 0 || string(d.Data()) != "one" {
		t.Fatalf("message % x", m)
	}
	<-errc
	// no credit left: the next write waits for one
	go func() { errc <- srv.WriteMessage([]byte("two")) }()
	select {
	case err := <-errc:
		t.Fatalf("write without a credit returned %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.send(DataHeader{CreditsRequested: 8, CreditsGranted: 2}.Append(nil))
	if _, m := p.recv(t); string(DataTransfer(m).Data()) != "two" {
		t.Fatalf("message % x", m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestCreditTimeout(t *testing.T) {
	a, b := rdmafake.Pair(rdmafake.Config{})
	opts := testOpts()
	opts.CreditTimeout = 100 * time.Millisecond
	srv := startServer(t, a, opts)
	p := newRawPeer(t, b, 4)
	p.send(NegotiateRequestFields{Version, Version, 8, 1364, rawSlot, 1 << 20}.Append(nil))
	p.recv(t)
	// the peer never grants a credit
	if err := srv.WriteMessage([]byte("x")); !errors.Is(err, ErrCreditTimeout) {
		t.Fatalf("write: %v", err)
	}
	wantReason(t, waitDead(t, srv), "send credits exhausted")
}

func TestPeerDisconnect(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts())
	cli.r.QP.Disconnect()
	if _, err := srv.ReadMessage(); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the peer left: %v", err)
	}
}

func TestMayUseCredit(t *testing.T) {
	for _, tc := range []struct {
		credits, grant, peerHolds int
		want                      bool
	}{
		{0, 5, 5, false}, // no credit at all
		{2, 0, 0, true},  // not the last one
		{1, 1, 0, true},  // the last one, granting
		{1, 0, 3, true},  // the last one, the peer can still grant us more
		{1, 0, 0, false}, // the last one would leave both sides stuck
	} {
		c := &Conn{sendCredits: tc.credits, granted: tc.peerHolds}
		if got := c.mayUseCreditLocked(tc.grant); got != tc.want {
			t.Errorf("%d credits, granting %d, peer holding %d: %v", tc.credits, tc.grant, tc.peerHolds, got)
		}
	}
}

func TestRDMAFile(t *testing.T) {
	srv, cli := pair(t, testOpts(), testOpts()) // pool buffers of 64 KiB: several per transfer
	mem := make([]byte, 1<<20)
	mr, _ := cli.Register(mem, rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	d := []transport.BufferDescriptor{
		{Offset: mr.Addr(), Token: mr.RKey(), Length: 300 << 10},
		{Offset: mr.Addr() + 512<<10, Token: mr.RKey(), Length: 512 << 10},
	}
	data := random(700 << 10)
	// a READ near the end of a file: 500 KiB asked from offset 300 KiB,
	// 400 KiB there
	n, err := srv.RDMAWriteFrom(d, bytes.NewReader(data), 300<<10, 500<<10)
	if err != nil || n != 400<<10 {
		t.Fatalf("RDMAWriteFrom: %d, %v", n, err)
	}
	if !bytes.Equal(mem[:300<<10], data[300<<10:600<<10]) || !bytes.Equal(mem[512<<10:612<<10], data[600<<10:]) {
		t.Fatal("RDMAWriteFrom: data differ")
	}
	if n, err := srv.RDMAWriteFrom(d, bytes.NewReader(data), 700<<10, 10); n != 0 || err != nil {
		t.Fatalf("RDMAWriteFrom at the end: %d, %v", n, err)
	}
	// a WRITE into a file at offset 1000
	f, err := os.CreateTemp(t.TempDir(), "w")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := srv.RDMAReadTo(d, f, 1000, 400<<10); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if len(got) != 1000+400<<10 || !bytes.Equal(got[1000:], data[300<<10:]) {
		t.Fatalf("RDMAReadTo: %d bytes, differ", len(got))
	}
	// a failing writer fails the transfer, not the connection
	if err := srv.RDMAReadTo(d, failWriter{}, 0, 100<<10); err == nil {
		t.Fatal("write error lost")
	}
	if err := srv.WriteMessage([]byte("up")); err != nil || string(readTimeout(t, cli)) != "up" {
		t.Fatal("connection down after a file error", err)
	}
}

type failWriter struct{}

func (failWriter) WriteAt([]byte, int64) (int, error) { return 0, errors.New("disk full") }
