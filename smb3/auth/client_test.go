package auth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// testClient is a test-only NTLMv2 initiator shaped like Samba's and Windows' (MS-NLMP 3.1.5,
// MS-SPNG 3.1.5), used to drive Context end to end.
type testClient struct {
	user, domain, password, workstation string
	// ntowfDomain, when set, is the domain NTOWFv2 is computed with instead of domain.
	ntowfDomain *string

	flags       negotiateFlags // NEGOTIATE_MESSAGE flags
	mic         bool           // set MsvAvFlags MIC-present and fill AUTHENTICATE MIC
	spnego      bool
	mechListMIC bool     // send mechListMIC with the AUTHENTICATE token
	negState    bool     // include negState accept-incomplete in the AUTHENTICATE NegTokenResp (Windows)
	mechTypes   [][]byte // SPNEGO mechTypes; default [NTLMSSP]
	anonymous   bool
	ntlmV1      bool // send a 24-byte NT response
	lmOnly      bool // send only a 24-byte LM response
	sambaLayout bool // payload order LM, NT, domain, user, workstation, key (Samba's msrpc_gen "CdBBUUUBdbb"); else Windows' domain-first order

	// Exchange state.
	negotiate, challenge, authenticate []byte
	negotiated                         negotiateFlags
	exportedKey                        []byte
	sec                                *ntlmSecurity
}

// Flags the clients send in NEGOTIATE_MESSAGE.
const (
	// sambaFlags: UNICODE, REQUEST_TARGET, SIGN, NTLM, ALWAYS_SIGN, ESS, VERSION, 128, KEY_EXCH.
	sambaFlags negotiateFlags = 0x62088215
	// windowsFlags: the above plus OEM, LM_KEY and 56, as Windows 10 sends.
	windowsFlags negotiateFlags = 0xe2088297
)

func (c *testClient) mechTypeList() []byte {
	oids := c.mechTypes
	if oids == nil {
		oids = [][]byte{oidNTLMSSP}
	}
	return appendMechTypeList(nil, oids)
}

// negotiateMsg builds the NEGOTIATE_MESSAGE: empty domain and workstation, Version.
func (c *testClient) negotiateMessage() []byte {
	b := append([]byte(nil), ntlmSignature...)
	b = binary.LittleEndian.AppendUint32(b, ntlmNegotiate)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.flags))
	b = appendFieldDesc(b, 0, 40)
	b = appendFieldDesc(b, 0, 40)
	b = append(b, 6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f) // 6.1.7601, as Samba sends
	c.negotiate = b
	return b
}

// first returns the client's first token.
func (c *testClient) first() []byte {
	neg := c.negotiateMessage()
	if !c.spnego {
		return neg
	}
	oids := c.mechTypes
	if oids == nil {
		oids = [][]byte{oidNTLMSSP}
	}
	if !bytes.Equal(oids[0], oidNTLMSSP) {
		// An optimistic token for another mechanism (e.g. a Kerberos AP-REQ).
		return appendNegTokenInit(nil, oids, []byte("not an ntlm token"), false)
	}
	return appendNegTokenInit(nil, oids, neg, false)
}

// parseChallenge extracts what the client needs from a CHALLENGE_MESSAGE.
func parseChallenge(b []byte) (flags negotiateFlags, chal [8]byte, info []byte, err error) {
	if len(b) < 48 || !bytes.Equal(b[:8], ntlmSignature) || binary.LittleEndian.Uint32(b[8:]) != ntlmChallenge {
		return 0, chal, nil, fmt.Errorf("not a CHALLENGE_MESSAGE")
	}
	flags = negotiateFlags(binary.LittleEndian.Uint32(b[20:]))
	copy(chal[:], b[24:32])
	n := int(binary.LittleEndian.Uint16(b[40:]))
	off := int(binary.LittleEndian.Uint32(b[44:]))
	if off+n > len(b) {
		return 0, chal, nil, fmt.Errorf("TargetInfo out of bounds")
	}
	return flags, chal, b[off : off+n], nil
}

// authenticateMessage builds the AUTHENTICATE_MESSAGE for a CHALLENGE_MESSAGE (MS-NLMP 3.1.5.1.2).
func (c *testClient) authenticateMessage(challenge []byte) ([]byte, error) {
	c.challenge = challenge
	chalFlags, serverChallenge, info, err := parseChallenge(challenge)
	if err != nil {
		return nil, err
	}
	c.negotiated = chalFlags & c.flags
	unicode := c.negotiated&flagUnicode != 0

	var lm, nt, ersk []byte
	if c.anonymous {
		lm = []byte{0}
	} else if c.lmOnly {
		lm = bytes.Repeat([]byte{9}, 24)
	} else if c.ntlmV1 {
		lm, nt = make([]byte, 24), bytes.Repeat([]byte{7}, 24)
	} else {
		// AV pairs: the server's, then MsvAvFlags, channel bindings and target name, then EOL.
		var ts []byte
		var pairs []byte
		if err := avPairs(info, func(id avID, v []byte) {
			if id == avTimestamp {
				ts = v
			}
			pairs = appendAVPair(pairs, id, v)
		}); err != nil {
			return nil, err
		}
		if c.mic {
			pairs = appendAVPair(pairs, avFlags, []byte{avFlagMICPresent, 0, 0, 0})
		}
		// MsvAvSingleHost (MS-NLMP 2.2.2.2): Size 48, Z4, CustomData, MachineID, as Samba and Windows send.
		singleHost := append([]byte{48, 0, 0, 0}, make([]byte, 12)...)
		singleHost = append(singleHost, bytes.Repeat([]byte{0x3c}, 32)...)
		pairs = appendAVPair(pairs, avSingleHost, singleHost)
		pairs = appendAVPair(pairs, avChannelBindings, make([]byte, 16))
		pairs = appendAVPair(pairs, avTargetName, utf16LE("cifs/server"))
		pairs = appendAVPair(pairs, avEOL, nil)
		if ts == nil {
			ts = binary.LittleEndian.AppendUint64(nil, fileTime(time.Now()))
		}
		clientChallenge := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22}
		temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
		temp = append(temp, ts...)
		temp = append(temp, clientChallenge...)
		temp = append(temp, 0, 0, 0, 0)
		temp = append(temp, pairs...)
		temp = append(temp, 0, 0, 0, 0)

		dom := c.domain
		if c.ntowfDomain != nil {
			dom = *c.ntowfDomain
		}
		key := ntowfV2(NTHash(c.password), c.user, dom)
		proof := ntlmV2Proof(key, serverChallenge, temp)
		nt = append(proof, temp...)
		lm = make([]byte, 24) // Z(24): the server sent MsvAvTimestamp
		sessionBaseKey := hmacMD5(key, proof)
		c.exportedKey = sessionBaseKey
		if c.negotiated&flagKeyExch != 0 {
			c.exportedKey = bytes.Repeat([]byte{0x42}, 16)
			ersk = rc4K(sessionBaseKey, c.exportedKey)
		}
		c.sec = newNTLMSecurity(c.negotiated, c.exportedKey)
	}

	domain := encodeString(c.domain, unicode)
	user := encodeString(c.user, unicode)
	ws := encodeString(c.workstation, unicode)
	const hdr = 88 // through Version and MIC
	b := append([]byte(nil), ntlmSignature...)
	b = binary.LittleEndian.AppendUint32(b, ntlmAuthenticate)
	fields := [][]byte{lm, nt, domain, user, ws, ersk}
	order := []int{2, 3, 4, 0, 1, 5} // Windows: domain, user, workstation, LM, NT, key
	if c.sambaLayout {
		order = []int{0, 1, 2, 3, 4, 5}
	}
	offs := make([]int, len(fields))
	off := hdr
	for _, i := range order {
		offs[i] = off
		off += len(fields[i])
	}
	for i, f := range fields {
		b = appendFieldDesc(b, len(f), offs[i])
	}
	flags := c.negotiated
	if c.anonymous {
		flags |= flagAnonymous
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(flags))
	b = append(b, 10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f)
	b = append(b, make([]byte, 16)...) // MIC
	for _, i := range order {
		b = append(b, fields[i]...)
	}
	if c.mic && c.exportedKey != nil {
		copy(b[72:88], hmacMD5(c.exportedKey, c.negotiate, challenge, b))
	}
	c.authenticate = b
	return b, nil
}

// next consumes the server's reply to the first token and returns the client's next token.
func (c *testClient) next(reply []byte) ([]byte, error) {
	if !c.spnego {
		return c.authenticateMessage(reply)
	}
	_, resp, err := parseNegotiationToken(reply)
	if err != nil || resp == nil {
		return nil, fmt.Errorf("reply is not a NegTokenResp: %v", err)
	}
	if resp.state == negStateRequestMIC {
		// The server chose NTLMSSP, not our first mechanism: start it now.
		c.mechListMIC = true
		return appendNegTokenResp(nil, negStateAbsent, nil, c.negotiateMessage(), nil), nil
	}
	if resp.state != negStateAcceptIncomplete || !bytes.Equal(resp.supportedMech, oidNTLMSSP) && resp.supportedMech != nil {
		return nil, fmt.Errorf("unexpected reply state %d mech %x", resp.state, resp.supportedMech)
	}
	auth, err := c.authenticateMessage(resp.responseToken)
	if err != nil {
		return nil, err
	}
	var mic []byte
	if c.mechListMIC && c.sec != nil {
		mic = c.sec.mac(c.sec.clientSign, c.sec.clientSeal, c.sec.clientSeq, c.mechTypeList())
	}
	state := negStateAbsent
	if c.negState {
		state = negStateAcceptIncomplete
	}
	return appendNegTokenResp(nil, state, nil, auth, mic), nil
}

// checkFinal verifies the server's last token: accept-completed, and its mechListMIC when present.
func (c *testClient) checkFinal(reply []byte, wantMIC bool) error {
	if !c.spnego {
		if reply != nil {
			return fmt.Errorf("raw NTLM: final reply %x, want none", reply)
		}
		return nil
	}
	_, resp, err := parseNegotiationToken(reply)
	if err != nil || resp == nil {
		return fmt.Errorf("final reply is not a NegTokenResp: %v", err)
	}
	if resp.state != negStateAcceptCompleted {
		return fmt.Errorf("final negState %d", resp.state)
	}
	if !wantMIC {
		if resp.mechListMIC != nil {
			return fmt.Errorf("unexpected mechListMIC")
		}
		return nil
	}
	if resp.mechListMIC == nil {
		return fmt.Errorf("server sent no mechListMIC")
	}
	want := c.sec.mac(c.sec.serverSign, c.sec.serverSeal, c.sec.serverSeq, c.mechTypeList())
	if !bytes.Equal(resp.mechListMIC, want) {
		return fmt.Errorf("server mechListMIC %x, want %x", resp.mechListMIC, want)
	}
	return nil
}
