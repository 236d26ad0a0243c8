package server

import (
	"errors"
	"strings"
	"syscall"

	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// renameStream renames the alternate data stream o has open
// (MS-FSA 2.1.5.15.12; smb2.streams.rename, rename2). The new name is
// ":name" or ":name:$DATA", relative to the same file; "::$DATA" moves the
// stream's data into the file's (empty) default data stream. A stream
// cannot be moved to another file: a full "file:stream" name fails with
// STATUS_SHARING_VIOLATION, as on Windows, and a plain file name with
// STATUS_INVALID_PARAMETER. An existing target stream is replaced only
// when replace is set and it is not open.
func (s *Server) renameStream(o *open, target string, replace, link bool) wire.Status {
	sf, ok := o.f.(*streamFile)
	if link || !ok || !o.node.stream {
		return wire.StatusInvalidParameter
	}
	if !strings.HasPrefix(target, ":") {
		if strings.ContainsRune(target, ':') {
			return wire.StatusSharingViolation
		}
		return wire.StatusInvalidParameter
	}
	_, stream, ok := splitStream(target)
	if !ok || !streamNameValid(stream) {
		return wire.StatusObjectNameInvalid
	}
	if stream == "" {
		return s.streamToDefault(o, sf, replace)
	}
	newKey := o.node.key
	newKey.stream = strings.ToLower(stream)
	s.nodes.mu.Lock()
	if n := s.nodes.nodes[newKey]; n != nil && n != o.node && len(n.opens) > 0 {
		s.nodes.mu.Unlock()
		if !replace {
			return wire.StatusObjectNameCollision
		}
		return wire.StatusAccessDenied
	}
	// Every open of the stream follows it to the new name.
	peers := append([]*open(nil), o.node.opens...)
	s.nodes.mu.Unlock()

	sf.mu.Lock()
	old := sf.stream
	if !strings.EqualFold(old, stream) {
		existing, err := findStream(sf.File, stream)
		if err != nil {
			sf.mu.Unlock()
			return statusOf(err)
		}
		if existing != "" && !replace {
			sf.mu.Unlock()
			return wire.StatusObjectNameCollision
		}
		data, err := sf.data()
		if err != nil {
			sf.mu.Unlock()
			return statusOf(err)
		}
		if existing != "" {
			if err := sf.File.RemoveStream(existing); err != nil && !errors.Is(err, syscall.ENOENT) {
				sf.mu.Unlock()
				return statusOf(err)
			}
		}
		if err := sf.File.SetStream(stream, data); err != nil {
			sf.mu.Unlock()
			return statusOf(err)
		}
		if err := sf.File.RemoveStream(old); err != nil && !errors.Is(err, syscall.ENOENT) {
			sf.File.RemoveStream(stream)
			sf.mu.Unlock()
			return statusOf(err)
		}
	} else if old != stream {
		// Only the case changes: store the name as now given.
		data, err := sf.data()
		if err == nil {
			err = sf.File.RemoveStream(old)
		}
		if err == nil {
			err = sf.File.SetStream(stream, data)
		}
		if err != nil {
			sf.mu.Unlock()
			return statusOf(err)
		}
	}
	sf.stream = stream
	for _, p := range peers {
		// All streamFiles share s.streamMu, held here.
		if psf, ok := p.f.(*streamFile); ok && psf.stream == old {
			psf.stream = stream
		}
	}
	sf.mu.Unlock()

	s.nodes.mu.Lock()
	n := o.node
	if s.nodes.nodes[n.key] == n {
		delete(s.nodes.nodes, n.key)
	}
	n.key = newKey
	if s.nodes.nodes[newKey] == nil {
		s.nodes.nodes[newKey] = n
	}
	s.nodes.mu.Unlock()
	o.mu.Lock()
	if i := strings.IndexByte(o.name, ':'); i >= 0 {
		o.name = o.name[:i] + ":" + stream
	}
	o.mu.Unlock()
	return 0
}

// streamToDefault moves the data of o's stream into the file's default
// data stream, which must be empty, and removes the stream. The handle
// keeps naming the removed stream: I/O on it fails until it is reopened.
func (s *Server) streamToDefault(o *open, sf *streamFile, replace bool) wire.Status {
	if !replace {
		return wire.StatusObjectNameCollision
	}
	info, err := sf.File.Stat()
	if err != nil {
		return statusOf(err)
	}
	if info.Size != 0 {
		return wire.StatusObjectNameCollision
	}
	s.nodes.mu.Lock()
	base := s.nodes.nodes[baseKey(o.node.key)]
	busy := base != nil && len(base.opens) > 0
	s.nodes.mu.Unlock()
	if busy {
		return wire.StatusSharingViolation
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	data, err := sf.data()
	if err != nil {
		return statusOf(err)
	}
	if len(data) > 0 {
		f, _, err := o.tree.share.fs.OpenFile(o.nodePath(), vfs.OpenFlags{NonDirectory: true, Write: true}, 0)
		if err != nil {
			return statusOf(err)
		}
		_, err = f.WriteAt(data, 0)
		f.Close()
		if err != nil {
			return statusOf(err)
		}
	}
	if err := sf.File.RemoveStream(sf.stream); err != nil && !errors.Is(err, syscall.ENOENT) {
		return statusOf(err)
	}
	return 0
}
