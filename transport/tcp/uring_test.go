//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"smb3d/transport"
	"smb3d/transport/tcp/uring"
)

// uringListener returns a listener on 127.0.0.1 with the io_uring transport,
// skipping the test when the kernel has no io_uring (failing when it should).
func uringListener(t testing.TB, cfg URingConfig) *URingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewURingListener(ln, cfg)
	if errors.Is(err, uring.ErrNotSupported) {
		ln.Close()
		t.Skipf("io_uring transport: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// dialPair returns a client net.Conn and the server's accepted conn.
func dialPair(t testing.TB, l transport.Listener) (net.Conn, transport.Conn) {
	t.Helper()
	type res struct {
		c   transport.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { cc.Close(); r.c.Close() })
	return cc, r.c
}

func frame(m []byte) []byte {
	b := make([]byte, 4, 4+len(m))
	binary.BigEndian.PutUint32(b, uint32(len(m)))
	return append(b, m...)
}

func readFrame(t testing.TB, c net.Conn) []byte {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[0] != 0 {
		t.Fatalf("bad header %x", h)
	}
	m := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(c, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestURingFragmented sends messages of many sizes as a byte stream cut at
// random places (single bytes, splits inside the header, several messages in
// one write) and checks that ReadMessage returns each whole message, and that
// WriteMessage of several buffers arrives as one framed message.
func TestURingFragmented(t *testing.T) {
	for _, cfg := range []URingConfig{{}, {Rings: 1}, {NoDirectSend: true}, {NoFixedRecv: true}} {
		l := uringListener(t, cfg)
		cc, sc := dialPair(t, l)
		rng := rand.New(rand.NewPCG(1, 2))
		sizes := []int{1, 2, 3, 4, 5, 63, 64, 65, 100, 4095, 4096, stageSize - 4, stageSize - 3, stageSize, stageSize + 1, 1 << 20, 3<<20 + 7, 1, 1, 1, 7, 200, 1<<20 - 5, 3 << 20, 70000, 65536}
		var msgs [][]byte
		var stream []byte
		for _, n := range sizes {
			m := randBytes(rng, n)
			msgs = append(msgs, m)
			stream = append(stream, frame(m)...)
		}
		go func() {
			for len(stream) > 0 {
				k := 1 + rng.IntN(min(len(stream), []int{1, 3, 100, 70000}[rng.IntN(4)]))
				if _, err := cc.Write(stream[:k]); err != nil {
					return
				}
				stream = stream[k:]
				if rng.IntN(8) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		for i, want := range msgs {
			got, err := sc.ReadMessage()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("message %d: %d bytes, want %d (content differs: %v)", i, len(got), len(want), len(got) == len(want))
			}
			// Echo in three pieces.
			k := len(got) / 3
			if err := sc.WriteMessage(got[:k], got[k:2*k], got[2*k:]); err != nil {
				t.Fatal(err)
			}
			if back := readFrame(t, cc); !bytes.Equal(back, want) {
				t.Fatalf("echo %d differs", i)
			}
			// Pooled buffers come back dirty: later messages must still
			// be exact.
			sc.(transport.Releaser).Release(got)
		}
	}
}

// TestURingConcurrentWrites: messages written from many goroutines at once
// each arrive whole (batched SENDMSGs keep their order within a batch).
func TestURingConcurrentWrites(t *testing.T) {
	for _, cfg := range []URingConfig{{}, {NoDirectSend: true}} {
		testConcurrentWrites(t, cfg)
	}
}

func testConcurrentWrites(t *testing.T, cfg URingConfig) {
	l := uringListener(t, cfg)
	cc, sc := dialPair(t, l)
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				n := 8 + (g*131+i*977)%70000
				m := make([]byte, n)
				binary.LittleEndian.PutUint32(m, uint32(g))
				binary.LittleEndian.PutUint32(m[4:], uint32(i))
				for j := 8; j < n; j++ {
					m[j] = byte(g + i + j)
				}
				if err := sc.WriteMessage(m[:n/2], m[n/2:]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	next := make([]int, writers)
	time.Sleep(50 * time.Millisecond) // the socket fills: direct sends end short and the ring takes over
	for range writers * each {
		m := readFrame(t, cc)
		g, i := int(binary.LittleEndian.Uint32(m)), int(binary.LittleEndian.Uint32(m[4:]))
		if g >= writers || i != next[g] {
			t.Fatalf("writer %d message %d out of order (want %d)", g, i, next[g])
		}
		next[g]++
		for j := 8; j < len(m); j++ {
			if m[j] != byte(g+i+j) {
				t.Fatalf("writer %d message %d corrupt at %d", g, i, j)
			}
		}
	}
	wg.Wait()
}

// TestURingCloseInFlight closes a connection while its reader waits and
// writers are blocked on a peer that does not read: every call returns.
func TestURingCloseInFlight(t *testing.T) {
	l := uringListener(t, URingConfig{})
	_, sc := dialPair(t, l)
	errs := make(chan error, 9)
	go func() {
		_, err := sc.ReadMessage()
		errs <- err
	}()
	big := make([]byte, 4<<20)
	for range 8 {
		go func() {
			var err error
			for err == nil {
				err = sc.WriteMessage(big)
			}
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // the socket buffers fill up
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	for range 9 {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("nil error after Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a call did not return after Close")
		}
	}
	if _, err := sc.ReadMessage(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadMessage after Close: %v", err)
	}
	if err := sc.WriteMessage([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteMessage after Close: %v", err)
	}
}

// TestURingPeerClose: EOF between messages is io.EOF, inside one is
// io.ErrUnexpectedEOF; an oversized length is ErrMessageTooLarge.
func TestURingPeerClose(t *testing.T) {
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	cc.Write(frame([]byte("hello")))
	cc.(*net.TCPConn).CloseWrite()
	if m, err := sc.ReadMessage(); err != nil || string(m) != "hello" {
		t.Fatalf("%q %v", m, err)
	}
	if _, err := sc.ReadMessage(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}

	cc, sc = dialPair(t, l)
	cc.Write(frame(make([]byte, 100))[:50])
	cc.(*net.TCPConn).CloseWrite()
	if _, err := sc.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want ErrUnexpectedEOF, got %v", err)
	}

	cc, sc = dialPair(t, l)
	sc.SetMaxMessage(1000)
	cc.Write(frame(make([]byte, 1001)))
	if _, err := sc.ReadMessage(); !errors.Is(err, transport.ErrMessageTooLarge) {
		t.Fatalf("want ErrMessageTooLarge, got %v", err)
	}
}

// TestURingSendFile checks SendFile at unaligned offsets and sizes around
// the pipe and chunk sizes, and a file too short for the promised length.
func TestURingSendFile(t *testing.T) {
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	fs, ok := sc.(transport.FileSender)
	if !ok || sc.Caps()&transport.CapSendFile == 0 {
		t.Skip("no splice")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	data := randBytes(rng, 20<<20)
	f, err := os.CreateTemp(t.TempDir(), "sendfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(data)
	cases := []struct{ off, n int }{{0, 1}, {0, 4096}, {1, 4096}, {4095, 2}, {0, 1 << 20}, {100, 1 << 20}, {4096, 3<<20 + 5}, {7, 15<<20 + 3}, {4097, 6<<20 + 1}, {0, 0}, {len(data) - 10, 10}, {4097, 6<<20 + 1}}
	defer func(n int) { maxChunks = n }(maxChunks)
	for i, k := range cases {
		if i == len(cases)-1 {
			maxChunks = 2 // several link chains for one message
		}
		hdr := randBytes(rng, 80)
		done := make(chan error, 1)
		go func() { done <- fs.SendFile(hdr, int(f.Fd()), int64(k.off), k.n) }()
		m := readFrame(t, cc)
		if err := <-done; err != nil {
			t.Fatalf("SendFile(%d, %d): %v", k.off, k.n, err)
		}
		want := append(hdr, data[k.off:k.off+k.n]...)
		if !bytes.Equal(m, want) {
			t.Fatalf("SendFile(%d, %d): got %d bytes, want %d", k.off, k.n, len(m), len(want))
		}
		// Plain writes still interleave correctly after a sendfile.
		if err := sc.WriteMessage([]byte("after")); err != nil {
			t.Fatal(err)
		}
		if m := readFrame(t, cc); string(m) != "after" {
			t.Fatalf("after: %q", m)
		}
	}
	// Past the end of the file: the message cannot be completed.
	go io.Copy(io.Discard, cc)
	if err := fs.SendFile([]byte("h"), int(f.Fd()), int64(len(data)-10), 20); err == nil {
		t.Fatal("SendFile past EOF succeeded")
	}
	if err := sc.WriteMessage([]byte("x")); err == nil {
		t.Fatal("write after a broken sendfile succeeded")
	}
}

// TestURingManyConns runs connections on shared rings and on their own.
func TestURingManyConns(t *testing.T) {
	for _, cfg := range []URingConfig{{}, {Rings: 2}} {
		l := uringListener(t, cfg)
		var wg sync.WaitGroup
		for i := range 20 {
			cc, sc := dialPair(t, l)
			wg.Go(func() {
				defer sc.Close()
				for j := range 50 {
					m := bytes.Repeat([]byte{byte(i + j)}, 1+j*100)
					cc.Write(frame(m))
					got, err := sc.ReadMessage()
					if err != nil || !bytes.Equal(got, m) {
						t.Errorf("conn %d msg %d: %v", i, j, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

// TestListenTransportFallback: "netpoll" gives the netpoller, an unknown name
// is an error, and "uring" gives io_uring, or the netpoller with the reason
// when the kernel lacks it.
func TestListenTransportFallback(t *testing.T) {
	l, fb, err := ListenTransport("127.0.0.1:0", TransportNetpoll, URingConfig{})
	if err != nil || fb != nil {
		t.Fatal(err, fb)
	}
	if _, ok := l.(*Listener); !ok {
		t.Fatalf("netpoll: %T", l)
	}
	l.Close()
	if _, _, err := ListenTransport("127.0.0.1:0", "bogus", URingConfig{}); err == nil {
		t.Fatal("unknown transport accepted")
	}
	l, fb, err = ListenTransport("127.0.0.1:0", "", URingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, perr := uring.Probe()
	switch l.(type) {
	case *URingListener:
		if perr != nil || fb != nil {
			t.Fatalf("uring listener with probe error %v, fallback %v", perr, fb)
		}
	case *Listener:
		if fb == nil || !errors.Is(fb, uring.ErrNotSupported) {
			t.Fatalf("netpoll fallback without an ErrNotSupported reason: %v", fb)
		}
	}
	// Whatever was chosen carries messages.
	cc, sc := dialPair(t, l)
	cc.Write(frame([]byte("ping")))
	if m, err := sc.ReadMessage(); err != nil || string(m) != "ping" {
		t.Fatalf("%q %v", m, err)
	}
}

// TestListenTransportForcedFallback: when the probe says io_uring is missing
// (as on a kernel with kernel.io_uring_disabled), "uring" serves with the
// netpoller and says why.
func TestListenTransportForcedFallback(t *testing.T) {
	defer func(p func() (bool, error)) { uringSupported = p }(uringSupported)
	uringSupported = func() (bool, error) {
		return false, &uring.UnsupportedFeatureError{Feature: "io_uring", MinKernel: "5.1", Reason: "kernel.io_uring_disabled=2"}
	}
	l, fb, err := ListenTransport("127.0.0.1:0", TransportURing, URingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, ok := l.(*Listener); !ok || !errors.Is(fb, uring.ErrNotSupported) {
		t.Fatalf("got %T, fallback reason %v", l, fb)
	}
	cc, sc := dialPair(t, l)
	cc.Write(frame([]byte("ping")))
	if m, err := sc.ReadMessage(); err != nil || string(m) != "ping" {
		t.Fatalf("%q %v", m, err)
	}
}

// TestURingLoopsExit: a ring's goroutine and thread end with its last
// connection, whatever closed it; empty buffers in a write are fine.
func TestURingLoopsExit(t *testing.T) {
	for _, cfg := range []URingConfig{{}, {Rings: 2}} {
		l := uringListener(t, cfg)
		var scs []transport.Conn
		for range 5 {
			cc, sc := dialPair(t, l)
			if err := sc.WriteMessage(nil, []byte("x"), []byte{}); err != nil {
				t.Fatal(err)
			}
			if m := readFrame(t, cc); string(m) != "x" {
				t.Fatalf("%q", m)
			}
			cc.Close() // the peer goes first on some
			scs = append(scs, sc)
		}
		for _, sc := range scs {
			sc.Close()
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			l.pool.mu.Lock()
			n := len(l.pool.loops)
			l.pool.mu.Unlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%+v: %d rings left after every connection closed", cfg, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
