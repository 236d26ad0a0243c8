package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A test-only KDC and initiator: they issue a ticket for cifs/server.example.com under the
// service key of a keytab and build the AP-REQ a GSS-API initiator (MIT, Heimdal, Windows)
// sends, so every check of the acceptor can be driven with one field changed.

const (
	testRealm   = "EXAMPLE.COM"
	testService = "cifs/server.example.com"
)

// testKrb describes one ticket and authenticator; the zero value of a field means the usual.
type testKrb struct {
	serviceKey krbKey        // the key the ticket is encrypted with
	kvno       uint32        // in the ticket's EncryptedData; 0 omits it
	sname      principalName // default cifs/server.example.com
	realm      string        // ticket realm, default EXAMPLE.COM
	cname      principalName // default alice
	crealm     string        // default EXAMPLE.COM
	authCname  *principalName
	sessionKey krbKey
	subkey     krbKey // zero: none
	seq        uint32
	flags      uint32 // ticket flags
	start, end time.Time
	ctime      time.Time
	cusec      int32
	apOptions  uint32
	gssFlags   uint32 // GSS checksum flags; 0 means mutual|integ|conf
	noCksum    bool
	authEtype  int32  // 0: the session key's
	authData   []byte // the ticket's AuthorizationData SEQUENCE; nil: none
	gssOID     []byte
}

func principal(typ int32, parts ...string) principalName {
	return principalName{nameType: typ, parts: parts}
}

// testServiceKey is the aes256 key of cifs/server.example.com for password "service".
var testServiceKey = krbKey{etypeAES256SHA1, stringToKeyAES("service", "EXAMPLE.COMcifsserver.example.com", 4096, 32)}

func testKeytab(entries ...KeytabEntry) *Keytab {
	if entries == nil {
		entries = []KeytabEntry{{Realm: testRealm, Name: principal(nameTypeSrv, "cifs", "server.example.com"), KVNO: 2, Key: testServiceKey}}
	}
	return &Keytab{Entries: entries}
}

func testKrbConfig(kt *Keytab) *Config {
	cfg := testConfig()
	cfg.Kerberos = &Kerberos{Keytab: kt}
	return cfg
}

// defaults fills in the usual values.
func (k testKrb) defaults() testKrb {
	if k.serviceKey.value == nil {
		k.serviceKey = testServiceKey
	}
	if k.sname.parts == nil {
		k.sname = principal(nameTypeSrv, "cifs", "server.example.com")
	}
	if k.realm == "" {
		k.realm = testRealm
	}
	if k.cname.parts == nil {
		k.cname = principal(nameTypePrin, "alice")
	}
	if k.crealm == "" {
		k.crealm = testRealm
	}
	if k.sessionKey.value == nil {
		k.sessionKey = krbKey{etypeAES256SHA1, bytes.Repeat([]byte{0x11}, 32)}
	}
	if k.start.IsZero() {
		k.start = testNow.Add(-time.Hour)
	}
	if k.end.IsZero() {
		k.end = testNow.Add(9 * time.Hour)
	}
	if k.ctime.IsZero() {
		k.ctime = testNow
	}
	if k.gssFlags == 0 {
		k.gssFlags = gssMutualFlag | 0x10 | 0x20
	}
	if k.gssOID == nil {
		k.gssOID = oidKerberos
	}
	return k
}

func ctx(n int, v ...[]byte) []byte { return der(tagContext0+byte(n), v...) }

// encTicketPart encodes the EncTicketPart of k (RFC 4120 5.3).
func (k testKrb) encTicketPart() []byte {
	return der(tagEncTicketPart, der(tagSequence,
		ctx(0, derFlags(k.flags)),
		ctx(1, derEncryptionKey(k.sessionKey)),
		ctx(2, derString(k.crealm)),
		ctx(3, derPrincipal(k.cname)),
		ctx(4, der(tagSequence, ctx(0, derInt(1)), ctx(1, der(tagOctetString, nil)))),
		ctx(5, derTime(k.start)),
		ctx(6, derTime(k.start)),
		ctx(7, derTime(k.end)),
		k.authDataField(),
	))
}

func (k testKrb) authDataField() []byte {
	if k.authData == nil {
		return nil
	}
	return ctx(10, k.authData)
}

func (k testKrb) authenticatorBytes() []byte {
	cname := k.cname
	if k.authCname != nil {
		cname = *k.authCname
	}
	f := [][]byte{
		ctx(0, derInt(5)),
		ctx(1, derString(k.crealm)),
		ctx(2, derPrincipal(cname)),
	}
	if !k.noCksum {
		ck := make([]byte, 24)
		binary.LittleEndian.PutUint32(ck, 16)
		binary.LittleEndian.PutUint32(ck[20:], k.gssFlags)
		f = append(f, ctx(3, der(tagSequence, ctx(0, derInt(cksumGSSAPI)), ctx(1, der(tagOctetString, ck)))))
	}
	f = append(f, ctx(4, derInt(int64(k.cusec))), ctx(5, derTime(k.ctime)))
	if k.subkey.value != nil {
		f = append(f, ctx(6, derEncryptionKey(k.subkey)))
	}
	f = append(f, ctx(7, derInt(int64(k.seq))))
	return der(tagAuthenticator, der(tagSequence, f...))
}

func mustEncrypt(k krbKey, usage uint32, p []byte) []byte {
	c, err := k.encrypt(usage, p, rand.Reader)
	if err != nil {
		panic(err)
	}
	return c
}

// apReq encodes the KRB_AP_REQ of k.
func (k testKrb) apReq() []byte {
	k = k.defaults()
	tenc := encryptedData{etype: k.serviceKey.etype, kvno: k.kvno, hasKVNO: k.kvno != 0,
		cipher: mustEncrypt(k.serviceKey, usageTicket, k.encTicketPart())}
	tkt := der(tagTicket, der(tagSequence,
		ctx(0, derInt(5)), ctx(1, derString(k.realm)), ctx(2, derPrincipal(k.sname)), ctx(3, derEncryptedData(tenc))))
	aetype := k.authEtype
	if aetype == 0 {
		aetype = k.sessionKey.etype
	}
	aenc := encryptedData{etype: aetype, cipher: mustEncrypt(k.sessionKey, usageAuthenticator, k.authenticatorBytes())}
	opts := k.apOptions
	if k.gssFlags&gssMutualFlag != 0 {
		opts |= apOptMutual
	}
	return der(tagAPReq, der(tagSequence,
		ctx(0, derInt(5)), ctx(1, derInt(14)), ctx(2, derFlags(opts)), ctx(3, tkt), ctx(4, derEncryptedData(aenc))))
}

// token is the GSS-API initial context token of k.
func (k testKrb) token() []byte {
	k = k.defaults()
	return derAppend(nil, tagApplication0, der(tagOID, k.gssOID), tokAPReq, k.apReq())
}

// spnego wraps the token in a NegTokenInit listing mechs (default: MS KRB5, KRB5, NTLMSSP).
func (k testKrb) spnego(mechs ...[]byte) []byte {
	if mechs == nil {
		mechs = [][]byte{oidMSKerberos, oidKerberos, oidNTLMSSP}
	}
	return appendNegTokenInit(nil, mechs, k.token(), false)
}

// checkAPRep decodes the acceptor's AP-REP token and checks it echoes the authenticator's time
// (RFC 4120 3.2.4); it returns the acceptor's sequence number.
func (k testKrb) checkAPRep(tok []byte) (uint32, error) {
	k = k.defaults()
	body, err := unwrapGSS(tok, tokAPRep)
	if err != nil {
		return 0, err
	}
	var enc encryptedData
	err = appSeq(body, tagAPRep, "aprep", func(n int, v []byte) error {
		var err error
		switch n {
		case 0, 1:
			var x int64
			x, err = intField(v, "x")
			if err == nil && x != []int64{5, 15}[n] {
				err = fmt.Errorf("field %d = %d", n, x)
			}
		case 2:
			enc, err = encryptedDataField(v, "encpart")
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if enc.etype != k.sessionKey.etype || enc.hasKVNO {
		return 0, fmt.Errorf("AP-REP enc-part etype %d kvno %v", enc.etype, enc.hasKVNO)
	}
	p, err := k.sessionKey.decrypt(usageAPRepPart, enc.cipher)
	if err != nil {
		return 0, err
	}
	var ctime time.Time
	var cusec int32 = -1
	var seq uint32
	hasSeq := false
	err = appSeq(p, tagEncAPRepPart, "encaprep", func(n int, v []byte) error {
		var err error
		switch n {
		case 0:
			ctime, err = timeField(v, "ctime")
		case 1:
			cusec, err = int32Field(v, "cusec")
		case 2:
			err = errors.New("unexpected acceptor subkey")
		case 3:
			seq, err = uint32Field(v, "seq")
			hasSeq = true
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if !ctime.Equal(k.ctime.Truncate(time.Second)) || cusec != k.cusec || !hasSeq {
		return 0, fmt.Errorf("EncAPRepPart ctime %v cusec %d seq %v", ctime, cusec, hasSeq)
	}
	return seq, nil
}

// gssKey is the key of the context's MIC tokens: the subkey, else the session key.
func (k testKrb) gssKey() krbKey {
	k = k.defaults()
	if k.subkey.value != nil {
		return k.subkey
	}
	return k.sessionKey
}

// initiatorMIC is the client's MIC token over msg.
func (k testKrb) initiatorMIC(msg []byte) []byte {
	h := micHeader(0, uint64(k.seq))
	return append(h, k.gssKey().checksum(usageInitiatorSign, msg, h)...)
}

// checkAcceptorMIC verifies the server's MIC token over msg with sequence number seq.
func (k testKrb) checkAcceptorMIC(msg, mic []byte, seq uint32) error {
	if len(mic) != 28 || !bytes.Equal(mic[:16], micHeader(micSentByAcceptor, uint64(seq))) {
		return fmt.Errorf("MIC header %x", mic)
	}
	if !bytes.Equal(mic[16:], k.gssKey().checksum(usageAcceptorSign, msg, mic[:16])) {
		return errors.New("MIC checksum")
	}
	return nil
}
