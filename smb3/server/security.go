package server

import (
	"golang.org/x/sys/unix"

	"smb3d/smb3/wire"
)

// Security information flags (MS-DTYP 2.4.7 SECURITY_INFORMATION).
const (
	ownerSecurityInfo = 0x1
	groupSecurityInfo = 0x2
	daclSecurityInfo  = 0x4
	saclSecurityInfo  = 0x8
)

// sid encodes a SID (MS-DTYP 2.4.2.2).
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

// querySecurity returns a self-relative security descriptor synthesized from
// the file's POSIX owner (MS-DTYP 2.4.6): owner S-1-22-1-uid, group
// S-1-22-2-gid (Samba's Unix SID ranges), and a DACL granting the owner full
// access and Everyone what the mode bits allow.
func querySecurity(o *open, addl uint32, maxOut int) ([]byte, wire.Status) {
	if o.access&readControl == 0 {
		return nil, wire.StatusAccessDenied
	}
	if addl&saclSecurityInfo != 0 {
		return nil, wire.StatusPrivilegeNotHeld
	}
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	var stt unix.Stat_t
	if err := unix.Fstat(o.f.Fd(), &stt); err != nil {
		return nil, statusOf(err)
	}
	uid, gid := stt.Uid, stt.Gid
	owner := appendSID(nil, 22, 1, uid)
	group := appendSID(nil, 22, 2, gid)
	everyone := appendSID(nil, 1, 0)
	var other uint32 = 0x001200A9 // read and execute
	if info.Mode&0o002 != 0 {
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

	sd := make([]byte, 20)
	sd[0] = 1
	control := uint16(0x8000) // SE_SELF_RELATIVE
	off := 20
	if addl&ownerSecurityInfo != 0 {
		le.PutUint32(sd[4:], uint32(off))
		sd = append(sd, owner...)
		off += len(owner)
	}
	if addl&groupSecurityInfo != 0 {
		le.PutUint32(sd[8:], uint32(off))
		sd = append(sd, group...)
		off += len(group)
	}
	if addl&daclSecurityInfo != 0 {
		control |= 0x0004 // SE_DACL_PRESENT
		le.PutUint32(sd[16:], uint32(off))
		sd = append(sd, dacl...)
	}
	le.PutUint16(sd[2:], control)
	if len(sd) > maxOut {
		return le.AppendUint32(nil, uint32(len(sd))), wire.StatusBufferTooSmall
	}
	return sd, 0
}

// setSecurity: descriptors are not stored yet (issue 12 maps them back or
// keeps them in an xattr); refuse cleanly.
func setSecurity(o *open, addl uint32, buf []byte) wire.Status {
	if o.access&(writeDAC|writeOwner) == 0 {
		return wire.StatusAccessDenied
	}
	return wire.StatusNotSupported
}
