package vfs

import (
	"encoding/binary"
	"time"
)

// Xattr names. Everything smb3d stores lives under "user.smb3d.", so it
// never collides with other users of user xattrs.
const (
	// XattrDOS holds a dosRecord: DOS attributes and creation time.
	XattrDOS = "user.smb3d.dosattrib"
	// XattrEAPrefix prefixes SMB extended attribute names.
	XattrEAPrefix = "user.smb3d.ea."
	// XattrStreamPrefix prefixes alternate data stream names.
	XattrStreamPrefix = "user.smb3d.stream."
)

// dosRecord is the content of XattrDOS, version 1, 16 bytes little-endian:
//
//	0  version (1)
//	1  flags: 1 = attributes valid, 2 = birth valid
//	2  reserved (0)
//	4  DOS attributes (uint32)
//	8  creation time, Unix nanoseconds (int64)
//
// A longer value from a later version is read by its first 16 bytes; an
// unknown version or a short value is ignored.
type dosRecord struct {
	flags uint8
	attr  uint32
	birth int64
}

const (
	dosVersion   = 1
	dosHasAttr   = 1
	dosHasBirth  = 2
	dosRecordLen = 16
)

func (r dosRecord) marshal() []byte {
	b := make([]byte, dosRecordLen)
	b[0] = dosVersion
	b[1] = r.flags
	binary.LittleEndian.PutUint32(b[4:], r.attr)
	binary.LittleEndian.PutUint64(b[8:], uint64(r.birth))
	return b
}

func parseDOSRecord(b []byte) (dosRecord, bool) {
	if len(b) < dosRecordLen || b[0] != dosVersion {
		return dosRecord{}, false
	}
	return dosRecord{
		flags: b[1] & (dosHasAttr | dosHasBirth),
		attr:  binary.LittleEndian.Uint32(b[4:]),
		birth: int64(binary.LittleEndian.Uint64(b[8:])),
	}, true
}

func (r dosRecord) birthTime() (time.Time, bool) {
	if r.flags&dosHasBirth == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, r.birth), true
}
