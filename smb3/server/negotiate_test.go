package server_test

import (
	"bytes"
	"testing"

	"smb3d/smb3/wire"
)

// loginDialect logs on offering only dialects up to max.
func (st *serverTester) loginDialect(t *testing.T, dialects ...wire.Dialect) *client {
	t.Helper()
	c := st.dialTB(t)
	req := c.negotiateRequest(dialects...)
	c.send(req)
	h := c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusSuccess {
		t.Fatalf("negotiate %v: %v", dialects, s)
	}
	c.dialect = wire.Dialect(le.Uint16(h[wire.HeaderSize+4:]))
	if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
		t.Fatalf("session setup: %v", s)
	}
	if s := c.treeConnect(testShare); s != wire.StatusSuccess {
		t.Fatalf("tree connect: %v", s)
	}
	return c
}

// validateNegotiateRequest is FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2
// 2.2.31.4) with what negotiateRequest sent, unless changed by mut.
func (c *client) validateNegotiateRequest(dialects []wire.Dialect, mut func(in []byte)) []byte {
	in := le.AppendUint32(nil, 0x7f)                   // Capabilities
	in = append(in, bytes.Repeat([]byte{0x42}, 16)...) // Guid
	in = le.AppendUint16(in, wire.NegotiateSigningEnabled)
	in = le.AppendUint16(in, uint16(len(dialects)))
	for _, d := range dialects {
		in = le.AppendUint16(in, uint16(d))
	}
	if mut != nil {
		mut(in)
	}
	m := c.header(wire.CmdIoctl, 1)
	m = le.AppendUint16(m, 57)         // StructureSize
	m = le.AppendUint16(m, 0)          // Reserved
	m = le.AppendUint32(m, 0x00140204) // CtlCode
	m = appendFID(m, wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)})
	m = le.AppendUint32(m, 120)                   // InputOffset
	m = le.AppendUint32(m, uint32(len(in)))       // InputCount
	m = le.AppendUint32(m, 0)                     // MaxInputResponse
	m = le.AppendUint32(m, 0)                     // OutputOffset
	m = le.AppendUint32(m, 0)                     // OutputCount
	m = le.AppendUint32(m, 24)                    // MaxOutputResponse
	m = le.AppendUint32(m, wire.IoctlFlagIsFsctl) // Flags
	m = le.AppendUint32(m, 0)                     // Reserved2
	return append(m, in...)
}

var dialects3 = []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302}

// TestDialects logs on and does I/O with each dialect, signing requests
// with the key the client derived.
func TestDialects(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) { c.SigningRequired = true })
	for _, d := range []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311} {
		t.Run(d.String(), func(t *testing.T) {
			c := st.dialTB(t)
			req := c.negotiateRequest(d)
			c.send(req)
			h := c.recv()
			if s := wire.Status(h.Status()); s != wire.StatusSuccess {
				t.Fatalf("negotiate: %v", s)
			}
			c.dialect = wire.Dialect(le.Uint16(h[wire.HeaderSize+4:]))
			if c.dialect != d {
				t.Fatalf("dialect %v", c.dialect)
			}
			if d == wire.Dialect311 {
				c.preauth.Update(req)
				c.preauth.Update(h)
			}
			if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
				t.Fatalf("session setup: %v", s)
			}
			c.sign = true
			if s := c.treeConnect(testShare); s != wire.StatusSuccess {
				t.Fatalf("tree connect: %v", s)
			}
			c.roundTrip("dialect-" + d.String() + ".txt")
			// Unsigned requests are refused when signing is required.
			c.sign = false
			if s := c.echo(); s != wire.StatusSuccess {
				t.Errorf("unsigned ECHO: %v (ECHO needs no signature)", s)
			}
			if _, s := c.create("x.txt", accessRead, fileOpenIf, 0); s != wire.StatusAccessDenied {
				t.Errorf("unsigned CREATE with signing required: %v, want STATUS_ACCESS_DENIED", s)
			}
		})
	}
}

// TestValidateNegotiate: FSCTL_VALIDATE_NEGOTIATE_INFO that matches what
// NEGOTIATE saw is answered with the server's view (MS-SMB2 3.3.5.15.12).
func TestValidateNegotiate(t *testing.T) {
	st := newServerTester(t)
	c := st.loginDialect(t, dialects3...)
	if c.dialect != wire.Dialect302 {
		t.Fatalf("dialect %v", c.dialect)
	}
	c.sign = true
	s, body := c.call(c.validateNegotiateRequest(dialects3, nil))
	if s != wire.StatusSuccess {
		t.Fatalf("VALIDATE_NEGOTIATE_INFO: %v", s)
	}
	off, n := le.Uint32(body[32:]), le.Uint32(body[36:])
	if n != 24 || int(off)-wire.HeaderSize+24 > len(body) {
		t.Fatalf("output %d bytes at %d", n, off)
	}
	out := body[off-wire.HeaderSize:]
	if d := wire.Dialect(le.Uint16(out[22:])); d != wire.Dialect302 {
		t.Errorf("validated dialect %v", d)
	}
}

// TestValidateNegotiateTampered: a VALIDATE_NEGOTIATE_INFO that differs from
// what NEGOTIATE saw, or any on 3.1.1, MUST terminate the connection
// (MS-SMB2 3.3.5.15.12). validateNegotiate returns statusNoResponse with
// r.after set to close the connection, which runChain never runs (see
// TestSecondNegotiate): the client gets no response and stays connected, so
// a downgrade goes unnoticed by a client that waits for the answer.
func TestValidateNegotiateTampered(t *testing.T) {
	st := newServerTester(t)
	for _, tc := range []struct {
		name string
		mut  func([]byte)
	}{
		{"capabilities", func(in []byte) { in[0] = 0x01 }},
		{"guid", func(in []byte) { in[4] ^= 0xff }},
		{"security mode", func(in []byte) { in[20] = 3 }},
		{"dialects", func(in []byte) { le.PutUint16(in[22:], 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := st.loginDialect(t, dialects3...)
			c.sign = true
			c.send(c.validateNegotiateRequest(dialects3, tc.mut))
			if s, err := c.expectDisconnect(false); err != nil {
				t.Errorf("%v (%v)", err, s)
			}
		})
	}
	c := st.login()
	c.send(c.validateNegotiateRequest(dialects3, nil))
	if s, err := c.expectDisconnect(false); err != nil {
		t.Errorf("on 3.1.1: %v (%v)", err, s)
	}
}

// smb1Negotiate is an SMB1 NEGOTIATE offering dialects (MS-CIFS 2.2.4.52.1).
func smb1Negotiate(ds ...string) []byte {
	var d []byte
	for _, s := range ds {
		d = append(append(append(d, 2), s...), 0)
	}
	m := append([]byte("\xffSMB\x72"), make([]byte, 27)...)
	m = append(m, 0, byte(len(d)), byte(len(d)>>8))
	return append(m, d...)
}

// TestSMB1Upgrade: the SMB1 multi-protocol NEGOTIATE that clients send first
// is answered with an SMB2 NEGOTIATE response (MS-SMB2 3.3.5.3.1): dialect
// 0x02FF when "SMB 2.???" is offered, after which the client negotiates again
// with MessageId 1; 2.0.2 directly when only "SMB 2.002" is.
func TestSMB1Upgrade(t *testing.T) {
	st := newServerTester(t)
	t.Run("wildcard", func(t *testing.T) {
		c := st.dialTB(t)
		if err := c.writeFrame(smb1Negotiate("NT LM 0.12", "SMB 2.002", "SMB 2.???")); err != nil {
			t.Fatal(err)
		}
		h := c.recv()
		if h.Command() != wire.CmdNegotiate || wire.Dialect(le.Uint16(h[wire.HeaderSize+4:])) != wire.DialectWildcard {
			t.Fatalf("SMB1 negotiate answered with %v dialect %#x", h.Command(), le.Uint16(h[wire.HeaderSize+4:]))
		}
		c.msgID = 1
		c.negotiate()
		if c.dialect != wire.Dialect311 {
			t.Fatalf("dialect %v", c.dialect)
		}
		if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
			t.Fatal(s)
		}
		if s := c.treeConnect(testShare); s != wire.StatusSuccess {
			t.Fatal(s)
		}
		c.roundTrip("smb1-upgrade.txt")
	})
	t.Run("2.0.2", func(t *testing.T) {
		c := st.dialTB(t)
		c.writeFrame(smb1Negotiate("NT LM 0.12", "SMB 2.002"))
		h := c.recv()
		if d := wire.Dialect(le.Uint16(h[wire.HeaderSize+4:])); d != wire.Dialect202 {
			t.Fatalf("dialect %v", d)
		}
		c.dialect = wire.Dialect202
		c.msgID = 1
		if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
			t.Fatal(s)
		}
		if s := c.treeConnect(testShare); s != wire.StatusSuccess {
			t.Fatal(s)
		}
		c.roundTrip("smb1-202.txt")
	})
	t.Run("SMB1 only", func(t *testing.T) {
		c := st.dialTB(t)
		c.writeFrame(smb1Negotiate("NT LM 0.12"))
		if s, err := c.expectDisconnect(false); err != nil {
			t.Errorf("%v (%v)", err, s)
		}
	})
	t.Run("twice", func(t *testing.T) {
		c := st.dialTB(t)
		c.writeFrame(smb1Negotiate("SMB 2.???"))
		c.recv()
		c.writeFrame(smb1Negotiate("SMB 2.???"))
		if s, err := c.expectDisconnect(false); err != nil {
			t.Errorf("%v (%v)", err, s)
		}
	})
}
