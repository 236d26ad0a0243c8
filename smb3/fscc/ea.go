package fscc

import (
	"encoding/binary"
	"fmt"
)

// FullEa is one FILE_FULL_EA_INFORMATION entry (MS-FSCC 2.4): an
// extended attribute name (ASCII/OEM, at most 255 bytes) and its value.
type FullEa struct {
	Flags uint8 // FileNeedEA or 0
	Name  string
	Value []byte // aliases the decoded buffer
}

// fullEaLen is the unpadded size of e: 8-byte header, name, NUL, value.
func (e *FullEa) fullEaLen() int { return FullEaInformationSize + len(e.Name) + 1 + len(e.Value) }

// AppendFullEaInformation appends a FILE_FULL_EA_INFORMATION list: each entry
// but the last padded to a 4-byte boundary and NextEntryOffset chaining
// them. It stops before an entry that would exceed max bytes of output and
// reports overflow (MS-FSA 2.1.5.12 FileFullEaInformation: the server
// returns STATUS_BUFFER_OVERFLOW if at least one entry fits, else
// STATUS_BUFFER_TOO_SMALL). Names longer than 255 bytes or values longer than
// 65535 bytes are an error.
func AppendFullEaInformation(b []byte, eas []FullEa, max int) (out []byte, overflow bool, err error) {
	base := len(b)
	prev := -1
	for i := range eas {
		e := &eas[i]
		if len(e.Name) == 0 || len(e.Name) > 255 {
			return b, false, malformed("FILE_FULL_EA_INFORMATION", "EaName length %d", len(e.Name))
		}
		if len(e.Value) > 0xFFFF {
			return b, false, malformed("FILE_FULL_EA_INFORMATION", "EaValue length %d", len(e.Value))
		}
		start := len(b)
		if prev >= 0 {
			start = base + align4(len(b)-base)
		}
		if start-base+e.fullEaLen() > max {
			return b, true, nil
		}
		for len(b) < start {
			b = append(b, 0)
		}
		if prev >= 0 {
			binary.LittleEndian.PutUint32(b[prev:], uint32(start-prev))
		}
		prev = start
		b = le32(b, 0)
		b = append(b, e.Flags, byte(len(e.Name)))
		b = le16(b, uint16(len(e.Value)))
		b = append(b, e.Name...)
		b = append(b, 0)
		b = append(b, e.Value...)
	}
	return b, false, nil
}

// FullEaListLen returns the length AppendFullEaInformation appends for eas
// with no limit: the EaSize servers report in FileEaInformation and
// directory entries is this value for the file's EAs.
func FullEaListLen(eas []FullEa) int {
	n := 0
	for i := range eas {
		if i > 0 {
			n = align4(n)
		}
		n += eas[i].fullEaLen()
	}
	return n
}

// DecodeFullEaInformation decodes a FILE_FULL_EA_INFORMATION list
// (SET_INFO FileFullEaInformation, CREATE's SMB2_CREATE_EA_BUFFER),
// validating every NextEntryOffset: forward, past the current entry and
// inside the buffer. Each EaName must be NUL terminated.
func DecodeFullEaInformation(b []byte) ([]FullEa, error) {
	const what = "FILE_FULL_EA_INFORMATION"
	var out []FullEa
	off := 0
	for {
		if len(b)-off < FullEaInformationSize {
			return nil, short(what, off+FullEaInformationSize, len(b))
		}
		e := b[off:]
		next := int(u32(e))
		nameLen := int(e[5])
		valLen := int(u16(e[6:]))
		n := FullEaInformationSize + nameLen + 1 + valLen
		if n > len(e) {
			return nil, short(what, off+n, len(b))
		}
		if e[FullEaInformationSize+nameLen] != 0 {
			return nil, malformed(what, "EaName not NUL terminated")
		}
		out = append(out, FullEa{
			Flags: e[4],
			Name:  string(e[FullEaInformationSize : FullEaInformationSize+nameLen]),
			Value: e[FullEaInformationSize+nameLen+1 : n : n],
		})
		if next == 0 {
			return out, nil
		}
		if next < n {
			return nil, malformed(what, "NextEntryOffset %d inside entry of %d bytes", next, n)
		}
		if next > len(e) {
			return nil, short(what, off+next, len(b))
		}
		off += next
	}
}

// DecodeGetEaInformation decodes a FILE_GET_EA_INFORMATION list (MS-FSCC 2.4), the InputBuffer of a QUERY_INFO FileFullEaInformation naming
// the EAs to return: NextEntryOffset (4), EaNameLength (1), EaName (+NUL).
func DecodeGetEaInformation(b []byte) ([]string, error) {
	const what = "FILE_GET_EA_INFORMATION"
	var out []string
	off := 0
	for {
		if len(b)-off < 5 {
			return nil, short(what, off+5, len(b))
		}
		e := b[off:]
		next := int(u32(e))
		nameLen := int(e[4])
		n := 5 + nameLen + 1
		if n > len(e) {
			return nil, short(what, off+n, len(b))
		}
		if e[5+nameLen] != 0 {
			return nil, malformed(what, "EaName not NUL terminated")
		}
		out = append(out, string(e[5:5+nameLen]))
		if next == 0 {
			return out, nil
		}
		if next < n {
			return nil, malformed(what, "NextEntryOffset %d inside entry of %d bytes", next, n)
		}
		if next > len(e) {
			return nil, short(what, off+next, len(b))
		}
		off += next
	}
}

// AppendGetEaInformation encodes a FILE_GET_EA_INFORMATION list with 4-byte
// aligned entries.
func AppendGetEaInformation(b []byte, names []string) ([]byte, error) {
	base := len(b)
	prev := -1
	for _, name := range names {
		if len(name) > 255 {
			return b, fmt.Errorf("fscc: FILE_GET_EA_INFORMATION: name of %d bytes: %w", len(name), ErrMalformed)
		}
		if prev >= 0 {
			for (len(b)-base)%4 != 0 {
				b = append(b, 0)
			}
			binary.LittleEndian.PutUint32(b[prev:], uint32(len(b)-prev))
		}
		prev = len(b)
		b = le32(b, 0)
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = append(b, 0)
	}
	return b, nil
}
