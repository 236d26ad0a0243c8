package auth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Keytab is a parsed keytab file: the long-term keys of service principals (MIT's "FILE:"
// format, version 0x0502, which Heimdal, ktpass and msktutil write too).
type Keytab struct {
	Entries []KeytabEntry
}

// KeytabEntry is one key of a principal.
type KeytabEntry struct {
	Realm     string
	Name      principalName
	Timestamp time.Time
	KVNO      uint32
	kvno8     bool // the entry has only the 8-bit key version
	Key       krbKey
}

// Principal is "comp1/comp2@REALM".
func (e *KeytabEntry) Principal() string { return e.Name.String() + "@" + e.Realm }

// EncType is the key's encryption type name, e.g. "aes256-cts-hmac-sha1-96".
func (e *KeytabEntry) EncType() string { return etypeName(e.Key.etype) }

// Supported reports whether this server can decrypt tickets with the key.
func (e *KeytabEntry) Supported() bool { return e.Key.valid() }

// maxKeytab bounds a keytab file; real ones are a few KiB.
const maxKeytab = 4 << 20

// ParseKeytab decodes a keytab. Errors name the byte offset of the bad entry.
func ParseKeytab(b []byte) (*Keytab, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("keytab: %w", io.ErrUnexpectedEOF)
	}
	if b[0] != 5 || b[1] != 2 {
		return nil, fmt.Errorf("keytab: version %#02x%02x, want 0x0502", b[0], b[1])
	}
	kt := new(Keytab)
	off := 2
	for off < len(b) {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("keytab: entry at %d: %w", off, io.ErrUnexpectedEOF)
		}
		size := int64(int32(binary.BigEndian.Uint32(b[off:])))
		off += 4
		if size == 0 {
			break // MIT treats a zero length as the end
		}
		if size < 0 { // a hole left by a deleted entry
			size = -size
			if size > int64(len(b)-off) {
				return nil, fmt.Errorf("keytab: hole at %d: %w", off-4, io.ErrUnexpectedEOF)
			}
			off += int(size)
			continue
		}
		if size > int64(len(b)-off) {
			return nil, fmt.Errorf("keytab: entry at %d: %w", off-4, io.ErrUnexpectedEOF)
		}
		e, err := parseKeytabEntry(b[off : off+int(size)])
		if err != nil {
			return nil, fmt.Errorf("keytab: entry at %d: %w", off-4, err)
		}
		kt.Entries = append(kt.Entries, e)
		off += int(size)
	}
	return kt, nil
}

var errKeytabEntry = errors.New("malformed entry")

func parseKeytabEntry(b []byte) (KeytabEntry, error) {
	var e KeytabEntry
	r := ktReader{b: b}
	n := int(r.u16())
	if n == 0 || n > 16 {
		if r.err != nil {
			return e, r.err
		}
		return e, fmt.Errorf("%w: %d name components", errKeytabEntry, n)
	}
	e.Realm = string(r.counted())
	for i := 0; i < n; i++ {
		e.Name.parts = append(e.Name.parts, string(r.counted()))
	}
	e.Name.nameType = int32(r.u32())
	e.Timestamp = time.Unix(int64(r.u32()), 0).UTC()
	e.KVNO = uint32(r.u8())
	e.Key.etype = int32(r.u16())
	e.Key.value = append([]byte(nil), r.counted()...)
	if r.err != nil {
		return e, r.err
	}
	e.kvno8 = true
	if len(r.b) >= 4 { // MIT 1.14+: the 32-bit key version, unless zero
		if v := binary.BigEndian.Uint32(r.b); v != 0 {
			e.KVNO, e.kvno8 = v, false
		}
	}
	return e, nil
}

// ktReader reads the big-endian fields of a keytab entry; the first short read sets err.
type ktReader struct {
	b   []byte
	err error
}

func (r *ktReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *ktReader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *ktReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *ktReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *ktReader) counted() []byte { return r.take(int(r.u16())) }

// LoadKeytab reads and parses a keytab file.
func LoadKeytab(path string) (*Keytab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeytab+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeytab {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeytab)
	}
	kt, err := ParseKeytab(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kt, nil
}

// Principals lists the distinct principals with their key versions and enctypes, one line each:
// "cifs/host@REALM kvno 2 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"; unsupported enctypes
// are marked "(unsupported)".
func (kt *Keytab) Principals() []string {
	type pk struct {
		p    string
		kvno uint32
	}
	m := map[pk][]string{}
	var order []pk
	for i := range kt.Entries {
		e := &kt.Entries[i]
		k := pk{e.Principal(), e.KVNO}
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		name := e.EncType()
		if !e.Supported() {
			name += " (unsupported)"
		}
		m[k] = append(m[k], name)
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].p != order[j].p {
			return order[i].p < order[j].p
		}
		return order[i].kvno < order[j].kvno
	})
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = fmt.Sprintf("%s kvno %d %s", k.p, k.kvno, strings.Join(m[k], " "))
	}
	return out
}

// ServiceRealms returns the realms of the keytab's cifs principals, sorted.
func (kt *Keytab) ServiceRealms() []string {
	seen := map[string]bool{}
	var out []string
	for i := range kt.Entries {
		e := &kt.Entries[i]
		if isCIFS(e.Name) && !seen[e.Realm] {
			seen[e.Realm] = true
			out = append(out, e.Realm)
		}
	}
	sort.Strings(out)
	return out
}

// isCIFS reports a principal of the form cifs/host (service names compare case-insensitively,
// as Windows treats SPNs).
func isCIFS(p principalName) bool {
	return len(p.parts) == 2 && strings.EqualFold(p.parts[0], "cifs") && p.parts[1] != ""
}

// KeytabSource gives the current keytab to the Kerberos acceptor.
type KeytabSource interface {
	Keytab() (*Keytab, error)
}

// Keytab implements KeytabSource with itself.
func (kt *Keytab) Keytab() (*Keytab, error) { return kt, nil }

// KeytabFile is a KeytabSource backed by a file that is read again when its size or
// modification time changes, so a key rotation (kadmin ktadd, msktutil --auto-update) takes
// effect without a restart. A file that turns unreadable or malformed keeps the last good
// keytab and the error is returned with it.
type KeytabFile struct {
	Path string

	mu    sync.Mutex
	kt    *Keytab
	mtime time.Time
	size  int64
}

// NewKeytabFile loads path; the error of the first load is returned.
func NewKeytabFile(path string) (*KeytabFile, error) {
	f := &KeytabFile{Path: path}
	if _, err := f.Keytab(); err != nil {
		return nil, err
	}
	return f, nil
}

// Keytab returns the keytab, reloading it if the file changed.
func (f *KeytabFile) Keytab() (*Keytab, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.Path)
	if err != nil {
		return f.kt, err
	}
	if f.kt != nil && st.ModTime().Equal(f.mtime) && st.Size() == f.size {
		return f.kt, nil
	}
	kt, err := LoadKeytab(f.Path)
	if err != nil {
		return f.kt, err
	}
	f.kt, f.mtime, f.size = kt, st.ModTime(), st.Size()
	return kt, nil
}
