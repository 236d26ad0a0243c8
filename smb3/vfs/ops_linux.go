//go:build linux

package vfs

import (
	"crypto/rand"
	"encoding/hex"

	"golang.org/x/sys/unix"
)

// Stat describes name, following symlinks that stay inside the share.
func (fs *FS) Stat(name string) (Info, error) {
	comps, err := splitName(name)
	if err != nil {
		return Info{}, pathErr("stat", name, err)
	}
	if err := fs.acquire(); err != nil {
		return Info{}, err
	}
	defer fs.release()
	var fd int
	var real string
	if len(comps) == 0 {
		fd, err = ignoringEINTR(func() (int, error) {
			return unix.Openat(fs.root, ".", unix.O_PATH|unix.O_CLOEXEC, 0)
		})
	} else {
		fd, err = fs.openat(fs.root, "", name, unix.O_PATH, 0)
		real = comps[len(comps)-1]
		if err == unix.ENOENT || err == unix.ENOTDIR {
			var dir dirRef
			dir, err = fs.walkDir(comps[:len(comps)-1])
			if err == nil {
				real, _, err = fs.lookup(dir, comps[len(comps)-1], nil)
				if err == nil {
					fd, err = fs.openat(dir.fd, dir.path, real, unix.O_PATH, 0)
				}
				dir.close()
			}
		}
	}
	if err != nil {
		return Info{}, pathErr("stat", name, err)
	}
	defer unix.Close(fd)
	var st unix.Statx_t
	if err := statx(fd, "", unix.AT_EMPTY_PATH, &st); err != nil {
		return Info{}, pathErr("stat", name, err)
	}
	key := statxKey(&st)
	rec := fs.dosByPathFd(fd, key)
	return fs.makeInfo(real, &st, rec), nil
}

// parentOf validates name, refuses the root, and opens its parent.
func (fs *FS) parentOf(op, name string) (dirRef, string, error) {
	comps, err := splitName(name)
	if err != nil {
		return dirRef{}, "", pathErr(op, name, err)
	}
	if len(comps) == 0 {
		return dirRef{}, "", pathErr(op, name, unix.EACCES)
	}
	dir, err := fs.walkDir(comps[:len(comps)-1])
	if err != nil {
		return dirRef{}, "", pathErr(op, name, err)
	}
	return dir, comps[len(comps)-1], nil
}

// Remove removes a file, a symlink (not its target) or an empty directory
// (ENOTEMPTY otherwise).
func (fs *FS) Remove(name string) error {
	if fs.opts.ReadOnly {
		return pathErr("remove", name, ErrReadOnly)
	}
	if err := fs.acquire(); err != nil {
		return err
	}
	defer fs.release()
	dir, last, err := fs.parentOf("remove", name)
	if err != nil {
		return err
	}
	defer dir.close()
	var ix *dirIndex
	if !fs.opts.CaseSensitive {
		if ix, err = fs.lockIndex(dir); err != nil {
			return pathErr("remove", name, err)
		}
		defer ix.mu.Unlock()
	}
	real, st, err := fs.lookup(dir, last, ix)
	if err != nil {
		return pathErr("remove", name, err)
	}
	if st == nil {
		st = new(unix.Stat_t)
		if err := unix.Fstatat(dir.fd, real, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return pathErr("remove", name, err)
		}
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	flags := 0
	if isDir {
		flags = unix.AT_REMOVEDIR
	}
	if err := ignoringEINTR0(func() error { return unix.Unlinkat(dir.fd, real, flags) }); err != nil {
		return pathErr("remove", name, err)
	}
	if ix != nil {
		ix.remove(real)
		restamp(ix, dir.fd)
	}
	key := devIno{st.Dev, st.Ino}
	if isDir {
		fs.index.drop(key)
	}
	if isDir || st.Nlink <= 1 {
		fs.forgetDOS(key)
	}
	return nil
}

// Rename renames oldName to newName, files and directories alike. Without
// replace an existing newName (in any case, on a case-insensitive share)
// fails with EEXIST; with replace it is replaced atomically and the result
// takes the case of newName. Renaming a name to another case of itself
// changes its case.
func (fs *FS) Rename(oldName, newName string, replace bool) error {
	return fs.moveOrLink("rename", oldName, newName, replace)
}

// Link makes newName a hard link to oldName (not following a symlink
// oldName). Replacing an existing newName is atomic.
func (fs *FS) Link(oldName, newName string, replace bool) error {
	return fs.moveOrLink("link", oldName, newName, replace)
}

func (fs *FS) moveOrLink(op, oldName, newName string, replace bool) error {
	if fs.opts.ReadOnly {
		return pathErr(op, oldName, ErrReadOnly)
	}
	if err := fs.acquire(); err != nil {
		return err
	}
	defer fs.release()
	odir, olast, err := fs.parentOf(op, oldName)
	if err != nil {
		return err
	}
	defer odir.close()
	ndir, nlast, err := fs.parentOf(op, newName)
	if err != nil {
		return err
	}
	defer ndir.close()

	var oix, nix *dirIndex
	if !fs.opts.CaseSensitive {
		if oix, nix, err = fs.lockIndex2(odir, ndir); err != nil {
			return pathErr(op, oldName, err)
		}
		defer oix.mu.Unlock()
		if nix != nil {
			defer nix.mu.Unlock()
		}
	}
	sameDir := nix == nil && oix != nil
	if nix == nil {
		nix = oix
	}
	oreal, _, err := fs.lookup(odir, olast, oix)
	if err != nil {
		return pathErr(op, oldName, err)
	}
	nreal, _, err := fs.lookup(ndir, nlast, nix)
	nexists := err == nil
	if err != nil && err != unix.ENOENT {
		return pathErr(op, newName, err)
	}
	if fs.opts.CaseSensitive {
		sameDir = sameDirs(odir, ndir)
	}

	var replaced *devIno // a file whose last name the operation removes
	switch {
	case nexists && sameDir && nreal == oreal:
		// The same entry: a change of case, or nothing.
		if op == "link" {
			return pathErr(op, newName, unix.EEXIST)
		}
		if nlast == oreal {
			return nil
		}
		if err := renameat2(odir.fd, oreal, ndir.fd, nlast, unix.RENAME_NOREPLACE); err != nil {
			return pathErr(op, newName, err)
		}
	case nexists && !replace:
		return pathErr(op, newName, unix.EEXIST)
	case nexists && op == "rename" && sameInode(odir.fd, oreal, ndir.fd, nreal):
		// Two links of one file: rename(2) would do nothing and keep both;
		// what was asked is that only the new name remain.
		if err := ignoringEINTR0(func() error { return unix.Unlinkat(odir.fd, oreal, 0) }); err != nil {
			return pathErr(op, oldName, err)
		}
		if nreal != nlast {
			if err := renameat2(ndir.fd, nreal, ndir.fd, nlast, unix.RENAME_NOREPLACE); err == nil && nix != nil {
				nix.remove(nreal)
			} else {
				nlast = ""
			}
		} else {
			nlast = ""
		}
	case nexists:
		if fs.noXattr.Load() {
			// The replaced file's in-memory attributes must not pass to a
			// later file that reuses its inode number.
			var st unix.Stat_t
			if unix.Fstatat(ndir.fd, nreal, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
				(st.Nlink <= 1 || st.Mode&unix.S_IFMT == unix.S_IFDIR) {
				replaced = &devIno{st.Dev, st.Ino}
			}
		}
		src, srcDir := oreal, odir.fd
		if op == "link" {
			// Link under a temporary name, then rename over the target.
			tmp := tempName()
			if err := unix.Linkat(odir.fd, oreal, ndir.fd, tmp, 0); err != nil {
				return pathErr(op, newName, err)
			}
			src, srcDir = tmp, ndir.fd
		}
		if err := renameat2(srcDir, src, ndir.fd, nreal, 0); err != nil {
			if op == "link" {
				unix.Unlinkat(ndir.fd, src, 0)
			}
			return pathErr(op, newName, err)
		}
		if nix != nil {
			nix.remove(nreal)
		}
		if nreal != nlast {
			// Give the result the requested case.
			if err := renameat2(ndir.fd, nreal, ndir.fd, nlast, unix.RENAME_NOREPLACE); err != nil {
				if nix != nil {
					nix.add(nreal)
				}
				nlast = ""
			}
		}
	default:
		var err error
		if op == "link" {
			err = unix.Linkat(odir.fd, oreal, ndir.fd, nlast, 0)
		} else {
			flags := uint(unix.RENAME_NOREPLACE)
			if replace {
				flags = 0
			}
			err = renameat2(odir.fd, oreal, ndir.fd, nlast, flags)
		}
		if err != nil {
			return pathErr(op, newName, err)
		}
	}
	if replaced != nil {
		fs.forgetDOS(*replaced)
	}
	if oix != nil {
		if op == "rename" {
			oix.remove(oreal)
		}
		if nlast != "" {
			nix.add(nlast)
		}
		restamp(oix, odir.fd)
		if nix != oix {
			restamp(nix, ndir.fd)
		}
	}
	return nil
}

func sameInode(dir1 int, name1 string, dir2 int, name2 string) bool {
	var s1, s2 unix.Stat_t
	return unix.Fstatat(dir1, name1, &s1, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		unix.Fstatat(dir2, name2, &s2, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		s1.Dev == s2.Dev && s1.Ino == s2.Ino
}

func sameDirs(a, b dirRef) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(a.fd, &sa) == nil && unix.Fstat(b.fd, &sb) == nil &&
		sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// renameat2 falls back to an exists check when the file system does not
// support RENAME_NOREPLACE.
func renameat2(olddir int, oldname string, newdir int, newname string, flags uint) error {
	err := ignoringEINTR0(func() error { return unix.Renameat2(olddir, oldname, newdir, newname, flags) })
	if err == unix.EINVAL && flags&unix.RENAME_NOREPLACE != 0 {
		var st unix.Stat_t
		if unix.Fstatat(newdir, newname, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return unix.EEXIST
		}
		err = ignoringEINTR0(func() error { return unix.Renameat(olddir, oldname, newdir, newname) })
	}
	return err
}

// tempName is a name for the moment between linkat and renameat when
// Link replaces a target; it is never left behind.
func tempName() string {
	var b [12]byte
	rand.Read(b[:])
	return ".smb3d-tmp-" + hex.EncodeToString(b[:])
}
