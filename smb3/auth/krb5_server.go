package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// The Kerberos acceptor (RFC 4120 3.2.3, RFC 4121, MS-KILE 3.4.5): a GSS-API KRB5 initial
// context token carrying an AP-REQ in, verified with the service's keytab; a token carrying
// the AP-REP out when the client asks for mutual authentication. The GSS session key is the
// authenticator's subkey (the server sends no subkey of its own), else the ticket's session key.

// Mechanism OIDs (contents octets).
var (
	oidKerberos   = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02} // 1.2.840.113554.1.2.2 (RFC 4121)
	oidMSKerberos = []byte{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02} // 1.2.840.48018.1.2.2 (MS-KILE 3.1.5.7)
)

// GSS-API token identifiers of RFC 4121 4.1 and 4.2.6.
var (
	tokAPReq = []byte{0x01, 0x00}
	tokAPRep = []byte{0x02, 0x00}
	tokMIC   = []byte{0x04, 0x04}
)

// GSS checksum flags (RFC 4121 4.1.1.1).
const (
	gssMutualFlag   = 0x02
	gssDCEStyleFlag = 0x1000
)

// MIC token flags (RFC 4121 4.2.2).
const (
	micSentByAcceptor = 0x01
	micAcceptorSubkey = 0x04
)

// DefaultClockSkew is the tolerated difference between the client's clock and ours, the
// Kerberos default (RFC 4120 1.6 suggests 5 minutes; MIT and Windows use it).
const DefaultClockSkew = 5 * time.Minute

// Kerberos enables the Kerberos mechanism. One value is shared by every Context of a server:
// it holds the replay cache.
//
// A client principal maps to a user of the UserStore by its name without the realm:
// "alice@EXAMPLE.COM" is user "alice" when EXAMPLE.COM is the accepted realm (Realm, or when
// Realm is empty the realm of the service principal the ticket was issued for), with or
// without an NT hash (a Kerberos-only user of a KerberosOnlyStore). Principals of other realms,
// with more than one component ("alice/admin"), or not in the UserStore are refused, or mapped
// to guest when Config.AllowGuest is set.
type Kerberos struct {
	Keytab    KeytabSource
	Realm     string        // accepted client realm; "" means the service principal's realm
	ClockSkew time.Duration // 0 means DefaultClockSkew

	replay replayCache
}

func (k *Kerberos) skew() time.Duration {
	if k.ClockSkew <= 0 {
		return DefaultClockSkew
	}
	return k.ClockSkew
}

// replayCache remembers the authenticators accepted within the clock skew (RFC 4120 3.2.3:
// "the server MUST utilize a replay cache"), by a hash of the encrypted authenticator.
type replayCache struct {
	mu      sync.Mutex
	seen    map[[32]byte]time.Time // expiry
	pruneAt int
}

// maxReplayEntries bounds the cache; a client that fills it with valid authenticators gets
// refused until entries expire.
const maxReplayEntries = 1 << 18

// check records h and reports whether it was new. Entries expire at exp.
func (c *replayCache) check(h [32]byte, now, exp time.Time) (fresh, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[[32]byte]time.Time)
		c.pruneAt = 1024
	}
	if e, ok := c.seen[h]; ok && now.Before(e) {
		return false, false
	}
	if len(c.seen) >= c.pruneAt {
		for k, e := range c.seen {
			if !now.Before(e) {
				delete(c.seen, k)
			}
		}
		c.pruneAt = max(1024, 2*len(c.seen))
		if len(c.seen) >= maxReplayEntries {
			return false, true
		}
	}
	c.seen[h] = exp
	return true, false
}

// krbServer is one Kerberos acceptor context.
type krbServer struct {
	cfg  *Config
	done bool
	res  result

	key     krbKey // the GSS context key: the authenticator's subkey, else the ticket session key
	sendSeq uint32 // our initial sequence number (the AP-REP's), for MIC tokens
}

func newKrbServer(cfg *Config) mechanism { return &krbServer{cfg: cfg} }

// isKrb5Token reports a GSS-API initial context token of the Kerberos mechanism (a raw
// Kerberos SESSION_SETUP, without SPNEGO).
func isKrb5Token(b []byte) bool {
	tag, body, _, err := derNext(b)
	if err != nil || tag != tagApplication0 {
		return false
	}
	tag, oid, _, err := derNext(body)
	return err == nil && tag == tagOID && (bytes.Equal(oid, oidKerberos) || bytes.Equal(oid, oidMSKerberos))
}

// unwrapGSS removes the InitialContextToken framing (RFC 2743 3.1) and the 2-byte token id
// (RFC 4121 4.1) from a KRB5 mechanism token.
func unwrapGSS(b []byte, tokID []byte) ([]byte, error) {
	tag, body, _, err := derNext(b)
	if err != nil {
		return nil, krbErr(err, "gss-token")
	}
	if tag != tagApplication0 {
		return nil, invalid("krb5-gss-token-tag")
	}
	tag, oid, inner, err := derNext(body)
	if err != nil {
		return nil, krbErr(err, "gss-oid")
	}
	// Windows puts the real Kerberos OID here even when SPNEGO negotiated the MS one; accept both.
	if tag != tagOID || !bytes.Equal(oid, oidKerberos) && !bytes.Equal(oid, oidMSKerberos) {
		return nil, &Error{Err: ErrUnsupportedMech, Reason: "krb5-gss-oid"}
	}
	if len(inner) < 2 {
		return nil, invalid("krb5-gss-tokid-truncated")
	}
	if !bytes.Equal(inner[:2], tokID) {
		return nil, invalid("krb5-gss-tokid")
	}
	return inner[2:], nil
}

// wrapGSS frames a KRB5 token as the acceptor sends it.
func wrapGSS(tokID, msg []byte) []byte {
	return derAppend(nil, tagApplication0, der(tagOID, oidKerberos), tokID, msg)
}

func (s *krbServer) step(in []byte) ([]byte, bool, error) {
	if s.done {
		return nil, false, invalid("krb5-state")
	}
	s.done = true
	out, err := s.accept(in)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func (s *krbServer) accept(in []byte) ([]byte, error) {
	k := s.cfg.Kerberos
	if k == nil || k.Keytab == nil {
		return nil, &Error{Err: ErrUnsupportedMech, Reason: "krb5-not-configured"}
	}
	body, err := unwrapGSS(in, tokAPReq)
	if err != nil {
		return nil, err
	}
	req, err := parseAPReq(body)
	if err != nil {
		return nil, err
	}
	if req.options&apOptUseSKey != 0 {
		return nil, logonFailure("krb5-user-to-user") // needs a TGT session key the server does not have
	}
	tkt := &req.ticket
	if !isCIFS(tkt.sname) {
		return nil, logonFailure("krb5-not-cifs-principal")
	}
	kt, _ := k.Keytab.Keytab() // on a reload error the last good keytab is used
	if kt == nil {
		return nil, logonFailure("krb5-no-keytab")
	}
	etp, serviceKey, err := decryptTicket(kt, tkt)
	if err != nil {
		return nil, err
	}

	now := s.cfg.now().UTC()
	skew := k.skew()
	if etp.flags&tktFlagInval != 0 {
		return nil, logonFailure("krb5-ticket-invalid")
	}
	if etp.starttime.After(now.Add(skew)) {
		return nil, logonFailure("krb5-ticket-not-yet-valid")
	}
	if !now.Before(etp.endtime.Add(skew)) {
		return nil, logonFailure("krb5-ticket-expired")
	}
	if !etp.key.valid() {
		return nil, logonFailure("krb5-session-key-etype")
	}

	plain, err := etp.key.decrypt(usageAuthenticator, req.auth.cipher)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalid("krb5-authenticator-truncated")
		}
		return nil, logonFailure("krb5-authenticator-decrypt")
	}
	if req.auth.etype != etp.key.etype {
		return nil, logonFailure("krb5-authenticator-etype")
	}
	auth, err := parseAuthenticator(plain)
	if err != nil {
		return nil, err
	}
	if auth.crealm != etp.crealm || !auth.cname.equal(etp.cname) {
		return nil, logonFailure("krb5-client-mismatch") // RFC 4120 3.2.3: KRB_AP_ERR_BADMATCH
	}
	if d := now.Sub(auth.ctime); d > skew || d < -skew {
		return nil, logonFailure("krb5-skew") // KRB_AP_ERR_SKEW
	}
	// RFC 4121 4.1.1: the authenticator's checksum carries the GSS flags.
	if auth.cksum == nil || auth.cksumType != cksumGSSAPI {
		return nil, logonFailure("krb5-gss-checksum-missing")
	}
	if len(auth.cksum) < 24 || binary.LittleEndian.Uint32(auth.cksum) != 16 {
		return nil, invalid("krb5-gss-checksum")
	}
	gssFlags := binary.LittleEndian.Uint32(auth.cksum[20:])
	if gssFlags&gssDCEStyleFlag != 0 {
		return nil, logonFailure("krb5-dce-style") // DCE RPC's three-leg variant; not used by SMB
	}
	if auth.subkey.value != nil && !auth.subkey.valid() && len(auth.subkey.value) < 16 {
		return nil, logonFailure("krb5-subkey") // too short to give an SMB session key
	}
	h := sha256.Sum256(req.auth.cipher)
	fresh, full := k.replay.check(h, now, auth.ctime.Add(skew).Add(time.Second))
	if full {
		return nil, logonFailure("krb5-replay-cache-full")
	}
	if !fresh {
		return nil, logonFailure("krb5-replay") // KRB_AP_ERR_REPEAT
	}

	// The PAC, when the KDC put one in the ticket: a PAC that fails verification refuses the
	// logon; a ticket without one (a KDC that issues none) gives the session no domain SIDs.
	pac, err := findPAC(etp.authData)
	if err != nil {
		return nil, err
	}
	if pac != nil {
		info, err := verifyPAC(pac, serviceKey, etp)
		if err != nil {
			return nil, err
		}
		s.res.sids = info.sids
	}

	s.key = etp.key
	if auth.subkey.value != nil {
		s.key = krbKey{etype: auth.subkey.etype, value: bytes.Clone(auth.subkey.value)}
	}
	s.res.sessionKey = bytes.Clone(s.key.value)
	if err := s.mapClient(etp, tkt.realm); err != nil {
		return nil, err
	}

	if req.options&apOptMutual == 0 && gssFlags&gssMutualFlag == 0 {
		// No AP-REP: the acceptor's sequence numbers start at the initiator's (RFC 4121 4.1).
		s.sendSeq = auth.seq
		return nil, nil
	}
	var seq [4]byte
	if _, err := io.ReadFull(s.cfg.rand(), seq[:]); err != nil {
		return nil, logonFailure("krb5-rand")
	}
	s.sendSeq = binary.BigEndian.Uint32(seq[:]) & 0x3fffffff // like MIT: room before wrapping
	enc, err := etp.key.encrypt(usageAPRepPart, appendEncAPRepPart(nil, auth.ctime, auth.cusec, s.sendSeq), s.cfg.rand())
	if err != nil {
		return nil, logonFailure("krb5-encrypt")
	}
	rep := appendAPRep(nil, encryptedData{etype: etp.key.etype, cipher: enc})
	return wrapGSS(tokAPRep, rep), nil
}

// decryptTicket finds the service key for the ticket in the keytab (same principal, realm and
// enctype; the ticket's key version when it names one) and decrypts the ticket with it. It
// returns the ticket's decrypted part and the key that decrypted it.
func decryptTicket(kt *Keytab, tkt *ticket) (*encTicketPart, krbKey, error) {
	var none krbKey
	if etypeKeyLen(tkt.enc.etype) == 0 {
		return nil, none, logonFailure("krb5-ticket-etype-unsupported")
	}
	var candidates []*KeytabEntry
	samePrincipal := false
	for i := len(kt.Entries) - 1; i >= 0; i-- { // the newest entries come last
		e := &kt.Entries[i]
		if e.Realm != tkt.realm || !principalEqualFold(e.Name, tkt.sname) {
			continue
		}
		samePrincipal = true
		if e.Key.etype != tkt.enc.etype || !e.Key.valid() {
			continue
		}
		if tkt.enc.hasKVNO {
			if e.kvno8 && uint8(e.KVNO) != uint8(tkt.enc.kvno) || !e.kvno8 && e.KVNO != tkt.enc.kvno {
				continue
			}
		}
		candidates = append(candidates, e)
	}
	if len(candidates) == 0 {
		if !samePrincipal {
			return nil, none, logonFailure("krb5-principal-not-in-keytab") // KRB_AP_ERR_NOT_US
		}
		return nil, none, logonFailure("krb5-no-key-for-kvno-etype") // KRB_AP_ERR_BADKEYVER
	}
	for _, e := range candidates {
		plain, err := e.Key.decrypt(usageTicket, tkt.enc.cipher)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, none, invalid("krb5-ticket-encpart-truncated")
		}
		if err != nil {
			continue
		}
		etp, err := parseEncTicketPart(plain)
		return etp, e.Key, err
	}
	return nil, none, logonFailure("krb5-ticket-decrypt") // KRB_AP_ERR_BAD_INTEGRITY: the wrong key
}

// principalEqualFold compares names component by component, ignoring case: Windows SPNs (and
// DNS host names) are case-insensitive.
func principalEqualFold(a, b principalName) bool {
	if len(a.parts) != len(b.parts) {
		return false
	}
	for i := range a.parts {
		if !strings.EqualFold(a.parts[i], b.parts[i]) {
			return false
		}
	}
	return true
}

// mapClient maps the ticket's client principal to a user (see Kerberos).
func (s *krbServer) mapClient(etp *encTicketPart, serviceRealm string) error {
	k := s.cfg.Kerberos
	realm := k.Realm
	if realm == "" {
		realm = serviceRealm
	}
	s.res.user = etp.cname.String()
	s.res.domain = etp.crealm
	known := false
	if strings.EqualFold(etp.crealm, realm) && len(etp.cname.parts) == 1 {
		if s.cfg.Users != nil {
			_, known = s.cfg.Users.Lookup(etp.cname.parts[0])
			known = known || kerberosOnly(s.cfg.Users, etp.cname.parts[0])
		}
	}
	if known {
		s.res.user = etp.cname.parts[0]
		return nil
	}
	if s.cfg.AllowGuest {
		s.res.guest = true
		s.res.sessionKey = nil
		s.res.sids = nil
		return nil
	}
	if !strings.EqualFold(etp.crealm, realm) {
		return logonFailure("krb5-foreign-realm")
	}
	return logonFailure("krb5-unknown-user")
}

func (s *krbServer) result() *result { return &s.res }

// canSign: MIC tokens need an AES key of the simplified profile.
func (s *krbServer) canSign() bool { return s.done && s.key.valid() }

func (s *krbServer) wantMIC() bool { return false }

// micHeader is the first 16 bytes of a MIC token (RFC 4121 4.2.6.1).
func micHeader(flags byte, seq uint64) []byte {
	h := make([]byte, 16)
	copy(h, tokMIC)
	h[2] = flags
	for i := 3; i < 8; i++ {
		h[i] = 0xff
	}
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// verifyMIC checks the initiator's MIC token over msg (GSS_VerifyMIC).
func (s *krbServer) verifyMIC(msg, mic []byte) bool {
	if !s.canSign() || len(mic) != 16+sha1MACLen || !bytes.Equal(mic[:2], tokMIC) {
		return false
	}
	if mic[2]&(micSentByAcceptor|micAcceptorSubkey) != 0 { // the server never asserts a subkey
		return false
	}
	if !bytes.Equal(mic[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff}) {
		return false
	}
	want := s.key.checksum(usageInitiatorSign, msg, mic[:16])
	return subtle.ConstantTimeCompare(want, mic[16:]) == 1
}

// makeMIC returns the acceptor's MIC token over msg (GSS_GetMIC).
func (s *krbServer) makeMIC(msg []byte) []byte {
	h := micHeader(micSentByAcceptor, uint64(s.sendSeq))
	s.sendSeq++
	return append(h, s.key.checksum(usageAcceptorSign, msg, h)...)
}
