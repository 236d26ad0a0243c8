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
	FileBasicInformation:          {BasicInformationSize, BasicInformationSize, OverflowNever},
	FileStandardInformation:       {StandardInformationSize, StandardInformationSize, OverflowNever},
	FileInternalInformation:       {InternalInformationSize, InternalInformationSize, OverflowNever},
	FileEaInformation:             {EaInformationSize, EaInformationSize, OverflowNever},
	FileAccessInformation:         {AccessInformationSize, AccessInformationSize, OverflowNever},
	FilePositionInformation:       {PositionInformationSize, PositionInformationSize, OverflowNever},
	FileModeInformation:           {ModeInformationSize, ModeInformationSize, OverflowNever},
	FileAlignmentInformation:      {AlignmentInformationSize, AlignmentInformationSize, OverflowNever},
	FileCompressionInformation:    {CompressionInformationSize, CompressionInformationSize, OverflowNever},
	FileNetworkOpenInformation:    {NetworkOpenInformationSize, NetworkOpenInformationSize, OverflowNever},
	FileAttributeTagInformation:   {AttributeTagInformationSize, AttributeTagInformationSize, OverflowNever},
	FileIDInformation:             {IDInformationSize, IDInformationSize, OverflowNever},
	FileStatInformation:           {StatInformationSize, StatInformationSize, OverflowNever},
	FileStatLxInformation:         {StatLxInformationSize, StatLxInformationSize, OverflowNever},
	FileCaseSensitiveInformation:  {CaseSensitiveInformationSize, CaseSensitiveInformationSize, OverflowNever},
	FileNameInformation:           {8, NameInformationSize, OverflowTruncate},
	FileNormalizedNameInformation: {8, NameInformationSize, OverflowTruncate},
	FileAlternateNameInformation:  {8, NameInformationSize, OverflowTruncate},
	// BlockAlign(FieldOffset(FILE_ALL_INFORMATION.NameInformation.FileName), 8);
	// the encoded fixed part is 100 bytes.
	FileAllInformation: {align8(AllInformationSize), AllInformationSize, OverflowTruncate},
	// MS-FSA 2.1.5.12.29: "If OutputBufferSize is smaller than
	// sizeof(FILE_STREAM_INFORMATION), the operation MUST be failed with
	// STATUS_INFO_LENGTH_MISMATCH"; entries that do not fit end the list
	// with STATUS_BUFFER_OVERFLOW (AppendStreamInformation).
	FileStreamInformation: {32, 0, OverflowEntries},
	// No fixed part: AppendFullEaInformation reports overflow; with no entry
	// returned the server answers STATUS_BUFFER_TOO_SMALL, else
	// STATUS_BUFFER_OVERFLOW.
	FileFullEaInformation: {0, 0, OverflowEntries},
}

// fsInfoSizes are the query sizes of SMB2_0_INFO_FILESYSTEM classes.
var fsInfoSizes = map[uint8]InfoSize{
	// MS-FSA 2.1.5.13.1: "If OutputBufferSize is smaller than
	// BlockAlign(FieldOffset(FILE_FS_VOLUME_INFORMATION.VolumeLabel), 8),
	// the operation MUST be failed with STATUS_INFO_LENGTH_MISMATCH" (24).
	FileFsVolumeInformation:     {align8(FsVolumeInformationSize), FsVolumeInformationSize, OverflowTruncate},
	FileFsSizeInformation:       {FsSizeInformationSize, FsSizeInformationSize, OverflowNever},
	FileFsDeviceInformation:     {FsDeviceInformationSize, FsDeviceInformationSize, OverflowNever},
	FileFsAttributeInformation:  {16, FsAttributeInformationSize, OverflowTruncate},
	FileFsControlInformation:    {FsControlInformationSize, FsControlInformationSize, OverflowNever},
	FileFsFullSizeInformation:   {FsFullSizeInformationSize, FsFullSizeInformationSize, OverflowNever},
	FileFsObjectIDInformation:   {FsObjectIDInformationSize, FsObjectIDInformationSize, OverflowNever},
	FileFsSectorSizeInformation: {FsSectorSizeInformationSize, FsSectorSizeInformationSize, OverflowNever},
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
// maxOut is below s.MinOutput or if a fixed-size or list result does not
// fit; otherwise the bytes to send and whether the response status is
// STATUS_BUFFER_OVERFLOW (a truncated trailing name).
func Fit(s InfoSize, full []byte, maxOut int) (out []byte, overflow bool, err error) {
	if maxOut < s.MinOutput {
		return nil, false, fmt.Errorf("fscc: OutputBufferLength %d below %d: %w", maxOut, s.MinOutput, ErrInfoLengthMismatch)
	}
	if len(full) <= maxOut {
		return full, false, nil
	}
	if s.Overflow == OverflowTruncate {
		return full[:maxOut], true, nil
	}
	return nil, false, fmt.Errorf("fscc: result of %d bytes exceeds OutputBufferLength %d: %w", len(full), maxOut, ErrInfoLengthMismatch)
}
