package auth

import (
	"encoding/binary"
	"strings"
	"time"
)

// Kerberos V5 messages (RFC 4120 5) as DER, over the reader and writer of der.go: the service
// side of the AP exchange (AP-REQ with its Ticket and Authenticator in, AP-REP out).
// Decoded values alias the input, except the decrypted parts, which are fresh slices.

// More ASN.1 universal tags (X.690 8).
const (
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagGeneralizedTime = 0x18
)

// Application tags of the Kerberos messages (RFC 4120 5.3-5.5), constructed.
const (
	tagTicket        = 0x60 | 1
	tagAuthenticator = 0x60 | 2
	tagEncTicketPart = 0x60 | 3
	tagAPReq         = 0x60 | 14
	tagAPRep         = 0x60 | 15
	tagEncAPRepPart  = 0x60 | 27
	tagKRBError      = 0x60 | 30
)

// Kerberos message types and the protocol version (RFC 4120 5.1, 5.5).
const (
	krbPVNO      = 5
	krbMsgAPReq  = 14
	krbMsgAPRep  = 15
	cksumGSSAPI  = 0x8003 // the GSS-API checksum of RFC 4121 4.1.1
	apOptUseSKey = 1 << 30
	apOptMutual  = 1 << 29
	tktFlagInval = 1 << 24 // TicketFlags bit 7, "invalid"
	nameTypeSrv  = 2       // NT-SRV-INST
	nameTypePrin = 1       // NT-PRINCIPAL
)

// krbErr is a Kerberos decoding error: an invalid-token error with a reason starting "krb5-".
func krbErr(err error, reason string) error { return spnegoErr(err, "krb5-"+reason) }

// principalName is a PrincipalName (RFC 4120 5.2.2).
type principalName struct {
	nameType int32
	parts    []string
}

// String joins the components with '/' (RFC 1964 2.1.1 without escaping).
func (p principalName) String() string { return strings.Join(p.parts, "/") }

func (p principalName) equal(q principalName) bool {
	if len(p.parts) != len(q.parts) {
		return false
	}
	for i := range p.parts {
		if p.parts[i] != q.parts[i] {
			return false
		}
	}
	return true
}

// encryptedData is an EncryptedData (RFC 4120 5.2.9).
type encryptedData struct {
	etype   int32
	kvno    uint32
	hasKVNO bool
	cipher  []byte
}

// ticket is a Ticket (RFC 4120 5.3) with its enc-part still encrypted.
type ticket struct {
	realm string
	sname principalName
	enc   encryptedData
}

// apReq is a KRB_AP_REQ (RFC 4120 5.5.1).
type apReq struct {
	options uint32 // APOptions, bit 0 the most significant
	ticket  ticket
	auth    encryptedData
}

// encTicketPart is the decrypted part of a Ticket (RFC 4120 5.3). Fields the acceptor does not
// use (transited, caddr) are skipped.
type encTicketPart struct {
	flags     uint32
	key       krbKey
	crealm    string
	cname     principalName
	authtime  time.Time
	starttime time.Time // authtime when absent
	endtime   time.Time
	authData  []byte // the AuthorizationData SEQUENCE (field 10), nil when absent
}

// authenticator is a decrypted Authenticator (RFC 4120 5.5.1).
type authenticator struct {
	crealm    string
	cname     principalName
	cksumType int32
	cksum     []byte // nil when absent
	cusec     int32
	ctime     time.Time
	subkey    krbKey // zero when absent
	seq       uint32
	hasSeq    bool
}

// Field decoders: v is the contents of an explicit context tag.

func intField(v []byte, reason string) (int64, error) {
	c, err := explicit(v, tagInteger, "krb5-"+reason)
	if err != nil {
		return 0, err
	}
	if len(c) == 0 || len(c) > 8 {
		return 0, invalid("krb5-" + reason + "-length")
	}
	n := int64(int8(c[0])) // sign-extend
	for _, b := range c[1:] {
		n = n<<8 | int64(b)
	}
	return n, nil
}

func int32Field(v []byte, reason string) (int32, error) {
	n, err := intField(v, reason)
	if err == nil && (n < -1<<31 || n > 1<<31-1) {
		err = invalid("krb5-" + reason + "-range")
	}
	return int32(n), err
}

func uint32Field(v []byte, reason string) (uint32, error) {
	n, err := intField(v, reason)
	if err == nil && (n < 0 || n > 1<<32-1) {
		// Some old implementations sent negative sequence numbers; MIT takes them modulo 2^32.
		if n >= -1<<31 && n < 0 {
			return uint32(n), nil
		}
		err = invalid("krb5-" + reason + "-range")
	}
	return uint32(n), err
}

func stringField(v []byte, reason string) (string, error) {
	c, err := explicit(v, tagGeneralString, "krb5-"+reason)
	return string(c), err
}

func octetsField(v []byte, reason string) ([]byte, error) {
	return explicit(v, tagOctetString, "krb5-"+reason)
}

// timeField decodes a KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ", no fraction (RFC 4120 5.2.3).
func timeField(v []byte, reason string) (time.Time, error) {
	c, err := explicit(v, tagGeneralizedTime, "krb5-"+reason)
	if err != nil {
		return time.Time{}, err
	}
	t, perr := time.Parse("20060102150405Z", string(c))
	if perr != nil || len(c) != 15 {
		return time.Time{}, invalid("krb5-" + reason + "-format")
	}
	return t, nil
}

// flagsField decodes KerberosFlags, a BIT STRING of at least 32 bits (RFC 4120 5.2.8), as a
// uint32 whose most significant bit is bit 0.
func flagsField(v []byte, reason string) (uint32, error) {
	c, err := explicit(v, tagBitString, "krb5-"+reason)
	if err != nil {
		return 0, err
	}
	if len(c) < 1 || c[0] > 7 {
		return 0, invalid("krb5-" + reason + "-bits")
	}
	var f uint32
	for i := 0; i < 4; i++ {
		f <<= 8
		if 1+i < len(c) {
			f |= uint32(c[1+i])
		}
	}
	return f, nil
}

// principalField decodes a PrincipalName SEQUENCE.
func principalField(v []byte, reason string) (principalName, error) {
	var p principalName
	seen := 0
	err := seqFields(v, "krb5-"+reason, func(n int, f []byte) error {
		var err error
		switch n {
		case 0:
			p.nameType, err = int32Field(f, reason+"-type")
		case 1:
			var list []byte
			if list, err = explicit(f, tagSequence, "krb5-"+reason+"-strings"); err != nil {
				return err
			}
			for len(list) > 0 {
				var tag byte
				var s []byte
				tag, s, list, err = derNext(list)
				if err != nil {
					return krbErr(err, reason+"-string")
				}
				if tag != tagGeneralString {
					return invalid("krb5-" + reason + "-string-type")
				}
				if len(p.parts) == 16 {
					return invalid("krb5-" + reason + "-components")
				}
				p.parts = append(p.parts, string(s))
			}
		}
		seen |= 1 << n
		return err
	})
	if err == nil && (seen&3 != 3 || len(p.parts) == 0) {
		err = invalid("krb5-" + reason + "-missing")
	}
	return p, err
}

func encryptedDataField(v []byte, reason string) (encryptedData, error) {
	var e encryptedData
	seen := 0
	err := seqFields(v, "krb5-"+reason, func(n int, f []byte) error {
		var err error
		switch n {
		case 0:
			e.etype, err = int32Field(f, reason+"-etype")
		case 1:
			e.kvno, err = uint32Field(f, reason+"-kvno")
			e.hasKVNO = true
		case 2:
			e.cipher, err = octetsField(f, reason+"-cipher")
		}
		seen |= 1 << n
		return err
	})
	if err == nil && seen&5 != 5 {
		err = invalid("krb5-" + reason + "-missing")
	}
	return e, err
}

func encryptionKeyField(v []byte, reason string) (krbKey, error) {
	var k krbKey
	seen := 0
	err := seqFields(v, "krb5-"+reason, func(n int, f []byte) error {
		var err error
		switch n {
		case 0:
			k.etype, err = int32Field(f, reason+"-type")
		case 1:
			k.value, err = octetsField(f, reason+"-value")
		}
		seen |= 1 << n
		return err
	})
	if err == nil && seen&3 != 3 {
		err = invalid("krb5-" + reason + "-missing")
	}
	return k, err
}

// appSeq unwraps an [APPLICATION n] SEQUENCE and walks its fields.
func appSeq(b []byte, tag byte, reason string, f func(n int, v []byte) error) error {
	t, body, _, err := derNext(b)
	if err != nil {
		return krbErr(err, reason)
	}
	if t != tag {
		return invalid("krb5-" + reason + "-tag")
	}
	return seqFields(body, "krb5-"+reason, f)
}

// parseAPReq decodes a KRB_AP_REQ.
func parseAPReq(b []byte) (*apReq, error) {
	r := new(apReq)
	seen := 0
	err := appSeq(b, tagAPReq, "apreq", func(n int, v []byte) error {
		var err error
		var x int64
		switch n {
		case 0:
			if x, err = intField(v, "apreq-pvno"); err == nil && x != krbPVNO {
				err = invalid("krb5-apreq-pvno-value")
			}
		case 1:
			if x, err = intField(v, "apreq-msgtype"); err == nil && x != krbMsgAPReq {
				err = invalid("krb5-apreq-msgtype-value")
			}
		case 2:
			r.options, err = flagsField(v, "apreq-options")
		case 3:
			r.ticket, err = parseTicket(v)
		case 4:
			r.auth, err = encryptedDataField(v, "apreq-authenticator")
		}
		seen |= 1 << n
		return err
	})
	if err == nil && seen&0x1f != 0x1f {
		err = invalid("krb5-apreq-missing")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// parseTicket decodes a Ticket.
func parseTicket(b []byte) (ticket, error) {
	var t ticket
	seen := 0
	err := appSeq(b, tagTicket, "ticket", func(n int, v []byte) error {
		var err error
		switch n {
		case 0:
			var x int64
			if x, err = intField(v, "ticket-vno"); err == nil && x != krbPVNO {
				err = invalid("krb5-ticket-vno-value")
			}
		case 1:
			t.realm, err = stringField(v, "ticket-realm")
		case 2:
			t.sname, err = principalField(v, "ticket-sname")
		case 3:
			t.enc, err = encryptedDataField(v, "ticket-encpart")
		}
		seen |= 1 << n
		return err
	})
	if err == nil && seen&0xf != 0xf {
		err = invalid("krb5-ticket-missing")
	}
	return t, err
}

// parseEncTicketPart decodes a decrypted EncTicketPart.
func parseEncTicketPart(b []byte) (*encTicketPart, error) {
	e := new(encTicketPart)
	seen := 0
	hasStart := false
	err := appSeq(b, tagEncTicketPart, "encticketpart", func(n int, v []byte) error {
		var err error
		switch n {
		case 0:
			e.flags, err = flagsField(v, "encticketpart-flags")
		case 1:
			e.key, err = encryptionKeyField(v, "encticketpart-key")
		case 2:
			e.crealm, err = stringField(v, "encticketpart-crealm")
		case 3:
			e.cname, err = principalField(v, "encticketpart-cname")
		case 5:
			e.authtime, err = timeField(v, "encticketpart-authtime")
		case 6:
			e.starttime, err = timeField(v, "encticketpart-starttime")
			hasStart = true
		case 7:
			e.endtime, err = timeField(v, "encticketpart-endtime")
		case 10:
			e.authData = v
		}
		seen |= 1 << n
		return err
	})
	// flags, key, crealm, cname, transited, authtime, endtime are required.
	if err == nil && seen&0xbf != 0xbf {
		err = invalid("krb5-encticketpart-missing")
	}
	if err != nil {
		return nil, err
	}
	if !hasStart {
		e.starttime = e.authtime
	}
	return e, nil
}

// parseAuthenticator decodes a decrypted Authenticator.
func parseAuthenticator(b []byte) (*authenticator, error) {
	a := new(authenticator)
	seen := 0
	err := appSeq(b, tagAuthenticator, "authenticator", func(n int, v []byte) error {
		var err error
		switch n {
		case 0:
			var x int64
			if x, err = intField(v, "authenticator-vno"); err == nil && x != krbPVNO {
				err = invalid("krb5-authenticator-vno-value")
			}
		case 1:
			a.crealm, err = stringField(v, "authenticator-crealm")
		case 2:
			a.cname, err = principalField(v, "authenticator-cname")
		case 3:
			err = seqFields(v, "krb5-authenticator-cksum", func(m int, f []byte) error {
				var err error
				switch m {
				case 0:
					a.cksumType, err = int32Field(f, "authenticator-cksum-type")
				case 1:
					a.cksum, err = octetsField(f, "authenticator-cksum-value")
				}
				return err
			})
			if err == nil && a.cksum == nil {
				err = invalid("krb5-authenticator-cksum-missing")
			}
		case 4:
			var us int32
			us, err = int32Field(v, "authenticator-cusec")
			if err == nil && (us < 0 || us > 999999) {
				err = invalid("krb5-authenticator-cusec-range")
			}
			a.cusec = us
		case 5:
			a.ctime, err = timeField(v, "authenticator-ctime")
		case 6:
			a.subkey, err = encryptionKeyField(v, "authenticator-subkey")
		case 7:
			a.seq, err = uint32Field(v, "authenticator-seq")
			a.hasSeq = true
		}
		seen |= 1 << n
		return err
	})
	// vno, crealm, cname, cusec, ctime are required.
	if err == nil && seen&0x37 != 0x37 {
		err = invalid("krb5-authenticator-missing")
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Encoders.

// derInt encodes an INTEGER in the fewest octets (X.690 8.3.2).
func derInt(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	i := 0
	for i < 7 && (b[i] == 0 && b[i+1]&0x80 == 0 || b[i] == 0xff && b[i+1]&0x80 != 0) {
		i++
	}
	return der(tagInteger, b[i:])
}

func derTime(t time.Time) []byte {
	return der(tagGeneralizedTime, []byte(t.UTC().Format("20060102150405Z")))
}

func derString(s string) []byte { return der(tagGeneralString, []byte(s)) }

// derFlags encodes KerberosFlags as a 32-bit BIT STRING.
func derFlags(f uint32) []byte {
	return der(tagBitString, []byte{0, byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)})
}

func derPrincipal(p principalName) []byte {
	var names []byte
	for _, s := range p.parts {
		names = append(names, derString(s)...)
	}
	return der(tagSequence,
		der(tagContext0, derInt(int64(p.nameType))),
		der(tagContext0+1, der(tagSequence, names)))
}

func derEncryptedData(e encryptedData) []byte {
	f := der(tagContext0, derInt(int64(e.etype)))
	if e.hasKVNO {
		f = append(f, der(tagContext0+1, derInt(int64(e.kvno)))...)
	}
	f = append(f, der(tagContext0+2, der(tagOctetString, e.cipher))...)
	return der(tagSequence, f)
}

func derEncryptionKey(k krbKey) []byte {
	return der(tagSequence,
		der(tagContext0, derInt(int64(k.etype))),
		der(tagContext0+1, der(tagOctetString, k.value)))
}

// appendEncAPRepPart encodes an EncAPRepPart (RFC 4120 5.5.2) without a subkey.
func appendEncAPRepPart(b []byte, ctime time.Time, cusec int32, seq uint32) []byte {
	return derAppend(b, tagEncAPRepPart, der(tagSequence,
		der(tagContext0, derTime(ctime)),
		der(tagContext0+1, derInt(int64(cusec))),
		der(tagContext0+3, derInt(int64(seq)))))
}

// appendAPRep encodes a KRB_AP_REP (RFC 4120 5.5.2) around an encrypted EncAPRepPart.
func appendAPRep(b []byte, enc encryptedData) []byte {
	return derAppend(b, tagAPRep, der(tagSequence,
		der(tagContext0, derInt(krbPVNO)),
		der(tagContext0+1, derInt(krbMsgAPRep)),
		der(tagContext0+2, derEncryptedData(enc))))
}
