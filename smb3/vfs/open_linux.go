//go:build linux

package vfs

import "golang.org/x/sys/unix"

// OpenFile opens or creates name (share-relative, '/'-separated, "" for
// the root), matching every component case-insensitively unless the share
// is case-sensitive. created reports whether this call made the file.
// mode 0 means 0644 for files and 0755 for directories; the mode is applied
// exactly, whatever the process umask.
//
// On a case-insensitive share, creating a name that exists in another case
// opens that file (or fails with EEXIST under Excl): the check and the
// create are atomic with respect to other callers of this FS.
func (fs *FS) OpenFile(name string, fl OpenFlags, mode uint32) (f *File, created bool, err error) {
	comps, err := splitName(name)
	if err != nil {
		return nil, false, pathErr("open", name, err)
	}
	if fs.opts.ReadOnly && (fl.Write || fl.Truncate || (fl.Create && fl.Excl)) {
		return nil, false, pathErr("open", name, ErrReadOnly)
	}
	if fl.Directory && fl.NonDirectory {
		return nil, false, pathErr("open", name, ErrInvalidName)
	}
	if err := fs.acquire(); err != nil {
		return nil, false, err
	}
	defer fs.release()

	if len(comps) == 0 {
		f, err := fs.openRoot(fl)
		return f, false, pathErr("open", name, err)
	}
	// Fast path: the name exists as given.
	var fastErr error
	if !fl.Create {
		f, err := fs.openExisting(fs.root, "", name, fl)
		if err != unix.ENOENT && err != unix.ENOTDIR {
			return f, false, pathErr("open", name, err)
		}
		fastErr = err
	}
	dir, err := fs.walkDir(comps[:len(comps)-1])
	if err != nil {
		return nil, false, pathErr("open", name, err)
	}
	defer dir.close()
	last := comps[len(comps)-1]

	if !fl.Create {
		// With the directory found as given, the fast path's ENOENT was
		// about the last component (barring a race, which only costs a
		// not-found): go straight to the index.
		tryExact := !(dir.exact && fastErr == unix.ENOENT)
		real, _, err := fs.lookupOpt(dir, last, nil, tryExact)
		if err != nil {
			return nil, false, pathErr("open", name, err)
		}
		f, err := fs.openExisting(dir.fd, dir.path, real, fl)
		return f, false, pathErr("open", name, err)
	}
	if fs.opts.CaseSensitive {
		// Create first: the kernel checks existence atomically.
		for try := 0; ; try++ {
			if !fs.opts.ReadOnly {
				f, err := fs.create(dir, last, fl, mode)
				if err == nil {
					return f, true, nil
				}
				if err != unix.EEXIST || fl.Excl {
					return nil, false, pathErr("open", name, err)
				}
			}
			f, err := fs.openExisting(dir.fd, dir.path, last, fl)
			if err == unix.ENOENT && !fs.opts.ReadOnly && try < 3 {
				continue // removed meanwhile
			}
			if err == unix.ENOENT && fs.opts.ReadOnly {
				err = ErrReadOnly
			}
			return f, false, pathErr("open", name, err)
		}
	}
	// Case-insensitive: hold the index from the check to the create; it is
	// exact for our own changes, and the O_EXCL create catches anyone else.
	ix, err := fs.lockIndex(dir)
	if err != nil {
		return nil, false, pathErr("open", name, err)
	}
	defer ix.mu.Unlock()
	for try := 0; ; try++ {
		real, ok := ix.lookup(last)
		if ok {
			if fl.Excl {
				return nil, false, pathErr("open", name, unix.EEXIST)
			}
			f, err := fs.openExisting(dir.fd, dir.path, real, fl)
			if err == unix.ENOENT && try < 3 {
				// Removed by someone else, or a dangling symlink.
				if ferr := fs.forceRefresh(ix, dir.fd); ferr != nil {
					return nil, false, pathErr("open", name, ferr)
				}
				if _, still := ix.lookup(last); !still {
					continue
				}
			}
			return f, false, pathErr("open", name, err)
		}
		if fs.opts.ReadOnly {
			return nil, false, pathErr("open", name, ErrReadOnly)
		}
		f, err := fs.create(dir, last, fl, mode)
		if err == unix.EEXIST && try < 3 {
			// Created by someone else since our index was validated.
			if ferr := fs.forceRefresh(ix, dir.fd); ferr != nil {
				return nil, false, pathErr("open", name, ferr)
			}
			continue
		}
		if err != nil {
			return nil, false, pathErr("open", name, err)
		}
		ix.add(last)
		restamp(ix, dir.fd)
		return f, true, nil
	}
}

func (fs *FS) openRoot(fl OpenFlags) (*File, error) {
	switch {
	case fl.Create && fl.Excl:
		return nil, unix.EEXIST
	case fl.NonDirectory, fl.Truncate:
		return nil, unix.EISDIR
	}
	fd, err := ignoringEINTR(func() (int, error) {
		return unix.Openat(fs.root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, err
	}
	return fs.newFile(fd, "", fl, false)
}

// openExisting opens name beneath dirfd (real path dirpath) per fl. It
// returns bare errnos (or ErrEscape) for the caller to wrap.
func (fs *FS) openExisting(dirfd int, dirpath, name string, fl OpenFlags) (*File, error) {
	flags := unix.O_RDONLY
	switch {
	case fl.Directory:
		flags = unix.O_RDONLY | unix.O_DIRECTORY
	case fl.Write:
		flags = unix.O_RDWR
	}
	if fl.Truncate && !fl.Directory {
		flags |= unix.O_TRUNC
	}
	// O_NONBLOCK: a FIFO must not block the open; cleared in newFile.
	flags |= unix.O_NONBLOCK | unix.O_NOCTTY
	fd, err := fs.openat(dirfd, dirpath, name, flags, 0)
	if err == unix.EISDIR && !fl.NonDirectory && !fl.Truncate {
		// A directory opened for writing: directories get read-only fds.
		fd, err = fs.openat(dirfd, dirpath, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, err
	}
	return fs.newFile(fd, joinPath(dirpath, name), fl, true)
}

// newFile wraps an fd just opened, checking its type against fl. It takes
// ownership of fd.
func (fs *FS) newFile(fd int, path string, fl OpenFlags, nonblock bool) (*File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	isDir := false
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		isDir = true
		if fl.NonDirectory {
			unix.Close(fd)
			return nil, unix.EISDIR
		}
	case unix.S_IFREG:
		if fl.Directory {
			unix.Close(fd)
			return nil, unix.ENOTDIR
		}
	default:
		unix.Close(fd)
		return nil, ErrNotRegular
	}
	if nonblock && !isDir {
		// We opened with no status flag but O_NONBLOCK: clear them all.
		// (io_uring would otherwise return EAGAIN instead of waiting.)
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	f := &File{fs: fs, fd: fd, name: path, isDir: isDir, key: devIno{st.Dev, st.Ino}}
	f.keyOnce.Do(func() {})
	return f, nil
}

// create makes last in dir (which the caller checked to be free) and opens it.
func (fs *FS) create(dir dirRef, last string, fl OpenFlags, mode uint32) (*File, error) {
	var fd int
	var err error
	if fl.Directory {
		if mode == 0 {
			mode = 0o755
		}
		if err := ignoringEINTR0(func() error { return unix.Mkdirat(dir.fd, last, mode) }); err != nil {
			return nil, err
		}
		fd, err = fs.openat(dir.fd, dir.path, last, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	} else {
		if mode == 0 {
			mode = 0o644
		}
		flags := unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_RDONLY
		if fl.Write {
			flags = unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_RDWR
		}
		fd, err = fs.openat(dir.fd, dir.path, last, flags, mode)
	}
	if err != nil {
		return nil, err
	}
	mode &= 0o7777
	if mode&fs.umask != 0 {
		// The umask took bits away: put them back.
		if err := unix.Fchmod(fd, mode); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return &File{fs: fs, fd: fd, name: joinPath(dir.path, last), isDir: fl.Directory}, nil
}
