package rdma

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrNotCompiled is returned by every constructor when smb3d was built
// without the rdma build tag, without cgo or not for Linux.
var ErrNotCompiled = errors.New("smb3d built without rdma-core: rebuild with -tags rdma")

// ErrClosed is returned when an object is used after Close.
var ErrClosed = errors.New("rdma: use of closed object")

// ErrDisconnected is the reason an Endpoint's Done channel closes when the
// peer (or the local side) disconnected.
var ErrDisconnected = errors.New("rdma: connection disconnected")

// ErrNoDevice is returned when no RDMA device exists (or none has the name
// asked for).
var ErrNoDevice = errors.New("rdma: no RDMA device")

// WCStatus is the status of a work completion (enum ibv_wc_status).
type WCStatus uint32

// Work completion status values, as in enum ibv_wc_status.
const (
	WCSuccess WCStatus = iota
	WCLocLenErr
	WCLocQPOpErr
	WCLocEECOpErr
	WCLocProtErr
	WCWRFlushErr
	WCMWBindErr
	WCBadRespErr
	WCLocAccessErr
	WCRemInvReqErr
	WCRemAccessErr
	WCRemOpErr
	WCRetryExcErr
	WCRNRRetryExcErr
	WCLocRDDViolErr
	WCRemInvRdReqErr
	WCRemAbortErr
	WCInvEECNErr
	WCInvEECStateErr
	WCFatalErr
	WCRespTimeoutErr
	WCGeneralErr
	WCTMErr
	WCTMRndvIncomplete
)

// wcStatusText is ibv_wc_status_str's table (libibverbs/verbs.c), so the text
// is available without cgo too.
var wcStatusText = [...]string{
	WCSuccess:          "success",
	WCLocLenErr:        "local length error",
	WCLocQPOpErr:       "local QP operation error",
	WCLocEECOpErr:      "local EE context operation error",
	WCLocProtErr:       "local protection error",
	WCWRFlushErr:       "Work Request Flushed Error",
	WCMWBindErr:        "memory management operation error",
	WCBadRespErr:       "bad response error",
	WCLocAccessErr:     "local access error",
	WCRemInvReqErr:     "remote invalid request error",
	WCRemAccessErr:     "remote access error",
	WCRemOpErr:         "remote operation error",
	WCRetryExcErr:      "transport retry counter exceeded",
	WCRNRRetryExcErr:   "RNR retry counter exceeded",
	WCLocRDDViolErr:    "local RDD violation error",
	WCRemInvRdReqErr:   "remote invalid RD request",
	WCRemAbortErr:      "aborted error",
	WCInvEECNErr:       "invalid EE context number",
	WCInvEECStateErr:   "invalid EE context state",
	WCFatalErr:         "fatal error",
	WCRespTimeoutErr:   "response timeout error",
	WCGeneralErr:       "general error",
	WCTMErr:            "TM error",
	WCTMRndvIncomplete: "TM software rendezvous",
}

// String returns ibv_wc_status_str's text for s.
func (s WCStatus) String() string {
	if int(s) < len(wcStatusText) {
		return wcStatusText[s]
	}
	return fmt.Sprintf("unknown work completion status %d", uint32(s))
}

// Error makes a WCStatus usable as an errors.Is target.
func (s WCStatus) Error() string { return "rdma: " + s.String() }

// WCError is a failed work completion.
type WCError struct {
	WRID      uint64   // the work request's ID
	Opcode    WCOpcode // what completed (not valid for every status, see ibv_poll_cq(3))
	Status    WCStatus
	VendorErr uint32
}

func (e *WCError) Error() string {
	return fmt.Sprintf("rdma: work request %#x failed: %s (status %d, vendor error %#x)",
		e.WRID, e.Status.String(), uint32(e.Status), e.VendorErr)
}

// Unwrap returns the status, so errors.Is(err, WCRemAccessErr) works.
func (e *WCError) Unwrap() error { return e.Status }

// RejectedError is returned by Endpoint.Connect when the peer rejected the
// connection or nobody listens on the port (RDMA_CM_EVENT_REJECTED).
type RejectedError struct {
	Remote      netip.AddrPort
	Reason      int    // IB CM reject reason (8: invalid service ID, no listener)
	PrivateData []byte // the rejecting consumer's private data, if any
}

func (e *RejectedError) Error() string {
	why := ""
	switch e.Reason {
	case 8:
		why = ": no listener on that port"
	case 28:
		why = ": rejected by the peer"
	}
	return fmt.Sprintf("rdma: connection to %v rejected (reason %d%s)", e.Remote, e.Reason, why)
}

// Is reports true for syscall.ECONNREFUSED, as a TCP connect would.
func (e *RejectedError) Is(target error) bool { return target == syscall.ECONNREFUSED }

// CMError is an unexpected or failed connection manager event.
type CMError struct {
	Op     string // "resolve address", "resolve route", "connect", "accept"
	Event  string // the rdma_cm event received
	Status int    // the event's status (often a negative errno)
}

func (e *CMError) Error() string {
	if e.Status < 0 {
		return fmt.Sprintf("rdma: %s: %s: %v", e.Op, e.Event, syscall.Errno(-e.Status))
	}
	return fmt.Sprintf("rdma: %s: %s (status %d)", e.Op, e.Event, e.Status)
}

// Unwrap returns the errno of a negative status.
func (e *CMError) Unwrap() error {
	if e.Status < 0 {
		return syscall.Errno(-e.Status)
	}
	return nil
}
