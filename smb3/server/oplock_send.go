package server

import (
	"sort"
	"time"
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
func (s *Server) sendBreak(sess *session, msg []byte) {
	if sess == nil {
		return
	}
	sess.mu.Lock()
	ts := make([]breakTarget, 0, len(sess.conns))
	for c := range sess.conns {
		ts = append(ts, breakTarget{c, sess})
	}
	sess.mu.Unlock()
	s.deliverBreak(ts, msg)
}

// sendLeaseBreak sends a lease break to the client that owns the lease:
// on the oldest connection of that ClientGuid first (Windows does so:
// smb2.lease.v2_complex1), then on the others, then on the channels of
// sess.
func (s *Server) sendLeaseBreak(client [16]byte, sess *session, msg []byte) {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, x := range s.sessions {
		sessions = append(sessions, x)
	}
	s.mu.Unlock()
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].created.Before(sessions[j].created) })
	var ts []breakTarget
	for _, x := range sessions {
		x.mu.Lock()
		for c := range x.conns {
			ts = append(ts, breakTarget{c, x})
		}
		x.mu.Unlock()
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
		sess.mu.Lock()
		for c := range sess.conns {
			ts = append(ts, breakTarget{c, sess})
		}
		sess.mu.Unlock()
	}
	s.deliverBreak(ts, msg)
}

// deliverBreak sends msg on the first target that takes it. When the
// transport reports delivery and another target remains, a watcher resends
// on the next target if the peer has not taken the bytes within
// breakDeliveryTimeout (a channel that died without the server noticing
// yet: multichannel break retry).
func (s *Server) deliverBreak(ts []breakTarget, msg []byte) {
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
		if !ok || i == len(ts)-1 {
			return
		}
		rest := ts[i+1:]
		timeout := breakDeliveryTimeout
		go func() {
			for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if n, err := dc.Unacked(); err == nil && n == 0 {
					return
				}
			}
			s.log.Warn("break notification not acknowledged by the transport, trying another channel", "session", t.sess.id)
			s.deliverBreak(rest, msg)
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
