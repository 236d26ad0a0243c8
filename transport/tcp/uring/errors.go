package uring

import (
	"errors"
	"syscall"
)

// UnsupportedFeatureError reports that the running kernel (or its configuration) lacks an
// io_uring feature this package was asked to use. MinKernel names the first mainline release
// that has it; Reason, when set, says why it is unavailable on this machine anyway (for example
// kernel.io_uring_disabled).
type UnsupportedFeatureError struct {
	Feature   string
	MinKernel string
	Reason    string
}

func (e *UnsupportedFeatureError) Error() string {
	s := "io_uring: " + e.Feature + " not supported"
	if e.MinKernel != "" {
		s += " (requires Linux " + e.MinKernel + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes errors.Is(err, ErrNotSupported) true for every UnsupportedFeatureError.
func (e *UnsupportedFeatureError) Is(target error) bool { return target == ErrNotSupported }

var (
	// ErrNotSupported matches every *UnsupportedFeatureError under errors.Is.
	ErrNotSupported = errors.New("io_uring: feature not supported")
	// ErrSQFull is returned by GetSQE when the submission queue has no free entry: call Submit.
	ErrSQFull = errors.New("io_uring: submission queue full")
	// ErrBusy is returned by GetSQE when every request slot is in flight: reap completions.
	ErrBusy = errors.New("io_uring: too many requests in flight")
	// ErrTimeout is returned by the waiting calls when their timeout expires.
	ErrTimeout = errors.New("io_uring: wait timed out")
	// ErrIdle is returned by the waiting calls when fewer completions than asked for are
	// ready and no request is in flight, so none can arrive (requests flagged
	// FlagCQESkipSuccess may finish without one).
	ErrIdle = errors.New("io_uring: no request in flight to wait for")
	// ErrClosed is returned by calls on a closed ring.
	ErrClosed = errors.New("io_uring: ring closed")
	// ErrTooLarge is returned by prep helpers whose kernel-visible arguments (iovecs, paths)
	// do not fit the request's argument area and cannot be pinned either.
	ErrTooLarge = errors.New("io_uring: request arguments too large")
)

// CQE is a completion, copied out of the completion queue.
type CQE struct {
	// UserData is the caller's value set with SQE.SetUserData.
	UserData uint64
	// ID identifies the request inside the ring (target of PrepCancel).
	ID RequestID
	// Res is the operation's result: a count or file descriptor, or a negated errno.
	Res int32
	// Flags are the IORING_CQE_F_* flags.
	Flags uint32
}

// RequestID is the user_data the ring gives the kernel for one request: a slot index in the
// low 32 bits and the slot's generation in the high 32 bits.
type RequestID uint64

// Err returns nil when Res is not negative, else the errno it carries.
func (c CQE) Err() error {
	if c.Res >= 0 {
		return nil
	}
	return syscall.Errno(-c.Res)
}

// More reports IORING_CQE_F_MORE: the request stays armed and will post more CQEs.
func (c CQE) More() bool { return c.Flags&CQEFMore != 0 }

// Notif reports IORING_CQE_F_NOTIF: a SEND_ZC notification, after which the buffer is free.
func (c CQE) Notif() bool { return c.Flags&CQEFNotif != 0 }

// BufferID returns the provided-buffer id and true when IORING_CQE_F_BUFFER is set.
func (c CQE) BufferID() (uint16, bool) {
	return uint16(c.Flags >> cqeBufferShift), c.Flags&CQEFBuffer != 0
}
