//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"net/netip"

	"net"
	"os"
	"smb3d/numa"

	"golang.org/x/sys/unix"

	"smb3d/transport"
	"smb3d/transport/tcp/uring"
)

// URingListener accepts TCP connections with Go's listener and hands each
// one's socket to an io_uring loop (see URingConfig). A connection for which
// no ring can be set up is served by the netpoller instead (a *Conn).
type URingListener struct {
	l         net.Listener
	pool      *ringPool
	canSplice bool
}

// uringSupported is the probe; tests replace it to force the fallback.
var uringSupported = probeURing

// probeURing probes once for what the transport needs.
func probeURing() (splice bool, err error) {
	f, err := uring.Probe()
	if err != nil {
		return false, err
	}
	for _, op := range []uring.Op{uring.OpRecv, uring.OpSendmsg, uring.OpRead, uring.OpAsyncCancel} {
		if err := f.CheckOp(op); err != nil {
			return false, err
		}
	}
	if err := f.CheckKernel("cancel by fd (IORING_ASYNC_CANCEL_FD)", "5.19"); err != nil {
		return false, err
	}
	return f.HasOp(uring.OpSplice), nil
}

// ListenURing listens on a TCP address with the io_uring transport. When the
// kernel lacks io_uring, or it is disabled, the error matches
// uring.ErrNotSupported (see Listen for the fallback).
func ListenURing(addr string, cfg URingConfig) (*URingListener, error) {
	splice, err := uringSupported()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &URingListener{l: l, pool: &ringPool{cfg: cfg}, canSplice: splice && !cfg.NoSplice}, nil
}

// NewURingListener serves connections from l, a TCP listener, with the
// io_uring transport.
func NewURingListener(l net.Listener, cfg URingConfig) (*URingListener, error) {
	splice, err := uringSupported()
	if err != nil {
		return nil, err
	}
	return &URingListener{l: l, pool: &ringPool{cfg: cfg}, canSplice: splice && !cfg.NoSplice}, nil
}

func (l *URingListener) Accept() (transport.Conn, error) {
	nc, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return NewConn(nc), nil
	}
	tc.SetNoDelay(true)
	tc.SetKeepAlive(true)
	laddr, raddr := tc.LocalAddr(), tc.RemoteAddr()
	fd, err := takeFd(tc)
	if err != nil {
		return nil, err
	}
	node := numa.Unknown
	if pl := l.pool.cfg.Placement; pl != nil {
		if ta, ok := laddr.(*net.TCPAddr); ok {
			if a, ok := netip.AddrFromSlice(ta.IP); ok {
				node = pl.ForLocalAddr(a.Unmap())
			}
		}
	}
	loop, err := l.pool.assign(node)
	if err != nil {
		// No ring for this one (out of memory, locked-memory limit...):
		// the netpoller serves it.
		f := os.NewFile(uintptr(fd), "tcp")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		pc := NewConn(nc)
		pc.place(l.pool.cfg.Placement) // the buffers at least
		return pc, nil
	}
	c := newURingConn(fd, laddr, raddr, l.canSplice)
	c.loop = loop
	c.node = loop.node
	c.bufs = loop.bufs
	c.noDirect = l.pool.cfg.NoDirectSend
	loop.post(loopCmd{kind: cmdAdd, c: c})
	return c, nil
}

// SplicedBytes is how many file bytes the listener's connections have sent
// by SendFile (zero copy), for metrics.
func (l *URingListener) SplicedBytes() uint64 { return l.pool.spliced.Load() }

// FixedRecvStats reports the messages received into registered buffers
// and the READ_FIXED completions that took (about one per MiB).
func (l *URingListener) FixedRecvStats() (msgs, reads uint64) {
	return l.pool.fixedMsgs.Load(), l.pool.fixedReads.Load()
}

func (l *URingListener) Close() error   { return l.l.Close() }
func (l *URingListener) Addr() net.Addr { return l.l.Addr() }

// takeFd moves the socket out of Go's netpoller: a duplicate descriptor in
// blocking mode (splice to the socket from io-wq then waits for buffer space
// instead of failing with EAGAIN; io_uring's own receives and sends never
// block), and the original closed.
func takeFd(tc *net.TCPConn) (int, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	tc.Close()
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

var (
	_ transport.FileSender = (*URingConn)(nil)
	_ transport.Releaser   = (*URingConn)(nil)
)
