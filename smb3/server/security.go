package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// Security information flags (MS-DTYP 2.4.7 SECURITY_INFORMATION).
const (
	ownerSecurityInfo = 0x1
	groupSecurityInfo = 0x2
	daclSecurityInfo  = 0x4
	saclSecurityInfo  = 0x8
)

// SECURITY_DESCRIPTOR Control bits (MS-DTYP 2.4.6).
const (
	seOwnerDefaulted     = 0x0001
	seGroupDefaulted     = 0x0002
	seDACLPresent        = 0x0004
	seDACLDefaulted      = 0x0008
	seDACLAutoInheritReq = 0x0100
	seDACLAutoInherited  = 0x0400
	seDACLProtected      = 0x1000
	seSelfRelative       = 0x8000

	// seDACLControl are the Control bits that describe the DACL and are
	// kept with it.
	seDACLControl = seDACLPresent | seDACLDefaulted | seDACLAutoInheritReq | seDACLAutoInherited | seDACLProtected
)

// statusInvalidSecurityDescr is STATUS_INVALID_SECURITY_DESCR (MS-ERREF
// 2.3.1), not yet in the wire status table.
const statusInvalidSecurityDescr wire.Status = 0xC0000079

// xattrSD is the user xattr that holds a file's security descriptor once a
// client has set one: a self-relative SECURITY_DESCRIPTOR with owner, group
// and DACL (no SACL). Files without it get a descriptor synthesized from
// their POSIX owner and mode.
const xattrSD = "user.smb3d.sd"

// maxSDSize bounds a stored descriptor (one xattr value holds 64 KiB).
const maxSDSize = 64 << 10

// secDesc is a security descriptor split into its parts; each part is the
// encoded SID or ACL, nil when absent.
type secDesc struct {
	control      uint16
	owner, group []byte
	dacl         []byte // nil with seDACLPresent: a NULL DACL
}

// appendSID encodes a SID (MS-DTYP 2.4.2.2).
func appendSID(b []byte, auth uint64, subs ...uint32) []byte {
	b = append(b, 1, byte(len(subs)))
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, s := range subs {
		b = le.AppendUint32(b, s)
	}
	return b
}

var errBadSD = errors.New("malformed security descriptor")

// sidAt returns the SID at off in b (MS-DTYP 2.4.2.2).
func sidAt(b []byte, off int) ([]byte, error) {
	if off < 0 || off+8 > len(b) {
		return nil, fmt.Errorf("SID at %d: %w", off, io.ErrUnexpectedEOF)
	}
	if b[off] != 1 || b[off+1] > 15 {
		return nil, fmt.Errorf("SID at %d: revision %d, %d sub-authorities: %w", off, b[off], b[off+1], errBadSD)
	}
	n := 8 + 4*int(b[off+1])
	if off+n > len(b) {
		return nil, fmt.Errorf("SID at %d: %w", off, io.ErrUnexpectedEOF)
	}
	return b[off : off+n], nil
}

// aclAt returns the ACL at off in b (MS-DTYP 2.4.5), checking that its
// ACEs lie within AclSize.
func aclAt(b []byte, off int) ([]byte, error) {
	if off < 0 || off+8 > len(b) {
		return nil, fmt.Errorf("ACL at %d: %w", off, io.ErrUnexpectedEOF)
	}
	size := int(le.Uint16(b[off+2:]))
	count := int(le.Uint16(b[off+4:]))
	if rev := b[off]; rev != 2 && rev != 4 || size < 8 {
		return nil, fmt.Errorf("ACL at %d: revision %d, size %d: %w", off, b[off], size, errBadSD)
	}
	if off+size > len(b) {
		return nil, fmt.Errorf("ACL at %d: %w", off, io.ErrUnexpectedEOF)
	}
	acl := b[off : off+size]
	p := 8
	for i := 0; i < count; i++ {
		if p+4 > len(acl) {
			return nil, fmt.Errorf("ACE %d: %w", i, io.ErrUnexpectedEOF)
		}
		n := int(le.Uint16(acl[p+2:]))
		if n < 4 || p+n > len(acl) {
			return nil, fmt.Errorf("ACE %d: size %d: %w", i, n, errBadSD)
		}
		p += n
	}
	return acl, nil
}

// parseSD decodes a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6).
func parseSD(b []byte) (*secDesc, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("security descriptor: %w", io.ErrUnexpectedEOF)
	}
	if b[0] != 1 {
		return nil, fmt.Errorf("security descriptor revision %d: %w", b[0], errBadSD)
	}
	sd := &secDesc{control: le.Uint16(b[2:])}
	if sd.control&seSelfRelative == 0 {
		return nil, fmt.Errorf("security descriptor not self-relative: %w", errBadSD)
	}
	var err error
	if off := le.Uint32(b[4:]); off != 0 {
		if sd.owner, err = sidAt(b, int(off)); err != nil {
			return nil, err
		}
	}
	if off := le.Uint32(b[8:]); off != 0 {
		if sd.group, err = sidAt(b, int(off)); err != nil {
			return nil, err
		}
	}
	if off := le.Uint32(b[16:]); off != 0 && sd.control&seDACLPresent != 0 {
		if sd.dacl, err = aclAt(b, int(off)); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// encode builds the self-relative form with the parts addl selects.
func (sd *secDesc) encode(addl uint32) []byte {
	b := make([]byte, 20, 20+len(sd.owner)+len(sd.group)+len(sd.dacl))
	b[0] = 1
	control := uint16(seSelfRelative)
	if addl&ownerSecurityInfo != 0 && sd.owner != nil {
		le.PutUint32(b[4:], uint32(len(b)))
		b = append(b, sd.owner...)
		control |= sd.control & seOwnerDefaulted
	}
	if addl&groupSecurityInfo != 0 && sd.group != nil {
		le.PutUint32(b[8:], uint32(len(b)))
		b = append(b, sd.group...)
		control |= sd.control & seGroupDefaulted
	}
	if addl&daclSecurityInfo != 0 && sd.control&seDACLPresent != 0 {
		control |= sd.control & seDACLControl
		if sd.dacl != nil {
			le.PutUint32(b[16:], uint32(len(b)))
			b = append(b, sd.dacl...)
		}
	}
	le.PutUint16(b[2:], control)
	return b
}

// defaultSD synthesizes a descriptor from the file's POSIX owner and mode:
// owner S-1-22-1-uid, group S-1-22-2-gid (Samba's Unix SID ranges), and a
// DACL granting the owner full access and Everyone what the mode bits allow.
func defaultSD(fd int) (*secDesc, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	owner := appendSID(nil, 22, 1, st.Uid)
	group := appendSID(nil, 22, 2, st.Gid)
	everyone := appendSID(nil, 1, 0)
	var other uint32 = 0x001200A9 // read and execute
	if st.Mode&0o002 != 0 {
		other = 0x001F01FF
	}
	ace := func(b []byte, mask uint32, sid []byte) []byte {
		b = append(b, 0, 0) // ACCESS_ALLOWED_ACE_TYPE, flags
		b = le.AppendUint16(b, uint16(8+len(sid)))
		b = le.AppendUint32(b, mask)
		return append(b, sid...)
	}
	var aces []byte
	aces = ace(aces, 0x001F01FF, owner)
	aces = ace(aces, other, everyone)
	dacl := []byte{2, 0}
	dacl = le.AppendUint16(dacl, uint16(8+len(aces)))
	dacl = le.AppendUint16(dacl, 2)
	dacl = le.AppendUint16(dacl, 0)
	dacl = append(dacl, aces...)
	return &secDesc{control: seSelfRelative | seDACLPresent, owner: owner, group: group, dacl: dacl}, nil
}

// memSDs holds descriptors of files on file systems without user xattrs,
// keyed by inode, for the life of the process.
var memSDs struct {
	mu sync.Mutex
	m  map[inodeKey][]byte
}

func isNoXattr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// loadSD returns the file's descriptor: the stored one, or the synthesized
// default.
func loadSD(f fileHandle) (*secDesc, error) {
	sd, stored, err := loadStoredSD(f)
	if err != nil || stored {
		return sd, err
	}
	return defaultSD(f.Fd())
}

// loadStoredSD returns the descriptor a client stored on the file, and
// stored=false (and a nil descriptor) if there is none.
func loadStoredSD(f fileHandle) (sd *secDesc, stored bool, err error) {
	fd := f.Fd()
	var buf [1024]byte
	n, err := unix.Fgetxattr(fd, xattrSD, buf[:])
	var raw []byte
	switch {
	case err == nil:
		raw = buf[:n]
	case err == unix.ERANGE:
		big := make([]byte, maxSDSize)
		if n, err = unix.Fgetxattr(fd, xattrSD, big); err != nil {
			return nil, false, err
		}
		raw = big[:n]
	case isNoXattr(err):
		info, serr := f.Stat()
		if serr != nil {
			return nil, false, serr
		}
		memSDs.mu.Lock()
		raw = memSDs.m[inodeKey{info.Dev, info.FileID}]
		memSDs.mu.Unlock()
	case err != unix.ENODATA:
		return nil, false, err
	}
	if raw != nil {
		if sd, err := parseSD(raw); err == nil {
			return sd, true, nil
		}
	}
	return nil, false, nil
}

// storeSD saves the file's descriptor.
func storeSD(f fileHandle, sd *secDesc) error {
	raw := sd.encode(ownerSecurityInfo | groupSecurityInfo | daclSecurityInfo)
	err := unix.Fsetxattr(f.Fd(), xattrSD, raw, 0)
	if !isNoXattr(err) {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	memSDs.mu.Lock()
	defer memSDs.mu.Unlock()
	if memSDs.m == nil {
		memSDs.m = make(map[inodeKey][]byte)
	}
	memSDs.m[inodeKey{info.Dev, info.FileID}] = raw
	return nil
}

// querySecurity answers SMB2_0_INFO_SECURITY (MS-SMB2 3.3.5.20.3): the
// parts of the file's descriptor that addl selects, self-relative.
func querySecurity(o *open, addl uint32, maxOut int) ([]byte, wire.Status) {
	if addl&(ownerSecurityInfo|groupSecurityInfo|daclSecurityInfo) != 0 && o.access&readControl == 0 {
		return nil, wire.StatusAccessDenied
	}
	if addl&saclSecurityInfo != 0 && o.access&accessSystemSecurity == 0 {
		return nil, wire.StatusPrivilegeNotHeld
	}
	sd, err := loadSD(o.f)
	if err != nil {
		return nil, statusOf(err)
	}
	b := sd.encode(addl)
	if len(b) > maxOut {
		// MS-SMB2 3.3.5.20.3: STATUS_BUFFER_TOO_SMALL with the size needed.
		return le.AppendUint32(nil, uint32(len(b))), wire.StatusBufferTooSmall
	}
	return b, 0
}

// setSecurity is SET_INFO of SMB2_0_INFO_SECURITY (MS-SMB2 3.3.5.21.3,
// MS-FSA 2.1.5.16): owner and group need WRITE_OWNER, the DACL WRITE_DAC,
// the SACL ACCESS_SYSTEM_SECURITY.
func setSecurity(o *open, addl uint32, buf []byte) wire.Status {
	if addl&(ownerSecurityInfo|groupSecurityInfo) != 0 && o.access&writeOwner == 0 {
		return wire.StatusAccessDenied
	}
	if addl&daclSecurityInfo != 0 && o.access&writeDAC == 0 {
		return wire.StatusAccessDenied
	}
	if addl&saclSecurityInfo != 0 && o.access&accessSystemSecurity == 0 {
		return wire.StatusPrivilegeNotHeld
	}
	return applySecurity(o.f, addl, buf)
}

// applySecurity merges the parts addl selects from the self-relative
// descriptor buf into the file's descriptor and stores it. It does no
// access check: CREATE with an SD context calls it for a new file. A SACL is
// accepted and not kept.
func applySecurity(f fileHandle, addl uint32, buf []byte) wire.Status {
	in, err := parseSD(buf)
	if err != nil {
		return statusInvalidSecurityDescr
	}
	sd, err := loadSD(f)
	if err != nil {
		return statusOf(err)
	}
	// An owner or group left out of buf keeps the current one.
	if addl&ownerSecurityInfo != 0 && in.owner != nil {
		sd.owner = in.owner
		sd.control = sd.control&^seOwnerDefaulted | in.control&seOwnerDefaulted
	}
	if addl&groupSecurityInfo != 0 && in.group != nil {
		sd.group = in.group
		sd.control = sd.control&^seGroupDefaulted | in.control&seGroupDefaulted
	}
	if addl&daclSecurityInfo != 0 {
		sd.dacl = in.dacl
		sd.control = sd.control&^seDACLControl | in.control&seDACLControl
		// Like Windows, a descriptor without a DACL sets a NULL DACL
		// (everyone has access), which is reported as present
		// (smb2.create.nulldacl "set empty sd").
		sd.control |= seDACLPresent
	}
	if err := storeSD(f, sd); err != nil {
		return statusOf(err)
	}
	return 0
}

// applyCreateSecurity stores the descriptor of a CREATE "SecD" context
// (MS-SMB2 2.2.13.2.2) on the file the CREATE made: the owner, group and
// DACL it has. Unlike SET_INFO, a descriptor without a DACL keeps the
// default DACL (smb2.create.nulldacl: "the server should add the inherited
// DACL when SEC_DESC_DACL_PRESENT isn't specified").
func applyCreateSecurity(f fileHandle, buf []byte) wire.Status {
	in, err := parseSD(buf)
	if err != nil {
		return statusInvalidSecurityDescr
	}
	var addl uint32
	if in.owner != nil {
		addl |= ownerSecurityInfo
	}
	if in.group != nil {
		addl |= groupSecurityInfo
	}
	if in.control&seDACLPresent != 0 {
		addl |= daclSecurityInfo
	}
	if addl == 0 {
		return 0
	}
	return applySecurity(f, addl, buf)
}

// Access checks against stored descriptors (MS-DTYP 2.5.3.2, simplified).
//
// smb3d has no Windows identities: a session's token is taken to hold the
// SID the server gives its own files' owner (S-1-22-1-euid) and group
// (S-1-22-2-egid), Everyone (S-1-1-0), Authenticated Users (S-1-5-11) and
// Users (S-1-5-32-545), and, when the session's user name is also a local
// account, that account's Unix SIDs (S-1-22-1-uid, S-1-22-2-gid; Samba's
// "Unix User" and "Unix Group" domains), so ACEs can tell users apart.
// A Kerberos session adds the domain SIDs of its ticket's PAC (withSIDs).
// Files whose descriptor no client has set are not
// restricted here (the share's rules apply). A stored DACL is evaluated in
// order: an ACCESS_ALLOWED ACE grants the bits no earlier ACE denied, an
// ACCESS_DENIED ACE denies the bits no earlier ACE granted; inherit-only
// and other ACE types are skipped. The owner always gets READ_CONTROL and
// WRITE_DAC, so it can repair the DACL. A NULL DACL grants everything.

// ACE types and flags (MS-DTYP 2.4.4.1).
const (
	aceAccessAllowed = 0x00
	aceAccessDenied  = 0x01
	aceInheritOnly   = 0x08
)

// fileAllAccess is FILE_ALL_ACCESS, what MAXIMUM_ALLOWED can reach.
const fileAllAccess = 0x001F01FF

// tokenSIDs is the token of every session (see above).
var tokenSIDs = func() [][]byte {
	return [][]byte{
		appendSID(nil, 22, 1, uint32(unix.Geteuid())),
		appendSID(nil, 22, 2, uint32(unix.Getegid())),
		appendSID(nil, 1, 0),
		appendSID(nil, 5, 11),
		appendSID(nil, 5, 32, 545),
	}
}()

func inToken(sid []byte) bool { return hasSID(tokenSIDs, sid) }

func hasSID(token [][]byte, sid []byte) bool {
	for _, t := range token {
		if bytes.Equal(t, sid) {
			return true
		}
	}
	return false
}

// userToken returns the token of a session of user: tokenSIDs, plus the
// Unix SIDs of the local account of the same name if there is one.
func userToken(name string) [][]byte {
	if name == "" {
		return tokenSIDs
	}
	u, err := user.Lookup(name)
	if err != nil {
		return tokenSIDs
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return tokenSIDs
	}
	tok := append([][]byte(nil), tokenSIDs...)
	for _, sid := range [][]byte{appendSID(nil, 22, 1, uint32(uid)), appendSID(nil, 22, 2, uint32(gid))} {
		if !hasSID(tok, sid) {
			tok = append(tok, sid)
		}
	}
	return tok
}

// withSIDs returns tok plus the SIDs a Kerberos ticket's PAC asserted for
// the user (auth.Context.SIDs: its domain user SID and groups), so DACLs
// naming domain users and groups apply. tok is not modified.
func withSIDs(tok [][]byte, sids [][]byte) [][]byte {
	if len(sids) == 0 {
		return tok
	}
	out := append([][]byte(nil), tok...)
	for _, sid := range sids {
		if !hasSID(out, sid) {
			out = append(out, sid)
		}
	}
	return out
}

// grantedBy returns the access the DACL of sd grants to the server-wide
// token, out of want (generic bits already mapped).
func (sd *secDesc) grantedBy(want uint32) uint32 { return sd.grantedTo(tokenSIDs, want) }

// grantedTo returns the access the DACL of sd grants to token, out of want.
func (sd *secDesc) grantedTo(token [][]byte, want uint32) uint32 {
	if sd.control&seDACLPresent == 0 || sd.dacl == nil {
		return want // no DACL or a NULL DACL: no restriction
	}
	var granted, denied uint32
	if sd.owner != nil && hasSID(token, sd.owner) {
		granted = (readControl | writeDAC) & want
	}
	acl := sd.dacl
	count := int(le.Uint16(acl[4:]))
	p := 8
	for i := 0; i < count && p+8 <= len(acl); i++ {
		typ, flags, size := acl[p], acl[p+1], int(le.Uint16(acl[p+2:]))
		if size < 8 || p+size > len(acl) {
			break
		}
		ace := acl[p : p+size]
		p += size
		if flags&aceInheritOnly != 0 || typ != aceAccessAllowed && typ != aceAccessDenied {
			continue
		}
		sid, err := sidAt(ace, 8)
		if err != nil || !hasSID(token, sid) {
			continue
		}
		mask := genericMapping(le.Uint32(ace[4:])) & want
		if typ == aceAccessAllowed {
			granted |= mask &^ denied
		} else {
			denied |= mask &^ granted
		}
	}
	return granted
}

// sdAccess checks desired (generic bits mapped; MAXIMUM_ALLOWED allowed)
// against the descriptor a client stored on the file open as f. It
// returns the access to grant (for MAXIMUM_ALLOWED, the most the DACL
// allows, FILE_ALL_ACCESS at best) and whether the open may proceed. A
// file without a stored descriptor grants desired unchanged. CREATE calls
// it after opening an existing file (MS-FSA 2.1.5.1.2.1 access check).
func sdAccess(f fileHandle, desired uint32) (uint32, bool) {
	return sdAccessToken(f, desired, tokenSIDs)
}

// sdAccessToken is sdAccess for a session's token (userToken).
func sdAccessToken(f fileHandle, desired uint32, token [][]byte) (uint32, bool) {
	sd, stored, err := loadStoredSD(f)
	if err != nil || !stored {
		return desired, true
	}
	sys := desired & accessSystemSecurity // a privilege, not a DACL right
	explicit := desired &^ (maximumAllowed | accessSystemSecurity)
	if desired&maximumAllowed != 0 {
		granted := sd.grantedTo(token, fileAllAccess|explicit)
		return granted | sys, granted != 0 && explicit&^granted == 0
	}
	granted := sd.grantedTo(token, explicit)
	return granted | sys, explicit&^granted == 0
}

// parentGrantsDeleteChild reports whether the directory holding path (a
// share-relative file path, not the root) grants FILE_DELETE_CHILD to
// token: a parent without a stored descriptor grants everything.
func parentGrantsDeleteChild(fsys *vfs.FS, path string, token [][]byte) bool {
	parent := ""
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		parent = path[:i]
	}
	d, _, err := fsys.OpenFile(parent, vfs.OpenFlags{Directory: true}, 0)
	if err != nil {
		return false
	}
	defer d.Close()
	g, ok := sdAccessToken(d, fileDeleteChild, token)
	return ok && g&fileDeleteChild != 0
}
