package server

import (
	"strings"

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
		if n.deletePending {
			drop()
			srv.nodes.mu.Unlock()
			return out, grantResult{}, wire.StatusDeletePending
		}
		in.conflict = false
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
				return out, grantResult{}, wire.StatusInternalError
			}
			out = r.goAsync(out)
			ctx := r.context()
			for _, w := range waits {
				select {
				case <-w:
				case <-ctx.Done():
					return out, grantResult{}, wire.StatusCancelled
				}
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

// breakForRename runs before o's file is renamed to newPath
// (MS-FSA 2.1.5.15.12). Windows opens the target's parent directory for
// the rename with a share mode that excludes delete, so an open of that
// directory with DELETE access makes the rename fail with a sharing
// violation (smb2.oplock.exclusive6, batch19/20). Otherwise handle caching
// of other leases on the file is broken, and the rename waits for the
// acknowledgments (smb2.lease.v2_rename).
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
	for round := 0; round < maxBreakRounds; round++ {
		srv.nodes.mu.Lock()
		for _, n := range srv.nodes.nodes {
			if n.share != o.node.share || n.stream || !strings.EqualFold(n.path, parent) && !(parent == "" && (n.path == "." || n.path == "")) {
				continue
			}
			for _, x := range n.opens {
				if x.isDir && x.access&accessDelete != 0 {
					srv.nodes.mu.Unlock()
					return wire.StatusSharingViolation
				}
			}
		}
		var bs []breakNeeded
		seen := map[*lease]bool{}
		for _, x := range o.node.opens {
			l := x.lease
			if l == nil || l == o.lease || seen[l] {
				continue
			}
			seen[l] = true
			if l.brk != nil {
				l.brk.want &^= leaseH
				bs = append(bs, breakNeeded{l: l, to: l.brk.want, wait: true})
				continue
			}
			if l.state&leaseH != 0 {
				bs = append(bs, breakNeeded{l: l, to: l.state &^ leaseH, wait: true})
			}
		}
		sends, waits := srv.startBreaks(bs)
		srv.nodes.mu.Unlock()
		for _, f := range sends {
			f()
		}
		if len(waits) == 0 {
			return 0
		}
		ctx := r.context()
		for _, w := range waits {
			select {
			case <-w:
			case <-ctx.Done():
				return wire.StatusCancelled
			}
		}
	}
	return 0
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
