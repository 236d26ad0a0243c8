//go:build rdma && cgo && linux

package rdma

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollFD drives a file descriptor owned by rdma-core (a completion channel or
// an rdma_cm event channel) with Go's netpoller. The descriptor is set
// non-blocking and duplicated; the duplicate is registered with the netpoller
// (readiness belongs to the shared open file description), so closing it never
// closes rdma-core's descriptor.
type pollFD struct {
	f  *os.File
	rc syscall.RawConn
}

func newPollFD(fd int, name string) (*pollFD, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(dup), name) // non-blocking: registered with the netpoller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &pollFD{f: f, rc: rc}, nil
}

// wait calls try until it reports done, parking the goroutine in the
// netpoller while try reports that nothing is ready (EAGAIN). It returns
// ctx.Err() if ctx ends first, and os.ErrClosed after close.
func (p *pollFD) wait(ctx context.Context, try func() bool) error {
	if ctx.Done() == nil { // never cancelled: no deadline to arrange
		return p.rc.Read(func(uintptr) bool { return try() })
	}
	for {
		stop := context.AfterFunc(ctx, func() { p.f.SetReadDeadline(time.Unix(1, 0)) })
		err := p.rc.Read(func(uintptr) bool { return try() })
		stopped := stop()
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if !stopped || ctx.Err() != nil {
			// the deadline was ours: clear it for the next wait
			p.f.SetReadDeadline(time.Time{})
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		// a stale deadline from an earlier, cancelled wait: clear and retry
		p.f.SetReadDeadline(time.Time{})
	}
}

// close unregisters and closes the duplicate. It waits for a concurrent
// wait to return, so rdma-core's descriptor may be destroyed afterwards.
func (p *pollFD) close() error { return p.f.Close() }
