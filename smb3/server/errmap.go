package server

import (
	"errors"
	"io/fs"
	"syscall"

	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// statusOf maps a file-system error to an NTSTATUS.
func statusOf(err error) wire.Status {
	if err == nil {
		return wire.StatusSuccess
	}
	var st wire.Status
	if errors.As(err, &st) {
		return st
	}
	switch {
	case errors.Is(err, vfs.ErrEscape):
		return wire.StatusAccessDenied
	case errors.Is(err, vfs.ErrReadOnly):
		return wire.StatusMediaWriteProtected
	case errors.Is(err, vfs.ErrInvalidName):
		return wire.StatusObjectNameInvalid
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT:
			if vfs.IsPathNotFound(err) {
				return wire.StatusObjectPathNotFound
			}
			return wire.StatusObjectNameNotFound
		case syscall.ENOTDIR:
			return wire.StatusObjectPathNotFound
		case syscall.EEXIST:
			return wire.StatusObjectNameCollision
		case syscall.ENOTEMPTY:
			return wire.StatusDirectoryNotEmpty
		case syscall.ENOSPC:
			return wire.StatusDiskFull
		case syscall.EDQUOT:
			return wire.StatusDiskQuotaExceeded
		case syscall.EISDIR:
			return wire.StatusFileIsADirectory
		case syscall.EACCES, syscall.EPERM:
			return wire.StatusAccessDenied
		case syscall.ELOOP:
			return wire.StatusStoppedOnSymlink
		case syscall.ENAMETOOLONG:
			return wire.StatusNameTooLong
		case syscall.EROFS:
			return wire.StatusMediaWriteProtected
		case syscall.EXDEV:
			return wire.StatusNotSameDevice
		case syscall.EMFILE, syscall.ENFILE:
			return wire.StatusTooManyOpenedFiles
		case syscall.EFBIG:
			return wire.StatusDiskFull
		case syscall.EINVAL:
			return wire.StatusInvalidParameter
		case syscall.ENOTSUP:
			return wire.StatusNotSupported
		case syscall.EBUSY:
			return wire.StatusSharingViolation
		case syscall.EBADF:
			return wire.StatusAccessDenied
		case syscall.EIO:
			return wire.StatusUnexpectedIOError
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return wire.StatusObjectNameNotFound
	case errors.Is(err, fs.ErrExist):
		return wire.StatusObjectNameCollision
	case errors.Is(err, fs.ErrPermission):
		return wire.StatusAccessDenied
	}
	return wire.StatusUnsuccessful
}
