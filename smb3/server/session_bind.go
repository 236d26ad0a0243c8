package server

import (
	"errors"
	"strings"

	"smb3d/smb3/auth"
	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

// maxChannelsPerSession is how many connections one session may bind.
const maxChannelsPerSession = 32

// bindState is a session binding in progress on one connection.
type bindState struct {
	authCtx *auth.Context
	preauth crypt.PreauthHash
}

// handleBinding binds this connection as a new channel of an existing
// session (MS-SMB2 3.3.5.5 with SMB2_SESSION_FLAG_BINDING, 3.3.5.5.3).
// The checks run in the order Windows applies them, which smbtorture's
// smb2.session.bind_negative_* tests pin down: a mismatch of the signing
// algorithm is reported before the dialect, the dialect before the cipher,
// and the ClientGuid of the new connection is not compared at all.
func handleBinding(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	c := r.c
	srv := c.srv
	req := wire.SessionSetupRequest(r.msg)
	sess := srv.lookupSession(r.hdr.SessionID())
	if sess == nil {
		return out, wire.StatusUserSessionDeleted
	}
	r.sess = sess
	sess.mu.Lock()
	valid := sess.state == sessValid
	signer := sess.signer
	sdialect, salg, scipher := sess.dialect, sess.signAlg, sess.cipher
	guest := sess.guest || sess.anon
	_, bound := sess.conns[c]
	sess.mu.Unlock()
	// "If the SMB2_SESSION_FLAG_BINDING bit is set ... and the request is
	// not signed, the server MUST fail the request with
	// STATUS_INVALID_PARAMETER" (a binding request is signed with
	// Session.SigningKey, MS-SMB2 3.2.4.1.1).
	if !r.hdr.IsSigned() || r.encSess != nil {
		return out, wire.StatusInvalidParameter
	}
	if signer == nil {
		if !valid {
			return out, wire.StatusUserSessionDeleted
		}
		return out, wire.StatusNotSupported // guest and anonymous sessions have no key to bind with
	}
	if !bound && c.channel(sess.id) == nil {
		// A channel of its own was verified by dispatch; a new one is
		// signed with the session's key (MS-SMB2 3.3.5.2.4).
		if !signer.Verify(r.msg) {
			srv.reject("binding-bad-signature", "session", sess.id)
			return out, wire.StatusAccessDenied
		}
	}
	// Responses to a binding request are signed with Session.SigningKey
	// (MS-SMB2 3.3.4.1.1) until the channel has its own key.
	if c.channel(sess.id) == nil {
		r.signNew = signer
	}
	c.mu.Lock()
	dialect, alg, cipher := c.dialect, c.signingAlg, c.cipherID
	c.mu.Unlock()
	// Windows: a session signed with AES-GMAC cannot gain a channel that
	// signs otherwise (REQUEST_OUT_OF_SEQUENCE), and a GMAC connection
	// cannot join a session signed otherwise (NOT_SUPPORTED); HMAC-SHA256
	// and AES-CMAC mix.
	if salg >= crypt.SigningAESGMAC && alg != salg {
		return out, wire.StatusRequestOutOfSequence
	}
	if alg >= crypt.SigningAESGMAC && alg != salg {
		return out, wire.StatusNotSupported
	}
	// "If Connection.Dialect is "2.0.2" or "2.1", or ... the server does
	// not support multichannel, the server MUST fail the request with
	// STATUS_REQUEST_NOT_ACCEPTED."
	if dialect < wire.Dialect300 || !srv.cfg.Multichannel {
		return out, wire.StatusRequestNotAccepted
	}
	if cipher != scipher {
		return out, wire.StatusInvalidParameter
	}
	// "If Session.Connection.Dialect is not the same as Connection.Dialect,
	// the server MUST fail the request with STATUS_INVALID_PARAMETER."
	if sdialect != dialect {
		return out, wire.StatusInvalidParameter
	}
	if !valid {
		return out, wire.StatusUserSessionDeleted
	}
	if guest {
		return out, wire.StatusNotSupported
	}
	sess.mu.Lock()
	nch := len(sess.conns)
	sess.mu.Unlock()
	if nch >= maxChannelsPerSession {
		// Windows' limit (MS-SMB2 3.3.5.5: the server MAY limit channels).
		return out, wire.StatusInsufficientResources
	}
	c.chMu.Lock()
	if c.binds == nil {
		c.binds = map[uint64]*bindState{}
	}
	b := c.binds[sess.id]
	if b == nil {
		if bound {
			c.chMu.Unlock()
			// Already a channel of this session: a re-bind is refused.
			return out, wire.StatusRequestNotAccepted
		}
		b = &bindState{authCtx: auth.NewContext(srv.authCfg)}
		c.mu.Lock()
		b.preauth = c.preauth
		c.mu.Unlock()
		c.binds[sess.id] = b
	}
	c.chMu.Unlock()
	if dialect == wire.Dialect311 {
		b.preauth.Update(r.msg)
	}
	tok, done, err := b.authCtx.Step(req.SecurityBuffer())
	if err != nil {
		c.chMu.Lock()
		delete(c.binds, sess.id)
		c.chMu.Unlock()
		srv.reject("binding-logon-failure", "err", err.Error())
		if errors.Is(err, auth.ErrLogonFailure) {
			return out, wire.StatusLogonFailure
		}
		return out, wire.StatusInvalidParameter
	}
	if !done {
		if dialect == wire.Dialect311 {
			r.hashResp = &b.preauth
		}
		return wire.AppendSessionSetupResponse(out, 0, tok), wire.StatusMoreProcessingRequired
	}
	c.chMu.Lock()
	delete(c.binds, sess.id)
	c.chMu.Unlock()
	sess.mu.Lock()
	sameUser := strings.EqualFold(sess.user, b.authCtx.User()) && strings.EqualFold(sess.domain, b.authCtx.Domain())
	sess.mu.Unlock()
	key := b.authCtx.SessionKey()
	if !sameUser || key == nil || b.authCtx.IsGuest() {
		return out, wire.StatusAccessDenied
	}
	var preauth []byte
	if dialect == wire.Dialect311 {
		preauth = b.preauth[:]
	}
	keys := crypt.DeriveKeys(uint16(dialect), key, preauth, cipher)
	chSigner, err := crypt.NewSigner(alg, keys.Signing)
	if err != nil {
		return out, wire.StatusInternalError
	}
	sess.mu.Lock()
	if sess.state != sessValid {
		sess.mu.Unlock()
		return out, wire.StatusUserSessionDeleted
	}
	sess.conns[c] = struct{}{}
	var flags uint16
	if sess.encrypt {
		flags |= wire.SessionFlagEncrypt
	}
	sess.mu.Unlock()
	c.addChannel(sess, chSigner)
	r.signNew = chSigner
	c.mu.Lock()
	c.authed = true
	c.mu.Unlock()
	c.t.SetMaxMessage(int(max(srv.cfg.MaxWriteSize, srv.cfg.MaxTransactSize)) + 64<<10)
	c.log.Info("channel bound", "session", sess.id, "user", sess.user, "transport", c.t.Name(), "numa_node", connNUMANode(c))
	return wire.AppendSessionSetupResponse(out, flags, tok), wire.StatusSuccess
}
