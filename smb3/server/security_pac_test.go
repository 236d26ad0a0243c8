package server

import "testing"

// TestTokenWithPACSIDs: the domain SIDs of a Kerberos ticket's PAC join the session's token,
// so an ACE naming a domain user or group grants or denies.
func TestTokenWithPACSIDs(t *testing.T) {
	const rw = fileReadData | fileWriteData
	user := appendSID(nil, 5, 21, 3623811015, 3361044348, 30300820, 1104)
	group := appendSID(nil, 5, 21, 3623811015, 3361044348, 30300820, 1105)
	other := appendSID(nil, 5, 21, 3623811015, 3361044348, 30300820, 1106)
	base := userToken("")
	tok := withSIDs(base, [][]byte{user, group, tokenSIDs[2]})
	if len(tok) != len(base)+2 || !hasSID(tok, user) || !hasSID(tok, group) {
		t.Fatalf("token %x", tok)
	}
	if len(base) != len(tokenSIDs) || hasSID(tokenSIDs, user) {
		t.Fatal("withSIDs changed the shared token")
	}
	if got := withSIDs(base, nil); len(got) != len(base) {
		t.Errorf("no SIDs: %d", len(got))
	}

	allowGroup := secDesc{control: seDACLPresent, dacl: testACL(testACE(aceAccessAllowed, 0, rw, group))}
	if g := allowGroup.grantedTo(tok, rw); g != rw {
		t.Errorf("domain group member: granted %#x", g)
	}
	if g := allowGroup.grantedTo(base, rw); g != 0 {
		t.Errorf("session without the PAC SIDs: granted %#x", g)
	}
	denyUser := secDesc{control: seDACLPresent, dacl: testACL(
		testACE(aceAccessDenied, 0, fileWriteData, user),
		testACE(aceAccessAllowed, 0, rw, group))}
	if g := denyUser.grantedTo(tok, rw); g != fileReadData {
		t.Errorf("denied write for the domain user: granted %#x", g)
	}
	allowOther := secDesc{control: seDACLPresent, dacl: testACL(testACE(aceAccessAllowed, 0, rw, other))}
	if g := allowOther.grantedTo(tok, rw); g != 0 {
		t.Errorf("another domain user's ACE: granted %#x", g)
	}
}
