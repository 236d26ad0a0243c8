//go:build linux

package vfs

import (
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// File is an open file or directory of a share. Its methods are safe for
// concurrent use, Close included: an operation in flight keeps the fd
// open, and the fd is closed when the last one finishes, so it is never
// reused underneath a caller. A File must be closed; it has no finalizer.
type File struct {
	fs    *FS
	fd    int
	name  string // real share-relative path at open time
	isDir bool

	// state is twice the number of operations using fd, plus 1 once
	// Close was called; the fd is closed when it reaches 1.
	state atomic.Int64

	keyOnce sync.Once
	key     devIno // (dev, ino), set by newFile or lazily by getKey

	dirMu sync.Mutex // serializes ReadDir (it seeks the fd)
}

// Name returns the share-relative path as stored on disk (real case), as
// it was when the file was opened: a later Rename does not change it.
func (f *File) Name() string { return f.name }

// Fd returns the file descriptor, for splice or io_uring. It is valid
// until Close; the caller must not close it nor use it after Close.
func (f *File) Fd() int { return f.fd }

// IsDir reports whether the file is a directory.
func (f *File) IsDir() bool { return f.isDir }

// FileID returns the inode number (see Info.FileID).
func (f *File) FileID() uint64 { return f.getKey().ino }

func (f *File) getKey() devIno {
	f.keyOnce.Do(func() {
		if f.acquire() {
			var st unix.Stat_t
			if unix.Fstat(f.fd, &st) == nil {
				f.key = devIno{st.Dev, st.Ino}
			}
			f.release()
		}
	})
	return f.key
}

func (f *File) acquire() bool {
	for {
		s := f.state.Load()
		if s&1 != 0 {
			return false
		}
		if f.state.CompareAndSwap(s, s+2) {
			return true
		}
	}
}

func (f *File) release() {
	if f.state.Add(-2) == 1 {
		unix.Close(f.fd)
	}
}

// Close closes the file. Operations still running on it finish first;
// later ones fail with os.ErrClosed.
func (f *File) Close() error {
	for {
		s := f.state.Load()
		if s&1 != 0 {
			return pathErr("close", f.name, os.ErrClosed)
		}
		if f.state.CompareAndSwap(s, s|1) {
			if s == 0 {
				return pathErr("close", f.name, unix.Close(f.fd))
			}
			return nil // the last operation in flight closes it
		}
	}
}

// ReadAt reads like os.File.ReadAt: it reads len(p) bytes unless the file
// ends first, and a short read at end of file returns io.EOF.
func (f *File) ReadAt(p []byte, off int64) (n int, err error) {
	if off < 0 {
		return 0, pathErr("read", f.name, unix.EINVAL)
	}
	if !f.acquire() {
		return 0, pathErr("read", f.name, os.ErrClosed)
	}
	defer f.release()
	for len(p) > 0 {
		m, err := unix.Pread(f.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, pathErr("read", f.name, err)
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
		p = p[m:]
		off += int64(m)
	}
	return n, nil
}

// WriteAt writes len(p) bytes at off.
func (f *File) WriteAt(p []byte, off int64) (n int, err error) {
	if f.fs.opts.ReadOnly {
		return 0, pathErr("write", f.name, ErrReadOnly)
	}
	if off < 0 {
		return 0, pathErr("write", f.name, unix.EINVAL)
	}
	if !f.acquire() {
		return 0, pathErr("write", f.name, os.ErrClosed)
	}
	defer f.release()
	for len(p) > 0 {
		m, err := unix.Pwrite(f.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, pathErr("write", f.name, err)
		}
		if m == 0 {
			return n, pathErr("write", f.name, io.ErrShortWrite)
		}
		n += m
		p = p[m:]
		off += int64(m)
	}
	return n, nil
}

// Sync flushes the file to stable storage.
func (f *File) Sync() error {
	return f.control("sync", func(fd int) error {
		return ignoringEINTR0(func() error { return unix.Fsync(fd) })
	})
}

// control runs fn with the fd, guarded against a concurrent Close.
func (f *File) control(op string, fn func(fd int) error) error {
	if !f.acquire() {
		return pathErr(op, f.name, os.ErrClosed)
	}
	defer f.release()
	return pathErr(op, f.name, fn(f.fd))
}

func (f *File) modify(op string, fn func(fd int) error) error {
	if f.fs.opts.ReadOnly {
		return pathErr(op, f.name, ErrReadOnly)
	}
	return f.control(op, fn)
}

// Truncate changes the size of the file.
func (f *File) Truncate(size int64) error {
	return f.modify("truncate", func(fd int) error {
		return ignoringEINTR0(func() error { return unix.Ftruncate(fd, size) })
	})
}

// Allocate reserves space for size bytes without changing the file size
// (fallocate FALLOC_FL_KEEP_SIZE). A file system that cannot do it is not
// an error.
func (f *File) Allocate(size int64) error {
	if size <= 0 {
		return nil
	}
	return f.modify("fallocate", func(fd int) error {
		err := ignoringEINTR0(func() error { return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 0, size) })
		if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
			return nil
		}
		return err
	})
}

// Stat describes the open file.
func (f *File) Stat() (Info, error) {
	var info Info
	err := f.control("stat", func(fd int) error {
		var st unix.Statx_t
		if err := statx(fd, "", unix.AT_EMPTY_PATH, &st); err != nil {
			return err
		}
		info = f.fs.makeInfo(baseName(f.name), &st, f.fs.dosByFd(fd, statxKey(&st)))
		return nil
	})
	return info, err
}

// SetTimes sets the access and write times of the file and stores the
// creation time (Linux cannot set btime, so it goes to the dosattrib
// xattr with 100 ns precision, and then wins over btime). Zero fields are
// left unchanged;
// Change cannot be set and is ignored.
func (f *File) SetTimes(t Times) error {
	return f.modify("settimes", func(fd int) error {
		if !t.Access.IsZero() || !t.Write.IsZero() {
			ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
			if !t.Access.IsZero() {
				ts[0] = unix.Timespec{Sec: t.Access.Unix(), Nsec: int64(t.Access.Nanosecond())}
			}
			if !t.Write.IsZero() {
				ts[1] = unix.Timespec{Sec: t.Write.Unix(), Nsec: int64(t.Write.Nanosecond())}
			}
			err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
			if err == unix.EINVAL || err == unix.ENOENT {
				// Kernels before AT_EMPTY_PATH support in utimensat.
				err = unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), ts, 0)
			}
			if err != nil {
				return err
			}
		}
		if !t.Birth.IsZero() {
			return f.fs.updateDOS(fd, f.getKey(), func(r *dosRecord) {
				r.flags |= dosHasBirth
				r.birth = toNTTime(t.Birth)
			})
		}
		return nil
	})
}

// SetAttributes stores the DOS attributes (MS-FSCC 2.6). DIRECTORY and
// NORMAL are derived, not stored; SPARSE_FILE is kept as it was (SetSparse). Clearing READONLY on a file whose mode
// has no owner write bit adds that bit, since READONLY is also reported
// from the mode.
func (f *File) SetAttributes(attr uint32) error {
	return f.modify("setattr", func(fd int) error {
		if attr&AttrReadOnly == 0 {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				return err
			}
			if st.Mode&0o222 == 0 {
				if err := unix.Fchmod(fd, (st.Mode&0o7777)|0o200); err != nil {
					return err
				}
			}
		}
		return f.fs.updateDOS(fd, f.getKey(), func(r *dosRecord) {
			sparse := r.attr & AttrSparse
			if r.flags&dosHasAttr == 0 {
				sparse = 0
			}
			r.flags |= dosHasAttr
			r.attr = attr&attrStorable&^AttrSparse | sparse
		})
	})
}

// ReadDir lists the whole directory (without "." and "..") with the Info
// of each entry. Symlinks are followed when they resolve inside the share;
// others are listed as themselves with Info.Symlink set. Unlike the other
// File methods it needs the FS still open (os.ErrClosed otherwise).
func (f *File) ReadDir() ([]DirEntry, error) {
	if !f.isDir {
		return nil, pathErr("readdir", f.name, unix.ENOTDIR)
	}
	// Following symlinks may retry from the share root: the FS must be open.
	if err := f.fs.acquire(); err != nil {
		return nil, pathErr("readdir", f.name, err)
	}
	defer f.fs.release()
	f.dirMu.Lock()
	defer f.dirMu.Unlock()
	var out []DirEntry
	err := f.control("readdir", func(fd int) error {
		if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
			return err
		}
		names, err := getdentsNames(fd)
		if err != nil {
			return err
		}
		out = make([]DirEntry, 0, len(names))
		prefix := "/proc/self/fd/" + strconv.Itoa(fd) + "/"
		for _, n := range names {
			info, ok := f.fs.entryInfo(fd, f.name, n, prefix)
			if ok {
				out = append(out, DirEntry{Name: n, Info: info})
			}
		}
		return nil
	})
	return out, err
}

// entryInfo stats entry name of directory dirfd (real path dirpath). It
// reports false for an entry that vanished meanwhile.
func (fs *FS) entryInfo(dirfd int, dirpath, name, procPrefix string) (Info, bool) {
	var st unix.Statx_t
	if err := statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, &st); err != nil {
		return Info{}, false
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		fd, err := fs.openat(dirfd, dirpath, name, unix.O_PATH, 0)
		if err == nil {
			defer unix.Close(fd)
			var tst unix.Statx_t
			if statx(fd, "", unix.AT_EMPTY_PATH, &tst) == nil {
				return fs.makeInfo(name, &tst, fs.dosByPathFd(fd, statxKey(&tst))), true
			}
		}
		info := fs.makeInfo(name, &st, dosRecord{})
		info.Symlink = true
		return info, true
	}
	var rec dosRecord
	if fs.procFD {
		rec = fs.dosByPath(procPrefix+name, false, statxKey(&st))
	} else if fd, err := fs.openat(dirfd, dirpath, name, unix.O_PATH|unix.O_NOFOLLOW, 0); err == nil {
		rec = fs.dosByPathFd(fd, statxKey(&st))
		unix.Close(fd)
	}
	return fs.makeInfo(name, &st, rec), true
}

func statx(dirfd int, name string, flags int, st *unix.Statx_t) error {
	return ignoringEINTR0(func() error {
		return unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT,
			unix.STATX_BASIC_STATS|unix.STATX_BTIME, st)
	})
}

func statxKey(st *unix.Statx_t) devIno {
	return devIno{unix.Mkdev(st.Dev_major, st.Dev_minor), st.Ino}
}

func tsTime(t unix.StatxTimestamp) time.Time { return time.Unix(t.Sec, int64(t.Nsec)) }

func (fs *FS) makeInfo(name string, st *unix.Statx_t, rec dosRecord) Info {
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	info := Info{
		Name:      name,
		Size:      int64(st.Size),
		AllocSize: int64(st.Blocks) * 512,
		IsDir:     isDir,
		Nlink:     st.Nlink,
		Mode:      uint32(st.Mode),
		FileID:    st.Ino,
		Dev:       unix.Mkdev(st.Dev_major, st.Dev_minor),
		Access:    tsTime(st.Atime),
		Write:     tsTime(st.Mtime),
		Change:    tsTime(st.Ctime),
	}
	if isDir {
		info.Size, info.AllocSize = 0, 0
	}
	if b, ok := rec.birthTime(); ok {
		info.Birth = b
	} else if st.Mask&unix.STATX_BTIME != 0 && (st.Btime.Sec != 0 || st.Btime.Nsec != 0) {
		info.Birth = tsTime(st.Btime)
	} else {
		info.Birth = info.Access
		if info.Write.Before(info.Birth) {
			info.Birth = info.Write
		}
		if info.Change.Before(info.Birth) {
			info.Birth = info.Change
		}
	}
	info.Attributes = dosAttributes(name, isDir, info.Mode, rec.attr, rec.flags&dosHasAttr != 0)
	return info
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// UseFd runs fn with the descriptor held open: a concurrent Close waits
// until fn returns, so the number cannot be reused under fn (the zero-copy
// READ path splices from it).
func (f *File) UseFd(fn func(fd int) error) error {
	if !f.acquire() {
		return pathErr("use", f.name, os.ErrClosed)
	}
	defer f.release()
	return fn(f.fd)
}
