// Command smb3bench is a load generator for SMB 3.1.1 servers built on
// smb3/client: it binds N channels of one session over the given
// addresses (multichannel), keeps many requests in flight, and runs one
// workload, reporting MB/s, IOPS, latency percentiles and its own CPU.
//
//	smb3bench -addr 127.0.0.1:4455[,ADDR2...] -user U -pass P -share S \
//	    -channels 4 -depth 16 -op seqread -bs 1M -size 1G [-sign] [-encrypt] [-rdma] [-csv out.csv]
//
// With -rdma the channels are SMB-Direct connections (addresses are RDMA
// addresses, port 5445 by default; build with -tags rdma): READ and WRITE
// data above 4 KiB goes by RDMA into buffers each channel registers. A -bs
// above what one request may move (the server's MaxRead/MaxWrite, or over
// SMB-Direct the registered buffer size, 1 MiB, or the server's
// MaxReadWriteSize) is split into requests of that size, issued one after
// the other by the block's worker.
//
// Ops: seqread, seqwrite, randread (bs-sized reads at random aligned
// offsets), create, stat, list, delete (on -files files in -dir), and tcp:
// raw loopback TCP throughput in Go between two goroutines of this process
// (the ceiling for SMB over loopback; -channels connections).
package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"smb3d/smb3/client"
	"smb3d/smb3/wire"
)

type options struct {
	addrs         []string
	user, pass    string
	domain        string
	share         string
	channels      int
	depth         int
	op            string
	bs            int
	size          int64
	files         int
	dir, file     string
	sign, encrypt bool
	duration      time.Duration
	progress      time.Duration
	csvPath       string
	label         string
	credits       int
	quiet         bool
	rdma          bool
	rdmaBuf       int
	chunk         int // bytes per READ/WRITE request (a block is split when bs is larger)
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mul := int64(1)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	switch {
	case strings.HasSuffix(s, "K"):
		mul, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mul, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mul, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mul, nil
}

// result is one run's measurements.
type result struct {
	bytes    int64
	ops      int64
	errs     int64
	elapsed  time.Duration
	lat      []time.Duration
	cpu      time.Duration
	firstErr error
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	var o options
	var addrs, bs, size string
	flag.StringVar(&addrs, "addr", "127.0.0.1:445", "server address(es) host:port, comma separated; channels are spread over them")
	flag.StringVar(&o.user, "user", "", "user name")
	flag.StringVar(&o.pass, "pass", "", "password")
	flag.StringVar(&o.domain, "domain", "", "NTLM domain")
	flag.StringVar(&o.share, "share", "share", "share name")
	flag.IntVar(&o.channels, "channels", 1, "TCP connections bound to the session (multichannel when > 1)")
	flag.IntVar(&o.depth, "depth", 16, "requests in flight in total (workers), spread round robin over the channels")
	flag.StringVar(&o.op, "op", "seqread", "seqread|seqwrite|randread|create|stat|list|delete|tcp")
	flag.StringVar(&bs, "bs", "1M", "I/O block size (K, M, G suffixes)")
	flag.StringVar(&size, "size", "1G", "file size for seqread/seqwrite/randread, bytes to move for tcp")
	flag.IntVar(&o.files, "files", 10000, "files for create/stat/delete")
	flag.StringVar(&o.dir, "dir", "bench.d", "directory (relative to the share) for create/stat/list/delete")
	flag.StringVar(&o.file, "file", "bench.dat", "file (relative to the share) for the I/O ops")
	flag.BoolVar(&o.sign, "sign", false, "sign every request")
	flag.BoolVar(&o.encrypt, "encrypt", false, "encrypt every request")
	flag.DurationVar(&o.duration, "duration", 0, "run time: the I/O ops loop over the file and list repeats until it ends (randread default: size/bs reads)")
	flag.DurationVar(&o.progress, "progress", 2*time.Second, "progress line interval on stderr (0: none)")
	flag.StringVar(&o.csvPath, "csv", "", "append a CSV row to this file (header written when it is new)")
	flag.StringVar(&o.label, "label", "", "label for the CSV row (e.g. the server's name)")
	flag.IntVar(&o.credits, "credits", 1024, "credits to hold per channel")
	flag.BoolVar(&o.quiet, "q", false, "no result line on stdout")
	flag.BoolVar(&o.rdma, "rdma", false, "connect by SMB-Direct (needs -tags rdma and an RDMA device); -addr are RDMA addresses")
	var rdmaBuf string
	flag.StringVar(&rdmaBuf, "rdma-buf", "1M", "with -rdma: registered buffer per READ/WRITE in flight (bounds the request size)")
	flag.Parse()
	o.addrs = strings.Split(addrs, ",")
	b, err := parseSize(bs)
	if err != nil || b <= 0 || b > 64<<20 {
		fatalf("-bs: %v", err)
	}
	o.bs = int(b)
	rb, err := parseSize(rdmaBuf)
	if err != nil || rb < 4096 {
		fatalf("-rdma-buf: %v", err)
	}
	o.rdmaBuf = int(rb)
	if o.size, err = parseSize(size); err != nil {
		fatalf("-size: %v", err)
	}
	if o.depth < 1 || o.channels < 1 {
		fatalf("-depth and -channels must be at least 1")
	}
	var res *result
	if o.op == "tcp" {
		res, err = runTCP(&o)
	} else {
		res, err = runSMB(&o)
	}
	if err != nil {
		fatalf("%s: %v", o.op, err)
	}
	report(&o, res)
	if res.errs > 0 {
		fmt.Fprintf(os.Stderr, "smb3bench: %d operations failed, first: %v\n", res.errs, res.firstErr)
		os.Exit(1)
	}
}

func fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "smb3bench: "+f+"\n", a...)
	os.Exit(1)
}

func runSMB(o *options) (*result, error) {
	ctx := context.Background()
	s, err := client.Dial(ctx, o.addrs[0], client.Config{User: o.user, Password: o.pass, Domain: o.domain,
		Sign: o.sign, Encrypt: o.encrypt, Credits: o.credits,
		RDMA: o.rdma, RDMABuffers: max(4, o.depth/o.channels+2), RDMABufferSize: o.rdmaBuf})
	if err != nil {
		return nil, err
	}
	defer func() {
		s.Logoff()
		s.Close()
	}()
	for i := 1; i < o.channels; i++ {
		if err := s.Bind(ctx, o.addrs[i%len(o.addrs)]); err != nil {
			return nil, err
		}
	}
	t, err := s.TreeConnect(o.share)
	if err != nil {
		return nil, err
	}
	o.chunk = o.bs
	if o.op == "seqwrite" {
		o.chunk = min(o.bs, s.MaxWrite())
	} else if o.op == "seqread" || o.op == "randread" {
		o.chunk = min(o.bs, s.MaxRead())
	}
	if o.chunk < o.bs {
		fmt.Fprintf(os.Stderr, "smb3bench: -bs %d is above what one request moves here (%d): each block is %d requests\n",
			o.bs, o.chunk, (o.bs+o.chunk-1)/o.chunk)
	}
	switch o.op {
	case "seqread", "randread", "seqwrite":
		return runIO(o, s, t)
	case "create", "stat", "delete":
		return runMeta(o, t)
	case "list":
		return runList(o, t)
	}
	return nil, fmt.Errorf("unknown -op %q", o.op)
}

// prepare makes sure the file holds at least o.size bytes (not timed).
func prepare(o *options, t *client.Tree) error {
	if fi, err := t.Stat(o.file); err == nil && fi.Size >= o.size {
		return nil
	}
	f, err := t.OpenWrite(o.file)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, o.bs)
	rand.Read(buf)
	var next atomic.Int64
	var wg sync.WaitGroup
	var ferr atomic.Value
	for w := 0; w < o.depth; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				off := next.Add(int64(o.bs)) - int64(o.bs)
				if off >= o.size {
					return
				}
				n := min(int64(o.bs), o.size-off)
				if _, err := writeBlock(f, buf[:n], off, o.chunk); err != nil {
					ferr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e, ok := ferr.Load().(error); ok {
		return e
	}
	return nil
}

// workers runs fn in o.depth goroutines until it returns false, timing
// each call and printing progress.
func workers(o *options, fn func(w int, buf []byte) (bytes int64, more bool, err error)) *result {
	res := &result{}
	var bytesDone, opsDone, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, o.depth)
	stop := make(chan struct{})
	if o.progress > 0 {
		go func() {
			t0 := time.Now()
			tk := time.NewTicker(o.progress)
			defer tk.Stop()
			var lastB, lastO int64
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					b, n := bytesDone.Load(), opsDone.Load()
					sec := o.progress.Seconds()
					fmt.Fprintf(os.Stderr, "smb3bench: %s %6.1fs  %8.1f MB/s  %8.0f IOPS  (%d ops, %d MB)\n", o.op,
						time.Since(t0).Seconds(), float64(b-lastB)/1e6/sec, float64(n-lastO)/sec, n, b/1e6)
					lastB, lastO = b, n
				}
			}
		}()
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.depth; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, o.bs)
			rand.Read(buf)
			l := make([]time.Duration, 0, 1024)
			for {
				s := time.Now()
				n, more, err := fn(w, buf)
				if !more && err == nil && n == 0 {
					break
				}
				l = append(l, time.Since(s))
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err)
					}
					if errors.Is(err, client.ErrClosed) {
						break
					}
				} else {
					bytesDone.Add(n)
					opsDone.Add(1)
				}
				if !more {
					break
				}
			}
			lats[w] = l
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	res.cpu = cpuTime() - cpu0
	close(stop)
	res.bytes, res.ops, res.errs = bytesDone.Load(), opsDone.Load(), errs.Load()
	if e, ok := firstErr.Load().(error); ok {
		res.firstErr = e
	}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	return res
}

func runIO(o *options, s *client.Session, t *client.Tree) (*result, error) {
	var f *client.File
	var err error
	if o.op == "seqwrite" {
		f, err = t.OpenWrite(o.file)
	} else {
		if err = prepare(o, t); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", o.file, err)
		}
		f, err = t.OpenRead(o.file)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blocks := o.size / int64(o.bs)
	if blocks == 0 {
		return nil, errors.New("-size below -bs")
	}
	var deadline time.Time
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}
	var next atomic.Int64
	return workers(o, func(w int, buf []byte) (int64, bool, error) {
		i := next.Add(1) - 1
		if deadline.IsZero() && i >= blocks || !deadline.IsZero() && time.Now().After(deadline) {
			return 0, false, nil
		}
		var off int64
		if o.op == "randread" {
			off = mrand.Int64N(blocks) * int64(o.bs)
		} else {
			off = (i % blocks) * int64(o.bs)
		}
		var n int
		var err error
		if o.op == "seqwrite" {
			n, err = writeBlock(f, buf, off, o.chunk)
		} else {
			n, err = readBlock(f, buf, off, o.chunk)
			if err == io.EOF {
				err = fmt.Errorf("read at %d: unexpected EOF", off)
			}
		}
		return int64(n), true, err
	}), nil
}

// writeBlock writes p at off in requests of at most chunk bytes.
func writeBlock(f *client.File, p []byte, off int64, chunk int) (int, error) {
	done := 0
	for done < len(p) {
		n, err := f.WriteAt(p[done:min(len(p), done+chunk)], off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.ErrShortWrite
		}
	}
	return done, nil
}

// readBlock fills p from off in requests of at most chunk bytes.
func readBlock(f *client.File, p []byte, off int64, chunk int) (int, error) {
	done := 0
	for done < len(p) {
		n, err := f.ReadAt(p[done:min(len(p), done+chunk)], off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func runMeta(o *options, t *client.Tree) (*result, error) {
	if o.op == "create" {
		if err := t.Mkdir(o.dir); err != nil && !client.IsStatus(err, wire.StatusObjectNameCollision) {
			return nil, fmt.Errorf("mkdir %s: %w", o.dir, err)
		}
	}
	var next atomic.Int64
	return workers(o, func(w int, buf []byte) (int64, bool, error) {
		i := next.Add(1) - 1
		if i >= int64(o.files) {
			return 0, false, nil
		}
		name := fmt.Sprintf(`%s\f%06d`, o.dir, i)
		var err error
		switch o.op {
		case "create":
			err = t.Touch(name)
		case "stat":
			_, err = t.Stat(name)
		case "delete":
			err = t.Remove(name)
		}
		return 0, true, err
	}), nil
}

// runList lists o.dir: a listing is a sequence of dependent QUERY_DIRECTORY
// calls (-bs bytes each), so it runs in one worker, once, or again and
// again until -duration ends. IOPS is entries per second; the latencies are
// those of whole listings.
func runList(o *options, t *client.Tree) (*result, error) {
	o.depth = 1
	var deadline time.Time
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}
	first := true
	return workers(o, func(w int, buf []byte) (int64, bool, error) {
		if !first && (deadline.IsZero() || time.Now().After(deadline)) {
			return 0, false, nil
		}
		first = false
		d, err := t.OpenDir(o.dir)
		if err != nil {
			return 0, false, err
		}
		defer d.Close()
		n, err := d.ReadDir(o.bs, nil)
		listed.Add(int64(n))
		return 0, true, err
	}), nil
}

// listed counts the entries of all listings.
var listed atomic.Int64

func runTCP(o *options) (*result, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, o.bs)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	conns := make([]net.Conn, o.channels)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
			return nil, err
		}
		defer conns[i].Close()
	}
	per := o.size / int64(o.channels)
	o.depth = o.channels
	var sent [64]atomic.Int64
	return workers(o, func(w int, buf []byte) (int64, bool, error) {
		if sent[w%64].Load() >= per {
			return 0, false, nil
		}
		n, err := conns[w].Write(buf)
		sent[w%64].Add(int64(n))
		return int64(n), true, err
	}), nil
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func report(o *options, r *result) {
	slices.Sort(r.lat)
	sec := r.elapsed.Seconds()
	ops := r.ops
	if o.op == "list" {
		ops = listed.Load()
	}
	mbps := float64(r.bytes) / 1e6 / sec
	iops := float64(ops) / sec
	p50, p99 := pct(r.lat, 0.50), pct(r.lat, 0.99)
	cpu := 100 * r.cpu.Seconds() / sec
	if !o.quiet {
		fmt.Printf("%s %s ch=%d depth=%d bs=%d: %d ops in %.3fs  %.1f MB/s  %.0f IOPS  p50 %v  p99 %v  cpu %.0f%%  errors %d\n",
			o.label, o.op, o.channels, o.depth, o.bs, ops, sec, mbps, iops, p50.Round(time.Microsecond),
			p99.Round(time.Microsecond), cpu, r.errs)
	}
	if o.csvPath == "" {
		return
	}
	_, statErr := os.Stat(o.csvPath)
	f, err := os.OpenFile(o.csvPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fatalf("csv: %v", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if statErr != nil {
		w.Write([]string{"label", "op", "channels", "depth", "bs", "sign", "encrypt", "ops", "bytes", "secs",
			"MBps", "IOPS", "p50_us", "p99_us", "cpu_pct", "errors"})
	}
	w.Write([]string{o.label, o.op, strconv.Itoa(o.channels), strconv.Itoa(o.depth), strconv.Itoa(o.bs),
		strconv.FormatBool(o.sign), strconv.FormatBool(o.encrypt), strconv.FormatInt(ops, 10),
		strconv.FormatInt(r.bytes, 10), fmt.Sprintf("%.4f", sec), fmt.Sprintf("%.1f", mbps), fmt.Sprintf("%.0f", iops),
		strconv.FormatInt(p50.Microseconds(), 10), strconv.FormatInt(p99.Microseconds(), 10),
		fmt.Sprintf("%.0f", cpu), strconv.FormatInt(r.errs, 10)})
	w.Flush()
	if err := w.Error(); err != nil {
		fatalf("csv: %v", err)
	}
}
