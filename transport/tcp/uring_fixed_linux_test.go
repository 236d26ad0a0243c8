//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/numa"
	"smb3d/transport"
)

// TestURingFixedRecv: by default, large messages are received into
// registered pool buffers, whole and exact, while the pool maps and unmaps
// buffers under the ring: many held at once (more than the pool keeps idle),
// then given back, so that new mappings reuse the addresses of unmapped
// registered ones, which must not be taken for them (the data would land in
// the old pages).
func TestURingFixedRecv(t *testing.T) {
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	uc := sc.(*URingConn)
	if uc.bufs == nil {
		t.Fatal("an unplaced ring without a pool for its registered buffers")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	send := func(msgs [][]byte) {
		go func() {
			for _, m := range msgs {
				if _, err := cc.Write(frame(m)); err != nil {
					return
				}
			}
		}()
	}
	recv := func(want []byte) []byte {
		t.Helper()
		got, err := sc.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d-byte message: got %d bytes, content equal %v", len(want), len(got), bytes.Equal(got[:min(len(got), len(want))], want[:min(len(got), len(want))]))
		}
		return got
	}
	for round := range 4 {
		var msgs [][]byte
		for i := range 12 {
			n := []int{100 << 10, 1<<20 + 112, 4<<20 + 112, 8<<20 + 112}[(i+round)%4] + rng.IntN(64)
			msgs = append(msgs, randBytes(rng, n))
		}
		send(msgs)
		var held [][]byte
		for _, m := range msgs {
			held = append(held, recv(m)) // 54 MiB held: over MaxIdle
		}
		for _, h := range held {
			uc.Release(h)
		}
	}
	msgs, reads := l.FixedRecvStats()
	if msgs < 4*12 {
		t.Fatalf("%d messages received into registered buffers (%d reads), want every one of %d", msgs, reads, 4*12)
	}
	t.Logf("%d messages, %d READ_FIXED completions, %d allocations", msgs, reads, uc.bufs.Stats().Allocs)
}

// TestURingFixedRecvHeldAcrossClose: a message received into a registered
// buffer and still held by the server stays mapped and unchanged after its
// connection and ring have gone, until it is released.
func TestURingFixedRecvHeldAcrossClose(t *testing.T) {
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	uc := sc.(*URingConn)
	big := randBytes(rand.New(rand.NewPCG(5, 6)), 2<<20)
	go cc.Write(frame(big))
	m, err := sc.ReadMessage()
	if err != nil || !bytes.Equal(m, big) {
		t.Fatalf("message: %v", err)
	}
	if msgs, _ := l.FixedRecvStats(); msgs != 1 {
		t.Fatalf("%d messages by READ_FIXED, want 1", msgs)
	}
	pool := uc.bufs
	cc.Close()
	sc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !pool.Stats().Closed {
		if time.Now().After(deadline) {
			t.Fatal("the ring's pool was not closed after its last connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := allocated(numa.Addr(m)); !ok || !bytes.Equal(m, big) {
		t.Fatal("a held message was unmapped or changed when the ring closed")
	}
	sc.(transport.Releaser).Release(m)
	if _, ok := allocated(numa.Addr(m)); ok {
		t.Error("released after the ring closed, still mapped")
	}
}

// TestURingFixedRecvCutShort: a large message cut by the peer's FIN is
// io.ErrUnexpectedEOF (the poll before the READ_FIXED wakes on the FIN);
// one whose rest never comes ends with net.ErrClosed when the server closes
// the connection (the poll and read in flight are cancelled), and its
// buffer goes back to the pool, which goes with the ring.
func TestURingFixedRecvCutShort(t *testing.T) {
	l := uringListener(t, URingConfig{})
	msg := frame(make([]byte, 1<<20))

	cc, sc := dialPair(t, l)
	cc.Write(msg[:600<<10])
	cc.(*net.TCPConn).CloseWrite()
	if _, err := sc.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want ErrUnexpectedEOF, got %v", err)
	}
	sc.Close()

	cc, sc = dialPair(t, l)
	pool := sc.(*URingConn).bufs
	cc.Write(msg[:600<<10])
	errc := make(chan error, 1)
	go func() {
		_, err := sc.ReadMessage()
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for pool.Stats().Buffers < 2 { // the staging buffer and the message's
		if time.Now().After(deadline) {
			t.Fatalf("the message's buffer was never taken: %+v", pool.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	sc.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("want net.ErrClosed, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadMessage did not return after Close")
	}
	for st := pool.Stats(); !st.Closed || st.Buffers != 0; st = pool.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("after close: %+v, want the pool closed with nothing handed out", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestURingUnplacedRegisteredPool: an unplaced ring has a pool of its own
// for its registered buffers, bound to no node (so reported as no node
// memory of the connection), and large messages come from it.
func TestURingUnplacedRegisteredPool(t *testing.T) {
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	uc := sc.(*URingConn)
	if uc.bufs == nil || uc.bufs.Node() != numa.Unknown || uc.NUMANode() != numa.Unknown {
		t.Fatalf("unplaced ring: pool %v, node %d", uc.bufs != nil, uc.NUMANode())
	}
	big := randBytes(rand.New(rand.NewPCG(7, 8)), 1<<20)
	go cc.Write(frame(big))
	m, err := sc.ReadMessage()
	if err != nil || !bytes.Equal(m, big) {
		t.Fatalf("message: %v", err)
	}
	if a, ok := allocated(numa.Addr(m)); !ok || a.Node != numa.Unknown || !uc.bufs.Owns(m) {
		t.Fatalf("message not from the ring's unbound pool (%+v %v)", a, ok)
	}
	if nm := uc.NodeMemory(); nm != nil {
		t.Errorf("NodeMemory of an unplaced connection: %+v", nm)
	}
	if msgs, _ := l.FixedRecvStats(); msgs != 1 {
		t.Errorf("%d messages by READ_FIXED, want 1", msgs)
	}
	uc.Release(m)
}

const memlockChild = "SMB3D_MEMLOCK_CHILD"

// TestURingFixedRecvMemlock: without CAP_IPC_LOCK, registered pages count
// against RLIMIT_MEMLOCK. Under a 6 MiB limit an 8 MiB message's buffer
// cannot be registered: it is received by RECV, exact, and the next one as
// large is not tried (the kernel would pin its pages in vain); a 1 MiB one
// still is registered. Runs itself again under prlimit and setpriv, as
// root.
func TestURingFixedRecvMemlock(t *testing.T) {
	if os.Getenv(memlockChild) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root to drop CAP_IPC_LOCK for the child")
		}
		prl, err1 := exec.LookPath("prlimit")
		spv, err2 := exec.LookPath("setpriv")
		if err1 != nil || err2 != nil {
			t.Skip("needs prlimit and setpriv (util-linux)")
		}
		cmd := exec.Command(prl, "--memlock=6291456:6291456", spv, "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock",
			os.Args[0], "-test.run=^TestURingFixedRecvMemlock$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), memlockChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil && (bytes.HasPrefix(out, []byte("setpriv:")) || bytes.HasPrefix(out, []byte("prlimit:"))) {
			// A container without CAP_SETPCAP, say: the tools, not smb3d.
			t.Skipf("cannot drop CAP_IPC_LOCK or set the limit here: %s", out)
		}
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !bytes.Contains(out, []byte("--- PASS: TestURingFixedRecvMemlock")) {
			t.Fatalf("child did not pass:\n%s", out)
		}
		t.Logf("child:\n%s", out)
		return
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil || eff&(1<<unix.CAP_IPC_LOCK) != 0 {
				t.Fatalf("child still has CAP_IPC_LOCK (CapEff %s)", v)
			}
		}
	}
	l := uringListener(t, URingConfig{})
	cc, sc := dialPair(t, l)
	rng := rand.New(rand.NewPCG(9, 10))
	for i, n := range []int{8 << 20, 8 << 20, 1 << 20} {
		want := randBytes(rng, n)
		go cc.Write(frame(want))
		m, err := sc.ReadMessage()
		if err != nil || !bytes.Equal(m, want) {
			t.Fatalf("message %d (%d bytes): %v", i, n, err)
		}
		// Held, so that each takes a buffer of its own.
		defer sc.(transport.Releaser).Release(m)
	}
	if msgs, reads := l.FixedRecvStats(); msgs != 1 {
		t.Fatalf("%d messages by READ_FIXED (%d reads), want only the 1 MiB one", msgs, reads)
	}
	if n := l.pool.fixedRefused.Load(); n != 1 {
		t.Fatalf("%d registrations refused, want 1 (the second 8 MiB buffer is not tried)", n)
	}
}
