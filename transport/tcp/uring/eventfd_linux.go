//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// Eventfd is a non-blocking eventfd read through Go's netpoller. Registered on a ring
// (RegisterEventfd), it lets a goroutine sleep until completions arrive without spinning
// and without holding an OS thread in io_uring_enter: the ring's owner, or a helper
// goroutine that forwards wake-ups on a channel, blocks in Wait, then reaps the CQ.
type Eventfd struct {
	f  *os.File
	fd int
}

// NewEventfd creates an eventfd (EFD_NONBLOCK|EFD_CLOEXEC) registered with the netpoller.
func NewEventfd() (*Eventfd, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	return &Eventfd{f: os.NewFile(uintptr(fd), "eventfd"), fd: fd}, nil
}

// Fd returns the descriptor, for RegisterEventfd. (os.File.Fd would make it blocking.)
func (e *Eventfd) Fd() int { return e.fd }

// Wait blocks the goroutine, parked in the netpoller, until the counter is non-zero, and
// returns and resets it.
func (e *Eventfd) Wait() (uint64, error) {
	var b [8]byte
	if _, err := e.f.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// Signal adds 1 to the counter, waking Wait (to interrupt it from Go code).
func (e *Eventfd) Signal() error {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	_, err := e.f.Write(b[:])
	return err
}

// Close closes the eventfd; a blocked Wait returns os.ErrClosed.
func (e *Eventfd) Close() error { return e.f.Close() }
