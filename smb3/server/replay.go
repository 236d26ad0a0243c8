package server

import (
	"smb3d/smb3/wire"
)

// Channel-sequence tracking (MS-SMB2 3.3.5.2.10): on multichannel a client
// retries a request on another channel after failover with a newer
// ChannelSequence; requests of an older epoch must not then modify the
// file. The counters live on the open, under o.mu.
//
// beginSequenced checks the request's ChannelSequence against the open and
// returns the release function to call when the request completes, or
// STATUS_FILE_NOT_AVAILABLE when the request is stale or a replay arrives
// while requests of an older epoch are still outstanding.
func (r *request) beginSequenced(o *open) (func(), wire.Status) {
	if r.c.dialect < wire.Dialect300 {
		return func() {}, 0
	}
	seq := r.hdr.ChannelSequence()
	o.mu.Lock()
	defer o.mu.Unlock()
	pre := false
	switch d := seq - o.chanSeq; {
	case d == 0:
		o.outstanding++
	case d <= 0x7FFF:
		o.outstandingPre += o.outstanding
		o.outstanding = 1
		o.chanSeq = seq
	default:
		return nil, wire.StatusFileNotAvailable
	}
	if r.hdr.IsReplay() && o.outstandingPre > 0 {
		o.outstanding--
		return nil, wire.StatusFileNotAvailable
	}
	return func() {
		o.mu.Lock()
		if !pre && o.chanSeq == seq {
			if o.outstanding > 0 {
				o.outstanding--
			}
		} else if o.outstandingPre > 0 {
			o.outstandingPre--
		}
		o.mu.Unlock()
	}, 0
}

// observeSequence is beginSequenced for a request that does not modify the
// file (READ): a newer ChannelSequence becomes the open's, a stale one is
// let through (MS-SMB2 3.3.5.2.10 applies the check to WRITE, SET_INFO and
// IOCTL only; smb2.replay.replay4 reads with a newer one, then expects a
// write with the old one to fail). It returns the release function.
func (r *request) observeSequence(o *open) func() {
	if r.c.dialect < wire.Dialect300 {
		return func() {}
	}
	if d := r.hdr.ChannelSequence() - o.chanSeqLocked(); d > 0x7FFF {
		return func() {}
	}
	done, status := r.beginSequenced(o)
	if status != 0 {
		return func() {}
	}
	return done
}

func (o *open) chanSeqLocked() uint16 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.chanSeq
}

// Lock sequence replay detection (MS-SMB2 3.3.5.14): for resilient and
// durable handles the client numbers its LOCK requests; a replay of one
// that already succeeded succeeds again without being executed twice.
const lockSeqEntries = 64

type lockSeq struct {
	valid [lockSeqEntries + 1]bool
	num   [lockSeqEntries + 1]uint8
}

// lockSeqCheck applies MS-SMB2 3.3.5.14's lock sequence rules: it returns
// replayed=true when this LOCK already succeeded, and a commit function to
// record the sequence after success.
func (r *request) lockSeqCheck(o *open, v uint32) (replayed bool, commit func()) {
	commit = func() {}
	if r.c.dialect < wire.Dialect210 {
		return false, commit
	}
	r.c.srv.nodes.mu.Lock()
	durable := o.dur != nil
	r.c.srv.nodes.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !durable && !o.resilient && !r.lockSeqAllOpens() {
		return false, commit
	}
	num := uint8(v & 0xF)
	idx := v >> 4
	if idx == 0 || idx > lockSeqEntries {
		return false, commit
	}
	if o.lockSeqs.valid[idx] && o.lockSeqs.num[idx] == num {
		return true, commit
	}
	o.lockSeqs.valid[idx] = false
	return false, func() {
		o.mu.Lock()
		o.lockSeqs.num[idx] = num
		o.lockSeqs.valid[idx] = true
		o.mu.Unlock()
	}
}

// otherChannel reports whether a connection other than c is bound to s
// (MS-SMB2 3.3.7.1: pending requests are not cancelled while the session
// has another channel).
func (s *session) otherChannel(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for x := range s.conns {
		if x != c {
			return true
		}
	}
	return false
}
