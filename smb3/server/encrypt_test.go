package server_test

import (
	"testing"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

var cipherNames = map[uint16]string{
	crypt.CipherAES128CCM: "AES-128-CCM", crypt.CipherAES128GCM: "AES-128-GCM",
	crypt.CipherAES256CCM: "AES-256-CCM", crypt.CipherAES256GCM: "AES-256-GCM",
}

// loginEncrypted logs on with SMB 3.1.1 offering ciphers, and seals every
// request after SESSION_SETUP.
func (st *serverTester) loginEncrypted(t *testing.T, ciphers ...uint16) *client {
	t.Helper()
	c := st.dialTB(t)
	c.ciphers = ciphers
	c.negotiate()
	if c.cipher == 0 {
		t.Fatalf("the server chose no cipher from %v", ciphers)
	}
	if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
		t.Fatalf("session setup: %v", s)
	}
	c.seal = true
	if s := c.treeConnect(testShare); s != wire.StatusSuccess {
		t.Fatalf("tree connect: %v", s)
	}
	return c
}

// TestEncryption: with encryption required, each of the four 3.1.1 ciphers
// carries a session end to end; an unencrypted request is refused; a
// tampered ciphertext, tag or nonce drops the connection while others keep
// working (MS-SMB2 3.3.5.2.1.1).
func TestEncryption(t *testing.T) {
	for _, id := range []uint16{crypt.CipherAES128CCM, crypt.CipherAES128GCM, crypt.CipherAES256CCM, crypt.CipherAES256GCM} {
		t.Run(cipherNames[id], func(t *testing.T) {
			st := newServerTester(t, func(c *serverConfig) {
				c.EncryptData = true
				c.Ciphers = []uint16{id}
			})
			by := st.loginEncrypted(t, crypt.CipherAES256GCM, crypt.CipherAES256CCM, crypt.CipherAES128GCM, crypt.CipherAES128CCM)
			if by.cipher != id {
				t.Fatalf("server chose %v, want %v", cipherNames[by.cipher], cipherNames[id])
			}
			by.roundTrip("enc.txt")
			if !by.sealed {
				t.Errorf("the response to an encrypted request was not encrypted")
			}

			// Unencrypted on an encrypted session.
			c := st.loginEncrypted(t, id)
			c.seal = false
			if _, s := c.create("plain.txt", accessRead, fileOpenIf, 0); s != wire.StatusAccessDenied {
				t.Errorf("unencrypted CREATE: %v, want STATUS_ACCESS_DENIED", s)
			}

			for _, tc := range []struct {
				name string
				at   func(n int) int // byte to flip, from the sealed length
			}{
				{"ciphertext", func(n int) int { return n - 1 }},
				{"signature", func(n int) int { return 4 }},
				{"nonce", func(n int) int { return 20 }},
				{"session id", func(n int) int { return 44 }},
				{"original size", func(n int) int { return 36 }},
			} {
				v := st.loginEncrypted(t, id)
				m := v.enc.Seal(nil, v.echoRequest(), v.sessID)
				m[tc.at(len(m))] ^= 0x01
				v.writeFrame(m)
				if s, err := v.expectDisconnect(false); err != nil {
					t.Errorf("tampered %s: %v (%v)", tc.name, err, s)
				}
				by.roundTrip("after-tamper.txt")
			}
		})
	}
}
