package fscc

// Special FILETIME values in a SET_INFO FileBasicInformation
// (MS-FSCC 2.4): 0 leaves the time unchanged; -1 leaves it unchanged and
// stops the file system from updating it automatically for the rest of the
// handle's life; -2 resumes automatic updates.
const (
	TimeNoChange       uint64 = 0
	TimeSuspendUpdates uint64 = 0xFFFFFFFFFFFFFFFF // -1
	TimeResumeUpdates  uint64 = 0xFFFFFFFFFFFFFFFE // -2
)

// BasicInformation is a decoded SET_INFO FILE_BASIC_INFORMATION (MS-FSCC
// 2.4). Times hold raw FILETIMEs including the special values above;
// Attributes 0 means "do not change".
type BasicInformation struct {
	Creation, Access, Write, Change uint64
	Attributes                      uint32
}

// DecodeBasicInformation decodes FILE_BASIC_INFORMATION. It requires the
// full 40 bytes and rejects times below -2 (MS-FSA 2.1.5.14: "If any of
// the time fields is less than -2, the operation MUST be failed with
// STATUS_INVALID_PARAMETER").
func DecodeBasicInformation(b []byte) (BasicInformation, error) {
	const what = "FILE_BASIC_INFORMATION"
	if len(b) < BasicInformationSize {
		return BasicInformation{}, short(what, BasicInformationSize, len(b))
	}
	bi := BasicInformation{
		Creation:   u64(b[0:]),
		Access:     u64(b[8:]),
		Write:      u64(b[16:]),
		Change:     u64(b[24:]),
		Attributes: u32(b[32:]),
	}
	for _, t := range [...]uint64{bi.Creation, bi.Access, bi.Write, bi.Change} {
		if int64(t) < -2 {
			return BasicInformation{}, malformed(what, "time %d below -2", int64(t))
		}
	}
	return bi, nil
}

// Append encodes the structure (40 bytes).
func (bi *BasicInformation) Append(b []byte) []byte {
	b = le64(b, bi.Creation)
	b = le64(b, bi.Access)
	b = le64(b, bi.Write)
	b = le64(b, bi.Change)
	b = le32(b, bi.Attributes)
	return le32(b, 0)
}

// RenameInformation is FILE_RENAME_INFORMATION in its SMB2 form (MS-FSCC
// 2.4, "FILE_RENAME_INFORMATION_TYPE_2"): ReplaceIfExists (1),
// Reserved (7), RootDirectory (8), FileNameLength (4), FileName. The same
// layout serves FileLinkInformation (2.4.28.2). For the Ex classes
// (FileRenameInformationEx, FileLinkInformationEx) the first 4 bytes are
// Flags instead.
type RenameInformation struct {
	ReplaceIfExists bool
	Flags           uint32 // Ex classes only; FileRenameReplaceIfExists etc.
	RootDirectory   uint64 // MS-SMB2 2.2.39: MUST be 0 for network operations
	FileName        string
}

// DecodeRenameInformation decodes FileRenameInformation or
// FileLinkInformation (ex false) or their Ex variants (ex true, where Flags
// is decoded and ReplaceIfExists is set from its
// FileRenameReplaceIfExists bit).
func DecodeRenameInformation(b []byte, ex bool) (RenameInformation, error) {
	const what = "FILE_RENAME_INFORMATION"
	if len(b) < RenameInformationSize {
		return RenameInformation{}, short(what, RenameInformationSize, len(b))
	}
	var ri RenameInformation
	if ex {
		ri.Flags = u32(b)
		ri.ReplaceIfExists = ri.Flags&FileRenameReplaceIfExists != 0
	} else {
		ri.ReplaceIfExists = b[0] != 0
	}
	ri.RootDirectory = u64(b[8:])
	n := int(u32(b[16:]))
	if n > len(b)-RenameInformationSize {
		return RenameInformation{}, short(what, RenameInformationSize+n, len(b))
	}
	if n == 0 {
		return RenameInformation{}, malformed(what, "empty FileName")
	}
	name, err := decodeName(what, "FileName", b[RenameInformationSize:RenameInformationSize+n])
	if err != nil {
		return RenameInformation{}, err
	}
	ri.FileName = name
	return ri, nil
}

// Append encodes the structure in its SMB2 form; ex selects the Flags form.
func (ri *RenameInformation) Append(b []byte, ex bool) []byte {
	if ex {
		b = le32(b, ri.Flags)
		b = le32(b, 0)
	} else {
		b = append(b, boolByte(ri.ReplaceIfExists), 0, 0, 0, 0, 0, 0, 0)
	}
	b = le64(b, ri.RootDirectory)
	b = le32(b, uint32(UTF16Len(ri.FileName)))
	return AppendUTF16(b, ri.FileName)
}

// DecodeDispositionInformation decodes FILE_DISPOSITION_INFORMATION
// (MS-FSCC 2.4): one byte, DeletePending.
func DecodeDispositionInformation(b []byte) (deletePending bool, err error) {
	if len(b) < DispositionInformationSize {
		return false, short("FILE_DISPOSITION_INFORMATION", DispositionInformationSize, len(b))
	}
	return b[0] != 0, nil
}

// DecodeDispositionInformationEx decodes FILE_DISPOSITION_INFORMATION_EX
// (MS-FSCC 2.4): Flags (FileDisposition*).
func DecodeDispositionInformationEx(b []byte) (flags uint32, err error) {
	if len(b) < DispositionInformationExSize {
		return 0, short("FILE_DISPOSITION_INFORMATION_EX", DispositionInformationExSize, len(b))
	}
	return u32(b), nil
}

// decode8 decodes a structure of one little-endian 64-bit field.
func decode8(what string, b []byte) (int64, error) {
	if len(b) < 8 {
		return 0, short(what, 8, len(b))
	}
	return int64(u64(b)), nil
}

// DecodePositionInformation decodes FILE_POSITION_INFORMATION (MS-FSCC
// 2.4). MS-FSA 2.1.5.14 requires the server to reject offsets that
// are not a multiple of the alignment requirement; negative offsets are
// rejected here.
func DecodePositionInformation(b []byte) (int64, error) {
	v, err := decode8("FILE_POSITION_INFORMATION", b)
	if err == nil && v < 0 {
		return 0, malformed("FILE_POSITION_INFORMATION", "negative CurrentByteOffset %d", v)
	}
	return v, err
}

// DecodeModeInformation decodes FILE_MODE_INFORMATION (MS-FSCC 2.4).
// Only FileWriteThrough, FileSequentialOnly, FileNoIntermediateBuffering,
// FileSynchronousIOAlert, FileSynchronousIONonalert and FileDeleteOnClose
// are defined; MS-FSA 2.1.5.14 fails other bits with
// STATUS_INVALID_PARAMETER.
func DecodeModeInformation(b []byte) (uint32, error) {
	const what = "FILE_MODE_INFORMATION"
	if len(b) < ModeInformationSize {
		return 0, short(what, ModeInformationSize, len(b))
	}
	m := u32(b)
	const valid = FileWriteThrough | FileSequentialOnly | FileNoIntermediateBuffering |
		FileSynchronousIOAlert | FileSynchronousIONonalert | FileDeleteOnClose
	if m&^valid != 0 {
		return 0, malformed(what, "undefined Mode bits %#x", m&^valid)
	}
	return m, nil
}

// DecodeAllocationInformation decodes FILE_ALLOCATION_INFORMATION (MS-FSCC
// 2.4): AllocationSize. Negative sizes are rejected.
func DecodeAllocationInformation(b []byte) (int64, error) {
	return decodeSize("FILE_ALLOCATION_INFORMATION", b)
}

// DecodeEndOfFileInformation decodes FILE_END_OF_FILE_INFORMATION (MS-FSCC
// FileEndOfFileInformation): EndOfFile. Negative sizes are
// rejected.
func DecodeEndOfFileInformation(b []byte) (int64, error) {
	return decodeSize("FILE_END_OF_FILE_INFORMATION", b)
}

// DecodeValidDataLengthInformation decodes
// FILE_VALID_DATA_LENGTH_INFORMATION (MS-FSCC 2.4): ValidDataLength.
func DecodeValidDataLengthInformation(b []byte) (int64, error) {
	return decodeSize("FILE_VALID_DATA_LENGTH_INFORMATION", b)
}

func decodeSize(what string, b []byte) (int64, error) {
	v, err := decode8(what, b)
	if err == nil && v < 0 {
		return 0, malformed(what, "negative size %d", v)
	}
	return v, err
}

// DecodeShortNameInformation decodes FILE_NAME_INFORMATION as used by
// SET_INFO FileShortNameInformation (MS-FSCC 2.4): FileNameLength and the
// 8.3 name.
func DecodeShortNameInformation(b []byte) (string, error) {
	return DecodeNameInformation(b)
}

// DecodeNameInformation decodes FILE_NAME_INFORMATION (MS-FSCC 2.4).
func DecodeNameInformation(b []byte) (string, error) {
	const what = "FILE_NAME_INFORMATION"
	if len(b) < NameInformationSize {
		return "", short(what, NameInformationSize, len(b))
	}
	n := int(u32(b))
	if n > len(b)-NameInformationSize {
		return "", short(what, NameInformationSize+n, len(b))
	}
	return decodeName(what, "FileName", b[NameInformationSize:NameInformationSize+n])
}

// DecodeCaseSensitiveInformation decodes FILE_CASE_SENSITIVE_INFORMATION
// (MS-FSCC 2.4): Flags.
func DecodeCaseSensitiveInformation(b []byte) (uint32, error) {
	if len(b) < CaseSensitiveInformationSize {
		return 0, short("FILE_CASE_SENSITIVE_INFORMATION", CaseSensitiveInformationSize, len(b))
	}
	return u32(b), nil
}

// SetInfoMinSize returns the smallest SET_INFO buffer for a file class;
// MS-SMB2 3.3.5.21.1 / MS-FSA 2.1.5.14 fail shorter buffers with
// STATUS_INFO_LENGTH_MISMATCH. ok is false for classes without a decoder
// here.
func SetInfoMinSize(class uint8) (n int, ok bool) {
	switch class {
	case FileBasicInformation:
		return BasicInformationSize, true
	case FileRenameInformation, FileRenameInformationEx:
		return RenameInformationSize, true
	case FileLinkInformation, FileLinkInformationEx:
		return LinkInformationSize, true
	case FileDispositionInformation:
		return DispositionInformationSize, true
	case FileDispositionInformationEx:
		return DispositionInformationExSize, true
	case FilePositionInformation, FileAllocationInformation, FileEndOfFileInformation,
		FileValidDataLengthInformation:
		return 8, true
	case FileModeInformation:
		return ModeInformationSize, true
	case FileFullEaInformation:
		return FullEaInformationSize, true
	case FileShortNameInformation:
		return NameInformationSize, true
	case FileCaseSensitiveInformation:
		return CaseSensitiveInformationSize, true
	}
	return 0, false
}

// Len returns the encoded length.
func (ri *RenameInformation) Len() int { return RenameInformationSize + UTF16Len(ri.FileName) }
