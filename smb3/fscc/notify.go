package fscc

import "encoding/binary"

// CompletionFilter bits of an SMB2 CHANGE_NOTIFY request (MS-SMB2 2.2.35).
const (
	FileNotifyChangeFileName    = 0x00000001
	FileNotifyChangeDirName     = 0x00000002
	FileNotifyChangeAttributes  = 0x00000004
	FileNotifyChangeSize        = 0x00000008
	FileNotifyChangeLastWrite   = 0x00000010
	FileNotifyChangeLastAccess  = 0x00000020
	FileNotifyChangeCreation    = 0x00000040
	FileNotifyChangeEA          = 0x00000080
	FileNotifyChangeSecurity    = 0x00000100
	FileNotifyChangeStreamName  = 0x00000200
	FileNotifyChangeStreamSize  = 0x00000400
	FileNotifyChangeStreamWrite = 0x00000800
)

// FILE_NOTIFY_INFORMATION Action values (MS-FSCC 2.7.1).
const (
	FileActionAdded                = 0x00000001
	FileActionRemoved              = 0x00000002
	FileActionModified             = 0x00000003
	FileActionRenamedOldName       = 0x00000004
	FileActionRenamedNewName       = 0x00000005
	FileActionAddedStream          = 0x00000006
	FileActionRemovedStream        = 0x00000007
	FileActionModifiedStream       = 0x00000008
	FileActionRemovedByDelete      = 0x00000009
	FileActionIDNotTunnelled       = 0x0000000A
	FileActionTunnelledIDCollision = 0x0000000B
)

// NotifyInformationSize is the size of a FILE_NOTIFY_INFORMATION entry
// before FileName.
const NotifyInformationSize = 12

// Notify is one FILE_NOTIFY_INFORMATION entry: an action on a name relative
// to the watched directory.
type Notify struct {
	Action uint32
	Name   string
}

// AppendNotifyInformation appends the CHANGE_NOTIFY output (MS-FSCC 2.7.1):
// FILE_NOTIFY_INFORMATION entries aligned on 4-byte boundaries, each
// NextEntryOffset pointing at the next, 0 in the last. If the whole list
// does not fit in max bytes nothing is appended and overflow is true: per
// MS-SMB2 3.3.5.19 the server then completes the request with
// STATUS_NOTIFY_ENUM_DIR and no data.
func AppendNotifyInformation(b []byte, ns []Notify, max int) (out []byte, overflow bool) {
	if NotifyListLen(ns) > max {
		return b, true
	}
	base := len(b)
	prev := -1
	for _, n := range ns {
		if prev >= 0 {
			for (len(b)-base)%4 != 0 {
				b = append(b, 0)
			}
			binary.LittleEndian.PutUint32(b[prev:], uint32(len(b)-prev))
		}
		prev = len(b)
		b = le32(b, 0)
		b = le32(b, n.Action)
		b = le32(b, uint32(UTF16Len(n.Name)))
		b = AppendUTF16(b, n.Name)
	}
	return b, false
}

// NotifyListLen returns the length AppendNotifyInformation appends for ns.
func NotifyListLen(ns []Notify) int {
	n := 0
	for i := range ns {
		if i > 0 {
			n = align4(n)
		}
		n += NotifyInformationSize + UTF16Len(ns[i].Name)
	}
	return n
}

// DecodeNotifyInformation decodes a FILE_NOTIFY_INFORMATION chain (clients,
// tests), validating each NextEntryOffset.
func DecodeNotifyInformation(b []byte) ([]Notify, error) {
	const what = "FILE_NOTIFY_INFORMATION"
	var out []Notify
	off := 0
	for {
		if len(b)-off < NotifyInformationSize {
			return nil, short(what, off+NotifyInformationSize, len(b))
		}
		e := b[off:]
		next := int(u32(e))
		nameLen := int(u32(e[8:]))
		if nameLen > len(e)-NotifyInformationSize {
			return nil, short(what, off+NotifyInformationSize+nameLen, len(b))
		}
		name, err := decodeName(what, "FileName", e[NotifyInformationSize:NotifyInformationSize+nameLen])
		if err != nil {
			return nil, err
		}
		out = append(out, Notify{Action: u32(e[4:]), Name: name})
		if next == 0 {
			return out, nil
		}
		if next < NotifyInformationSize+nameLen || next%4 != 0 {
			return nil, malformed(what, "NextEntryOffset %d invalid for entry of %d bytes", next, NotifyInformationSize+nameLen)
		}
		if next > len(e) {
			return nil, short(what, off+next, len(b))
		}
		off += next
	}
}
