//go:build linux

package vfs

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dosByFd reads the dosattrib record through a readable fd.
func (fs *FS) dosByFd(fd int, key devIno) dosRecord {
	if fs.noXattr.Load() {
		return fs.dosFromMem(key)
	}
	var buf [64]byte
	n, err := unix.Fgetxattr(fd, XattrDOS, buf[:])
	if err != nil {
		return dosRecord{}
	}
	r, _ := parseDOSRecord(buf[:n])
	return r
}

// dosByPath reads the dosattrib record of a /proc/self/fd path, following
// a final symlink (a /proc/self/fd/N magic link itself) or not.
func (fs *FS) dosByPath(path string, follow bool, key devIno) dosRecord {
	if fs.noXattr.Load() {
		return fs.dosFromMem(key)
	}
	var buf [64]byte
	get := unix.Lgetxattr
	if follow {
		get = unix.Getxattr
	}
	n, err := get(path, XattrDOS, buf[:])
	if err != nil {
		return dosRecord{}
	}
	r, _ := parseDOSRecord(buf[:n])
	return r
}

// dosByPathFd reads the dosattrib record of an O_PATH fd.
func (fs *FS) dosByPathFd(fd int, key devIno) dosRecord {
	if fs.noXattr.Load() || !fs.procFD {
		return fs.dosFromMem(key)
	}
	return fs.dosByPath("/proc/self/fd/"+strconv.Itoa(fd), true, key)
}

func (fs *FS) dosFromMem(key devIno) dosRecord {
	fs.memMu.Lock()
	defer fs.memMu.Unlock()
	return fs.memAttrs[key]
}

// updateDOS changes the dosattrib record of a file through a readable fd:
// in the xattr while the file system takes user xattrs, else (from the
// first ENOTSUP on) in memory for the life of the FS.
func (fs *FS) updateDOS(fd int, key devIno, fn func(*dosRecord)) error {
	l := &fs.attrLocks[key.ino%uint64(len(fs.attrLocks))]
	l.Lock()
	defer l.Unlock()
	if !fs.noXattr.Load() {
		r := fs.dosByFd(fd, key)
		fn(&r)
		err := fs.fsetxattr(fd, XattrDOS, r.marshal(), 0)
		if err != unix.ENOTSUP && err != unix.EOPNOTSUPP {
			return err
		}
		fs.noXattr.Store(true)
	}
	fs.memMu.Lock()
	defer fs.memMu.Unlock()
	r := fs.memAttrs[key]
	fn(&r)
	if fs.memAttrs == nil {
		fs.memAttrs = make(map[devIno]dosRecord)
	}
	fs.memAttrs[key] = r
	return nil
}

// forgetDOS drops the in-memory record of a removed inode, so a new file
// reusing the inode number does not inherit it.
func (fs *FS) forgetDOS(key devIno) {
	if !fs.noXattr.Load() {
		return
	}
	fs.memMu.Lock()
	delete(fs.memAttrs, key)
	fs.memMu.Unlock()
}

// maxXattrName is the kernel's XATTR_NAME_MAX.
const maxXattrName = 255

// ListEAs returns the file's SMB extended attributes (MS-FSCC 2.4.15),
// stored as user xattrs named XattrEAPrefix+name. A file system without
// user xattrs gives an error wrapping ENOTSUP.
func (f *File) ListEAs() ([]EA, error) { return f.listPrefixed("listea", XattrEAPrefix) }

// SetEA sets one extended attribute; an empty value deletes it (deleting a
// missing one is not an error).
func (f *File) SetEA(name string, value []byte) error {
	return f.setPrefixed("setea", XattrEAPrefix, name, value)
}

// Streams returns the alternate data streams of the file, stored as user
// xattrs named XattrStreamPrefix+name; a stream is limited to what one
// xattr holds (64 KiB at most, E2BIG beyond; on ext4 without ea_inode all
// of a file's xattrs share one block of about 4 KiB, ENOSPC beyond).
func (f *File) Streams() ([]EA, error) { return f.listPrefixed("liststreams", XattrStreamPrefix) }

// Stream returns the content of one alternate data stream.
func (f *File) Stream(name string) ([]byte, error) {
	if err := checkXattrName(XattrStreamPrefix, name); err != nil {
		return nil, pathErr("getstream", f.name, err)
	}
	var v []byte
	err := f.control("getstream", func(fd int) error {
		var err error
		v, err = getxattrAll(fd, XattrStreamPrefix+name)
		if err == unix.ENODATA {
			return unix.ENOENT
		}
		return err
	})
	return v, err
}

// SetStream replaces the content of an alternate data stream, creating it.
func (f *File) SetStream(name string, data []byte) error {
	if err := checkXattrName(XattrStreamPrefix, name); err != nil {
		return pathErr("setstream", f.name, err)
	}
	return f.modify("setstream", func(fd int) error {
		return unix.Fsetxattr(fd, XattrStreamPrefix+name, data, 0)
	})
}

// RemoveStream deletes an alternate data stream (ENOENT if missing).
func (f *File) RemoveStream(name string) error {
	if err := checkXattrName(XattrStreamPrefix, name); err != nil {
		return pathErr("removestream", f.name, err)
	}
	return f.modify("removestream", func(fd int) error {
		err := unix.Fremovexattr(fd, XattrStreamPrefix+name)
		if err == unix.ENODATA {
			return unix.ENOENT
		}
		return err
	})
}

func checkXattrName(prefix, name string) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return ErrInvalidName
	}
	if len(prefix)+len(name) > maxXattrName {
		return nameTooLongError{}
	}
	return nil
}

func (f *File) setPrefixed(op, prefix, name string, value []byte) error {
	if err := checkXattrName(prefix, name); err != nil {
		return pathErr(op, f.name, err)
	}
	return f.modify(op, func(fd int) error {
		if len(value) == 0 {
			err := unix.Fremovexattr(fd, prefix+name)
			if err == unix.ENODATA {
				return nil
			}
			return err
		}
		return unix.Fsetxattr(fd, prefix+name, value, 0)
	})
}

func (f *File) listPrefixed(op, prefix string) ([]EA, error) {
	var out []EA
	err := f.control(op, func(fd int) error {
		names, err := listxattrAll(fd)
		if err != nil {
			return err
		}
		for _, n := range names {
			short, ok := strings.CutPrefix(n, prefix)
			if !ok || short == "" {
				continue
			}
			v, err := getxattrAll(fd, n)
			if err == unix.ENODATA {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			out = append(out, EA{Name: short, Value: v})
		}
		return nil
	})
	return out, err
}

func listxattrAll(fd int) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Flistxattr(fd, buf)
		if err == unix.ERANGE {
			sz, err := unix.Flistxattr(fd, nil)
			if err != nil {
				return nil, err
			}
			buf = make([]byte, sz+256)
			continue
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

func getxattrAll(fd int, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Fgetxattr(fd, name, buf)
		if err == unix.ERANGE {
			sz, err := unix.Fgetxattr(fd, name, nil)
			if err != nil {
				return nil, err
			}
			buf = make([]byte, sz+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n:n], nil
	}
}
