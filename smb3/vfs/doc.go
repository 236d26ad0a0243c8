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
// symlinks and symlinks leading outside, which come back as ErrEscape. A
// symlink that stays inside the share is followed. When a lookup beneath a
// subdirectory fd fails only because a symlink leaves that subdirectory,
// it is retried from the root with the full path, so only leaving the
// share is an escape. Without openat2 (kernel < 5.6 or a seccomp filter),
// a user-space walker resolves one component at a time with O_NOFOLLOW
// and expands symlinks itself with the same rules (go test -args
// -vfs.fallback runs the whole suite that way). Operations on the last
// component (mkdirat, unlinkat, renameat2, linkat) take a single name
// relative to a confined directory fd and never follow it.
//
// Only regular files and directories are opened (ErrNotRegular
// otherwise); the open uses O_NONBLOCK, cleared afterwards, so that a FIFO
// cannot block it. Mount points inside the share are crossed unless
// Options.NoCrossMounts. Hard links made by local users to files outside
// cannot be told apart: confinement is about names.
//
// # Case-insensitive names
//
// Unless Options.CaseSensitive, each component is tried as given, then
// matched with Unicode simple folding (strings.EqualFold semantics on valid
// UTF-8; bytes that are not UTF-8 match only themselves) through a
// per-directory name index. The index is cached by the directory's
// (dev, ino), validated on each use against its mtime, ctime, size and
// link count (one fstat), updated in place by this FS's own creates,
// renames and removes, and rebuilt by reading the directory only when
// something else changed it (DirScans counts the rebuilds). The cache is
// bounded (2048 directories, about a million names) and evicts beyond.
//
// A create of a new name costs, whatever the size of the directory, an
// fstat to validate the index, a map lookup, the openat2 itself and an
// fstat to record the directory's new stamp: 9-10 µs on tmpfs at 10,000+
// entries in the development VM, where the bare openat+close takes 5.5-7
// µs (BenchmarkCreate10k). The index lock is held from the check to the
// create (and across renames and removes), so the index is always exact
// with respect to this FS's own changes, and two differently cased creates
// of one name through one FS cannot both succeed; the O_EXCL create
// catches anyone else.
//
// Changes by other processes are seen when the directory's stamp differs
// from the one recorded after our last change or scan. Stamps are compared
// for inequality only, since directory timestamps are not monotonic on
// multigrain-timestamp kernels (observed on 6.18 ext4). A foreign change
// that leaves the stamp equal (within one clock tick of our own last
// change, on file systems with coarse timestamps) or that falls between
// our change and our re-stat is missed until the directory changes again;
// exact names are always looked up on disk first, so this only affects
// names given in another case.
//
// # Metadata
//
// DOS attributes and the creation time live in one xattr per file,
// XattrDOS, a 16-byte versioned record (see dosRecord). Where the file
// system has no user xattrs (ENOTSUP on the first write), they are kept in
// memory keyed by (dev, ino) for the life of the FS instead. The creation
// time is the stored one (SetTimes) if any, else statx btime, else the
// earliest of the other times. Info.FileID is the inode number. SMB
// extended attributes and alternate data streams are user xattrs under
// XattrEAPrefix and XattrStreamPrefix: without user xattrs they fail with
// ENOTSUP, and a stream holds at most what one xattr value can: 64 KiB
// (E2BIG beyond) at best, and on ext4 without the ea_inode feature all the
// xattrs of a file share one block, about 4 KiB (ENOSPC beyond).
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
// directory index (two, taken in (dev, ino) order, for a rename); DOS
// attribute updates are serialized per inode (striped). A File counts the
// operations using its fd, so Close never lets the fd number be reused
// under one of them. FS.Close waits for operations in flight; files stay
// usable after it, except ReadDir.
package vfs
