package server

import (
	"time"

	"smb3d/smb3/wire"
)

// Oplock levels (MS-SMB2 2.2.13).
const (
	oplockNone      uint8 = 0x00
	oplockLevelII   uint8 = 0x01
	oplockExclusive uint8 = 0x08
	oplockBatch     uint8 = 0x09
	oplockLease     uint8 = 0xFF
)

// defaultBreakTimeout is how long a break waits for its acknowledgment
// before the server lowers the state itself (Windows uses 35 s).
const defaultBreakTimeout = 35 * time.Second

// Oplocks are planned as the lease states they stand for (MS-FSA 2.1.1.10):
// batch is RWH, exclusive RW, level II R.
func oplockState(level uint8) uint32 {
	switch level {
	case oplockBatch:
		return leaseR | leaseW | leaseH
	case oplockExclusive:
		return leaseR | leaseW
	case oplockLevelII:
		return leaseR
	}
	return 0
}

// oplockFor is the oplock level an oplock is broken to when its state
// becomes s: level II while read caching remains, else none.
func oplockFor(s uint32) uint8 {
	if s&leaseR != 0 {
		return oplockLevelII
	}
	return oplockNone
}

// breakState is one oplock or lease break in progress. to is the state
// the holder was asked to acknowledge; want is the state it must finally
// reach (lower when later opens need more, smb2.lease.breaking3); done is
// closed when the whole break, follow-ups included, is over.
type breakState struct {
	to, want uint32
	seq      int // bumped per notification, so stale timers do nothing
	done     chan struct{}
	renames  int // renames waiting on the break (breakForRename)
}

func newBreak(to uint32) *breakState {
	return &breakState{to: to, want: to, done: make(chan struct{})}
}

// finish ends the break (caller holds the node table lock).
func (b *breakState) finish() {
	select {
	case <-b.done:
	default:
		if b.renames > 0 {
			renamesWoken.Add(int64(b.renames))
		}
		close(b.done)
	}
}

func (b *breakState) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// breakNeeded is a break to start.
type breakNeeded struct {
	o    *open  // oplock break of this open
	l    *lease // or lease break of this lease
	to   uint32 // lease state, or oplock level for o
	wait bool   // the caller waits for its acknowledgment
}

// openIntent is what a new open means for the others on its file
// (MS-FSA 2.1.5.1.2.1 and 2.1.4.12 "Check for oplock break").
type openIntent struct {
	lease     *leaseID // the new open's lease key
	access    uint32
	overwrite bool // supersede, overwrite or overwrite-if
	deleting  bool // FILE_DELETE_ON_CLOSE: an unlink (smb2.lease.unlink)
	conflict  bool // a sharing violation with the current opens
}

// planOpenBreaks decides the breaks a new open causes, the way Windows
// does: without a sharing violation write caching is broken (exclusive and
// batch oplocks to level II); with one, only handle caching (batch oplocks
// to level II), since only closing handles can resolve it; an overwrite
// breaks everything. Stat opens break nothing. Breaks already in progress
// have their final state lowered. It returns the channels to wait on:
// those of breaks that remove the caching the open waits for.
// Caller holds the node table lock.
func planOpenBreaks(n *fileNode, in openIntent) (bs []breakNeeded, waits []<-chan struct{}) {
	delay := leaseW
	if in.conflict {
		delay = leaseH
	}
	if in.deleting {
		// An unlink also needs the handles others cache closed.
		delay |= leaseH
	}
	target := func(s uint32) uint32 {
		if in.overwrite {
			return 0
		}
		return s &^ delay
	}
	seen := map[*lease]bool{}
	for _, x := range n.opens {
		if l := x.lease; l != nil {
			if seen[l] || in.lease != nil && l.id == *in.lease {
				continue
			}
			seen[l] = true
			if isStatOpen(in.access, leaseStatMask) && !in.overwrite && !in.conflict {
				continue
			}
			if l.brk != nil {
				l.brk.want &= target(l.brk.want)
				if l.state&delay != 0 || in.overwrite && l.state&leaseW != 0 {
					waits = append(waits, l.brk.done)
				}
				continue
			}
			if to := target(l.state); to != l.state {
				wait := l.state&delay != 0 || in.overwrite && l.state&leaseW != 0
				bs = append(bs, breakNeeded{l: l, to: to, wait: wait})
			}
			continue
		}
		if isStatOpen(in.access, oplockStatMask) && !in.overwrite {
			continue
		}
		if x.obrk != nil {
			x.obrk.want &= uint32(oplockFor(target(oplockState(uint8(x.obrk.want)))))
			if oplockState(x.oplock)&delay != 0 || in.overwrite && x.oplock >= oplockExclusive {
				waits = append(waits, x.obrk.done)
			}
			continue
		}
		cur := oplockState(x.oplock)
		if ts := target(cur); ts != cur {
			to := oplockFor(ts)
			wait := cur&delay != 0 || in.overwrite && cur&leaseW != 0
			bs = append(bs, breakNeeded{o: x, to: uint32(to), wait: wait})
		}
	}
	return bs, waits
}

// startBreaks records the breaks and returns the notifications to send
// (after the lock is dropped) and the channels to wait on: those of the
// breaks marked wait that need an acknowledgment. Caller holds the node
// table lock.
func (s *Server) startBreaks(bs []breakNeeded) (sends []func(), waits []<-chan struct{}) {
	for _, b := range bs {
		if b.l != nil {
			l := b.l
			if l.brk != nil {
				l.brk.want &= b.to
				if b.wait {
					waits = append(waits, l.brk.done)
				}
				continue
			}
			cur := l.state
			ack := cur&(leaseW|leaseH) != 0
			if l.version == 2 {
				l.epoch++
			}
			if ack {
				l.brk = newBreak(b.to)
				if b.wait {
					waits = append(waits, l.brk.done)
				}
			} else {
				l.state = b.to
			}
			sends = append(sends, s.leaseBreakSender(l, cur, b.to, ack))
			continue
		}
		o := b.o
		if o.obrk != nil {
			o.obrk.want &= b.to
			if b.wait {
				waits = append(waits, o.obrk.done)
			}
			continue
		}
		ack := o.oplock == oplockExclusive || o.oplock == oplockBatch
		if ack {
			o.obrk = newBreak(b.to)
			if b.wait {
				waits = append(waits, o.obrk.done)
			}
		} else {
			o.oplock = uint8(b.to)
		}
		sends = append(sends, s.oplockBreakSender(o, uint8(b.to), ack))
	}
	return sends, waits
}

// leaseBreakSender returns the send of one lease break notification and,
// when it needs an acknowledgment, arms its timer. Caller holds the lock.
func (s *Server) leaseBreakSender(l *lease, cur, to uint32, ack bool) func() {
	msg := leaseBreakNotification(l, cur, to, ack)
	sess := leaseSession(l)
	var b *breakState
	var seq int
	if ack {
		b = l.brk
		b.seq++
		seq = b.seq
		timeout := s.breakTimeout()
		time.AfterFunc(timeout, func() { s.leaseBreakTimedOut(l, b, seq) })
	}
	// A break is sent again on another connection only while it still
	// matters: the lease has a connected open and, when it needs an
	// acknowledgment, this break is still the one awaited (a connection
	// that closed took its opens, and the break, with it: a resend would
	// reach another connection of the client with a stale break).
	still := func() bool {
		s.nodes.mu.Lock()
		defer s.nodes.mu.Unlock()
		if b != nil && (l.brk != b || b.seq != seq) {
			return false
		}
		return len(leaseHolders(l)) > 0
	}
	return func() { s.sendLeaseBreak(l.id.client, sess, msg, still) }
}

func (s *Server) oplockBreakSender(o *open, level uint8, ack bool) func() {
	msg := oplockBreakNotification(o, level)
	sess := o.sess
	var b *breakState
	var seq int
	if ack {
		b = o.obrk
		b.seq++
		seq = b.seq
		time.AfterFunc(s.breakTimeout(), func() { s.oplockBreakTimedOut(o, b, seq) })
	}
	// Sent again on another channel only while the open is there and
	// this break is still the one awaited (see leaseBreakSender).
	still := func() bool {
		s.nodes.mu.Lock()
		defer s.nodes.mu.Unlock()
		if b != nil && (o.obrk != b || b.seq != seq) {
			return false
		}
		return s.opens.get(o.id) == o
	}
	return func() { s.sendBreak(sess, msg, still) }
}

func (s *Server) breakTimeout() time.Duration {
	if s.cfg.BreakTimeout > 0 {
		return s.cfg.BreakTimeout
	}
	return defaultBreakTimeout
}

// leaseBreakTimedOut ends a lease break that was not acknowledged in time:
// the lease loses all caching (MS-SMB2 3.3.6.1, smb2.lease.timeout).
func (s *Server) leaseBreakTimedOut(l *lease, b *breakState, seq int) {
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	if l.brk != b || b.seq != seq {
		return
	}
	l.state = 0
	l.brk = nil
	b.finish()
}

func (s *Server) oplockBreakTimedOut(o *open, b *breakState, seq int) {
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	if o.obrk != b || b.seq != seq {
		return
	}
	o.oplock = oplockNone
	o.obrk = nil
	b.finish()
}

// oplockBreakNotification builds MS-SMB2 2.2.23.1.
func oplockBreakNotification(o *open, level uint8) []byte {
	b := wire.AppendResponseHeader(make([]byte, 0, 88), &wire.ResponseHeader{
		Command: wire.CmdOplockBreak, MessageID: ^uint64(0),
	})
	b = le.AppendUint16(b, 24)
	b = append(b, level, 0)
	b = le.AppendUint32(b, 0)
	return wire.AppendFileID(b, o.id)
}

// grantOplock decides the oplock of a new open (MS-SMB2 3.3.5.9,
// MS-FSA 2.1.5.17): exclusive and batch only for the sole open, level II
// beside others, none beside an unbroken exclusive/batch oplock, a
// write-caching lease or a handle-caching lease (smb2.lease.oplock).
// Caller holds the node table lock; o is not yet in n.opens.
func grantOplock(n *fileNode, o *open, requested uint8) uint8 {
	if o.isDir || requested == oplockNone || requested == oplockLease {
		return oplockNone
	}
	others := false
	for _, x := range n.opens {
		if x == o {
			continue
		}
		others = true
		if x.lease != nil {
			if x.lease.state&(leaseW|leaseH) != 0 {
				return oplockNone
			}
		} else if x.oplock == oplockExclusive || x.oplock == oplockBatch {
			return oplockNone
		}
	}
	switch requested {
	case oplockBatch, oplockExclusive:
		if !others {
			return requested
		}
		return oplockLevelII
	case oplockLevelII:
		return oplockLevelII
	}
	return oplockNone
}

// breakReaders breaks read caching held beside o after o changed the
// file's data (WRITE, byte-range LOCK, set EOF or allocation:
// MS-FSA 2.1.5.3, 2.1.4.12): every level II oplock, o's own included
// (smb2.oplock.batch6, brl1), and read leases other than o's, to none,
// without waiting.
func (s *Server) breakReaders(o *open) {
	s.nodes.mu.Lock()
	n := o.node
	if n == nil {
		s.nodes.mu.Unlock()
		return
	}
	var bs []breakNeeded
	seen := map[*lease]bool{}
	for _, x := range n.opens {
		if l := x.lease; l != nil {
			if l == o.lease || seen[l] {
				continue
			}
			seen[l] = true
			if l.brk != nil {
				l.brk.want = 0
				continue
			}
			if l.state&leaseR != 0 {
				bs = append(bs, breakNeeded{l: l, to: 0})
			}
			continue
		}
		if x.oplock == oplockLevelII && x.obrk == nil {
			bs = append(bs, breakNeeded{o: x, to: uint32(oplockNone)})
		}
	}
	var sends []func()
	if len(bs) > 0 {
		sends, _ = s.startBreaks(bs)
	}
	s.nodes.mu.Unlock()
	for _, f := range sends {
		f()
	}
}

// nextStep is the state a lease is broken to after its holder acknowledged
// cur while want is still lower: handle caching goes first, keeping read
// caching (smb2.lease.breaking3: RH, then R, then none).
func nextStep(cur, want uint32) uint32 {
	if cur&leaseH != 0 && want&leaseH == 0 && cur&leaseR != 0 {
		return leaseR | want&leaseR
	}
	return want
}

// handleOplockBreak is an oplock or lease break acknowledgment
// (MS-SMB2 3.3.5.22).
func handleOplockBreak(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	ack := wire.OplockBreakAck(r.msg)
	srv := r.c.srv
	if ack.IsLease() {
		r.c.mu.Lock()
		client := r.c.clientGUID
		r.c.mu.Unlock()
		id := leaseID{client: client, key: ack.LeaseKey()}
		state := ack.LeaseState()
		srv.nodes.mu.Lock()
		l := srv.leases[id]
		if l == nil {
			srv.nodes.mu.Unlock()
			return out, wire.StatusObjectNameNotFound
		}
		b := l.brk
		if b == nil {
			srv.nodes.mu.Unlock()
			return out, wire.StatusUnsuccessful
		}
		// 3.3.5.22.2: "If LeaseState is not a subset of Lease.BreakToLeaseState,
		// the server MUST fail the request with STATUS_REQUEST_NOT_ACCEPTED."
		if state&^b.to != 0 {
			srv.nodes.mu.Unlock()
			return out, wire.StatusRequestNotAccepted
		}
		l.state = state
		var send func()
		if state&^b.want != 0 {
			// Later opens need less: break again from here, same epoch.
			next := nextStep(state, b.want)
			needAck := state&(leaseW|leaseH) != 0
			b.to = next
			if !needAck {
				l.state = next
				l.brk = nil
				b.finish()
			}
			send = srv.leaseBreakSender(l, state, next, needAck)
		} else {
			l.brk = nil
			b.finish()
		}
		srv.nodes.mu.Unlock()
		if send != nil {
			r.after = send
		}
		out = le.AppendUint16(out, 36)
		out = le.AppendUint16(out, 0)
		out = le.AppendUint32(out, 0)
		out = append(out, id.key[:]...)
		out = le.AppendUint32(out, state)
		out = le.AppendUint64(out, 0)
		return out, wire.StatusSuccess
	}
	o, status := r.lookupOpen(st, ack.FileID())
	if status != 0 {
		return out, status
	}
	level := ack.OplockLevel()
	srv.nodes.mu.Lock()
	b := o.obrk
	if b == nil {
		srv.nodes.mu.Unlock()
		return out, wire.StatusInvalidOplockProtocol
	}
	if level != oplockNone && level != oplockLevelII || uint32(level) > b.to {
		o.oplock = oplockNone
		o.obrk = nil
		b.finish()
		srv.nodes.mu.Unlock()
		return out, wire.StatusInvalidOplockProtocol
	}
	o.oplock = level
	o.obrk = nil
	b.finish()
	var send func()
	if uint32(level) > b.want {
		// A later open needs none (smb2.oplock.levelii501).
		o.oplock = oplockNone
		send = srv.oplockBreakSender(o, oplockNone, false)
	}
	srv.nodes.mu.Unlock()
	if send != nil {
		r.after = send
	}
	out = le.AppendUint16(out, 24)
	out = append(out, level, 0)
	out = le.AppendUint32(out, 0)
	return wire.AppendFileID(out, o.id), wire.StatusSuccess
}
