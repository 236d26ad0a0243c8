package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

// grantResult is what attachOpen granted.
type grantResult struct {
	oplock    uint8
	lease     *lease
	leaseResp []byte
}

// maxBreakRounds bounds how often an open re-plans after waiting for
// breaks; each round lowers some state, so few are ever needed.
const maxBreakRounds = 16

// attachOpen adds o to its file's node (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2):
// it checks a pending delete and share modes, breaks the oplocks and
// leases the open conflicts with (going async while it waits for their
// acknowledgments, then checking again), and grants o its oplock or lease.
func (r *request) attachOpen(out []byte, o *open, key nodeKey, t *tree, stream string, lr *leaseRequest, reqOplock uint8, overwrite bool) ([]byte, grantResult, wire.Status) {
	srv := r.c.srv
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	in := openIntent{access: o.access, overwrite: overwrite, deleting: o.options&optDeleteOnClose != 0}
	if lr != nil {
		in.lease = &leaseID{client: client, key: lr.key}
	}
	for round := 0; ; round++ {
		srv.nodes.mu.Lock()
		n := srv.nodes.nodes[key]
		if n == nil {
			n = &fileNode{key: key, path: o.f.Name(), share: t.share, stream: stream != ""}
			srv.nodes.nodes[key] = n
		}
		drop := func() {
			if len(n.opens) == 0 && srv.nodes.nodes[key] == n {
				delete(srv.nodes.nodes, key)
			}
		}
		if n.deletePending || srv.deleteHeld(key) { // stream_delete.go
			drop()
			srv.nodes.mu.Unlock()
			return out, grantResult{}, wire.StatusDeletePending
		}
		in.conflict = srv.streamsDenyDelete(key, o) // stream_delete.go
		for _, x := range n.opens {
			if shareConflict(x, o.access, o.shareAc) {
				in.conflict = true
				break
			}
		}
		bs, waits := planOpenBreaks(n, in)
		if gone := disconnectedIn(n, bs, in.conflict, o); len(gone) > 0 && round < maxBreakRounds {
			srv.nodes.mu.Unlock()
			srv.purgeDisconnected(gone)
			continue
		}
		sends, w2 := srv.startBreaks(bs)
		waits = append(waits, w2...)
		if len(waits) > 0 && round < maxBreakRounds {
			srv.nodes.mu.Unlock()
			for _, f := range sends {
				f()
			}
			if !r.canGoAsync() {
				srv.dropEmptyNode(key)
				return out, grantResult{}, wire.StatusInternalError
			}
			out = r.goAsync(out)
			if !r.waitBreaks(waits) {
				srv.dropEmptyNode(key)
				return out, grantResult{}, wire.StatusCancelled
			}
			continue
		}
		if in.conflict {
			drop()
			srv.nodes.mu.Unlock()
			for _, f := range sends {
				f()
			}
			return out, grantResult{}, wire.StatusSharingViolation
		}
		var g grantResult
		if lr != nil && o.isDir && !srv.cfg.DirectoryLeases {
			// No lease on a directory, but a key naming another file is
			// still refused (smb2.lease.request).
			if l := srv.leases[*in.lease]; l != nil && l.node != n && l.nopens > 0 {
				drop()
				srv.nodes.mu.Unlock()
				for _, f := range sends {
					f()
				}
				return out, grantResult{}, wire.StatusInvalidParameter
			}
		} else if lr != nil {
			l, status := srv.grantLease(n, o, client, *lr)
			if status != 0 {
				drop()
				srv.nodes.mu.Unlock()
				for _, f := range sends {
					f()
				}
				return out, grantResult{}, status
			}
			g.lease = l
			g.leaseResp = appendLeaseResponse(nil, l)
		} else if lr == nil {
			o.oplock = grantOplock(n, o, reqOplock)
			g.oplock = o.oplock
		}
		o.node = n
		n.opens = append(n.opens, o)
		srv.nodes.mu.Unlock()
		for _, f := range sends {
			f()
		}
		return out, g, 0
	}
}

// breakForRename runs before o's file is renamed to target
// (MS-FSA 2.1.5.15.12). Windows' I/O manager opens the target's parent
// directory for the rename (IoCreateFile with IO_OPEN_TARGET_DIRECTORY)
// asking for FILE_WRITE_DATA (FILE_ADD_FILE; FILE_ADD_SUBDIRECTORY for a
// directory, the same check) and sharing only read and write, so an open
// of that directory with DELETE access, or one that does not share write,
// makes the rename fail with a sharing violation (smb2.oplock.exclusive6,
// batch19/20, smb2.rename), while one without DELETE that shares write
// does not, whether the rename stays in the directory or moves into it
// (smb2.notify.rec, mask-change). Otherwise handle caching
// of the other leases on the file is broken, and the rename waits until
// the holders acknowledged or closed their handles (smb2.lease.v2_rename,
// rename_wait).
func (r *request) breakForRename(o *open, target string) wire.Status {
	srv := r.c.srv
	newPath, _, status := parseCreateName(appendUTF16(nil, strings.TrimPrefix(target, `\`)))
	if status != 0 {
		return 0 // rename reports it
	}
	parent := ""
	if i := strings.LastIndexByte(newPath, '/'); i >= 0 {
		parent = newPath[:i]
	}
	woken := false // this rename holds one count in renamesWoken
	release := func() {
		if woken {
			renamesWoken.Add(-1)
			woken = false
		}
	}
	for round := 0; round < maxBreakRounds; round++ {
		srv.nodes.mu.Lock()
		for _, n := range srv.nodes.nodes {
			if n.share != o.node.share || n.stream || !strings.EqualFold(n.path, parent) && !(parent == "" && (n.path == "." || n.path == "")) {
				continue
			}
			for _, x := range n.opens {
				// The rename's own open of the directory asks for
				// FILE_WRITE_DATA and shares only read and write.
				if x.isDir && shareConflict(x, fileWriteData, shareRead|shareWrite) {
					srv.nodes.mu.Unlock()
					release()
					renameBreaksSent.Delete(r)
					return wire.StatusSharingViolation
				}
			}
		}
		var bs []breakNeeded
		var brks []*breakState
		seen := map[*lease]bool{}
		for _, x := range o.node.opens {
			l := x.lease
			if l == nil || l == o.lease || seen[l] {
				continue
			}
			seen[l] = true
			if l.brk != nil {
				l.brk.want &^= leaseH
				if l.state&leaseH != 0 {
					brks = append(brks, l.brk)
				}
				continue
			}
			if l.state&leaseH != 0 {
				bs = append(bs, breakNeeded{l: l, to: l.state &^ leaseH})
			}
		}
		sends, _ := srv.startBreaks(bs)
		for _, b := range bs {
			if b.l.brk != nil {
				brks = append(brks, b.l.brk)
			}
		}
		for _, b := range brks {
			b.renames++
		}
		srv.nodes.mu.Unlock()
		for _, f := range sends {
			f()
		}
		renameBreaksSent.Store(r, struct{}{})
		if len(brks) == 0 {
			break
		}
		release()
		r.renameGoAsync()
		ctx := r.context()
		for _, b := range brks {
			select {
			case <-b.done:
			case <-ctx.Done():
				srv.nodes.mu.Lock()
				for _, b := range brks {
					if b.isDone() {
						renamesWoken.Add(-1)
					} else {
						b.renames--
					}
				}
				srv.nodes.mu.Unlock()
				renameBreaksSent.Delete(r)
				return wire.StatusCancelled
			}
		}
		// Every break counted this rename when it ended; keep one count.
		renamesWoken.Add(int64(1 - len(brks)))
		woken = true
	}
	// Released once the rename's response is out: creates that came after
	// the breaks ended see the new name (renameSettled).
	prev := r.after
	r.after = func() {
		if prev != nil {
			prev()
		}
		release()
		renameBreaksSent.Delete(r)
	}
	return 0
}

// renameBreaksSent holds the rename requests that have sent their break
// notifications (breakForRename).
var renameBreaksSent sync.Map

// waitRenameBreaks holds a CREATE until the renames the client sent
// before it on this connection have sent their lease breaks, so that the
// client sees the breaks before the CREATE's response, as from a server
// that handles its requests in order (smb2.lease.rename_wait).
func (r *request) waitRenameBreaks() {
	c := r.c
	my := r.hdr.MessageID()
	for i := 0; i < 400; i++ {
		pending := false
		c.reqMu.Lock()
		for id, x := range c.byMsgID {
			if id >= my || x.hdr.Command() != wire.CmdSetInfo || len(x.msg) < wire.HeaderSize+4 {
				continue
			}
			si := wire.SetInfoRequest(x.msg)
			if si.InfoType() != wire.InfoFile || si.InfoClass() != fscc.FileRenameInformation {
				continue
			}
			if _, ok := renameBreaksSent.Load(x); !ok {
				pending = true
			}
		}
		c.reqMu.Unlock()
		if !pending {
			return
		}
		time.Sleep(250 * time.Microsecond)
	}
}

// renameGoAsync turns a waiting rename into an async SET_INFO (MS-SMB2
// 3.3.4.2), so that the connection reads on while the rename waits for the
// acknowledgments. The handler's response buffer stays valid only for a
// lone, unencrypted request, whose response starts the chain buffer;
// otherwise the rename waits in place, until the breaks end or time out.
func (r *request) renameGoAsync() {
	run := r.chain
	if r.asyncID != 0 || run == nil || run.last != r || len(run.starts) != 1 || run.starts[0] != 0 || run.encSess != nil {
		return
	}
	run.out = r.goAsync(run.out)
}

// renamesWoken counts renames whose breaks ended but which have not yet
// answered. MS-SMB2 servers process a client's requests in order; here
// they run concurrently, so a CREATE that follows the CLOSE that ended a
// break waits briefly for the rename it unblocked (smb2.lease.rename_wait).
var renamesWoken atomic.Int64

// renameSettled lets a CREATE wait briefly for renames whose breaks just
// ended, so that it sees their result (MS-SMB2 processes a client's
// requests in order; here they run concurrently).
func (s *Server) renameSettled() {
	for i := 0; i < 200 && renamesWoken.Load() > 0; i++ {
		time.Sleep(250 * time.Microsecond)
	}
}

// waitBreaks waits for the breaks an open depends on. A CANCEL ends the
// wait; the loss of the request's channel does not while the session has
// another channel (MS-SMB2 3.3.7.1 with multichannel: the create completes,
// and a replay on another channel finds it, smb2.replay.dhv2-pending2*).
func (r *request) waitBreaks(waits []<-chan struct{}) bool {
	ctx := r.context()
	for _, w := range waits {
		select {
		case <-w:
			continue
		case <-ctx.Done():
		}
		select {
		case <-r.c.done:
		default:
			return false // cancelled
		}
		if r.sess == nil || !r.sess.hasOtherChannel(r.c) {
			return false
		}
		<-w // the break ends by acknowledgment, close or timeout
	}
	return true
}

// hasOtherChannel reports whether a connection other than c is bound to s
// and still open.
func (s *session) hasOtherChannel(c *conn) bool {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for x := range s.conns {
		if x != c {
			conns = append(conns, x)
		}
	}
	s.mu.Unlock()
	for _, x := range conns {
		select {
		case <-x.done:
		default:
			return true
		}
	}
	return false
}

// dropEmptyNode removes the node of key when it has no opens left (an open
// that gave up while waiting for breaks).
func (s *Server) dropEmptyNode(key nodeKey) {
	s.nodes.mu.Lock()
	if n := s.nodes.nodes[key]; n != nil && len(n.opens) == 0 {
		delete(s.nodes.nodes, key)
	}
	s.nodes.mu.Unlock()
}

// disconnectedIn returns the disconnected durable opens that the breaks bs
// would go to, or that cause a sharing violation for o.
// Caller holds the node table lock.
func disconnectedIn(n *fileNode, bs []breakNeeded, conflict bool, o *open) []*open {
	var gone []*open
	add := func(x *open) {
		for _, g := range gone {
			if g == x {
				return
			}
		}
		gone = append(gone, x)
	}
	for _, b := range bs {
		if b.o != nil && b.o.disconnected() {
			add(b.o)
		}
		if b.l != nil {
			var xs []*open
			all := true
			for _, x := range n.opens {
				if x.lease == b.l {
					xs = append(xs, x)
					all = all && x.disconnected()
				}
			}
			if all {
				for _, x := range xs {
					add(x)
				}
			}
		}
	}
	if conflict {
		for _, x := range n.opens {
			if x.disconnected() && shareConflict(x, o.access, o.shareAc) {
				add(x)
			}
		}
	}
	return gone
}
