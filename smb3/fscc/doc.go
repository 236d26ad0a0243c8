// Package fscc encodes and decodes the MS-FSCC structures that SMB2
// QUERY_INFO, SET_INFO, QUERY_DIRECTORY and IOCTL carry in their buffers:
// file information classes (MS-FSCC 2.4), file system information classes
// (MS-FSCC 2.5), directory entries, extended attributes and the FSCTL
// payloads of MS-FSCC 2.3 and MS-SMB2 2.2.31/2.2.32.
//
// The package is a pure codec: no I/O and no server state. The server fills a
// FileInfo from a stat (and an OpenInfo from the open) and calls the
// encoders; it passes request buffers to the decoders.
//
// Conventions:
//
//   - Everything is little-endian. Times are FILETIMEs (uint64, 100ns since
//     1601-01-01 UTC); Filetime and TimeFromFiletime convert, with 0
//     meaning "unset".
//   - Encoders append to a caller buffer: AppendXxx(b, ...) []byte or
//     (*T).Append(b) []byte. Lists that a client's OutputBufferLength can
//     cut (directory entries, streams, EAs, allocated ranges) take the limit
//     and report overflow so the server can choose the status.
//   - Decoders check every length and offset in int before slicing. Short
//     input returns an error wrapping io.ErrUnexpectedEOF; inconsistent
//     values wrap ErrMalformed; unknown classes ErrInvalidInfoClass. All
//     errors name the structure and work with errors.Is.
//   - Names are UTF-16LE on the wire (AppendUTF16, DecodeUTF16, UTF16Len),
//     lengths in bytes, no terminator unless the structure says so.
//
// Output sizes: FileInfoSize and FsInfoSize give, per class, the smallest
// OutputBufferLength a server accepts (below it: STATUS_INFO_LENGTH_MISMATCH,
// MS-SMB2 3.3.5.20.1/3.3.5.20.2) and whether a longer result is truncated with
// STATUS_BUFFER_OVERFLOW (the trailing name of FileNameInformation,
// FileNormalizedNameInformation, FileAlternateNameInformation,
// FileAllInformation, FileFsVolumeInformation and FileFsAttributeInformation)
// or cut at whole entries (FileStreamInformation, FileFullEaInformation).
// Fit applies that rule to an encoded result.
//
// Where things are, by SMB2 command:
//
//   - QUERY_DIRECTORY: NewDirWriter / DirWriter.Add (8-byte aligned chain,
//     refuses an entry past OutputBufferLength), AppendDirEntry,
//     DirEntryFixedSize, DecodeDirEntries.
//   - QUERY_INFO file: AppendFileInfo (by class) or AppendBasicInformation,
//     AppendStandardInformation, AppendAllInformation,
//     AppendNetworkOpenInformation, AppendStatInformation, ...;
//     AppendStreamInformation, AppendFullEaInformation (+ DecodeGetEaInformation
//     for the input list), CompressionInformation, PipeLocalInformation;
//     FileInfoSize + Fit for OutputBufferLength.
//   - QUERY_INFO filesystem: FsVolumeInformation, FsSizeInformation,
//     FsFullSizeInformation, FsDeviceInformation, FsAttributeInformation,
//     FsControlInformation, FsObjectIDInformation, FsSectorSizeInformation;
//     FsInfoSize + Fit.
//   - QUERY_INFO quota: DecodeQueryQuotaInfo, AppendQuotaInformation.
//   - SET_INFO: SetInfoMinSize, DecodeBasicInformation,
//     DecodeRenameInformation (rename and link, plain and Ex),
//     DecodeDispositionInformation(Ex), DecodePositionInformation,
//     DecodeModeInformation, DecodeAllocationInformation,
//     DecodeEndOfFileInformation, DecodeValidDataLengthInformation,
//     DecodeFullEaInformation, DecodeShortNameInformation,
//     DecodePipeInformation, DecodeFsLabelInformation,
//     DecodeFsControlInformation, DecodeFsObjectIDInformation.
//   - CHANGE_NOTIFY: AppendNotifyInformation.
//   - IOCTL: the Fsctl* codes and FsctlName; validate negotiate, network
//     interfaces, resume key, copychunk, zero data, allocated ranges, object
//     ID, snapshots, compression, sparse, file-level trim, duplicate extents,
//     resiliency, file regions, pipe wait/peek, reparse points (symlinks).
//   - CREATE: DecodeFullEaInformation for the EA buffer context.
package fscc
