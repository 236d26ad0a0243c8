package fscc

import "fmt"

// OverflowRule says what a server does when a query-info result is longer
// than the client's OutputBufferLength.
type OverflowRule uint8

const (
	// OverflowNever: fixed-size class. A buffer smaller than the size fails
	// with STATUS_INFO_LENGTH_MISMATCH.
	OverflowNever OverflowRule = iota
	// OverflowTruncate: the trailing name is cut to fit (its length field
	// keeps the full length) and the response carries STATUS_BUFFER_OVERFLOW
	// with the truncated data (MS-SMB2 3.3.5.20.1, MS-FSA 2.1.5.12).
	OverflowTruncate
	// OverflowEntries: a list; only whole entries are returned, with
	// STATUS_BUFFER_OVERFLOW (stream information) — the list encoder takes
	// the limit itself.
	OverflowEntries
)

// InfoSize describes the OutputBufferLength check for one class.
type InfoSize struct {
	// MinOutput is the smallest OutputBufferLength the server accepts;
	// below it the request fails with STATUS_INFO_LENGTH_MISMATCH
	// (MS-SMB2 3.3.5.20.1/3.3.5.20.2). For variable classes it is the
	// fixed part rounded as MS-FSA requires.
	MinOutput int
	// Fixed is the encoded length of the fixed part.
	Fixed    int
	Overflow OverflowRule
	// entryLen returns the unpadded length of the list entry at the start
	// of its argument (OverflowEntries classes), or -1 if malformed.
	entryLen func([]byte) int
}

// streamEntryLen is the length of a FILE_STREAM_INFORMATION entry.
func streamEntryLen(e []byte) int {
	if len(e) < StreamInformationSize {
		return -1
	}
	return StreamInformationSize + int(u32(e[4:]))
}

// fullEaEntryLen is the length of a FILE_FULL_EA_INFORMATION entry.
func fullEaEntryLen(e []byte) int {
	if len(e) < FullEaInformationSize {
		return -1
	}
	return FullEaInformationSize + int(e[5]) + 1 + int(u16(e[6:]))
}

// The MinOutput values are the C sizeof() of the structures, which pads a
// one-WCHAR name to the structure's alignment: this is what MS-FSA's
// BlockAlign(FieldOffset(...)) rules give for FileAllInformation (104) and
// FileFsVolumeInformation (24), and what Samba's smbd_do_qfilepathinfo and
// smbd_do_qfsinfo use as fixed_portion for the name classes (8),
// FileStreamInformation (32) and FileFsAttributeInformation (16; MS-FSA
// 2.1.5.13.5 would allow 12).

// fileInfoSizes are the query sizes of SMB2_0_INFO_FILE classes.
var fileInfoSizes = map[uint8]InfoSize{
	FileBasicInformation:          {MinOutput: BasicInformationSize, Fixed: BasicInformationSize, Overflow: OverflowNever},
	FileStandardInformation:       {MinOutput: StandardInformationSize, Fixed: StandardInformationSize, Overflow: OverflowNever},
	FileInternalInformation:       {MinOutput: InternalInformationSize, Fixed: InternalInformationSize, Overflow: OverflowNever},
	FileEaInformation:             {MinOutput: EaInformationSize, Fixed: EaInformationSize, Overflow: OverflowNever},
	FileAccessInformation:         {MinOutput: AccessInformationSize, Fixed: AccessInformationSize, Overflow: OverflowNever},
	FilePositionInformation:       {MinOutput: PositionInformationSize, Fixed: PositionInformationSize, Overflow: OverflowNever},
	FileModeInformation:           {MinOutput: ModeInformationSize, Fixed: ModeInformationSize, Overflow: OverflowNever},
	FileAlignmentInformation:      {MinOutput: AlignmentInformationSize, Fixed: AlignmentInformationSize, Overflow: OverflowNever},
	FileCompressionInformation:    {MinOutput: CompressionInformationSize, Fixed: CompressionInformationSize, Overflow: OverflowNever},
	FileNetworkOpenInformation:    {MinOutput: NetworkOpenInformationSize, Fixed: NetworkOpenInformationSize, Overflow: OverflowNever},
	FileAttributeTagInformation:   {MinOutput: AttributeTagInformationSize, Fixed: AttributeTagInformationSize, Overflow: OverflowNever},
	FileIDInformation:             {MinOutput: IDInformationSize, Fixed: IDInformationSize, Overflow: OverflowNever},
	FileStatInformation:           {MinOutput: StatInformationSize, Fixed: StatInformationSize, Overflow: OverflowNever},
	FileStatLxInformation:         {MinOutput: StatLxInformationSize, Fixed: StatLxInformationSize, Overflow: OverflowNever},
	FileCaseSensitiveInformation:  {MinOutput: CaseSensitiveInformationSize, Fixed: CaseSensitiveInformationSize, Overflow: OverflowNever},
	FileNameInformation:           {MinOutput: 8, Fixed: NameInformationSize, Overflow: OverflowTruncate},
	FileNormalizedNameInformation: {MinOutput: 8, Fixed: NameInformationSize, Overflow: OverflowTruncate},
	FileAlternateNameInformation:  {MinOutput: 8, Fixed: NameInformationSize, Overflow: OverflowTruncate},
	// BlockAlign(FieldOffset(FILE_ALL_INFORMATION.NameInformation.FileName), 8);
	// the encoded fixed part is 100 bytes.
	FileAllInformation: {MinOutput: align8(AllInformationSize), Fixed: AllInformationSize, Overflow: OverflowTruncate},
	// MS-FSA 2.1.5.12.29: "If OutputBufferSize is smaller than
	// sizeof(FILE_STREAM_INFORMATION), the operation MUST be failed with
	// STATUS_INFO_LENGTH_MISMATCH"; entries that do not fit end the list
	// with STATUS_BUFFER_OVERFLOW (AppendStreamInformation).
	FileStreamInformation: {MinOutput: 32, Overflow: OverflowEntries, entryLen: streamEntryLen},
	// No fixed part: AppendFullEaInformation reports overflow; with no entry
	// returned the server answers STATUS_BUFFER_TOO_SMALL, else
	// STATUS_BUFFER_OVERFLOW.
	FileFullEaInformation: {MinOutput: 0, Overflow: OverflowEntries, entryLen: fullEaEntryLen},
}

// fsInfoSizes are the query sizes of SMB2_0_INFO_FILESYSTEM classes.
var fsInfoSizes = map[uint8]InfoSize{
	// MS-FSA 2.1.5.13.1: "If OutputBufferSize is smaller than
	// BlockAlign(FieldOffset(FILE_FS_VOLUME_INFORMATION.VolumeLabel), 8),
	// the operation MUST be failed with STATUS_INFO_LENGTH_MISMATCH" (24).
	FileFsVolumeInformation:     {MinOutput: align8(FsVolumeInformationSize), Fixed: FsVolumeInformationSize, Overflow: OverflowTruncate},
	FileFsSizeInformation:       {MinOutput: FsSizeInformationSize, Fixed: FsSizeInformationSize, Overflow: OverflowNever},
	FileFsDeviceInformation:     {MinOutput: FsDeviceInformationSize, Fixed: FsDeviceInformationSize, Overflow: OverflowNever},
	FileFsAttributeInformation:  {MinOutput: 16, Fixed: FsAttributeInformationSize, Overflow: OverflowTruncate},
	FileFsControlInformation:    {MinOutput: FsControlInformationSize, Fixed: FsControlInformationSize, Overflow: OverflowNever},
	FileFsFullSizeInformation:   {MinOutput: FsFullSizeInformationSize, Fixed: FsFullSizeInformationSize, Overflow: OverflowNever},
	FileFsObjectIDInformation:   {MinOutput: FsObjectIDInformationSize, Fixed: FsObjectIDInformationSize, Overflow: OverflowNever},
	FileFsSectorSizeInformation: {MinOutput: FsSectorSizeInformationSize, Fixed: FsSectorSizeInformationSize, Overflow: OverflowNever},
}

// FileInfoSize returns the size rule of a SMB2_0_INFO_FILE query class;
// ok is false for classes this package does not encode.
func FileInfoSize(class uint8) (s InfoSize, ok bool) {
	s, ok = fileInfoSizes[class]
	return s, ok
}

// FsInfoSize returns the size rule of a SMB2_0_INFO_FILESYSTEM query class.
func FsInfoSize(class uint8) (s InfoSize, ok bool) {
	s, ok = fsInfoSizes[class]
	return s, ok
}

// Fit applies the rule s to an encoded result for a client that allows
// maxOut bytes (OutputBufferLength). It returns ErrInfoLengthMismatch if
// maxOut is below s.MinOutput or a fixed-size result does not fit.
// Otherwise it returns the bytes to send and whether the response status is
// STATUS_BUFFER_OVERFLOW:
//
//   - OverflowTruncate: the result cut at maxOut (the trailing name is
//     partial, its length field keeps the full length).
//   - OverflowEntries: the leading whole entries that fit, the last one's
//     NextEntryOffset set to 0 (in place, in full). With no entry fitting
//     the result is empty with overflow set; for FileFullEaInformation the
//     server answers STATUS_BUFFER_TOO_SMALL then.
func Fit(s InfoSize, full []byte, maxOut int) (out []byte, overflow bool, err error) {
	if maxOut < s.MinOutput {
		return nil, false, fmt.Errorf("fscc: OutputBufferLength %d below %d: %w", maxOut, s.MinOutput, ErrInfoLengthMismatch)
	}
	if len(full) <= maxOut {
		return full, false, nil
	}
	switch s.Overflow {
	case OverflowTruncate:
		return full[:maxOut], true, nil
	case OverflowEntries:
		if s.entryLen == nil {
			break
		}
		off, end, last := 0, 0, -1
		for off < len(full) {
			n := s.entryLen(full[off:])
			if n < 0 || off+n > len(full) {
				return nil, false, malformed("entry list", "entry at %d overruns %d bytes", off, len(full))
			}
			if off+n > maxOut {
				break
			}
			last, end = off, off+n
			next := int(u32(full[off:]))
			if next == 0 {
				break
			}
			if next < n {
				return nil, false, malformed("entry list", "NextEntryOffset %d inside entry at %d", next, off)
			}
			off += next
		}
		if last < 0 {
			return full[:0], true, nil
		}
		full[last], full[last+1], full[last+2], full[last+3] = 0, 0, 0, 0
		return full[:end], true, nil
	}
	return nil, false, fmt.Errorf("fscc: result of %d bytes exceeds OutputBufferLength %d: %w", len(full), maxOut, ErrInfoLengthMismatch)
}
