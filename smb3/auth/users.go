package auth

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// UserStore looks up a user's NT hash. Names are case-insensitive. Lookup reports ok only for
// users who have an NT hash, that is who may log on with NTLM.
type UserStore interface {
	Lookup(user string) (ntHash [16]byte, ok bool)
}

// KerberosOnlyStore is a UserStore that also holds users without an NT hash: in a domain, users
// whose password only the KDC knows. They log on with Kerberos; NTLM refuses them (not even as
// guest). Users implements it.
type KerberosOnlyStore interface {
	UserStore
	// KerberosOnly reports that user exists and has no NT hash.
	KerberosOnly(user string) bool
}

// kerberosOnly reports a Kerberos-only user of s (false when s cannot hold such users).
func kerberosOnly(s UserStore, user string) bool {
	k, ok := s.(KerberosOnlyStore)
	return ok && k.KerberosOnly(user)
}

// kerberosOnlyMark is the users file's NT hash field of a Kerberos-only user.
const kerberosOnlyMark = "*"

// Users is an in-memory UserStore, safe for concurrent use. It loads and saves a text file of
// lines "name:32-hex-nt-hash", or "name:*" for a user without an NT hash (Kerberos only); '#'
// starts a comment line and blank lines are ignored.
type Users struct {
	mu    sync.RWMutex
	users map[string]userEntry // key: foldName(name)
}

type userEntry struct {
	name    string // as last set
	ntHash  [16]byte
	krbOnly bool // no NT hash: ntHash is unused
}

// foldName is the map key of a user name: names compare case-insensitively, like Windows account
// names.
func foldName(name string) string { return strings.ToUpper(name) }

// NewUsers returns an empty store.
func NewUsers() *Users {
	return &Users{users: make(map[string]userEntry)}
}

// checkName rejects names the file format cannot hold.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty user name")
	case strings.ContainsAny(name, ":\r\n"):
		return fmt.Errorf("user name %q contains ':' or a line break", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("user name %q has leading or trailing space", name)
	case strings.HasPrefix(name, "#"):
		return fmt.Errorf("user name %q starts with '#'", name)
	}
	return nil
}

// LoadUsers reads a user file. Errors name the file and line.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u := NewUsers()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, hexHash, ok := strings.Cut(text, ":")
		name, hexHash = strings.TrimSpace(name), strings.TrimSpace(hexHash)
		if !ok {
			return nil, fmt.Errorf("%s:%d: want name:nt-hash or name:%s", path, line, kerberosOnlyMark)
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		e := userEntry{name: name}
		switch {
		case hexHash == kerberosOnlyMark:
			e.krbOnly = true
		case len(hexHash) != 32:
			return nil, fmt.Errorf("%s:%d: NT hash must be 32 hex digits (or %s for a Kerberos-only user), have %d characters", path, line, kerberosOnlyMark, len(hexHash))
		default:
			if _, err := hex.Decode(e.ntHash[:], []byte(hexHash)); err != nil {
				return nil, fmt.Errorf("%s:%d: NT hash: %v", path, line, err)
			}
		}
		if _, dup := u.users[foldName(name)]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate user %q", path, line, name)
		}
		u.users[foldName(name)] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// Set adds or replaces a user. Save rejects names the file cannot hold (empty, or containing ':'
// or a line break).
func (u *Users) Set(name string, ntHash [16]byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[foldName(name)] = userEntry{name: name, ntHash: ntHash}
}

// SetKerberosOnly adds or replaces a user without an NT hash: one who logs on only with
// Kerberos. Set gives the user an NT hash again.
func (u *Users) SetKerberosOnly(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[foldName(name)] = userEntry{name: name, krbOnly: true}
}

// KerberosOnly reports that the user exists without an NT hash.
func (u *Users) KerberosOnly(name string) bool {
	u.mu.RLock()
	defer u.mu.RUnlock()
	e, ok := u.users[foldName(name)]
	return ok && e.krbOnly
}

// Exists reports that the user exists, with or without an NT hash.
func (u *Users) Exists(name string) bool {
	u.mu.RLock()
	defer u.mu.RUnlock()
	_, ok := u.users[foldName(name)]
	return ok
}

// Delete removes a user and reports whether it existed.
func (u *Users) Delete(name string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := foldName(name)
	_, ok := u.users[k]
	delete(u.users, k)
	return ok
}

// Lookup returns the NT hash of a user; names are case-insensitive. A Kerberos-only user has
// none: ok is false.
func (u *Users) Lookup(name string) ([16]byte, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	e, ok := u.users[foldName(name)]
	if !ok || e.krbOnly {
		return [16]byte{}, false
	}
	return e.ntHash, true
}

// Names returns the user names, sorted.
func (u *Users) Names() []string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	names := make([]string, 0, len(u.users))
	for _, e := range u.users {
		names = append(names, e.name)
	}
	slices.Sort(names)
	return names
}

// Save writes the store to path atomically (a temporary file in the same directory, synced, then
// renamed over path) with mode 0600.
func (u *Users) Save(path string) (err error) {
	var b bytes.Buffer
	b.WriteString("# smb3d users: name:NT-hash (MD4 of the UTF-16LE password), or name:* (Kerberos only)\n")
	u.mu.RLock()
	entries := make([]userEntry, 0, len(u.users))
	for _, e := range u.users {
		entries = append(entries, e)
	}
	u.mu.RUnlock()
	slices.SortFunc(entries, func(a, b userEntry) int { return strings.Compare(a.name, b.name) })
	for _, e := range entries {
		if err := checkName(e.name); err != nil {
			return fmt.Errorf("save %s: %v", path, err)
		}
		if e.krbOnly {
			fmt.Fprintf(&b, "%s:%s\n", e.name, kerberosOnlyMark)
		} else {
			fmt.Fprintf(&b, "%s:%x\n", e.name, e.ntHash)
		}
	}

	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(b.Bytes()); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	return nil
}
