//go:build rdma && cgo && linux

package smbdirect

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"smb3d/rdma-core-bindings"
	"smb3d/transport"
)

// These tests run over a real RDMA device: rxe in the soft-RoCE VM
// (test/soft-roce/run-tests.sh). Outside it they skip.

func rxeListen(t *testing.T) (*Listener, string) {
	t.Helper()
	ip := os.Getenv("RXE_IP")
	if ip == "" {
		if os.Getenv("SOFTROCE_GUEST") != "" {
			t.Fatal("RXE_IP not set in the soft-RoCE guest")
		}
		t.Skip("no RDMA device here (run in the soft-RoCE VM: test/soft-roce/run-tests.sh)")
	}
	ln, err := Listen(ip+":0", Options{NegotiateTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().String()
}

type accepted struct {
	c   *Conn
	err error
}

func acceptOne(ln *Listener) <-chan accepted {
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- accepted{err: err}
			return
		}
		ch <- accepted{c: c.(*Conn)}
	}()
	return ch
}

func dialRXE(t *testing.T, ln *Listener) (srv, cli *Conn) {
	t.Helper()
	ch := acceptOne(ln)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := Dial(ctx, ln.Addr().(Addr).AddrPort, Options{NegotiateTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal("dial:", err)
	}
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatal("accept:", a.err)
		}
		return a.c, cli
	case <-time.After(30 * time.Second):
		t.Fatal("accept: timeout")
	}
	return nil, nil
}

func TestRXE(t *testing.T) {
	before, _ := rdma.LiveObjects()
	ln, addr := rxeListen(t)
	t.Logf("listening on %s", addr)
	addrs, err := Addrs()
	if err != nil || !slices.Contains(addrs, netip.MustParseAddr(os.Getenv("RXE_IP"))) {
		t.Fatalf("Addrs() = %v, %v: no %s", addrs, err, os.Getenv("RXE_IP"))
	}
	srv, cli := dialRXE(t, ln)
	srv2, cli2 := dialRXE(t, ln) // a bystander that must survive the abuse below

	t.Run("messages", func(t *testing.T) {
		start := time.Now()
		total := 0
		for _, n := range []int{1, 100, 1340, 1341, 4000, 65536, 200000, 1 << 20} {
			msg := random(n)
			errc := make(chan error, 1)
			go func() { errc <- cli.WriteMessage(msg) }()
			if got := readTimeout(t, srv); !bytes.Equal(got, msg) {
				t.Fatalf("client->server %d bytes differ", len(msg))
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			go func() { errc <- srv.WriteMessage(msg) }()
			if got := readTimeout(t, cli); !bytes.Equal(got, msg) {
				t.Fatalf("server->client %d bytes differ", len(msg))
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			total += 2 * len(msg)
		}
		t.Logf("fragmented messages: %d bytes in %v", total, time.Since(start))
		start = time.Now()
		const rounds = 2000
		for i := range rounds {
			if err := cli.WriteMessage([]byte{byte(i), 1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if m := readTimeout(t, srv); m[0] != byte(i) {
				t.Fatal("out of order")
			}
			if err := srv.WriteMessage(make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			readTimeout(t, cli)
		}
		d := time.Since(start)
		t.Logf("%d request/response round trips in %v (%.0f messages/s)", rounds, d, 2*rounds/d.Seconds())
	})

	t.Run("rdma", func(t *testing.T) {
		buf, err := rdma.Alloc(8<<20, -1) // registered memory lives outside the Go heap
		if err != nil {
			t.Fatal(err)
		}
		defer func() { cli.Close(); buf.Close() }()
		mem := buf.Bytes()
		mr, err := cli.Register(mem, rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
		if err != nil {
			t.Fatal(err)
		}
		data := random(1 << 20)
		const rounds = 32
		start := time.Now()
		for i := range rounds {
			d := []transport.BufferDescriptor{{Offset: mr.Addr() + uint64(i%8)<<20, Token: mr.RKey(), Length: 1 << 20}}
			if err := srv.RDMAWrite(d, data); err != nil {
				t.Fatal(err)
			}
		}
		w := time.Since(start)
		if !bytes.Equal(mem[7<<20:], data) {
			t.Fatal("RDMA write: data differ")
		}
		back := make([]byte, 1<<20)
		start = time.Now()
		for i := range rounds {
			d := []transport.BufferDescriptor{{Offset: mr.Addr() + uint64(i%8)<<20, Token: mr.RKey(), Length: 1 << 20}}
			if err := srv.RDMARead(d, back); err != nil {
				t.Fatal(err)
			}
		}
		r := time.Since(start)
		if !bytes.Equal(back, data) {
			t.Fatal("RDMA read: data differ")
		}
		t.Logf("RDMA write %.1f MiB/s, read %.1f MiB/s (1 MiB transfers through the pool)", rounds/w.Seconds(), rounds/r.Seconds())
		// straight between a file and the peer's buffers
		d := []transport.BufferDescriptor{{Offset: mr.Addr(), Token: mr.RKey(), Length: 1 << 20}}
		if n, err := srv.RDMAWriteFrom(d, bytes.NewReader(data), 4096, 1<<20); err != nil || n != 1<<20-4096 ||
			!bytes.Equal(mem[:n], data[4096:]) {
			t.Fatalf("RDMAWriteFrom: %d, %v", n, err)
		}
		f, err := os.CreateTemp(t.TempDir(), "w")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := srv.RDMAReadTo(d, f, 0, 1<<20-4096); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data[4096:]) {
			t.Fatal("RDMAReadTo: data differ")
		}
		// a bad token ends that connection only
		bad := []transport.BufferDescriptor{{Offset: mr.Addr(), Token: mr.RKey() ^ 0x5a5a00, Length: 4096}}
		errc := make(chan error, 1)
		go func() { errc <- srv.RDMAWrite(bad, data[:4096]) }()
		select {
		case err := <-errc:
			if err == nil {
				t.Fatal("bad token accepted")
			}
			t.Logf("bad token: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("RDMA write with a bad token hangs")
		}
	})

	t.Run("bystander", func(t *testing.T) {
		go cli2.WriteMessage([]byte("still here"))
		if string(readTimeout(t, srv2)) != "still here" {
			t.Fatal("bystander message")
		}
	})

	t.Run("vanish", func(t *testing.T) {
		cli2.Close()
		errc := make(chan error, 1)
		go func() { _, err := srv2.ReadMessage(); errc <- err }()
		select {
		case err := <-errc:
			if err == nil {
				t.Fatal("read returned a message")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not notice the client leaving")
		}
	})

	for _, c := range []*Conn{cli, srv, srv2} {
		c.Close()
	}
	ln.Close()
	if n, by := rdma.LiveObjects(); n != before {
		t.Errorf("leaked rdma objects: %d (%v), %d before", n, by, before)
	}
	t.Logf("counters: %+v", Counters())
}

// rawClient speaks MS-SMBD by hand over the bindings, to be the peer a
// correct client would not be.
type rawClient struct {
	ep  *rdma.Endpoint
	pd  *rdma.PD
	cq  *rdma.CQ
	buf *rdma.Buffer
	mr  *rdma.MR
}

func rawDial(t *testing.T, addr netip.AddrPort) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc := &rawClient{}
	var err error
	fatal := func(err error) {
		rc.close()
		t.Fatal(err)
	}
	if rc.ep, err = rdma.Resolve(ctx, addr, nil); err != nil {
		t.Fatal(err)
	}
	if rc.pd, err = rc.ep.Device().AllocPD(); err != nil {
		fatal(err)
	}
	if rc.cq, err = rc.ep.Device().NewCQ(64, nil); err != nil {
		fatal(err)
	}
	if err = rc.ep.CreateQP(rc.pd, rdma.QPConfig{SendCQ: rc.cq, RecvCQ: rc.cq}); err != nil {
		fatal(err)
	}
	if rc.buf, err = rdma.Alloc(64<<10, -1); err != nil {
		fatal(err)
	}
	if rc.mr, err = rc.pd.Register(rc.buf.Bytes(), rdma.AccessLocalWrite); err != nil {
		fatal(err)
	}
	for i := range 4 {
		if err = rc.ep.PostRecv(rdma.RecvWR{ID: uint64(i), SGL: []rdma.SGE{rc.mr.SGE(i*8192, 8192)}}); err != nil {
			fatal(err)
		}
	}
	if err = rc.ep.Connect(ctx, rdma.ConnParam{ResponderResources: 1, InitiatorDepth: 1, RetryCount: 7, RNRRetryCount: 7}); err != nil {
		fatal(err)
	}
	return rc
}

func (rc *rawClient) send(b []byte) error {
	copy(rc.mr.Bytes()[32<<10:], b)
	return rc.ep.PostSend(rdma.SendWR{ID: 100, Op: rdma.OpSend, Flags: rdma.SendSignaled, SGL: []rdma.SGE{rc.mr.SGE(32<<10, len(b))}})
}

// recv returns the next message received, or nil when the connection
// ended (a flushed receive).
func (rc *rawClient) recv(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wc := make([]rdma.Completion, 1)
	for {
		if _, err := rc.cq.Wait(ctx, wc); err != nil {
			t.Fatal("raw client:", err)
		}
		if wc[0].WRID == 100 {
			continue
		}
		if wc[0].Err() != nil {
			return nil
		}
		i := int(wc[0].WRID)
		return append([]byte(nil), rc.mr.Bytes()[i*8192:i*8192+int(wc[0].ByteLen)]...)
	}
}

// waitGone waits for the server to disconnect the raw client.
func (rc *rawClient) waitGone(t *testing.T) {
	t.Helper()
	select {
	case <-rc.ep.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not disconnect the peer")
	}
}

func (rc *rawClient) close() {
	if rc.ep != nil {
		rc.ep.Close()
	}
	if rc.cq != nil {
		rc.cq.Close()
	}
	if rc.mr != nil {
		rc.mr.Close()
	}
	if rc.buf != nil {
		rc.buf.Close()
	}
	if rc.pd != nil {
		rc.pd.Close()
	}
}

// Bad peers are refused, each on its own, while a good client connects
// and talks; nothing is left behind.
func TestRXEBadPeers(t *testing.T) {
	before, _ := rdma.LiveObjects()
	ip := os.Getenv("RXE_IP")
	if ip == "" {
		if os.Getenv("SOFTROCE_GUEST") != "" {
			t.Fatal("RXE_IP not set in the soft-RoCE guest")
		}
		t.Skip("no RDMA device here (run in the soft-RoCE VM)")
	}
	ln, err := Listen(ip+":0", Options{NegotiateTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(Addr).AddrPort
	good := func() {
		t.Helper()
		srv, cli := dialRXE(t, ln)
		go cli.WriteMessage([]byte("good"))
		if string(readTimeout(t, srv)) != "good" {
			t.Fatal("good client")
		}
		cli.Close()
		srv.Close()
	}
	t.Run("silent", func(t *testing.T) {
		rc := rawDial(t, addr)
		defer rc.close()
		good() // while the silent peer waits for its negotiate timeout
		rc.waitGone(t)
	})
	t.Run("bad version", func(t *testing.T) {
		rc := rawDial(t, addr)
		defer rc.close()
		rc.send(NegotiateRequestFields{0x200, 0x200, 10, 1364, 8192, 1 << 20}.Append(nil))
		r := NegotiateResponse(rc.recv(t))
		if r.Validate() != nil || r.Status() != StatusNotSupported {
			t.Fatalf("response % x", []byte(r))
		}
		rc.waitGone(t)
	})
	t.Run("garbage negotiate", func(t *testing.T) {
		rc := rawDial(t, addr)
		defer rc.close()
		rc.send([]byte("not a negotiate"))
		rc.waitGone(t)
	})
	t.Run("no credit", func(t *testing.T) {
		rc := rawDial(t, addr)
		defer rc.close()
		rc.send(NegotiateRequestFields{Version, Version, 1, 1364, 8192, 1 << 20}.Append(nil))
		if r := NegotiateResponse(rc.recv(t)); r.Validate() != nil || r.CreditsGranted() != 1 {
			t.Fatalf("response % x", []byte(r))
		}
		for range 3 {
			rc.send(append(DataHeader{CreditsRequested: 1, DataLength: 8}.Append(nil), make([]byte, 8)...))
		}
		rc.waitGone(t)
	})
	good()
	ln.Close()
	time.Sleep(100 * time.Millisecond)
	if n, by := rdma.LiveObjects(); n != before {
		t.Errorf("leaked rdma objects: %d (%v), %d before", n, by, before)
	}
	t.Logf("counters: %+v", Counters())
}
