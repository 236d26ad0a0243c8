package server

import (
	"sync"

	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// open is an open file or directory (MS-SMB2 3.3.1.10 Open).
type open struct {
	id      wire.FileID
	tree    *tree
	sess    *session
	node    *fileNode
	f       fileHandle
	isDir   bool
	access  uint32
	shareAc uint32
	options uint32
	name    string // the name the client opened, with '\' separators, for FileNameInformation

	mu         sync.Mutex
	closed     bool
	closedCh   chan struct{} // closed when the open closes
	nw         *notifyWatch  // change-notify state, after the first CHANGE_NOTIFY
	docOnClose bool          // FILE_DELETE_ON_CLOSE
	position   int64
	mode       uint32
	dir        *dirCursor
	oplock     uint8       // granted oplock level (not for leases); node lock
	obrk       *breakState // oplock break in progress; node lock
	lease      *lease      // node lock

	dur *durableState // durable handle state (durable.go); node lock

	pipe *pipeState // a named pipe on IPC$ (pipe.go); nil for files

	// Replay state (MS-SMB2 3.3.1.10), under mu.
	chanSeq        uint16
	outstanding    int
	outstandingPre int
	resilient      bool // FSCTL_LMR_REQUEST_RESILIENCY
	lockSeqs       lockSeq

	io sync.WaitGroup // READ/WRITE running on their own goroutines
}

// fileNode is the state shared by all opens of one file: share modes and a
// pending delete (MS-FSA Stream and File).
type fileNode struct {
	key           nodeKey
	path          string // share-relative on-disk path; updated by rename
	share         *share
	opens         []*open
	deletePending bool
	stream        bool // an alternate data stream of the file at path
}

type nodeKey struct {
	dev, ino uint64
	stream   string // lower-case stream name; "" for the file itself
}

type nodeTable struct {
	mu    sync.Mutex
	nodes map[nodeKey]*fileNode
}

func (t *nodeTable) init() { t.nodes = make(map[nodeKey]*fileNode) }

type openTable struct {
	mu    sync.Mutex
	opens map[uint64]*open
}

func (t *openTable) init() { t.opens = make(map[uint64]*open) }

func (t *openTable) get(id wire.FileID) *open {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.opens[id.Volatile]
	if o == nil || o.id.Persistent != id.Persistent {
		return nil
	}
	return o
}

func (t *openTable) add(o *open) {
	t.mu.Lock()
	t.opens[o.id.Volatile] = o
	t.mu.Unlock()
}

func (t *openTable) remove(o *open) {
	t.mu.Lock()
	if t.opens[o.id.Volatile] == o {
		delete(t.opens, o.id.Volatile)
	}
	t.mu.Unlock()
}

func (t *openTable) collect(f func(*open) bool) []*open {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*open
	for _, o := range t.opens {
		if f(o) {
			out = append(out, o)
		}
	}
	return out
}

func (t *openTable) closeTree(tr *tree) {
	for _, o := range t.collect(func(o *open) bool { return o.tree == tr }) {
		tr.sess.srv.closeOpen(o)
	}
}

func (t *openTable) closeSession(s *session) {
	for _, o := range t.collect(func(o *open) bool { return o.sess == s }) {
		s.srv.closeOpen(o)
	}
}

// lookupOpen finds the open a request names, handling the related-compound
// FileId 0xFFFF...FFFF (MS-SMB2 3.3.5.2.7.2).
func (r *request) lookupOpen(st *chainState, id wire.FileID) (*open, wire.Status) {
	if id.IsAll() {
		if !r.hdr.IsRelated() || !st.hasFid {
			return nil, wire.StatusFileClosed
		}
		id = st.fid
	}
	o := r.c.srv.opens.get(id)
	if o == nil || o.sess != r.sess || o.tree != r.tree {
		return nil, wire.StatusFileClosed
	}
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return nil, wire.StatusFileClosed
	}
	st.fid, st.hasFid = id, true
	r.c.srv.replayUsed(o) // durable.go: a used open no longer answers CREATE replays
	return o, 0
}

// closeOpen closes o: it leaves its node, and the file is deleted when a
// delete is pending and o was the last open.
func (s *Server) closeOpen(o *open) (vfs.Info, bool) {
	if o.pipe != nil {
		return s.closePipe(o) // pipe.go
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return vfs.Info{}, false
	}
	o.closed = true
	if o.closedCh != nil {
		close(o.closedCh)
	}
	doc := o.docOnClose
	o.mu.Unlock()
	s.opens.remove(o)
	s.locks.releaseOpen(o)
	o.mu.Lock()
	nw := o.nw
	o.nw = nil
	o.mu.Unlock()
	if nw != nil {
		s.notify.unwatch(nw)
	}
	o.sess.mu.Lock()
	o.sess.nopens--
	o.sess.mu.Unlock()
	n := o.node
	s.nodes.mu.Lock()
	if doc {
		n.deletePending = true
	}
	if o.obrk != nil {
		o.obrk.finish()
		o.obrk = nil
	}
	s.releaseLease(o)
	for i, x := range n.opens {
		if x == o {
			n.opens = append(n.opens[:i], n.opens[i+1:]...)
			break
		}
	}
	last := len(n.opens) == 0
	del := last && n.deletePending
	path := n.path
	if last {
		delete(s.nodes.nodes, n.key)
	}
	del = s.holdDeleteForStreams(n, last, del) // stream_delete.go
	s.nodes.mu.Unlock()
	if doc && !last && n.deletePending {
		s.notifyDeletePending(n)
	}
	info, err := o.f.Stat()
	if sf, ok := o.f.(*streamFile); ok && del {
		if err := sf.remove(); err != nil {
			s.log.Warn("delete on close of a stream failed", "path", path, "err", err)
		}
		del = false
	}
	o.f.Close()
	if del {
		if err := n.share.fs.Remove(path); err != nil {
			s.log.Warn("delete on close failed", "path", path, "err", err)
		}
	}
	return info, err == nil
}

// closedChan returns a channel closed when o is closed.
func (o *open) closedChan() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closedCh == nil {
		o.closedCh = make(chan struct{})
		if o.closed {
			close(o.closedCh)
		}
	}
	return o.closedCh
}
