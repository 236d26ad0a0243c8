//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"smb3d/numa"
	"smb3d/transport"
)

// TestWriteMessageCost: an 8 MiB WRITE (8 MiB of data behind a 64-byte SMB2
// header and a 48-byte WRITE request) takes 8 MiB and a page of buffer, not
// the 16 MiB of the next power of two, over every receive path: the
// netpoller's heap pools, the io_uring transport's ring pool (registered
// buffers; bound to no node when not placed, to the node when placed) and
// its heap pools (NoFixedRecv, not placed); a released buffer serves the
// next message of the same class.
func TestWriteMessageCost(t *testing.T) {
	const n = 8<<20 + 64 + 48
	const want = 8<<20 + 4096
	msg := randBytes(rand.New(rand.NewPCG(1, 2)), n)
	nl, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nl.Close() })
	placed, node := placedListener(t)
	for _, tc := range []struct {
		name   string
		l      transport.Listener
		mapped bool // from a ring pool: a mapping of its own
		node   int
	}{
		{"netpoll", nl, false, numa.Unknown},
		{"uring", uringListener(t, URingConfig{}), true, numa.Unknown},
		{"uring-recv", uringListener(t, URingConfig{NoFixedRecv: true}), false, numa.Unknown},
		{"uring-placed", placed, true, node},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := dialPair(t, tc.l)
			var first uintptr
			for i := range 2 {
				werr := make(chan error, 1)
				go func() { _, err := cc.Write(frame(msg)); werr <- err }()
				m, err := sc.ReadMessage()
				if err := <-werr; err != nil {
					t.Fatal(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m, msg) {
					t.Fatal("message corrupted")
				}
				if cap(m) != want {
					t.Errorf("message %d: buffer of %d bytes, want %d", i, cap(m), want)
				}
				a, ok := allocated(numa.Addr(m))
				if ok != tc.mapped {
					t.Errorf("message %d: in a pool mapping: %v, want %v", i, ok, tc.mapped)
				}
				if ok && (a.Len != want || a.Node != tc.node) {
					t.Errorf("message %d: mapping of %d bytes on node %d, want %d on %d", i, a.Len, a.Node, want, tc.node)
				}
				if i == 0 {
					first = numa.Addr(m)
				} else if tc.mapped && numa.Addr(m) != first {
					t.Errorf("released buffer not reused")
				}
				sc.(transport.Releaser).Release(m)
			}
		})
	}
}
