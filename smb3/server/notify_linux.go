//go:build linux

package server

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

// The change-notify engine: one inotify instance per server. A directory
// open that issues CHANGE_NOTIFY gets a notifyWatch; its events are buffered
// between requests (as Windows does) and complete the pending request.

const (
	maxNotifyPending = 4096  // buffered events per watch before it reports overflow
	maxTreeWatchDirs = 20000 // directories a WATCH_TREE request may watch
	inotifyMask      = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_DONT_FOLLOW | unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK
)

type notifier struct {
	srv  *Server
	once sync.Once
	fd   int
	err  error

	mu  sync.Mutex
	wds map[int32]*watchDir
}

// watchDir is one inotify watch: a directory and the watches that see it.
type watchDir struct {
	wd       int32
	abs      string // absolute path
	rel      string // share-relative path ('/' separators)
	watchers map[*notifyWatch]struct{}
}

// notifyWatch is the notify state of one directory open.
type notifyWatch struct {
	o      *open
	root   string // share-relative path of the watched directory
	filter uint32
	tree   bool
	maxBuf uint32 // the first request's OutputBufferLength
	dirs   []*watchDir

	mu       sync.Mutex
	pending  []fscc.Notify
	overflow bool
	deleted  bool            // the watched directory is being deleted
	waiters  []*notifyWaiter // pending requests, oldest first
}

func (n *notifier) start() error {
	n.once.Do(func() {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
		if err != nil {
			n.err = os.NewSyscallError("inotify_init1", err)
			return
		}
		n.fd = fd
		n.wds = make(map[int32]*watchDir)
		go n.readLoop()
	})
	return n.err
}

// watch registers w on dir (absolute and share-relative paths).
func (n *notifier) watch(w *notifyWatch, abs, rel string) error {
	// Under n.mu: inotify_add_watch returns the wd an existing watch of
	// the same directory has, and unwatch removing that watch in between
	// would leave w registered on a wd the kernel no longer reports.
	n.mu.Lock()
	wd, err := unix.InotifyAddWatch(n.fd, abs, inotifyMask)
	n.srv.log.Debug("inotify watch", "abs", abs, "wd", wd, "err", err)
	if err != nil {
		n.mu.Unlock()
		return os.NewSyscallError("inotify_add_watch", err)
	}
	d := n.wds[int32(wd)]
	if d == nil {
		d = &watchDir{wd: int32(wd), abs: abs, rel: rel, watchers: map[*notifyWatch]struct{}{}}
		n.wds[int32(wd)] = d
	}
	d.abs, d.rel = abs, rel
	_, had := d.watchers[w]
	d.watchers[w] = struct{}{}
	n.mu.Unlock()
	if !had {
		w.dirs = append(w.dirs, d)
	}
	return nil
}

// dirCreated is called when a CREATE made the directory rel (abs on disk),
// before the client hears of it: the WATCH_TREE watches of its parent start
// watching it now, so what the client creates in it next is seen (the
// watch that inotify's IN_CREATE starts would come too late for that:
// smb2.notify.rec).
func (s *Server) notifyDirCreated(abs, rel string) {
	n := &s.notify
	parent := filepath.Dir(abs)
	n.mu.Lock()
	if n.wds == nil {
		n.mu.Unlock()
		return
	}
	var trees []*notifyWatch
	for _, d := range n.wds {
		if d.abs != parent {
			continue
		}
		for w := range d.watchers {
			if w.tree {
				trees = append(trees, w)
			}
		}
	}
	n.mu.Unlock()
	for _, w := range trees {
		n.watch(w, abs, rel)
	}
}

// unwatch removes w from every directory it watches.
func (n *notifier) unwatch(w *notifyWatch) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range w.dirs {
		delete(d.watchers, w)
		if len(d.watchers) == 0 {
			unix.InotifyRmWatch(n.fd, uint32(d.wd))
			delete(n.wds, d.wd)
		}
	}
	w.dirs = nil
}

func (n *notifier) readLoop() {
	buf := make([]byte, 64<<10)
	// A rename arrives as IN_MOVED_FROM then IN_MOVED_TO with one
	// cookie: within a directory it is a rename (old and new name),
	// across directories a removal and an addition, as Windows reports.
	// A read may end between the two: the IN_MOVED_FROM then waits for
	// the next read, briefly (a move out of the watched tree has no
	// IN_MOVED_TO and is a removal).
	var from *pendingMove
	flushFrom := func() {
		if from != nil {
			n.dispatch(from.wd, from.mask&^unix.IN_MOVED_FROM|unix.IN_DELETE, from.name)
			from = nil
		}
	}
	for {
		if from != nil {
			fds := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}}
			if k, err := unix.Poll(fds, 20); err == nil && k == 0 {
				flushFrom()
			}
		}
		k, err := unix.Read(n.fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			n.srv.log.Error("inotify read failed; change notify stops", "err", err)
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameLen := int(ev.Len)
			name := ""
			if nameLen > 0 && off+unix.SizeofInotifyEvent+nameLen <= k {
				name = strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen]), "\x00")
			}
			off += unix.SizeofInotifyEvent + nameLen
			switch {
			case ev.Mask&unix.IN_MOVED_FROM != 0:
				flushFrom()
				from = &pendingMove{wd: ev.Wd, mask: ev.Mask, name: name, cookie: ev.Cookie}
			case ev.Mask&unix.IN_MOVED_TO != 0 && from != nil && from.cookie == ev.Cookie:
				if from.wd == ev.Wd {
					n.dispatch(from.wd, from.mask, from.name)
					n.dispatch(ev.Wd, ev.Mask, name)
				} else {
					n.dispatch(from.wd, from.mask&^unix.IN_MOVED_FROM|unix.IN_DELETE, from.name)
					n.dispatch(ev.Wd, ev.Mask&^unix.IN_MOVED_TO|unix.IN_CREATE, name)
				}
				from = nil
			case ev.Mask&unix.IN_MOVED_TO != 0:
				flushFrom()
				n.dispatch(ev.Wd, ev.Mask&^unix.IN_MOVED_TO|unix.IN_CREATE, name)
			default:
				flushFrom()
				n.dispatch(ev.Wd, ev.Mask, name)
			}
		}
	}
}

type pendingMove struct {
	wd     int32
	mask   uint32
	name   string
	cookie uint32
}

// eventAction maps an inotify event to a FILE_ACTION and the completion
// filter bits that select it (MS-FSA 2.1.4.17).
func eventAction(mask uint32) (action, filter uint32) {
	dir := mask&unix.IN_ISDIR != 0
	name := uint32(fscc.FileNotifyChangeFileName)
	if dir {
		name = fscc.FileNotifyChangeDirName
	}
	switch {
	case mask&unix.IN_CREATE != 0:
		return fscc.FileActionAdded, name
	case mask&unix.IN_DELETE != 0:
		return fscc.FileActionRemoved, name
	case mask&unix.IN_MOVED_FROM != 0:
		return fscc.FileActionRenamedOldName, name
	case mask&unix.IN_MOVED_TO != 0:
		return fscc.FileActionRenamedNewName, name
	case mask&unix.IN_MODIFY != 0:
		return fscc.FileActionModified, fscc.FileNotifyChangeSize | fscc.FileNotifyChangeLastWrite
	case mask&unix.IN_ATTRIB != 0:
		return fscc.FileActionModified, fscc.FileNotifyChangeAttributes | fscc.FileNotifyChangeLastAccess |
			fscc.FileNotifyChangeCreation | fscc.FileNotifyChangeEA | fscc.FileNotifyChangeSecurity | fscc.FileNotifyChangeLastWrite
	}
	return 0, 0
}

func (n *notifier) dispatch(wd int32, mask uint32, name string) {
	n.srv.log.Debug("inotify event", "wd", wd, "mask", mask, "name", name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if mask&unix.IN_Q_OVERFLOW != 0 {
		for _, d := range n.wds {
			for w := range d.watchers {
				w.add(fscc.Notify{}, true, false)
			}
		}
		return
	}
	d := n.wds[wd]
	if d == nil || name == "" {
		return
	}
	action, filter := eventAction(mask)
	if action == 0 {
		return
	}
	rel := joinRel(d.rel, name)
	// Metadata only (xattrs, times, mode): not a change of the data.
	attrOnly := mask&unix.IN_ATTRIB != 0 && mask&unix.IN_MODIFY == 0
	for w := range d.watchers {
		w.mu.Lock()
		wf := w.filter
		w.mu.Unlock()
		if wf&filter == 0 {
			continue
		}
		r := strings.TrimPrefix(rel, w.root)
		r = strings.TrimPrefix(r, "/")
		if !w.tree && strings.Contains(r, "/") {
			continue
		}
		w.add(fscc.Notify{Action: action, Name: strings.ReplaceAll(r, "/", `\`)}, false, attrOnly)
	}
	// A new directory under a tree watch is watched too.
	if mask&unix.IN_ISDIR != 0 && mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		var trees []*notifyWatch
		for w := range d.watchers {
			if w.tree {
				trees = append(trees, w)
			}
		}
		if len(trees) > 0 {
			abs := filepath.Join(d.abs, name)
			go func() {
				for _, w := range trees {
					n.watchTree(w, abs, rel)
				}
			}()
		}
	}
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// notifyWaiter is one CHANGE_NOTIFY request waiting on a watch.
type notifyWaiter struct {
	ch       chan struct{} // closed when evs, overflow or the deletion are set
	evs      []fscc.Notify
	overflow bool
}

// add buffers an event. A waiting request completes at once with what is
// buffered then, the oldest request first, as on Windows: a change
// completes one pending request, and what follows it is buffered for the
// next (smb2.notify.valid-req: a create answers with ADDED alone; the write
// after it goes to the next request). attrOnly marks a MODIFIED that
// changed metadata only.
func (w *notifyWatch) add(ev fscc.Notify, overflow, attrOnly bool) {
	w.mu.Lock()
	if overflow || len(w.pending) >= maxNotifyPending {
		w.overflow = true
		w.pending = nil
	} else if !w.redundant(ev, attrOnly) {
		w.pending = append(w.pending, ev)
	}
	var wake *notifyWaiter
	if len(w.waiters) > 0 && (len(w.pending) > 0 || w.overflow) {
		wake = w.waiters[0]
		w.waiters = w.waiters[1:]
		wake.evs, wake.overflow = w.pending, w.overflow
		w.pending, w.overflow = nil, false
	}
	w.mu.Unlock()
	if wake != nil {
		close(wake.ch)
	}
}

// redundant reports whether ev adds nothing to what is buffered: a repeat
// of the last event, or a metadata change of a name just added or renamed
// to (the attributes, descriptor or EAs a create stores; Windows reports a
// create or a rename alone, smb2.notify.rec). A write right after a create
// is reported (smb2.notify.valid-req). Caller holds w.mu.
func (w *notifyWatch) redundant(ev fscc.Notify, attrOnly bool) bool {
	if len(w.pending) == 0 {
		return false
	}
	last := w.pending[len(w.pending)-1]
	if last == ev {
		return true
	}
	if ev.Action != fscc.FileActionModified || !attrOnly {
		return false
	}
	for i := len(w.pending) - 1; i >= 0; i-- {
		p := w.pending[i]
		if p.Name == ev.Name {
			return p.Action == fscc.FileActionAdded || p.Action == fscc.FileActionRenamedNewName
		}
	}
	return false
}

// setDeleted completes the watch's requests with STATUS_DELETE_PENDING.
func (w *notifyWatch) setDeleted() {
	w.mu.Lock()
	w.deleted = true
	ws := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	for _, x := range ws {
		close(x.ch)
	}
}

// notifyDeletePending wakes the change-notify requests on a directory whose
// delete is now pending (Windows completes them with STATUS_DELETE_PENDING).
func (s *Server) notifyDeletePending(n *fileNode) {
	s.nodes.mu.Lock()
	var ws []*notifyWatch
	for _, o := range n.opens {
		o.mu.Lock()
		if o.nw != nil {
			ws = append(ws, o.nw)
		}
		o.mu.Unlock()
	}
	s.nodes.mu.Unlock()
	for _, w := range ws {
		w.setDeleted()
	}
}

// take returns the buffered events, or, when there are none, a waiter that
// add completes.
func (w *notifyWatch) take() (evs []fscc.Notify, overflow bool, wait *notifyWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted {
		return nil, false, nil
	}
	if len(w.pending) > 0 || w.overflow {
		evs, overflow = w.pending, w.overflow
		w.pending, w.overflow = nil, false
		return evs, overflow, nil
	}
	x := &notifyWaiter{ch: make(chan struct{})}
	w.waiters = append(w.waiters, x)
	return nil, false, x
}

// abandon takes back a waiter whose request ended (cancelled, closed): the
// events add handed it, if any, go back to the front of the buffer.
func (w *notifyWatch) abandon(x *notifyWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, y := range w.waiters {
		if y == x {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
			return
		}
	}
	if len(x.evs) > 0 || x.overflow {
		w.pending = append(append([]fscc.Notify(nil), x.evs...), w.pending...)
		w.overflow = w.overflow || x.overflow
		x.evs, x.overflow = nil, false
	}
}

// watchTree watches dir and every directory below it.
func (n *notifier) watchTree(w *notifyWatch, abs, rel string) {
	count := 0
	filepath.WalkDir(abs, func(p string, de os.DirEntry, err error) error {
		if err != nil || !de.IsDir() {
			return nil
		}
		if count++; count > maxTreeWatchDirs {
			return filepath.SkipAll
		}
		r, _ := filepath.Rel(abs, p)
		sub := rel
		if r != "." {
			sub = joinRel(rel, filepath.ToSlash(r))
		}
		n.watch(w, p, sub)
		return nil
	})
}

// handleChangeNotify is SMB2 CHANGE_NOTIFY (MS-SMB2 3.3.5.19).
func handleChangeNotify(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.ChangeNotifyRequest(r.msg)
	o, status := r.lookupListableDir(st, req.FileID())
	if status != 0 {
		return out, status
	}
	maxOut := req.OutputBufferLength()
	if maxOut > r.c.srv.cfg.MaxTransactSize {
		return out, wire.StatusInvalidParameter
	}
	w, status := r.c.srv.notifyWatchFor(o, req.CompletionFilter(), req.Flags()&wire.NotifyWatchTree != 0, maxOut)
	r.c.log.Debug("notify", "filter", req.CompletionFilter(), "status", status)
	if status != 0 {
		return out, status
	}
	// The first request's buffer size stays the watch's (Windows: after
	// a first request with a 1-byte buffer every change overflows,
	// smb2.notify.valid-req).
	maxOut = min(maxOut, w.maxBuf)
	evs, overflow, wait := w.take()
	if wait != nil {
		if !r.canGoAsync() {
			return out, wire.StatusInternalError
		}
		out = r.goAsync(out)
		ctx := r.context()
		closed := o.closedChan()
		select {
		case <-ctx.Done():
			w.abandon(wait)
			return out, wire.StatusCancelled
		case <-closed:
			w.abandon(wait)
			return out, wire.StatusNotifyCleanup
		case <-wait.ch:
		}
		evs, overflow = wait.evs, wait.overflow
	}
	w.mu.Lock()
	deleted := w.deleted
	w.mu.Unlock()
	if deleted && len(evs) == 0 {
		return out, wire.StatusDeletePending
	}
	if overflow {
		return out, wire.StatusNotifyEnumDir
	}
	data, ovf := fscc.AppendNotifyInformation(nil, evs, int(maxOut))
	if ovf {
		// MS-SMB2 3.3.5.19: the changes do not fit: tell the client to
		// enumerate the directory.
		return out, wire.StatusNotifyEnumDir
	}
	return wire.AppendBufferResponse(out, data), wire.StatusSuccess
}

// notifyWatchFor returns o's watch, creating it (and its inotify watches) on
// the first CHANGE_NOTIFY. The first request's WATCH_TREE flag and buffer
// size stay the watch's until the handle closes, as on Windows.
func (s *Server) notifyWatchFor(o *open, filter uint32, tree bool, maxBuf uint32) (*notifyWatch, wire.Status) {
	o.mu.Lock()
	w := o.nw
	o.mu.Unlock()
	if w != nil {
		// The filter of the latest request applies (Windows keeps the
		// first, smb2.notify.mask-change; but the server learns of
		// metadata changes from inotify, which cannot tell an attribute
		// change from a time change, and under a fixed ATTRIBUTES filter
		// that test would wait for an event never reported).
		w.mu.Lock()
		w.filter = filter
		w.mu.Unlock()
		return w, 0
	}
	if err := s.notify.start(); err != nil {
		return nil, wire.StatusNotSupported
	}
	s.nodes.mu.Lock()
	rel := o.node.path
	s.nodes.mu.Unlock()
	abs := filepath.Join(o.tree.share.cfg.Path, filepath.FromSlash(rel))
	w = &notifyWatch{o: o, root: rel, filter: filter, tree: tree, maxBuf: maxBuf}
	if tree {
		s.notify.watchTree(w, abs, rel)
	} else if err := s.notify.watch(w, abs, rel); err != nil {
		s.log.Warn("change notify: watch failed", "path", rel, "err", err)
		return nil, statusOf(err)
	}
	o.mu.Lock()
	if o.nw != nil || o.closed {
		o.mu.Unlock()
		s.notify.unwatch(w)
		return o.nw, 0
	}
	o.nw = w
	o.mu.Unlock()
	// A delete that became pending before o.nw was set did not see this
	// watch (notifyDeletePending): its requests complete at once.
	s.nodes.mu.Lock()
	pending := o.node.deletePending
	s.nodes.mu.Unlock()
	if pending {
		w.setDeleted()
	}
	return w, 0
}
