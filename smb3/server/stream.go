package server

import (
	"errors"
	"io"
	"strings"
	"sync"
	"syscall"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// fileHandle is what an open reads and writes: a file or directory of the
// backend, or one alternate data stream of it.
type fileHandle interface {
	Name() string
	Fd() int
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Stat() (vfs.Info, error)
	Truncate(size int64) error
	Allocate(size int64) error
	Sync() error
	SetTimes(t vfs.Times) error
	SetAttributes(attr uint32) error
	ReadDir() ([]vfs.DirEntry, error)
	ListEAs() ([]vfs.EA, error)
	SetEA(name string, value []byte) error
	Streams() ([]vfs.EA, error)
	Close() error
}

// streamFile is an alternate data stream, stored by the backend as an
// extended attribute of its base file (like Samba's streams_xattr). Reads
// and writes go through the whole value, under mu.
type streamFile struct {
	*vfs.File
	stream string // the stored name (case as first created)
	mu     *sync.Mutex
}

func (s *streamFile) data() ([]byte, error) {
	b, err := s.File.Stream(s.stream)
	if errors.Is(err, syscall.ENODATA) {
		return nil, nil
	}
	return b, err
}

func (s *streamFile) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.data()
	if err != nil {
		return 0, err
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *streamFile) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.data()
	if err != nil {
		return 0, err
	}
	end := off + int64(len(p))
	if end > maxStreamSize {
		return 0, syscall.ENOSPC
	}
	if end > int64(len(b)) {
		nb := make([]byte, end)
		copy(nb, b)
		b = nb
	}
	copy(b[off:], p)
	if err := s.File.SetStream(s.stream, b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// maxStreamSize bounds a stream: one xattr value (the kernel's XATTR_SIZE_MAX).
const maxStreamSize = 64 << 10

func (s *streamFile) Truncate(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > maxStreamSize {
		return syscall.ENOSPC
	}
	b, err := s.data()
	if err != nil {
		return err
	}
	nb := make([]byte, size)
	copy(nb, b)
	return s.File.SetStream(s.stream, nb)
}

func (s *streamFile) Allocate(size int64) error { return nil }

func (s *streamFile) Stat() (vfs.Info, error) {
	info, err := s.File.Stat()
	if err != nil {
		return info, err
	}
	s.mu.Lock()
	b, err := s.data()
	s.mu.Unlock()
	if err != nil {
		return info, err
	}
	info.Size = int64(len(b))
	info.AllocSize = (info.Size + 4095) &^ 4095
	info.IsDir = false
	return info, nil
}

func (s *streamFile) ReadDir() ([]vfs.DirEntry, error) { return nil, syscall.ENOTDIR }

func (s *streamFile) remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.File.RemoveStream(s.stream)
}

// splitStream separates "name:stream:type" (MS-FSCC 2.1.5.1). It returns
// the stream name ("" for the default data stream) or ok=false for a
// malformed or unsupported stream type.
func splitStream(name string) (base, stream string, ok bool) {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return name, "", true
	}
	base, rest := name[:i], name[i+1:]
	stream, typ, hasType := strings.Cut(rest, ":")
	if hasType && !strings.EqualFold(typ, "$DATA") {
		return "", "", false
	}
	if strings.ContainsAny(stream, `:\/`) || strings.ContainsRune(typ, ':') {
		return "", "", false
	}
	if stream == "" && !hasType {
		return "", "", false // "name:" is invalid
	}
	return base, stream, true
}

// findStream returns the stored name of stream (case-insensitive), or "".
func findStream(f *vfs.File, stream string) (string, error) {
	list, err := f.Streams()
	if err != nil {
		if errors.Is(err, syscall.ENOTSUP) {
			return "", nil
		}
		return "", err
	}
	for _, s := range list {
		if strings.EqualFold(s.Name, stream) {
			return s.Name, nil
		}
	}
	return "", nil
}

// streamNameValid reports whether a stream name is one Windows accepts
// (MS-FSCC 2.1.5.1): any characters but the separators '\', '/' and ':'
// and NUL, at most 255 of them; control characters, wildcards and '"<>|'
// are allowed in stream names (smb2.streams.names, names2).
func streamNameValid(stream string) bool {
	return len([]rune(stream)) <= 255 && !strings.ContainsAny(stream, "\\/:\x00")
}

// dirDataStream is the status of a CREATE naming a directory's default data
// stream explicitly ("dir::$DATA"): a directory has none, so the open fails
// with STATUS_NOT_A_DIRECTORY when a directory was asked for and
// STATUS_FILE_IS_A_DIRECTORY otherwise (smb2.streams.dir). It is 0 for any
// other name.
func dirDataStream(raw []byte, opts uint32) wire.Status {
	name, ok := decodeName(raw)
	if !ok || !strings.ContainsRune(name, ':') {
		return 0
	}
	if _, stream, ok := splitStream(name); !ok || stream != "" {
		return 0
	}
	if opts&optDirectoryFile != 0 {
		return wire.StatusNotADirectory
	}
	return wire.StatusFileIsADirectory
}

// fsStreamAttributes are FileFsAttributeInformation flags that go with
// NTFS-like stream support (MS-FSCC 2.5.1): FILE_NAMED_STREAMS, and
// FILE_CASE_SENSITIVE_SEARCH, which NTFS reports although it compares
// names case-insensitively unless a caller asks otherwise (stream names
// here always are; smb2.streams.names3 checks the flag first).
const fsStreamAttributes = fscc.FileNamedStreams | fscc.FileCaseSensitiveSearch
