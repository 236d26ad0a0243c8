package fscc

import (
	"encoding/binary"
	"fmt"
)

// dirLayout describes where the class-specific fields of a directory entry
// sit (MS-FSCC 2.4-2.4.21). All classes except FileNamesInformation share
// the 64-byte prefix NextEntryOffset .. FileNameLength.
type dirLayout struct {
	nameOff int  // offset of FileName = fixed size
	ea      int  // offset of EaSize, or -1
	tag     int  // offset of ReparsePointTag, or -1
	id64    int  // offset of the 64-bit FileId, or -1
	id128   int  // offset of the 128-bit FileId, or -1
	short   int  // offset of ShortNameLength (ShortName at +2), or -1
	eaIsTag bool // EaSize carries the reparse tag for reparse points
}

var dirLayouts = map[uint8]dirLayout{
	// FILE_DIRECTORY_INFORMATION
	FileDirectoryInformation: {nameOff: 64, ea: -1, tag: -1, id64: -1, id128: -1, short: -1},
	// FILE_FULL_DIR_INFORMATION
	FileFullDirectoryInformation: {nameOff: 68, ea: 64, tag: -1, id64: -1, id128: -1, short: -1, eaIsTag: true},
	// FILE_BOTH_DIR_INFORMATION
	FileBothDirectoryInformation: {nameOff: 94, ea: 64, tag: -1, id64: -1, id128: -1, short: 68, eaIsTag: true},
	// FILE_NAMES_INFORMATION (special-cased: 12-byte header)
	FileNamesInformation: {nameOff: 12, ea: -1, tag: -1, id64: -1, id128: -1, short: -1},
	// FILE_ID_BOTH_DIR_INFORMATION (Reserved2 at 94)
	FileIDBothDirectoryInformation: {nameOff: 104, ea: 64, tag: -1, id64: 96, id128: -1, short: 68, eaIsTag: true},
	// FILE_ID_FULL_DIR_INFORMATION (Reserved at 68)
	FileIDFullDirectoryInformation: {nameOff: 80, ea: 64, tag: -1, id64: 72, id128: -1, short: -1, eaIsTag: true},
	// FILE_ID_EXTD_DIR_INFORMATION
	FileIDExtdDirectoryInformation: {nameOff: 88, ea: 64, tag: 68, id64: -1, id128: 72, short: -1},
	// FILE_ID_EXTD_BOTH_DIR_INFORMATION
	FileIDExtdBothDirectoryInformation: {nameOff: 114, ea: 64, tag: 68, id64: -1, id128: 72, short: 88},
	// FILE_ID_64_EXTD_DIR_INFORMATION
	FileID64ExtdDirectoryInformation: {nameOff: 80, ea: 64, tag: 68, id64: 72, id128: -1, short: -1},
	// FILE_ID_64_EXTD_BOTH_DIR_INFORMATION
	FileID64ExtdBothDirectoryInformation: {nameOff: 106, ea: 64, tag: 68, id64: 72, id128: -1, short: 80},
	// FILE_ID_ALL_EXTD_DIR_INFORMATION
	FileIDAllExtdDirectoryInformation: {nameOff: 96, ea: 64, tag: 68, id64: 72, id128: 80, short: -1},
	// FILE_ID_ALL_EXTD_BOTH_DIR_INFORMATION
	FileIDAllExtdBothDirectoryInformation: {nameOff: 122, ea: 64, tag: 68, id64: 72, id128: 80, short: 96},
}

// shortNameMax is the size of the ShortName field in bytes (12 WCHARs).
const shortNameMax = 24

// DirEntryFixedSize returns the size of a class's entry without the name
// (FieldOffset(FileName)); MS-FSA 2.1.5.6.3 fails a QUERY_DIRECTORY whose
// OutputBufferLength is below it with STATUS_INFO_LENGTH_MISMATCH.
func DirEntryFixedSize(class uint8) (int, error) {
	l, ok := dirLayouts[class]
	if !ok {
		return 0, fmt.Errorf("fscc: directory class %d: %w", class, ErrInvalidInfoClass)
	}
	return l.nameOff, nil
}

// DirEntryLen returns the length of the entry AppendDirEntry appends
// (without alignment padding).
func DirEntryLen(class uint8, fi *FileInfo) (int, error) {
	n, err := DirEntryFixedSize(class)
	if err != nil {
		return 0, err
	}
	return n + UTF16Len(fi.Name), nil
}

// AppendDirEntry appends one directory entry of class for fi, with
// NextEntryOffset 0 and no trailing padding. Unknown classes return
// ErrInvalidInfoClass. Use DirWriter to build a chained list.
func AppendDirEntry(b []byte, class uint8, fi *FileInfo) ([]byte, error) {
	l, ok := dirLayouts[class]
	if !ok {
		return b, fmt.Errorf("fscc: directory class %d: %w", class, ErrInvalidInfoClass)
	}
	start := len(b)
	b = append(b, make([]byte, l.nameOff)...)
	e := b[start:]
	nameLen := uint32(UTF16Len(fi.Name))
	binary.LittleEndian.PutUint32(e[4:], fi.FileIndex)
	if class == FileNamesInformation {
		binary.LittleEndian.PutUint32(e[8:], nameLen)
		return AppendUTF16(b, fi.Name), nil
	}
	attrs := fi.attributes()
	tag := uint32(0)
	if attrs&FileAttributeReparsePoint != 0 {
		tag = fi.ReparseTag
	}
	binary.LittleEndian.PutUint64(e[8:], fi.Creation)
	binary.LittleEndian.PutUint64(e[16:], fi.Access)
	binary.LittleEndian.PutUint64(e[24:], fi.Write)
	binary.LittleEndian.PutUint64(e[32:], fi.Change)
	binary.LittleEndian.PutUint64(e[40:], uint64(fi.EndOfFile))
	binary.LittleEndian.PutUint64(e[48:], uint64(fi.AllocationSize))
	binary.LittleEndian.PutUint32(e[56:], attrs)
	binary.LittleEndian.PutUint32(e[60:], nameLen)
	if l.ea >= 0 {
		// MS-FSCC 2.4 etc.: "If FILE_ATTRIBUTE_REPARSE_POINT is set in
		// the FileAttributes field, this field MUST contain a reparse tag"
		// for the classes without a ReparsePointTag field.
		ea := fi.EASize
		if l.eaIsTag && attrs&FileAttributeReparsePoint != 0 {
			ea = tag
		}
		binary.LittleEndian.PutUint32(e[l.ea:], ea)
	}
	if l.tag >= 0 {
		binary.LittleEndian.PutUint32(e[l.tag:], tag)
	}
	if l.id64 >= 0 {
		binary.LittleEndian.PutUint64(e[l.id64:], fi.FileID)
	}
	if l.id128 >= 0 {
		id := fi.id128()
		copy(e[l.id128:], id[:])
	}
	if l.short >= 0 && fi.ShortName != "" {
		sn := appendShortName(e[l.short+2:l.short+2], fi.ShortName)
		e[l.short] = byte(len(sn))
	}
	return AppendUTF16(b, fi.Name), nil
}

// appendShortName appends at most 12 UTF-16 code units of s without
// splitting a surrogate pair.
func appendShortName(b []byte, s string) []byte {
	for _, r := range s {
		n := 2
		if r >= 0x10000 {
			n = 4
		}
		if len(b)+n > shortNameMax {
			break
		}
		b = AppendUTF16(b, string(r))
	}
	return b
}

// DirWriter builds the OutputBuffer of a QUERY_DIRECTORY response: entries
// aligned on 8-byte boundaries (relative to the start of the buffer), each
// NextEntryOffset pointing at the next entry and the last one 0, no padding
// after the last entry (MS-FSCC 2.4 directory classes; MS-SMB2 3.3.5.18).
type DirWriter struct {
	buf   []byte
	base  int // start of the output within buf
	max   int // OutputBufferLength
	class uint8
	last  int // offset of the last entry in buf, or -1
	count int
}

// NewDirWriter returns a writer appending to b (which may hold a prefix such
// as the response header) for class, refusing entries beyond maxOut bytes of
// output. Unknown classes return ErrInvalidInfoClass.
func NewDirWriter(b []byte, class uint8, maxOut int) (*DirWriter, error) {
	if _, err := DirEntryFixedSize(class); err != nil {
		return nil, err
	}
	return &DirWriter{buf: b, base: len(b), max: maxOut, class: class, last: -1}, nil
}

// Add appends fi if the padded entry fits in the output limit and reports
// whether it did. When it returns false nothing was written: the server
// keeps fi for the next QUERY_DIRECTORY. The writer never emits a partial
// entry; if no entry fits at all (Count() == 0) the server chooses the
// status per MS-FSA 2.1.5.6.3 (STATUS_INFO_LENGTH_MISMATCH below
// DirEntryFixedSize).
func (w *DirWriter) Add(fi *FileInfo) bool {
	n, _ := DirEntryLen(w.class, fi)
	start := len(w.buf)
	if w.last >= 0 {
		start = w.base + align8(len(w.buf)-w.base)
	}
	if start-w.base+n > w.max {
		return false
	}
	for len(w.buf) < start {
		w.buf = append(w.buf, 0)
	}
	if w.last >= 0 {
		binary.LittleEndian.PutUint32(w.buf[w.last:], uint32(start-w.last))
	}
	w.buf, _ = AppendDirEntry(w.buf, w.class, fi)
	w.last = start
	w.count++
	return true
}

// Count returns the number of entries written.
func (w *DirWriter) Count() int { return w.count }

// Len returns the length of the output written so far (without the prefix).
func (w *DirWriter) Len() int { return len(w.buf) - w.base }

// Bytes returns the buffer: the prefix given to NewDirWriter followed by the
// entries.
func (w *DirWriter) Bytes() []byte { return w.buf }

// DirEntry is a decoded directory entry (for tests and clients): the common
// fields of all classes, zero where a class lacks them.
type DirEntry struct {
	NextEntryOffset uint32
	FileInfo
}

// DecodeDirEntries decodes a chain of class entries, validating every
// NextEntryOffset (forward, 8-byte aligned per MS-FSCC, inside the buffer).
func DecodeDirEntries(b []byte, class uint8) ([]DirEntry, error) {
	l, ok := dirLayouts[class]
	if !ok {
		return nil, fmt.Errorf("fscc: directory class %d: %w", class, ErrInvalidInfoClass)
	}
	const what = "directory entry"
	var out []DirEntry
	off := 0
	for {
		if len(b)-off < l.nameOff {
			return nil, short(what, off+l.nameOff, len(b))
		}
		e := b[off:]
		var d DirEntry
		d.NextEntryOffset = u32(e)
		d.FileIndex = u32(e[4:])
		var nameLen int
		if class == FileNamesInformation {
			nameLen = int(u32(e[8:]))
		} else {
			d.Creation = u64(e[8:])
			d.Access = u64(e[16:])
			d.Write = u64(e[24:])
			d.Change = u64(e[32:])
			d.EndOfFile = int64(u64(e[40:]))
			d.AllocationSize = int64(u64(e[48:]))
			d.Attributes = u32(e[56:])
			nameLen = int(u32(e[60:]))
			if l.ea >= 0 {
				d.EASize = u32(e[l.ea:])
			}
			if l.tag >= 0 {
				d.ReparseTag = u32(e[l.tag:])
			}
			if l.id64 >= 0 {
				d.FileID = u64(e[l.id64:])
			}
			if l.id128 >= 0 {
				copy(d.FileID128[:], e[l.id128:l.id128+16])
			}
			if l.short >= 0 {
				sl := int(e[l.short])
				if sl > shortNameMax {
					return nil, malformed(what, "ShortNameLength %d > %d", sl, shortNameMax)
				}
				s, err := decodeName(what, "ShortName", e[l.short+2:l.short+2+sl])
				if err != nil {
					return nil, err
				}
				d.ShortName = s
			}
			d.Directory = d.Attributes&FileAttributeDirectory != 0
		}
		if nameLen > len(e)-l.nameOff {
			return nil, short(what, off+l.nameOff+nameLen, len(b))
		}
		name, err := decodeName(what, "FileName", e[l.nameOff:l.nameOff+nameLen])
		if err != nil {
			return nil, err
		}
		d.Name = name
		out = append(out, d)
		next := int(d.NextEntryOffset)
		if next == 0 {
			return out, nil
		}
		if next < l.nameOff+nameLen || next%8 != 0 {
			return nil, malformed(what, "NextEntryOffset %d invalid for entry of %d bytes", next, l.nameOff+nameLen)
		}
		if next > len(e) {
			return nil, short(what, off+next, len(b))
		}
		off += next
	}
}
