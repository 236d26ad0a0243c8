//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"net"
	"slices"
	"testing"
	"time"

	"smb3d/numa"
	"smb3d/transport"
)

// BenchmarkReceivePlacement receives 256 MiB of 1 MiB messages (WRITE-sized)
// per round over an io_uring connection, unplaced (Go heap buffers) and
// placed on this machine's first node (node-bound pool), back to back; it
// reports the median MB/s of each and their ratio. On a one-node machine
// the two should not differ: placement is one sched_setaffinity per ring and
// one mbind per pooled buffer.
func BenchmarkReceivePlacement(b *testing.B) {
	topo, err := numa.System()
	if err != nil || len(topo.Nodes) == 0 {
		b.Skipf("no NUMA topology: %v", err)
	}
	pl, err := numa.NewPlacement(numa.Policy{Mode: numa.Fixed, Node: topo.Nodes[0].ID}, topo)
	if err != nil {
		b.Fatal(err)
	}
	const msg, total = 1 << 20, 256 << 20
	frameBuf := frame(make([]byte, msg))
	variants := []struct {
		name string
		cfg  URingConfig
	}{{"unplaced", URingConfig{}}, {"placed", URingConfig{Placement: pl}}}
	round := func(cfg URingConfig) float64 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		l, err := NewURingListener(ln, cfg)
		if err != nil {
			b.Skipf("io_uring: %v", err)
		}
		defer l.Close()
		accepted := make(chan transport.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				b.Error(err)
			}
			accepted <- c
		}()
		cc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		sc := <-accepted
		defer sc.Close()
		go func() {
			for range total / msg {
				if _, err := cc.Write(frameBuf); err != nil {
					return
				}
			}
		}()
		start := time.Now()
		for range total / msg {
			m, err := sc.ReadMessage()
			if err != nil || len(m) != msg {
				b.Fatal(err)
			}
			sc.(transport.Releaser).Release(m)
		}
		return float64(total) / 1e6 / time.Since(start).Seconds()
	}
	res := make([][]float64, len(variants))
	for b.Loop() {
		for i, v := range variants {
			res[i] = append(res[i], round(v.cfg))
		}
	}
	med := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for i, v := range variants {
		b.ReportMetric(med(res[i]), v.name+"-MB/s")
		b.Logf("%-9s MB/s %s", v.name, fmtAll(res[i]))
	}
	b.ReportMetric(med(res[1])/med(res[0]), "placed/unplaced")
}
