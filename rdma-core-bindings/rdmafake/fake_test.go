package rdmafake

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"smb3d/rdma-core-bindings"
)

func wait(t *testing.T, cq rdma.CompletionQueue) rdma.Completion {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	wc := make([]rdma.Completion, 1)
	if _, err := cq.Wait(ctx, wc); err != nil {
		t.Fatal(err)
	}
	return wc[0]
}

func TestSendRecv(t *testing.T) {
	a, b := Pair(Config{PrivateDataA: []byte("hello")})
	if string(b.PeerParam().PrivateData) != "hello" {
		t.Fatalf("private data %q", b.PeerParam().PrivateData)
	}
	am, bm := a.Register(make([]byte, 64), rdma.AccessLocalWrite), b.Register(make([]byte, 64), rdma.AccessLocalWrite)
	copy(am.Bytes(), "ping")
	// the send waits for a receive, as with an RNR retry count of 7
	if err := a.PostSend(rdma.SendWR{ID: 1, Op: rdma.OpSendWithImm, Imm: 9, Flags: rdma.SendSignaled, SGL: []rdma.SGE{am.SGE(0, 4)}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.SendCQ.Poll(make([]rdma.Completion, 1)); n != 0 {
		t.Fatal("send completed before a receive was posted")
	}
	if err := b.PostRecv(rdma.RecvWR{ID: 2, SGL: []rdma.SGE{bm.SGE(8, 32)}}); err != nil {
		t.Fatal(err)
	}
	c := wait(t, b.RecvCQ)
	if c.WRID != 2 || c.Opcode != rdma.WCRecv || c.ByteLen != 4 || c.Imm != 9 || c.Flags&rdma.WCWithImm == 0 || string(bm.Bytes()[8:12]) != "ping" {
		t.Fatalf("receive %+v %q", c, bm.Bytes()[8:12])
	}
	if c := wait(t, a.SendCQ); c.WRID != 1 || c.Err() != nil {
		t.Fatalf("send %+v", c)
	}
}

func TestRDMAAndErrors(t *testing.T) {
	a, b := Pair(Config{})
	am := a.Register(make([]byte, 4096), rdma.AccessLocalWrite)
	bm := b.Register(make([]byte, 4096), rdma.AccessLocalWrite|rdma.AccessRemoteRead|rdma.AccessRemoteWrite)
	copy(am.Bytes(), "written")
	a.PostSend(rdma.SendWR{ID: 1, Op: rdma.OpRDMAWrite, Flags: rdma.SendSignaled, SGL: []rdma.SGE{am.SGE(0, 7)}, RemoteAddr: bm.Addr() + 100, RKey: bm.RKey()})
	if c := wait(t, a.SendCQ); c.Err() != nil || string(bm.Bytes()[100:107]) != "written" {
		t.Fatalf("write: %v %q", c.Err(), bm.Bytes()[100:107])
	}
	copy(bm.Bytes()[200:], "readme")
	a.PostSend(rdma.SendWR{ID: 2, Op: rdma.OpRDMARead, Flags: rdma.SendSignaled, SGL: []rdma.SGE{am.SGE(10, 6)}, RemoteAddr: bm.Addr() + 200, RKey: bm.RKey()})
	if c := wait(t, a.SendCQ); c.Err() != nil || !bytes.Equal(am.Bytes()[10:16], []byte("readme")) {
		t.Fatalf("read: %v %q", c.Err(), am.Bytes()[10:16])
	}
	// a posted receive is flushed when a bad rkey breaks the connection
	b.PostRecv(rdma.RecvWR{ID: 3, SGL: []rdma.SGE{bm.SGE(0, 16)}})
	a.PostSend(rdma.SendWR{ID: 4, Op: rdma.OpRDMARead, Flags: rdma.SendSignaled, SGL: []rdma.SGE{am.SGE(0, 6)}, RemoteAddr: bm.Addr() + 4091, RKey: bm.RKey()})
	if c := wait(t, a.SendCQ); !errors.Is(c.Err(), rdma.WCRemAccessErr) {
		t.Fatalf("read past the region: %v", c.Err())
	}
	if c := wait(t, b.RecvCQ); c.WRID != 3 || !errors.Is(c.Err(), rdma.WCWRFlushErr) {
		t.Fatalf("receive after the error: %+v", c)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("Done not closed")
	}
	a.PostSend(rdma.SendWR{ID: 5, Op: rdma.OpSend})
	if c := wait(t, a.SendCQ); !errors.Is(c.Err(), rdma.WCWRFlushErr) {
		t.Fatalf("send after the error: %v", c.Err())
	}
}

func TestSendWithInvalidate(t *testing.T) {
	a, b := Pair(Config{})
	am := a.Register(make([]byte, 64), rdma.AccessLocalWrite)
	bm := b.Register(make([]byte, 64), rdma.AccessLocalWrite|rdma.AccessRemoteWrite)
	b.PostRecv(rdma.RecvWR{ID: 1, SGL: []rdma.SGE{bm.SGE(0, 8)}})
	a.PostSend(rdma.SendWR{ID: 2, Op: rdma.OpSendWithInv, InvalidateRKey: bm.RKey(), SGL: []rdma.SGE{am.SGE(0, 8)}})
	if c := wait(t, b.RecvCQ); c.Flags&rdma.WCWithInv == 0 || c.InvalidatedRKey != bm.RKey() {
		t.Fatalf("receive %+v", c)
	}
	a.PostSend(rdma.SendWR{ID: 3, Op: rdma.OpRDMAWrite, SGL: []rdma.SGE{am.SGE(0, 8)}, RemoteAddr: bm.Addr(), RKey: bm.RKey()})
	if c := wait(t, a.SendCQ); !errors.Is(c.Err(), rdma.WCRemAccessErr) {
		t.Fatalf("write with an invalidated rkey: %v", c.Err())
	}
}

func TestSendTooLong(t *testing.T) {
	a, b := Pair(Config{})
	am := a.Register(make([]byte, 64), rdma.AccessLocalWrite)
	bm := b.Register(make([]byte, 64), rdma.AccessLocalWrite)
	b.PostRecv(rdma.RecvWR{ID: 1, SGL: []rdma.SGE{bm.SGE(0, 8)}})
	a.PostSend(rdma.SendWR{ID: 2, Op: rdma.OpSend, SGL: []rdma.SGE{am.SGE(0, 9)}})
	if c := wait(t, b.RecvCQ); !errors.Is(c.Err(), rdma.WCLocLenErr) {
		t.Fatalf("receive: %v", c.Err())
	}
	if c := wait(t, a.SendCQ); !errors.Is(c.Err(), rdma.WCRemInvReqErr) {
		t.Fatalf("send: %v", c.Err())
	}
}

func TestDisconnect(t *testing.T) {
	a, b := Pair(Config{SeparateCQs: true})
	bm := b.Register(make([]byte, 64), rdma.AccessLocalWrite)
	b.PostRecv(rdma.RecvWR{ID: 1, SGL: []rdma.SGE{bm.SGE(0, 8)}})
	a.Disconnect()
	<-b.Done()
	if !errors.Is(b.Err(), rdma.ErrDisconnected) {
		t.Fatalf("Err = %v", b.Err())
	}
	if c := wait(t, b.RecvCQ); !errors.Is(c.Err(), rdma.WCWRFlushErr) {
		t.Fatalf("receive: %v", c.Err())
	}
	b.RecvCQ.Close()
	if _, err := b.RecvCQ.Wait(context.Background(), make([]rdma.Completion, 1)); !errors.Is(err, rdma.ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
}
