//go:build rdma && cgo && linux

package rdma

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWriteBandwidthVsPerftest runs perftest's ib_write_bw and the same
// transfer through this package (64 KiB RDMA writes, 128 in flight), with a
// netpoller-driven and with a polled CQ, in the same guest and reports the
// ratios. It fails only if something does not work: under TCG the numbers
// vary 2-3x from run to run.
func TestWriteBandwidthVsPerftest(t *testing.T) {
	addr := testAddr(t)
	dev := os.Getenv("RXE_DEV")
	bw, err := exec.LookPath("ib_write_bw")
	if dev == "" || err != nil {
		t.Skip("needs ib_write_bw and $RXE_DEV (the soft-RoCE VM has them)")
	}
	noLeaks(t)
	const size, iters, depth = 64 << 10, 1024, 128

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"-d", dev, "-s", strconv.Itoa(size), "-n", strconv.Itoa(iters), "-t", strconv.Itoa(depth), "-F", "--report_gbits", "-p", "18515"}
	srv := exec.CommandContext(ctx, bw, args...)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	var out []byte
	for try := 0; ; try++ {
		time.Sleep(300 * time.Millisecond)
		out, err = exec.CommandContext(ctx, bw, append(args, addr.String())...).CombinedOutput()
		if err == nil || try == 10 {
			break
		}
	}
	if err != nil {
		t.Fatalf("ib_write_bw client: %v\n%s\nserver:\n%s", err, out, srvOut.String())
	}
	perf := 0.0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[0] == strconv.Itoa(size) && f[1] == strconv.Itoa(iters) {
			perf, _ = strconv.ParseFloat(f[3], 64) // BW average [Gb/sec]
		}
	}
	if perf == 0 {
		t.Fatalf("no bandwidth in ib_write_bw's output:\n%s", out)
	}

	for _, mode := range []struct {
		name string
		cq   CQOptions
	}{{"netpoller CQ", CQOptions{}}, {"polling CQ", CQOptions{Polling: true}}} {
		ours := writeBandwidth(t, ctx, mode.cq, size, iters, depth)
		t.Logf("RDMA write %d x %d KiB, %d in flight: ib_write_bw %.3f Gb/s, rdma package (%s) %.3f Gb/s, ratio %.2f",
			iters, size>>10, depth, perf, mode.name, ours, ours/perf)
	}
}

// writeBandwidth connects a pair and measures RDMA writes of size bytes,
// depth in flight, every 16th signaled (perftest signals every 100th).
func writeBandwidth(t *testing.T, ctx context.Context, cq CQOptions, size, iters, depth int) float64 {
	const every = 16
	cli, s := connectPair(t, pairConfig{bufSize: 8 << 20, cqSize: 2 * depth, cq: cq, qp: QPConfig{MaxSendWR: depth, MaxRecvWR: 1}})
	start := time.Now()
	posted, done := 0, 0
	for done < iters {
		for posted < iters && posted-done < depth {
			off := (posted % 128) * size
			var flags SendFlags
			if posted%every == every-1 || posted == iters-1 {
				flags = SendSignaled
			}
			if err := cli.ep.PostSend(SendWR{ID: uint64(posted), Op: OpRDMAWrite, Flags: flags,
				SGL: []SGE{cli.mr.SGE(off, size)}, RemoteAddr: s.mr.Addr() + uint64(off), RKey: s.mr.RKey()}); err != nil {
				t.Fatal(err)
			}
			posted++
		}
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cli.wc[:n] {
			if err := c.Err(); err != nil {
				t.Fatal(err)
			}
			done = int(c.WRID) + 1 // completions come in order: everything before it is done
		}
	}
	return float64(size*iters*8) / time.Since(start).Seconds() / 1e9
}
