//go:build rdma && cgo && linux

package rdma

/*
#cgo noescape smb3d_poll_cq
#cgo nocallback smb3d_poll_cq
#include <errno.h>
#include "smb3d_verbs.h"

// smb3d_get_cq_event takes one event off a completion channel and acks it
// (one CQ per channel). It returns 0, or -errno (-EAGAIN: none pending).
static int smb3d_get_cq_event(struct ibv_comp_channel *ch) {
	struct ibv_cq *cq;
	void *ctx;
	if (ibv_get_cq_event(ch, &cq, &ctx))
		return -errno;
	ibv_ack_cq_events(cq, 1);
	return 0;
}
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// wcIPCsumOK is IBV_WC_IP_CSUM_OK.
const wcIPCsumOK WCFlags = 1 << 2

// CQ is a completion queue (struct ibv_cq). By default it has a completion
// channel whose descriptor is driven by Go's netpoller: Wait sleeps until the
// device signals a completion. One goroutine at a time may call Wait or Poll.
type CQ struct {
	cq      *C.struct_ibv_cq
	ch      *C.struct_ibv_comp_channel // nil in polling mode
	pfd     *pollFD                    // the channel's descriptor
	polling bool

	// owned by the goroutine calling Wait/Poll
	armed bool
	wcs   []C.struct_smb3d_wc

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	mu        sync.Mutex // held around every call into the CQ, so Close cannot race it
	closed    bool
}

// NewCQ creates a completion queue with at least entries entries.
func (d *Device) NewCQ(entries int, opts *CQOptions) (*CQ, error) {
	var o CQOptions
	if opts != nil {
		o = *opts
	}
	cq := &CQ{polling: o.Polling}
	if !o.Polling {
		ch, err := C.ibv_create_comp_channel(d.ctx)
		if ch == nil {
			return nil, verbErr("ibv_create_comp_channel", errnoOf(err))
		}
		cq.ch = ch
		pfd, err := newPollFD(int(ch.fd), "ibv-comp-channel")
		if err != nil {
			C.ibv_destroy_comp_channel(ch)
			return nil, err
		}
		cq.pfd = pfd
	}
	c, err := C.ibv_create_cq(d.ctx, C.int(entries), nil, cq.ch, C.int(o.Vector))
	if c == nil {
		if cq.ch != nil {
			cq.pfd.close()
			C.ibv_destroy_comp_channel(cq.ch)
		}
		return nil, verbErr("ibv_create_cq", errnoOf(err))
	}
	cq.cq = c
	track(kindCQ)
	return cq, nil
}

// Poll copies up to len(out) completions without waiting and returns how
// many it copied.
func (cq *CQ) Poll(out []Completion) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	if cap(cq.wcs) < len(out) {
		cq.wcs = make([]C.struct_smb3d_wc, len(out))
	}
	wcs := cq.wcs[:len(out)]
	cq.mu.Lock()
	if cq.closed {
		cq.mu.Unlock()
		return 0, ErrClosed
	}
	n := int(C.smb3d_poll_cq(cq.cq, C.int(len(out)), &wcs[0]))
	cq.mu.Unlock()
	if n < 0 {
		return 0, verbErr("ibv_poll_cq", syscall.Errno(-n))
	}
	for i := range n {
		w := &wcs[i]
		c := &out[i]
		*c = Completion{
			WRID:      uint64(w.wr_id),
			Status:    WCStatus(w.status),
			Opcode:    WCOpcode(w.opcode),
			Flags:     WCFlags(w.wc_flags),
			ByteLen:   uint32(w.byte_len),
			VendorErr: uint32(w.vendor_err),
			QPNum:     uint32(w.qp_num),
		}
		switch {
		case c.Flags&WCWithImm != 0:
			c.Imm = uint32(w.imm_or_inv)
		case c.Flags&WCWithInv != 0:
			c.InvalidatedRKey = uint32(w.imm_or_inv)
		case c.Flags&wcIPCsumOK != 0 && c.Opcode == WCRecv:
			// rxe reports the kernel's IB_WC_WITH_INVALIDATE (bit 2) where
			// userspace expects IBV_WC_WITH_INV (bit 3); bit 2 is
			// IBV_WC_IP_CSUM_OK, meaningless on the RC QPs of this package.
			c.Flags = c.Flags&^wcIPCsumOK | WCWithInv
			c.InvalidatedRKey = uint32(w.imm_or_inv)
		}
	}
	return n, nil
}

// Wait returns at least one completion, waiting for it if none is ready:
// in the netpoller (the default) or by polling (CQOptions.Polling). It
// returns ctx.Err() when ctx ends first and ErrClosed after Close.
func (cq *CQ) Wait(ctx context.Context, out []Completion) (int, error) {
	if len(out) == 0 {
		return 0, errors.New("rdma: CQ.Wait with an empty slice")
	}
	for spins := 0; ; spins++ {
		n, err := cq.Poll(out)
		if n > 0 || err != nil {
			return n, err
		}
		if cq.polling {
			if spins%64 == 63 && ctx.Err() != nil {
				return 0, ctx.Err()
			}
			runtime.Gosched()
			continue
		}
		if !cq.armed {
			// arm, then poll again: a completion that arrived between the
			// poll above and the arming raises no event
			cq.mu.Lock()
			rc := C.int(0)
			if !cq.closed {
				rc = C.smb3d_req_notify_cq(cq.cq, 0)
			}
			cq.mu.Unlock()
			if rc != 0 {
				return 0, verbErr("ibv_req_notify_cq", syscall.Errno(rc))
			}
			cq.armed = true
			continue
		}
		var gerr error
		err = cq.pfd.wait(ctx, func() bool {
			rc := C.smb3d_get_cq_event(cq.ch)
			if rc == -C.EAGAIN {
				return false
			}
			if rc != 0 {
				gerr = verbErr("ibv_get_cq_event", syscall.Errno(-rc))
			}
			return true
		})
		if err != nil {
			if cq.closing.Load() {
				return 0, ErrClosed
			}
			return 0, err
		}
		if gerr != nil {
			return 0, gerr
		}
		cq.armed = false
	}
}

// Close destroys the CQ and its completion channel. QPs using it must be
// closed first. A Wait in progress, and any later Poll or Wait, returns
// ErrClosed.
func (cq *CQ) Close() error {
	cq.closeOnce.Do(func() { cq.closeErr = cq.close() })
	return cq.closeErr
}

func (cq *CQ) close() error {
	cq.closing.Store(true)
	if cq.pfd != nil {
		cq.pfd.close() // wakes a parked Wait and waits for it to leave the callback
	}
	cq.mu.Lock()
	defer cq.mu.Unlock()
	cq.closed = true
	if rc := C.ibv_destroy_cq(cq.cq); rc != 0 {
		return verbErr("ibv_destroy_cq", syscall.Errno(rc))
	}
	if cq.ch != nil {
		if rc := C.ibv_destroy_comp_channel(cq.ch); rc != 0 {
			return verbErr("ibv_destroy_comp_channel", syscall.Errno(rc))
		}
	}
	untrack(kindCQ)
	return nil
}
