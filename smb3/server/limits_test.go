package server_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"smb3d/smb3/wire"
)

// TestOversizedBeforeLogon: before authentication a message larger than the
// pre-auth limit (64 KiB) disconnects, and other clients keep working.
func TestOversizedBeforeLogon(t *testing.T) {
	st := newServerTester(t)
	by := st.bystander()
	for _, tc := range []struct {
		name      string
		negotiate bool
		size      int
	}{
		{"before NEGOTIATE", false, 100 << 10},
		{"after NEGOTIATE", true, 100 << 10},
		{"largest frame, before NEGOTIATE", false, 1<<24 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := st.dial()
			if tc.negotiate {
				v.negotiate()
			}
			// A SESSION_SETUP whose security buffer makes the message too big.
			tok := bytes.Repeat([]byte{'A'}, tc.size-64-24)
			m := v.sessionSetupRequest(tok)
			le.PutUint16(m[64+14:], 0xffff)
			go v.writeFrame(m) // the server stops reading: do not block on it
			if s, err := v.expectDisconnect(false); err != nil {
				t.Fatalf("%d-byte message: %v (status %v)", len(m), err, s)
			}
			by.check(t, tc.name)
		})
	}
	// Just under the limit is read (and refused as a bad token, not a
	// disconnect).
	v := st.dial()
	v.negotiate()
	tok := bytes.Repeat([]byte{'A'}, 60<<10)
	v.send(v.sessionSetupRequest(tok[:0xffff&len(tok)]))
	if s := wire.Status(v.recv().Status()); !s.IsError() {
		t.Errorf("60 KiB junk token: %v, want an error", s)
	}
}

// TestOversizedAfterLogon: READ and WRITE above MaxReadSize/MaxWriteSize get
// STATUS_INVALID_PARAMETER; a message above the post-logon limit
// disconnects.
func TestOversizedAfterLogon(t *testing.T) {
	const maxRW = 1 << 20
	st := newServerTester(t, func(c *serverConfig) { c.MaxReadSize, c.MaxWriteSize, c.MaxTransactSize = maxRW, maxRW, maxRW })
	by := st.bystander()
	c := st.login()
	f, s := c.create("big.bin", accessRW, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s := c.write(f, 0, bytes.Repeat([]byte{1}, maxRW)); s != wire.StatusSuccess {
		t.Fatalf("write of MaxWriteSize: %v", s)
	}
	if data, s := c.read(f, 0, maxRW); s != wire.StatusSuccess || len(data) != maxRW {
		t.Fatalf("read of MaxReadSize: %d bytes, %v", len(data), s)
	}
	if _, s := c.read(f, 0, maxRW+1); s != wire.StatusInvalidParameter {
		t.Errorf("read of MaxReadSize+1: %v, want STATUS_INVALID_PARAMETER", s)
	}
	// 4 GiB with the charge of 1 MiB (a charge for 4 GiB would leave the
	// credit window, which disconnects: see TestMessageIDWindow).
	m := c.readRequest(f, 0, maxRW)
	le.PutUint32(m[64+4:], 0xffff0000)
	if s, _ := c.call(m); s != wire.StatusInvalidParameter {
		t.Errorf("read of 4 GiB: %v, want STATUS_INVALID_PARAMETER", s)
	}
	if s := c.write(f, 0, bytes.Repeat([]byte{2}, maxRW+1)); s != wire.StatusInvalidParameter {
		t.Errorf("write of MaxWriteSize+1: %v, want STATUS_INVALID_PARAMETER", s)
	}
	// A large READ paid for with too small a CreditCharge (MS-SMB2 3.3.5.2.5).
	m = c.readRequest(f, 0, maxRW)
	le.PutUint16(m[6:], 1)
	c.msgID -= uint64(chargeFor(maxRW)) - 1
	if s, _ := c.call(m); s != wire.StatusInvalidParameter {
		t.Errorf("1 MiB read with CreditCharge 1: %v, want STATUS_INVALID_PARAMETER", s)
	}
	c.close(f)
	by.check(t, "oversized READ/WRITE")

	// Above the transport limit for this connection: disconnect.
	v := st.login()
	m = v.writeRequest(f, 0, bytes.Repeat([]byte{3}, 2*maxRW+128<<10))
	go v.writeFrame(m)
	if s, err := v.expectDisconnect(false); err != nil {
		t.Errorf("%d-byte message after logon: %v (%v)", len(m), err, s)
	}
	by.check(t, "an oversized message")
}

// TestMessageIDWindow: a message id outside the credit window, a reused
// one, or a CreditCharge beyond the granted credits disconnects (MS-SMB2
// 3.3.5.2.3).
func TestMessageIDWindow(t *testing.T) {
	st := newServerTester(t)
	by := st.bystander()
	for _, tc := range []struct {
		name string
		mut  func(c *client, m []byte)
	}{
		{"far ahead", func(c *client, m []byte) { le.PutUint64(m[24:], c.msgID+1_000_000) }},
		{"just past the window", func(c *client, m []byte) { le.PutUint64(m[24:], c.msgID+uint64(c.credits)+1) }},
		{"reused", func(c *client, m []byte) { le.PutUint64(m[24:], 1) }},
		{"2^64-1", func(c *client, m []byte) { le.PutUint64(m[24:], ^uint64(0)) }},
		{"charge beyond the credits", func(c *client, m []byte) { le.PutUint16(m[6:], uint16(min(c.credits+2, 0xffff))) }},
		{"charge wraps the id", func(c *client, m []byte) {
			le.PutUint64(m[24:], ^uint64(0)-2)
			le.PutUint16(m[6:], 8)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := st.login()
			v.roundTrip("window.txt")
			m := v.echoRequest()
			tc.mut(v, m)
			v.writeFrame(m)
			if s, err := v.expectDisconnect(false); err != nil {
				t.Errorf("%v (status %v)", err, s)
			}
			by.check(t, tc.name)
		})
	}
	// Out-of-order ids inside the window are fine.
	v := st.login()
	a, b := v.echoRequest(), v.echoRequest()
	v.send(b)
	v.send(a)
	for range 2 {
		if s := wire.Status(v.recv().Status()); s != wire.StatusSuccess {
			t.Errorf("out-of-order echo: %v", s)
		}
	}
}

// TestIdleUnauthenticated: 200 connections (SMB3D_IDLE_CONNS to change it)
// that never authenticate (some silent, some negotiated, some half-way
// through SESSION_SETUP) do not stop an authenticated client, and the heap
// stays bounded.
func TestIdleUnauthenticated(t *testing.T) {
	st := newServerTester(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SMB3D_IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	idle := make([]*client, 0, n)
	for i := range n {
		v := st.dial()
		switch i % 3 {
		case 1:
			v.negotiate()
		case 2:
			v.negotiate()
			nc := &ntlmClient{user: testUser, domain: "WORKGROUP", password: testPass}
			v.send(v.sessionSetupRequest(nc.negotiate()))
			if s := wire.Status(v.recv().Status()); s != wire.StatusMoreProcessingRequired {
				t.Fatalf("idle %d: %v", i, s)
			}
		}
		idle = append(idle, v)
	}
	setup := time.Since(start)
	c := st.login()
	t0 := time.Now()
	for i := range 20 {
		c.roundTrip(fmt.Sprintf("busy-%d.txt", i))
	}
	per := time.Since(t0) / 20
	runtime.GC()
	runtime.ReadMemStats(&after)
	grow := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d idle unauthenticated connections (set up in %v): round trip %v; heap %d KiB -> %d KiB (%+d KiB, %d B per idle connection; client side included); server conns %d, sessions %d",
		n, setup.Round(time.Millisecond), per.Round(time.Microsecond), before.HeapAlloc>>10, after.HeapAlloc>>10, grow>>10, grow/int64(n), st.srv.NumConns(), st.srv.NumSessions())
	if per > time.Second {
		t.Errorf("round trip took %v with idle connections", per)
	}
	if grow > int64(n)*256<<10 {
		t.Errorf("heap grew by %d MiB for %d idle connections", grow>>20, n)
	}
	for _, v := range idle {
		v.c.Close()
	}
}

// TestAuthTimeout: a connection that does not authenticate within
// AuthTimeout is dropped.
func TestAuthTimeout(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) { c.AuthTimeout = 300 * time.Millisecond })
	v := st.dial()
	v.negotiate()
	t0 := time.Now()
	if s, err := v.expectDisconnect(false); err != nil {
		t.Fatalf("%v (%v)", err, s)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("dropped after %v", d)
	}
	c := st.login()
	time.Sleep(500 * time.Millisecond)
	if s := c.echo(); s != wire.StatusSuccess {
		t.Errorf("authenticated connection after AuthTimeout: %v", s)
	}
}

// TestHalfAuthenticatedSessionsReleased: a session that never finishes
// authenticating is removed when its connection closes, and one connection
// cannot pile up unfinished sessions without bound.
//
// handleSessionSetup adds every new session to Server.sessions at its first
// leg; only a completed logon binds it to the connection (addChannel), and
// conn.close tears down only bound sessions. So a client that sends the
// first SESSION_SETUP leg and disconnects leaves a session behind for the
// life of the server, and one unauthenticated connection can create one per
// credit, thousands, each holding an NTLM context.
func TestHalfAuthenticatedSessionsReleased(t *testing.T) {
	st := newServerTester(t)
	base := st.srv.NumSessions()
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := st.dial()
			v.negotiate()
			for range 50 {
				nc := &ntlmClient{}
				v.sessID = 0
				v.send(v.sessionSetupRequest(nc.negotiate()))
				v.recv()
			}
			mu.Lock()
			peak = max(peak, st.srv.NumSessions()-base)
			mu.Unlock()
			v.c.Close()
		}()
	}
	wg.Wait()
	if peak > 20*4 {
		t.Errorf("%d sessions in progress at once from 20 unauthenticated connections", peak)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.srv.NumSessions() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := st.srv.NumSessions(); n > base {
		t.Errorf("%d half-authenticated sessions left after their connections closed", n-base)
	}
}

// TestCompoundLength: a chain of 64 requests is served; a longer one
// disconnects.
func TestCompoundLength(t *testing.T) {
	st := newServerTester(t)
	by := st.bystander()
	chain := func(c *client, n int) []byte {
		var m []byte
		for i := range n {
			e := append(c.echoRequest(), 0, 0, 0, 0)
			if i < n-1 {
				le.PutUint32(e[20:], 72)
			}
			m = append(m, e...)
		}
		return m
	}
	c := st.login()
	for c.credits < 200 {
		c.echo()
	}
	if err := c.writeFrame(chain(c, 64)); err != nil {
		t.Fatal(err)
	}
	resp, err := c.readFrame(ioTimeout)
	if err != nil {
		t.Fatalf("64-request chain: %v", err)
	}
	n := 0
	for rest := resp; len(rest) > 0; n++ {
		k, more, err := wire.SplitCompound(rest)
		if err != nil {
			t.Fatal(err)
		}
		if s := wire.Status(wire.Header(rest).Status()); s != wire.StatusSuccess {
			t.Errorf("response %d: %v", n, s)
		}
		if !more {
			n++
			break
		}
		rest = rest[k:]
	}
	if n != 64 {
		t.Errorf("%d responses to a 64-request chain", n)
	}
	v := st.login()
	for v.credits < 200 {
		v.echo()
	}
	v.writeFrame(chain(v, 65))
	if s, err := v.expectDisconnect(false); err != nil {
		t.Errorf("65-request chain: %v (%v)", err, s)
	}
	by.check(t, "a long chain")
}

// TestCloseWithLiveConnections: Server.Close while connections are live.
// conn.serve assigns c.authTimer on the connection's goroutine and
// conn.close reads it, from Server.Close's goroutine (or the timer's), with
// no synchronization between them: go test -race reports it, at random, in
// the cleanup of any test that closes the server with a connection open.
func TestCloseWithLiveConnections(t *testing.T) {
	for range 20 {
		st := newServerTester(t)
		for range 10 {
			st.dial()
		}
		st.srv.Close()
	}
}
