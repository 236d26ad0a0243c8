package auth

import (
	"bytes"
	"errors"
	"io"
)

// SPNEGO (RFC 4178, MS-SPNG) token encoding and decoding.

// Object identifiers, as the contents octets of their DER encoding.
var (
	oidSPNEGO  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}                         // 1.3.6.1.5.5.2
	oidNTLMSSP = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a} // 1.3.6.1.4.1.311.2.2.10
)

// negState is the NegTokenResp negState (RFC 4178 4.2.2).
type negState int

const (
	negStateAbsent           negState = -1
	negStateAcceptCompleted  negState = 0
	negStateAcceptIncomplete negState = 1
	negStateReject           negState = 2
	negStateRequestMIC       negState = 3
)

// negHintName is the negHints hintName Windows and Samba send in NegTokenInit2 (MS-SPNG 2.2.1).
const negHintName = "not_defined_in_RFC4178@please_ignore"

// negTokenInit is a decoded NegTokenInit or NegTokenInit2 (RFC 4178 4.2.1, MS-SPNG 2.2.1).
// Slices alias the input.
type negTokenInit struct {
	mechTypes    [][]byte // contents octets of each MechType OID, in the initiator's preference order
	mechTypeList []byte   // DER MechTypeList exactly as received: the input of mechListMIC
	mechToken    []byte   // nil when absent
	mechListMIC  []byte   // nil when absent
}

// negTokenResp is a decoded NegTokenResp (RFC 4178 4.2.2). Slices alias the input.
type negTokenResp struct {
	state         negState
	supportedMech []byte // OID contents; nil when absent
	responseToken []byte // nil when absent
	mechListMIC   []byte // nil when absent
}

// spnegoErr maps a DER error into a token error with reason.
func spnegoErr(err error, reason string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid(reason + "-truncated")
	}
	if errors.Is(err, ErrInvalidToken) {
		return err
	}
	return invalid(reason)
}

// parseNegotiationToken decodes a client SPNEGO token: an InitialContextToken carrying a
// NegTokenInit (RFC 2743 3.1, RFC 4178 4.2), or a bare NegotiationToken choice, [0] NegTokenInit
// or [1] NegTokenResp. Exactly one of the results is non-nil when err is nil.
func parseNegotiationToken(b []byte) (*negTokenInit, *negTokenResp, error) {
	tag, body, rest, err := derNext(b)
	if err != nil {
		return nil, nil, spnegoErr(err, "spnego-token")
	}
	// Trailing bytes after the token are ignored, as Windows and Samba do: some clients pad.
	_ = rest
	if tag == tagApplication0 {
		var oid []byte
		tag, oid, body, err = derNext(body)
		if err != nil {
			return nil, nil, spnegoErr(err, "spnego-oid")
		}
		if tag != tagOID || !bytes.Equal(oid, oidSPNEGO) {
			return nil, nil, &Error{Err: ErrUnsupportedMech, Reason: "not-spnego"}
		}
		tag, body, _, err = derNext(body)
		if err != nil {
			return nil, nil, spnegoErr(err, "spnego-token")
		}
		if tag != tagContext0 {
			return nil, nil, invalid("spnego-choice")
		}
	}
	switch tag {
	case tagContext0:
		t, err := parseNegTokenInit(body)
		return t, nil, err
	case tagContext0 + 1:
		t, err := parseNegTokenResp(body)
		return nil, t, err
	}
	return nil, nil, invalid("spnego-choice")
}

// seqFields iterates the context-tagged fields of a SEQUENCE, calling f with each field's number
// and contents. Fields must appear in increasing order, each at most once (X.690 DER SEQUENCE).
func seqFields(b []byte, reason string, f func(n int, v []byte) error) error {
	tag, body, _, err := derNext(b)
	if err != nil {
		return spnegoErr(err, reason)
	}
	if tag != tagSequence {
		return invalid(reason + "-sequence")
	}
	last := -1
	for len(body) > 0 {
		var v []byte
		tag, v, body, err = derNext(body)
		if err != nil {
			return spnegoErr(err, reason)
		}
		n := int(tag) - tagContext0
		if n < 0 || n > 30 || n <= last {
			return invalid(reason + "-field")
		}
		last = n
		if err := f(n, v); err != nil {
			return err
		}
	}
	return nil
}

// explicit unwraps the single TLV inside an explicit tag and checks its type.
func explicit(v []byte, want byte, reason string) ([]byte, error) {
	tag, c, _, err := derNext(v)
	if err != nil {
		return nil, spnegoErr(err, reason)
	}
	if tag != want {
		return nil, invalid(reason + "-type")
	}
	return c, nil
}

func parseNegTokenInit(b []byte) (*negTokenInit, error) {
	t := new(negTokenInit)
	err := seqFields(b, "negtokeninit", func(n int, v []byte) error {
		var err error
		switch n {
		case 0: // mechTypes [0] MechTypeList
			tag, list, _, err := derNext(v)
			if err != nil {
				return spnegoErr(err, "mechtypes")
			}
			if tag != tagSequence {
				return invalid("mechtypes-type")
			}
			t.mechTypeList = v[:headerLen(v)+len(list)]
			for len(list) > 0 {
				var oid []byte
				tag, oid, list, err = derNext(list)
				if err != nil {
					return spnegoErr(err, "mechtypes")
				}
				if tag != tagOID {
					return invalid("mechtype-type")
				}
				t.mechTypes = append(t.mechTypes, oid)
			}
		case 2: // mechToken [2] OCTET STRING
			t.mechToken, err = explicit(v, tagOctetString, "mechtoken")
		case 4: // mechListMIC [4] OCTET STRING
			t.mechListMIC, err = explicit(v, tagOctetString, "mechlistmic")
		}
		// reqFlags [1] and negHints [3] are ignored (RFC 4178 4.2.1: reqFlags SHOULD be ignored).
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(t.mechTypes) == 0 {
		return nil, invalid("mechtypes-missing") // RFC 4178 4.2.1: mechTypes is required from the initiator
	}
	return t, nil
}

// headerLen returns the size of the tag and length octets of the TLV at the start of b, which
// derNext has already validated.
func headerLen(b []byte) int {
	if b[1] < 0x80 {
		return 2
	}
	return 2 + int(b[1]&0x7f)
}

func parseNegTokenResp(b []byte) (*negTokenResp, error) {
	t := &negTokenResp{state: negStateAbsent}
	err := seqFields(b, "negtokenresp", func(n int, v []byte) error {
		var err error
		switch n {
		case 0: // negState [0] ENUMERATED
			var e []byte
			if e, err = explicit(v, tagEnumerated, "negstate"); err != nil {
				return err
			}
			if len(e) != 1 || e[0] > byte(negStateRequestMIC) {
				return invalid("negstate-value")
			}
			t.state = negState(e[0])
		case 1: // supportedMech [1] MechType
			t.supportedMech, err = explicit(v, tagOID, "supportedmech")
		case 2: // responseToken [2] OCTET STRING
			t.responseToken, err = explicit(v, tagOctetString, "responsetoken")
		case 3: // mechListMIC [3] OCTET STRING
			t.mechListMIC, err = explicit(v, tagOctetString, "mechlistmic")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// appendNegTokenResp encodes a NegTokenResp as the [1] choice of NegotiationToken (RFC 4178 4.2,
// MS-SPNG 2.2.2: servers send it without the GSS-API InitialContextToken framing).
func appendNegTokenResp(b []byte, state negState, mech, token, mic []byte) []byte {
	var fields []byte
	if state != negStateAbsent {
		fields = derAppend(fields, tagContext0, der(tagEnumerated, []byte{byte(state)}))
	}
	if mech != nil {
		fields = derAppend(fields, tagContext0+1, der(tagOID, mech))
	}
	if token != nil {
		fields = derAppend(fields, tagContext0+2, der(tagOctetString, token))
	}
	if mic != nil {
		fields = derAppend(fields, tagContext0+3, der(tagOctetString, mic))
	}
	return derAppend(b, tagContext0+1, der(tagSequence, fields))
}

// appendMechTypeList encodes a MechTypeList (RFC 4178 4.1).
func appendMechTypeList(b []byte, oids [][]byte) []byte {
	var list []byte
	for _, o := range oids {
		list = derAppend(list, tagOID, o)
	}
	return derAppend(b, tagSequence, list)
}

// appendNegTokenInit encodes an InitialContextToken carrying a NegTokenInit2 (MS-SPNG 2.2.1) with
// the given mechanisms, optional mechToken, and, when hint is set, the negHints Windows sends.
func appendNegTokenInit(b []byte, oids [][]byte, mechToken []byte, hint bool) []byte {
	fields := derAppend(nil, tagContext0, appendMechTypeList(nil, oids))
	if mechToken != nil {
		fields = derAppend(fields, tagContext0+2, der(tagOctetString, mechToken))
	}
	if hint {
		name := derAppend(nil, tagContext0, der(tagGeneralString, []byte(negHintName)))
		fields = derAppend(fields, tagContext0+3, der(tagSequence, name))
	}
	choice := der(tagContext0, der(tagSequence, fields))
	return derAppend(b, tagApplication0, der(tagOID, oidSPNEGO), choice)
}
