package auth

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"
)

// The PAC (MS-PAC): the authorization data a Windows or MIT KDC puts in a ticket, an
// AD-WIN2K-PAC element inside AD-IF-RELEVANT (MS-PAC 2, RFC 4120 5.2.6.1). The acceptor checks
// its server signature with the service key (MS-PAC 2.8.1) and its client info against the
// ticket (MS-PAC 2.7), and takes the user's SIDs from KERB_VALIDATION_INFO (MS-PAC 2.5) for the
// session's security token. The KDC signature needs the krbtgt key, which a member server does
// not have: like Samba's and MIT's acceptors, it is not verified.

// Authorization data types (RFC 4120 7.5.4).
const (
	adIfRelevant = 1
	adWin2kPAC   = 128
)

// PAC_INFO_BUFFER types (MS-PAC 2.4).
const (
	pacTypeLogonInfo      = 1
	pacTypeServerChecksum = 6
	pacTypeKDCChecksum    = 7
	pacTypeClientInfo     = 10
)

// Checksum types of PAC_SIGNATURE_DATA (MS-PAC 2.8, RFC 3961 and 3962).
const (
	cksumHMACSHA1AES128 = 15
	cksumHMACSHA1AES256 = 16
	cksumHMACMD5        = -138 // KERB_CHECKSUM_HMAC_MD5, RC4 keys
)

// keyUsagePACChecksum is KERB_NON_KERB_CKSUM_SALT, the key usage of PAC signatures (MS-PAC 2.8).
const keyUsagePACChecksum = 17

// KERB_VALIDATION_INFO UserFlags (MS-PAC 2.5).
const (
	logonExtraSIDs      = 0x20
	logonResourceGroups = 0x200
)

// Limits on what a PAC may hold: far above what a KDC sends, low enough to bound the work.
const (
	maxPACBuffers = 64
	maxPACSIDs    = 4096 // groups, extra SIDs and resource groups together
)

// pacInfo is what the acceptor takes from a verified PAC.
type pacInfo struct {
	sids [][]byte // the user's SID, primary group, groups, extra SIDs, resource groups (MS-DTYP 2.4.2.2 binary form); nil without KERB_VALIDATION_INFO
}

func pacErr(reason string) error { return logonFailure("krb5-pac-" + reason) }

// findPAC returns the AD-WIN2K-PAC of a ticket's authorization-data (the AuthorizationData
// SEQUENCE of EncTicketPart field 10), nil when there is none. The PAC counts only inside an
// AD-IF-RELEVANT element at the top level, where Windows and MIT KDCs put it (MS-PAC 2.1); a
// ticket with two PACs is refused.
func findPAC(authData []byte) ([]byte, error) {
	if authData == nil {
		return nil, nil
	}
	var pac []byte
	err := walkAuthData(authData, func(typ int32, data []byte) error {
		if typ != adIfRelevant {
			return nil
		}
		return walkAuthData(data, func(typ int32, data []byte) error {
			if typ != adWin2kPAC {
				return nil
			}
			if pac != nil {
				return pacErr("multiple")
			}
			pac = data
			return nil
		})
	})
	return pac, err
}

// walkAuthData calls f with the type and data of each element of an AuthorizationData
// (RFC 4120 5.2.6): SEQUENCE OF SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET STRING }.
func walkAuthData(b []byte, f func(typ int32, data []byte) error) error {
	tag, body, _, err := derNext(b)
	if err != nil {
		return krbErr(err, "authdata")
	}
	if tag != tagSequence {
		return invalid("krb5-authdata-sequence")
	}
	for len(body) > 0 {
		_, _, rest, err := derNext(body)
		if err != nil {
			return krbErr(err, "authdata-element")
		}
		elem := body[:len(body)-len(rest)]
		body = rest
		var typ int32
		var data []byte
		seen := 0
		err = seqFields(elem, "krb5-authdata-element", func(n int, v []byte) error {
			var err error
			switch n {
			case 0:
				typ, err = int32Field(v, "authdata-type")
			case 1:
				data, err = octetsField(v, "authdata-data")
			}
			seen |= 1 << n
			return err
		})
		if err == nil && seen&3 != 3 {
			err = invalid("krb5-authdata-missing")
		}
		if err == nil {
			err = f(typ, data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pacBuffer is a PAC_INFO_BUFFER (MS-PAC 2.4): its type and its bytes in the PAC.
type pacBuffer struct {
	typ  uint32
	off  int
	data []byte
}

// parsePAC splits a PACTYPE (MS-PAC 2.3) into its buffers. Every buffer lies within the PAC,
// after the buffer array, at an offset that is a multiple of 8 ("Offset ... MUST be a multiple
// of 8", MS-PAC 2.4); the types used here appear once.
func parsePAC(b []byte) ([]pacBuffer, error) {
	if len(b) < 8 {
		return nil, invalid("krb5-pac-truncated")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if v := binary.LittleEndian.Uint32(b[4:]); v != 0 {
		return nil, pacErr("version") // "Version ... MUST be 0x00000000"
	}
	if n == 0 || n > maxPACBuffers {
		return nil, pacErr("buffer-count")
	}
	hdr := 8 + 16*n
	if len(b) < hdr {
		return nil, invalid("krb5-pac-truncated")
	}
	bufs := make([]pacBuffer, n)
	seen := map[uint32]bool{}
	for i := range bufs {
		e := b[8+16*i:]
		typ := binary.LittleEndian.Uint32(e)
		size := uint64(binary.LittleEndian.Uint32(e[4:]))
		off := binary.LittleEndian.Uint64(e[8:])
		if off%8 != 0 || off < uint64(hdr) {
			return nil, pacErr("buffer-offset")
		}
		if off > uint64(len(b)) || size > uint64(len(b))-off {
			return nil, invalid("krb5-pac-truncated")
		}
		switch typ {
		case pacTypeLogonInfo, pacTypeServerChecksum, pacTypeKDCChecksum, pacTypeClientInfo:
			if seen[typ] {
				return nil, pacErr("duplicate-buffer")
			}
			seen[typ] = true
		}
		bufs[i] = pacBuffer{typ: typ, off: int(off), data: b[off : off+size]}
	}
	return bufs, nil
}

// pacSignatureLen is the length of the Signature of a PAC_SIGNATURE_DATA of a checksum type
// (MS-PAC 2.8), 0 for types not known here.
func pacSignatureLen(typ int32) int {
	switch typ {
	case cksumHMACSHA1AES128, cksumHMACSHA1AES256:
		return sha1MACLen
	case cksumHMACMD5:
		return 16
	}
	return 0
}

// verifyPAC checks a PAC from a ticket decrypted with key, whose client is etp's, and returns
// what the session takes from it:
//   - the server signature (MS-PAC 2.8.1): the keyed checksum of the key's enctype, usage 17,
//     over the whole PAC with the Signature fields of the server and KDC signatures zeroed;
//   - PAC_CLIENT_INFO (MS-PAC 2.7): ClientId equals the ticket's authtime and Name the client
//     principal (as MIT's krb5_pac_verify checks);
//   - KERB_VALIDATION_INFO when present: the user's and groups' SIDs.
func verifyPAC(b []byte, key krbKey, etp *encTicketPart) (*pacInfo, error) {
	bufs, err := parsePAC(b)
	if err != nil {
		return nil, err
	}
	var server, kdc, client, logon *pacBuffer
	for i := range bufs {
		switch bufs[i].typ {
		case pacTypeServerChecksum:
			server = &bufs[i]
		case pacTypeKDCChecksum:
			kdc = &bufs[i]
		case pacTypeClientInfo:
			client = &bufs[i]
		case pacTypeLogonInfo:
			logon = &bufs[i]
		}
	}
	if server == nil || kdc == nil {
		return nil, pacErr("signature-missing") // MS-PAC 2.8: both MUST be present
	}
	var want int32
	switch key.etype {
	case etypeAES128SHA1:
		want = cksumHMACSHA1AES128
	case etypeAES256SHA1:
		want = cksumHMACSHA1AES256
	}
	if len(server.data) < 4 || len(kdc.data) < 4 {
		return nil, invalid("krb5-pac-signature-truncated")
	}
	typ := int32(binary.LittleEndian.Uint32(server.data))
	if typ != want {
		return nil, pacErr("server-checksum-type")
	}
	sigLen := pacSignatureLen(typ)
	if len(server.data) < 4+sigLen {
		return nil, invalid("krb5-pac-signature-truncated")
	}
	kdcLen := pacSignatureLen(int32(binary.LittleEndian.Uint32(kdc.data)))
	if kdcLen == 0 || kdcLen > len(kdc.data)-4 {
		kdcLen = len(kdc.data) - 4 // an unknown type: zero all of it, as MIT does
	}
	zeroed := bytes.Clone(b)
	clear(zeroed[server.off+4 : server.off+4+sigLen])
	clear(zeroed[kdc.off+4 : kdc.off+4+kdcLen])
	sum := key.checksum(keyUsagePACChecksum, zeroed)
	if subtle.ConstantTimeCompare(sum, server.data[4:4+sigLen]) != 1 {
		return nil, pacErr("server-checksum")
	}

	if client == nil {
		return nil, pacErr("client-info-missing") // MS-PAC 2.7: "MUST be present"
	}
	if err := checkClientInfo(client.data, etp); err != nil {
		return nil, err
	}
	info := new(pacInfo)
	if logon != nil {
		if info.sids, err = parseLogonInfo(logon.data); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// checkClientInfo compares a PAC_CLIENT_INFO (MS-PAC 2.7: ClientId FILETIME, NameLength, Name in
// UTF-16LE) with the ticket: ClientId is the authtime; Name is the client principal without the
// realm, or with it (a UPN, as Windows writes for enterprise names), compared ignoring case.
func checkClientInfo(b []byte, etp *encTicketPart) error {
	if len(b) < 10 {
		return invalid("krb5-pac-client-info-truncated")
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 {
		return pacErr("client-info-name")
	}
	if len(b) < 10+n {
		return invalid("krb5-pac-client-info-truncated")
	}
	if fileTimeToTime(binary.LittleEndian.Uint64(b)) != etp.authtime {
		return pacErr("client-info-time")
	}
	u := make([]uint16, n/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[10+2*i:])
	}
	name := string(utf16.Decode(u))
	cname := etp.cname.String()
	if !strings.EqualFold(name, cname) && !strings.EqualFold(name, cname+"@"+etp.crealm) {
		return pacErr("client-info-name")
	}
	return nil
}

// fileTimeToTime converts a FILETIME (100 ns since 1601) to a time in whole seconds, the
// resolution of KerberosTime.
func fileTimeToTime(ft uint64) time.Time {
	const epochDiff = 11644473600 // seconds from 1601 to 1970
	return time.Unix(int64(ft/10_000_000)-epochDiff, 0).UTC()
}

// ndr reads NDR 2.0 little-endian data (C706 14, MS-RPCE 2.2.5); the first read past the end
// sets err and later reads return zeros.
type ndr struct {
	b   []byte
	off int
	err error
}

func (r *ndr) align(n int) {
	r.off = (r.off + n - 1) &^ (n - 1)
}

func (r *ndr) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off || r.off > len(r.b) {
		if r.err == nil {
			r.err = invalid("krb5-pac-logon-info-truncated")
		}
		return make([]byte, max(n, 0))
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *ndr) u16() uint16 { r.align(2); return binary.LittleEndian.Uint16(r.take(2)) }
func (r *ndr) u32() uint32 { r.align(4); return binary.LittleEndian.Uint32(r.take(4)) }

func (r *ndr) fail(reason string) {
	if r.err == nil {
		r.err = pacErr("logon-info-" + reason)
	}
}

// unicodeString is the fixed part of an RPC_UNICODE_STRING (MS-DTYP 2.3.10).
type unicodeString struct {
	length, maxLength uint16
	ptr               uint32
}

func (r *ndr) unicodeString() unicodeString {
	return unicodeString{r.u16(), r.u16(), r.u32()}
}

// deferredString reads the conformant varying array of a non-null RPC_UNICODE_STRING buffer:
// MaximumCount, Offset, ActualCount, then ActualCount UTF-16 code units.
func (r *ndr) deferredString(s unicodeString) {
	if s.ptr == 0 {
		return
	}
	maxCount, offset, count := r.u32(), r.u32(), r.u32()
	if s.length%2 != 0 || offset != 0 || count > maxCount || count != uint32(s.length)/2 || s.length > s.maxLength {
		r.fail("string")
		return
	}
	r.take(2 * int(count))
}

// sid reads an RPC_SID (MS-DTYP 2.4.2.3) with its conformance count and returns it in the
// binary form of MS-DTYP 2.4.2.2.
func (r *ndr) sid() []byte {
	n := r.u32()
	rev := r.take(1)[0]
	count := r.take(1)[0]
	auth := r.take(6)
	if r.err != nil {
		return nil
	}
	if rev != 1 || uint32(count) != n || count > 15 {
		r.fail("sid")
		return nil
	}
	s := append([]byte{rev, count}, auth...)
	for range count {
		s = binary.LittleEndian.AppendUint32(s, r.u32())
	}
	return s
}

// ridArray reads the conformant array of GROUP_MEMBERSHIP (MS-PAC 2.2.2) of a non-null pointer
// with count elements and returns the RIDs.
func (r *ndr) ridArray(ptr, count uint32) []uint32 {
	if ptr == 0 {
		if count != 0 {
			r.fail("null-array")
		}
		return nil
	}
	if n := r.u32(); n != count || count > maxPACSIDs {
		r.fail("array-count")
		return nil
	}
	rids := make([]uint32, 0, count)
	for range count {
		rids = append(rids, r.u32())
		r.u32() // Attributes
	}
	return rids
}

// withRID appends a RID to a domain SID.
func withRID(domain []byte, rid uint32) []byte {
	s := bytes.Clone(domain)
	s[1]++
	return binary.LittleEndian.AppendUint32(s, rid)
}

// parseLogonInfo decodes a PAC_LOGON_INFO buffer: a KERB_VALIDATION_INFO (MS-PAC 2.5) in a type
// serialization version 1 (MS-RPCE 2.2.6: common and private headers, then the top-level
// pointer's referent and its deferred pointers in order). It returns the SIDs of the user,
// its primary group, its groups, the extra SIDs and the resource groups, without duplicates,
// leaving out S-1-22-* (this server's own Unix user and group SIDs, which no KDC can assert).
func parseLogonInfo(b []byte) ([][]byte, error) {
	if len(b) < 16 {
		return nil, invalid("krb5-pac-logon-info-truncated")
	}
	// Common header: Version 1, little-endian (0x10), CommonHeaderLength 8, Filler.
	if b[0] != 1 || b[1] != 0x10 || binary.LittleEndian.Uint16(b[2:]) != 8 {
		return nil, pacErr("logon-info-header")
	}
	objLen := binary.LittleEndian.Uint32(b[8:])
	if uint64(objLen) > uint64(len(b)-16) {
		return nil, invalid("krb5-pac-logon-info-truncated")
	}
	r := &ndr{b: b[16 : 16+objLen]}
	if r.u32() == 0 {
		return nil, pacErr("logon-info-null")
	}
	r.take(6 * 8) // LogonTime .. PasswordMustChange
	var names [6]unicodeString
	for i := range names {
		names[i] = r.unicodeString() // EffectiveName, FullName, LogonScript, ProfilePath, HomeDirectory, HomeDirectoryDrive
	}
	r.u16() // LogonCount
	r.u16() // BadPasswordCount
	userID, primaryGroup := r.u32(), r.u32()
	groupCount, groupPtr := r.u32(), r.u32()
	userFlags := r.u32()
	r.take(16) // UserSessionKey
	logonServer, logonDomain := r.unicodeString(), r.unicodeString()
	domainPtr := r.u32()
	r.take(2 * 4) // Reserved1
	r.u32()       // UserAccountControl
	r.u32()       // SubAuthStatus
	r.take(2 * 8) // LastSuccessfulILogon, LastFailedILogon
	r.u32()       // FailedILogonCount
	r.u32()       // Reserved3
	sidCount, extraPtr := r.u32(), r.u32()
	resDomainPtr := r.u32()
	resCount, resPtr := r.u32(), r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if groupCount+sidCount+resCount > maxPACSIDs || groupCount > maxPACSIDs || sidCount > maxPACSIDs || resCount > maxPACSIDs {
		return nil, pacErr("logon-info-too-many-sids")
	}

	// Deferred referents, in the order of their pointers.
	for _, s := range names {
		r.deferredString(s)
	}
	groups := r.ridArray(groupPtr, groupCount)
	r.deferredString(logonServer)
	r.deferredString(logonDomain)
	if domainPtr == 0 {
		return nil, pacErr("logon-info-domain-sid-missing")
	}
	domain := r.sid()
	var extra [][]byte
	if extraPtr != 0 {
		if n := r.u32(); n != sidCount {
			r.fail("array-count")
		}
		ptrs := make([]uint32, 0, sidCount)
		for range sidCount {
			if r.err != nil {
				break
			}
			ptrs = append(ptrs, r.u32())
			r.u32() // Attributes
		}
		for _, p := range ptrs {
			if p != 0 {
				extra = append(extra, r.sid())
			}
		}
	} else if sidCount != 0 {
		r.fail("null-array")
	}
	var resDomain []byte
	if resDomainPtr != 0 {
		resDomain = r.sid()
	}
	resGroups := r.ridArray(resPtr, resCount)
	if r.err != nil {
		return nil, r.err
	}
	if len(domain) >= 2+6+4*15 {
		return nil, pacErr("logon-info-domain-sid") // no room for the RID
	}
	if resDomain != nil && len(resDomain) >= 2+6+4*15 {
		return nil, pacErr("logon-info-resource-domain-sid")
	}

	var sids [][]byte
	add := func(s []byte) {
		if s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 && s[6] == 0 && s[7] == 22 {
			return // S-1-22-*: this server's Unix SIDs
		}
		for _, t := range sids {
			if bytes.Equal(s, t) {
				return
			}
		}
		sids = append(sids, s)
	}
	add(withRID(domain, userID))
	add(withRID(domain, primaryGroup))
	for _, rid := range groups {
		add(withRID(domain, rid))
	}
	if userFlags&logonExtraSIDs != 0 {
		for _, s := range extra {
			add(s)
		}
	}
	if userFlags&logonResourceGroups != 0 && resDomain != nil {
		for _, rid := range resGroups {
			add(withRID(resDomain, rid))
		}
	}
	return sids, nil
}
