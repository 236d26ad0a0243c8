//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const benchSize = 64 << 20

// drain reads from c until closed, reporting on done each time benchSize more bytes
// arrived, with the CPU time its own (locked) thread used for them.
func drain(c net.Conn, done chan<- time.Duration) {
	runtime.LockOSThread()
	buf := make([]byte, 1<<20)
	var n int
	last := threadCPU()
	for {
		k, err := c.Read(buf)
		n += k
		for n >= benchSize {
			n -= benchSize
			now := threadCPU()
			done <- now - last
			last = now
		}
		if err != nil {
			close(done)
			return
		}
	}
}

// cpuTime is user+sys of the whole process: sender, receiver and io-wq workers.
func cpuTime() time.Duration { return rusage(unix.RUSAGE_SELF) }

// threadCPU is user+sys of the calling thread.
func threadCPU() time.Duration { return rusage(unix.RUSAGE_THREAD) }

func rusage(who int) time.Duration {
	var ru unix.Rusage
	unix.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchFile is a 64 MiB temp file, read once so that it is in the page cache.
func benchFile(b *testing.B) *os.File {
	f := tempFile(b, pattern(benchSize, 9))
	if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, benchSize)); err != nil {
		b.Fatal(err)
	}
	return f
}

// sender sends the 64 MiB file once per call, returning when the peer has all of it, with
// the CPU time the receiving thread spent.
type sender func() time.Duration

func goConnPair(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

// goReadWrite: os.File.ReadAt + net.Conn.Write through a 256 KiB buffer.
func goReadWrite(b *testing.B, f *os.File) sender {
	c, peer := goConnPair(b)
	done := make(chan time.Duration, 1)
	go drain(peer, done)
	buf := make([]byte, 256<<10)
	return func() time.Duration {
		for off := int64(0); off < benchSize; {
			n, err := f.ReadAt(buf, off)
			if n == 0 && err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(buf[:n]); err != nil {
				b.Fatal(err)
			}
			off += int64(n)
		}
		return <-done
	}
}

// goSendfile: io.Copy from the file, which net.TCPConn.ReadFrom turns into sendfile(2).
func goSendfile(b *testing.B, f *os.File) sender {
	c, peer := goConnPair(b)
	done := make(chan time.Duration, 1)
	go drain(peer, done)
	return func() time.Duration {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(c, io.LimitReader(f, benchSize)); err != nil {
			b.Fatal(err)
		}
		return <-done
	}
}

// ringSplice: IORING_OP_SPLICE file -> pipe -> socket in linked 1 MiB pairs. The ring must
// already exist on the calling (locked) goroutine.
func ringSplice(b *testing.B, r *Ring, f *os.File) sender {
	sock, peer := tcpPair(b)
	prd, pwr := newPipe(b)
	done := make(chan time.Duration, 1)
	go drain(peer, done)
	const chunk = 1 << 20
	var cqes [4]CQE
	return func() time.Duration {
		for off := 0; off < benchSize; {
			n := min(benchSize-off, chunk)
			spliceFile(b, r, int(f.Fd()), int64(off), n, prd, pwr, sock)
			if _, err := r.SubmitAndWait(2); err != nil {
				b.Fatal(err)
			}
			var in, out int32
			for got := 0; got < 2; {
				if err := r.WaitCQEs(1, -1); err != nil {
					b.Fatal(err)
				}
				k := r.PeekCQEs(cqes[:])
				for _, c := range cqes[:k] {
					switch {
					case c.UserData == 1 && c.Res > 0:
						in = c.Res
					case c.UserData == 2 && c.Res > 0:
						out = c.Res
					case c.UserData == 1 || c.Res != -int32(unix.ECANCELED):
						b.Fatalf("splice %+v", c)
					}
				}
				r.CQAdvance(k)
				got += k
			}
			for out < in { // a short file->pipe splice cancels the linked send
				s := getSQE(b, r)
				s.PrepSplice(prd, -1, sock, -1, int(in-out), unix.SPLICE_F_MOVE)
				if _, err := r.SubmitAndWait(1); err != nil {
					b.Fatal(err)
				}
				c, _ := r.WaitCQE(-1)
				r.CQAdvance(1)
				if c.Res <= 0 {
					b.Fatalf("splice pipe->socket %+v", c)
				}
				out += c.Res
			}
			off += int(in)
		}
		return <-done
	}
}

// syncSplice: splice(2) file -> pipe -> socket from the goroutine, 1 MiB at a time: the
// same data path as ringSplice without io_uring, to separate the ring's cost.
func syncSplice(b *testing.B, f *os.File) sender {
	sock, peer := tcpPair(b)
	prd, pwr := newPipe(b)
	done := make(chan time.Duration, 1)
	go drain(peer, done)
	return func() time.Duration {
		for off := int64(0); off < benchSize; {
			in, err := unix.Splice(int(f.Fd()), &off, pwr, nil, min(benchSize-int(off), 1<<20), unix.SPLICE_F_MOVE)
			if err != nil || in == 0 {
				b.Fatal(in, err)
			}
			for in > 0 {
				out, err := unix.Splice(prd, nil, sock, nil, int(in), unix.SPLICE_F_MOVE)
				if err != nil {
					b.Fatal(err)
				}
				in -= out
			}
		}
		return <-done
	}
}

// ringReadSendZC: IORING_OP_READ_FIXED of 1 MiB from the file into a registered buffer,
// linked to IORING_OP_SEND_ZC of it (MSG_WAITALL, so the ring finishes short sends); the
// next chunk goes to the other buffer while the kernel may still hold this one. A
// page-cache read and a socket send both complete inline, without io-wq.
func ringReadSendZC(b *testing.B, r *Ring, f *os.File) sender {
	sock, peer := tcpPair(b)
	done := make(chan time.Duration, 1)
	go drain(peer, done)
	const chunk = 1 << 20
	mem, err := Mmap(2 * chunk)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { Munmap(mem) })
	bufs := [][]byte{mem[:chunk], mem[chunk:]}
	if err := r.RegisterBuffers(bufs); err != nil {
		b.Fatal(err)
	}
	var cqes [8]CQE
	busy := [2]bool{} // buffer i awaits its SEND_ZC notification
	reapOne := func() {
		if err := r.WaitCQEs(1, -1); err != nil {
			b.Fatal(err)
		}
		k := r.PeekCQEs(cqes[:])
		for _, c := range cqes[:k] {
			switch {
			case c.Notif():
				busy[c.UserData&1] = false
			case c.Res < 0:
				b.Fatalf("read/send_zc %+v", c)
			}
		}
		r.CQAdvance(k)
	}
	return func() time.Duration {
		for off, i := 0, 0; off < benchSize; off, i = off+chunk, i^1 {
			for busy[i] {
				reapOne()
			}
			n := min(benchSize-off, chunk)
			s := getSQE(b, r)
			s.PrepReadFixed(int(f.Fd()), bufs[i][:n], int64(off), uint16(i))
			s.SetFlags(FlagIOLink | FlagCQESkipSuccess)
			s = getSQE(b, r)
			s.PrepSendZCFixed(sock, bufs[i][:n], unix.MSG_WAITALL, 0, uint16(i))
			s.SetUserData(uint64(i))
			busy[i] = true
			if _, err := r.Submit(); err != nil {
				b.Fatal(err)
			}
		}
		for busy[0] || busy[1] {
			reapOne()
		}
		return <-done
	}
}

type tally struct {
	wall, cpu, recv time.Duration
	n               int
}

func (t *tally) run(send sender) {
	w, c := time.Now(), cpuTime()
	t.recv += send()
	t.wall += time.Since(w)
	t.cpu += cpuTime() - c
	t.n++
}

func (t *tally) mbps() float64 { return float64(t.n) * benchSize / 1e6 / t.wall.Seconds() }

func (t *tally) gb() float64 { return float64(t.n) * benchSize / 1e9 }

func (t *tally) cpuPerGB() float64 { return t.cpu.Seconds() / t.gb() }

// sendCPUPerGB leaves out the receiving thread: the sender's own cost, with io-wq workers
// and the loopback softirq work done in its context.
func (t *tally) sendCPUPerGB() float64 { return (t.cpu - t.recv).Seconds() / t.gb() }

func (t *tally) report(b *testing.B, name string) {
	b.ReportMetric(t.mbps(), name+"-MB/s")
	b.ReportMetric(t.cpuPerGB(), name+"-cpu-s/GB")
	b.ReportMetric(t.sendCPUPerGB(), name+"-send-cpu-s/GB")
}

// BenchmarkFileToSocket sends 64 MiB from a page-cached file to a loopback TCP socket
// per iteration. go-read-write (os.File.ReadAt + net.Conn.Write, 256 KiB buffer) and
// ring-splice (linked IORING_OP_SPLICE file -> pipe -> socket, 1 MiB chunks) run
// alternately in the same loop so that both see the same machine load; go-sendfile
// (io.Copy, i.e. sendfile(2)) and sync-splice (splice(2) calls from the goroutine) are
// references for what the splice path can reach without io_uring; ring-read-sendzc
// (READ_FIXED into a registered buffer linked to SEND_ZC from it) is the ring's other way
// to send a file, with one copy but no io-wq handoffs.
// Reported: MB/s and CPU seconds (user+sys from getrusage, whole process: receiver and
// io-wq workers included) per GB for each, the same without the receiving thread
// (send-cpu), and the ring/go ratios.
func BenchmarkFileToSocket(b *testing.B) {
	requireOp(b, OpSplice)
	f := benchFile(b)
	r := newRing(b, Config{Entries: 16})
	peers := []struct {
		name string
		send sender
		t    tally
	}{
		{name: "go-read-write", send: goReadWrite(b, f)},
		{name: "ring-splice", send: ringSplice(b, r, f)},
		{name: "ring-read-sendzc", send: ringReadSendZC(b, r, f)},
		{name: "go-sendfile", send: goSendfile(b, f)},
		{name: "sync-splice", send: syncSplice(b, f)},
	}
	b.SetBytes(int64(len(peers)) * benchSize)
	b.ReportAllocs()
	for b.Loop() {
		for i := range peers {
			peers[i].t.run(peers[i].send)
		}
	}
	for i := range peers {
		peers[i].t.report(b, peers[i].name)
	}
	g, rs := &peers[0].t, &peers[1].t
	b.ReportMetric(rs.mbps()/g.mbps(), "ring/go-throughput")
	b.ReportMetric(rs.cpuPerGB()/g.cpuPerGB(), "ring/go-cpu")
	b.ReportMetric(rs.sendCPUPerGB()/g.sendCPUPerGB(), "ring/go-send-cpu")
}

// BenchmarkNop is the ring's fixed cost: batches of 32 NOPs submitted and reaped with
// one io_uring_enter, reported per NOP.
func BenchmarkNop(b *testing.B) {
	r := newRing(b, Config{Entries: 64})
	cqes := make([]CQE, 32)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range 32 {
			s, _ := r.GetSQE()
			s.PrepNop()
		}
		if _, err := r.SubmitAndWait(32); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < 32; {
			k := r.PeekCQEs(cqes)
			r.CQAdvance(k)
			got += k
		}
		n += 32
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/nop")
}
