//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/transport/tcp/uring"
)

// The WRITE payload benchmark: how should a WRITE's payload get from the
// socket into the file? A client process streams 1 GiB; the server takes it
// in 1 MiB or 8 MiB payloads, each written at its offset of a file in
// /dev/shm (so that the disk does not decide), all on one io_uring:
//
//   - recv+pwrite: RECV with MSG_WAITALL into a new Go buffer, then pwrite(2);
//   - recv-reuse+pwrite: the same into one reused buffer: what the transport
//     (pooled message buffers) and the server's WRITE handler do;
//   - fixed: READ_FIXED from the socket into a registered buffer until the
//     payload is whole, then WRITE_FIXED to the file;
//   - fixed-lowat: the same with SO_RCVLOWAT raised to what the payload
//     lacks (the transport also links a POLL_ADD before the read, and caps
//     the mark at 1 MiB);
//   - splice: SPLICE socket -> pipe, then SPLICE pipe -> file, per piece.
//
// Measured (2 cores, kernel 6.18; medians of 5; MB/s and process CPU-s/GB), at load 4.2-4.9
// (another VM using 1.1-1.5 cores):
//
//	1 MiB: recv 1081 0.83, recv-reuse 1778 0.49, fixed 1613 0.54, fixed-lowat 1688 0.55, splice 1549 0.54
//	8 MiB: recv 1370 0.52, recv-reuse 1659 0.41, fixed 1766 0.39, fixed-lowat 1796 0.41, splice 1034 0.88
//
// at load 7.6-8.2 (two other VMs):
//
//	1 MiB: recv 783 0.83, recv-reuse 1521 0.51, fixed 1314 0.51, fixed-lowat 1241 0.53, splice 1573 0.54
//	8 MiB: recv 1210 0.57, recv-reuse 1283 0.45, fixed 1062 0.44, fixed-lowat 1218 0.44, splice 840 0.87
//
// and at load 1.9-2.4 with 1 MiB: recv-reuse 1744 0.49, fixed 1716 0.52, fixed-lowat 1607 0.53,
// splice 1685 0.54. Registered buffers gain a little at 8 MiB here, which end to end
// (BenchmarkSMBClientWrite) turns into 7% less CPU for 7% less throughput; splice falls
// behind at 8 MiB. The transport keeps RECV into pooled buffers (README, Transports).

const (
	writeTotal    = 1 << 30
	writeEnv      = "SMB3D_WRITESTREAM_CLIENT"
	writeChunkEnv = "SMB3D_WRITESTREAM_CHUNK"
)

// writeChunk is the payload size: 1 MiB, and 8 MiB (smbclient's WRITEs
// against smb3d's MaxWrite).
var writeChunk = 1 << 20

// TestWriteStreamClient is the client side of the WRITE payload benchmark.
func TestWriteStreamClient(t *testing.T) {
	addr := os.Getenv(writeEnv)
	if addr == "" {
		t.Skip("the WRITE payload benchmark's client process")
	}
	fmt.Sscan(os.Getenv(writeChunkEnv), &writeChunk)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := bytes.Repeat([]byte("smb3d-write-payload-"), writeChunk/20+1)[:writeChunk]
	for range writeTotal / writeChunk {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	var b [1]byte
	c.Read(b[:]) // wait for the server to finish
}

type writeWay func(r *uring.Ring, sock int, file int) error

func ringDo(r *uring.Ring, prep func(s uring.SQE)) (int32, error) {
	s, err := r.GetSQE()
	if err != nil {
		return 0, err
	}
	prep(s)
	if _, err := r.SubmitAndWait(1); err != nil {
		return 0, err
	}
	c, err := r.WaitCQE(-1)
	if err != nil {
		return 0, err
	}
	r.CQAdvance(1)
	if c.Res < 0 {
		return c.Res, c.Err()
	}
	return c.Res, nil
}

func recvPwrite(r *uring.Ring, sock, file int) error { return recvPwriteBuf(r, sock, file, false) }

func recvReusePwrite(r *uring.Ring, sock, file int) error { return recvPwriteBuf(r, sock, file, true) }

func recvPwriteBuf(r *uring.Ring, sock, file int, reuse bool) error {
	buf := make([]byte, writeChunk)
	for off := int64(0); off < writeTotal; off += int64(writeChunk) {
		p := buf
		if !reuse {
			p = make([]byte, writeChunk) // as the transport does: a new buffer per message
		}
		n, err := ringDo(r, func(s uring.SQE) { s.PrepRecv(sock, p, unix.MSG_WAITALL) })
		if err != nil || int(n) != writeChunk {
			return fmt.Errorf("recv: %d %v", n, err)
		}
		if _, err := unix.Pwrite(file, p, off); err != nil {
			return err
		}
	}
	return nil
}

func fixedBufs(r *uring.Ring, sock, file int) error { return fixedBufsLowat(r, sock, file, false) }

// fixedLowat: as fixed, with SO_RCVLOWAT raised to what the payload still
// lacks before each READ_FIXED (and lowered again after it), so that the
// read completes when the payload is whole rather than on each segment
// (the kernel caps the mark at half of tcp_rmem's maximum).
func fixedLowat(r *uring.Ring, sock, file int) error { return fixedBufsLowat(r, sock, file, true) }

// readsPerPayload counts the READ_FIXED completions of the last fixed run.
var readsPerPayload float64

func fixedBufsLowat(r *uring.Ring, sock, file int, lowat bool) error {
	reads := 0
	defer func() { readsPerPayload = float64(reads) / float64(writeTotal/writeChunk) }()
	buf, err := uring.Mmap(writeChunk)
	if err != nil {
		return err
	}
	defer uring.Munmap(buf)
	if err := r.RegisterBuffers([][]byte{buf}); err != nil {
		return err
	}
	defer r.UnregisterBuffers()
	for off := int64(0); off < writeTotal; off += int64(writeChunk) {
		for have := 0; have < writeChunk; {
			if lowat {
				if err := unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_RCVLOWAT, writeChunk-have); err != nil {
					return err
				}
			}
			reads++
			n, err := ringDo(r, func(s uring.SQE) { s.PrepReadFixed(sock, buf[have:], -1, 0) })
			if err != nil || n <= 0 {
				return fmt.Errorf("read_fixed: %d %v", n, err)
			}
			have += int(n)
		}
		if lowat {
			unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
		}
		n, err := ringDo(r, func(s uring.SQE) { s.PrepWriteFixed(file, buf, off, 0) })
		if err != nil || int(n) != writeChunk {
			return fmt.Errorf("write_fixed: %d %v", n, err)
		}
	}
	return nil
}

func spliceWay(r *uring.Ring, sock, file int) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, writeChunk)
	for off := int64(0); off < writeTotal; {
		k, err := ringDo(r, func(s uring.SQE) { s.PrepSplice(sock, -1, p[1], -1, writeChunk, unix.SPLICE_F_MOVE) })
		if err != nil || k <= 0 {
			return fmt.Errorf("splice in: %d %v", k, err)
		}
		for left := k; left > 0; {
			n, err := ringDo(r, func(s uring.SQE) { s.PrepSplice(p[0], -1, file, off, int(left), unix.SPLICE_F_MOVE) })
			if err != nil || n <= 0 {
				return fmt.Errorf("splice out: %d %v", n, err)
			}
			left -= n
			off += int64(n)
		}
	}
	return nil
}

// writeOnce serves one client with way and returns wall and CPU time.
func writeOnce(b *testing.B, way writeWay) (time.Duration, time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteStreamClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), writeEnv+"="+ln.Addr().String(), fmt.Sprintf("%s=%d", writeChunkEnv, writeChunk))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	sock, err := takeFd(nc.(*net.TCPConn))
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(sock)
	dir, err := os.MkdirTemp("/dev/shm", "smb3d-write")
	if err != nil {
		b.Skip("no /dev/shm")
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(dir + "/f")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	file := int(f.Fd())
	errc := make(chan error, 1)
	var wall, cpu time.Duration
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := uring.New(uring.Config{Entries: 16})
		if err != nil {
			errc <- err
			return
		}
		defer r.Close()
		t0, c0 := time.Now(), processCPU()
		err = way(r, sock, file)
		wall, cpu = time.Since(t0), processCPU()-c0
		errc <- err
	}()
	if err := <-errc; err != nil {
		if errors.Is(err, uring.ErrNotSupported) {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	unix.Shutdown(sock, unix.SHUT_RDWR)
	cmd.Wait()
	return wall, cpu
}

// BenchmarkWritePayload compares the ways back to back in each iteration
// (-benchtime=5x), for 1 MiB and 8 MiB payloads; medians and ratios to
// recv+pwrite.
func BenchmarkWritePayload(b *testing.B) {
	for _, chunk := range []int{1 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("%dMiB", chunk>>20), func(b *testing.B) {
			writeChunk = chunk
			benchWritePayload(b)
		})
	}
}

func benchWritePayload(b *testing.B) {
	ways := []struct {
		name string
		way  writeWay
	}{{"recv+pwrite", recvPwrite}, {"recv-reuse+pwrite", recvReusePwrite}, {"fixed", fixedBufs}, {"fixed-lowat", fixedLowat}, {"splice", spliceWay}}
	reads := make([][]float64, len(ways))
	mbs := make([][]float64, len(ways))
	cpus := make([][]float64, len(ways))
	for b.Loop() {
		for i, w := range ways {
			readsPerPayload = 0
			wall, cpu := writeOnce(b, w.way)
			reads[i] = append(reads[i], readsPerPayload)
			gb := float64(writeTotal) / 1e9
			mbs[i] = append(mbs[i], gb*1e3/wall.Seconds())
			cpus[i] = append(cpus[i], cpu.Seconds()/gb)
		}
	}
	med := func(x []float64) float64 {
		s := append([]float64(nil), x...)
		for i := range s {
			for j := i + 1; j < len(s); j++ {
				if s[j] < s[i] {
					s[i], s[j] = s[j], s[i]
				}
			}
		}
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	base, baseCPU := med(mbs[0]), med(cpus[0])
	for i, w := range ways {
		m, c := med(mbs[i]), med(cpus[i])
		b.ReportMetric(m, w.name+"-MB/s")
		b.ReportMetric(c, w.name+"-cpu-s/GB")
		if i > 0 {
			b.ReportMetric(m/base, w.name+"/recv+pwrite-MB/s")
			b.ReportMetric(c/baseCPU, w.name+"/recv+pwrite-cpu")
		}
		b.Logf("%-17s MB/s %.0f  cpu-s/GB %.2f  reads/payload %.1f", w.name, mbs[i], cpus[i], reads[i])
	}
}
