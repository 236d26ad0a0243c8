package vfs

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"time"
)

// Options configures a share opened with Open.
type Options struct {
	// ReadOnly refuses every modification with ErrReadOnly.
	ReadOnly bool
	// CaseSensitive disables the case-insensitive name lookup: names are
	// matched byte for byte, as the local file system does.
	CaseSensitive bool
	// NoCrossMounts refuses names that cross a mount point inside the
	// share (RESOLVE_NO_XDEV), with ErrEscape. Without openat2 it compares
	// device numbers, which does not see bind mounts of the same file
	// system.
	NoCrossMounts bool
}

// OpenFlags selects how OpenFile opens or creates a name.
type OpenFlags struct {
	Create, Excl, Truncate bool // like O_CREAT, O_EXCL, O_TRUNC
	Directory              bool // the name must be (or is created as) a directory
	NonDirectory           bool // the name must not be a directory
	Write                  bool // open for writing (O_RDWR), else O_RDONLY; directories are always read-only fds
}

// DOS file attributes (MS-FSCC 2.6).
const (
	AttrReadOnly          = 0x1
	AttrHidden            = 0x2
	AttrSystem            = 0x4
	AttrDirectory         = 0x10
	AttrArchive           = 0x20
	AttrNormal            = 0x80
	AttrTemporary         = 0x100
	AttrSparse            = 0x200
	AttrOffline           = 0x1000
	AttrNotContentIndexed = 0x2000

	// attrStorable is what SetAttributes keeps; DIRECTORY and NORMAL are
	// derived from the file type and the other bits.
	// SPARSE_FILE is stored too, but only SetSparse changes it.
	attrStorable = AttrReadOnly | AttrHidden | AttrSystem | AttrArchive |
		AttrTemporary | AttrSparse | AttrOffline | AttrNotContentIndexed
)

// Info describes a file or directory.
type Info struct {
	Name      string // base name as stored on disk ("" for the share root)
	Size      int64
	AllocSize int64 // st_blocks * 512
	IsDir     bool
	Nlink     uint32
	Mode      uint32 // st_mode, type bits included (S_IFREG, S_IFDIR, S_IFLNK...)

	// FileID is the inode number, nothing else combined in: it is stable
	// for the life of the file and unique within Dev. A share never spans
	// file systems unless it contains mount points; then the server should
	// combine Dev in if it needs uniqueness.
	FileID uint64
	Dev    uint64

	// Birth is the stored creation time (set by SetTimes) if any, else the
	// statx btime when the file system has it, else the earliest of the
	// other three.
	Birth, Access, Write, Change time.Time

	// Attributes are the DOS attributes (MS-FSCC 2.6): DIRECTORY for
	// directories, the stored attributes if any (else ARCHIVE for files and
	// HIDDEN for names starting with '.'), READONLY whenever the mode has no
	// write bit, and NORMAL when nothing else is set.
	Attributes uint32

	// Symlink is set for a symbolic link that ReadDir could not follow
	// (dangling or pointing outside the share); the other fields then
	// describe the link itself.
	Symlink bool
}

// Times holds the times SetTimes changes; zero fields are left unchanged.
// Change cannot be set on Linux and is ignored.
type Times struct{ Birth, Access, Write, Change time.Time }

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name string
	Info Info
}

// EA is an extended attribute (MS-FSCC 2.4.15) or an alternate data stream.
type EA struct {
	Name  string
	Value []byte
}

// FSInfo describes the file system holding a share.
type FSInfo struct {
	BlockSize   uint32 // unit of the block counts (f_frsize)
	TotalBlocks uint64
	FreeBlocks  uint64
	AvailBlocks uint64 // free blocks available to unprivileged users
	Files       uint64 // total inodes (0 if unknown)
	FreeFiles   uint64
	MaxNameLen  uint32 // bytes per component
	Type        int64  // f_type magic of the local file system
	Name        string // always "NTFS": what clients expect to see
	// Serial is a volume serial number derived stably (FNV-1a) from the
	// file system id, or from the device number when the id is zero.
	Serial        uint32
	ReadOnly      bool
	CaseSensitive bool
}

// vfsError is a sentinel error that also unwraps to the errno a caller
// that maps only errnos would want to see.
type vfsError struct {
	msg   string
	errno syscall.Errno
}

func (e *vfsError) Error() string { return "vfs: " + e.msg }
func (e *vfsError) Unwrap() error { return e.errno }

var (
	// ErrEscape reports a name that would resolve outside the share root
	// ('..' through a symlink, an absolute symlink, a magic link...). It
	// unwraps to EACCES.
	ErrEscape error = &vfsError{"path escapes the share root", syscall.EACCES}
	// ErrReadOnly is returned for any modification of a read-only share.
	// It unwraps to EROFS.
	ErrReadOnly error = &vfsError{"share is read-only", syscall.EROFS}
	// ErrInvalidName reports a name with NUL, an empty, "." or ".."
	// component, a leading '/', or a component longer than 255 bytes. It
	// unwraps to EINVAL (ENAMETOOLONG for the length).
	ErrInvalidName error = &vfsError{"invalid name", syscall.EINVAL}
	// ErrPathNotFound marks a not-found error where a directory on the way
	// is missing (or is not a directory), as opposed to the last component:
	// STATUS_OBJECT_PATH_NOT_FOUND versus STATUS_OBJECT_NAME_NOT_FOUND.
	ErrPathNotFound = errors.New("vfs: path not found")
	// ErrNotRegular is returned when opening something that is neither a
	// regular file nor a directory (FIFO, socket, device). It unwraps to
	// EACCES.
	ErrNotRegular error = &vfsError{"not a regular file or directory", syscall.EACCES}
	// ErrNotSupported is returned by the stub on platforms other than Linux.
	ErrNotSupported error = &vfsError{"not supported on this platform", syscall.ENOSYS}
)

// nameTooLong is ErrInvalidName for an over-long component; it unwraps to
// both ErrInvalidName and ENAMETOOLONG.
type nameTooLongError struct{}

func (nameTooLongError) Error() string   { return "vfs: invalid name: component longer than 255 bytes" }
func (nameTooLongError) Unwrap() []error { return []error{syscall.ENAMETOOLONG, ErrInvalidName} }

// pathNotFoundError wraps the errno (ENOENT or ENOTDIR) of a missing
// intermediate directory together with ErrPathNotFound.
type pathNotFoundError struct{ errno syscall.Errno }

func (e *pathNotFoundError) Error() string   { return "vfs: path not found: " + e.errno.Error() }
func (e *pathNotFoundError) Unwrap() []error { return []error{ErrPathNotFound, e.errno} }

// IsPathNotFound reports whether err says that a directory on the way to
// the name is missing (STATUS_OBJECT_PATH_NOT_FOUND), rather than the name
// itself (STATUS_OBJECT_NAME_NOT_FOUND, errors.Is(err, fs.ErrNotExist) only).
func IsPathNotFound(err error) bool { return errors.Is(err, ErrPathNotFound) }

// MaxComponent is the longest name component accepted, in bytes.
const MaxComponent = 255

// splitName validates a share-relative name and splits it into components.
// "" is the root and gives no components.
func splitName(name string) ([]string, error) {
	if name == "" {
		return nil, nil
	}
	if strings.IndexByte(name, 0) >= 0 || name[0] == '/' {
		return nil, ErrInvalidName
	}
	comps := strings.Split(name, "/")
	for _, c := range comps {
		switch {
		case c == "" || c == "." || c == "..":
			return nil, ErrInvalidName
		case len(c) > MaxComponent:
			return nil, nameTooLongError{}
		}
	}
	return comps, nil
}

func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// joinPath joins a real relative directory path and a component.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dosAttributes computes Info.Attributes.
func dosAttributes(name string, isDir bool, mode uint32, stored uint32, hasStored bool) uint32 {
	var a uint32
	if hasStored {
		a = stored & attrStorable
	} else {
		if !isDir {
			a = AttrArchive
		}
		if strings.HasPrefix(name, ".") {
			a |= AttrHidden
		}
	}
	if isDir {
		a |= AttrDirectory
	}
	if mode&0o222 == 0 {
		a |= AttrReadOnly
	}
	if a == 0 {
		a = AttrNormal
	}
	return a
}
