package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/wire"
)

// Durable handles (MS-SMB2 3.3.5.9.6, 3.3.5.9.7, 3.3.5.9.10, 3.3.5.9.12,
// 3.3.7.1): an open granted durability survives the loss of its
// connection (not an explicit LOGOFF, TREE_DISCONNECT or CLOSE) for its
// timeout, with its share mode, oplock or lease and byte-range locks, and
// can be reconnected by a later session of the same user. Persistent
// handles need continuously available shares, which are not offered.

// Durable handle timeouts: v1 opens keep 16 minutes like Windows; v2 opens
// get what they ask, 60 s when they ask nothing, at most 300 s (Windows'
// cap, smb2.durable-v2-open.reopen1: UINT32_MAX is granted as 300000 ms).
const (
	durableV1Timeout      = 16 * time.Minute
	durableV2Default      = 60 * time.Second
	durableV2Max          = 300 * time.Second
	dh2FlagPersistent     = 0x2
	ctxAppInstanceID      = "\x45\xbc\xa6\x6a\xef\xa7\xf7\x4a\x90\x08\xfa\x46\x2e\x14\x4d\x74"
	durableReconnectV1Len = 16
	durableReconnectV2Len = 36
	durableRequestV2Len   = 32
)

// durableState is the durable part of an open. Guarded by the node table
// lock.
type durableState struct {
	v2           bool
	createGUID   [16]byte
	appID        [16]byte
	hasApp       bool
	timeout      time.Duration
	user, domain string
	clientGUID   [16]byte
	disconnected bool
	timer        *time.Timer
}

// disconnected reports whether o is a durable open whose connection is
// gone, waiting for a reconnect. Caller holds the node table lock.
func (o *open) disconnected() bool { return o.dur != nil && o.dur.disconnected }

// durableRequest is what a CREATE asks about durability.
type durableRequest struct {
	v1, v2       bool // DHnQ, DH2Q
	reconnect    bool // DHnC or DH2C
	reconnectV1  bool
	reconnectV2  bool
	fid          wire.FileID
	createGUID   [16]byte
	timeout      uint32
	flags        uint32
	appID        [16]byte
	hasApp       bool
	lease        *leaseRequest
	leaseInvalid bool
}

// parseDurable reads the durable contexts of a CREATE and refuses the
// combinations MS-SMB2 3.3.5.9.12 forbids.
func parseDurable(ctxs []wire.CreateContext, dialect wire.Dialect, oplock uint8) (durableRequest, wire.Status) {
	var d durableRequest
	for _, c := range ctxs {
		switch c.Name {
		case ctxDHnQ:
			d.v1 = true
		case ctxDHnC:
			if len(c.Data) < durableReconnectV1Len {
				return d, wire.StatusInvalidParameter
			}
			d.reconnect, d.reconnectV1 = true, true
			d.fid = wire.FileID{Persistent: le.Uint64(c.Data), Volatile: le.Uint64(c.Data[8:])}
		case ctxDH2Q:
			if len(c.Data) < durableRequestV2Len || dialect < wire.Dialect300 {
				if dialect < wire.Dialect300 {
					continue
				}
				return d, wire.StatusInvalidParameter
			}
			d.v2 = true
			d.timeout = le.Uint32(c.Data)
			d.flags = le.Uint32(c.Data[4:])
			copy(d.createGUID[:], c.Data[16:32])
		case ctxDH2C:
			if len(c.Data) < durableReconnectV2Len || dialect < wire.Dialect300 {
				if dialect < wire.Dialect300 {
					continue
				}
				return d, wire.StatusInvalidParameter
			}
			d.reconnect, d.reconnectV2 = true, true
			d.fid = wire.FileID{Persistent: le.Uint64(c.Data), Volatile: le.Uint64(c.Data[8:])}
			copy(d.createGUID[:], c.Data[16:32])
		case ctxRqLs:
			if lr, ok := parseLeaseRequest(c.Data, dialect); ok {
				d.lease = &lr
			} else {
				d.leaseInvalid = true
			}
		case ctxAppInstanceID:
			if len(c.Data) >= 20 {
				copy(d.appID[:], c.Data[4:20])
				d.hasApp = true
			}
		}
	}
	// DHnQ with DH2Q, DH2C with any other durable context, DHnC with DH2Q:
	// all refused; a DHnQ beside DHnC is ignored (3.3.5.9.7).
	if d.v1 && d.v2 || d.reconnectV2 && (d.v1 || d.v2 || d.reconnectV1) || d.reconnectV1 && d.v2 {
		return d, wire.StatusInvalidParameter
	}
	if d.reconnect {
		d.v1 = false
	}
	return d, 0
}

// durableCreate runs first in CREATE: it answers a durable reconnect
// (DHnC/DH2C) entirely, refuses invalid durable context combinations, and
// closes older opens of the same application instance (MS-SMB2 3.3.5.9.13).
// done reports that the CREATE is answered.
func (r *request) durableCreate(st *chainState, out []byte) (_ []byte, _ wire.Status, done bool) {
	req := wire.CreateRequest(r.msg)
	r.waitRenameBreaks()
	r.c.srv.renameSettled()
	ctxs, err := wire.ParseCreateContexts(req.ContextsBuffer())
	if err != nil {
		return out, 0, false // handleCreate reports it
	}
	d, status := parseDurable(ctxs, r.c.dialect, req.RequestedOplockLevel())
	if status != 0 {
		return out, status, true
	}
	if d.reconnect {
		out, status = r.durableReconnect(st, out, req, &d)
		return out, status, true
	}
	if d.v2 && r.hdr.IsReplay() {
		if out, status, done := r.durableReplay(st, out, req, &d); done {
			return out, status, true
		}
	}
	if d.v2 && !r.hdr.IsReplay() && r.c.srv.createGUIDInUse(r, d.createGUID) {
		// 3.3.5.9.10: a CreateGuid that names an open is not reused
		// without SMB2_FLAGS_REPLAY_OPERATION (smb2.replay.replay6).
		return out, wire.StatusDuplicateObjectID, true
	}
	if d.v2 {
		r.c.mu.Lock()
		key := createKey{r.c.srv, r.c.clientGUID, d.createGUID}
		r.c.mu.Unlock()
		// The entry outlives the request; inFlight tells whether it is
		// still pending (r.after would run already at the interim response).
		createGUIDs.Store(key, &createEntry{req: r})
		if createGUIDStores.Add(1)%256 == 0 {
			sweepCreateGUIDs(r.c.srv)
		}
	}
	if d.v2 && d.hasApp {
		r.c.srv.closeAppInstance(d.appID, d.createGUID)
	}
	if path, stream, status := parseCreateName(req.Name()); status == 0 && path != "" {
		r.c.srv.purgeDeleteOnClose(r.tree.share, path, stream)
	}
	return out, 0, false
}

// closeAppInstance closes the opens of an earlier instance of an
// application, which a failover client replaces (MS-SMB2 3.3.5.9.13:
// "the server MUST close ... Open.AppInstanceId equal ... CreateGuid not
// equal"), without breaking their oplocks (smb2.durable-v2-open.app-instance).
func (s *Server) closeAppInstance(app, createGUID [16]byte) {
	s.nodes.mu.Lock()
	olds := s.opens.collect(func(o *open) bool {
		return o.dur != nil && o.dur.hasApp && o.dur.appID == app && o.dur.createGUID != createGUID
	})
	s.nodes.mu.Unlock()
	for _, o := range olds {
		s.closeOpen(o)
	}
}

// durableReconnect reattaches a disconnected durable open to this session
// and tree (MS-SMB2 3.3.5.9.7, 3.3.5.9.12). Only the FileId, the CreateGuid,
// the lease key and, with a lease, the name are checked; everything else
// in the request is ignored (smb2.durable-v2-open.reopen2).
func (r *request) durableReconnect(st *chainState, out []byte, req wire.CreateRequest, d *durableRequest) ([]byte, wire.Status) {
	srv := r.c.srv
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	o := srv.opens.get(d.fid)
	srv.nodes.mu.Lock()
	if o == nil || o.dur == nil || !o.dur.disconnected {
		srv.nodes.mu.Unlock()
		return out, wire.StatusObjectNameNotFound
	}
	// A v1 open has a zero CreateGuid: DH2C with a zero GUID reconnects it
	// (smb2.durable-open.reopen2-lease), a v2 open needs its own GUID.
	if d.reconnectV2 && o.dur.createGUID != d.createGUID {
		srv.nodes.mu.Unlock()
		return out, wire.StatusObjectNameNotFound
	}
	if l := o.lease; l != nil {
		// 3.3.5.9.7: a leased open needs the same lease key from the same
		// client, and then the same name.
		if d.lease == nil || d.lease.key != l.id.key || client != l.id.client {
			srv.nodes.mu.Unlock()
			return out, wire.StatusObjectNameNotFound
		}
		name, stream, status := parseCreateName(req.Name())
		if status != 0 || !strings.EqualFold(strings.ReplaceAll(name, "/", `\`)+streamSuffix(stream), o.name) {
			srv.nodes.mu.Unlock()
			return out, wire.StatusInvalidParameter
		}
	} else if d.lease != nil {
		srv.nodes.mu.Unlock()
		return out, wire.StatusObjectNameNotFound
	}
	r.sess.mu.Lock()
	user, domain := r.sess.user, r.sess.domain
	r.sess.mu.Unlock()
	if !strings.EqualFold(user, o.dur.user) || !strings.EqualFold(domain, o.dur.domain) {
		srv.nodes.mu.Unlock()
		return out, wire.StatusAccessDenied
	}
	o.dur.disconnected = false
	if o.dur.timer != nil {
		o.dur.timer.Stop()
		o.dur.timer = nil
	}
	o.sess, o.tree = r.sess, r.tree
	oplock := o.oplock
	var leaseResp []byte
	if o.lease != nil {
		leaseResp = appendLeaseResponse(nil, o.lease)
	}
	srv.nodes.mu.Unlock()
	r.sess.mu.Lock()
	r.sess.nopens++
	r.sess.mu.Unlock()
	st.fid, st.hasFid = o.id, true

	info, err := o.f.Stat()
	if err != nil {
		return out, statusOf(err)
	}
	resp := wire.CreateResponse{
		CreateAction:   actionOpened,
		Creation:       filetime(info.Birth),
		LastAccess:     filetime(info.Access),
		LastWrite:      filetime(info.Write),
		Change:         filetime(info.Change),
		AllocationSize: allocSize(&info),
		EndOfFile:      info.Size,
		Attributes:     info.Attributes,
		FileID:         o.id,
		OplockLevel:    oplock,
	}
	if info.IsDir {
		resp.EndOfFile = 0
	}
	if leaseResp != nil {
		resp.OplockLevel = oplockLease
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxRqLs, Data: leaseResp})
	}
	// No durable response context on a reconnect (smb2.durable-open.reopen1a-lease).
	return resp.Append(out), wire.StatusSuccess
}

// durableGrant decides, after o was granted its oplock or lease, whether
// it is durable (MS-SMB2 3.3.5.9.6, 3.3.5.9.10: only with a batch oplock or
// a handle-caching lease) and returns the response contexts to add.
func (r *request) durableGrant(o *open, ctxs []wire.CreateContext, resp *wire.CreateResponse) []wire.CreateContext {
	d, status := parseDurable(ctxs, r.c.dialect, 0)
	if status != 0 || !d.v1 && !d.v2 {
		return nil
	}
	srv := r.c.srv
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	srv.nodes.mu.Lock()
	defer srv.nodes.mu.Unlock()
	if d.v2 {
		// Durable or not, the open answers replays of its CreateGuid.
		if x, ok := createGUIDs.Load(createKey{srv, client, d.createGUID}); ok && x.(*createEntry).req == r {
			e := x.(*createEntry)
			e.o, e.resp = o, *resp
			e.resp.Contexts = nil
			replayByOpen.Store(o, e)
		}
	}
	if !(o.oplock == oplockBatch || o.lease != nil && o.lease.state&leaseH != 0) {
		return nil
	}
	r.sess.mu.Lock()
	user, domain := r.sess.user, r.sess.domain
	r.sess.mu.Unlock()
	ds := &durableState{v2: d.v2, createGUID: d.createGUID, appID: d.appID, hasApp: d.hasApp, user: user, domain: domain, clientGUID: client}

	o.dur = ds
	if d.v1 {
		ds.timeout = durableV1Timeout
		return []wire.CreateContext{{Name: ctxDHnQ, Data: make([]byte, 8)}}
	}
	ms := time.Duration(d.timeout) * time.Millisecond
	switch {
	case d.timeout == 0:
		ms = durableV2Default
	case ms > durableV2Max:
		ms = durableV2Max
	}
	ds.timeout = ms
	b := le.AppendUint32(nil, uint32(ms/time.Millisecond))
	b = le.AppendUint32(b, 0) // not persistent: no continuously available shares
	return []wire.CreateContext{{Name: ctxDH2Q, Data: b}}
}

// keepDurable detaches the durable opens of a session whose last channel
// is gone (MS-SMB2 3.3.7.1), before the session's opens are closed: they
// stay in the open table, on their file and in the lock table until they
// are reconnected or their timeout passes. Opens that lost their batch
// oplock or handle lease are not kept.
func (s *Server) keepDurable(sess *session) {
	orphan := &session{srv: s, conns: map[*conn]struct{}{}, trees: map[uint32]*tree{}, state: sessExpired}
	s.nodes.mu.Lock()
	// An open whose oplock or lease is being broken is not kept: the
	// break would wait for a client that is gone.
	kept := s.opens.collect(func(o *open) bool {
		return o.sess == sess && o.dur != nil && !o.dur.disconnected && o.obrk == nil &&
			(o.oplock == oplockBatch || o.lease != nil && o.lease.state&leaseH != 0 && o.lease.brk == nil)
	})
	for _, o := range kept {
		o.dur.disconnected = true
		o.sess = orphan
		o.tree = &tree{id: o.tree.id, share: o.tree.share, sess: orphan, access: o.tree.access}
		o := o
		ds := o.dur
		ds.timer = time.AfterFunc(ds.timeout, func() { s.durableExpired(o, ds) })
	}
	s.nodes.mu.Unlock()
	if len(kept) > 0 {
		sess.mu.Lock()
		sess.nopens -= len(kept)
		sess.mu.Unlock()
		orphan.nopens = len(kept)
	}
}

// durableExpired closes a durable open nobody reconnected in time.
func (s *Server) durableExpired(o *open, ds *durableState) {
	s.nodes.mu.Lock()
	expired := o.dur == ds && ds.disconnected
	s.nodes.mu.Unlock()
	if expired {
		s.closeOpen(o)
	}
}

// purgeDisconnected closes the disconnected durable opens among os: a
// conflicting open does not wait for a client that is gone (Windows closes
// them: smb2.durable-open.oplock, lease). Caller must not hold the lock.
func (s *Server) purgeDisconnected(os []*open) {
	for _, o := range os {
		s.closeOpen(o)
	}
}

// purgeDeleteOnClose closes the disconnected durable opens of path that
// carry a delete on close, before a new open looks the name up: the file
// goes the way its owner asked, and the new open creates it afresh
// (smb2.durable-open.delete_on_close1).
func (s *Server) purgeDeleteOnClose(sh *share, path, stream string) {
	s.nodes.mu.Lock()
	var gone []*open
	for _, n := range s.nodes.nodes {
		if n.share != sh || n.stream != (stream != "") || !strings.EqualFold(n.path, path) {
			continue
		}
		for _, o := range n.opens {
			if o.disconnected() {
				o.mu.Lock()
				doc := o.docOnClose
				o.mu.Unlock()
				if doc || n.deletePending {
					gone = append(gone, o)
				}
			}
		}
	}
	s.nodes.mu.Unlock()
	s.purgeDisconnected(gone)
}

// createKey names a durable v2 CREATE by its client and CreateGuid
// (MS-SMB2 3.3.5.9.10).
type createKey struct {
	srv        *Server
	client     [16]byte
	createGUID [16]byte
}

// createEntry is the latest durable v2 CREATE of a CreateGuid: the request
// while it runs, then the open it made and its response.
// o and resp are guarded by the node table lock.
type createEntry struct {
	req  *request
	o    *open
	resp wire.CreateResponse
	used atomic.Bool // a request used the open: replays get a new open
}

// replayByOpen finds the createEntry of an open (replayUsed).
var replayByOpen sync.Map // *open -> *createEntry

// replayUsed marks o as used by a request other than its CREATE: from then
// on a replay of its CREATE is a new CREATE, as Windows does
// (smb2.replay.replay6). Called by lookupOpen.
func (s *Server) replayUsed(o *open) {
	if x, ok := replayByOpen.Load(o); ok {
		x.(*createEntry).used.Store(true)
	}
}

// createGUIDInUse reports whether a live open of this client was created
// with createGUID.
func (s *Server) createGUIDInUse(r *request, createGUID [16]byte) bool {
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	x, ok := createGUIDs.Load(createKey{s, client, createGUID})
	if !ok {
		return false
	}
	e := x.(*createEntry)
	s.nodes.mu.Lock()
	defer s.nodes.mu.Unlock()
	return e.o != nil && s.opens.get(e.o.id) == e.o
}

// createGUIDs answers replays (MS-SMB2 3.3.5.9.10): a replay of a CREATE
// still in progress (waiting for breaks, say) is told to retry later, one
// of a CREATE that is done gets its open back. Entries of closed opens and
// failed CREATEs go when a replay finds them, or in a sweep.
var (
	createGUIDs      sync.Map // createKey -> *createEntry
	createGUIDStores atomic.Int64
)

// sweepCreateGUIDs drops the entries of s whose CREATE failed or whose
// open is closed.
func sweepCreateGUIDs(s *Server) {
	createGUIDs.Range(func(k, v any) bool {
		key, e := k.(createKey), v.(*createEntry)
		if key.srv != s {
			return true
		}
		s.nodes.mu.Lock()
		o := e.o
		gone := o != nil && s.opens.get(o.id) != o
		s.nodes.mu.Unlock()
		if gone || o == nil && !e.req.inFlight() {
			createGUIDs.CompareAndDelete(k, v)
			if o != nil {
				replayByOpen.Delete(o)
			}
		}
		return true
	})
}

// inFlight reports whether r has not been answered yet: it is still in its
// connection's tables of requests in progress.
func (r *request) inFlight() bool {
	c := r.c
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if c.byMsgID[r.hdr.MessageID()] == r {
		return true
	}
	for _, x := range c.byAsync {
		if x == r {
			return true
		}
	}
	return false
}

// durableReplay answers a replayed durable v2 CREATE (SMB2_FLAGS_REPLAY_
// OPERATION, MS-SMB2 3.3.5.9.10): while the original is still in progress
// it fails with STATUS_FILE_NOT_AVAILABLE; once it is done the replay gets
// the original open back, with the oplock it asks for if that is not more
// than the open holds (smb2.replay.replay-dhv2-oplock2), and without
// changing the open. A replay that asks for a lease on an oplocked open,
// or the reverse, is refused. done is false when there is nothing to
// replay: the CREATE then runs as a new one.
func (r *request) durableReplay(st *chainState, out []byte, req wire.CreateRequest, d *durableRequest) (_ []byte, _ wire.Status, done bool) {
	srv := r.c.srv
	r.c.mu.Lock()
	client := r.c.clientGUID
	r.c.mu.Unlock()
	key := createKey{srv, client, d.createGUID}
	x, ok := createGUIDs.Load(key)
	if !ok {
		return out, 0, false
	}
	e := x.(*createEntry)
	if e.req == r {
		return out, 0, false
	}
	srv.nodes.mu.Lock()
	o := e.o
	if o == nil {
		srv.nodes.mu.Unlock()
		if e.req.inFlight() {
			return out, wire.StatusFileNotAvailable, true
		}
		createGUIDs.CompareAndDelete(key, x)
		return out, 0, false
	}
	if srv.opens.get(o.id) != o || o.disconnected() || e.used.Load() {
		srv.nodes.mu.Unlock()
		createGUIDs.CompareAndDelete(key, x)
		replayByOpen.Delete(o)
		return out, 0, false
	}
	if o.sess != r.sess {
		srv.nodes.mu.Unlock()
		return out, wire.StatusAccessDenied, true
	}
	resp := e.resp
	resp.Contexts = nil
	wantLease := req.RequestedOplockLevel() == oplockLease && d.lease != nil
	if (o.lease != nil) != wantLease || o.lease != nil && d.lease.key != o.lease.id.key {
		srv.nodes.mu.Unlock()
		return out, wire.StatusAccessDenied, true
	}
	durable := false
	if o.lease != nil {
		resp.OplockLevel = oplockLease
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxRqLs, Data: appendLeaseResponse(nil, o.lease)})
		durable = o.dur != nil && o.lease.state&leaseH != 0
	} else {
		level := req.RequestedOplockLevel()
		if level > o.oplock || level != oplockNone && level != oplockLevelII && level != oplockExclusive && level != oplockBatch {
			level = o.oplock
		}
		resp.OplockLevel = level
		durable = o.dur != nil && level == oplockBatch
	}
	var timeout time.Duration
	if o.dur != nil {
		timeout = o.dur.timeout
	}
	srv.nodes.mu.Unlock()
	if durable {
		b := le.AppendUint32(nil, uint32(timeout/time.Millisecond))
		b = le.AppendUint32(b, 0)
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxDH2Q, Data: b})
	}
	st.fid, st.hasFid = o.id, true
	return resp.Append(out), wire.StatusSuccess, true
}
