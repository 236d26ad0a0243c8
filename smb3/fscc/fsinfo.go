package fscc

// Fixed sizes of the file system information structures (MS-FSCC 2.5).
const (
	FsVolumeInformationSize     = 18 // VolumeLabel starts at offset 18
	FsLabelInformationSize      = 4
	FsSizeInformationSize       = 24
	FsDeviceInformationSize     = 8
	FsAttributeInformationSize  = 12 // FileSystemName starts at offset 12
	FsControlInformationSize    = 48
	FsFullSizeInformationSize   = 32
	FsObjectIDInformationSize   = 64
	FsSectorSizeInformationSize = 28
)

// FsVolumeInformation is FILE_FS_VOLUME_INFORMATION (MS-FSCC 2.5.9).
type FsVolumeInformation struct {
	VolumeCreationTime uint64 // FILETIME
	VolumeSerialNumber uint32
	SupportsObjects    bool
	VolumeLabel        string
}

// Append appends the structure: 18 bytes then the UTF-16LE label, with no
// padding (the label length is VolumeLabelLength).
func (v *FsVolumeInformation) Append(b []byte) []byte {
	b = le64(b, v.VolumeCreationTime)
	b = le32(b, v.VolumeSerialNumber)
	b = le32(b, uint32(UTF16Len(v.VolumeLabel)))
	b = append(b, boolByte(v.SupportsObjects), 0) // SupportsObjects, Reserved
	return AppendUTF16(b, v.VolumeLabel)
}

// Len returns the encoded length.
func (v *FsVolumeInformation) Len() int { return FsVolumeInformationSize + UTF16Len(v.VolumeLabel) }

// FsSizeInformation is FILE_FS_SIZE_INFORMATION (MS-FSCC 2.5).
type FsSizeInformation struct {
	TotalAllocationUnits     int64
	AvailableAllocationUnits int64
	SectorsPerAllocationUnit uint32
	BytesPerSector           uint32
}

// Append appends the 24-byte structure.
func (s *FsSizeInformation) Append(b []byte) []byte {
	b = le64(b, uint64(s.TotalAllocationUnits))
	b = le64(b, uint64(s.AvailableAllocationUnits))
	b = le32(b, s.SectorsPerAllocationUnit)
	return le32(b, s.BytesPerSector)
}

// FsFullSizeInformation is FILE_FS_FULL_SIZE_INFORMATION (MS-FSCC 2.5).
type FsFullSizeInformation struct {
	TotalAllocationUnits           int64
	CallerAvailableAllocationUnits int64
	ActualAvailableAllocationUnits int64
	SectorsPerAllocationUnit       uint32
	BytesPerSector                 uint32
}

// Append appends the 32-byte structure.
func (s *FsFullSizeInformation) Append(b []byte) []byte {
	b = le64(b, uint64(s.TotalAllocationUnits))
	b = le64(b, uint64(s.CallerAvailableAllocationUnits))
	b = le64(b, uint64(s.ActualAvailableAllocationUnits))
	b = le32(b, s.SectorsPerAllocationUnit)
	return le32(b, s.BytesPerSector)
}

// FsDeviceInformation is FILE_FS_DEVICE_INFORMATION (MS-FSCC 2.5).
type FsDeviceInformation struct {
	DeviceType      uint32 // FileDeviceDisk, ...
	Characteristics uint32 // FileRemoteDevice | FileDeviceIsMounted, ...
}

// Append appends the 8-byte structure.
func (d *FsDeviceInformation) Append(b []byte) []byte {
	b = le32(b, d.DeviceType)
	return le32(b, d.Characteristics)
}

// FsAttributeInformation is FILE_FS_ATTRIBUTE_INFORMATION (MS-FSCC 2.5.1).
type FsAttributeInformation struct {
	FileSystemAttributes       uint32 // FileCasePreservedNames | ...
	MaximumComponentNameLength uint32 // 255 for most file systems
	FileSystemName             string // "NTFS"
}

// Append appends 12 bytes then the UTF-16LE name (no terminator).
func (a *FsAttributeInformation) Append(b []byte) []byte {
	b = le32(b, a.FileSystemAttributes)
	b = le32(b, a.MaximumComponentNameLength)
	b = le32(b, uint32(UTF16Len(a.FileSystemName)))
	return AppendUTF16(b, a.FileSystemName)
}

// Len returns the encoded length.
func (a *FsAttributeInformation) Len() int {
	return FsAttributeInformationSize + UTF16Len(a.FileSystemName)
}

// FsControlInformation is FILE_FS_CONTROL_INFORMATION (MS-FSCC 2.5),
// used for quota control; both query and set.
type FsControlInformation struct {
	FreeSpaceStartFiltering int64
	FreeSpaceThreshold      int64
	FreeSpaceStopFiltering  int64
	DefaultQuotaThreshold   uint64
	DefaultQuotaLimit       uint64
	FileSystemControlFlags  uint32
}

// Append appends the 48-byte structure.
func (c *FsControlInformation) Append(b []byte) []byte {
	b = le64(b, uint64(c.FreeSpaceStartFiltering))
	b = le64(b, uint64(c.FreeSpaceThreshold))
	b = le64(b, uint64(c.FreeSpaceStopFiltering))
	b = le64(b, c.DefaultQuotaThreshold)
	b = le64(b, c.DefaultQuotaLimit)
	b = le32(b, c.FileSystemControlFlags)
	return le32(b, 0) // Padding
}

// DecodeFsControlInformation decodes a SET_INFO FileFsControlInformation
// buffer.
func DecodeFsControlInformation(b []byte) (FsControlInformation, error) {
	if len(b) < FsControlInformationSize {
		return FsControlInformation{}, short("FILE_FS_CONTROL_INFORMATION", FsControlInformationSize, len(b))
	}
	return FsControlInformation{
		FreeSpaceStartFiltering: int64(u64(b[0:])),
		FreeSpaceThreshold:      int64(u64(b[8:])),
		FreeSpaceStopFiltering:  int64(u64(b[16:])),
		DefaultQuotaThreshold:   u64(b[24:]),
		DefaultQuotaLimit:       u64(b[32:]),
		FileSystemControlFlags:  u32(b[40:]),
	}, nil
}

// FsObjectIDInformation is FILE_FS_OBJECTID_INFORMATION (MS-FSCC 2.5).
type FsObjectIDInformation struct {
	ObjectID     [16]byte
	ExtendedInfo [48]byte
}

// Append appends the 64-byte structure.
func (o *FsObjectIDInformation) Append(b []byte) []byte {
	b = append(b, o.ObjectID[:]...)
	return append(b, o.ExtendedInfo[:]...)
}

// DecodeFsObjectIDInformation decodes a SET_INFO FileFsObjectIdInformation
// buffer.
func DecodeFsObjectIDInformation(b []byte) (FsObjectIDInformation, error) {
	var o FsObjectIDInformation
	if len(b) < FsObjectIDInformationSize {
		return o, short("FILE_FS_OBJECTID_INFORMATION", FsObjectIDInformationSize, len(b))
	}
	copy(o.ObjectID[:], b[:16])
	copy(o.ExtendedInfo[:], b[16:64])
	return o, nil
}

// FsSectorSizeInformation is FILE_FS_SECTOR_SIZE_INFORMATION (MS-FSCC 2.5).
type FsSectorSizeInformation struct {
	LogicalBytesPerSector                                 uint32
	PhysicalBytesPerSectorForAtomicity                    uint32
	PhysicalBytesPerSectorForPerformance                  uint32
	FileSystemEffectivePhysicalBytesPerSectorForAtomicity uint32
	Flags                                                 uint32 // SSInfoFlags*
	ByteOffsetForSectorAlignment                          uint32 // SSInfoOffsetUnknown if unknown
	ByteOffsetForPartitionAlignment                       uint32
}

// Append appends the 28-byte structure.
func (s *FsSectorSizeInformation) Append(b []byte) []byte {
	b = le32(b, s.LogicalBytesPerSector)
	b = le32(b, s.PhysicalBytesPerSectorForAtomicity)
	b = le32(b, s.PhysicalBytesPerSectorForPerformance)
	b = le32(b, s.FileSystemEffectivePhysicalBytesPerSectorForAtomicity)
	b = le32(b, s.Flags)
	b = le32(b, s.ByteOffsetForSectorAlignment)
	return le32(b, s.ByteOffsetForPartitionAlignment)
}

// DecodeFsLabelInformation decodes FILE_FS_LABEL_INFORMATION (MS-FSCC
// 2.5), a SET_INFO volume label.
func DecodeFsLabelInformation(b []byte) (string, error) {
	const what = "FILE_FS_LABEL_INFORMATION"
	if len(b) < FsLabelInformationSize {
		return "", short(what, FsLabelInformationSize, len(b))
	}
	n := int(u32(b))
	if n > len(b)-FsLabelInformationSize {
		return "", short(what, FsLabelInformationSize+n, len(b))
	}
	return decodeName(what, "VolumeLabel", b[FsLabelInformationSize:FsLabelInformationSize+n])
}
