package server

import (
	"sort"
	"sync/atomic"

	"smb3d/smb3/wire"
)

// Channel order for break notifications (MS-SMB2 3.3.4.6, 3.3.4.7): a
// break goes first to the channel the open was created on, as Windows does
// (it remembers the channel an oplock or lease was granted on;
// smb2.multichannel.oplocks.test2), then to the other channels of the
// session, oldest binding first (smb2.multichannel.oplocks.test3_*); a
// channel where a break went unacknowledged comes last.

// channelSeq numbers channels in the order they were bound.
var channelSeq atomic.Uint64

// noteOpenChannel records that the open fid of s was created on c.
// Owner: s.mu.
func (s *session) noteOpenChannel(fid wire.FileID, c *conn) {
	s.mu.Lock()
	if s.openChan == nil {
		s.openChan = map[wire.FileID]*conn{}
	}
	s.openChan[fid] = c
	s.mu.Unlock()
}

func (s *session) forgetOpenChannel(fid wire.FileID) {
	s.mu.Lock()
	delete(s.openChan, fid)
	s.mu.Unlock()
}

// breakChannels returns the connections of s in break order: the open's
// channel (fid, when known), then the others by binding order.
func (s *session) breakChannels(fid wire.FileID, hasFid bool) []*conn {
	s.mu.Lock()
	first := s.openChan[fid]
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	seqs := make(map[*conn]uint64, len(cs))
	for _, c := range cs {
		if ch := c.channel(s.id); ch != nil {
			seqs[c] = ch.seq
		}
	}
	failed := make(map[*conn]bool, len(cs))
	for _, c := range cs {
		failed[c] = c.breakFailed.Load()
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if failed[cs[i]] != failed[cs[j]] {
			return !failed[cs[i]]
		}
		if hasFid && (cs[i] == first) != (cs[j] == first) {
			return cs[i] == first
		}
		return seqs[cs[i]] < seqs[cs[j]]
	})
	return cs
}

// breakFailed records that a break on c, a channel of s, was not
// acknowledged: later breaks try c last (Samba drops such a channel;
// smb2.multichannel.leases.test2), and when every channel of s has failed
// the client is unreachable and the session is logged off, so the opens
// it holds stop blocking others (smb2.multichannel.*.test3/4). The
// connections stay open: smbtorture crashes when its blocked transports
// are cut under it.
func (s *session) breakFailed(c *conn) {
	c.breakFailed.Store(true)
	s.mu.Lock()
	all := true
	for x := range s.conns {
		if !x.breakFailed.Load() {
			all = false
			break
		}
	}
	s.mu.Unlock()
	if all {
		s.srv.log.Warn("no channel of the session acknowledges breaks: logging it off", "session", s.id)
		s.srv.keepDurable(s) // durable.go
		s.logoff()
		s.removeChannels()
	}
}

// noteChannelUse is called after each request: a CREATE that opened a file
// records its channel, a CLOSE forgets it.
func (r *request) noteChannelUse(st *chainState, status wire.Status) {
	if r.sess == nil || status != wire.StatusSuccess || !r.c.srv.cfg.Multichannel {
		return
	}
	switch r.hdr.Command() {
	case wire.CmdCreate:
		if st.hasFid {
			r.sess.noteOpenChannel(st.fid, r.c)
		}
	case wire.CmdClose:
		if st.hasFid {
			r.sess.forgetOpenChannel(st.fid)
		}
	}
}

// fsctlSmbtortureForceUnackedTimeout is Samba's test-only
// FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT (libcli/smb/smb_constants.h): the
// connection it arrives on is treated as one whose peer never acknowledges
// what is sent, so a break sent on it is retried on another channel.
const fsctlSmbtortureForceUnackedTimeout = 0x83848003

// handleTortureIoctl answers FSCTL_SMBTORTURE codes, which smbtorture sends
// without a session; ok is false for any other request or when the
// "smbtorture fsctl" option is off.
func (c *conn) handleTortureIoctl(r *request, out []byte) (_ []byte, _ wire.Status, ok bool) {
	if r.hdr.Command() != wire.CmdIoctl || !c.srv.cfg.SmbtortureFsctl || r.hdr.SessionID() != 0 {
		return out, 0, false
	}
	req := wire.IoctlRequest(r.msg)
	if req.Validate() != nil || req.CtlCode() != fsctlSmbtortureForceUnackedTimeout {
		return out, 0, false
	}
	if len(req.Input()) != 0 {
		return out, wire.StatusInvalidParameter, true
	}
	c.tortureUnacked.Store(true)
	c.log.Info("smbtorture: channel marked as never acknowledging")
	return wire.AppendIoctlResponse(out, req.CtlCode(), req.FileID(), nil, nil), wire.StatusSuccess, true
}
