package server

import (
	"crypto/rand"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

// StatusNoPreauthOverlap is STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP.
const statusNoPreauthOverlap wire.Status = 0xC05D0000

func (c *conn) dialectSupported(d wire.Dialect) bool {
	return d >= c.srv.cfg.MinDialect && d <= c.srv.cfg.MaxDialect &&
		(d == wire.Dialect202 || d == wire.Dialect210 || d == wire.Dialect300 || d == wire.Dialect302 || d == wire.Dialect311)
}

// negotiateSMB1 answers the SMB1 multi-protocol negotiate that clients send
// first (MS-SMB2 3.3.5.3.1) with an SMB2 NEGOTIATE response.
func (c *conn) negotiateSMB1(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiated || c.smb1Negotiate {
		return connErr("smb1-after-negotiate", nil)
	}
	dialects, err := wire.ParseSMB1Negotiate(msg)
	if err != nil {
		return connErr("bad-smb1-negotiate", err)
	}
	var d wire.Dialect
	for _, s := range dialects {
		switch s {
		case "SMB 2.???":
			if c.srv.cfg.MaxDialect >= wire.Dialect210 {
				d = wire.DialectWildcard
			}
		case "SMB 2.002":
			if d == 0 && c.dialectSupported(wire.Dialect202) {
				d = wire.Dialect202
			}
		}
	}
	if d == 0 {
		return connErr("smb1-only-client", nil)
	}
	c.smb1Negotiate = true
	resp := c.negotiateResponse(d, nil)
	out := wire.AppendResponseHeader(make([]byte, 0, 256), &wire.ResponseHeader{Command: wire.CmdNegotiate, Credits: 1})
	out = resp.Append(out)
	c.creditMu.Lock()
	c.seqLo, c.seqHi = 1, 2
	c.creditMu.Unlock()
	if d == wire.Dialect202 {
		c.negotiated = true
		c.dialect = d
	}
	return c.t.WriteMessage(out)
}

func (c *conn) negotiateResponse(d wire.Dialect, ctxs []wire.NegotiateContext) *wire.NegotiateResponse {
	cfg := &c.srv.cfg
	secMode := wire.NegotiateSigningEnabled
	if cfg.SigningRequired {
		secMode |= wire.NegotiateSigningRequired
	}
	var caps uint32
	if d >= wire.Dialect210 {
		caps |= wire.CapLeasing | wire.CapLargeMTU
	}
	if d >= wire.Dialect300 && d != wire.DialectWildcard {
		if cfg.Multichannel {
			caps |= wire.CapMultiChannel
		}
		if d < wire.Dialect311 && c.clientCaps&wire.CapEncryption != 0 {
			caps |= wire.CapEncryption
		}
	}
	maxRW := cfg.MaxReadSize
	maxW := cfg.MaxWriteSize
	maxT := cfg.MaxTransactSize
	if d == wire.Dialect202 {
		maxRW, maxW, maxT = 65536, 65536, 65536
	}
	return &wire.NegotiateResponse{
		SecurityMode:    secMode,
		Dialect:         d,
		ServerGUID:      cfg.ServerGUID,
		Capabilities:    caps,
		MaxTransactSize: maxT,
		MaxReadSize:     maxRW,
		MaxWriteSize:    maxW,
		SystemTime:      filetime(time.Now()),
		ServerStartTime: 0,
		SecurityBuffer:  auth.NegTokenInit(c.srv.authCfg),
		Contexts:        ctxs,
	}
}

// handleNegotiate is SMB2 NEGOTIATE (MS-SMB2 3.3.5.4).
func handleNegotiate(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiated {
		// MS-SMB2 3.3.5.4: a second NEGOTIATE disconnects.
		r.after = func() { c.close(connErr("second-negotiate", nil)) }
		return out, statusNoResponse
	}
	req := wire.NegotiateRequest(r.msg)
	c.clientGUID = req.ClientGUID()
	c.clientCaps = req.Capabilities()
	c.clientSecMode = req.SecurityMode()
	var d wire.Dialect
	for _, cd := range req.Dialects() {
		if c.dialectSupported(cd) && cd > d {
			d = cd
		}
	}
	if d == 0 {
		r.after = func() { c.close(connErr("no-common-dialect", nil)) }
		return out, wire.StatusNotSupported
	}
	var respCtxs []wire.NegotiateContext
	if d == wire.Dialect311 {
		ctxs, err := req.Contexts()
		if err != nil {
			return out, wire.StatusInvalidParameter
		}
		var status wire.Status
		respCtxs, status = c.negotiateContexts(ctxs)
		if status != 0 {
			return out, status
		}
		c.preauth = crypt.PreauthHash{}
		c.preauth.Update(r.msg)
		r.hashResp = &c.preauth
	} else if d >= wire.Dialect300 && c.clientCaps&wire.CapEncryption != 0 {
		c.cipherID = crypt.CipherAES128CCM
	}
	if d < wire.Dialect300 {
		c.signingAlg = crypt.SigningHMACSHA256
	} else if c.signingAlg == 0 && d < wire.Dialect311 {
		c.signingAlg = crypt.SigningAESCMAC
	}
	c.dialect = d
	c.negotiated = true
	c.log = c.log.With("dialect", d.String())
	resp := c.negotiateResponse(d, respCtxs)
	return resp.Append(out), wire.StatusSuccess
}

// negotiateContexts processes 3.1.1 negotiate contexts (MS-SMB2 3.3.5.4) and
// returns the response contexts.
func (c *conn) negotiateContexts(ctxs []wire.NegotiateContext) ([]wire.NegotiateContext, wire.Status) {
	seen := map[uint16]bool{}
	var out []wire.NegotiateContext
	havePreauth := false
	c.signingAlg = crypt.SigningAESCMAC
	for _, x := range ctxs {
		if seen[x.Type] && x.Type != 0 {
			return nil, wire.StatusInvalidParameter
		}
		seen[x.Type] = true
		switch x.Type {
		case wire.CtxPreauthIntegrity:
			if len(x.Data) < 4 {
				return nil, wire.StatusInvalidParameter
			}
			n := int(le.Uint16(x.Data))
			saltLen := int(le.Uint16(x.Data[2:]))
			if n == 0 || len(x.Data) < 4+2*n+saltLen {
				return nil, wire.StatusInvalidParameter
			}
			ok := false
			for i := range n {
				if le.Uint16(x.Data[4+2*i:]) == wire.HashSHA512 {
					ok = true
				}
			}
			if !ok {
				return nil, statusNoPreauthOverlap
			}
			havePreauth = true
			salt := make([]byte, 32)
			rand.Read(salt)
			d := le.AppendUint16(nil, 1)
			d = le.AppendUint16(d, uint16(len(salt)))
			d = le.AppendUint16(d, wire.HashSHA512)
			d = append(d, salt...)
			out = append(out, wire.NegotiateContext{Type: wire.CtxPreauthIntegrity, Data: d})
		case wire.CtxEncryption:
			if len(x.Data) < 2 {
				return nil, wire.StatusInvalidParameter
			}
			n := int(le.Uint16(x.Data))
			if n == 0 || len(x.Data) < 2+2*n {
				return nil, wire.StatusInvalidParameter
			}
			var chosen uint16
		pref:
			for _, want := range c.srv.cfg.Ciphers {
				for i := range n {
					if le.Uint16(x.Data[2+2*i:]) == want {
						chosen = want
						break pref
					}
				}
			}
			c.cipherID = chosen
			d := le.AppendUint16(nil, 1)
			d = le.AppendUint16(d, chosen)
			out = append(out, wire.NegotiateContext{Type: wire.CtxEncryption, Data: d})
		case wire.CtxSigning:
			if len(x.Data) < 2 {
				return nil, wire.StatusInvalidParameter
			}
			n := int(le.Uint16(x.Data))
			if n == 0 || len(x.Data) < 2+2*n {
				return nil, wire.StatusInvalidParameter
			}
			best := -1
			rank := map[uint16]int{crypt.SigningAESGMAC: 3, crypt.SigningAESCMAC: 2, crypt.SigningHMACSHA256: 1}
			for i := range n {
				a := le.Uint16(x.Data[2+2*i:])
				if rk, ok := rank[a]; ok && rk > best {
					best = rk
					c.signingAlg = a
				}
			}
			if best < 0 {
				c.signingAlg = crypt.SigningAESCMAC
			}
			d := le.AppendUint16(nil, 1)
			d = le.AppendUint16(d, c.signingAlg)
			out = append(out, wire.NegotiateContext{Type: wire.CtxSigning, Data: d})
		}
	}
	if !havePreauth {
		return nil, wire.StatusInvalidParameter
	}
	return out, 0
}
