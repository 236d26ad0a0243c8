package server_test

import (
	"bytes"
	"testing"

	"smb3d/smb3/wire"
)

func withMultichannel(c *serverConfig) { c.Multichannel = true }

// bindRequest is the first SESSION_SETUP of a binding of c to session id
// (sent signed with the session's key when c.sign, MS-SMB2 3.2.4.1.1).
func (c *client) bindRequest(id uint64) []byte {
	c.sessID = id
	nc := &ntlmClient{user: testUser, domain: "WORKGROUP", password: testPass}
	req := c.sessionSetupRequest(nc.negotiate())
	req[wire.HeaderSize+2] = wire.SessionFlagBinding
	return req
}

// negotiateDialects negotiates c with exactly the given dialects.
func (c *client) negotiateDialects(d ...wire.Dialect) {
	c.t.Helper()
	req := c.negotiateRequest(d...)
	c.send(req)
	h := c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusSuccess {
		c.t.Fatalf("negotiate: %v", s)
	}
	c.dialect = wire.Dialect(le.Uint16(h[wire.HeaderSize+4:]))
	if c.dialect == wire.Dialect311 {
		c.preauth.Update(req)
		c.preauth.Update(h)
	}
}

// TestSessionBindingRefusals checks the first leg of a session binding
// (MS-SMB2 3.3.5.5) against the statuses Windows returns, in its order
// (smbtorture smb2.session.bind_negative_*).
func TestSessionBindingRefusals(t *testing.T) {
	cases := []struct {
		name     string
		opts     []testerOption
		dialects []wire.Dialect // of the new channel; nil: all
		unsigned bool
		want     wire.Status
	}{
		{"accepted", []testerOption{withMultichannel}, nil, false, wire.StatusMoreProcessingRequired},
		{"unsigned", []testerOption{withMultichannel}, nil, true, wire.StatusInvalidParameter},
		{"multichannel off", nil, nil, false, wire.StatusRequestNotAccepted},
		{"SMB 2.1 channel", []testerOption{withMultichannel}, []wire.Dialect{wire.Dialect210}, false, wire.StatusRequestNotAccepted},
		{"other dialect", []testerOption{withMultichannel}, []wire.Dialect{wire.Dialect302}, false, wire.StatusInvalidParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newServerTester(t, tc.opts...)
			c1 := st.loginTB(t)
			c2 := st.dialTB(t)
			if tc.dialects != nil {
				c2.negotiateDialects(tc.dialects...)
			} else {
				c2.negotiate()
			}
			c2.signer, c2.sign = c1.signer, !tc.unsigned
			status, _ := c2.call(c2.bindRequest(c1.sessID))
			if status != tc.want {
				t.Errorf("binding: %v, want %v", status, tc.want)
			}
			// The session lives on whatever the binding did.
			if s := c1.echo(); s != wire.StatusSuccess {
				t.Errorf("echo on the first channel after the binding: %v", s)
			}
		})
	}
}

// TestForeignSessionSignedRefusal checks that a signed request naming a
// session of another connection gets USER_SESSION_DELETED signed with the
// session's key: smbtorture takes an unsigned answer for ACCESS_DENIED
// (smb2.session.bind2).
func TestForeignSessionSignedRefusal(t *testing.T) {
	st := newServerTester(t, withMultichannel)
	c1 := st.loginTB(t)
	c2 := st.dialTB(t)
	c2.negotiate()
	c2.sessID, c2.treeID = c1.sessID, c1.treeID
	c2.signer, c2.sign = c1.signer, true
	c2.send(c2.echoRequest())
	h := c2.recv()
	if s := wire.Status(h.Status()); s != wire.StatusUserSessionDeleted {
		t.Fatalf("echo on a foreign session: %v, want USER_SESSION_DELETED", s)
	}
	if !h.IsSigned() || !c1.signer.Verify(bytes.Clone(h)) {
		t.Errorf("USER_SESSION_DELETED is not signed with the session's key")
	}
	// Without the key the answer is not signed.
	c3 := st.dialTB(t)
	c3.negotiate()
	c3.sessID = c1.sessID
	c3.signer, c3.sign = nil, false
	c3.send(c3.echoRequest())
	if h := c3.recv(); h.IsSigned() {
		t.Errorf("USER_SESSION_DELETED to an unsigned request is signed")
	}
}
