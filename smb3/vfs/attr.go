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
//	8  creation time, NT time: 100 ns units since 1601-01-01 UTC (uint64)
//
// A longer value from a later version is read by its first 16 bytes; an
// unknown version or a short value is ignored.
type dosRecord struct {
	flags uint8
	attr  uint32
	birth uint64 // NT time
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
	binary.LittleEndian.PutUint64(b[8:], r.birth)
	return b
}

func parseDOSRecord(b []byte) (dosRecord, bool) {
	if len(b) < dosRecordLen || b[0] != dosVersion {
		return dosRecord{}, false
	}
	return dosRecord{
		flags: b[1] & (dosHasAttr | dosHasBirth),
		attr:  binary.LittleEndian.Uint32(b[4:]),
		birth: binary.LittleEndian.Uint64(b[8:]),
	}, true
}

func (r dosRecord) birthTime() (time.Time, bool) {
	if r.flags&dosHasBirth == 0 {
		return time.Time{}, false
	}
	return fromNTTime(r.birth), true
}

// ntEpochDelta is the number of seconds from 1601-01-01 to 1970-01-01.
const ntEpochDelta = 11644473600

// toNTTime converts t to 100 ns units since 1601 (MS-DTYP 2.3.3), clamped
// to the representable range.
func toNTTime(t time.Time) uint64 {
	s := t.Unix() + ntEpochDelta
	if s < 0 {
		return 0
	}
	if s >= 1<<64/10_000_000-1 {
		return 1<<63 - 1
	}
	return uint64(s)*10_000_000 + uint64(t.Nanosecond())/100
}

func fromNTTime(ft uint64) time.Time {
	return time.Unix(int64(ft/10_000_000)-ntEpochDelta, int64(ft%10_000_000)*100)
}
