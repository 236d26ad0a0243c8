//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// features returns the probe result or skips the test when io_uring is unusable here.
func features(t testing.TB) *Features {
	t.Helper()
	f, err := Probe()
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return f
}

// requireOp skips when the kernel lacks op, but fails when the kernel is new enough that
// it should have it.
func requireOp(t testing.TB, ops ...Op) {
	t.Helper()
	f := features(t)
	for _, op := range ops {
		if err := f.CheckOp(op); err != nil {
			if f.CheckKernel(op.String(), op.MinKernel()) == nil {
				t.Fatalf("Linux %s should support %s: %v", f.Kernel, op, err)
			}
			t.Skip(err)
		}
	}
}

// requireKernel is requireOp for features the kernel cannot be asked about.
func requireKernel(t testing.TB, feature, min string) {
	t.Helper()
	if err := features(t).CheckKernel(feature, min); err != nil {
		t.Skip(err)
	}
}

// newRing locks the test goroutine to its thread and creates a ring closed at cleanup.
func newRing(t testing.TB, cfg Config) *Ring {
	t.Helper()
	features(t)
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	r, err := New(cfg)
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil && err != ErrClosed {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func getSQE(t testing.TB, r *Ring) SQE {
	t.Helper()
	s, err := r.GetSQE()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func submit(t testing.TB, r *Ring) {
	t.Helper()
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
}

// reap waits for and consumes n completions.
func reap(t testing.TB, r *Ring, n int, timeout time.Duration) []CQE {
	t.Helper()
	out := make([]CQE, 0, n)
	deadline := time.Now().Add(timeout)
	buf := make([]CQE, 16)
	for len(out) < n {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("got %d of %d completions: %+v", len(out), n, out)
		}
		if err := r.WaitCQEs(1, left); err != nil {
			t.Fatalf("got %d of %d completions (%+v): %v", len(out), n, out, err)
		}
		k := r.PeekCQEs(buf[:min(len(buf), n-len(out))])
		out = append(out, buf[:k]...)
		r.CQAdvance(k)
	}
	return out
}

func byUserData(cqes []CQE) map[uint64]CQE {
	m := make(map[uint64]CQE, len(cqes))
	for _, c := range cqes {
		m[c.UserData] = c
	}
	return m
}

// tcpPair returns a blocking socket fd for the ring and its loopback peer.
func tcpPair(t testing.TB) (int, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.(*net.TCPConn).File()
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd()) // Fd puts the descriptor in blocking mode
	t.Cleanup(func() { f.Close(); peer.Close() })
	return fd, peer
}

func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "uring")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
