package auth

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestUsersSetLookupDelete(t *testing.T) {
	u := NewUsers()
	u.Set("Alice", NTHash("a"))
	u.Set("bob", NTHash("b"))
	if h, ok := u.Lookup("ALICE"); !ok || h != NTHash("a") {
		t.Errorf("Lookup(ALICE) = %x, %v", h, ok)
	}
	u.Set("alice", NTHash("c")) // same user, new hash and spelling
	if h, _ := u.Lookup("Alice"); h != NTHash("c") {
		t.Errorf("replaced hash = %x", h)
	}
	if got := u.Names(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Names = %q", got)
	}
	if !u.Delete("BOB") || u.Delete("bob") {
		t.Error("Delete")
	}
	if _, ok := u.Lookup("bob"); ok {
		t.Error("bob still there")
	}
	var _ UserStore = u
}

func TestUsersSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	u := NewUsers()
	u.Set("alice", NTHash("Password"))
	u.Set("Bob Smith", NTHash(""))
	u.Set("jürgen", NTHash("x"))
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "alice:a4f49c406510bdcab6824ee7c30fd852\n") {
		t.Errorf("file:\n%s", data)
	}
	v, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Names(), u.Names()) {
		t.Errorf("loaded names %q, saved %q", v.Names(), u.Names())
	}
	for _, n := range u.Names() {
		a, _ := u.Lookup(n)
		if b, ok := v.Lookup(strings.ToUpper(n)); !ok || a != b {
			t.Errorf("%s: %x vs %x", n, a, b)
		}
	}
	// Overwrite: no temporary files left behind.
	u.Delete("alice")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory has %d entries", len(entries))
	}
	u.Set("bad:name", NTHash(""))
	if err := u.Save(path); err == nil {
		t.Error("saved a name containing ':'")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("failed save left %d entries", len(entries))
	}
}

func TestLoadUsersFormat(t *testing.T) {
	dir := t.TempDir()
	good := "# comment\n\n  alice : A4F49C406510BDCAB6824EE7C30FD852  \r\n\t# indented comment\nbob:31d6cfe0d16ae931b73c59d7e0c089c0"
	path := filepath.Join(dir, "good")
	os.WriteFile(path, []byte(good), 0o600)
	u, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := u.Lookup("Alice"); !ok || h != NTHash("Password") {
		t.Errorf("alice %x %v", h, ok)
	}
	if h, ok := u.Lookup("bob"); !ok || h != NTHash("") {
		t.Errorf("bob %x %v", h, ok)
	}

	for _, tt := range []struct{ content, want string }{
		{"alice\n", ":1: want name:nt-hash"},
		{"# x\nalice:1234\n", ":2: NT hash must be 32 hex digits"},
		{"alice:zz4f49c406510bdcab6824ee7c30fd852\n", ":1: NT hash"},
		{":a4f49c406510bdcab6824ee7c30fd852\n", ":1: empty user name"},
		{"alice:a4f49c406510bdcab6824ee7c30fd852\n\nALICE:a4f49c406510bdcab6824ee7c30fd852\n", ":3: duplicate user"},
	} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte(tt.content), 0o600)
		_, err := LoadUsers(p)
		if err == nil || !strings.Contains(err.Error(), p+tt.want) {
			t.Errorf("%q: err %v, want %q", tt.content, err, p+tt.want)
		}
	}
	if _, err := LoadUsers(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestUsersConcurrent(t *testing.T) {
	u := NewUsers()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				name := string(rune('a' + (i+j)%26))
				u.Set(name, NTHash(name))
				u.Lookup(name)
				u.Names()
				if j%3 == 0 {
					u.Delete(name)
				}
			}
		})
	}
	wg.Wait()
}

// TestUsersKerberosOnly: a user without an NT hash ("name:*") exists for Kerberos but has no
// NT hash to look up; the file round-trips and Set gives the user an NT hash again.
func TestUsersKerberosOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	os.WriteFile(path, []byte("alice:a4f49c406510bdcab6824ee7c30fd852\ncarol : * \n"), 0o600)
	u, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Lookup("CAROL"); ok {
		t.Error("a Kerberos-only user has an NT hash")
	}
	if !u.KerberosOnly("Carol") || !u.Exists("carol") || u.KerberosOnly("alice") || u.KerberosOnly("dave") || u.Exists("dave") {
		t.Errorf("KerberosOnly carol %v alice %v dave %v", u.KerberosOnly("Carol"), u.KerberosOnly("alice"), u.KerberosOnly("dave"))
	}
	if got := u.Names(); len(got) != 2 || got[1] != "carol" {
		t.Errorf("names %q", got)
	}
	u.SetKerberosOnly("alice")
	if _, ok := u.Lookup("alice"); ok || !u.KerberosOnly("alice") {
		t.Error("SetKerberosOnly kept alice's NT hash")
	}
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "\nalice:*\ncarol:*\n") {
		t.Errorf("saved:\n%s", b)
	}
	u2, err := LoadUsers(path)
	if err != nil || !u2.KerberosOnly("alice") || !u2.KerberosOnly("carol") {
		t.Fatalf("reloaded: %v", err)
	}
	u2.Set("carol", NTHash("pw"))
	if h, ok := u2.Lookup("carol"); !ok || h != NTHash("pw") || u2.KerberosOnly("carol") {
		t.Error("Set did not give carol an NT hash")
	}
	for _, bad := range []string{"carol:**\n", "carol:\n", "carol:*x\n"} {
		os.WriteFile(path, []byte(bad), 0o600)
		if _, err := LoadUsers(path); err == nil || !strings.Contains(err.Error(), ":1: NT hash") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
