package server

import (
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

type sessionState int

const (
	sessInProgress sessionState = iota
	sessValid
	sessExpired
)

// session is an authenticated user's session (MS-SMB2 3.3.1.8), shared by
// the channels bound to it.
type session struct {
	srv     *Server
	id      uint64
	dialect wire.Dialect
	created time.Time

	mu       sync.Mutex
	state    sessionState
	authCtx  *auth.Context
	authConn *conn
	preauth  crypt.PreauthHash
	user     string
	domain   string
	guest    bool
	anon     bool
	key      []byte
	keys     crypt.Keys
	signer   crypt.Signer
	enc, dec crypt.Cipher
	signReq  bool
	encrypt  bool
	trees    map[uint32]*tree
	nextTree uint32
	conns    map[*conn]struct{}
	nopens   int
	// signAlg and cipher are those of the connection that established the
	// session; a binding must match them (session_bind.go).
	signAlg, cipher uint16
	// openChan is the channel each open was created on (channels.go).
	openChan map[wire.FileID]*conn
	// token is the SIDs access checks grant to (security.go userToken),
	// set with user.
	token [][]byte
}

// securityToken is the session's token for DACL checks.
func (s *session) securityToken() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == nil {
		return tokenSIDs
	}
	return s.token
}

func (s *Server) lookupSession(id uint64) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func (s *Server) newSession(c *conn) *session {
	sess := &session{srv: s, dialect: c.dialect, created: time.Now(), trees: map[uint32]*tree{}, conns: map[*conn]struct{}{}}
	s.mu.Lock()
	for {
		var b [8]byte
		rand.Read(b[:])
		id := le.Uint64(b[:]) &^ (1 << 63)
		if id == 0 {
			continue
		}
		if _, dup := s.sessions[id]; !dup {
			sess.id = id
			s.sessions[id] = sess
			break
		}
	}
	s.mu.Unlock()
	s.stats.Sessions.Add(1)
	return sess
}

func (s *session) signingRequired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signReq
}

func (s *session) encryptData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.encrypt
}

func (s *session) encrypter() crypt.Cipher {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

func (s *session) decrypter() crypt.Cipher {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dec
}

// checkUsable refuses requests on a session that is not (or no longer) valid.
func (s *session) checkUsable(c *conn) wire.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case sessInProgress:
		if s.signer == nil {
			return wire.StatusUserSessionDeleted
		}
		// Re-authentication in progress: the session stays usable.
	case sessExpired:
		return wire.StatusNetworkSessionExpired
	}
	if _, ok := s.conns[c]; !ok {
		return wire.StatusUserSessionDeleted
	}
	return 0
}

func (s *session) tree(id uint32) *tree {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trees[id]
}

// channelGone is called when a connection bound to s closes.
func (s *session) channelGone(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	last := len(s.conns) == 0
	s.mu.Unlock()
	if last {
		s.srv.keepDurable(s) // durable.go: a lost connection keeps durable opens
		s.logoff()
	}
}

// logoff ends the session: its trees and opens are closed.
func (s *session) logoff() {
	s.srv.mu.Lock()
	if s.srv.sessions[s.id] != s {
		s.srv.mu.Unlock()
		return
	}
	delete(s.srv.sessions, s.id)
	s.srv.mu.Unlock()
	s.srv.stats.Sessions.Add(-1)
	s.mu.Lock()
	s.state = sessExpired
	trees := s.trees
	s.trees = map[uint32]*tree{}
	s.mu.Unlock()
	for _, t := range trees {
		t.disconnect()
	}
	s.srv.opens.closeSession(s)
}

// handleSessionSetup is SMB2 SESSION_SETUP (MS-SMB2 3.3.5.5).
func handleSessionSetup(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	c := r.c
	req := wire.SessionSetupRequest(r.msg)
	srv := c.srv
	var sess *session
	isNew := false
	if req.Flags()&wire.SessionFlagBinding != 0 {
		return handleBinding(r, st, out)
	}
	if r.hdr.SessionID() == 0 {
		if srv.pendingLogons(c) >= maxPendingLogons {
			srv.reject("too-many-pending-logons", "remote", c.t.RemoteAddr().String())
			return out, wire.StatusInsufficientResources
		}
		sess = srv.newSession(c)
		isNew = true
		sess.mu.Lock()
		sess.authConn = c
		sess.authCtx = auth.NewContext(srv.authCfg)
		c.mu.Lock()
		sess.preauth = c.preauth
		c.mu.Unlock()
		sess.mu.Unlock()
	} else {
		sess = r.sess
		if sess == nil {
			return out, wire.StatusUserSessionDeleted
		}
		if ch := c.channel(sess.id); ch != nil && ch.signer != nil && !r.hdr.IsSigned() && r.encSess == nil && (sess.signingRequired() || sess.encryptData()) {
			// MS-SMB2 3.3.5.2.4: a session that requires signing (or
			// encryption) takes no unsigned re-authentication on a
			// channel that has a key (smb2.session.bind_negative_*).
			return out, wire.StatusAccessDenied
		}
		sess.mu.Lock()
		if sess.state == sessExpired && sess.authCtx == nil {
			// An expired session may re-authenticate.
		}
		if sess.authCtx == nil || sess.authConn != c {
			if _, bound := sess.conns[c]; !bound && sess.state != sessInProgress {
				// Not a channel of this connection. Windows and Samba
				// sign the refusal with the session's key when the
				// request was signed with it: smbtorture treats an
				// unsigned answer as ACCESS_DENIED
				// (smb2.session.bind_negative_*).
				if signer := sess.signer; signer != nil && r.hdr.IsSigned() && r.encSess == nil && signer.Verify(r.msg) {
					r.signNew = signer
				}
				sess.mu.Unlock()
				return out, wire.StatusUserSessionDeleted
			}
			// Re-authentication (MS-SMB2 3.3.5.5.2).
			sess.authCtx = auth.NewContext(srv.authCfg)
			sess.authConn = c
			c.mu.Lock()
			sess.preauth = c.preauth
			c.mu.Unlock()
		}
		sess.mu.Unlock()
	}
	r.sess = sess
	st.sess = sess
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if c.dialect == wire.Dialect311 {
		sess.preauth.Update(r.msg)
	}
	tok, done, err := sess.authCtx.Step(req.SecurityBuffer())
	if err != nil {
		sess.authCtx = nil
		srv.reject("logon-failure", "err", err.Error())
		if isNew || sess.state != sessValid {
			sess.mu.Unlock()
			srv.removeSession(sess)
			sess.mu.Lock()
		} else {
			// A failed re-authentication ends the session (MS-SMB2
			// 3.3.5.5.3; smb2.session.reauth6).
			sess.mu.Unlock()
			sess.logoff()
			sess.mu.Lock()
		}
		if errors.Is(err, auth.ErrLogonFailure) {
			return out, wire.StatusLogonFailure
		}
		return out, wire.StatusInvalidParameter
	}
	if !done {
		if c.dialect == wire.Dialect311 {
			r.hashResp = &sess.preauth
		}
		return wire.AppendSessionSetupResponse(out, 0, tok), wire.StatusMoreProcessingRequired
	}
	ctx := sess.authCtx
	sess.authCtx = nil
	reauth := sess.state == sessValid
	sess.user, sess.domain = ctx.User(), ctx.Domain()
	sess.guest, sess.anon = ctx.IsGuest(), ctx.IsAnonymous()
	sess.token = tokenSIDs
	if !sess.guest && !sess.anon {
		sess.token = withSIDs(userToken(sess.user), ctx.SIDs())
	}
	var flags uint16
	if sess.guest {
		flags |= wire.SessionFlagIsGuest
	} else if sess.anon {
		flags |= wire.SessionFlagIsNull
	}
	if reauth {
		// Re-authentication refreshes the identity; the keys stay those
		// derived when the session was established (MS-SMB2 3.3.5.5.3),
		// as the client keeps them too.
		if sess.encrypt {
			flags |= wire.SessionFlagEncrypt
		}
	} else if key := ctx.SessionKey(); key != nil && !sess.guest && !sess.anon {
		sess.key = key
		var preauth []byte
		if c.dialect == wire.Dialect311 {
			preauth = sess.preauth[:]
		}
		c.mu.Lock()
		cipher, alg := c.cipherID, c.signingAlg
		c.mu.Unlock()
		sess.keys = crypt.DeriveKeys(uint16(c.dialect), key, preauth, cipher)
		sess.signAlg, sess.cipher = alg, cipher
		signer, err := crypt.NewSigner(alg, sess.keys.Signing)
		if err != nil {
			return out, wire.StatusInternalError
		}
		sess.signer = signer
		if c.dialect >= wire.Dialect300 && cipher != 0 {
			sess.enc, _ = crypt.NewCipher(cipher, sess.keys.Encryption)
			sess.dec, _ = crypt.NewCipher(cipher, sess.keys.Decryption)
		}
		c.mu.Lock()
		clientReq := c.clientSecMode&wire.NegotiateSigningRequired != 0
		c.mu.Unlock()
		sess.signReq = srv.cfg.SigningRequired || clientReq
		if srv.cfg.EncryptData && sess.enc != nil {
			sess.encrypt = true
			sess.signReq = false
			flags |= wire.SessionFlagEncrypt
		}
		if c.dialect >= wire.Dialect300 || sess.signReq {
			r.signNew = signer
		}
		c.addChannel(sess, signer)
	} else {
		if srv.cfg.EncryptData && srv.cfg.RejectUnencrypted {
			return out, wire.StatusAccessDenied
		}
		c.addChannel(sess, nil)
	}
	if prev := req.PreviousSessionID(); !reauth && prev != 0 && prev != sess.id && !sess.anon && !sess.guest {
		// MS-SMB2 3.3.5.5.3: the client reconnected; the previous
		// session of the same user goes, with its opens.
		if old := srv.lookupSession(prev); old != nil {
			old.mu.Lock()
			same := strings.EqualFold(old.user, sess.user) && strings.EqualFold(old.domain, sess.domain) && !old.anon && !old.guest
			old.mu.Unlock()
			if same {
				sess.mu.Unlock()
				srv.keepDurable(old) // durable.go
				old.logoff()
				old.removeChannels()
				sess.mu.Lock()
			}
		}
	}
	sess.state = sessValid
	sess.conns[c] = struct{}{}
	c.mu.Lock()
	c.authed = true
	c.mu.Unlock()
	c.t.SetMaxMessage(int(max(srv.cfg.MaxWriteSize, srv.cfg.MaxTransactSize)) + 64<<10)
	if !reauth {
		c.log.Info("session established", "user", sess.user, "session", sess.id, "guest", sess.guest, "signing", sess.signReq, "encrypt", sess.encrypt, "transport", c.t.Name(), "numa_node", connNUMANode(c))
	}
	return wire.AppendSessionSetupResponse(out, flags, tok), wire.StatusSuccess
}

// dropInProgress removes the sessions whose first logon was still in
// progress on c when it closed (they were never bound to any channel).
func (s *Server) dropInProgress(c *conn) {
	s.mu.Lock()
	var drop []*session
	for _, x := range s.sessions {
		x.mu.Lock()
		if x.state == sessInProgress && x.authConn == c && x.signer == nil {
			drop = append(drop, x)
		}
		x.mu.Unlock()
	}
	for _, x := range drop {
		delete(s.sessions, x.id)
	}
	s.mu.Unlock()
	s.stats.Sessions.Add(-int64(len(drop)))
}

// maxPendingLogons bounds the sessions one connection may have in the
// middle of a logon.
const maxPendingLogons = 4

func (s *Server) pendingLogons(c *conn) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.sessions {
		x.mu.Lock()
		if x.state == sessInProgress && x.authConn == c && x.signer == nil {
			n++
		}
		x.mu.Unlock()
	}
	return n
}

func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
		s.stats.Sessions.Add(-1)
	}
	s.mu.Unlock()
}

// handleLogoff is SMB2 LOGOFF (MS-SMB2 3.3.5.6).
func handleLogoff(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	sess := r.sess
	c := r.c
	// The session is gone for the next request at once; its channel key
	// stays until the response is signed.
	sess.srv.keepDurable(sess) // durable.go: LOGOFF keeps durable opens (smb2.durable-open.reopen4)
	sess.logoff()
	r.after = func() { c.removeChannel(sess.id) }
	return wire.AppendEmptyResponse(out), wire.StatusSuccess
}

// removeChannels drops the session's channel on every connection.
func (s *session) removeChannels() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.conns = map[*conn]struct{}{}
	s.mu.Unlock()
	for _, c := range conns {
		c.removeChannel(s.id)
	}
}

// handleEcho is SMB2 ECHO.
func handleEcho(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	return wire.AppendEmptyResponse(out), wire.StatusSuccess
}
