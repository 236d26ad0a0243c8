package auth

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ntlmState is the acceptor's position in the NTLM exchange.
type ntlmState int

const (
	ntlmWantNegotiate ntlmState = iota
	ntlmWantAuthenticate
	ntlmDone
)

// ntlmServer is the NTLM acceptor (MS-NLMP 3.2): NEGOTIATE in, CHALLENGE out, AUTHENTICATE in.
type ntlmServer struct {
	cfg   *Config
	state ntlmState

	negotiate       []byte // the client's NEGOTIATE_MESSAGE, for the MIC
	challenge       []byte // our CHALLENGE_MESSAGE, for the MIC
	serverChallenge [8]byte
	chalFlags       negotiateFlags

	res        result
	flags      negotiateFlags // negotiated: CHALLENGE flags & AUTHENTICATE flags
	micPresent bool           // the client set the MsvAvFlags MIC bit
	sec        *ntlmSecurity  // nil for guest and anonymous
}

func newNTLMServer(cfg *Config) mechanism { return &ntlmServer{cfg: cfg} }

// truncated converts io.ErrUnexpectedEOF from a message view into a token error.
func truncated(err error, reason string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid(reason + "-truncated")
	}
	return err
}

func (s *ntlmServer) step(in []byte) ([]byte, bool, error) {
	switch s.state {
	case ntlmWantNegotiate:
		out, err := s.handleNegotiate(in)
		return out, false, err
	case ntlmWantAuthenticate:
		s.state = ntlmDone
		if err := s.handleAuthenticate(in); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	}
	return nil, false, invalid("ntlm-state")
}

// challengeFlags chooses the CHALLENGE_MESSAGE flags from the client's NEGOTIATE flags
// (MS-NLMP 3.2.5.1.1).
func challengeFlags(nf negotiateFlags) negotiateFlags {
	cf := flagNTLM | flagAlwaysSign | flagTargetInfo | flagTargetTypeServer
	switch {
	case nf&flagUnicode != 0:
		cf |= flagUnicode
	case nf&flagOEM != 0:
		cf |= flagOEM
	default:
		cf |= flagUnicode
	}
	// LM_KEY is never granted: "If the client sends NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY ...
	// the server MUST NOT set NTLMSSP_NEGOTIATE_LM_KEY", and this server accepts only NTLMv2.
	cf |= nf & (flagRequestTarget | flagExtendedSessionSec | flagVersion | flag128 | flag56 |
		flagKeyExch | flagSign | flagSeal)
	return cf
}

func (s *ntlmServer) handleNegotiate(in []byte) ([]byte, error) {
	m := negotiateMsg(in)
	if err := m.validate(); err != nil {
		return nil, truncated(err, "ntlm-negotiate")
	}
	s.negotiate = bytes.Clone(in)
	s.chalFlags = challengeFlags(m.flags())
	if _, err := io.ReadFull(s.cfg.rand(), s.serverChallenge[:]); err != nil {
		return nil, fmt.Errorf("auth: server challenge: %w", err)
	}
	unicode := s.chalFlags&flagUnicode != 0
	s.challenge = appendChallenge(nil, s.chalFlags, s.serverChallenge, serverVersion,
		encodeString(s.cfg.netBIOSName(), unicode), s.targetInfo())
	s.state = ntlmWantAuthenticate
	return bytes.Clone(s.challenge), nil
}

// targetInfo builds the CHALLENGE_MESSAGE TargetInfo (MS-NLMP 2.2.1.2, 3.2.5.1.1) in the order
// Windows and Samba use.
func (s *ntlmServer) targetInfo() []byte {
	var b []byte
	b = appendAVPair(b, avNbDomainName, utf16LE(s.cfg.netBIOSDomain()))
	b = appendAVPair(b, avNbComputerName, utf16LE(s.cfg.netBIOSName()))
	if d := s.cfg.DNSDomain; d != "" {
		b = appendAVPair(b, avDNSDomainName, utf16LE(d))
	}
	b = appendAVPair(b, avDNSComputerName, utf16LE(s.cfg.dnsName()))
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], fileTime(s.cfg.now()))
	b = appendAVPair(b, avTimestamp, ts[:])
	return appendAVPair(b, avEOL, nil)
}

// ntlmV2MinLen is the smallest NTLMv2 NtChallengeResponse: NTProofStr and the fixed part of
// NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7, 2.2.2.8).
const ntlmV2MinLen = 16 + 28

func (s *ntlmServer) handleAuthenticate(in []byte) error {
	m := authenticateMsg(in)
	f, err := m.validate()
	if err != nil {
		return truncated(err, "ntlm-authenticate")
	}
	af := m.flags()
	s.flags = s.chalFlags & af
	unicode := af&flagUnicode != 0 || (af&flagOEM == 0 && s.chalFlags&flagUnicode != 0)
	if s.res.user, err = decodeString(f.user.bytes(m), unicode); err != nil {
		return err
	}
	if s.res.domain, err = decodeString(f.domain.bytes(m), unicode); err != nil {
		return err
	}
	if s.res.workstation, err = decodeString(f.workstation.bytes(m), unicode); err != nil {
		return err
	}
	nt, lm := f.nt.bytes(m), f.lm.bytes(m)

	if s.res.user == "" {
		// MS-NLMP 3.2.5.1.2: anonymous when UserName, NtChallengeResponse are empty and
		// LmChallengeResponse is empty or Z(1).
		if len(nt) != 0 || len(lm) > 1 || (len(lm) == 1 && lm[0] != 0) {
			return logonFailure("empty-user")
		}
		if !s.cfg.AllowAnonymous {
			return logonFailure("anonymous-refused")
		}
		s.res.anonymous = true
		return nil
	}
	var ntHash [16]byte
	ok := false
	if s.cfg.Users != nil {
		ntHash, ok = s.cfg.Users.Lookup(s.res.user)
		if !ok && kerberosOnly(s.cfg.Users, s.res.user) {
			// The user exists but has no NT hash: refused, not mapped to guest.
			return logonFailure("ntlm-kerberos-only-user")
		}
	}
	emptyLM := len(lm) == 0 || (len(lm) == 1 && lm[0] == 0)
	switch {
	case !ok || (len(nt) == 0 && emptyLM):
		// An unknown user, or a known one logging on with no responses at all (an empty
		// password), is mapped to guest when allowed (Samba's "map to guest = bad user").
		if !s.cfg.AllowGuest {
			if !ok {
				return logonFailure("unknown-user")
			}
			return logonFailure("no-response")
		}
		s.res.guest = true
		return nil
	case len(nt) == 0:
		return logonFailure("lm-only") // LM and LMv2 responses alone are refused
	case len(nt) == 24:
		return logonFailure("ntlm-v1") // NTLM_RESPONSE (MS-NLMP 2.2.2.6); only NTLMv2 is accepted
	case len(nt) < ntlmV2MinLen:
		return invalid("ntlm-v2-response-length")
	}

	proof, temp := nt[:16], nt[16:]
	// The client's AV pairs (after the 28-byte fixed part of
	// NTLMv2_CLIENT_CHALLENGE) must parse before anything else, as Samba
	// requires (smb2.session.ntlmssp_bug14932: a malformed list is
	// STATUS_INVALID_PARAMETER, not a logon failure).
	micPresent := false
	if err := avPairs(temp[28:], func(id avID, v []byte) {
		if id == avFlags && len(v) == 4 && binary.LittleEndian.Uint32(v)&avFlagMICPresent != 0 {
			micPresent = true
		}
	}); err != nil {
		return invalid("ntlm-v2-av-pairs")
	}
	var responseKey []byte
	for _, dom := range s.candidateDomains() {
		k := ntowfV2(ntHash, s.res.user, dom)
		if hmac.Equal(ntlmV2Proof(k, s.serverChallenge, temp), proof) {
			responseKey = k
			break
		}
	}
	if responseKey == nil {
		return logonFailure("bad-password")
	}
	s.micPresent = micPresent

	// MS-NLMP 3.3.2: SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); with NTLMv2
	// KeyExchangeKey = SessionBaseKey (3.4.5.1).
	keyExchangeKey := hmacMD5(responseKey, proof)
	exported := keyExchangeKey
	if s.flags&flagKeyExch != 0 {
		ersk := f.key.bytes(m)
		switch {
		case len(ersk) == 16:
			// MS-NLMP 3.2.5.1.2: ExportedSessionKey = RC4K(KeyExchangeKey, EncryptedRandomSessionKey).
			exported = rc4K(keyExchangeKey, ersk)
		case len(ersk) == 0 && s.flags&(flagSign|flagSeal) == 0:
			// Key exchange without signing or sealing has no key to exchange.
		default:
			return invalid("ntlm-session-key-length")
		}
	}

	if s.micPresent {
		// MS-NLMP 3.2.5.1.2: "the server MUST compute MIC = HMAC_MD5(ExportedSessionKey,
		// ConcatenationOf(NEGOTIATE_MESSAGE, CHALLENGE_MESSAGE, AUTHENTICATE_MESSAGE)) with the MIC
		// field set to zero ... If the MIC values do not match, the server MUST fail authentication."
		if f.payloadStart < authMICEnd {
			return invalid("ntlm-mic-missing")
		}
		zeroed := bytes.Clone(in)
		clear(zeroed[authMICOff:authMICEnd])
		if !hmac.Equal(hmacMD5(exported, s.negotiate, s.challenge, zeroed), in[authMICOff:authMICEnd]) {
			return logonFailure("ntlm-mic")
		}
	}

	s.res.sessionKey = exported
	s.sec = newNTLMSecurity(s.flags, exported)
	return nil
}

// candidateDomains lists the domains NTOWFv2 is tried with, as Samba's ntlm_password_check does:
// the domain the client sent, uppercased, none, and this server's domain and name.
func (s *ntlmServer) candidateDomains() []string {
	d := s.res.domain
	list := []string{d, strings.ToUpper(d), "", s.cfg.netBIOSDomain(), s.cfg.netBIOSName()}
	var out []string
	for _, x := range list {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *ntlmServer) result() *result { return &s.res }

func (s *ntlmServer) canSign() bool {
	return s.sec != nil && s.flags&flagSign != 0
}

func (s *ntlmServer) wantMIC() bool { return s.micPresent }

func (s *ntlmServer) verifyMIC(msg, mic []byte) bool { return s.sec.verify(msg, mic) }

func (s *ntlmServer) makeMIC(msg []byte) []byte { return s.sec.sign(msg) }
