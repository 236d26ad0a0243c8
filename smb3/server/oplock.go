package server

import (
	"time"

	"smb3d/smb3/wire"
)

// Oplock levels (MS-SMB2 2.2.13) and lease states (2.2.13.2.8).
const (
	oplockNone      uint8 = 0x00
	oplockLevelII   uint8 = 0x01
	oplockExclusive uint8 = 0x08
	oplockBatch     uint8 = 0x09
	oplockLease     uint8 = 0xFF

	leaseR uint32 = 0x01
	leaseH uint32 = 0x02
	leaseW uint32 = 0x04

	leaseFlagBreakInProgress uint32 = 0x02
	leaseFlagParentKeySet    uint32 = 0x04
	leaseBreakAckRequired    uint32 = 0x01
)

// defaultBreakTimeout is how long a break waits for its acknowledgment
// before the server lowers the state itself (Windows uses 35 s).
const defaultBreakTimeout = 35 * time.Second

// leaseID names a lease: the client's GUID and its lease key (MS-SMB2
// 3.3.1.4 LeaseTable per ClientGuid).
type leaseID struct{ client, key [16]byte }

// lease is a lease on one file, shared by the opens that carry its key.
// Guarded by the node table lock.
type lease struct {
	id        leaseID
	node      *fileNode
	state     uint32
	epoch     uint16
	version   int // 1 or 2
	parent    [16]byte
	hasParent bool
	nopens    int
	brk       *breakState // non-nil while a break is in progress
}

// breakState is one oplock or lease break in progress.
type breakState struct {
	to    uint32 // lease state or oplock level broken to
	done  chan struct{}
	acked bool
}

func newBreak(to uint32) *breakState { return &breakState{to: to, done: make(chan struct{})} }

// finish ends the break (caller holds the node table lock).
func (b *breakState) finish() {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
}

// leaseRequest is a parsed SMB2_CREATE_REQUEST_LEASE(_V2) context.
type leaseRequest struct {
	key, parent [16]byte
	state       uint32
	flags       uint32
	epoch       uint16
	version     int
}

func parseLeaseRequest(b []byte, dialect wire.Dialect) (leaseRequest, bool) {
	var lr leaseRequest
	switch {
	case len(b) >= 52 && dialect >= wire.Dialect300:
		lr.version = 2
		copy(lr.parent[:], b[32:48])
		lr.epoch = le.Uint16(b[48:])
	case len(b) >= 32:
		lr.version = 1
	default:
		return lr, false
	}
	copy(lr.key[:], b[:16])
	lr.state = le.Uint32(b[16:]) & (leaseR | leaseH | leaseW)
	lr.flags = le.Uint32(b[20:])
	return lr, true
}

// appendLeaseResponse encodes SMB2_CREATE_RESPONSE_LEASE(_V2).
func appendLeaseResponse(b []byte, l *lease, state uint32, breaking bool) []byte {
	b = append(b, l.id.key[:]...)
	b = le.AppendUint32(b, state)
	var flags uint32
	if breaking {
		flags |= leaseFlagBreakInProgress
	}
	if l.version == 2 && l.hasParent {
		flags |= leaseFlagParentKeySet
	}
	b = le.AppendUint32(b, flags)
	b = le.AppendUint64(b, 0)
	if l.version == 2 {
		b = append(b, l.parent[:]...)
		b = le.AppendUint16(b, l.epoch)
		b = le.AppendUint16(b, 0)
	}
	return b
}

// validLeaseState reduces a requested state to one a lease may have:
// R, RH, RW or RWH (a lone H or W is not grantable).
func validLeaseState(s uint32) uint32 {
	if s&leaseR == 0 {
		return 0
	}
	return s
}

// breakNeeded is a break the create must start (and maybe wait for).
type breakNeeded struct {
	o  *open  // oplock break of this open
	l  *lease // or lease break of this lease
	to uint32
}

// planBreaks decides the breaks an open of n needs before share modes are
// checked (MS-FSA 2.1.5.1.2.1, MS-SMB2 3.3.5.9): exclusive and batch
// oplocks break to level II (none when the new open overwrites), write
// caching leases lose W; overwrite also breaks read caching.
// Caller holds the node table lock.
func planBreaks(n *fileNode, newLease *leaseID, overwrite bool) []breakNeeded {
	var out []breakNeeded
	seen := map[*lease]bool{}
	for _, x := range n.opens {
		if x.lease != nil {
			l := x.lease
			if seen[l] || (newLease != nil && l.id == *newLease) {
				continue
			}
			seen[l] = true
			cur := l.state
			if l.brk != nil {
				cur = l.brk.to
			}
			to := cur &^ leaseW
			if overwrite {
				to &^= leaseR
			}
			if to != cur {
				out = append(out, breakNeeded{l: l, to: to})
			}
			continue
		}
		cur := x.oplock
		if x.obrk != nil {
			cur = uint8(x.obrk.to)
		}
		switch cur {
		case oplockExclusive, oplockBatch:
			to := oplockLevelII
			if overwrite {
				to = oplockNone
			}
			out = append(out, breakNeeded{o: x, to: uint32(to)})
		case oplockLevelII:
			if overwrite {
				out = append(out, breakNeeded{o: x, to: uint32(oplockNone)})
			}
		}
	}
	return out
}

// planHandleBreaks returns the breaks that may resolve a sharing violation:
// batch oplocks and handle-caching leases of the conflicting opens
// (MS-FSA 2.1.5.1.2.2). Caller holds the node table lock.
func planHandleBreaks(conflicts []*open) []breakNeeded {
	var out []breakNeeded
	seen := map[*lease]bool{}
	for _, x := range conflicts {
		if x.lease != nil {
			l := x.lease
			if seen[l] {
				continue
			}
			seen[l] = true
			cur := l.state
			if l.brk != nil {
				cur = l.brk.to
			}
			if cur&leaseH != 0 {
				out = append(out, breakNeeded{l: l, to: cur &^ (leaseH | leaseW)})
			}
			continue
		}
		cur := x.oplock
		if x.obrk != nil {
			cur = uint8(x.obrk.to)
		}
		if cur == oplockBatch || cur == oplockExclusive {
			out = append(out, breakNeeded{o: x, to: uint32(oplockNone)})
		}
	}
	return out
}

// startBreaks records the breaks and returns the notifications to send and
// the channels to wait on. Caller holds the node table lock.
func (s *Server) startBreaks(bs []breakNeeded) (sends []func(), waits []<-chan struct{}) {
	for _, b := range bs {
		if b.l != nil {
			l := b.l
			if l.brk != nil {
				// Already breaking: lower the target; the client acks once.
				if b.to&^l.brk.to == 0 {
					l.brk.to = b.to
				}
				waits = append(waits, l.brk.done)
				continue
			}
			cur := l.state
			ack := cur&(leaseW|leaseH) != 0
			brk := newBreak(b.to)
			if ack {
				l.brk = brk
				waits = append(waits, brk.done)
			} else {
				l.state = b.to
				brk.finish()
			}
			if l.version == 2 {
				l.epoch++
			}
			msg := leaseBreakNotification(l, cur, b.to, ack)
			sess := leaseSession(l)
			timeout := s.breakTimeout()
			sends = append(sends, func() {
				s.sendBreak(sess, msg)
				if ack {
					time.AfterFunc(timeout, func() { s.breakTimedOut(l, brk) })
				}
			})
			continue
		}
		o := b.o
		if o.obrk != nil {
			if b.to < o.obrk.to {
				o.obrk.to = b.to
			}
			waits = append(waits, o.obrk.done)
			continue
		}
		cur := o.oplock
		brk := newBreak(b.to)
		ack := cur == oplockExclusive || cur == oplockBatch
		if ack {
			o.obrk = brk
			waits = append(waits, brk.done)
		} else {
			o.oplock = uint8(b.to)
		}
		msg := oplockBreakNotification(o, uint8(b.to))
		sess := o.sess
		timeout := s.breakTimeout()
		sends = append(sends, func() {
			s.sendBreak(sess, msg)
			if ack {
				time.AfterFunc(timeout, func() { s.oplockBreakTimedOut(o, brk) })
			}
		})
	}
	return sends, waits
}

func (s *Server) breakTimeout() time.Duration {
	if s.cfg.BreakTimeout > 0 {
		return s.cfg.BreakTimeout
	}
	return defaultBreakTimeout
}

// breakTimedOut lowers a lease whose break was not acknowledged.
func (s *Server) breakTimedOut(l *lease, b *breakState) {
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	if l.brk != b {
		return
	}
	l.state = b.to
	l.brk = nil
	b.finish()
}

func (s *Server) oplockBreakTimedOut(o *open, b *breakState) {
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	if o.obrk != b {
		return
	}
	o.oplock = uint8(b.to)
	o.obrk = nil
	b.finish()
}

// leaseSession picks a session to send a lease break to: one that has an
// open carrying the lease.
func leaseSession(l *lease) *session {
	for _, x := range l.node.opens {
		if x.lease == l {
			return x.sess
		}
	}
	return nil
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

// leaseBreakNotification builds MS-SMB2 2.2.23.2.
func leaseBreakNotification(l *lease, cur, to uint32, ack bool) []byte {
	b := wire.AppendResponseHeader(make([]byte, 0, 108), &wire.ResponseHeader{
		Command: wire.CmdOplockBreak, MessageID: ^uint64(0),
	})
	b = le.AppendUint16(b, 44)
	if l.version == 2 {
		b = le.AppendUint16(b, l.epoch)
	} else {
		b = le.AppendUint16(b, 0)
	}
	var flags uint32
	if ack {
		flags = leaseBreakAckRequired
	}
	b = le.AppendUint32(b, flags)
	b = append(b, l.id.key[:]...)
	b = le.AppendUint32(b, cur)
	b = le.AppendUint32(b, to)
	b = le.AppendUint32(b, 0) // BreakReason
	b = le.AppendUint32(b, 0) // AccessMaskHint
	return le.AppendUint32(b, 0)
}

// sendBreak sends a break notification on a live channel of sess, trying
// the next channel when a send fails (multichannel: MS-SMB2 3.3.4.6/3.3.4.7).
func (s *Server) sendBreak(sess *session, msg []byte) {
	if sess == nil {
		return
	}
	sess.mu.Lock()
	conns := make([]*conn, 0, len(sess.conns))
	for c := range sess.conns {
		conns = append(conns, c)
	}
	enc := sess.encrypt
	sess.mu.Unlock()
	for _, c := range conns {
		var err error
		if enc {
			err = c.send(msg, sess)
		} else {
			err = c.t.WriteMessage(msg)
		}
		if err == nil {
			return
		}
		s.log.Warn("break notification failed on a channel, trying another", "session", sess.id, "err", err)
	}
}

// grantOplock decides the oplock of a new open (MS-SMB2 3.3.5.9.8).
// Caller holds the node table lock; o is not yet in n.opens.
func grantOplock(n *fileNode, o *open, requested uint8) uint8 {
	if o.isDir || requested == oplockNone || requested == oplockLease {
		return oplockNone
	}
	others := false
	for _, x := range n.opens {
		if x != o {
			others = true
			if x.lease != nil && x.lease.state&leaseW != 0 {
				return oplockNone
			}
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

// grantLease attaches o to the lease named by lr, creating it, and returns
// the granted state. Caller holds the node table lock.
func (s *Server) grantLease(n *fileNode, o *open, client [16]byte, lr leaseRequest) (*lease, wire.Status) {
	id := leaseID{client: client, key: lr.key}
	l := s.leases[id]
	if l != nil && l.node != n {
		if l.nopens > 0 {
			// A lease key names one file (MS-SMB2 3.3.5.9.8).
			return nil, wire.StatusInvalidParameter
		}
		delete(s.leases, id)
		l = nil
	}
	want := validLeaseState(lr.state)
	if o.isDir {
		want &= leaseR | leaseH
		if s.cfg.DirectoryLeases == false {
			want = 0
		}
	}
	// Other opens (not of this lease) keep W away; opens with oplocks or
	// other leases holding W were broken before.
	for _, x := range n.opens {
		if x == o || (x.lease != nil && x.lease.id == id) {
			continue
		}
		want &^= leaseW
	}
	if l == nil {
		l = &lease{id: id, node: n, version: lr.version, parent: lr.parent,
			hasParent: lr.flags&leaseFlagParentKeySet != 0}
		if lr.version == 2 {
			l.epoch = lr.epoch
		}
		s.leases[id] = l
	}
	if l.brk == nil && want&^l.state != 0 && want != 0 {
		// Upgrade (never a downgrade by a create).
		l.state |= want
		if l.version == 2 {
			l.epoch++
		}
	} else if l.brk == nil && l.state == 0 {
		l.state = want
	}
	l.nopens++
	o.lease = l
	return l, 0
}

// releaseLease drops o's reference on its lease. Caller holds the node lock.
func (s *Server) releaseLease(o *open) {
	l := o.lease
	if l == nil {
		return
	}
	l.nopens--
	if l.nopens == 0 {
		if l.brk != nil {
			l.brk.finish()
			l.brk = nil
		}
		// The lease outlives its last open only for a reopen by the same
		// client; drop it so the table does not grow without bound.
		delete(s.leases, l.id)
	}
}

// breakReaders breaks level II oplocks and read leases of other opens of
// o's file to none, without waiting (a write happened: MS-FSA 2.1.5.3).
func (s *Server) breakReaders(o *open) {
	s.nodes.mu.Lock()
	var bs []breakNeeded
	seen := map[*lease]bool{}
	for _, x := range o.node.opens {
		if x == o {
			continue
		}
		if x.lease != nil {
			if x.lease == o.lease || seen[x.lease] || x.lease.brk != nil {
				continue
			}
			seen[x.lease] = true
			if x.lease.state&leaseR != 0 && x.lease.state&leaseW == 0 {
				bs = append(bs, breakNeeded{l: x.lease, to: 0})
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
		defer srv.nodes.mu.Unlock()
		l := srv.leases[id]
		if l == nil {
			return out, wire.StatusObjectNameNotFound
		}
		if l.brk == nil {
			return out, wire.StatusUnsuccessful
		}
		if state&^l.brk.to != 0 {
			return out, wire.StatusRequestNotAccepted
		}
		l.state = state
		b := l.brk
		l.brk = nil
		b.acked = true
		b.finish()
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
	defer srv.nodes.mu.Unlock()
	if o.obrk == nil {
		return out, wire.StatusInvalidOplockProtocol
	}
	if level != oplockNone && level != oplockLevelII || uint32(level) > o.obrk.to {
		o.oplock = oplockNone
		b := o.obrk
		o.obrk = nil
		b.finish()
		return out, wire.StatusInvalidOplockProtocol
	}
	o.oplock = level
	b := o.obrk
	o.obrk = nil
	b.acked = true
	b.finish()
	out = le.AppendUint16(out, 24)
	out = append(out, level, 0)
	out = le.AppendUint32(out, 0)
	return wire.AppendFileID(out, o.id), wire.StatusSuccess
}

// grantResult is what attachOpen granted.
type grantResult struct {
	oplock    uint8
	lease     *lease
	leaseResp []byte
}

// attachOpen adds o to its file's node: it breaks conflicting oplocks and
// leases (going async while it waits for acknowledgments), enforces share
// modes and pending deletes, and grants o its oplock or lease.
func (r *request) attachOpen(out []byte, o *open, key nodeKey, t *tree, stream string, lr *leaseRequest, reqOplock uint8, overwrite bool) ([]byte, grantResult, wire.Status) {
	srv := r.c.srv
	var newLease *leaseID
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	if lr != nil {
		newLease = &leaseID{client: client, key: lr.key}
	}
	handleBroken := false
	for attempt := 0; ; attempt++ {
		srv.nodes.mu.Lock()
		n := srv.nodes.nodes[key]
		if n == nil {
			n = &fileNode{key: key, path: o.f.Name(), share: t.share, stream: stream != ""}
			srv.nodes.nodes[key] = n
		}
		drop := func() {
			if len(n.opens) == 0 && srv.nodes.nodes[key] == n {
				delete(srv.nodes.nodes, key)
			}
		}
		if n.deletePending {
			drop()
			srv.nodes.mu.Unlock()
			return out, grantResult{}, wire.StatusDeletePending
		}
		needs := planBreaks(n, newLease, overwrite)
		if len(needs) == 0 {
			var conflicts []*open
			for _, x := range n.opens {
				if shareConflict(x, o.access, o.shareAc) {
					conflicts = append(conflicts, x)
				}
			}
			if len(conflicts) > 0 {
				if !handleBroken {
					needs = planHandleBreaks(conflicts)
					handleBroken = true
				}
				if len(needs) == 0 {
					drop()
					srv.nodes.mu.Unlock()
					return out, grantResult{}, wire.StatusSharingViolation
				}
			}
		}
		if len(needs) > 0 && attempt < 8 {
			sends, waits := srv.startBreaks(needs)
			srv.nodes.mu.Unlock()
			for _, f := range sends {
				f()
			}
			if len(waits) > 0 {
				if !r.canGoAsync() {
					return out, grantResult{}, wire.StatusInternalError
				}
				out = r.goAsync(out)
				ctx := r.context()
				for _, w := range waits {
					select {
					case <-w:
					case <-ctx.Done():
						return out, grantResult{}, wire.StatusCancelled
					}
				}
			}
			continue
		}
		var g grantResult
		if lr != nil && !n.stream {
			l, status := srv.grantLease(n, o, client, *lr)
			if status != 0 {
				drop()
				srv.nodes.mu.Unlock()
				return out, grantResult{}, status
			}
			g.lease = l
			g.leaseResp = appendLeaseResponse(nil, l, l.state, l.brk != nil)
		} else if lr == nil {
			o.oplock = grantOplock(n, o, reqOplock)
			g.oplock = o.oplock
		}
		o.node = n
		n.opens = append(n.opens, o)
		srv.nodes.mu.Unlock()
		return out, g, 0
	}
}
