// Package vfs is the file backend of one SMB share: a local directory,
// reached only through file descriptors beneath the share root. It knows
// nothing of SMB messages; the server (smb3/server) maps its errors to
// NTSTATUS and keeps share modes, byte-range locks and oplocks/leases itself.
//
// # Names
//
// Callers pass share-relative names with '/' separators (the server has
// converted '\'), no leading slash, "" for the root. Names with NUL, with
// empty, "." or ".." components, or with a component over 255 bytes are
// refused with ErrInvalidName.
//
// # Confinement
//
// The root is held as an O_PATH fd. Every open goes through openat2(2)
// with RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS, relative to the root or to a
// directory fd obtained the same way: the kernel refuses '..', absolute
// symlinks and symlinks leading outside, which come back as ErrEscape.
// A symlink that stays inside the share is followed. When a lookup beneath a
// subdirectory fd fails only because a symlink leaves that subdirectory,
// it is retried from the root with the full path, so only leaving the share
// is an escape. Without openat2 (kernel < 5.6 or a seccomp filter), a
// user-space walker resolves one component at a time with O_NOFOLLOW and
// expands symlinks itself with the same rules. Operations on the last
// component (mkdirat, unlinkat, renameat2, linkat) take a single name
// relative to a confined directory fd and never follow it.
//
// # Case-insensitive names
//
// Unless Options.CaseSensitive, each component is tried as given, then
// matched with Unicode simple folding (strings.EqualFold semantics) through
// a per-directory name index. The index is cached by the directory's
// (dev, ino), validated on each use against its mtime, ctime, size and
// link count (one fstat), updated in place by this FS's own creates,
// renames and removes, and rebuilt by reading the directory only when
// something else changed it. A create of a new name in a directory of any
// size costs an fstatat, an fstat, a map lookup and the create itself. The
// index lock is held from the check to the create (and across renames and
// removes), so the index is always exact with respect to this FS's own
// changes, and two differently cased creates of one name through one FS
// cannot both succeed. Changes by other processes are seen when the
// directory's stamp differs from the one recorded after our last change or
// scan; stamps are compared for inequality only, since directory
// timestamps are not monotonic on multigrain-timestamp kernels (observed
// on 6.18 ext4). A foreign change that leaves the stamp equal (same clock
// tick as our own last change, on file systems with coarse timestamps) or
// that falls between our change and our re-stat is missed until the
// directory changes again.
//
// # Metadata
//
// DOS attributes and the creation time live in one xattr per file,
// XattrDOS, a 16-byte versioned record (see dosRecord). Where the file
// system has no user xattrs (ENOTSUP on the first write), they are kept in
// memory keyed by (dev, ino) for the life of the FS instead. Info.FileID
// is the inode number. SMB extended attributes and alternate data streams
// are user xattrs under XattrEAPrefix and XattrStreamPrefix.
//
// # Errors
//
// Errors are *fs.PathError (or os.SyscallError) wrapping the syscall.Errno,
// so errors.Is(err, fs.ErrNotExist) and errors.As(err, &errno) work, or
// wrapping one of the sentinels ErrEscape, ErrReadOnly, ErrInvalidName,
// ErrNotRegular, which unwrap to an errno themselves (EACCES, EROFS, EINVAL,
// EACCES). IsPathNotFound tells a missing directory on the way
// (STATUS_OBJECT_PATH_NOT_FOUND) from a missing last component
// (STATUS_OBJECT_NAME_NOT_FOUND).
//
// # Concurrency
//
// FS and File are safe for concurrent use. The FS holds no global lock on
// the data path: the index cache has a short map lock and one lock per
// directory index; DOS-attribute updates are serialized per inode (striped).
package vfs
