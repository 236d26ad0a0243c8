package fscc

import (
	"encoding/binary"
	"fmt"
)

// FileInfo is what a server knows about one file or directory after a stat.
// It is the common input of the query-info and directory encoders; each
// encoder uses the fields its class carries.
type FileInfo struct {
	// Name is the name to report: the last component for directory
	// entries, the path (from the share root, starting with `\`) for
	// FileNameInformation/FileAllInformation, as the server decides.
	Name string
	// ShortName is the 8.3 name (at most 12 UTF-16 code units); empty if
	// the file has none.
	ShortName string

	FileIndex uint32   // FileIndex of directory entries; 0 where undefined (MS-FSCC 2.4)
	FileID    uint64   // 64-bit file ID (MS-FSCC 2.1): inode number
	FileID128 [16]byte // 128-bit file ID (MS-FSCC 2.1); all zero means FileID zero-extended
	// VolumeSerial is the 64-bit volume serial number of FileIdInformation.
	VolumeSerial uint64

	EASize uint32 // EaSize: size of the EAs in FILE_FULL_EA_INFORMATION form; 0 if none

	// FILETIMEs (see Filetime).
	Creation, Access, Write, Change uint64

	EndOfFile, AllocationSize int64

	// Attributes are the FILE_ATTRIBUTE_* bits. Encoders add
	// FileAttributeDirectory when Directory is set, and report
	// FileAttributeNormal when no bit is set (MS-FSA 2.1.5.12).
	Attributes uint32
	Nlink      uint32
	// DeletePending and Directory feed FileStandardInformation.
	DeletePending, Directory bool
	ReparseTag               uint32 // reparse tag if FileAttributeReparsePoint; else 0

	// EffectiveAccess is the access mask of FileStatInformation.
	EffectiveAccess uint32
}

// attributes returns the attributes to put on the wire.
func (fi *FileInfo) attributes() uint32 {
	a := fi.Attributes
	if fi.Directory {
		a |= FileAttributeDirectory
	}
	if a&^FileAttributeNormal != 0 {
		a &^= FileAttributeNormal
	}
	if a == 0 {
		a = FileAttributeNormal
	}
	return a
}

// id128 returns the 128-bit file ID.
func (fi *FileInfo) id128() [16]byte {
	if fi.FileID128 != ([16]byte{}) {
		return fi.FileID128
	}
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:], fi.FileID)
	return id
}

// OpenInfo is per-open state that FileAllInformation and its parts report.
// MS-SMB2 3.3.5.20.1: for FilePositionInformation the server SHOULD report
// CurrentByteOffset 0.
type OpenInfo struct {
	AccessFlags          uint32 // granted access mask (FileAccessInformation)
	CurrentByteOffset    int64  // FilePositionInformation
	Mode                 uint32 // FileModeInformation (FileWriteThrough, ...)
	AlignmentRequirement uint32 // FileAlignmentInformation; 0 = byte aligned
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Fixed sizes of the query-info structures (MS-FSCC 2.4). For classes with a
// trailing name or list this is the size without it.
const (
	BasicInformationSize           = 40
	StandardInformationSize        = 24
	InternalInformationSize        = 8
	EaInformationSize              = 4
	AccessInformationSize          = 4
	NameInformationSize            = 4 // FileNameLength; the name follows
	PositionInformationSize        = 8
	ModeInformationSize            = 4
	AlignmentInformationSize       = 4
	AllInformationSize             = 100 // FileName starts at offset 100
	StreamInformationSize          = 24  // per entry, before StreamName
	CompressionInformationSize     = 16
	NetworkOpenInformationSize     = 56
	AttributeTagInformationSize    = 8
	IDInformationSize              = 24
	StatInformationSize            = 72
	StatLxInformationSize          = 96
	CaseSensitiveInformationSize   = 4
	FullEaInformationSize          = 8 // per entry, before EaName
	DispositionInformationSize     = 1
	DispositionInformationExSize   = 4
	AllocationInformationSize      = 8
	EndOfFileInformationSize       = 8
	ValidDataLengthInformationSize = 8
	RenameInformationSize          = 20 // SMB2 form (MS-FSCC 2.4); the name follows
	LinkInformationSize            = 20
)

// AppendBasicInformation appends FILE_BASIC_INFORMATION (MS-FSCC 2.4,
// 40 bytes).
func AppendBasicInformation(b []byte, fi *FileInfo) []byte {
	b = le64(b, fi.Creation)
	b = le64(b, fi.Access)
	b = le64(b, fi.Write)
	b = le64(b, fi.Change)
	b = le32(b, fi.attributes())
	return le32(b, 0) // Reserved
}

// AppendStandardInformation appends FILE_STANDARD_INFORMATION (MS-FSCC
// 2.4, 24 bytes).
func AppendStandardInformation(b []byte, fi *FileInfo) []byte {
	b = le64(b, uint64(fi.AllocationSize))
	b = le64(b, uint64(fi.EndOfFile))
	b = le32(b, fi.Nlink)
	b = append(b, boolByte(fi.DeletePending), boolByte(fi.Directory))
	return le16(b, 0) // Reserved
}

// AppendInternalInformation appends FILE_INTERNAL_INFORMATION (MS-FSCC
// 2.4): the 64-bit file ID.
func AppendInternalInformation(b []byte, fi *FileInfo) []byte { return le64(b, fi.FileID) }

// AppendEaInformation appends FILE_EA_INFORMATION (MS-FSCC 2.4).
func AppendEaInformation(b []byte, fi *FileInfo) []byte { return le32(b, fi.EASize) }

// AppendAccessInformation appends FILE_ACCESS_INFORMATION (MS-FSCC 2.4).
func AppendAccessInformation(b []byte, access uint32) []byte { return le32(b, access) }

// AppendPositionInformation appends FILE_POSITION_INFORMATION (MS-FSCC 2.4).
func AppendPositionInformation(b []byte, offset int64) []byte { return le64(b, uint64(offset)) }

// AppendModeInformation appends FILE_MODE_INFORMATION (MS-FSCC 2.4).
func AppendModeInformation(b []byte, mode uint32) []byte { return le32(b, mode) }

// AppendAlignmentInformation appends FILE_ALIGNMENT_INFORMATION (MS-FSCC 2.4).
func AppendAlignmentInformation(b []byte, align uint32) []byte { return le32(b, align) }

// AppendNameInformation appends FILE_NAME_INFORMATION (MS-FSCC 2.4):
// FileNameLength then the UTF-16LE name. FileNormalizedNameInformation
// and FileAlternateNameInformation use the same layout.
func AppendNameInformation(b []byte, name string) []byte {
	b = le32(b, uint32(UTF16Len(name)))
	return AppendUTF16(b, name)
}

// AppendAllInformation appends FILE_ALL_INFORMATION (MS-FSCC 2.4): the
// basic, standard, internal, EA, access, position, mode, alignment and name
// structures back to back (100 bytes + the name). The name is fi.Name;
// MS-SMB2 3.3.5.20.1 says a server SHOULD return an empty name here, so a
// server following it passes a FileInfo with Name "".
func AppendAllInformation(b []byte, fi *FileInfo, oi *OpenInfo) []byte {
	b = AppendBasicInformation(b, fi)
	b = AppendStandardInformation(b, fi)
	b = AppendInternalInformation(b, fi)
	b = AppendEaInformation(b, fi)
	b = AppendAccessInformation(b, oi.AccessFlags)
	b = AppendPositionInformation(b, oi.CurrentByteOffset)
	b = AppendModeInformation(b, oi.Mode)
	b = AppendAlignmentInformation(b, oi.AlignmentRequirement)
	return AppendNameInformation(b, fi.Name)
}

// CompressionInformation is FILE_COMPRESSION_INFORMATION (MS-FSCC 2.4).
type CompressionInformation struct {
	CompressedFileSize   int64
	CompressionFormat    uint16
	CompressionUnitShift uint8
	ChunkShift           uint8
	ClusterShift         uint8
}

// Append appends the 16-byte structure.
func (c *CompressionInformation) Append(b []byte) []byte {
	b = le64(b, uint64(c.CompressedFileSize))
	b = le16(b, c.CompressionFormat)
	return append(b, c.CompressionUnitShift, c.ChunkShift, c.ClusterShift, 0, 0, 0)
}

// AppendNetworkOpenInformation appends FILE_NETWORK_OPEN_INFORMATION
// (MS-FSCC 2.4, 56 bytes).
func AppendNetworkOpenInformation(b []byte, fi *FileInfo) []byte {
	b = le64(b, fi.Creation)
	b = le64(b, fi.Access)
	b = le64(b, fi.Write)
	b = le64(b, fi.Change)
	b = le64(b, uint64(fi.AllocationSize))
	b = le64(b, uint64(fi.EndOfFile))
	b = le32(b, fi.attributes())
	return le32(b, 0) // Reserved
}

// AppendAttributeTagInformation appends FILE_ATTRIBUTE_TAG_INFORMATION
// (MS-FSCC 2.4, 8 bytes).
func AppendAttributeTagInformation(b []byte, fi *FileInfo) []byte {
	b = le32(b, fi.attributes())
	tag := uint32(0)
	if fi.Attributes&FileAttributeReparsePoint != 0 {
		tag = fi.ReparseTag
	}
	return le32(b, tag)
}

// AppendIDInformation appends FILE_ID_INFORMATION (MS-FSCC 2.4, 24
// bytes): VolumeSerialNumber (8) and the 128-bit FileId.
func AppendIDInformation(b []byte, fi *FileInfo) []byte {
	b = le64(b, fi.VolumeSerial)
	id := fi.id128()
	return append(b, id[:]...)
}

// AppendStatInformation appends FILE_STAT_INFORMATION (MS-FSCC 2.4,
// 72 bytes). Note AllocationSize precedes EndOfFile here.
func AppendStatInformation(b []byte, fi *FileInfo) []byte {
	b = le64(b, fi.FileID)
	b = le64(b, fi.Creation)
	b = le64(b, fi.Access)
	b = le64(b, fi.Write)
	b = le64(b, fi.Change)
	b = le64(b, uint64(fi.AllocationSize))
	b = le64(b, uint64(fi.EndOfFile))
	b = le32(b, fi.attributes())
	b = le32(b, fi.ReparseTag)
	b = le32(b, fi.Nlink)
	return le32(b, fi.EffectiveAccess)
}

// LxInfo is the POSIX part of FILE_STAT_LX_INFORMATION (MS-FSCC 2.4).
type LxInfo struct {
	Flags                    uint32 // LX_FILE_METADATA_HAS_* bits
	UID, GID, Mode           uint32
	DeviceMajor, DeviceMinor uint32
}

// LX_FILE_METADATA flags of FILE_STAT_LX_INFORMATION.LxFlags.
const (
	LxFileMetadataHasUID      = 0x1
	LxFileMetadataHasGID      = 0x2
	LxFileMetadataHasMode     = 0x4
	LxFileMetadataHasDeviceID = 0x8
	LxFileCaseSensitiveDir    = 0x10
)

// AppendStatLxInformation appends FILE_STAT_LX_INFORMATION (96 bytes).
func AppendStatLxInformation(b []byte, fi *FileInfo, lx *LxInfo) []byte {
	b = AppendStatInformation(b, fi)
	b = le32(b, lx.Flags)
	b = le32(b, lx.UID)
	b = le32(b, lx.GID)
	b = le32(b, lx.Mode)
	b = le32(b, lx.DeviceMajor)
	return le32(b, lx.DeviceMinor)
}

// AppendCaseSensitiveInformation appends FILE_CASE_SENSITIVE_INFORMATION
// (MS-FSCC 2.4): Flags, FILE_CS_FLAG_CASE_SENSITIVE_DIR = 1.
func AppendCaseSensitiveInformation(b []byte, flags uint32) []byte { return le32(b, flags) }

// StreamInfo is one entry of FileStreamInformation.
type StreamInfo struct {
	Name           string // full form, e.g. "::$DATA" or ":name:$DATA"
	Size           int64
	AllocationSize int64
}

// AppendStreamInformation appends a FILE_STREAM_INFORMATION list (MS-FSCC
// 2.4): entries 8-byte aligned, NextEntryOffset chaining, 0 in the last.
// It stops before an entry that would make the output exceed max bytes and
// reports overflow; per MS-FSA 2.1.5.12.29 the server then returns
// STATUS_BUFFER_OVERFLOW. With no entries it appends nothing.
func AppendStreamInformation(b []byte, streams []StreamInfo, max int) (out []byte, overflow bool) {
	base := len(b)
	prev := -1
	for i := range streams {
		s := &streams[i]
		start := len(b)
		if prev >= 0 {
			start = base + align8(len(b)-base)
		}
		nameLen := UTF16Len(s.Name)
		if start-base+StreamInformationSize+nameLen > max {
			return b, true
		}
		b = append(b, make([]byte, start-len(b))...)
		if prev >= 0 {
			binary.LittleEndian.PutUint32(b[prev:], uint32(start-prev))
		}
		prev = start
		b = le32(b, 0) // NextEntryOffset
		b = le32(b, uint32(nameLen))
		b = le64(b, uint64(s.Size))
		b = le64(b, uint64(s.AllocationSize))
		b = AppendUTF16(b, s.Name)
	}
	return b, false
}

func align8(n int) int { return (n + 7) &^ 7 }
func align4(n int) int { return (n + 3) &^ 3 }

// AppendFileInfo appends the query-info structure of class for the classes
// that FileInfo and OpenInfo fully describe: basic, standard, internal, EA,
// access, name, position, mode, alignment, all, alternate name, network
// open, attribute tag, normalized name, id, stat. Other classes (stream, full
// EA, compression, ...) have their own encoders and return
// ErrInvalidInfoClass here. oi may be nil for classes that do not use it.
func AppendFileInfo(b []byte, class uint8, fi *FileInfo, oi *OpenInfo) ([]byte, error) {
	if oi == nil {
		oi = &OpenInfo{}
	}
	switch class {
	case FileBasicInformation:
		return AppendBasicInformation(b, fi), nil
	case FileStandardInformation:
		return AppendStandardInformation(b, fi), nil
	case FileInternalInformation:
		return AppendInternalInformation(b, fi), nil
	case FileEaInformation:
		return AppendEaInformation(b, fi), nil
	case FileAccessInformation:
		return AppendAccessInformation(b, oi.AccessFlags), nil
	case FileNameInformation, FileNormalizedNameInformation:
		return AppendNameInformation(b, fi.Name), nil
	case FileAlternateNameInformation:
		return AppendNameInformation(b, fi.ShortName), nil
	case FilePositionInformation:
		return AppendPositionInformation(b, oi.CurrentByteOffset), nil
	case FileModeInformation:
		return AppendModeInformation(b, oi.Mode), nil
	case FileAlignmentInformation:
		return AppendAlignmentInformation(b, oi.AlignmentRequirement), nil
	case FileAllInformation:
		return AppendAllInformation(b, fi, oi), nil
	case FileNetworkOpenInformation:
		return AppendNetworkOpenInformation(b, fi), nil
	case FileAttributeTagInformation:
		return AppendAttributeTagInformation(b, fi), nil
	case FileIDInformation:
		return AppendIDInformation(b, fi), nil
	case FileStatInformation:
		return AppendStatInformation(b, fi), nil
	}
	return b, fmt.Errorf("fscc: query file info class %d: %w", class, ErrInvalidInfoClass)
}
