package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"smb3d/smb3/vfs"
)

// ace encodes an ACCESS_ALLOWED/ACCESS_DENIED ACE (MS-DTYP 2.4.4.2).
func testACE(typ, flags byte, mask uint32, sid []byte) []byte {
	b := []byte{typ, flags}
	b = le.AppendUint16(b, uint16(8+len(sid)))
	b = le.AppendUint32(b, mask)
	return append(b, sid...)
}

func testACL(aces ...[]byte) []byte {
	var body []byte
	for _, a := range aces {
		body = append(body, a...)
	}
	b := []byte{2, 0}
	b = le.AppendUint16(b, uint16(8+len(body)))
	b = le.AppendUint16(b, uint16(len(aces)))
	b = le.AppendUint16(b, 0)
	return append(b, body...)
}

func TestGrantedBy(t *testing.T) {
	everyone := appendSID(nil, 1, 0)
	stranger := appendSID(nil, 5, 21, 1, 2, 3, 1001)
	me := tokenSIDs[0]
	const rw = fileReadData | fileWriteData
	for _, tc := range []struct {
		name  string
		sd    secDesc
		want  uint32
		grant uint32
	}{
		{"no DACL", secDesc{}, rw, rw},
		{"NULL DACL", secDesc{control: seDACLPresent}, rw, rw},
		{"empty DACL", secDesc{control: seDACLPresent, dacl: testACL()}, rw, 0},
		{"empty DACL, owner", secDesc{control: seDACLPresent, owner: me, dacl: testACL()},
			rw | readControl | writeDAC, readControl | writeDAC},
		{"allow everyone read", secDesc{control: seDACLPresent, dacl: testACL(testACE(aceAccessAllowed, 0, fileReadData, everyone))},
			rw, fileReadData},
		{"allow a stranger", secDesc{control: seDACLPresent, dacl: testACL(testACE(aceAccessAllowed, 0, rw, stranger))},
			rw, 0},
		{"deny before allow", secDesc{control: seDACLPresent, dacl: testACL(
			testACE(aceAccessDenied, 0, fileWriteData, everyone),
			testACE(aceAccessAllowed, 0, rw, everyone))}, rw, fileReadData},
		{"allow before deny", secDesc{control: seDACLPresent, dacl: testACL(
			testACE(aceAccessAllowed, 0, rw, everyone),
			testACE(aceAccessDenied, 0, fileWriteData, everyone))}, rw, rw},
		{"inherit-only skipped", secDesc{control: seDACLPresent, dacl: testACL(
			testACE(aceAccessAllowed, aceInheritOnly, rw, everyone))}, rw, 0},
		{"generic read mapped", secDesc{control: seDACLPresent, dacl: testACL(
			testACE(aceAccessAllowed, 0, genericRead, everyone))}, rw, fileReadData},
	} {
		if got := tc.sd.grantedBy(tc.want); got != tc.grant {
			t.Errorf("%s: granted %#x, want %#x", tc.name, got, tc.grant)
		}
	}
}

// TestSDAccess stores descriptors on a real file and checks opens the way
// smb2.create.nulldacl does: a NULL DACL allows all, an empty DACL only
// the owner's READ_CONTROL and WRITE_DAC, and a file without a stored
// descriptor is not restricted.
func TestSDAccess(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := vfs.Open(dir, vfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	f, _, err := fsys.OpenFile("f", vfs.OpenFlags{NonDirectory: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(what string, desired, wantGranted uint32, wantOK bool) {
		t.Helper()
		g, ok := sdAccess(f, desired)
		if g != wantGranted || ok != wantOK {
			t.Errorf("%s: sdAccess(%#x) = %#x, %v; want %#x, %v", what, desired, g, ok, wantGranted, wantOK)
		}
	}
	check("no stored SD", fileWriteData, fileWriteData, true)
	check("no stored SD, max", maximumAllowed, maximumAllowed, true)

	sd := func(control uint16, dacl []byte) []byte {
		b := make([]byte, 20)
		b[0] = 1
		le.PutUint16(b[2:], seSelfRelative|control)
		if dacl != nil {
			le.PutUint32(b[16:], 20)
			b = append(b, dacl...)
		}
		return b
	}
	if st := applySecurity(f, daclSecurityInfo, sd(seDACLPresent, nil)); st != 0 {
		t.Fatal(st)
	}
	check("NULL DACL", fileWriteData, fileWriteData, true)
	check("NULL DACL, max", maximumAllowed, fileAllAccess, true)

	if st := applySecurity(f, daclSecurityInfo, sd(seDACLPresent, testACL())); st != 0 {
		t.Fatal(st)
	}
	check("empty DACL, read control", readControl, readControl, true)
	check("empty DACL, write", fileWriteData, 0, false)
	check("empty DACL, read", fileReadData, 0, false)
	check("empty DACL, max", maximumAllowed, readControl|writeDAC, true)

	everyone := appendSID(nil, 1, 0)
	if st := applySecurity(f, daclSecurityInfo, sd(seDACLPresent, testACL(
		testACE(aceAccessAllowed, 0, fileReadData|fileReadAttributes, everyone)))); st != 0 {
		t.Fatal(st)
	}
	check("read-only DACL, read", fileReadData, fileReadData, true)
	check("read-only DACL, read+write", fileReadData|fileWriteData, fileReadData, false)
}

// FuzzParseSD: any input either fails to parse or parses into parts that
// re-encode and parse again to the same parts; evaluating the DACL never
// panics.
func FuzzParseSD(f *testing.F) {
	everyone := appendSID(nil, 1, 0)
	def := &secDesc{control: seSelfRelative | seDACLPresent, owner: tokenSIDs[0], group: tokenSIDs[1],
		dacl: testACL(testACE(aceAccessAllowed, 0, fileAllAccess, everyone), testACE(aceAccessDenied, 0, fileWriteData, everyone))}
	f.Add(def.encode(ownerSecurityInfo | groupSecurityInfo | daclSecurityInfo))
	f.Add(def.encode(daclSecurityInfo))
	f.Add((&secDesc{control: seSelfRelative | seDACLPresent}).encode(daclSecurityInfo))
	f.Add([]byte{1, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := parseSD(b)
		if err != nil {
			return
		}
		sd.grantedBy(fileAllAccess)
		const all = ownerSecurityInfo | groupSecurityInfo | daclSecurityInfo
		again, err := parseSD(sd.encode(all))
		if err != nil {
			t.Fatalf("re-encoded descriptor does not parse: %v", err)
		}
		if !bytes.Equal(again.owner, sd.owner) || !bytes.Equal(again.group, sd.group) || !bytes.Equal(again.dacl, sd.dacl) {
			t.Fatalf("round trip changed the descriptor")
		}
	})
}

// TestParentDeleteChild: DELETE that a file's own DACL does not grant comes
// from FILE_DELETE_CHILD on its directory (MS-FSA 2.1.5.1.2.1), which a
// directory without a stored descriptor grants and one whose DACL leaves
// it out does not (smb2.compound.related7 cleans up a file whose DACL
// names only CREATOR_OWNER this way).
func TestParentDeleteChild(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := vfs.Open(dir, vfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if !parentGrantsDeleteChild(fsys, "d/f", tokenSIDs) {
		t.Fatal("a directory without a descriptor must grant FILE_DELETE_CHILD")
	}
	d, _, err := fsys.OpenFile("d", vfs.OpenFlags{Directory: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	everyone := appendSID(nil, 1, 0)
	set := func(mask uint32) {
		t.Helper()
		b := make([]byte, 20)
		b[0] = 1
		le.PutUint16(b[2:], seSelfRelative|seDACLPresent)
		le.PutUint32(b[16:], 20)
		b = append(b, testACL(testACE(aceAccessAllowed, 0, mask, everyone))...)
		if st := applySecurity(d, daclSecurityInfo, b); st != 0 {
			t.Fatal(st)
		}
	}
	set(fileReadData | fileReadAttributes)
	if parentGrantsDeleteChild(fsys, "d/f", tokenSIDs) {
		t.Fatal("a DACL without FILE_DELETE_CHILD granted it")
	}
	set(fileReadData | fileDeleteChild)
	if !parentGrantsDeleteChild(fsys, "d/f", tokenSIDs) {
		t.Fatal("a DACL with FILE_DELETE_CHILD did not grant it")
	}
}
