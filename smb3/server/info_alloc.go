package server

import (
	"golang.org/x/sys/unix"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
)

// AllocationSize of regular files.
//
// The backend reports st_blocks*512, and ext4 counts in st_blocks the block
// that holds extended attributes once they no longer fit in the inode (DOS
// attributes, EAs and security descriptors are xattrs here). A client would
// see 4 KiB allocated to an empty file. When st_blocks exceeds what the data
// can use (its size rounded up to 4 KiB), the data allocation is read from
// the extent map instead; space preallocated beyond the end of file is in
// the map too. Files whose st_blocks fits their size, the common case, cost
// nothing more.

// isRegular reports whether in describes a regular file.
func isRegular(in *vfs.Info) bool { return !in.IsDir && in.Mode&unix.S_IFMT == unix.S_IFREG }

// fixAllocSize corrects fi.AllocationSize of a regular file open as fd.
func fixAllocSize(fi *fscc.FileInfo, fd int) {
	if fi.AllocationSize <= (fi.EndOfFile+4095)&^4095 {
		return
	}
	if n, ok := dataAllocated(fd); ok {
		fi.AllocationSize = n
	}
}
