//go:build !linux

package vfs

// The backend needs openat2, statx and xattrs: on other platforms Open
// fails with ErrNotSupported and the rest exists only so the module builds.

// FS is one share; see the Linux implementation.
type FS struct{}

// File is an open file or directory; see the Linux implementation.
type File struct{}

// Open fails with ErrNotSupported outside Linux.
func Open(dir string, opts Options) (*FS, error) {
	return nil, pathErr("open", dir, ErrNotSupported)
}

func (fs *FS) Close() error                                       { return ErrNotSupported }
func (fs *FS) DirScans() int64                                    { return 0 }
func (fs *FS) Statfs() (FSInfo, error)                            { return FSInfo{}, ErrNotSupported }
func (fs *FS) Resolve(name string) (string, error)                { return "", ErrNotSupported }
func (fs *FS) Stat(name string) (Info, error)                     { return Info{}, ErrNotSupported }
func (fs *FS) Remove(name string) error                           { return ErrNotSupported }
func (fs *FS) Rename(oldName, newName string, replace bool) error { return ErrNotSupported }
func (fs *FS) Link(oldName, newName string, replace bool) error   { return ErrNotSupported }
func (fs *FS) OpenFile(name string, fl OpenFlags, mode uint32) (*File, bool, error) {
	return nil, false, ErrNotSupported
}

func (f *File) Name() string                             { return "" }
func (f *File) Fd() int                                  { return -1 }
func (f *File) UseFd(fn func(fd int) error) error        { return ErrNotSupported }
func (f *File) IsDir() bool                              { return false }
func (f *File) FileID() uint64                           { return 0 }
func (f *File) ReadAt(p []byte, off int64) (int, error)  { return 0, ErrNotSupported }
func (f *File) WriteAt(p []byte, off int64) (int, error) { return 0, ErrNotSupported }
func (f *File) Sync() error                              { return ErrNotSupported }
func (f *File) Close() error                             { return ErrNotSupported }
func (f *File) Truncate(size int64) error                { return ErrNotSupported }
func (f *File) Allocate(size int64) error                { return ErrNotSupported }
func (f *File) Stat() (Info, error)                      { return Info{}, ErrNotSupported }
func (f *File) SetTimes(t Times) error                   { return ErrNotSupported }
func (f *File) SetAttributes(attr uint32) error          { return ErrNotSupported }
func (f *File) ReadDir() ([]DirEntry, error)             { return nil, ErrNotSupported }
func (f *File) ListEAs() ([]EA, error)                   { return nil, ErrNotSupported }
func (f *File) SetEA(name string, value []byte) error    { return ErrNotSupported }
func (f *File) Streams() ([]EA, error)                   { return nil, ErrNotSupported }
func (f *File) Stream(name string) ([]byte, error)       { return nil, ErrNotSupported }
func (f *File) SetStream(name string, data []byte) error { return ErrNotSupported }
func (f *File) RemoveStream(name string) error           { return ErrNotSupported }

// Range is a byte range of a file.
type Range struct{ Off, Len int64 }

func (f *File) SetSparse(on bool) error                             { return ErrNotSupported }
func (f *File) PunchHole(off, n int64) error                        { return ErrNotSupported }
func (f *File) ZeroRange(off, n int64) error                        { return ErrNotSupported }
func (f *File) AllocatedRanges(off, n int64) ([]Range, error)       { return nil, ErrNotSupported }
func (f *File) CopyRange(src *File, so, do, n int64) (int64, error) { return 0, ErrNotSupported }
func (f *File) CloneRange(src *File, so, do, n int64) error         { return ErrNotSupported }
