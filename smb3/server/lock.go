package server

import (
	"sync"

	"smb3d/smb3/wire"
)

// byteLock is one byte-range lock held by an open (MS-FSA 2.1.1.2,
// ByteRangeLock). A zero-length lock is a point: it conflicts only with a
// range that strictly contains its offset.
type byteLock struct {
	o         *open
	off, len  uint64
	exclusive bool
}

// lockWaiter is a blocking LOCK request waiting for its range
// (MS-SMB2 3.3.5.14.2: the request goes async and completes when the
// conflicting locks are released, the open is closed or it is cancelled).
type lockWaiter struct {
	l    byteLock
	done chan wire.Status // buffered; written once, under the node's nodeLocks.mu
}

// nodeLocks is the byte-range lock state of one file node, owned by its mu.
// Waiters are resolved by whoever releases a lock (unlock or close) while
// holding mu, so a release and the grants it enables are one step.
type nodeLocks struct {
	mu      sync.Mutex
	dead    bool          // dropped from the table (tidy): a new state is made on the next lock
	held    []byteLock    // in the order granted
	waiters []*lockWaiter // blocking requests, first come first served
}

// lockTable holds the byte-range locks of the file nodes that have any.
// There is no table-wide lock: a node's state has its own mutex, and the
// map (a sync.Map, lock-free to read) is only looked up on READ and WRITE,
// so I/O on different files, or on files without locks, never contends.
type lockTable struct {
	byNode sync.Map // *fileNode -> *nodeLocks
}

func (t *lockTable) init() {}

// lockNode returns n's state with its mu held, made when create is set; nil
// when n has none and create is not set.
func (t *lockTable) lockNode(n *fileNode, create bool) *nodeLocks {
	for {
		v, ok := t.byNode.Load(n)
		if !ok {
			if !create {
				return nil
			}
			v, _ = t.byNode.LoadOrStore(n, &nodeLocks{})
		}
		nl := v.(*nodeLocks)
		nl.mu.Lock()
		if !nl.dead {
			return nl
		}
		nl.mu.Unlock() // tidied meanwhile: look again
	}
}

// rangesOverlap reports whether two lock ranges overlap, without
// overflowing at the top of the 64-bit space (a lock may end at
// 0xFFFFFFFFFFFFFFFF). Zero-length ranges are points: two points never
// overlap, and a point overlaps a range only strictly inside it
// (smb2.lock.zerobytelength: a 0-byte lock at 10 blocks [9,11) but not
// [10,12)).
func rangesOverlap(aOff, aLen, bOff, bLen uint64) bool {
	switch {
	case aLen == 0 && bLen == 0:
		return false
	case aLen == 0:
		return aOff > bOff && aOff <= bOff+(bLen-1)
	case bLen == 0:
		return bOff > aOff && bOff <= aOff+(aLen-1)
	}
	return aOff <= bOff+(bLen-1) && bOff <= aOff+(aLen-1)
}

// conflicts reports whether an I/O by o on [off, off+n) is blocked by a lock
// (MS-FSA 2.1.4.10): exclusive locks of other opens block reads and writes;
// shared locks block writes by anyone, o included.
func (t *lockTable) conflicts(o *open, off, n uint64, write bool) bool {
	if n == 0 {
		return false
	}
	if off+(n-1) < off {
		n = -off // clamp at the end of the 64-bit space
	}
	nl := t.lockNode(o.node, false)
	if nl == nil {
		return false
	}
	defer nl.mu.Unlock()
	for _, l := range nl.held {
		if l.len == 0 || !rangesOverlap(off, n, l.off, l.len) {
			continue
		}
		if l.exclusive && l.o != o {
			return true
		}
		if !l.exclusive && write {
			return true
		}
	}
	return false
}

// grantable reports whether want may be granted beside the held locks
// (MS-FSA 2.1.5.7): an exclusive lock conflicts with every overlapping lock,
// the requester's own included; a shared lock conflicts only with the
// exclusive locks of other opens, so a shared lock stacks on the open's own
// exclusive one (smb2.lock.stacking).
func grantable(held []byteLock, want byteLock) bool {
	for _, l := range held {
		if !rangesOverlap(want.off, want.len, l.off, l.len) {
			continue
		}
		if want.exclusive {
			return false
		}
		if l.exclusive && l.o != want.o {
			return false
		}
	}
	return true
}

// tidy drops n's state once nothing is held or waiting (caller holds nl.mu).
func (t *lockTable) tidy(n *fileNode, nl *nodeLocks) {
	if len(nl.held) == 0 && len(nl.waiters) == 0 {
		nl.dead = true
		t.byNode.CompareAndDelete(n, nl)
	}
}

// grantWaiters grants, in arrival order, every waiting request that no
// longer conflicts (caller holds nl.mu). It returns the opens granted a lock.
func (t *lockTable) grantWaiters(nl *nodeLocks) []*open {
	var granted []*open
	kept := nl.waiters[:0]
	for _, w := range nl.waiters {
		if grantable(nl.held, w.l) {
			nl.held = append(nl.held, w.l)
			w.done <- wire.StatusSuccess
			granted = append(granted, w.l.o)
			continue
		}
		kept = append(kept, w)
	}
	clear(nl.waiters[len(kept):])
	nl.waiters = kept
	return granted
}

// releaseOpen drops every lock o holds and fails its waiting requests with
// STATUS_RANGE_NOT_LOCKED (smb2.lock.cancel: closing the handle of a pending
// lock), then grants what the release unblocked.
func (t *lockTable) releaseOpen(o *open) {
	nl := t.lockNode(o.node, false)
	if nl == nil {
		return
	}
	kept := nl.held[:0]
	for _, l := range nl.held {
		if l.o != o {
			kept = append(kept, l)
		}
	}
	clear(nl.held[len(kept):])
	nl.held = kept
	ws := nl.waiters[:0]
	for _, w := range nl.waiters {
		if w.l.o == o {
			w.done <- wire.StatusRangeNotLocked
			continue
		}
		ws = append(ws, w)
	}
	clear(nl.waiters[len(ws):])
	nl.waiters = ws
	granted := t.grantWaiters(nl)
	t.tidy(o.node, nl)
	nl.mu.Unlock()
	t.afterGrant(granted)
}

// afterGrant runs what a granted lock implies outside the node's mu: level II
// oplocks and read leases beside the lock holder break to none.
func (t *lockTable) afterGrant(granted []*open) {
	for _, o := range granted {
		if o.sess != nil {
			o.sess.srv.breakReaders(o) // oplock.go
		}
	}
}

// cancelWaiter withdraws w. It returns the status w already got when a
// release resolved it first, else STATUS_CANCELLED.
func (t *lockTable) cancelWaiter(n *fileNode, w *lockWaiter) wire.Status {
	if nl := t.lockNode(n, false); nl != nil {
		for i, x := range nl.waiters {
			if x == w {
				nl.waiters = append(nl.waiters[:i], nl.waiters[i+1:]...)
				t.tidy(n, nl)
				nl.mu.Unlock()
				return wire.StatusCancelled
			}
		}
		nl.mu.Unlock()
	}
	return <-w.done
}

// handleLock is SMB2 LOCK (MS-SMB2 3.3.5.14).
func handleLock(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.LockRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	replayed, commit := r.lockSeqCheck(o, req.LockSequence())
	if replayed {
		return wire.AppendEmptyResponse(out), wire.StatusSuccess
	}
	if o.isDir {
		// MS-FSA 2.1.5.7: byte-range locks are for data streams only.
		return out, wire.StatusInvalidParameter
	}
	locks := req.Locks()
	if locks[0].Flags&wire.LockFlagUnlock != 0 {
		status = r.c.srv.locks.unlock(o, locks)
	} else {
		out, status = lockRanges(r, o, locks, out)
	}
	if status != wire.StatusSuccess {
		return out, status
	}
	commit()
	return wire.AppendEmptyResponse(out), wire.StatusSuccess
}

// lockFlagsValid reports whether flags are those of a lock element
// (MS-SMB2 3.3.5.14.2): shared or exclusive, optionally fail-immediately.
func lockFlagsValid(flags uint32) bool {
	switch flags &^ wire.LockFlagFailImmediately {
	case wire.LockFlagShared, wire.LockFlagExclusive:
		return true
	}
	return false
}

// lockRangeValid is the MS-FSA 2.1.5.7 range check: "If (FileOffset +
// Length - 1) wraps ... the operation MUST be failed with
// STATUS_INVALID_LOCK_RANGE"; a zero length is a valid point anywhere.
func lockRangeValid(e wire.LockElement) bool {
	return e.Length == 0 || e.Offset+(e.Length-1) >= e.Offset
}

// unlock is MS-SMB2 3.3.5.14.1: the elements are unlocked in order, each
// removing one lock of o with exactly that range (an exclusive one before a
// shared one, smb2.lock.unlock). The first failure ends the request; the
// unlocks before it stay done (smb2.lock.multiple-unlock).
func (t *lockTable) unlock(o *open, els []wire.LockElement) wire.Status {
	status := wire.StatusSuccess
	removed := false
	nl := t.lockNode(o.node, false)
	for _, e := range els {
		if e.Flags != wire.LockFlagUnlock {
			status = wire.StatusInvalidParameter
			break
		}
		found := -1
		if nl != nil {
			for i, l := range nl.held {
				if l.o == o && l.off == e.Offset && l.len == e.Length {
					if found < 0 || l.exclusive && !nl.held[found].exclusive {
						found = i
					}
				}
			}
		}
		if found < 0 {
			status = wire.StatusRangeNotLocked
			break
		}
		nl.held = append(nl.held[:found], nl.held[found+1:]...)
		removed = true
	}
	var granted []*open
	if removed {
		granted = t.grantWaiters(nl)
		t.tidy(o.node, nl)
	}
	if nl != nil {
		nl.mu.Unlock()
	}
	t.afterGrant(granted)
	return status
}

// tryLock grants every element or none (MS-SMB2 3.3.5.14.2: "If any lock
// fails, the server MUST unlock any ranges locked as part of processing the
// previous entries"). A lone blocking element that conflicts is queued and
// returned as a waiter instead.
func (t *lockTable) tryLock(o *open, els []wire.LockElement) (*lockWaiter, wire.Status) {
	nl := t.lockNode(o.node, true)
	defer nl.mu.Unlock()
	base := len(nl.held)
	status := wire.StatusSuccess
	var waiter *lockWaiter
	for _, e := range els {
		if !lockFlagsValid(e.Flags) || len(els) > 1 && e.Flags&wire.LockFlagFailImmediately == 0 {
			// Only a lone lock may block (smb2.lock.valid-request).
			status = wire.StatusInvalidParameter
			break
		}
		if !lockRangeValid(e) {
			status = wire.StatusInvalidLockRange
			break
		}
		want := byteLock{o: o, off: e.Offset, len: e.Length, exclusive: e.Flags&wire.LockFlagExclusive != 0}
		if !grantable(nl.held, want) {
			status = wire.StatusLockNotGranted
			if len(els) == 1 && e.Flags&wire.LockFlagFailImmediately == 0 {
				waiter = &lockWaiter{l: want, done: make(chan wire.Status, 1)}
				nl.waiters = append(nl.waiters, waiter)
			}
			break
		}
		nl.held = append(nl.held, want)
	}
	if status != wire.StatusSuccess {
		clear(nl.held[base:])
		nl.held = nl.held[:base]
		t.tidy(o.node, nl)
	}
	return waiter, status
}

// lockRanges takes the request's locks; a lone blocking lock that conflicts
// goes async and waits (MS-SMB2 3.3.4.2) until it is granted, its open
// closes (STATUS_RANGE_NOT_LOCKED) or it is cancelled.
func lockRanges(r *request, o *open, els []wire.LockElement, out []byte) ([]byte, wire.Status) {
	t := &r.c.srv.locks
	if len(els) == 1 && els[0].Flags&wire.LockFlagFailImmediately == 0 && !r.canGoAsync() {
		// A blocking lock inside a compound cannot wait: try it once.
		els = []wire.LockElement{{Offset: els[0].Offset, Length: els[0].Length, Flags: els[0].Flags | wire.LockFlagFailImmediately}}
	}
	w, status := t.tryLock(o, els)
	if status == wire.StatusSuccess {
		t.afterGrant([]*open{o})
		return out, status
	}
	if w == nil {
		return out, status
	}
	out = r.goAsync(out)
	select {
	case status = <-w.done:
		// Granted (breaks already sent by the releaser) or the open closed.
	case <-r.context().Done():
		status = t.cancelWaiter(o.node, w)
	}
	return out, status
}

// lockSeqAllOpens reports whether lock sequence numbers are checked on every
// open of the connection, not only durable and resilient ones: MS-SMB2
// 3.3.5.14, "if Connection.Dialect belongs to the SMB 3.x dialect family and
// Connection.ServerCapabilities includes SMB2_GLOBAL_CAP_MULTI_CHANNEL"
// (smb2.lock.replay_smb3_specification_multi).
func (r *request) lockSeqAllOpens() bool {
	return r.c.dialect >= wire.Dialect300 && r.c.dialect != wire.DialectWildcard && r.c.srv.cfg.Multichannel
}
