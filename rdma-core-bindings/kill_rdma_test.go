//go:build rdma && cgo && linux

package rdma

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as the server of
// TestPeerKilledMidTransfer (see TestMain) instead of running tests.
const helperEnv = "SMB3D_RDMA_TEST_HELPER"

// runHelperServer listens on $RXE_IP, prints the port, accepts one
// connection exposing 4 MiB (address and rkey in the private data), prints
// "accepted" and waits to be killed.
func runHelperServer() error {
	addr, err := netip.ParseAddr(os.Getenv("RXE_IP"))
	if err != nil {
		return err
	}
	l, err := Listen(netip.AddrPortFrom(addr, 0), 1)
	if err != nil {
		return err
	}
	fmt.Println(l.Addr().Port())
	ctx := context.Background()
	ep, err := l.Accept(ctx)
	if err != nil {
		return err
	}
	dev := ep.Device()
	pd, err := dev.AllocPD()
	if err != nil {
		return err
	}
	cq, err := dev.NewCQ(64, nil)
	if err != nil {
		return err
	}
	buf, err := Alloc(4<<20, -1)
	if err != nil {
		return err
	}
	mr, err := pd.Register(buf.Bytes(), AccessLocalWrite|AccessRemoteWrite|AccessRemoteRead)
	if err != nil {
		return err
	}
	if err := ep.CreateQP(pd, QPConfig{SendCQ: cq, RecvCQ: cq}); err != nil {
		return err
	}
	var info [12]byte
	binary.LittleEndian.PutUint64(info[:], mr.Addr())
	binary.LittleEndian.PutUint32(info[8:], mr.RKey())
	p := ep.PeerParam()
	if err := ep.Accept(ctx, ConnParam{PrivateData: info[:], ResponderResources: p.InitiatorDepth, InitiatorDepth: p.ResponderResources}); err != nil {
		return err
	}
	fmt.Println("accepted")
	select {}
}

// TestPeerKilledMidTransfer: the server process is killed (SIGKILL) while
// the client has RDMA writes in flight. The kernel tears the dead process's
// connection down; the client must see errors, not hang, and leak nothing.
func TestPeerKilledMidTransfer(t *testing.T) {
	addr := testAddr(t)
	noLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=1", "RXE_IP="+addr.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatal("helper printed no port")
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines.Text()))
	if err != nil {
		t.Fatal(err)
	}

	ep, err := Resolve(ctx, netip.AddrPortFrom(addr, uint16(port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cli := setup(t, ep, &pairConfig{bufSize: 4 << 20, cqSize: 256, qp: QPConfig{MaxSendWR: 128, MaxRecvWR: 16}})
	if err := ep.Connect(ctx, ConnParam{ResponderResources: 16, InitiatorDepth: 16, RetryCount: 7, RNRRetryCount: 7}); err != nil {
		t.Fatal(err)
	}
	pd := ep.PeerParam().PrivateData
	if len(pd) < 12 {
		t.Fatalf("private data %x", pd)
	}
	raddr, rkey := binary.LittleEndian.Uint64(pd), binary.LittleEndian.Uint32(pd[8:])
	if !lines.Scan() || lines.Text() != "accepted" {
		t.Fatalf("helper: %q", lines.Text())
	}

	const chunk, depth = 64 << 10, 32
	posted, completed := 0, 0
	var firstErr error
	var killedAt time.Time
	for firstErr == nil {
		for posted-completed < depth {
			off := (posted % 64) * chunk
			if err := ep.PostSend(SendWR{ID: uint64(posted), Op: OpRDMAWrite, Flags: SendSignaled,
				SGL: []SGE{cli.mr.SGE(off, chunk)}, RemoteAddr: raddr + uint64(off), RKey: rkey}); err != nil {
				firstErr = err
				break
			}
			posted++
		}
		if firstErr != nil {
			break
		}
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatalf("wait after %d writes (killed %v ago): %v", completed, time.Since(killedAt), err)
		}
		for _, c := range cli.wc[:n] {
			if err := c.Err(); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		completed += n
		if completed >= 100 && killedAt.IsZero() {
			killedAt = time.Now()
			cmd.Process.Kill()
		}
	}
	t.Logf("after %d writes: %v (%v after the kill)", completed, firstErr, time.Since(killedAt).Round(time.Millisecond))
	var wce *WCError
	if !errors.As(firstErr, &wce) {
		t.Errorf("first error %v is not a work completion error", firstErr)
	}
	select {
	case <-ep.Done():
		t.Logf("Done after %v: %v", time.Since(killedAt).Round(time.Millisecond), ep.Err())
	case <-ctx.Done():
		t.Fatal("Done not closed after the peer was killed")
	}
	for completed < posted {
		n, err := cli.cq.Wait(ctx, cli.wc)
		if err != nil {
			t.Fatalf("draining (%d of %d): %v", completed, posted, err)
		}
		completed += n
	}
}
