//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestProbe(t *testing.T) {
	f := features(t)
	t.Log(f)
	if !f.HasOp(OpNop) {
		t.Fatal("NOP not supported")
	}
	err := f.CheckOp(Op(250))
	var ue *UnsupportedFeatureError
	if !errors.As(err, &ue) || !errors.Is(err, ErrNotSupported) {
		t.Fatalf("CheckOp(250) = %v, want *UnsupportedFeatureError", err)
	}
	if err := f.CheckKernel("future", "99.0"); !errors.As(err, &ue) || ue.MinKernel != "99.0" {
		t.Fatalf("CheckKernel(99.0) = %v", err)
	}
	if err := f.CheckSetup(1 << 30); !errors.As(err, &ue) {
		t.Fatalf("CheckSetup(1<<30) = %v", err)
	}
	if err := f.CheckKernel("old", "2.6"); err != nil {
		t.Fatalf("CheckKernel(2.6) = %v", err)
	}
}

func TestNop(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	t.Logf("setup flags %#x features %#x sq %d cq %d", r.SetupFlags(), r.Features(), r.SQEntries(), r.CQEntries())
	for i := range 3 {
		s := getSQE(t, r)
		s.PrepNop()
		s.SetUserData(uint64(100 + i))
		id := s.ID()
		if n, err := r.SubmitAndWait(1); err != nil || n != 1 {
			t.Fatalf("SubmitAndWait = %d, %v", n, err)
		}
		c, err := r.WaitCQE(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if c.UserData != uint64(100+i) || c.Res != 0 || c.ID != id {
			t.Fatalf("cqe %+v, want user data %d id %#x", c, 100+i, id)
		}
		r.CQAdvance(1)
		if r.Inflight() != 0 {
			t.Fatalf("inflight %d after completion", r.Inflight())
		}
	}
	if _, err := r.WaitCQE(-1); err != ErrIdle {
		t.Fatalf("WaitCQE with nothing in flight = %v, want ErrIdle", err)
	}
	sock, _ := tcpPair(t)
	s := getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 1), 0)
	submit(t, r)
	if _, err := r.WaitCQE(10 * time.Millisecond); err != ErrTimeout {
		t.Fatalf("WaitCQE with an idle receive = %v, want ErrTimeout", err)
	}
}

func TestReadWriteFsync(t *testing.T) {
	requireOp(t, OpRead, OpWrite, OpFsync, OpReadv, OpWritev)
	r := newRing(t, Config{Entries: 8})
	f := tempFile(t, nil)
	fd := int(f.Fd())
	data := pattern(100_000, 1)

	s := getSQE(t, r)
	s.PrepWrite(fd, data, 0)
	s.SetFlags(FlagIOLink)
	s.SetUserData(1)
	s = getSQE(t, r)
	s.PrepFsync(fd, 0)
	s.SetUserData(2)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[1].Res != int32(len(data)) || m[2].Res != 0 {
		t.Fatalf("write %+v fsync %+v", m[1], m[2])
	}
	if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data) {
		t.Fatal("file content differs from what the ring wrote")
	}

	got := make([]byte, len(data))
	s = getSQE(t, r)
	s.PrepRead(fd, got, 0)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != int32(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("read %+v, data equal %v", c, bytes.Equal(got, data))
	}

	// Vectored: write three pieces at offset 10, read them back into two.
	pieces := [][]byte{[]byte("alpha-"), []byte("beta-"), []byte("gamma")}
	s = getSQE(t, r)
	s.PrepWritev(fd, pieces, 10)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 16 {
		t.Fatalf("writev %+v", c)
	}
	a, b := make([]byte, 7), make([]byte, 9)
	s = getSQE(t, r)
	s.PrepReadv(fd, [][]byte{a, b}, 10)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 16 || string(a)+string(b) != "alpha-beta-gamma" {
		t.Fatalf("readv %+v: %q %q", c, a, b)
	}
	runtime.GC() // pins must be gone: nothing may keep a freed buffer referenced
}

func TestFixedBuffers(t *testing.T) {
	requireOp(t, OpReadFixed, OpWriteFixed)
	r := newRing(t, Config{Entries: 8})
	f := tempFile(t, nil)
	fd := int(f.Fd())
	mem, err := Mmap(2 * 65536)
	if err != nil {
		t.Fatal(err)
	}
	defer Munmap(mem)
	heap := make([]byte, 4096) // a Go-heap buffer works too; the ring pins it
	if err := r.RegisterBuffers([][]byte{mem[:65536], mem[65536:], heap}); err != nil {
		t.Fatal(err)
	}
	data := pattern(65536, 2)
	copy(mem[:65536], data)
	s := getSQE(t, r)
	s.PrepWriteFixed(fd, mem[:65536], 0, 0)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 65536 {
		t.Fatalf("write fixed %+v", c)
	}
	s = getSQE(t, r)
	s.PrepReadFixed(fd, mem[65536:], 0, 1)
	s2 := getSQE(t, r)
	s2.PrepReadFixed(fd, heap[:100], 1000, 2)
	submit(t, r)
	for _, c := range reap(t, r, 2, 5*time.Second) {
		if c.Res <= 0 {
			t.Fatalf("read fixed %+v", c)
		}
	}
	if !bytes.Equal(mem[65536:], data) || !bytes.Equal(heap[:100], data[1000:1100]) {
		t.Fatal("read fixed returned different data")
	}
	// A buffer outside the registered one is refused.
	s = getSQE(t, r)
	s.PrepReadFixed(fd, mem[65536:], 0, 0)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Err() != unix.EFAULT {
		t.Fatalf("read fixed outside the buffer: %+v, want EFAULT", c)
	}
	if err := r.UnregisterBuffers(); err != nil {
		t.Fatal(err)
	}

	// BUFFERS2 sparse table, filled with BUFFERS_UPDATE.
	requireKernel(t, "IORING_REGISTER_BUFFERS2 sparse", "5.19")
	if err := r.RegisterBuffersSparse(4); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateBuffers(3, [][]byte{mem[:4096]}); err != nil {
		t.Fatal(err)
	}
	s = getSQE(t, r)
	s.PrepReadFixed(fd, mem[:4096], 0, 3)
	s2 = getSQE(t, r)
	s2.PrepReadFixed(fd, mem[:4096], 0, 1) // empty slot
	s2.SetUserData(1)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[0].Res != 4096 || m[1].Err() != unix.EFAULT {
		t.Fatalf("sparse table: slot 3 %+v, empty slot 1 %+v (want EFAULT)", m[0], m[1])
	}
}

func TestFixedFiles(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	f := tempFile(t, nil)
	g := tempFile(t, nil)
	if err := r.RegisterFiles([]int{-1, int(f.Fd())}); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateFiles(0, []int{int(g.Fd())}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"to g", "to f"} {
		s := getSQE(t, r)
		s.PrepWrite(i, []byte(want), 0)
		s.SetFlags(FlagFixedFile)
		submit(t, r)
		if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != int32(len(want)) {
			t.Fatalf("write to fixed file %d: %+v", i, c)
		}
	}
	if a, _ := os.ReadFile(g.Name()); string(a) != "to g" {
		t.Fatalf("g = %q", a)
	}
	if b, _ := os.ReadFile(f.Name()); string(b) != "to f" {
		t.Fatalf("f = %q", b)
	}
	s := getSQE(t, r)
	s.PrepCloseFixed(0)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 0 {
		t.Fatalf("close fixed: %+v", c)
	}
	s = getSQE(t, r)
	s.PrepWrite(0, []byte("x"), 0)
	s.SetFlags(FlagFixedFile)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Err() != unix.EBADF {
		t.Fatalf("write to a closed fixed slot: %+v, want EBADF", c)
	}
	if err := r.UnregisterFiles(); err != nil {
		t.Fatal(err)
	}
}

// readAll reads n bytes from c in the background.
func readAll(c net.Conn, n int) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, n)
		k, _ := io.ReadFull(c, b)
		ch <- b[:k]
	}()
	return ch
}

func newPipe(t testing.TB) (rd, wr int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, 1<<20)
	return p[0], p[1]
}

// spliceFile queues file[off:off+n] -> pipe -> sock as a linked pair.
func spliceFile(t testing.TB, r *Ring, file int, off int64, n int, prd, pwr, sock int) {
	s := getSQE(t, r)
	s.PrepSplice(file, off, pwr, -1, n, unix.SPLICE_F_MOVE)
	s.SetFlags(FlagIOLink)
	s.SetUserData(1)
	s = getSQE(t, r)
	s.PrepSplice(prd, -1, sock, -1, n, unix.SPLICE_F_MOVE)
	s.SetUserData(2)
}

func TestSpliceFileToSocket(t *testing.T) {
	requireOp(t, OpSplice)
	r := newRing(t, Config{Entries: 16})
	data := pattern(3<<20+123, 3)
	f := tempFile(t, data)
	sock, peer := tcpPair(t)
	prd, pwr := newPipe(t)
	got := readAll(peer, len(data))
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1<<20)
		spliceFile(t, r, int(f.Fd()), int64(off), n, prd, pwr, sock)
		submit(t, r)
		m := byUserData(reap(t, r, 2, 10*time.Second))
		if m[1].Res != int32(n) || m[2].Res != int32(n) {
			t.Fatalf("splice at %d: file->pipe %+v pipe->socket %+v, want %d", off, m[1], m[2], n)
		}
		off += n
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("peer got %d bytes, not the file's %d", len(b), len(data))
	}
}

func TestSpliceFixedFdIn(t *testing.T) {
	requireOp(t, OpSplice)
	r := newRing(t, Config{Entries: 8})
	data := pattern(50_000, 6)
	f := tempFile(t, data)
	sock, peer := tcpPair(t)
	prd, pwr := newPipe(t)
	if err := r.RegisterFiles([]int{int(f.Fd()), prd, pwr}); err != nil {
		t.Fatal(err)
	}
	got := readAll(peer, len(data))
	s := getSQE(t, r)
	s.PrepSplice(0, 0, 2, -1, len(data), unix.SPLICE_F_MOVE|SpliceFdInFixed) // both fixed
	s.SetFlags(FlagIOLink | FlagFixedFile)
	s.SetUserData(1)
	s = getSQE(t, r)
	s.PrepSplice(1, -1, sock, -1, len(data), unix.SPLICE_F_MOVE|SpliceFdInFixed) // in fixed
	s.SetUserData(2)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[1].Res != int32(len(data)) || m[2].Res != int32(len(data)) {
		t.Fatalf("splice with fixed files: %+v %+v", m[1], m[2])
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatal("peer data differs")
	}
}

func TestSendmsgMoreThenSplice(t *testing.T) {
	requireOp(t, OpSendmsg, OpSplice)
	r := newRing(t, Config{Entries: 16})
	body := pattern(200_000, 4)
	f := tempFile(t, body)
	sock, peer := tcpPair(t)
	prd, pwr := newPipe(t)
	hdr := [][]byte{{0, 0, 0x0d, 0x40}, bytes.Repeat([]byte{0xfe}, 60)}
	want := append(append(append([]byte{}, hdr[0]...), hdr[1]...), body...)
	got := readAll(peer, len(want))

	s := getSQE(t, r)
	s.PrepSendmsg(sock, hdr, unix.MSG_MORE)
	s.SetFlags(FlagIOLink)
	s.SetUserData(0)
	spliceFile(t, r, int(f.Fd()), 0, len(body), prd, pwr, sock)
	submit(t, r)
	m := byUserData(reap(t, r, 3, 10*time.Second))
	if m[0].Res != 64 || m[1].Res != int32(len(body)) || m[2].Res != int32(len(body)) {
		t.Fatalf("sendmsg %+v splice %+v %+v", m[0], m[1], m[2])
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes, want header+body %d", len(b), len(want))
	}
}

func TestSkipSuccessInLink(t *testing.T) {
	requireOp(t, OpSendmsg)
	if err := features(t).CheckFeature(FeatCQESkip); err != nil {
		t.Skip(err)
	}
	r := newRing(t, Config{Entries: 8})
	sock, peer := tcpPair(t)
	got := readAll(peer, 10)
	s := getSQE(t, r)
	s.PrepSendmsg(sock, [][]byte{[]byte("head-")}, unix.MSG_MORE)
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(1)
	s = getSQE(t, r)
	s.PrepSend(sock, []byte("body!"), 0)
	s.SetUserData(2)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.UserData != 2 || c.Res != 5 {
		t.Fatalf("cqe %+v, want only the send's", c)
	}
	if r.Inflight() != 0 {
		t.Fatalf("inflight %d: the skipped request's slot was not released", r.Inflight())
	}
	if b := <-got; string(b) != "head-body!" {
		t.Fatalf("peer got %q", b)
	}
	// Outside a link chain the ring hides the success itself.
	s = getSQE(t, r)
	s.PrepNop()
	s.SetFlags(FlagCQESkipSuccess)
	s.SetUserData(3)
	s = getSQE(t, r)
	s.PrepNop()
	s.SetUserData(4)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.UserData != 4 || r.Inflight() != 0 {
		t.Fatalf("unlinked skip-success: %+v inflight %d, want only the second NOP", c, r.Inflight())
	}
	if _, err := r.WaitCQE(10 * time.Millisecond); err != ErrIdle {
		t.Fatalf("extra completion: %v", err)
	}
	// A kernel-skipped request that fails reports its error, and the rest of its chain
	// reports -ECANCELED although the kernel posts nothing for it.
	s = getSQE(t, r)
	s.PrepSend(-1, []byte("x"), 0)
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(5)
	s = getSQE(t, r)
	s.PrepNop()
	s.SetFlags(FlagIOLink)
	s.SetUserData(6)
	s = getSQE(t, r)
	s.PrepNop()
	s.SetUserData(7)
	submit(t, r)
	cs := reap(t, r, 3, 5*time.Second)
	if cs[0].UserData != 5 || cs[0].Err() != unix.EBADF ||
		cs[1].UserData != 6 || cs[1].Err() != unix.ECANCELED || cs[2].UserData != 7 || cs[2].Err() != unix.ECANCELED {
		t.Fatalf("failed chain: %+v", cs)
	}
	if r.Inflight() != 0 {
		t.Fatalf("inflight %d", r.Inflight())
	}
	// The same when the kernel rejects the head at submission (bad splice flags: EINVAL
	// from the prep step, not from the issue).
	s = getSQE(t, r)
	s.PrepSplice(sock, -1, sock, -1, 1, 1<<30)
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(8)
	s = getSQE(t, r)
	s.PrepNop()
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(9)
	s = getSQE(t, r)
	s.PrepNop()
	s.SetUserData(10)
	submit(t, r)
	cs = reap(t, r, 3, 5*time.Second)
	if cs[0].UserData != 8 || cs[0].Err() != unix.EINVAL ||
		cs[1].UserData != 9 || cs[1].Err() != unix.ECANCELED || cs[2].UserData != 10 || cs[2].Err() != unix.ECANCELED {
		t.Fatalf("chain failed at submission: %+v", cs)
	}
	if _, err := r.WaitCQE(20 * time.Millisecond); err != ErrIdle || r.Inflight() != 0 {
		t.Fatalf("after the failed chain: %v, inflight %d", err, r.Inflight())
	}
	// A skip-success receive guarded by a link timeout: the timeout's CQE does not prove
	// the receive finished, and the cancelled receive still reports -ECANCELED.
	s = getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 10), 0)
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(11)
	s = getSQE(t, r)
	s.PrepLinkTimeout(20*time.Millisecond, 0)
	s.SetUserData(12)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[11].Err() != unix.ECANCELED || m[12].Err() != unix.ETIME || r.Inflight() != 0 {
		t.Fatalf("recv with link timeout: %+v, inflight %d", m, r.Inflight())
	}
	// And when it succeeds, only the timeout's -ECANCELED arrives.
	peer.Write([]byte("y"))
	s = getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 10), 0)
	s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
	s.SetUserData(13)
	s = getSQE(t, r)
	s.PrepLinkTimeout(5*time.Second, 0)
	s.SetUserData(14)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.UserData != 14 || c.Err() != unix.ECANCELED {
		t.Fatalf("successful recv with link timeout: %+v", c)
	}
	if _, err := r.WaitCQE(20 * time.Millisecond); err != ErrIdle || r.Inflight() != 0 {
		t.Fatalf("after the recv: %v, inflight %d", err, r.Inflight())
	}
}

func TestSendZC(t *testing.T) {
	requireOp(t, OpSendZC)
	r := newRing(t, Config{Entries: 8})
	sock, peer := tcpPair(t)
	data := pattern(256<<10, 5)
	got := readAll(peer, len(data))
	s := getSQE(t, r)
	s.PrepSendZC(sock, data, 0, SendZCReportUsage)
	s.SetUserData(7)
	submit(t, r)
	cs := reap(t, r, 2, 10*time.Second)
	if cs[0].Res != int32(len(data)) || !cs[0].More() || cs[0].Notif() {
		t.Fatalf("first cqe %+v: want res %d with F_MORE", cs[0], len(data))
	}
	if !cs[1].Notif() || cs[1].More() || cs[1].UserData != 7 {
		t.Fatalf("second cqe %+v: want the F_NOTIF notification", cs[1])
	}
	t.Logf("notification res %#x (copied: %v)", uint32(cs[1].Res), cs[1].Res&NotifUsageZCCopied != 0)
	if r.Inflight() != 0 {
		t.Fatalf("inflight %d after notification", r.Inflight())
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatal("peer data differs")
	}

	// From a registered buffer.
	mem, err := Mmap(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer Munmap(mem)
	copy(mem, data)
	if err := r.RegisterBuffers([][]byte{mem}); err != nil {
		t.Fatal(err)
	}
	got = readAll(peer, 1000)
	s = getSQE(t, r)
	s.PrepSendZCFixed(sock, mem[5000:6000], 0, 0, 0)
	submit(t, r)
	if cs := reap(t, r, 2, 10*time.Second); cs[0].Res != 1000 || !cs[1].Notif() {
		t.Fatalf("fixed-buffer send_zc: %+v", cs)
	}
	if b := <-got; !bytes.Equal(b, data[5000:6000]) {
		t.Fatal("peer data differs (fixed buffer)")
	}
}

func TestRecvMultishotBufRing(t *testing.T) {
	requireOp(t, OpRecv)
	requireKernel(t, "multishot recv with IORING_REGISTER_PBUF_RING", "6.0")
	r := newRing(t, Config{Entries: 8})
	br, err := r.NewBufRing(7, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepRecvMultishot(sock, br.Bgid(), 0)
	s.SetUserData(9)
	submit(t, r)

	var want, got []byte
	const msgs = 10 // more than the 4 buffers: recycling must work
	for i := range msgs {
		m := pattern(10+i*5, byte(i))
		want = append(want, m...)
		if _, err := peer.Write(m); err != nil {
			t.Fatal(err)
		}
		for len(got) < len(want) {
			c := reap(t, r, 1, 5*time.Second)[0]
			bid, ok := c.BufferID()
			if c.UserData != 9 || c.Res <= 0 || !ok || !c.More() {
				t.Fatalf("message %d: cqe %+v, want data in a provided buffer with F_MORE", i, c)
			}
			got = append(got, br.Buf(bid)[:c.Res]...)
			br.Recycle(bid)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes differ from the %d sent", len(got), len(want))
	}
	peer.Close()
	c := reap(t, r, 1, 5*time.Second)[0]
	if c.Res != 0 || c.More() {
		t.Fatalf("after peer close: %+v, want EOF without F_MORE", c)
	}
	if r.Inflight() != 0 {
		t.Fatalf("inflight %d", r.Inflight())
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRecvSelect(t *testing.T) {
	requireKernel(t, "IORING_REGISTER_PBUF_RING", "5.19")
	r := newRing(t, Config{Entries: 8})
	br, err := r.NewBufRing(2, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	sock, peer := tcpPair(t)
	for i, msg := range []string{"first", "second", "third"} { // 3 > 2 buffers: recycled
		s := getSQE(t, r)
		s.PrepRecvSelect(sock, br.Bgid(), 32, 0)
		submit(t, r)
		peer.Write([]byte(msg))
		c := reap(t, r, 1, 5*time.Second)[0]
		bid, ok := c.BufferID()
		if !ok || c.More() || string(br.Buf(bid)[:max(c.Res, 0)]) != msg {
			t.Fatalf("recv %d: %+v", i, c)
		}
		br.Recycle(bid)
	}
}

func TestRecvMultishotBuffersExhausted(t *testing.T) {
	requireKernel(t, "multishot recv with IORING_REGISTER_PBUF_RING", "6.0")
	r := newRing(t, Config{Entries: 8})
	br, err := r.NewBufRing(1, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepRecvMultishot(sock, br.Bgid(), 0)
	submit(t, r)
	peer.Write(make([]byte, 100)) // needs more than two 16-byte buffers
	var last CQE
	for n := 0; ; n++ {
		last = reap(t, r, 1, 5*time.Second)[0]
		if !last.More() || n > 10 {
			break
		}
	}
	if last.Err() != unix.ENOBUFS {
		t.Fatalf("last cqe %+v, want ENOBUFS without F_MORE", last)
	}
}

func TestAcceptMultishot(t *testing.T) {
	requireOp(t, OpAccept)
	requireKernel(t, "multishot accept", "5.19")
	r := newRing(t, Config{Entries: 8})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	s := getSQE(t, r)
	s.PrepAcceptMultishot(int(lf.Fd()), unix.SOCK_CLOEXEC)
	s.SetUserData(5)
	acceptID := s.ID()
	submit(t, r)
	for i := range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cqe := reap(t, r, 1, 5*time.Second)[0]
		if cqe.UserData != 5 || cqe.Res < 0 || !cqe.More() {
			t.Fatalf("accept %d: %+v", i, cqe)
		}
		// The accepted fd is the peer of c.
		c.Write([]byte{byte(i)})
		var b [1]byte
		if n, err := unix.Read(int(cqe.Res), b[:]); n != 1 || err != nil || b[0] != byte(i) {
			t.Fatalf("read accepted fd: %d %v %v", n, err, b)
		}
		unix.Close(int(cqe.Res))
	}
	s = getSQE(t, r)
	s.PrepCancel(acceptID, 0)
	s.SetUserData(6)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[5].Err() != unix.ECANCELED || m[5].More() || m[6].Res != 0 {
		t.Fatalf("cancel: accept %+v cancel %+v", m[5], m[6])
	}
}

func TestFileOps(t *testing.T) {
	requireOp(t, OpOpenat2, OpStatx, OpUnlinkat, OpRenameat, OpClose, OpWrite)
	r := newRing(t, Config{Entries: 8})
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dfd := int(d.Fd())

	open := func(name string, flags uint64) CQE {
		s := getSQE(t, r)
		how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: 0o640, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
		if err := s.PrepOpenat2(dfd, name, &how); err != nil {
			t.Fatal(err)
		}
		submit(t, r)
		return reap(t, r, 1, 5*time.Second)[0]
	}
	c := open("a.txt", unix.O_CREAT|unix.O_RDWR)
	if c.Res < 0 {
		t.Fatalf("openat2: %v", c.Err())
	}
	fd := int(c.Res)
	s := getSQE(t, r)
	s.PrepWrite(fd, []byte("hello, ring"), 0)
	s.SetFlags(FlagIOLink)
	s = getSQE(t, r)
	s.PrepClose(fd)
	submit(t, r)
	for _, c := range reap(t, r, 2, 5*time.Second) {
		if c.Res < 0 {
			t.Fatalf("write/close: %+v", c)
		}
	}
	if c := open("../escape", unix.O_CREAT|unix.O_RDWR); c.Err() != unix.EXDEV {
		t.Fatalf("openat2 ../escape with RESOLVE_BENEATH: %+v, want EXDEV", c)
	}

	var st unix.Statx_t
	s = getSQE(t, r)
	if err := s.PrepStatx(dfd, "a.txt", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &st); err != nil {
		t.Fatal(err)
	}
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 0 {
		t.Fatalf("statx: %v", c.Err())
	}
	fi, err := os.Stat(filepath.Join(dir, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if int64(st.Size) != fi.Size() || st.Mode&0o777 != uint16(fi.Mode().Perm()) || st.Ino != osIno(fi) {
		t.Fatalf("statx size %d mode %o ino %d; os.Stat size %d mode %o ino %d",
			st.Size, st.Mode, st.Ino, fi.Size(), fi.Mode().Perm(), osIno(fi))
	}

	s = getSQE(t, r)
	if err := s.PrepRenameat(dfd, "a.txt", dfd, "b.txt", 0); err != nil {
		t.Fatal(err)
	}
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 0 {
		t.Fatalf("renameat: %v", c.Err())
	}
	if _, err := os.Stat(filepath.Join(dir, "a.txt")); !os.IsNotExist(err) {
		t.Fatalf("a.txt after rename: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b.txt")); err != nil || string(b) != "hello, ring" {
		t.Fatalf("b.txt after rename: %q %v", b, err)
	}

	s = getSQE(t, r)
	if err := s.PrepUnlinkat(dfd, "b.txt", 0); err != nil {
		t.Fatal(err)
	}
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 0 {
		t.Fatalf("unlinkat: %v", c.Err())
	}
	if _, err := os.Stat(filepath.Join(dir, "b.txt")); !os.IsNotExist(err) {
		t.Fatalf("b.txt after unlink: %v", err)
	}
	s = getSQE(t, r)
	if err := s.PrepUnlinkat(dfd, "bad\x00name", 0); err != unix.EINVAL {
		t.Fatalf("path with NUL: %v", err)
	}
	submit(t, r) // the SQE stays a NOP
	reap(t, r, 1, time.Second)

	// A path too long for the scratch area is pinned instead.
	long := bytes.Repeat([]byte("x"), 200)
	name := filepath.Join(string(long), string(long), string(long))
	s = getSQE(t, r)
	if err := s.PrepUnlinkat(dfd, name, 0); err != nil {
		t.Fatal(err)
	}
	submit(t, r)
	if c := reap(t, r, 1, time.Second)[0]; c.Err() != unix.ENOENT {
		t.Fatalf("unlink of a long missing path: %+v, want ENOENT", c)
	}
}

func osIno(fi os.FileInfo) uint64 { return fi.Sys().(*syscall.Stat_t).Ino }

func TestLinkTimeoutCancelsRecv(t *testing.T) {
	requireOp(t, OpRecv, OpLinkTimeout)
	r := newRing(t, Config{Entries: 8})
	sock, _ := tcpPair(t)
	buf := make([]byte, 100)
	s := getSQE(t, r)
	s.PrepRecv(sock, buf, 0)
	s.SetFlags(FlagIOLink)
	s.SetUserData(1)
	s = getSQE(t, r)
	s.PrepLinkTimeout(50*time.Millisecond, 0)
	s.SetUserData(2)
	start := time.Now()
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[1].Err() != unix.ECANCELED || m[2].Err() != unix.ETIME {
		t.Fatalf("recv %+v (want ECANCELED), link timeout %+v (want ETIME)", m[1], m[2])
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("cancelled after %v, before the timeout", el)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	requireOp(t, OpTimeout, OpAsyncCancel, OpRecv)
	r := newRing(t, Config{Entries: 8})
	s := getSQE(t, r)
	s.PrepTimeout(20*time.Millisecond, 0, 0)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Err() != unix.ETIME {
		t.Fatalf("timeout: %+v", c)
	}
	sock, _ := tcpPair(t)
	s = getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 10), 0)
	s.SetUserData(1)
	target := s.ID()
	submit(t, r)
	s = getSQE(t, r)
	s.PrepCancel(target, 0)
	s.SetUserData(2)
	submit(t, r)
	m := byUserData(reap(t, r, 2, 5*time.Second))
	if m[1].Err() != unix.ECANCELED || m[2].Res != 0 {
		t.Fatalf("recv %+v cancel %+v", m[1], m[2])
	}
	// Every request on a descriptor.
	for i := range 2 {
		s = getSQE(t, r)
		s.PrepRecv(sock, make([]byte, 10), 0)
		s.SetUserData(uint64(10 + i))
	}
	submit(t, r)
	s = getSQE(t, r)
	s.PrepCancelFd(sock, CancelAll)
	s.SetUserData(12)
	submit(t, r)
	m = byUserData(reap(t, r, 3, 5*time.Second))
	if m[10].Err() != unix.ECANCELED || m[11].Err() != unix.ECANCELED || m[12].Res != 2 {
		t.Fatalf("cancel by fd: %+v", m)
	}
}

func TestShutdown(t *testing.T) {
	requireOp(t, OpShutdown)
	r := newRing(t, Config{Entries: 8})
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepShutdown(sock, unix.SHUT_WR)
	submit(t, r)
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res != 0 {
		t.Fatalf("shutdown: %+v", c)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := peer.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("peer read after SHUT_WR: %d %v, want EOF", n, err)
	}
}

func TestPollAdd(t *testing.T) {
	requireOp(t, OpPollAdd)
	r := newRing(t, Config{Entries: 8})
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepPollAdd(sock, unix.POLLIN, false)
	submit(t, r)
	if _, err := r.WaitCQE(20 * time.Millisecond); err != ErrTimeout {
		t.Fatalf("poll completed before data: %v", err)
	}
	peer.Write([]byte("x"))
	if c := reap(t, r, 1, 5*time.Second)[0]; c.Res&unix.POLLIN == 0 {
		t.Fatalf("poll: %+v", c)
	}
}

func TestPeekFlushesDeferredCompletions(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 10), 0)
	submit(t, r)
	peer.Write([]byte("x"))
	var c [4]CQE
	deadline := time.Now().Add(5 * time.Second)
	for r.PeekCQEs(c[:]) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("PeekCQEs never saw the completion (setup flags %#x)", r.SetupFlags())
		}
		time.Sleep(time.Millisecond)
	}
	if c[0].Res != 1 {
		t.Fatalf("recv %+v", c[0])
	}
	r.CQAdvance(1)
}

func TestEventfd(t *testing.T) {
	r := newRing(t, Config{Entries: 8})
	ev, err := NewEventfd()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := r.RegisterEventfd(ev.Fd()); err != nil {
		t.Fatal(err)
	}
	sock, peer := tcpPair(t)
	s := getSQE(t, r)
	s.PrepRecv(sock, make([]byte, 10), 0)
	s.SetUserData(3)
	submit(t, r)
	woke := make(chan error, 1)
	go func() { _, err := ev.Wait(); woke <- err }()
	select {
	case err := <-woke:
		t.Fatalf("eventfd fired before any completion: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	peer.Write([]byte("ping"))
	select {
	case err := <-woke:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("eventfd not signalled by the completion")
	}
	if c := reap(t, r, 1, time.Second)[0]; c.UserData != 3 || c.Res != 4 {
		t.Fatalf("recv %+v", c)
	}
	if err := r.UnregisterEventfd(); err != nil {
		t.Fatal(err)
	}
}

func TestIOWQ(t *testing.T) {
	requireKernel(t, "IORING_REGISTER_IOWQ_MAX_WORKERS", "5.15")
	r := newRing(t, Config{Entries: 8})
	var set unix.CPUSet
	set.Set(0)
	if err := r.RegisterIOWQAff(&set); err != nil {
		t.Fatal(err)
	}
	if err := r.UnregisterIOWQAff(); err != nil {
		t.Fatal(err)
	}
	b, u, err := r.SetIOWQMaxWorkers(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	b2, u2, err := r.SetIOWQMaxWorkers(0, 0) // 0 reads the limits back
	if err != nil {
		t.Fatal(err)
	}
	if b2 != 3 || u2 != 5 {
		t.Fatalf("limits %d/%d after setting 3/5 (were %d/%d)", b2, u2, b, u)
	}
}

func TestSQPoll(t *testing.T) {
	if err := features(t).CheckSetup(SetupSQPoll | SetupSQAff); err != nil {
		t.Skip(err)
	}
	r := newRing(t, Config{Entries: 8, SQPoll: true, SQAff: true, SQThreadCPU: 0, SQThreadIdle: 10 * time.Millisecond})
	if r.SetupFlags()&SetupSQPoll == 0 {
		t.Fatalf("flags %#x without SQPOLL", r.SetupFlags())
	}
	f := tempFile(t, nil)
	if err := r.RegisterFiles([]int{int(f.Fd())}); err != nil {
		t.Fatalf("register with SQPOLL: %v", err)
	}
	for i := range 3 {
		s := getSQE(t, r)
		s.PrepWrite(0, []byte("x"), int64(i))
		s.SetFlags(FlagFixedFile) // fixed files are how SQPOLL rings usually run
		s.SetUserData(uint64(i))
		if n, err := r.Submit(); err != nil || n != 1 {
			t.Fatalf("submit %d: %d %v", i, n, err)
		}
		if c := reap(t, r, 1, 5*time.Second)[0]; c.UserData != uint64(i) || c.Res != 1 {
			t.Fatalf("cqe %+v", c)
		}
		time.Sleep(30 * time.Millisecond) // let the poller go idle: the next Submit must wake it
	}
}

func TestSQFullAndBusy(t *testing.T) {
	r := newRing(t, Config{Entries: 4, MaxInflight: 6})
	for i := range 4 {
		getSQE(t, r).SetUserData(uint64(i))
	}
	if _, err := r.GetSQE(); err != ErrSQFull {
		t.Fatalf("5th GetSQE = %v, want ErrSQFull", err)
	}
	submit(t, r)
	getSQE(t, r)
	getSQE(t, r)
	if _, err := r.GetSQE(); err != ErrBusy {
		t.Fatalf("7th GetSQE = %v, want ErrBusy", err)
	}
	submit(t, r)
	if got := len(reap(t, r, 6, 5*time.Second)); got != 6 || r.Inflight() != 0 {
		t.Fatalf("reaped %d, inflight %d", got, r.Inflight())
	}
}

func TestCQOverflow(t *testing.T) {
	if err := features(t).CheckFeature(FeatNodrop); err != nil {
		t.Skip(err)
	}
	r := newRing(t, Config{Entries: 4, CQEntries: 4, MaxInflight: 64})
	const total = 20
	for i := range total {
		s, err := r.GetSQE()
		if err == ErrSQFull {
			submit(t, r)
			s = getSQE(t, r)
		} else if err != nil {
			t.Fatal(err)
		}
		s.PrepNop()
		s.SetUserData(uint64(i))
	}
	submit(t, r)
	if load(r.sqFlags)&sqCQOverflow == 0 {
		t.Fatalf("%d completions in a %d-entry CQ, but IORING_SQ_CQ_OVERFLOW is not set", total, r.CQEntries())
	}
	seen := map[uint64]bool{}
	for _, c := range reap(t, r, total, 5*time.Second) {
		seen[c.UserData] = true
	}
	if len(seen) != total || r.CQOverflow() != 0 || r.Inflight() != 0 {
		t.Fatalf("saw %d distinct of %d, overflow counter %d, inflight %d", len(seen), total, r.CQOverflow(), r.Inflight())
	}
	if load(r.sqFlags)&sqCQOverflow != 0 {
		t.Fatal("overflow flag still set after reaping everything")
	}
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}

// TestCloseFromOtherThread: a SINGLE_ISSUER ring closed off its owner thread cannot cancel
// its requests, so their memory is leaked on purpose instead of freed under the kernel.
func TestCloseFromOtherThread(t *testing.T) {
	features(t)
	leaked.Lock()
	before := len(leaked.rings)
	leaked.Unlock()
	sock, _ := tcpPair(t)
	ready := make(chan *Ring)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		r, err := New(Config{Entries: 8})
		if err != nil {
			t.Error(err)
			close(ready)
			return
		}
		s, _ := r.GetSQE()
		s.PrepRecv(sock, make([]byte, 100), 0)
		if _, err := r.Submit(); err != nil {
			t.Error(err)
		}
		ready <- r
	}()
	r := <-ready
	if r == nil {
		return
	}
	if r.SetupFlags()&SetupSingleIssuer == 0 {
		t.Skip("ring without SINGLE_ISSUER: Close from any thread can cancel")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := r.Close(); err == nil {
		t.Fatal("Close off the owner thread with a request in flight returned nil")
	} else {
		t.Log(err)
	}
	leaked.Lock()
	defer leaked.Unlock()
	if len(leaked.rings) != before+1 {
		t.Fatalf("%d leaked rings, want %d", len(leaked.rings), before+1)
	}
	// It stays there: dropping it would let the GC find its pinned buffers, and the runtime
	// panics on a Pinner collected while pinning.
}

func TestCloseWithRequestsInFlight(t *testing.T) {
	leaked.Lock()
	leakedBefore := len(leaked.rings)
	leaked.Unlock()
	var fdsBefore int
	for iter := range 6 {
		if iter == 1 {
			fdsBefore = openFds(t) // after the first round: the probe and test helpers are warm
		}
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			features(t)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := New(Config{Entries: 32})
			if err != nil {
				t.Fatal(err)
			}
			sock, peer := tcpPair(t)
			sock2, _ := tcpPair(t)
			for i := range 8 {
				s, _ := r.GetSQE()
				s.PrepRecv(sock, make([]byte, 4096), 0) // Go buffers, pinned until cancelled
				s.SetUserData(uint64(i))
			}
			br, err := r.NewBufRing(3, 4, 128)
			if err == nil {
				s, _ := r.GetSQE()
				s.PrepRecvMultishot(sock2, br.Bgid(), 0)
			}
			s, _ := r.GetSQE()
			s.PrepTimeout(time.Hour, 0, 0)
			s, _ = r.GetSQE()
			s.PrepSendmsg(sock, [][]byte{[]byte("x")}, 0)
			submit(t, r)
			// Some not even submitted.
			s, _ = r.GetSQE()
			s.PrepRecv(sock, make([]byte, 10), 0)
			peer.Write([]byte("a")) // and one completed but not reaped
			time.Sleep(5 * time.Millisecond)
			if r.Inflight() == 0 {
				t.Fatal("nothing in flight")
			}
			if err := r.Close(); err != nil {
				t.Fatalf("iteration %d: Close: %v", iter, err)
			}
			if r.Inflight() != 0 {
				t.Fatalf("iteration %d: %d requests still in flight", iter, r.Inflight())
			}
			if _, err := r.GetSQE(); err != ErrClosed {
				t.Fatalf("GetSQE after Close = %v", err)
			}
			if err := r.Close(); err != ErrClosed {
				t.Fatalf("second Close = %v", err)
			}
			runtime.GC()
		})
	}
	if fds := openFds(t); fds > fdsBefore {
		t.Errorf("%d descriptors open after 5 more rings, %d before", fds, fdsBefore)
	}
	leaked.Lock()
	defer leaked.Unlock()
	if len(leaked.rings) != leakedBefore {
		t.Fatalf("%d rings leaked", len(leaked.rings)-leakedBefore)
	}
}
