package server

import (
	"sort"
	"time"

	"smb3d/smb3/wire"
)

// Break notifications take one path (MS-SMB2 3.3.4.6, 3.3.4.7): they are
// sent on one channel at a time, and when the send fails, or when the
// transport can tell that the peer did not take the bytes in time, on the
// next channel of the same client. The channel order prefers the oldest.

// deliveryChecker is implemented by transports that can tell how many sent
// bytes the peer has not acknowledged yet (TCP: the SIOCOUTQ ioctl).
type deliveryChecker interface {
	Unacked() (int, error)
}

// breakDeliveryTimeout is how long a break may stay unacknowledged by the
// peer's transport before it is sent again on another channel (a variable
// for tests).
var breakDeliveryTimeout = 2 * time.Second

// breakTarget is one channel a break notification can go out on.
type breakTarget struct {
	c    *conn
	sess *session
}

// sendBreak sends a break notification to a session, trying its channels
// in turn.
func (s *Server) sendBreak(sess *session, msg []byte, still func() bool) {
	if sess == nil {
		return
	}
	// An oplock break (MS-SMB2 2.2.23.1) names the open: it goes first to
	// the channel the open was created on (channels.go).
	var fid wire.FileID
	h := wire.Header(msg)
	hasFid := len(msg) >= 64+24 && h.Command() == wire.CmdOplockBreak
	if hasFid {
		fid = wire.FileID{Persistent: le.Uint64(msg[64+8:]), Volatile: le.Uint64(msg[64+16:])}
	}
	var ts []breakTarget
	for _, c := range sess.breakChannels(fid, hasFid) {
		ts = append(ts, breakTarget{c, sess})
	}
	s.deliverBreak(ts, msg, still)
}

// sendLeaseBreak sends a lease break to the client that owns the lease:
// on the oldest connection of that ClientGuid first (Windows does so, even
// for a lease whose opens are all on a younger connection:
// smb2.lease.v2_complex1), then on the others, then on the channels of
// sess. still tells whether a resend is still worth it (deliverBreak).
func (s *Server) sendLeaseBreak(client [16]byte, sess *session, msg []byte, still func() bool) {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, x := range s.sessions {
		sessions = append(sessions, x)
	}
	s.mu.Unlock()
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].created.Before(sessions[j].created) })
	var ts []breakTarget
	for _, x := range sessions {
		for _, c := range x.breakChannels(wire.FileID{}, false) {
			ts = append(ts, breakTarget{c, x})
		}
	}
	keep := ts[:0]
	for _, t := range ts {
		t.c.mu.Lock()
		same := t.c.clientGUID == client
		t.c.mu.Unlock()
		if same {
			keep = append(keep, t)
		}
	}
	ts = keep
	if sess != nil {
		for _, c := range sess.breakChannels(wire.FileID{}, false) {
			ts = append(ts, breakTarget{c, sess})
		}
	}
	s.deliverBreak(ts, msg, still)
}

// deliverBreak sends msg on the first target that takes it. When the
// transport reports delivery and another target remains, a watcher resends
// on the next target if the peer has not taken the bytes within
// breakDeliveryTimeout (a channel that died without the server noticing
// yet: multichannel break retry), as long as still (nil: always) reports
// that the break still matters.
func (s *Server) deliverBreak(ts []breakTarget, msg []byte, still func() bool) {
	seen := map[*conn]bool{}
	for i, t := range ts {
		if seen[t.c] {
			continue
		}
		seen[t.c] = true
		if err := s.sendOn(t, msg); err != nil {
			s.log.Warn("break notification failed on a channel, trying another", "session", t.sess.id, "err", err)
			continue
		}
		dc, ok := t.c.t.(deliveryChecker)
		// A channel marked by FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT
		// never acknowledges (channels.go).
		forced := t.c.tortureUnacked.Load()
		if !forced && (!ok || i == len(ts)-1) {
			return
		}
		rest := ts[i+1:]
		timeout := breakDeliveryTimeout
		if forced {
			// 3 s per blocked channel: smbtorture 4.17 crashes on the 30th
			// break of smb2.multichannel.leases.test4 when they come faster.
			timeout = 3 * time.Second
		}
		go func() {
			var n int
			var err error
			for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if forced {
					continue
				}
				if n, err = dc.Unacked(); err == nil && n == 0 {
					return
				}
			}
			if still != nil && !still() {
				return
			}
			s.log.Warn("break notification not acknowledged by the transport, trying another channel", "session", t.sess.id, "unacked", n, "err", err)
			if forced {
				// Later breaks try this channel last; a session whose
				// channels all failed is gone (channels.go).
				t.sess.breakFailed(t.c)
			}
			s.deliverBreak(rest, msg, still)
		}()
		return
	}
}

// sendOn sends one notification on one channel, encrypted when the
// session encrypts (MS-SMB2 3.3.4.1.4).
func (s *Server) sendOn(t breakTarget, msg []byte) error {
	if t.sess.encryptData() {
		return t.c.send(msg, t.sess)
	}
	return t.c.t.WriteMessage(msg)
}
