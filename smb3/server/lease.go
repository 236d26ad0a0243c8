package server

import (
	"smb3d/smb3/wire"
)

// Lease states (MS-SMB2 2.2.13.2.8) and flags.
const (
	leaseR uint32 = 0x01
	leaseH uint32 = 0x02
	leaseW uint32 = 0x04

	leaseFlagBreakInProgress uint32 = 0x02
	leaseFlagParentKeySet    uint32 = 0x04
	leaseBreakAckRequired    uint32 = 0x01
)

// leaseID names a lease: the client's GUID and its lease key (MS-SMB2
// 3.3.1.4 LeaseTable per ClientGuid).
type leaseID struct{ client, key [16]byte }

// lease is a lease on one file, shared by the opens that carry its key
// (MS-SMB2 3.3.1.13). Guarded by the node table lock.
type lease struct {
	id        leaseID
	node      *fileNode
	state     uint32
	epoch     uint16
	version   int // 1 or 2
	parent    [16]byte
	hasParent bool
	nopens    int
	brk       *breakState // non-nil while a break is in progress
}

// leaseRequest is a parsed SMB2_CREATE_REQUEST_LEASE(_V2) context.
type leaseRequest struct {
	key, parent [16]byte
	state       uint32
	flags       uint32
	epoch       uint16
	version     int
}

// parseLeaseRequest decodes RqLs: 32 bytes for version 1, 52 for version 2
// (MS-SMB2 2.2.13.2.8, 2.2.13.2.10); version 2 only from SMB 3.
func parseLeaseRequest(b []byte, dialect wire.Dialect) (leaseRequest, bool) {
	var lr leaseRequest
	switch {
	case len(b) >= 52 && dialect >= wire.Dialect300:
		lr.version = 2
		copy(lr.parent[:], b[32:48])
		lr.epoch = le.Uint16(b[48:])
	case len(b) >= 32:
		lr.version = 1
	default:
		return lr, false
	}
	copy(lr.key[:], b[:16])
	lr.state = le.Uint32(b[16:]) & (leaseR | leaseH | leaseW)
	lr.flags = le.Uint32(b[20:])
	return lr, true
}

// appendLeaseResponse encodes SMB2_CREATE_RESPONSE_LEASE(_V2) in the
// version the lease was created with.
func appendLeaseResponse(b []byte, l *lease) []byte {
	b = append(b, l.id.key[:]...)
	b = le.AppendUint32(b, l.state)
	var flags uint32
	if l.brk != nil {
		flags |= leaseFlagBreakInProgress
	}
	if l.version == 2 && l.hasParent {
		flags |= leaseFlagParentKeySet
	}
	b = le.AppendUint32(b, flags)
	b = le.AppendUint64(b, 0)
	if l.version == 2 {
		if l.hasParent {
			b = append(b, l.parent[:]...)
		} else {
			b = append(b, make([]byte, 16)...)
		}
		b = le.AppendUint16(b, l.epoch)
		b = le.AppendUint16(b, 0)
	}
	return b
}

// validLeaseState reduces a requested state to one a lease may have:
// R, RH, RW or RWH; a state without R is granted as none (smb2.lease.request).
func validLeaseState(s uint32) uint32 {
	if s&leaseR == 0 {
		return 0
	}
	return s & (leaseR | leaseH | leaseW)
}

// Stat opens: access masks that neither read nor write data. They do not
// break oplocks (MS-FSA 2.1.5.1.2.1, smb2.oplock.statopen1) and, with
// READ_CONTROL added, do not break leases (smb2.lease.statopen4).
const (
	oplockStatMask = fileReadAttributes | fileWriteAttributes | synchronize
	leaseStatMask  = oplockStatMask | readControl
)

func isStatOpen(access, mask uint32) bool { return access&^mask == 0 }

// leaseAllowed returns the lease states o may hold beside the other opens
// of n: write caching only when every other open carries the same lease
// (or is a bare stat open), handle caching not beside oplocks
// (smb2.lease.oplock). Caller holds the node table lock.
func leaseAllowed(n *fileNode, o *open, id leaseID) uint32 {
	allowed := leaseR | leaseH | leaseW
	for _, x := range n.opens {
		if x == o || x.lease != nil && x.lease.id == id {
			continue
		}
		if x.lease == nil && x.oplock == oplockNone && isStatOpen(x.access, leaseStatMask) {
			continue
		}
		allowed &^= leaseW
		if x.lease == nil && x.oplock != oplockNone {
			allowed &^= leaseH
		}
	}
	return allowed
}

// grantLease attaches o to the lease named by lr, creating it, and sets its
// state (MS-SMB2 3.3.5.9.8, 3.3.5.9.11): a new lease gets what it asked for
// that can be shared; an existing one is upgraded only to a strict superset
// that can be held as a whole (smb2.lease.upgrade2, upgrade3).
// Caller holds the node table lock.
func (s *Server) grantLease(n *fileNode, o *open, client [16]byte, lr leaseRequest) (*lease, wire.Status) {
	id := leaseID{client: client, key: lr.key}
	l := s.leases[id]
	if l != nil && l.node != n {
		if l.nopens > 0 {
			// A lease key names one file (MS-SMB2 3.3.5.9.8).
			return nil, wire.StatusInvalidParameter
		}
		delete(s.leases, id)
		l = nil
	}
	allowed := leaseAllowed(n, o, id)
	if o.isDir {
		allowed &= leaseR | leaseH
	}
	want := validLeaseState(lr.state)
	if l == nil {
		l = &lease{id: id, node: n, version: lr.version, parent: lr.parent,
			hasParent: lr.version == 2 && lr.flags&leaseFlagParentKeySet != 0}
		l.state = validLeaseState(want & allowed)
		if lr.version == 2 {
			l.epoch = lr.epoch + 1
		}
		s.leases[id] = l
	} else if l.brk == nil && want&l.state == l.state && want != l.state && want&^allowed == 0 {
		l.state = want
		l.epoch++
	}
	l.nopens++
	o.lease = l
	return l, 0
}

// releaseLease drops o's reference on its lease. Caller holds the node lock.
func (s *Server) releaseLease(o *open) {
	l := o.lease
	if l == nil {
		return
	}
	l.nopens--
	if l.nopens == 0 {
		if l.brk != nil {
			l.brk.finish()
			l.brk = nil
		}
		// The lease outlives its last open only for a durable reconnect,
		// which keeps its open (and so its reference); drop it so the table
		// does not grow without bound.
		if s.leases[l.id] == l {
			delete(s.leases, l.id)
		}
	}
}

// leaseSession picks the session to send a lease break to: that of the
// lease's oldest open still connected (MS-SMB2 3.3.4.7).
func leaseSession(l *lease) *session {
	var fallback *session
	for _, x := range l.node.opens {
		if x.lease != l {
			continue
		}
		if !x.disconnected() {
			return x.sess
		}
		if fallback == nil {
			fallback = x.sess
		}
	}
	return fallback
}

// leaseHolders returns the sessions of the connected opens that carry l.
// Caller holds the node table lock.
func leaseHolders(l *lease) map[*session]bool {
	m := map[*session]bool{}
	for _, x := range l.node.opens {
		if x.lease == l && !x.disconnected() {
			m[x.sess] = true
		}
	}
	return m
}

// leaseBreakNotification builds MS-SMB2 2.2.23.2.
func leaseBreakNotification(l *lease, cur, to uint32, ack bool) []byte {
	b := wire.AppendResponseHeader(make([]byte, 0, 108), &wire.ResponseHeader{
		Command: wire.CmdOplockBreak, MessageID: ^uint64(0),
	})
	b = le.AppendUint16(b, 44)
	if l.version == 2 {
		b = le.AppendUint16(b, l.epoch)
	} else {
		b = le.AppendUint16(b, 0)
	}
	var flags uint32
	if ack {
		flags = leaseBreakAckRequired
	}
	b = le.AppendUint32(b, flags)
	b = append(b, l.id.key[:]...)
	b = le.AppendUint32(b, cur)
	b = le.AppendUint32(b, to)
	b = le.AppendUint32(b, 0) // BreakReason
	b = le.AppendUint32(b, 0) // AccessMaskHint
	return le.AppendUint32(b, 0)
}
