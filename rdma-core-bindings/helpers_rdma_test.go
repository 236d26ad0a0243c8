//go:build rdma && cgo && linux

package rdma

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := runHelperServer(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	code := m.Run()
	if n, by := LiveObjects(); n != 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d rdma objects not closed: %v\n", n, by)
		code = 1
	}
	os.Exit(code)
}

// inGuest reports whether we run in the soft-RoCE VM, where a missing RDMA
// device is a failure, not a reason to skip.
func inGuest() bool { return os.Getenv("SOFTROCE_GUEST") != "" }

// testAddr returns the IPv4 address to listen and connect on: $RXE_IP, or
// the first IPv4-mapped RoCE GID of an active port. It skips the test when
// there is no RDMA device (failing inside the VM).
func testAddr(t testing.TB) netip.Addr {
	t.Helper()
	if s := os.Getenv("RXE_IP"); s != "" {
		return netip.MustParseAddr(s)
	}
	devs, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		for _, p := range d.Ports {
			if p.State != PortActive {
				continue
			}
			for _, g := range p.GIDs {
				if a := g.Addr(); a.Is4In6() {
					return a.Unmap()
				}
			}
		}
	}
	if inGuest() {
		t.Fatal("no active RDMA port with an IPv4 GID inside the soft-RoCE VM")
	}
	t.Skip("no RDMA device with an IPv4 address (run the RDMA tests in the soft-RoCE VM: make test-rdma)")
	return netip.Addr{}
}

// noLeaks registers a cleanup (run last) that fails the test if objects
// of this package are still open.
func noLeaks(t testing.TB) {
	t.Helper()
	before, _ := LiveObjects()
	t.Cleanup(func() {
		if n, by := LiveObjects(); n != before {
			t.Errorf("leaked rdma objects: %d live (%v), %d before the test", n, by, before)
		}
	})
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// side is one end of a test connection with its PD, CQ and memory.
type side struct {
	ep  *Endpoint
	pd  *PD
	cq  *CQ
	buf *Buffer
	mr  *MR
	wc  []Completion
}

type pairConfig struct {
	bufSize  int
	access   Access
	qp       QPConfig
	cq       CQOptions
	cqSize   int
	prepare  func(s *side) error // before connect/accept (post receives)
	param    ConnParam           // connector's
	accept   func(s *side) ConnParam
	cliParam func(s *side) ConnParam
}

func (c *pairConfig) defaults() {
	if c.bufSize == 0 {
		c.bufSize = 1 << 20
	}
	if c.access == 0 {
		c.access = AccessLocalWrite | AccessRemoteRead | AccessRemoteWrite
	}
	if c.cqSize == 0 {
		c.cqSize = 256
	}
	if c.param.PrivateData == nil && c.param.InitiatorDepth == 0 && c.param.RetryCount == 0 && c.cliParam == nil {
		// InitiatorDepth 0 would make RDMA reads wait forever on rxe
		c.param = ConnParam{ResponderResources: 16, InitiatorDepth: 16, RetryCount: 7, RNRRetryCount: 7}
	}
	if c.qp.MaxSendWR == 0 {
		c.qp.MaxSendWR = 128
	}
	if c.qp.MaxRecvWR == 0 {
		c.qp.MaxRecvWR = 128
	}
}

// setup creates the PD, CQ, buffer and MR on ep's device and the QP. Its
// cleanup closes the endpoint first, then the rest in reverse order.
func setup(t testing.TB, ep *Endpoint, c *pairConfig) *side {
	t.Helper()
	s := &side{ep: ep, wc: make([]Completion, 64)}
	var closers []interface{ Close() error }
	t.Cleanup(func() {
		closeOK(t, ep)
		for i := len(closers) - 1; i >= 0; i-- {
			closeOK(t, closers[i])
		}
	})
	dev := ep.Device()
	if dev == nil {
		t.Fatal("endpoint has no device")
	}
	s.pd = must[*PD](t)(dev.AllocPD())
	closers = append(closers, s.pd)
	s.cq = must[*CQ](t)(dev.NewCQ(c.cqSize, &c.cq))
	closers = append(closers, s.cq)
	s.buf = must[*Buffer](t)(Alloc(c.bufSize, -1))
	closers = append(closers, s.buf)
	s.mr = must[*MR](t)(s.pd.Register(s.buf.Bytes(), c.access))
	closers = append(closers, s.mr)
	q := c.qp
	q.SendCQ, q.RecvCQ = s.cq, s.cq
	if err := ep.CreateQP(s.pd, q); err != nil {
		t.Fatal(err)
	}
	if c.prepare != nil {
		if err := c.prepare(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func closeOK(t testing.TB, c interface{ Close() error }) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Close %T: %v", c, err)
	}
}

// connectPair listens, connects and accepts in one process, over the
// soft-RoCE device. The cleanups close everything in reverse order.
func connectPair(t testing.TB, c pairConfig) (cli, srv *side) {
	t.Helper()
	c.defaults()
	addr := testAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := must[*Listener](t)(Listen(netip.AddrPortFrom(addr, 0), 4))
	defer closeOK(t, l)

	type result struct {
		s   *side
		err error
	}
	done := make(chan result, 1)
	var srvEP *Endpoint
	go func() {
		ep, err := l.Accept(ctx)
		if err != nil {
			done <- result{err: err}
			return
		}
		srvEP = ep
		done <- result{}
	}()

	ep, err := Resolve(ctx, l.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cli = setup(t, ep, &c)
	p := c.param
	if c.cliParam != nil {
		p = c.cliParam(cli)
	}
	connErr := make(chan error, 1)
	go func() { connErr <- ep.Connect(ctx, p) }()

	r := <-done
	if r.err != nil {
		t.Fatal("accept:", r.err)
	}
	srv = setup(t, srvEP, &c)
	ap := ConnParam{ResponderResources: srvEP.PeerParam().InitiatorDepth, InitiatorDepth: srvEP.PeerParam().ResponderResources}
	if c.accept != nil {
		ap = c.accept(srv)
	}
	if err := srvEP.Accept(ctx, ap); err != nil {
		t.Fatal("accept:", err)
	}
	if err := <-connErr; err != nil {
		t.Fatal("connect:", err)
	}
	return cli, srv
}

// waitOne waits for one completion and fails the test on an error status.
func (s *side) waitOne(t testing.TB, ctx context.Context) Completion {
	t.Helper()
	n, err := s.cq.Wait(ctx, s.wc[:1])
	if err != nil {
		t.Fatal("wait:", err)
	}
	if n != 1 {
		t.Fatalf("wait returned %d completions", n)
	}
	if err := s.wc[0].Err(); err != nil {
		t.Fatal(err)
	}
	return s.wc[0]
}

// drain waits for n successful completions.
func (s *side) drain(ctx context.Context, n int) error {
	for n > 0 {
		k, err := s.cq.Wait(ctx, s.wc)
		if err != nil {
			return err
		}
		for _, c := range s.wc[:k] {
			if err := c.Err(); err != nil {
				return err
			}
		}
		n -= k
	}
	return nil
}

var errTimeout = errors.New("timeout")
