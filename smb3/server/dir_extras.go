package server

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
)

// Per-entry extras of a directory listing: EaSize (MS-FSCC 2.4.8 and the
// other directory classes: what FileEaInformation reports) and the
// AllocationSize correction of fixAllocSize. Both need the file's xattrs or
// extent map, so a regular file or directory is opened once (O_NOFOLLOW,
// O_NONBLOCK) and everything is read through that fd; other file types are
// not opened. The results are cached by inode and ctime (changing an xattr,
// the data or the allocation moves the ctime), so listing a directory again
// costs one fstatat per entry.

// extrasCache maps inodes to their extras; it is dropped whole when full.
var extrasCache struct {
	mu sync.Mutex
	m  map[inodeKey]entryExtras
}

const maxExtrasCache = 1 << 17

type entryExtras struct {
	ctime int64 // the ctime (ns) these were read at
	ea    uint32
	alloc int64 // corrected AllocationSize, or -1 to keep st_blocks
}

// fillExtras sets fi.EASize and corrects fi.AllocationSize for entry e of
// the directory open as dirfd. check asks whether the entry still exists;
// fillExtras reports false if it does not.
func fillExtras(dirfd int, e *dirEntry, fi *fscc.FileInfo, check bool) bool {
	k := inodeKey{e.dev, fi.FileID}
	extrasCache.mu.Lock()
	c, hit := extrasCache.m[k]
	extrasCache.mu.Unlock()
	if hit && c.ctime == e.ctime {
		if check && !entryExists(dirfd, fi.Name) {
			return false
		}
		c.apply(fi)
		return true
	}
	c = entryExtras{ctime: e.ctime, alloc: -1}
	if !e.regular && !fi.Directory {
		if check && !entryExists(dirfd, fi.Name) {
			return false
		}
		c.ea = eaSizeAt(dirfd, fi.Name)
		c.apply(fi)
		return true
	}
	fd, err := unix.Openat(dirfd, fi.Name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return false
	case err != nil:
		// Not readable by the server (or a symlink raced in): the path
		// forms, without the extent map.
		if check && !entryExists(dirfd, fi.Name) {
			return false
		}
		c.ea = eaSizeAt(dirfd, fi.Name)
		c.apply(fi)
		return true
	}
	c.ea = eaSizeFd(fd)
	if e.regular {
		before := fi.AllocationSize
		fixAllocSize(fi, fd)
		if fi.AllocationSize != before {
			c.alloc = fi.AllocationSize
		}
	}
	unix.Close(fd)
	c.apply(fi)
	extrasCache.mu.Lock()
	if extrasCache.m == nil || len(extrasCache.m) >= maxExtrasCache {
		extrasCache.m = make(map[inodeKey]entryExtras)
	}
	extrasCache.m[k] = c
	extrasCache.mu.Unlock()
	return true
}

func (c *entryExtras) apply(fi *fscc.FileInfo) {
	fi.EASize = c.ea
	if c.alloc >= 0 {
		fi.AllocationSize = c.alloc
	}
}

// entryExists reports whether name is still in the directory dirfd.
func entryExists(dirfd int, name string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return err != unix.ENOENT && err != unix.ENOTDIR
}

// eaSizeFd returns the EaSize of the file open as fd.
func eaSizeFd(fd int) uint32 {
	return eaSize(
		func(buf []byte) (int, error) { return unix.Flistxattr(fd, buf) },
		func(name string) (int, error) { return unix.Fgetxattr(fd, name, nil) })
}

// eaSizeAt returns the EaSize of entry name of directory dirfd, without
// opening it.
func eaSizeAt(dirfd int, name string) uint32 {
	p := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
	return eaSize(
		func(buf []byte) (int, error) { return unix.Llistxattr(p, buf) },
		func(name string) (int, error) { return unix.Lgetxattr(p, name, nil) })
}

// eaSize sums the FILE_FULL_EA_INFORMATION size of the SMB EAs among the
// xattrs list returns, sizing each value with size. One list call for a
// file without EAs.
func eaSize(list func([]byte) (int, error), size func(string) (int, error)) uint32 {
	var buf [512]byte
	names := buf[:]
	n, err := list(names)
	if err == unix.ERANGE {
		sz, err := list(nil)
		if err != nil || sz <= 0 {
			return 0
		}
		names = make([]byte, sz+64)
		n, err = list(names)
	}
	if err != nil || n <= 0 {
		return 0
	}
	names = names[:n]
	var eas []fscc.FullEa
	for len(names) > 0 {
		i := bytes.IndexByte(names, 0)
		if i < 0 {
			break
		}
		x := string(names[:i])
		names = names[i+1:]
		ea, ok := strings.CutPrefix(x, vfs.XattrEAPrefix)
		if !ok || ea == "" {
			continue
		}
		sz, err := size(x)
		if err != nil {
			continue
		}
		eas = append(eas, fscc.FullEa{Name: ea, Value: make([]byte, sz)})
	}
	if len(eas) == 0 {
		return 0
	}
	return uint32(fscc.FullEaListLen(eas))
}
