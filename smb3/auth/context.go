package auth

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"time"
)

// Config of the acceptor. It is read, never written, by Contexts, and may be shared by them.
type Config struct {
	Users          UserStore
	NetBIOSName    string           // server name, e.g. "SMB3D"; "" means "SMB3D"
	NetBIOSDomain  string           // e.g. "WORKGROUP"; "" means "WORKGROUP"
	DNSName        string           // "" means the lowercased NetBIOS name
	DNSDomain      string           // "" omits MsvAvDnsDomainName
	AllowGuest     bool             // unknown users / no NT response map to guest
	AllowAnonymous bool             // null session: empty user name and empty responses
	Kerberos       *Kerberos        // nil: no Kerberos; else the keytab and client mapping
	DisableNTLM    bool             // refuse NTLM (Kerberos only)
	Now            func() time.Time // nil: time.Now
	Rand           io.Reader        // server challenges; nil: crypto/rand.Reader
}

func (c *Config) netBIOSName() string {
	if c.NetBIOSName == "" {
		return "SMB3D"
	}
	return c.NetBIOSName
}

func (c *Config) netBIOSDomain() string {
	if c.NetBIOSDomain == "" {
		return "WORKGROUP"
	}
	return c.NetBIOSDomain
}

func (c *Config) dnsName() string {
	if c.DNSName == "" {
		return strings.ToLower(c.netBIOSName())
	}
	return c.DNSName
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Config) rand() io.Reader {
	if c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

// result is what a mechanism learned about the client.
type result struct {
	user, domain, workstation string
	sessionKey                []byte // nil for guest and anonymous
	guest, anonymous          bool
	sids                      [][]byte // from a Kerberos ticket's PAC
}

// mechanism is one GSS-API mechanism SPNEGO can negotiate (RFC 4178 3).
type mechanism interface {
	// step consumes the client's next mechanism token and returns the reply token; done reports
	// that the mechanism accepted the client.
	step(in []byte) (out []byte, done bool, err error)
	// result is valid after done.
	result() *result
	// canSign reports whether the established context can compute and check per-message MICs
	// (GSS_GetMIC/GSS_VerifyMIC), which the SPNEGO mechListMIC needs.
	canSign() bool
	// wantMIC reports that the mechanism requires the mechListMIC exchange (MS-SPNG 3.1.5.1: NTLM
	// with a MIC in AUTHENTICATE_MESSAGE).
	wantMIC() bool
	verifyMIC(msg, mic []byte) bool
	makeMIC(msg []byte) []byte
}

// mechType is a mechanism this server implements.
type mechType struct {
	oid []byte // contents octets of the OID
	new func(cfg *Config) mechanism
}

// mechNTLM, mechKerberos and mechMSKerberos are the mechanisms this server implements.
var (
	mechNTLM       = mechType{oid: oidNTLMSSP, new: newNTLMServer}
	mechKerberos   = mechType{oid: oidKerberos, new: newKrbServer}
	mechMSKerberos = mechType{oid: oidMSKerberos, new: newKrbServer}
)

// mechanisms returns the server's mechanisms in its preference order, as Windows lists them:
// MS KRB5, KRB5 (when a keytab is configured), NTLMSSP (unless turned off). NegTokenInit
// advertises them; a client's list is matched against them.
func (c *Config) mechanisms() []*mechType {
	if c == nil {
		return []*mechType{&mechNTLM}
	}
	var m []*mechType
	if c.Kerberos != nil {
		m = append(m, &mechMSKerberos, &mechKerberos)
	}
	if !c.DisableNTLM {
		m = append(m, &mechNTLM)
	}
	return m
}

func (c *Config) findMech(oid []byte) *mechType {
	for _, m := range c.mechanisms() {
		if bytes.Equal(m.oid, oid) {
			return m
		}
	}
	return nil
}

// NegTokenInit returns the SPNEGO NegTokenInit2 the server puts in its NEGOTIATE response security
// buffer (MS-SPNG 3.2.5.2), advertising its mechanisms (Kerberos 1.2.840.48018.1.2.2 and
// 1.2.840.113554.1.2.2 when configured, NTLMSSP 1.3.6.1.4.1.311.2.2.10) and the negHints
// principal "not_defined_in_RFC4178@please_ignore".
func NegTokenInit(cfg *Config) []byte {
	var oids [][]byte
	for _, m := range cfg.mechanisms() {
		oids = append(oids, m.oid)
	}
	return appendNegTokenInit(nil, oids, nil, true)
}

// ctxState is a Context's position in the exchange.
type ctxState int

const (
	ctxStart   ctxState = iota // nothing received yet
	ctxMech                    // exchanging mechanism tokens
	ctxWaitMIC                 // mechanism done; waiting for the client's mechListMIC
	ctxDone
	ctxFailed
)

// Context is one authentication exchange (one SESSION_SETUP sequence). Not safe for concurrent use.
type Context struct {
	cfg     *Config
	state   ctxState
	spnego  bool // the client wraps tokens in SPNEGO; replies use the same form
	mech    mechanism
	mechOID []byte // the chosen mechanism's OID (for supportedMech)

	mechTypeList []byte // the client's DER MechTypeList, input of mechListMIC
	needMIC      bool   // the mechanism was not the client's first choice (RFC 4178 5 request-mic)
	sentMech     bool   // supportedMech has been sent (it goes in the first reply only)
	res          *result
}

// NewContext starts an exchange. A nil cfg is an empty Config: no users, no guest, no anonymous.
func NewContext(cfg *Config) *Context {
	if cfg == nil {
		cfg = &Config{}
	}
	return &Context{cfg: cfg}
}

// Step consumes the client's security buffer and returns the token to send back. done reports
// that authentication succeeded (the SMB server then answers STATUS_SUCCESS with out); when !done
// and err == nil the server answers STATUS_MORE_PROCESSING_REQUIRED with out.
//
// SPNEGO-wrapped tokens (an InitialContextToken with NegTokenInit, then NegTokenResp) and raw
// NTLMSSP messages are accepted, and replies use the form the client used. An empty first buffer
// is answered with NegTokenInit. On failure err wraps ErrLogonFailure, ErrInvalidToken or
// ErrUnsupportedMech (see Error) and out, if non-nil, is a SPNEGO reject to send with the error
// status. A Context that failed or finished rejects further input.
func (c *Context) Step(in []byte) (out []byte, done bool, err error) {
	switch c.state {
	case ctxStart:
		out, done, err = c.start(in)
	case ctxMech:
		out, done, err = c.continueMech(in)
	case ctxWaitMIC:
		out, done, err = c.finishMIC(in)
	default:
		return nil, false, invalid("context-finished")
	}
	if err != nil {
		c.state = ctxFailed
		if c.mech != nil {
			c.res = c.mech.result() // names the client tried, for logs
		}
		if c.spnego {
			out = appendNegTokenResp(nil, negStateReject, nil, nil, nil)
		} else {
			out = nil
		}
		return out, false, err
	}
	if done {
		c.state = ctxDone
		c.res = c.mech.result()
	}
	return out, done, nil
}

func (c *Context) start(in []byte) ([]byte, bool, error) {
	if len(in) == 0 {
		// A client may start SESSION_SETUP with an empty buffer; like smbd, offer the mechanisms
		// (the NEGOTIATE response's token) again.
		return NegTokenInit(c.cfg), false, nil
	}
	if isNTLMSSP(in) {
		if c.cfg.DisableNTLM {
			return nil, false, &Error{Err: ErrUnsupportedMech, Reason: "ntlm-disabled"}
		}
		c.mech = newNTLMServer(c.cfg)
		c.state = ctxMech
		return c.mech.step(in)
	}
	if c.cfg.Kerberos != nil && isKrb5Token(in) {
		// A bare Kerberos token (RFC 4121), without SPNEGO.
		c.mech = newKrbServer(c.cfg)
		c.state = ctxMech
		return c.mech.step(in)
	}
	c.spnego = true
	init, resp, err := parseNegotiationToken(in)
	if err != nil {
		return nil, false, err
	}
	if resp != nil {
		return nil, false, invalid("spnego-unexpected-negtokenresp")
	}
	// RFC 4178 3.2: the acceptor picks the first mechanism of the initiator's list it supports. The
	// optimistic mechToken belongs to the initiator's first mechanism, so it is used only when
	// that is the one chosen; otherwise request-mic asks for the mechListMIC exchange that
	// protects the choice (RFC 4178 5).
	c.mechTypeList = bytes.Clone(init.mechTypeList)
	for i, oid := range init.mechTypes {
		mt := c.cfg.findMech(oid)
		if mt == nil {
			continue
		}
		c.mech, c.mechOID = mt.new(c.cfg), mt.oid
		c.state = ctxMech
		if i > 0 {
			c.needMIC = true
			c.sentMech = true
			return appendNegTokenResp(nil, negStateRequestMIC, mt.oid, nil, nil), false, nil
		}
		if init.mechToken == nil {
			c.sentMech = true
			return appendNegTokenResp(nil, negStateAcceptIncomplete, mt.oid, nil, nil), false, nil
		}
		return c.mechStep(init.mechToken, init.mechListMIC)
	}
	return nil, false, &Error{Err: ErrUnsupportedMech, Reason: "no-common-mech"}
}

func (c *Context) continueMech(in []byte) ([]byte, bool, error) {
	if !c.spnego {
		if !isNTLMSSP(in) {
			return nil, false, invalid("ntlm-expected")
		}
		return c.mech.step(in) // a Kerberos mechanism rejects a second token itself
	}
	init, resp, err := parseNegotiationToken(in)
	if err != nil {
		return nil, false, err
	}
	if init != nil {
		return nil, false, invalid("spnego-unexpected-negtokeninit")
	}
	if resp.state == negStateReject {
		return nil, false, logonFailure("client-rejected")
	}
	if resp.responseToken == nil {
		return nil, false, invalid("spnego-response-token-missing")
	}
	return c.mechStep(resp.responseToken, resp.mechListMIC)
}

// mechStep passes a token to the mechanism and wraps its reply in a NegTokenResp.
func (c *Context) mechStep(token, clientMIC []byte) ([]byte, bool, error) {
	out, done, err := c.mech.step(token)
	if err != nil {
		return nil, false, err
	}
	if !c.spnego {
		return out, done, nil
	}
	var mech []byte
	if !c.sentMech {
		mech, c.sentMech = c.mechOID, true
	}
	if !done {
		return appendNegTokenResp(nil, negStateAcceptIncomplete, mech, out, nil), false, nil
	}
	return c.complete(mech, out, clientMIC)
}

// complete runs the mechListMIC exchange once the mechanism has accepted the client
// (RFC 4178 5, MS-SPNG 3.2.5.1), following Samba's gensec_spnego: when the context can sign and
// the client sent a mechListMIC, or the mechanism or a request-mic requires one, the client's is
// verified and the server's is sent with accept-completed. A required mechListMIC the client has
// not sent yet is awaited in one more round trip, the server's own going out first.
func (c *Context) complete(mech, token, clientMIC []byte) ([]byte, bool, error) {
	need := c.mech.canSign() && (clientMIC != nil || c.needMIC || c.mech.wantMIC())
	if !need {
		return appendNegTokenResp(nil, negStateAcceptCompleted, mech, token, nil), true, nil
	}
	if clientMIC != nil && !c.mech.verifyMIC(c.mechTypeList, clientMIC) {
		return nil, false, logonFailure("mechlistmic")
	}
	mic := c.mech.makeMIC(c.mechTypeList)
	if clientMIC == nil {
		c.state = ctxWaitMIC
		return appendNegTokenResp(nil, negStateAcceptIncomplete, mech, token, mic), false, nil
	}
	return appendNegTokenResp(nil, negStateAcceptCompleted, mech, token, mic), true, nil
}

func (c *Context) finishMIC(in []byte) ([]byte, bool, error) {
	init, resp, err := parseNegotiationToken(in)
	if err != nil {
		return nil, false, err
	}
	if init != nil {
		return nil, false, invalid("spnego-unexpected-negtokeninit")
	}
	if resp.mechListMIC == nil {
		return nil, false, invalid("spnego-mechlistmic-missing")
	}
	if !c.mech.verifyMIC(c.mechTypeList, resp.mechListMIC) {
		return nil, false, logonFailure("mechlistmic")
	}
	return appendNegTokenResp(nil, negStateAcceptCompleted, nil, nil, nil), true, nil
}

// User is the user name as the client sent it. Valid after done, and after a logon failure for
// logging (it is then unauthenticated).
func (c *Context) User() string { return c.r().user }

// Domain is the domain name as the client sent it. Valid after done.
func (c *Context) Domain() string { return c.r().domain }

// Workstation is the client's workstation name. Valid after done.
func (c *Context) Workstation() string { return c.r().workstation }

// SessionKey returns the GSS session key, the input of SMB2 key derivation (MS-SMB2 3.3.5.5.3
// takes its first 16 bytes as Session.SessionKey and all of it as Session.FullSessionKey): for
// NTLM the 16-byte exported session key (MS-NLMP 3.1.5.1.2: after key exchange if negotiated),
// for Kerberos the authenticator's subkey (16 or 32 bytes), else the ticket's session key. It is
// nil for guest and anonymous sessions and before done.
func (c *Context) SessionKey() []byte {
	if c.state != ctxDone {
		return nil
	}
	return bytes.Clone(c.r().sessionKey)
}

// SIDs returns the security identifiers (MS-DTYP 2.4.2.2 binary form) the KDC asserted for the
// user in the Kerberos ticket's PAC: the user's SID, its primary group, its groups, extra SIDs
// and resource groups (MS-PAC 2.5). Nil for NTLM, guest and anonymous sessions, for a ticket
// without a PAC or a PAC without KERB_VALIDATION_INFO, and before done.
func (c *Context) SIDs() [][]byte {
	if c.state != ctxDone {
		return nil
	}
	var out [][]byte
	for _, s := range c.r().sids {
		out = append(out, bytes.Clone(s))
	}
	return out
}

// IsGuest reports that the client was mapped to the guest account. Valid after done.
func (c *Context) IsGuest() bool { return c.state == ctxDone && c.r().guest }

// IsAnonymous reports a null session. Valid after done.
func (c *Context) IsAnonymous() bool { return c.state == ctxDone && c.r().anonymous }

var noResult result

func (c *Context) r() *result {
	if c.res == nil {
		return &noResult
	}
	return c.res
}
