package vfs

import (
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// foldKey maps a name to a canonical key such that foldKey(a) == foldKey(b)
// exactly when strings.EqualFold(a, b): every rune is replaced by the
// smallest rune of its Unicode simple-folding orbit (for ASCII letters that
// is the upper case). Bytes that are not valid UTF-8 are kept as they are.
func foldKey(s string) string {
	lower := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return foldSlow(s)
		}
		if 'a' <= c && c <= 'z' {
			lower = true
		}
	}
	if !lower {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func foldSlow(s string) string {
	b := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b = append(b, s[i])
			i++
			continue
		}
		i += n
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b = utf8.AppendRune(b, m)
	}
	return string(b)
}

// devIno identifies a directory.
type devIno struct{ dev, ino uint64 }

// dirStamp is what tells that a directory changed behind our back: the
// size catches creates on tmpfs (which counts entries), nlink catches
// subdirectories, mtime/ctime do the rest. Stamps are only compared for
// equality (see the package documentation).
type dirStamp struct {
	mtimeSec, mtimeNsec int64
	ctimeSec, ctimeNsec int64
	size                int64
	nlink               uint64
}

// dirIndex is the case-insensitive name index of one directory. All fields
// are guarded by mu, which is also held across a check-then-create so that
// two creates of names differing in case cannot both succeed through one FS.
type dirIndex struct {
	mu    sync.Mutex
	key   devIno
	dead  atomic.Bool // evicted from the cache: the holder must fetch a new one
	valid bool
	stamp dirStamp
	// names maps foldKey(name) to one real name; the rare others that fold
	// the same (a case-sensitive directory with "a" and "A") go to dups.
	names map[string]string
	dups  map[string][]string

	cache *indexCache // for the entry count; nil in unit tests
}

// lookup returns the real name matching name case-insensitively: name
// itself if present, else the smallest of the names that match.
func (ix *dirIndex) lookup(name string) (string, bool) {
	k := foldKey(name)
	real, ok := ix.names[k]
	if !ok || real == name {
		return real, ok
	}
	for _, d := range ix.dups[k] {
		if d == name {
			return d, true
		}
		if d < real {
			real = d
		}
	}
	return real, true
}

func (ix *dirIndex) add(name string) {
	if !ix.valid {
		return
	}
	k := foldKey(name)
	cur, ok := ix.names[k]
	if !ok {
		ix.names[k] = name
		return
	}
	if cur == name {
		return
	}
	for _, d := range ix.dups[k] {
		if d == name {
			return
		}
	}
	if ix.dups == nil {
		ix.dups = make(map[string][]string)
	}
	ix.dups[k] = append(ix.dups[k], name)
}

func (ix *dirIndex) remove(name string) {
	if !ix.valid {
		return
	}
	k := foldKey(name)
	cur, ok := ix.names[k]
	if !ok {
		return
	}
	d := ix.dups[k]
	if cur == name {
		if len(d) == 0 {
			delete(ix.names, k)
			return
		}
		ix.names[k] = d[len(d)-1]
		d = d[:len(d)-1]
	} else {
		for i, x := range d {
			if x == name {
				d = append(d[:i], d[i+1:]...)
				break
			}
		}
	}
	if len(d) == 0 {
		delete(ix.dups, k)
	} else {
		ix.dups[k] = d
	}
}

func (ix *dirIndex) reset(names []string, st dirStamp) {
	if ix.cache != nil {
		ix.cache.entries.Add(int64(len(names) - len(ix.names)))
	}
	ix.names = make(map[string]string, len(names))
	ix.dups = nil
	ix.valid = true
	ix.stamp = st
	for _, n := range names {
		ix.add(n)
	}
}

// maxIndexedDirs and maxIndexedEntries bound the index cache (about 100
// bytes an entry); beyond them, unlocked indexes are evicted (arbitrarily)
// and rebuilt when needed again.
const (
	maxIndexedDirs    = 2048
	maxIndexedEntries = 1 << 20
)

// indexCache holds the name indexes of one FS keyed by directory identity.
type indexCache struct {
	mu      sync.Mutex
	dirs    map[devIno]*dirIndex
	entries atomic.Int64 // names held by all indexes (as of their last rebuild)
	maxDirs int          // maxIndexedDirs unless a test sets it
}

// get returns the index for key, locked. The caller must unlock it.
func (c *indexCache) get(key devIno) *dirIndex {
	for {
		c.mu.Lock()
		ix := c.dirs[key]
		if ix == nil {
			if c.dirs == nil {
				c.dirs = make(map[devIno]*dirIndex)
			}
			limit := c.maxDirs
			if limit <= 0 {
				limit = maxIndexedDirs
			}
			if len(c.dirs) >= limit || c.entries.Load() > maxIndexedEntries {
				c.evictLocked()
			}
			ix = &dirIndex{key: key, cache: c}
			c.dirs[key] = ix
		}
		c.mu.Unlock()
		ix.mu.Lock()
		if !ix.dead.Load() {
			return ix
		}
		ix.mu.Unlock()
	}
}

// evictLocked drops about a quarter of the cached indexes that nobody holds.
func (c *indexCache) evictLocked() {
	n := max(len(c.dirs)/4, 1)
	for k, ix := range c.dirs {
		if n <= 0 {
			break
		}
		if ix.mu.TryLock() {
			ix.dead.Store(true)
			c.entries.Add(-int64(len(ix.names)))
			ix.names, ix.dups, ix.valid = nil, nil, false
			ix.mu.Unlock()
			delete(c.dirs, k)
			n--
		}
	}
}

// drop forgets the index of a removed directory.
func (c *indexCache) drop(key devIno) {
	c.mu.Lock()
	ix := c.dirs[key]
	delete(c.dirs, key)
	c.mu.Unlock()
	if ix != nil {
		// Not waiting for ix.mu: the caller may hold other indexes, and
		// lock order is only defined among those of one operation.
		ix.dead.Store(true)
		if ix.mu.TryLock() {
			c.entries.Add(-int64(len(ix.names)))
			ix.names, ix.dups, ix.valid = nil, nil, false
			ix.mu.Unlock()
		}
	}
}
