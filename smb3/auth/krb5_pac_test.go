package auth

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sidString formats a binary SID (MS-DTYP 2.4.2.2) as S-1-...
func sidString(s []byte) string {
	if len(s) < 8 || len(s) != 8+4*int(s[1]) {
		return fmt.Sprintf("bad-sid-%x", s)
	}
	var auth uint64
	for _, b := range s[2:8] {
		auth = auth<<8 | uint64(b)
	}
	out := "S-" + strconv.Itoa(int(s[0])) + "-" + strconv.FormatUint(auth, 10)
	for i := range int(s[1]) {
		out += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(s[8+4*i:])), 10)
	}
	return out
}

func sidStrings(sids [][]byte) []string {
	var out []string
	for _, s := range sids {
		out = append(out, sidString(s))
	}
	return out
}

// mitTicket returns the decrypted ticket of the AP-REQ in testdata/heimdal-apreq.txt (a real
// MIT KDC ticket, see TestHeimdalAPReq), the PAC inside and the key that decrypted it.
func mitTicket(t testing.TB) (*encTicketPart, []byte, krbKey, *Keytab) {
	t.Helper()
	c := readCapture(t, "testdata/heimdal-apreq.txt")
	return c.etp, c.pac, c.key, c.kt
}

// capture is a token and keytab saved by test/kerberos/run.sh (KRB5_CAPTURE's format: a
// comment, the time, the SPNEGO token and the keytab, as lines), with its ticket decrypted.
type capture struct {
	token []byte
	req   *apReq
	plain []byte // the decrypted EncTicketPart
	etp   *encTicketPart
	pac   []byte // nil when the ticket has none
	key   krbKey
	kt    *Keytab
}

func readCapture(t testing.TB, path string) *capture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%s: %d lines", path, len(lines))
	}
	c := &capture{token: unhex(t, lines[2])}
	init, _, err := parseNegotiationToken(c.token)
	if err != nil {
		t.Fatal(err)
	}
	body, err := unwrapGSS(init.mechToken, tokAPReq)
	if err != nil {
		t.Fatal(err)
	}
	if c.req, err = parseAPReq(body); err != nil {
		t.Fatal(err)
	}
	if c.kt, err = ParseKeytab(unhex(t, lines[3])); err != nil {
		t.Fatal(err)
	}
	if c.etp, c.key, err = decryptTicket(c.kt, &c.req.ticket); err != nil {
		t.Fatal(err)
	}
	if c.plain, err = c.key.decrypt(usageTicket, c.req.ticket.enc.cipher); err != nil {
		t.Fatal(err)
	}
	if c.pac, err = findPAC(c.etp.authData); err != nil || c.pac == nil {
		t.Fatalf("PAC %x: %v", c.pac, err)
	}
	return c
}

// TestLiveKDCTicketPAC runs inside test/kerberos/run.sh (KRB5_LIVE_CAPTURE names a capture of a
// token Samba's client made with a ticket the test's MIT KDC just issued; skipped elsewhere):
// the ticket carries a PAC whose server signature and client info verify with smb3d's keytab.
// It writes PATH.tampered: the same token with one PAC byte changed in the re-encrypted
// ticket, which run.sh sends to smb3d to see the logon refused for the PAC's signature.
func TestLiveKDCTicketPAC(t *testing.T) {
	path := os.Getenv("KRB5_LIVE_CAPTURE")
	if path == "" {
		t.Skip("KRB5_LIVE_CAPTURE is set by test/kerberos/run.sh")
	}
	c := readCapture(t, path)
	if _, err := verifyPAC(c.pac, c.key, c.etp); err != nil {
		t.Fatalf("the KDC's PAC does not verify: %v", err)
	}
	bufs, err := parsePAC(c.pac)
	if err != nil {
		t.Fatal(err)
	}
	var client *pacBuffer
	for i := range bufs {
		if bufs[i].typ == pacTypeClientInfo {
			client = &bufs[i]
		}
	}
	i := bytes.Index(c.plain, c.pac)
	if client == nil || i < 0 {
		t.Fatal("no client info, or the PAC is not verbatim in the ticket")
	}
	plain := bytes.Clone(c.plain)
	plain[i+client.off] ^= 1 // ClientId's low byte: the authtime changes by 1e-7 s
	cipher, err := c.key.encrypt(usageTicket, plain, constReader(0x5a))
	if err != nil {
		t.Fatal(err)
	}
	old := c.req.ticket.enc.cipher
	if len(cipher) != len(old) || bytes.Count(c.token, old) != 1 {
		t.Fatal("cannot splice the ticket")
	}
	tampered := bytes.Replace(c.token, old, cipher, 1)
	if err := os.WriteFile(path+".tampered", []byte(hex.EncodeToString(tampered)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("PAC of %d bytes, buffers %d, verified; tampered token written", len(c.pac), len(bufs))

	// PATH.domain-sids: a token for the same service and client whose ticket carries a PAC with
	// KERB_VALIDATION_INFO (gen-pac.py's: user 1104, groups 513 and 1105 of
	// S-1-5-21-3623811015-3361044348-30300820, ...) signed with the service key, as an AD DC
	// would issue it; MIT's KDC (db2) issues no KERB_VALIDATION_INFO. run.sh logs on with it and
	// opens a file whose DACL names only group 1105.
	now := time.Now().UTC()
	k := testKrb{serviceKey: c.key, kvno: c.req.ticket.enc.kvno, sname: c.req.ticket.sname, realm: c.req.ticket.realm,
		cname: c.etp.cname, crealm: c.etp.crealm, start: sambaPACAuthtime, end: now.Add(time.Hour), ctime: now,
		authData: adIfRelevantPAC(signPAC(t, sambaPACUnsigned(t), c.key))}
	if c.etp.cname.String() != "alice" {
		t.Fatalf("client %s: gen-pac.py's PAC is alice's", c.etp.cname)
	}
	if err := os.WriteFile(path+".domain-sids", []byte(hex.EncodeToString(k.spnego())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// adElem is an AuthorizationData element (RFC 4120 5.2.6).
func adElem(typ int, data []byte) []byte {
	return der(tagSequence, ctx(0, derInt(int64(typ))), ctx(1, der(tagOctetString, data)))
}

// adIfRelevantOf is an AuthorizationData of one AD-IF-RELEVANT element holding elems.
func adIfRelevantOf(elems ...[]byte) []byte {
	return der(tagSequence, adElem(adIfRelevant, der(tagSequence, elems...)))
}

// adIfRelevantPAC is the authorization-data of a ticket with pac, where KDCs put it.
func adIfRelevantPAC(pac []byte) []byte { return adIfRelevantOf(adElem(adWin2kPAC, pac)) }

func pacReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return fmt.Sprint(err)
}

// TestPACMIT: the PAC of a real MIT KDC ticket (krb5 1.20, db2: CLIENT_INFO, the ticket
// signature and the server and KDC signatures, no LOGON_INFO) verifies with the service key;
// each change is refused for its reason.
func TestPACMIT(t *testing.T) {
	etp, pac, key, kt := mitTicket(t)
	bufs, err := parsePAC(pac)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for _, b := range bufs {
		types = append(types, b.typ)
	}
	if !slices.Equal(types, []uint32{10, 16, 6, 7}) {
		t.Errorf("buffer types %v, want [10 16 6 7]", types)
	}
	if key.etype != etypeAES256SHA1 || binary.LittleEndian.Uint32(bufs[2].data) != cksumHMACSHA1AES256 {
		t.Errorf("key etype %d, server checksum type %d", key.etype, binary.LittleEndian.Uint32(bufs[2].data))
	}
	info, err := verifyPAC(pac, key, etp)
	if err != nil || info.sids != nil {
		t.Fatalf("verify: %v, sids %v", err, info)
	}

	// The aes128 key of the same principal and kvno: the checksum type is not its own.
	for _, e := range kt.Entries {
		if e.Key.etype == etypeAES128SHA1 && e.KVNO == 2 {
			if _, err := verifyPAC(pac, e.Key, etp); pacReason(err) != "krb5-pac-server-checksum-type" {
				t.Errorf("aes128 key: %v", err)
			}
		}
	}
	wrong := krbKey{etypeAES256SHA1, bytes.Repeat([]byte{1}, 32)}
	if _, err := verifyPAC(pac, wrong, etp); pacReason(err) != "krb5-pac-server-checksum" {
		t.Errorf("wrong key: %v", err)
	}
	for _, at := range []int{bufs[0].off + 12, bufs[1].off + 5, bufs[2].off + 4, bufs[2].off + 15, 0x10} {
		p := bytes.Clone(pac)
		p[at] ^= 1
		if _, err := verifyPAC(p, key, etp); err == nil {
			t.Errorf("PAC changed at %#x accepted", at)
		}
	}
	// The KDC signature is zeroed for the server checksum, so a change there goes unnoticed
	// (only the KDC could check it).
	p := bytes.Clone(pac)
	p[bufs[3].off+6] ^= 1
	if _, err := verifyPAC(p, key, etp); err != nil {
		t.Errorf("KDC signature changed: %v", err)
	}

	other := *etp
	other.authtime = etp.authtime.Add(time.Second)
	if _, err := verifyPAC(pac, key, &other); pacReason(err) != "krb5-pac-client-info-time" {
		t.Errorf("authtime: %v", err)
	}
	other = *etp
	other.cname = principal(nameTypePrin, "bob")
	if _, err := verifyPAC(pac, key, &other); pacReason(err) != "krb5-pac-client-info-name" {
		t.Errorf("cname: %v", err)
	}
	other.cname = principal(nameTypePrin, "ALICE")
	if _, err := verifyPAC(pac, key, &other); err != nil {
		t.Errorf("cname in another case: %v", err)
	}
}

// sambaPAC returns testdata/samba-pac.hex (test/kerberos/gen-pac.py: Samba's NDR encoding of
// a PAC with LOGON_INFO) signed with key.
func sambaPAC(t testing.TB, key krbKey) []byte {
	t.Helper()
	return signPAC(t, sambaPACUnsigned(t), key)
}

func sambaPACUnsigned(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/samba-pac.hex")
	if err != nil {
		t.Fatal(err)
	}
	return unhex(t, strings.TrimSpace(string(b)))
}

// signPAC puts the server signature of key into pac (its KDC signature stays as it is).
func signPAC(t testing.TB, pac []byte, key krbKey) []byte {
	t.Helper()
	pac = bytes.Clone(pac)
	bufs, err := parsePAC(pac)
	if err != nil {
		t.Fatal(err)
	}
	var srv, kdc pacBuffer
	for _, b := range bufs {
		switch b.typ {
		case pacTypeServerChecksum:
			srv = b
		case pacTypeKDCChecksum:
			kdc = b
		}
	}
	z := bytes.Clone(pac)
	clear(z[srv.off+4 : srv.off+4+sha1MACLen])
	clear(z[kdc.off+4 : kdc.off+4+sha1MACLen])
	copy(pac[srv.off+4:], key.checksum(keyUsagePACChecksum, z))
	return pac
}

// sambaPACSIDs are the SIDs gen-pac.py put in the LOGON_INFO, in token order.
var sambaPACSIDs = []string{
	"S-1-5-21-3623811015-3361044348-30300820-1104", // user
	"S-1-5-21-3623811015-3361044348-30300820-513",  // primary group (also in the groups)
	"S-1-5-21-3623811015-3361044348-30300820-1105",
	"S-1-18-1",            // extra SID
	"S-1-5-21-1-2-3-4444", // extra SID
	"S-1-5-21-4-5-6-1111", // resource group
}

// sambaPACAuthtime is the CLIENT_INFO time of gen-pac.py's PAC.
var sambaPACAuthtime = fileTimeToTime(134087940000000000)

// TestPACLogonInfoSamba: KERB_VALIDATION_INFO as Samba's NDR encoder writes it (type
// serialization 1, deferred strings including empty ones, group, extra SID and resource group
// arrays) gives the user's and groups' SIDs.
func TestPACLogonInfoSamba(t *testing.T) {
	pac := sambaPAC(t, testServiceKey)
	bufs, err := parsePAC(pac)
	if err != nil {
		t.Fatal(err)
	}
	if bufs[0].typ != pacTypeLogonInfo || bufs[0].off != 0x48 || len(bufs[0].data) != 0x228 {
		t.Fatalf("first buffer %d at %#x, %#x bytes", bufs[0].typ, bufs[0].off, len(bufs[0].data))
	}
	sids, err := parseLogonInfo(bufs[0].data)
	if err != nil {
		t.Fatal(err)
	}
	if got := sidStrings(sids); !slices.Equal(got, sambaPACSIDs) {
		t.Errorf("SIDs\n%q\nwant\n%q", got, sambaPACSIDs)
	}
	etp := &encTicketPart{cname: principal(nameTypePrin, "alice"), crealm: testRealm, authtime: sambaPACAuthtime}
	info, err := verifyPAC(pac, testServiceKey, etp)
	if err != nil || !slices.Equal(sidStrings(info.sids), sambaPACSIDs) {
		t.Fatalf("verify: %v", err)
	}
	// UserFlags without EXTRA_SIDS and RESOURCE_GROUPS: those SIDs are left out.
	li := bytes.Clone(bufs[0].data)
	const userFlagsOff = 16 + 4 + 116 // headers, top-level pointer, offset in the structure
	if got := binary.LittleEndian.Uint32(li[userFlagsOff:]); got != logonExtraSIDs|logonResourceGroups {
		t.Fatalf("UserFlags at %#x: %#x", userFlagsOff, got)
	}
	binary.LittleEndian.PutUint32(li[userFlagsOff:], 0)
	if sids, err := parseLogonInfo(li); err != nil || !slices.Equal(sidStrings(sids), sambaPACSIDs[:3]) {
		t.Errorf("no flags: %q, %v", sidStrings(sids), err)
	}
}

// TestPACTruncated: every prefix of a PAC and of a LOGON_INFO buffer fails cleanly.
func TestPACTruncated(t *testing.T) {
	etp, mit, key, _ := mitTicket(t)
	for i := range len(mit) {
		if _, err := verifyPAC(mit[:i], key, etp); err == nil {
			t.Fatalf("MIT PAC prefix of %d bytes accepted", i)
		}
	}
	pac := sambaPAC(t, testServiceKey)
	bufs, _ := parsePAC(pac)
	li := bufs[0].data
	for i := range len(li) {
		if _, err := parseLogonInfo(li[:i]); err == nil {
			t.Fatalf("LOGON_INFO prefix of %d bytes accepted", i)
		}
	}
	// The same with ObjectBufferLength cut to match each prefix: the NDR reader runs out (the
	// last 4 bytes are Samba's padding of the object to a multiple of 8).
	for i := 16; i < len(li)-4; i++ {
		p := bytes.Clone(li[:i])
		binary.LittleEndian.PutUint32(p[8:], uint32(i-16))
		if sids, err := parseLogonInfo(p); err == nil && len(sids) == len(sambaPACSIDs) {
			t.Fatalf("LOGON_INFO cut to %d bytes gave every SID", i)
		}
	}
}

// TestPACMalformed: structural errors each have their reason.
func TestPACMalformed(t *testing.T) {
	pac := sambaPAC(t, testServiceKey)
	set32 := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tt := range []struct {
		name, want string
		pac        []byte
	}{
		{"version", "krb5-pac-version", set32(pac, 4, 1)},
		{"no buffers", "krb5-pac-buffer-count", set32(pac, 0, 0)},
		{"many buffers", "krb5-pac-buffer-count", set32(pac, 0, 1000)},
		{"unaligned offset", "krb5-pac-buffer-offset", set32(pac, 8+16+8, 0x71)},
		{"offset in the header", "krb5-pac-buffer-offset", set32(pac, 8+16+8, 0x8)},
		{"past the end", "krb5-pac-truncated", set32(pac, 8+16+4, 0x1000)},
		{"duplicate", "krb5-pac-duplicate-buffer", set32(pac, 8+16, pacTypeLogonInfo)},
		{"no server signature", "krb5-pac-signature-missing", set32(pac, 8+32, 99)},
		{"checksum type", "krb5-pac-server-checksum-type", set32(pac, 0x288, 0xffffff76)},
	} {
		etp := &encTicketPart{cname: principal(nameTypePrin, "alice"), crealm: testRealm, authtime: sambaPACAuthtime}
		if _, err := verifyPAC(tt.pac, testServiceKey, etp); pacReason(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	bufs, _ := parsePAC(pac)
	li := bufs[0].data
	for _, tt := range []struct {
		name, want string
		off        int
		v          uint32
	}{
		{"header version", "krb5-pac-logon-info-header", 0, 2},
		{"null top-level pointer", "krb5-pac-logon-info-null", 16, 0},
		{"group count", "krb5-pac-logon-info-array-count", 16 + 4 + 108, 3},
		{"too many SIDs", "krb5-pac-logon-info-too-many-sids", 16 + 4 + 196, 1 << 20},
		{"null domain SID", "krb5-pac-logon-info-domain-sid-missing", 16 + 4 + 152, 0},
		{"null extra SID array", "krb5-pac-logon-info-null-array", 16 + 4 + 200, 0},
	} {
		p := set32(li, tt.off, tt.v)
		if _, err := parseLogonInfo(p); pacReason(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}

// TestKerberosPAC: a ticket from the test KDC carrying the PAC gives the session its SIDs; a
// PAC whose server signature is not the service key's refuses the logon; one outside
// AD-IF-RELEVANT is not a PAC.
func TestKerberosPAC(t *testing.T) {
	pac := sambaPAC(t, testServiceKey)
	ifRelevant := adIfRelevantOf
	k := testKrb{start: sambaPACAuthtime, authData: ifRelevant(adElem(adWin2kPAC, pac))}
	c := krbExchange(t, testKrbConfig(testKeytab()), k)
	if got := sidStrings(c.SIDs()); !slices.Equal(got, sambaPACSIDs) {
		t.Errorf("SIDs %q", got)
	}

	var e *Error
	bad := signPAC(t, pac, krbKey{etypeAES256SHA1, bytes.Repeat([]byte{9}, 32)})
	k.authData = ifRelevant(adElem(adWin2kPAC, bad))
	if _, _, err := NewContext(testKrbConfig(testKeytab())).Step(k.spnego()); !errors.As(err, &e) || e.Reason != "krb5-pac-server-checksum" || !errors.Is(err, ErrLogonFailure) {
		t.Errorf("PAC signed with another key: %v", err)
	}
	k.authData = ifRelevant(adElem(adWin2kPAC, pac), adElem(adWin2kPAC, pac))
	if _, _, err := NewContext(testKrbConfig(testKeytab())).Step(k.spnego()); !errors.As(err, &e) || e.Reason != "krb5-pac-multiple" {
		t.Errorf("two PACs: %v", err)
	}
	k.authData = der(tagSequence, adElem(adWin2kPAC, bad))
	if c := krbExchange(t, testKrbConfig(testKeytab()), k); c.SIDs() != nil {
		t.Errorf("a PAC outside AD-IF-RELEVANT gave SIDs")
	}
	// A PAC of another client (alice's, in carol's ticket) is refused, even where unknown users
	// would be mapped to guest.
	cfg := testKrbConfig(testKeytab())
	cfg.AllowGuest = true
	k.authData = ifRelevant(adElem(adWin2kPAC, pac))
	k.cname = principal(nameTypePrin, "carol")
	if _, _, err := NewContext(cfg).Step(k.spnego()); !errors.As(err, &e) || e.Reason != "krb5-pac-client-info-name" {
		t.Errorf("carol with alice's PAC: %v", err)
	}
}

// FuzzPAC parses PACs (seeded with the MIT ticket's and Samba's): no panics, and every SID a
// LOGON_INFO yields is well formed.
func FuzzPAC(f *testing.F) {
	etp, mit, key, _ := mitTicket(f)
	samba := sambaPAC(f, testServiceKey)
	f.Add(mit)
	f.Add(samba)
	bufs, _ := parsePAC(samba)
	f.Add(bufs[0].data)
	for _, file := range []string{"testdata/ad-logon-info.txt", "testdata/ad-pac.txt"} {
		for _, b := range readHexLines(f, file) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		verifyPAC(b, key, etp)
		verifyPAC(b, testServiceKey, &encTicketPart{cname: principal(nameTypePrin, "alice"), crealm: testRealm, authtime: sambaPACAuthtime})
		findPAC(b)
		for _, in := range [][]byte{b, append(bytes.Clone(samba[:0x48]), b...)} {
			if bufs, err := parsePAC(in); err == nil {
				for _, buf := range bufs {
					if buf.typ == pacTypeLogonInfo {
						parseLogonInfo(buf.data)
					}
				}
			}
		}
		sids, err := parseLogonInfo(b)
		if err == nil {
			for _, s := range sids {
				if len(s) < 8 || len(s) != 8+4*int(s[1]) || s[0] != 1 {
					t.Fatalf("malformed SID %x", s)
				}
			}
		}
	})
}

// TestPACLogonInfoAD: KERB_VALIDATION_INFO buffers Active Directory DCs issued
// (testdata/ad-logon-info.txt) give the SIDs those DCs asserted.
func TestPACLogonInfoAD(t *testing.T) {
	b, err := os.ReadFile("testdata/ad-logon-info.txt")
	if err != nil {
		t.Fatal(err)
	}
	bufs := map[string][]byte{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, h, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			bufs[name] = unhex(t, h)
		}
	}
	const user = "S-1-5-21-2284869408-3503417140-1141177250-"
	const res = "S-1-5-21-3062750306-1230139592-1973306805-"
	const test = "S-1-5-21-3167651404-3865080224-2280184895-"
	for _, tt := range []struct {
		name string
		want []string
	}{
		// UserFlags EXTRA_SIDS|RESOURCE_GROUPS: groups 1110, 513, 1109; S-1-18-1; resource
		// groups 1107, 1108 of the trusting domain.
		{"trust", []string{user + "1106", user + "513", user + "1110", user + "1109", "S-1-18-1", res + "1107", res + "1108"}},
		// UserFlags EXTRA_SIDS: groups 513, 1108, 1109, 1115, 1116; extra SIDs 1114, 1111.
		{"testuser1", []string{test + "1105", test + "513", test + "1108", test + "1109", test + "1115", test + "1116", test + "1114", test + "1111"}},
	} {
		sids, err := parseLogonInfo(bufs[tt.name])
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := sidStrings(sids); !slices.Equal(got, tt.want) {
			t.Errorf("%s: SIDs\n%q\nwant\n%q", tt.name, got, tt.want)
		}
		for i := range len(bufs[tt.name]) {
			if _, err := parseLogonInfo(bufs[tt.name][:i]); err == nil {
				t.Fatalf("%s: prefix of %d bytes accepted", tt.name, i)
			}
		}
	}
}

// readHexLines reads "name hex" lines of a testdata file ('#' starts a comment line).
func readHexLines(t testing.TB, path string) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, h, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			m[name] = unhex(t, h)
		}
	}
	return m
}

// TestPACActiveDirectory: PACs Active Directory DCs issued (testdata/ad-pac.txt). The one of a
// ticket for a service whose key we have verifies (server signature hmac-sha1-96-aes256, KDC
// signature HMAC-MD5 zeroed as its 16 bytes) and gives the user's SIDs; MS-PAC's example parses.
func TestPACActiveDirectory(t *testing.T) {
	d := readHexLines(t, "testdata/ad-pac.txt")
	pac, err := findPAC(d["gokrb5-authdata"])
	if err != nil || pac == nil {
		t.Fatalf("PAC %x: %v", pac, err)
	}
	bufs, err := parsePAC(pac)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for _, b := range bufs {
		types = append(types, b.typ)
	}
	if !slices.Equal(types, []uint32{1, 10, 12, 6, 7}) {
		t.Errorf("buffer types %v", types)
	}
	kt, err := ParseKeytab(d["gokrb5-keytab"])
	if err != nil || len(kt.Entries) != 1 {
		t.Fatalf("keytab: %v", err)
	}
	key := kt.Entries[0].Key
	client := bufs[1].data
	etp := &encTicketPart{cname: principal(nameTypePrin, "testuser1"), crealm: "TEST.GOKRB5",
		authtime: fileTimeToTime(binary.LittleEndian.Uint64(client))}
	info, err := verifyPAC(pac, key, etp)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	const dom = "S-1-5-21-3167651404-3865080224-2280184895-"
	want := []string{dom + "1105", dom + "513", dom + "1108", dom + "1109", dom + "1115", dom + "1116", dom + "1114", dom + "1111"}
	if got := sidStrings(info.sids); !slices.Equal(got, want) {
		t.Errorf("SIDs %q", got)
	}
	if _, err := verifyPAC(pac, krbKey{etypeAES256SHA1, bytes.Repeat([]byte{1}, 32)}, etp); pacReason(err) != "krb5-pac-server-checksum" {
		t.Errorf("another key: %v", err)
	}

	ms, err := findPAC(der(tagSequence, adElem(adIfRelevant, d["ms-example"])))
	if err != nil || ms == nil {
		t.Fatalf("MS-PAC example: %x, %v", ms, err)
	}
	bufs, err = parsePAC(ms)
	if err != nil || bufs[0].typ != pacTypeLogonInfo {
		t.Fatalf("MS-PAC example: %v", err)
	}
	sids, err := parseLogonInfo(bufs[0].data)
	if err != nil {
		t.Fatal(err)
	}
	const ntdev = "S-1-5-21-397955417-626881126-188441444-"
	got := sidStrings(sids)
	// The user, its primary group 513, 25 more groups (513 is also in the list) and 13 extra SIDs.
	if len(got) != 40 || got[0] != ntdev+"2914711" || got[1] != ntdev+"513" ||
		!slices.Contains(got, "S-1-5-21-773533881-1816936887-355810188-513") || !slices.Contains(got, ntdev+"3248111") {
		t.Errorf("MS-PAC example SIDs (%d): %q", len(got), got)
	}
}
