package server

// Deleting a file whose alternate data streams are open (smb2.streams.delete,
// MS-FSA 2.1.5.1.2 and 2.1.5.4): each stream has its own share modes and its
// own fileNode, but a delete of the file touches every stream. An open of
// the file with DELETE access fails with STATUS_SHARING_VIOLATION while a
// stream is open without FILE_SHARE_DELETE; and when the file's last open
// closes with a delete pending while streams are still open, the file stays
// until the last stream closes, name-based opens of the file and its streams
// failing with STATUS_DELETE_PENDING meanwhile.

// heldDelete is a pending delete of a file kept for its open streams.
type heldDelete struct {
	share *share
	path  string
}

// baseKey is the node key of the file that a (stream) node belongs to.
func baseKey(k nodeKey) nodeKey { return nodeKey{dev: k.dev, ino: k.ino} }

// streamsOpen reports whether a stream of the file of k other than skip has
// an open (caller holds s.nodes.mu).
func (s *Server) streamsOpen(k nodeKey, skip *fileNode) bool {
	for key, n := range s.nodes.nodes {
		if key.stream != "" && key.dev == k.dev && key.ino == k.ino && n != skip && len(n.opens) > 0 {
			return true
		}
	}
	return false
}

// streamsDenyDelete reports whether an open of the file of key with o's
// access must fail because a stream of it is open without
// FILE_SHARE_DELETE (caller holds s.nodes.mu). Opening a stream is not
// affected by the file's own share modes.
func (s *Server) streamsDenyDelete(key nodeKey, o *open) bool {
	if key.stream != "" || o.access&accessDelete == 0 {
		return false
	}
	for k, n := range s.nodes.nodes {
		if k.stream == "" || k.dev != key.dev || k.ino != key.ino {
			continue
		}
		for _, x := range n.opens {
			if shareConflict(x, accessDelete, shareRead|shareWrite|shareDelete) {
				return true
			}
		}
	}
	return false
}

// deleteHeld reports whether the file of key (or the file a stream key
// belongs to) is deleted and kept only for its open streams (caller holds
// s.nodes.mu).
func (s *Server) deleteHeld(key nodeKey) bool {
	_, ok := s.heldDeletes[baseKey(key)]
	return ok
}

// holdDeleteForStreams runs when an open of n closes, under s.nodes.mu,
// with last telling whether it was n's last open and del whether the file
// (or stream) is to be deleted now. It returns the new del: a file whose
// streams are still open is not removed yet; the close of the last open
// stream of such a file removes it.
func (s *Server) holdDeleteForStreams(n *fileNode, last, del bool) bool {
	if !n.stream {
		if del && s.streamsOpen(n.key, nil) {
			if s.heldDeletes == nil {
				s.heldDeletes = make(map[nodeKey]heldDelete)
			}
			s.heldDeletes[baseKey(n.key)] = heldDelete{share: n.share, path: n.path}
			return false
		}
		return del
	}
	if !last || len(s.heldDeletes) == 0 {
		return del
	}
	bk := baseKey(n.key)
	h, ok := s.heldDeletes[bk]
	if !ok || s.streamsOpen(n.key, n) {
		return del
	}
	delete(s.heldDeletes, bk)
	if err := h.share.fs.Remove(h.path); err != nil {
		s.log.Warn("delete of a file after its streams closed failed", "path", h.path, "err", err)
	}
	return del
}
