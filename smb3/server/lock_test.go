package server

import (
	"fmt"
	"sync"
	"testing"

	"smb3d/smb3/wire"
)

// TestRangesOverlap checks the zero-length and top-of-range cases of
// smb2.lock.zerobytelength and smb2.lock.lock (max/1).
func TestRangesOverlap(t *testing.T) {
	const max = ^uint64(0)
	for _, c := range []struct {
		aOff, aLen, bOff, bLen uint64
		want                   bool
	}{
		{10, 0, 10, 0, false},
		{10, 0, 9, 1, false},
		{10, 0, 10, 1, false},
		{10, 0, 11, 1, false},
		{10, 0, 9, 2, true},
		{10, 0, 10, 2, false},
		{10, 0, 9, 3, true},
		{9, 2, 10, 0, true},
		{0, 4, 2, 4, true},
		{0, 4, 4, 4, false},
		{max, 1, max, 1, true},
		{max, 0, max, 0, false},
		{max - 1, 2, max, 1, true},
		{1 << 63, 1, 1<<63 - 1, 1, false},
	} {
		if got := rangesOverlap(c.aOff, c.aLen, c.bOff, c.bLen); got != c.want {
			t.Errorf("rangesOverlap(%d,%d, %d,%d) = %v, want %v", c.aOff, c.aLen, c.bOff, c.bLen, got, c.want)
		}
	}
}

// TestLockTable runs the stacking, unlock-order and waiter rules of
// MS-FSA 2.1.5.7/2.1.5.8 on one node with two opens.
func TestLockTable(t *testing.T) {
	var tab lockTable
	tab.init()
	n := &fileNode{}
	h1, h2 := &open{node: n}, &open{node: n}
	el := func(off, n uint64, flags uint32) []wire.LockElement {
		return []wire.LockElement{{Offset: off, Length: n, Flags: flags}}
	}
	const (
		sh = wire.LockFlagShared | wire.LockFlagFailImmediately
		ex = wire.LockFlagExclusive | wire.LockFlagFailImmediately
		un = wire.LockFlagUnlock
	)
	lock := func(o *open, els []wire.LockElement, want wire.Status) {
		t.Helper()
		if _, got := tab.tryLock(o, els); got != want {
			t.Fatalf("lock %+v: %v, want %v", els, got, want)
		}
	}
	unlock := func(o *open, els []wire.LockElement, want wire.Status) {
		t.Helper()
		if got := tab.unlock(o, els); got != want {
			t.Fatalf("unlock %+v: %v, want %v", els, got, want)
		}
	}
	// A shared lock stacks on the open's own exclusive lock, not on another's.
	lock(h1, el(0, 10, ex), wire.StatusSuccess)
	lock(h1, el(0, 10, sh), wire.StatusSuccess)
	lock(h2, el(0, 10, sh), wire.StatusLockNotGranted)
	lock(h1, el(0, 10, ex), wire.StatusLockNotGranted)
	// The exclusive one goes first: h2 may then share.
	unlock(h1, el(0, 10, un), wire.StatusSuccess)
	lock(h2, el(0, 10, sh), wire.StatusSuccess)
	unlock(h2, el(0, 10, un), wire.StatusSuccess)
	unlock(h1, el(0, 10, un), wire.StatusSuccess)
	unlock(h1, el(0, 10, un), wire.StatusRangeNotLocked)
	// Arrays: all or nothing; only a lone lock may block.
	lock(h1, el(10, 10, ex), wire.StatusSuccess)
	lock(h1, []wire.LockElement{{Offset: 0, Length: 10, Flags: ex}, {Offset: 10, Length: 10, Flags: ex}}, wire.StatusLockNotGranted)
	lock(h1, el(0, 10, ex), wire.StatusSuccess)
	unlock(h1, el(0, 10, un), wire.StatusSuccess)
	lock(h1, []wire.LockElement{{Offset: 0, Length: 10, Flags: ex}, {Offset: 20, Length: 10, Flags: wire.LockFlagExclusive}}, wire.StatusInvalidParameter)
	lock(h1, el(max64, 2, ex), wire.StatusInvalidLockRange)
	// Unlock arrays stop at the first failure and keep what they did.
	unlock(h1, []wire.LockElement{{Offset: 10, Length: 10, Flags: un}, {Offset: 0, Length: 10, Flags: un}}, wire.StatusRangeNotLocked)
	unlock(h1, el(10, 10, un), wire.StatusRangeNotLocked)
	// A blocked waiter is granted by the release, or failed by its close.
	lock(h1, el(0, 10, ex), wire.StatusSuccess)
	w, st := tab.tryLock(h2, el(0, 10, wire.LockFlagExclusive))
	if w == nil || st != wire.StatusLockNotGranted {
		t.Fatalf("blocking lock: %v %v", w, st)
	}
	unlock(h1, el(0, 10, un), wire.StatusSuccess)
	if got := <-w.done; got != wire.StatusSuccess {
		t.Fatalf("waiter: %v", got)
	}
	w, _ = tab.tryLock(h1, el(0, 10, wire.LockFlagShared))
	tab.releaseOpen(h1)
	if got := <-w.done; got != wire.StatusRangeNotLocked {
		t.Fatalf("closed waiter: %v", got)
	}
	tab.releaseOpen(h2)
	left := 0
	tab.byNode.Range(func(k, v any) bool { left++; return true })
	if left != 0 {
		t.Fatalf("state left behind for %d nodes", left)
	}
}

const max64 = ^uint64(0)

// TestLockTableConcurrent: opens of one node lock, check and unlock their own
// ranges from many goroutines while the node's state is made and dropped
// over and over (lockTable has no table-wide lock; a state dropped by tidy
// must never swallow a lock granted beside it). While a goroutine holds its
// exclusive lock, another open's write and read there conflict; at the end
// nothing is left.
func TestLockTableConcurrent(t *testing.T) {
	var tab lockTable
	tab.init()
	n := &fileNode{}
	other := &open{node: n}
	const workers, rounds = 8, 2000
	errs := make(chan string, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &open{node: n}
			off := uint64(i) * 100
			el := []wire.LockElement{{Offset: off, Length: 10, Flags: wire.LockFlagExclusive | wire.LockFlagFailImmediately}}
			for range rounds {
				if _, s := tab.tryLock(o, el); s != wire.StatusSuccess {
					errs <- fmt.Sprintf("worker %d: lock: %v", i, s)
					return
				}
				if !tab.conflicts(other, off+5, 1, true) || !tab.conflicts(other, off, 10, false) {
					errs <- fmt.Sprintf("worker %d: its held lock does not conflict", i)
					return
				}
				if tab.conflicts(o, off, 10, true) {
					errs <- fmt.Sprintf("worker %d: its own exclusive lock blocks its write", i)
					return
				}
				if s := tab.unlock(o, []wire.LockElement{{Offset: off, Length: 10, Flags: wire.LockFlagUnlock}}); s != wire.StatusSuccess {
					errs <- fmt.Sprintf("worker %d: unlock: %v", i, s)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	left := 0
	tab.byNode.Range(func(k, v any) bool { left++; return true })
	if left != 0 || tab.conflicts(other, 0, 1<<20, true) {
		t.Fatalf("state left behind for %d nodes", left)
	}
}
