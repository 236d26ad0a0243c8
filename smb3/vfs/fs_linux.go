//go:build linux

package vfs

import (
	"errors"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// FS is one share: a local directory held open as an O_PATH fd. All
// methods are safe for concurrent use.
type FS struct {
	// Set by Open, read-only afterwards.
	root    int // O_PATH|O_DIRECTORY fd of the share root
	rootKey devIno
	opts    Options
	umask   uint32 // process umask at Open; all ones if unknown (then every create re-applies its mode)
	procFD  bool   // /proc/self/fd/N can reach O_PATH fds (for xattrs)
	// noOpenat2 selects the user-space resolver when openat2(2) is
	// missing (kernel < 5.6, or a seccomp filter); tests set it too.
	noOpenat2 bool

	index indexCache

	// Fallback store for DOS attributes and creation time when the file
	// system has no user xattrs; keyed by (dev, ino), so it lives only as
	// long as this FS.
	noXattr  atomic.Bool
	memMu    sync.Mutex
	memAttrs map[devIno]dosRecord
	// attrLocks serialize the read-modify-write of a file's dosattrib
	// record, striped by inode number.
	attrLocks [64]sync.Mutex

	// fsetxattr is unix.Fsetxattr; tests replace it to simulate ENOTSUP.
	fsetxattr func(fd int, attr string, data []byte, flags int) error

	// dirReads counts directory scans made to build name indexes.
	dirReads atomic.Int64

	// refs counts operations in flight, so Close does not close the root
	// fd under them.
	refs   atomic.Int64
	closed atomic.Bool
}

// Open opens a share rooted at dir, which must exist and be a directory.
// The root is held as an O_PATH fd for the life of the FS: renaming dir
// afterwards does not matter. Open probes openat2 and /proc/self/fd once.
func Open(dir string, opts Options) (*FS, error) {
	fd, err := ignoringEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, pathErr("open", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, pathErr("stat", dir, err)
	}
	fsys := &FS{
		root:      fd,
		rootKey:   devIno{st.Dev, st.Ino},
		opts:      opts,
		umask:     readUmask(),
		fsetxattr: unix.Fsetxattr,
	}
	fsys.noOpenat2 = forceNoOpenat2 || !haveOpenat2(fd)
	var pst unix.Stat_t
	fsys.procFD = unix.Stat("/proc/self/fd/"+strconv.Itoa(fd), &pst) == nil &&
		pst.Dev == st.Dev && pst.Ino == st.Ino
	return fsys, nil
}

// forceNoOpenat2 makes Open choose the user-space resolver (tests).
var forceNoOpenat2 bool

// haveOpenat2 probes openat2(2) once per FS.
func haveOpenat2(root int) bool {
	fd, err := unix.Openat2(root, ".", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM)
	}
	unix.Close(fd)
	return true
}

// readUmask reads the process umask without changing it (umask(2) cannot
// be read without setting it, racing with other threads).
func readUmask() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ^uint32(0)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err == nil {
				return uint32(m)
			}
		}
	}
	return ^uint32(0)
}

// Close releases the root fd once operations in flight have finished.
// Files opened from the FS stay usable until closed themselves; new
// operations on the FS fail with os.ErrClosed.
func (fs *FS) Close() error {
	if fs.closed.Swap(true) {
		return os.ErrClosed
	}
	for fs.refs.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	return unix.Close(fs.root)
}

func (fs *FS) acquire() error {
	fs.refs.Add(1)
	if fs.closed.Load() {
		fs.refs.Add(-1)
		return os.ErrClosed
	}
	return nil
}

func (fs *FS) release() { fs.refs.Add(-1) }

// DirScans reports how many times the FS has read a directory to build a
// case-insensitive name index (for tests and metrics).
func (fs *FS) DirScans() int64 { return fs.dirReads.Load() }

// Statfs describes the file system of the share.
func (fs *FS) Statfs() (FSInfo, error) {
	if err := fs.acquire(); err != nil {
		return FSInfo{}, err
	}
	defer fs.release()
	var st unix.Statfs_t
	if err := unix.Fstatfs(fs.root, &st); err != nil {
		return FSInfo{}, os.NewSyscallError("fstatfs", err)
	}
	bs := st.Frsize
	if bs == 0 {
		bs = st.Bsize
	}
	h := fnv.New32a()
	var b [16]byte
	if st.Fsid.Val[0] == 0 && st.Fsid.Val[1] == 0 {
		putUint64(b[:8], fs.rootKey.dev)
		h.Write(b[:8])
	} else {
		putUint64(b[:8], uint64(uint32(st.Fsid.Val[0]))|uint64(uint32(st.Fsid.Val[1]))<<32)
		h.Write(b[:8])
	}
	return FSInfo{
		BlockSize:     uint32(bs),
		TotalBlocks:   st.Blocks,
		FreeBlocks:    st.Bfree,
		AvailBlocks:   st.Bavail,
		Files:         st.Files,
		FreeFiles:     st.Ffree,
		MaxNameLen:    uint32(min(st.Namelen, MaxComponent)),
		Type:          int64(st.Type),
		Name:          "NTFS",
		Serial:        h.Sum32(),
		ReadOnly:      fs.opts.ReadOnly || st.Flags&unix.ST_RDONLY != 0,
		CaseSensitive: fs.opts.CaseSensitive,
	}, nil
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func ignoringEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != unix.EINTR {
			return n, err
		}
	}
}

func ignoringEINTR0(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}

// dirRef is a directory inside the share held as an O_PATH fd, with its
// real (on-disk case) share-relative path.
type dirRef struct {
	fd    int
	path  string
	owned bool
	exact bool // every component was found as given
}

func (d dirRef) close() {
	if d.owned {
		unix.Close(d.fd)
	}
}

// openat opens name (one component or a relative path) beneath dirfd,
// whose real share-relative path is dirpath. Resolution is confined with
// RESOLVE_BENEATH; when that refuses a symlink that leaves dirfd, the
// whole path is retried from the share root, so a symlink is followed
// wherever it stays inside the share and refused with ErrEscape otherwise.
func (fs *FS) openat(dirfd int, dirpath, name string, flags int, mode uint32) (int, error) {
	if fs.noOpenat2 {
		return fs.walkOpen(joinPath(dirpath, name), flags, mode)
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	if fs.opts.NoCrossMounts {
		how.Resolve |= unix.RESOLVE_NO_XDEV
	}
	if flags&unix.O_CREAT != 0 {
		how.Mode = uint64(mode)
	}
	fd, err := openat2(dirfd, name, &how)
	if err == unix.EXDEV && dirfd != fs.root {
		fd, err = openat2(fs.root, joinPath(dirpath, name), &how)
	}
	if err == unix.EXDEV {
		return -1, ErrEscape
	}
	return fd, err
}

// openat2 retries EINTR, and EAGAIN which RESOLVE_BENEATH returns when a
// concurrent rename could have let a lookup escape.
func openat2(dirfd int, name string, how *unix.OpenHow) (int, error) {
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dirfd, name, how)
		if err == unix.EINTR || (err == unix.EAGAIN && i < 64) {
			continue
		}
		return fd, err
	}
}

// walkDir opens the directory named by comps (already validated), matching
// each component case-insensitively unless the share is case-sensitive. A
// missing or non-directory component gives a pathNotFoundError.
func (fs *FS) walkDir(comps []string) (dirRef, error) {
	if len(comps) == 0 {
		return dirRef{fd: fs.root, exact: true}, nil
	}
	p := strings.Join(comps, "/")
	fd, err := fs.openat(fs.root, "", p, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil {
		return dirRef{fd: fd, path: p, owned: true, exact: true}, nil
	}
	if (err != unix.ENOENT && err != unix.ENOTDIR) || fs.opts.CaseSensitive {
		return dirRef{}, notFoundPath(err)
	}
	// Slow path: component by component, each matched through the index.
	cur := dirRef{fd: fs.root}
	for _, c := range comps {
		real, _, err := fs.lookup(cur, c, nil)
		if err != nil {
			cur.close()
			return dirRef{}, notFoundPath(err)
		}
		fd, err := fs.openat(cur.fd, cur.path, real, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			cur.close()
			return dirRef{}, notFoundPath(err)
		}
		next := dirRef{fd: fd, path: joinPath(cur.path, real), owned: true}
		cur.close()
		cur = next
	}
	return cur, nil
}

// notFoundPath turns ENOENT/ENOTDIR on the way to a name into a
// pathNotFoundError.
func notFoundPath(err error) error {
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return &pathNotFoundError{err.(unix.Errno)}
	}
	return err
}

// lookup finds the on-disk name of component name in dir: the exact name if
// it exists (as any type, without following a symlink), else the
// case-insensitive match from the directory's index. ix, when not nil, is
// dir's index already locked by the caller. A missing name gives ENOENT. st, when not nil, is the lstat of the
// exact name.
func (fs *FS) lookup(dir dirRef, name string, ix *dirIndex) (string, *unix.Stat_t, error) {
	return fs.lookupOpt(dir, name, ix, true)
}

// lookupOpt is lookup, skipping the exact try when tryExact is false (the
// caller just found the exact name missing).
func (fs *FS) lookupOpt(dir dirRef, name string, ix *dirIndex, tryExact bool) (string, *unix.Stat_t, error) {
	var st unix.Stat_t
	if tryExact || fs.opts.CaseSensitive {
		err := ignoringEINTR0(func() error { return unix.Fstatat(dir.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
		if err == nil {
			return name, &st, nil
		}
		if err != unix.ENOENT || fs.opts.CaseSensitive {
			return "", nil, err
		}
	}
	if ix == nil {
		var err error
		if ix, err = fs.lockIndex(dir); err != nil {
			return "", nil, err
		}
		defer ix.mu.Unlock()
	}
	real, ok := ix.lookup(name)
	if !ok || real == name {
		return "", nil, unix.ENOENT
	}
	return real, nil, nil
}

func stampOf(st *unix.Stat_t) dirStamp {
	return dirStamp{
		mtimeSec: st.Mtim.Sec, mtimeNsec: st.Mtim.Nsec,
		ctimeSec: st.Ctim.Sec, ctimeNsec: st.Ctim.Nsec,
		size: st.Size, nlink: uint64(st.Nlink),
	}
}

// lockIndex returns dir's name index, locked and up to date.
func (fs *FS) lockIndex(dir dirRef) (*dirIndex, error) {
	var st unix.Stat_t
	if err := unix.Fstat(dir.fd, &st); err != nil {
		return nil, err
	}
	ix := fs.index.get(devIno{st.Dev, st.Ino})
	if err := fs.refreshLocked(ix, dir.fd, &st); err != nil {
		ix.mu.Unlock()
		return nil, err
	}
	return ix, nil
}

// lockIndex2 locks the indexes of two directories in a fixed order; b is
// nil when both are the same directory.
func (fs *FS) lockIndex2(d1, d2 dirRef) (a, b *dirIndex, err error) {
	var st1, st2 unix.Stat_t
	if err := unix.Fstat(d1.fd, &st1); err != nil {
		return nil, nil, err
	}
	if err := unix.Fstat(d2.fd, &st2); err != nil {
		return nil, nil, err
	}
	k1, k2 := devIno{st1.Dev, st1.Ino}, devIno{st2.Dev, st2.Ino}
	if k1 == k2 {
		ix, err := fs.lockIndex(d1)
		return ix, nil, err
	}
	first, second := d1, d2
	fst, sst := &st1, &st2
	swap := k2.dev < k1.dev || (k2.dev == k1.dev && k2.ino < k1.ino)
	if swap {
		first, second, fst, sst = d2, d1, &st2, &st1
	}
	x := fs.index.get(devIno{fst.Dev, fst.Ino})
	if err := fs.refreshLocked(x, first.fd, fst); err != nil {
		x.mu.Unlock()
		return nil, nil, err
	}
	y := fs.index.get(devIno{sst.Dev, sst.Ino})
	if err := fs.refreshLocked(y, second.fd, sst); err != nil {
		y.mu.Unlock()
		x.mu.Unlock()
		return nil, nil, err
	}
	if swap {
		return y, x, nil
	}
	return x, y, nil
}

// refreshLocked rebuilds ix if the directory changed since it was built.
// st is a stat of the directory taken before ix was locked.
func (fs *FS) refreshLocked(ix *dirIndex, fd int, st *unix.Stat_t) error {
	stamp := stampOf(st)
	if ix.valid && ix.stamp == stamp {
		return nil
	}
	if ix.valid {
		// Our own change may have come between the stat and the lock.
		if err := unix.Fstat(fd, st); err != nil {
			return err
		}
		stamp = stampOf(st)
		if ix.stamp == stamp {
			return nil
		}
	}
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	fs.dirReads.Add(1)
	// The stamp predates the read: a change during the read shows as a
	// mismatch next time.
	ix.reset(names, stamp)
	return nil
}

// forceRefresh rereads a locked index whatever its stamp says.
func (fs *FS) forceRefresh(ix *dirIndex, fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	ix.valid = false
	return fs.refreshLocked(ix, fd, &st)
}

// restamp records the directory's state after our own change to it, which
// the index already reflects.
func restamp(ix *dirIndex, fd int) {
	if ix == nil {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		ix.valid = false
		return
	}
	ix.stamp = stampOf(&st)
}

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readNames lists a directory (any fd of it, O_PATH included), without "."
// and "..".
func readNames(fd int) ([]string, error) {
	dfd, err := ignoringEINTR(func() (int, error) {
		return unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	return getdentsNames(dfd)
}

func getdentsNames(dfd int) ([]string, error) {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var names []string
	for {
		n, err := ignoringEINTR(func() (int, error) { return unix.Getdents(dfd, buf) })
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// Resolve returns the on-disk (real-case) share-relative path of an
// existing name.
func (fs *FS) Resolve(name string) (string, error) {
	comps, err := splitName(name)
	if err != nil {
		return "", pathErr("resolve", name, err)
	}
	if err := fs.acquire(); err != nil {
		return "", err
	}
	defer fs.release()
	if len(comps) == 0 {
		return "", nil
	}
	dir, err := fs.walkDir(comps[:len(comps)-1])
	if err != nil {
		return "", pathErr("resolve", name, err)
	}
	defer dir.close()
	real, _, err := fs.lookup(dir, comps[len(comps)-1], nil)
	if err != nil {
		return "", pathErr("resolve", name, err)
	}
	return joinPath(dir.path, real), nil
}
