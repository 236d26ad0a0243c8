//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package vfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/transport/tcp/uring"
)

// Do the file-system calls of CREATE, QUERY_INFO, FLUSH and SET_INFO pay to
// go through io_uring (issue 6: "OPENAT2, STATX, FSYNC, UNLINKAT, RENAMEAT
// through the ring where it pays")? The server calls them from its request
// goroutines, each call from the goroutine's own thread: openat2(2) with
// RESOLVE_BENEATH for every open, statx(2) for attributes, fsync(2) for
// FLUSH and write-through, unlinkat(2) for delete-on-close, renameat2(2)
// for a rename. The alternative is to hand each call to one ring owner, a
// goroutine locked to its thread as the transport's rings are, and wait for
// its completion. BenchmarkFileMeta runs each call both ways from
// metaWorkers request goroutines at once, on tmpfs (/dev/shm) and on the
// disk-backed temporary directory, and reports calls per second and the
// process's CPU microseconds per call.
//
// The results and the decision are in the README (Transports). The shape of
// it: the kernel runs STATX, FSYNC, UNLINKAT and RENAMEAT in an io-wq worker
// (they can block and have no non-blocking attempt), OPENAT2 tries a cached
// lookup inline first; so through the ring each call costs the hand-off to
// the owner, often a worker's wake-up, and the completion's way back, where
// the syscall runs at once on the calling thread, in parallel with the
// other request goroutines.

const metaWorkers = 8

// metaReq is one call handed to the ring owner.
type metaReq struct {
	prep func(s uring.SQE) error
	done chan int32
}

// metaOwner submits the calls it is handed on one ring, batching whatever
// is queued, as a transport ring does with its connections' requests.
func metaOwner(reqs <-chan *metaReq, ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := uring.New(uring.Config{Entries: 64})
	if err != nil {
		ready <- err
		return
	}
	defer r.Close()
	ready <- nil
	inflight := map[uint64]*metaReq{}
	next := uint64(1)
	cqes := make([]uring.CQE, 16)
	prep := func(m *metaReq) {
		s, err := r.GetSQE()
		if err == nil {
			err = m.prep(s)
		}
		if err != nil {
			m.done <- -int32(unix.EBUSY)
			return
		}
		s.SetUserData(next)
		inflight[next] = m
		next++
	}
	open := true
	for open || len(inflight) > 0 {
		if len(inflight) == 0 {
			m, ok := <-reqs
			if !ok {
				open = false
				continue
			}
			prep(m)
		}
	more:
		for open {
			select {
			case m, ok := <-reqs:
				if !ok {
					open = false
					break more
				}
				prep(m)
			default:
				break more
			}
		}
		if len(inflight) == 0 {
			continue
		}
		if _, err := r.SubmitAndWait(1); err != nil && !errors.Is(err, syscall.EINTR) {
			panic(err)
		}
		for {
			n := r.PeekCQEs(cqes)
			if n == 0 {
				break
			}
			for _, c := range cqes[:n] {
				if m := inflight[c.UserData]; m != nil {
					delete(inflight, c.UserData)
					m.done <- c.Res
				}
			}
			r.CQAdvance(n)
		}
	}
}

// metaCall is one benchmarked call of worker w, its k-th: by syscall when
// ring is nil, else through the ring owner.
type metaCall func(w, k int, ring func(prep func(s uring.SQE) error) int32) error

// metaOp is a call of the server's, with its set-up per worker.
type metaOp struct {
	name string
	// setup prepares worker w's files in dir (a directory of its own).
	setup func(dir string) error
	call  func(dirfd int) metaCall
}

var metaHow = unix.OpenHow{
	Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
}

func ringErr(res int32) error {
	if res < 0 {
		return syscall.Errno(-res)
	}
	return nil
}

var metaOps = []metaOp{
	{
		// CREATE of an existing file: openat2 beneath the share (then
		// close, by syscall both ways).
		name: "openat2",
		setup: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		},
		call: func(dirfd int) metaCall {
			return func(w, k int, ring func(func(uring.SQE) error) int32) error {
				var fd int
				if ring == nil {
					var err error
					if fd, err = unix.Openat2(dirfd, "f", &metaHow); err != nil {
						return err
					}
				} else {
					res := ring(func(s uring.SQE) error { return s.PrepOpenat2(dirfd, "f", &metaHow) })
					if err := ringErr(res); err != nil {
						return err
					}
					fd = int(res)
				}
				return unix.Close(fd)
			}
		},
	},
	{
		// QUERY_INFO / QUERY_DIRECTORY: statx of a name in a directory.
		name: "statx",
		setup: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		},
		call: func(dirfd int) metaCall {
			const mask = unix.STATX_BASIC_STATS | unix.STATX_BTIME
			return func(w, k int, ring func(func(uring.SQE) error) int32) error {
				var st unix.Statx_t
				if ring == nil {
					return unix.Statx(dirfd, "f", unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_SYNC_AS_STAT, mask, &st)
				}
				return ringErr(ring(func(s uring.SQE) error {
					return s.PrepStatx(dirfd, "f", unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_SYNC_AS_STAT, mask, &st)
				}))
			}
		},
	},
	{
		// FLUSH after a 4 KiB WRITE (the write by pwrite both ways).
		name: "fsync",
		setup: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
		},
		call: func(dirfd int) metaCall {
			fd, err := unix.Openat(dirfd, "f", unix.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				panic(err)
			}
			buf := make([]byte, 4096)
			return func(w, k int, ring func(func(uring.SQE) error) int32) error {
				if _, err := unix.Pwrite(fd, buf, int64(k%64)*4096); err != nil {
					return err
				}
				if ring == nil {
					return unix.Fsync(fd)
				}
				return ringErr(ring(func(s uring.SQE) error { s.PrepFsync(fd, 0); return nil }))
			}
		},
	},
	{
		// Delete on close: unlinkat of a file (created by openat(2) and
		// closed just before, both ways).
		name: "unlinkat",
		call: func(dirfd int) metaCall {
			return func(w, k int, ring func(func(uring.SQE) error) int32) error {
				fd, err := unix.Openat(dirfd, "d", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
				if err != nil {
					return err
				}
				unix.Close(fd)
				if ring == nil {
					return unix.Unlinkat(dirfd, "d", 0)
				}
				return ringErr(ring(func(s uring.SQE) error { return s.PrepUnlinkat(dirfd, "d", 0) }))
			}
		},
	},
	{
		// SET_INFO FileRenameInformation: renameat2 there and back.
		name: "renameat",
		setup: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "r0"), nil, 0o644)
		},
		call: func(dirfd int) metaCall {
			return func(w, k int, ring func(func(uring.SQE) error) int32) error {
				from, to := "r0", "r1"
				if k%2 == 1 {
					from, to = to, from
				}
				if ring == nil {
					return unix.Renameat2(dirfd, from, dirfd, to, unix.RENAME_NOREPLACE)
				}
				return ringErr(ring(func(s uring.SQE) error {
					return s.PrepRenameat(dirfd, from, dirfd, to, unix.RENAME_NOREPLACE)
				}))
			}
		},
	},
}

// BenchmarkFileMeta: each call of metaOps by syscall and through one ring
// owner, from metaWorkers goroutines, on tmpfs and on the disk-backed
// temporary directory (fsync on the disk only: tmpfs has nothing to sync).
// Run: go test -run '^$' -bench FileMeta -benchtime 20000x -count 3 ./smb3/vfs/
func BenchmarkFileMeta(b *testing.B) {
	if _, err := uring.Probe(); err != nil {
		b.Skipf("io_uring: %v", err)
	}
	for _, fs := range []struct{ name, base string }{{"tmpfs", "/dev/shm"}, {"disk", os.TempDir()}} {
		for _, op := range metaOps {
			if op.name == "fsync" && fs.name == "tmpfs" {
				continue
			}
			modes := []string{"syscall", "ring"}
			if op.name == "unlinkat" {
				// Is a gain of the ring its serializing the calls?
				modes = append(modes, "syscall-serial")
			}
			for _, mode := range modes {
				b.Run(fs.name+"/"+op.name+"/"+mode, func(b *testing.B) {
					benchMeta(b, fs.base, op, mode)
				})
			}
		}
	}
}

// benchMeta runs op in mode: "syscall", "ring", or "syscall-serial" (by
// syscall, one worker at a time, as one ring thread would run them).
func benchMeta(b *testing.B, base string, op metaOp, mode string) {
	viaRing := mode == "ring"
	var serial sync.Mutex
	dir, err := os.MkdirTemp(base, "smb3d-ringmeta-")
	if err != nil {
		b.Skip(err)
	}
	defer os.RemoveAll(dir)
	calls := make([]metaCall, metaWorkers)
	for w := range metaWorkers {
		wd := filepath.Join(dir, fmt.Sprint(w))
		if err := os.Mkdir(wd, 0o755); err != nil {
			b.Fatal(err)
		}
		if op.setup != nil {
			if err := op.setup(wd); err != nil {
				b.Fatal(err)
			}
		}
		dirfd, err := unix.Open(wd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(dirfd)
		calls[w] = op.call(dirfd)
	}
	var reqs chan *metaReq
	if viaRing {
		reqs = make(chan *metaReq, 64)
		ready := make(chan error, 1)
		go metaOwner(reqs, ready)
		if err := <-ready; err != nil {
			b.Skipf("ring: %v", err)
		}
		defer close(reqs)
	}
	b.ReportAllocs()
	per := b.N/metaWorkers + 1
	cpu0, t0 := cpuSeconds(), time.Now()
	var wg sync.WaitGroup
	for w := range metaWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ring func(func(uring.SQE) error) int32
			if viaRing {
				done := make(chan int32, 1)
				ring = func(prep func(uring.SQE) error) int32 {
					reqs <- &metaReq{prep: prep, done: done}
					return <-done
				}
			}
			for k := range per {
				if mode == "syscall-serial" {
					serial.Lock()
				}
				err := calls[w](w, k, ring)
				if mode == "syscall-serial" {
					serial.Unlock()
				}
				if err != nil {
					b.Errorf("%s: %v", op.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	secs, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	n := float64(per * metaWorkers)
	b.ReportMetric(n/secs, "calls/s")
	b.ReportMetric(cpu/n*1e6, "cpu-us/call")
	b.ReportMetric(0, "ns/op") // calls/s is the figure; ns/op mixes workers
}
