package server

import (
	"sync"

	"smb3d/smb3/wire"
)

// byteLock is one byte-range lock held by an open (MS-SMB2 3.3.5.14).
type byteLock struct {
	o         *open
	off, len  uint64
	exclusive bool
}

// lockTable holds the byte-range locks of every file node. Waiters for a
// blocking lock sleep on the node's change channel.
type lockTable struct {
	mu      sync.Mutex
	byNode  map[*fileNode][]byteLock
	changed map[*fileNode]chan struct{}
}

func (t *lockTable) init() {
	t.byNode = make(map[*fileNode][]byteLock)
	t.changed = make(map[*fileNode]chan struct{})
}

func overlaps(aOff, aLen, bOff, bLen uint64) bool {
	if aLen == 0 || bLen == 0 {
		return false
	}
	return aOff < bOff+bLen && bOff < aOff+aLen
}

// conflicts reports whether an I/O by o on [off, off+n) is blocked by a lock
// (MS-FSA 2.1.4.10): exclusive locks of other opens block reads and writes;
// shared locks block writes by anyone.
func (t *lockTable) conflicts(o *open, off, n uint64, write bool) bool {
	if n == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.byNode[o.node] {
		if !overlaps(off, n, l.off, l.len) {
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

// canLock reports whether o may take the lock (caller holds t.mu).
func (t *lockTable) canLock(o *open, off, n uint64, excl bool) bool {
	for _, l := range t.byNode[o.node] {
		if n == 0 && l.len == 0 {
			continue
		}
		if !overlapsLock(off, n, l.off, l.len) {
			continue
		}
		if excl || l.exclusive {
			if !excl && l.o == o && !l.exclusive {
				continue
			}
			return false
		}
	}
	return true
}

// overlapsLock treats zero-length locks as points for conflict purposes.
func overlapsLock(aOff, aLen, bOff, bLen uint64) bool {
	if aLen == 0 {
		return bLen != 0 && aOff > bOff && aOff < bOff+bLen
	}
	if bLen == 0 {
		return bOff > aOff && bOff < aOff+aLen
	}
	return aOff < bOff+bLen && bOff < aOff+aLen
}

func (t *lockTable) notify(n *fileNode) {
	if ch, ok := t.changed[n]; ok {
		close(ch)
		delete(t.changed, n)
	}
}

func (t *lockTable) waitChan(n *fileNode) chan struct{} {
	ch, ok := t.changed[n]
	if !ok {
		ch = make(chan struct{})
		t.changed[n] = ch
	}
	return ch
}

// releaseOpen drops every lock o holds.
func (t *lockTable) releaseOpen(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.byNode[o.node]
	kept := ls[:0]
	for _, l := range ls {
		if l.o != o {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		delete(t.byNode, o.node)
	} else {
		t.byNode[o.node] = kept
	}
	if len(kept) != len(ls) {
		t.notify(o.node)
	}
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
	out, status = lockOrUnlock(r, o, req, out)
	if status == wire.StatusSuccess {
		commit()
	}
	return out, status
}

func lockOrUnlock(r *request, o *open, req wire.LockRequest, out []byte) ([]byte, wire.Status) {
	locks := req.Locks()
	t := &r.c.srv.locks
	unlock := locks[0].Flags&wire.LockFlagUnlock != 0
	for _, l := range locks {
		switch l.Flags {
		case wire.LockFlagShared, wire.LockFlagExclusive,
			wire.LockFlagShared | wire.LockFlagFailImmediately, wire.LockFlagExclusive | wire.LockFlagFailImmediately:
			if unlock {
				return out, wire.StatusInvalidParameter
			}
		case wire.LockFlagUnlock:
			if !unlock {
				return out, wire.StatusInvalidParameter
			}
		default:
			return out, wire.StatusInvalidParameter
		}
		if l.Length != 0 && l.Offset+l.Length-1 < l.Offset {
			return out, wire.StatusInvalidLockRange
		}
	}
	if unlock {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, l := range locks {
			ls := t.byNode[o.node]
			found := false
			for i, x := range ls {
				if x.o == o && x.off == l.Offset && x.len == l.Length {
					t.byNode[o.node] = append(ls[:i], ls[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				return out, wire.StatusRangeNotLocked
			}
		}
		t.notify(o.node)
		return wire.AppendEmptyResponse(out), wire.StatusSuccess
	}
	// A lone blocking lock may wait; arrays are all-or-nothing and fail at once.
	blocking := len(locks) == 1 && locks[0].Flags&wire.LockFlagFailImmediately == 0
	for {
		t.mu.Lock()
		var taken []byteLock
		failed := false
		for _, l := range locks {
			excl := l.Flags&wire.LockFlagExclusive != 0
			if !t.canLock(o, l.Offset, l.Length, excl) {
				failed = true
				break
			}
			bl := byteLock{o: o, off: l.Offset, len: l.Length, exclusive: excl}
			t.byNode[o.node] = append(t.byNode[o.node], bl)
			taken = append(taken, bl)
		}
		if !failed {
			t.mu.Unlock()
			r.c.srv.breakReaders(o) // oplock.go
			return wire.AppendEmptyResponse(out), wire.StatusSuccess
		}
		// Roll back what this request took.
		ls := t.byNode[o.node]
		ls = ls[:len(ls)-len(taken)]
		t.byNode[o.node] = ls
		if !blocking {
			t.mu.Unlock()
			return out, wire.StatusLockNotGranted
		}
		ch := t.waitChan(o.node)
		t.mu.Unlock()
		if !r.canGoAsync() {
			return out, wire.StatusInternalError
		}
		out = r.goAsync(out)
		ctx := r.context()
		select {
		case <-ch:
		case <-ctx.Done():
			return out, wire.StatusCancelled
		}
		o.mu.Lock()
		closed := o.closed
		o.mu.Unlock()
		if closed {
			return out, wire.StatusRangeNotLocked
		}
	}
}
