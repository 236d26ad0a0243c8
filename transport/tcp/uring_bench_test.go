//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/transport"
)

// The READ stream benchmark: a client process (this test binary, re-run as
// TestReadStreamClient) asks for 1 MiB ranges of a 64 MiB page-cached file,
// 8 requests in flight, until it has 1 GiB; the server answers each request
// the way smb3/server's READ handler does (a goroutine per request, an
// 80-byte header then the data): pread into a new buffer and WriteMessage,
// or SendFile. The client is another process, so getrusage(RUSAGE_SELF) is
// the server's CPU: transport, goroutines and io-wq workers.

const (
	streamFileSize = 64 << 20
	streamTotal    = 1 << 30
	streamChunk    = 1 << 20
	streamDepth    = 8
	clientEnv      = "SMB3D_READSTREAM_CLIENT"
)

// TestReadStreamClient is the client side of the READ stream benchmark; it
// does nothing unless run by it.
func TestReadStreamClient(t *testing.T) {
	addr := os.Getenv(clientEnv)
	if addr == "" {
		t.Skip("the READ stream benchmark's client process")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wmu sync.Mutex
	send := func(off int64) error {
		var m [16]byte
		binary.BigEndian.PutUint32(m[:], 12)
		binary.LittleEndian.PutUint64(m[4:], uint64(off))
		binary.LittleEndian.PutUint32(m[12:], streamChunk)
		wmu.Lock()
		defer wmu.Unlock()
		_, err := c.Write(m[:])
		return err
	}
	n := streamTotal / streamChunk
	next := 0
	for ; next < streamDepth; next++ {
		send(int64(next%(streamFileSize/streamChunk)) * streamChunk)
	}
	buf := make([]byte, 80+streamChunk)
	r := newBufReader(c)
	for got := 0; got < n; got++ {
		var h [4]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatal(err)
		}
		size := int(binary.BigEndian.Uint32(h[:]))
		if size != len(buf) {
			t.Fatalf("response of %d bytes", size)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		if next < n {
			send(int64(next%(streamFileSize/streamChunk)) * streamChunk)
			next++
		}
	}
}

type bufReader struct {
	c   net.Conn
	buf []byte
	r   int
	w   int
}

func newBufReader(c net.Conn) *bufReader { return &bufReader{c: c, buf: make([]byte, 4<<20)} }

// Read reads big requests straight from the socket, small ones from the buffer.
func (b *bufReader) Read(p []byte) (int, error) {
	if b.r == b.w {
		if len(p) >= len(b.buf) {
			return b.c.Read(p)
		}
		n, err := b.c.Read(b.buf)
		if n == 0 {
			return 0, err
		}
		b.r, b.w = 0, n
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

type streamResult struct {
	wall, cpu time.Duration
}

// streamOnce runs one client process against l and serves it.
func streamOnce(b *testing.B, l transport.Listener, f *os.File, splice bool) streamResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadStreamClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), clientEnv+"="+l.Addr().String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	fs, _ := c.(transport.FileSender)
	if splice && fs == nil {
		b.Fatal("no SendFile")
	}
	var start time.Time
	var cpu0 time.Duration
	var wg sync.WaitGroup
	var failed error
	var fmu sync.Mutex
	for first := true; ; first = false {
		m, err := c.ReadMessage()
		if first {
			start, cpu0 = time.Now(), processCPU()
		}
		if err != nil {
			break
		}
		off := int64(binary.LittleEndian.Uint64(m))
		n := int(binary.LittleEndian.Uint32(m[8:]))
		wg.Go(func() {
			var err error
			if splice {
				hdr := make([]byte, 80)
				err = fs.SendFile(hdr, int(f.Fd()), off, n)
			} else {
				out := make([]byte, 80+n) // as the server's READ handler does
				if _, err = f.ReadAt(out[80:], off); err == nil {
					err = c.WriteMessage(out)
				}
			}
			if err != nil {
				fmu.Lock()
				failed = err
				fmu.Unlock()
			}
		})
	}
	wg.Wait()
	res := streamResult{wall: time.Since(start), cpu: processCPU() - cpu0}
	c.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("client: %v\n%s", err, out.Bytes())
	}
	if failed != nil {
		b.Fatal(failed)
	}
	return res
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func streamFile(b *testing.B) *os.File {
	f, err := os.CreateTemp(b.TempDir(), "stream")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	buf := make([]byte, streamFileSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	if _, err := f.Write(buf); err != nil {
		b.Fatal(err)
	}
	f.Sync()
	return f
}

type streamVariant struct {
	name   string
	cfg    *URingConfig // nil: netpoller
	splice bool
}

var streamVariants = []streamVariant{
	{"netpoll", nil, false},
	{"uring", &URingConfig{}, false},
	{"uring-splice", &URingConfig{}, true},
	{"uring-ringonly", &URingConfig{NoDirectSend: true}, false},
}

func (v streamVariant) listen(b *testing.B) transport.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if v.cfg == nil {
		return NewListener(ln)
	}
	l, err := NewURingListener(ln, *v.cfg)
	if err != nil {
		b.Skipf("io_uring: %v", err)
	}
	return l
}

// BenchmarkReadStream streams 1 GiB of READ responses per iteration through
// each transport; it reports MB/s and server CPU seconds per GB.
func BenchmarkReadStream(b *testing.B) {
	f := streamFile(b)
	for _, v := range streamVariants {
		b.Run(v.name, func(b *testing.B) {
			l := v.listen(b)
			defer l.Close()
			var wall, cpu time.Duration
			for b.Loop() {
				r := streamOnce(b, l, f, v.splice)
				wall += r.wall
				cpu += r.cpu
			}
			gb := float64(b.N) * streamTotal / 1e9
			b.ReportMetric(gb*1e3/wall.Seconds(), "MB/s")
			b.ReportMetric(cpu.Seconds()/gb, "cpu-s/GB")
		})
	}
}

// BenchmarkReadStreamCompare runs the transports back to back in each
// iteration (run it with -benchtime=5x or more) and reports medians, and
// ratios of the medians to the netpoller's: on a shared, noisy machine only
// side-by-side figures compare.
func BenchmarkReadStreamCompare(b *testing.B) {
	f := streamFile(b)
	ls := make([]transport.Listener, len(streamVariants))
	for i, v := range streamVariants {
		ls[i] = v.listen(b)
		defer ls[i].Close()
	}
	mbs := make([][]float64, len(streamVariants))
	cpus := make([][]float64, len(streamVariants))
	for b.Loop() {
		for i, v := range streamVariants {
			r := streamOnce(b, ls[i], f, v.splice)
			gb := float64(streamTotal) / 1e9
			mbs[i] = append(mbs[i], gb*1e3/r.wall.Seconds())
			cpus[i] = append(cpus[i], r.cpu.Seconds()/gb)
		}
	}
	med := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	base, baseCPU := med(mbs[0]), med(cpus[0])
	for i, v := range streamVariants {
		m, c := med(mbs[i]), med(cpus[i])
		b.ReportMetric(m, v.name+"-MB/s")
		b.ReportMetric(c, v.name+"-cpu-s/GB")
		if i > 0 {
			b.ReportMetric(m/base, v.name+"/netpoll-MB/s")
			b.ReportMetric(c/baseCPU, v.name+"/netpoll-cpu")
		}
		b.Logf("%-13s MB/s %s  cpu-s/GB %s", v.name, fmtAll(mbs[i]), fmtAll(cpus[i]))
	}
}

func fmtAll(x []float64) string {
	s := ""
	for _, v := range x {
		s += strconv.FormatFloat(v, 'f', 2, 64) + " "
	}
	return fmt.Sprintf("[%s]", s)
}
