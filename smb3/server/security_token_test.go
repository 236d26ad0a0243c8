package server

import (
	"os/user"
	"strconv"
	"testing"
)

// TestUserToken: a session whose user is a local account carries that account's Unix SIDs, so a
// DACL can deny one user what it grants another; other names get the shared token.
func TestUserToken(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	mine := appendSID(nil, 22, 1, uint32(uid))
	tok := userToken(u.Username)
	if !hasSID(tok, mine) || !hasSID(tok, tokenSIDs[0]) {
		t.Fatalf("token of %s lacks S-1-22-1-%d or the shared SIDs", u.Username, uid)
	}
	if got := userToken("no-such-user-smb3d"); len(got) != len(tokenSIDs) {
		t.Errorf("unknown user: %d SIDs", len(got))
	}
	if got := userToken(""); len(got) != len(tokenSIDs) {
		t.Errorf("empty name: %d SIDs", len(got))
	}

	other := appendSID(nil, 22, 1, 4242424)
	const rw = fileReadData | fileWriteData
	everyone := appendSID(nil, 1, 0)
	denyOther := secDesc{control: seDACLPresent, dacl: testACL(
		testACE(aceAccessDenied, 0, rw, other),
		testACE(aceAccessAllowed, 0, rw, everyone))}
	if g := denyOther.grantedTo(tok, rw); g != rw {
		t.Errorf("deny for another user's SID: granted %#x", g)
	}
	otherTok := append(append([][]byte(nil), tokenSIDs...), other)
	if g := denyOther.grantedTo(otherTok, rw); g != 0 {
		t.Errorf("denied user: granted %#x", g)
	}
	allowMine := secDesc{control: seDACLPresent, dacl: testACL(testACE(aceAccessAllowed, 0, rw, mine))}
	if g := allowMine.grantedTo(tok, rw); g != rw {
		t.Errorf("allowed user: granted %#x", g)
	}
	if g := allowMine.grantedTo(otherTok, rw); g != 0 && uid != 0 {
		t.Errorf("user not in the DACL: granted %#x", g)
	}
}
