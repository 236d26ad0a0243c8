package fscc

// File information classes, MS-FSCC 2.4. They are the FileInfoClass of an
// SMB2 QUERY_INFO/SET_INFO with InfoType SMB2_0_INFO_FILE (MS-SMB2 2.2.37,
// 2.2.39) and the FileInformationClass of an SMB2 QUERY_DIRECTORY (MS-SMB2
// 2.2.33). The constants are untyped so they compare with the uint8 class
// byte of a request.
const (
	FileDirectoryInformation              = 1
	FileFullDirectoryInformation          = 2
	FileBothDirectoryInformation          = 3
	FileBasicInformation                  = 4
	FileStandardInformation               = 5
	FileInternalInformation               = 6
	FileEaInformation                     = 7
	FileAccessInformation                 = 8
	FileNameInformation                   = 9
	FileRenameInformation                 = 10
	FileLinkInformation                   = 11
	FileNamesInformation                  = 12
	FileDispositionInformation            = 13
	FilePositionInformation               = 14
	FileFullEaInformation                 = 15
	FileModeInformation                   = 16
	FileAlignmentInformation              = 17
	FileAllInformation                    = 18
	FileAllocationInformation             = 19
	FileEndOfFileInformation              = 20
	FileAlternateNameInformation          = 21
	FileStreamInformation                 = 22
	FilePipeInformation                   = 23
	FilePipeLocalInformation              = 24
	FilePipeRemoteInformation             = 25
	FileMailslotQueryInformation          = 26
	FileMailslotSetInformation            = 27
	FileCompressionInformation            = 28
	FileObjectIDInformation               = 29
	FileCompletionInformation             = 30
	FileMoveClusterInformation            = 31
	FileQuotaInformation                  = 32
	FileReparsePointInformation           = 33
	FileNetworkOpenInformation            = 34
	FileAttributeTagInformation           = 35
	FileTrackingInformation               = 36
	FileIDBothDirectoryInformation        = 37
	FileIDFullDirectoryInformation        = 38
	FileValidDataLengthInformation        = 39
	FileShortNameInformation              = 40
	FileSfioReserveInformation            = 44
	FileSfioVolumeInformation             = 45
	FileHardLinkInformation               = 46
	FileNormalizedNameInformation         = 48
	FileIDGlobalTxDirectoryInformation    = 50
	FileStandardLinkInformation           = 54
	FileRemoteProtocolInformation         = 55
	FileIDInformation                     = 59
	FileIDExtdDirectoryInformation        = 60
	FileIDExtdBothDirectoryInformation    = 63
	FileDispositionInformationEx          = 64
	FileRenameInformationEx               = 65
	FileDesiredStorageClassInformation    = 67
	FileStatInformation                   = 68
	FileStatLxInformation                 = 70
	FileCaseSensitiveInformation          = 71
	FileLinkInformationEx                 = 72
	FileStorageReserveIDInformation       = 74
	FileID64ExtdDirectoryInformation      = 78
	FileID64ExtdBothDirectoryInformation  = 79
	FileIDAllExtdDirectoryInformation     = 80
	FileIDAllExtdBothDirectoryInformation = 81
)

// File system information classes, MS-FSCC 2.5 (SMB2_0_INFO_FILESYSTEM).
const (
	FileFsVolumeInformation       = 1
	FileFsLabelInformation        = 2
	FileFsSizeInformation         = 3
	FileFsDeviceInformation       = 4
	FileFsAttributeInformation    = 5
	FileFsControlInformation      = 6
	FileFsFullSizeInformation     = 7
	FileFsObjectIDInformation     = 8
	FileFsDriverPathInformation   = 9
	FileFsVolumeFlagsInformation  = 10
	FileFsSectorSizeInformation   = 11
	FileFsDataCopyInformation     = 12
	FileFsMetadataSizeInformation = 13
	FileFsFullSizeInformationEx   = 14
)

// File attributes, MS-FSCC 2.6.
const (
	FileAttributeReadonly           = 0x00000001
	FileAttributeHidden             = 0x00000002
	FileAttributeSystem             = 0x00000004
	FileAttributeDirectory          = 0x00000010
	FileAttributeArchive            = 0x00000020
	FileAttributeNormal             = 0x00000080
	FileAttributeTemporary          = 0x00000100
	FileAttributeSparseFile         = 0x00000200
	FileAttributeReparsePoint       = 0x00000400
	FileAttributeCompressed         = 0x00000800
	FileAttributeOffline            = 0x00001000
	FileAttributeNotContentIndexed  = 0x00002000
	FileAttributeEncrypted          = 0x00004000
	FileAttributeIntegrityStream    = 0x00008000
	FileAttributeNoScrubData        = 0x00020000
	FileAttributeRecallOnOpen       = 0x00040000
	FileAttributePinned             = 0x00080000
	FileAttributeUnpinned           = 0x00100000
	FileAttributeRecallOnDataAccess = 0x00400000

	// FileAttributeValidFlags are the attributes a CREATE may carry
	// (FILE_ATTRIBUTE_VALID_FLAGS, 0x7FB7, of the Windows headers); other
	// bits fail with STATUS_INVALID_PARAMETER.
	FileAttributeValidFlags = 0x00007FB7
	// FileAttributeValidSetFlags are the attributes a client may set with
	// FileBasicInformation or CREATE (FILE_ATTRIBUTE_VALID_SET_FLAGS,
	// 0x31A7): READONLY, HIDDEN, SYSTEM, ARCHIVE, NORMAL, TEMPORARY,
	// OFFLINE, NOT_CONTENT_INDEXED. The others are owned by the store.
	FileAttributeValidSetFlags = FileAttributeReadonly | FileAttributeHidden | FileAttributeSystem |
		FileAttributeArchive | FileAttributeNormal | FileAttributeTemporary | FileAttributeOffline |
		FileAttributeNotContentIndexed
)

// File system attribute flags (FileSystemAttributes of
// FILE_FS_ATTRIBUTE_INFORMATION), MS-FSCC 2.5.1.
const (
	FileCaseSensitiveSearch        = 0x00000001
	FileCasePreservedNames         = 0x00000002
	FileUnicodeOnDisk              = 0x00000004
	FilePersistentACLs             = 0x00000008
	FileFileCompression            = 0x00000010
	FileVolumeQuotas               = 0x00000020
	FileSupportsSparseFiles        = 0x00000040
	FileSupportsReparsePoints      = 0x00000080
	FileSupportsRemoteStorage      = 0x00000100
	FileReturnsCleanupResultInfo   = 0x00000200
	FileSupportsPosixUnlinkRename  = 0x00000400
	FileSupportsBypassIO           = 0x00000800
	FileVolumeIsCompressed         = 0x00008000
	FileSupportsObjectIDs          = 0x00010000
	FileSupportsEncryption         = 0x00020000
	FileNamedStreams               = 0x00040000
	FileReadOnlyVolume             = 0x00080000
	FileSequentialWriteOnce        = 0x00100000
	FileSupportsTransactions       = 0x00200000
	FileSupportsHardLinks          = 0x00400000
	FileSupportsExtendedAttributes = 0x00800000
	FileSupportsOpenByFileID       = 0x01000000
	FileSupportsUSNJournal         = 0x02000000
	FileSupportIntegrityStreams    = 0x04000000
	FileSupportsBlockRefcounting   = 0x08000000
	FileSupportsSparseVDL          = 0x10000000
	FileDaxVolume                  = 0x20000000
	FileSupportsGhosting           = 0x40000000
)

// Device types and characteristics for FILE_FS_DEVICE_INFORMATION,
// MS-FSCC 2.5.
const (
	FileDeviceCDROM     = 0x00000002
	FileDeviceDisk      = 0x00000007
	FileDeviceNamedPipe = 0x00000011 // not in MS-FSCC's list; used for IPC$ by Windows

	FileRemovableMedia                   = 0x00000001
	FileReadOnlyDevice                   = 0x00000002
	FileFloppyDiskette                   = 0x00000004
	FileWriteOnceMedia                   = 0x00000008
	FileRemoteDevice                     = 0x00000010
	FileDeviceIsMounted                  = 0x00000020
	FileVirtualVolume                    = 0x00000040
	FileDeviceSecureOpen                 = 0x00000100
	FileCharacteristicTSDevice           = 0x00001000
	FileCharacteristicWebDAVDevice       = 0x00002000
	FileDeviceAllowAppcontainerTraversal = 0x00020000
	FilePortableDevice                   = 0x00040000
)

// FILE_FS_SECTOR_SIZE_INFORMATION Flags, MS-FSCC 2.5.
const (
	SSInfoFlagsAlignedDevice            = 0x00000001
	SSInfoFlagsPartitionAlignedOnDevice = 0x00000002
	SSInfoFlagsNoSeekPenalty            = 0x00000004
	SSInfoFlagsTrimEnabled              = 0x00000008
	SSInfoOffsetUnknown                 = 0xFFFFFFFF
)

// FileModeInformation Mode bits, MS-FSCC 2.4.
const (
	FileWriteThrough            = 0x00000002
	FileSequentialOnly          = 0x00000004
	FileNoIntermediateBuffering = 0x00000008
	FileSynchronousIOAlert      = 0x00000010
	FileSynchronousIONonalert   = 0x00000020
	FileDeleteOnClose           = 0x00001000
)

// FileDispositionInformationEx Flags, MS-FSCC 2.4.
const (
	FileDispositionDoNotDelete             = 0x00000000
	FileDispositionDelete                  = 0x00000001
	FileDispositionPosixSemantics          = 0x00000002
	FileDispositionForceImageSectionCheck  = 0x00000004
	FileDispositionOnClose                 = 0x00000008
	FileDispositionIgnoreReadonlyAttribute = 0x00000010
)

// FileRenameInformationEx / FileLinkInformationEx Flags, MS-FSCC 2.4.
const (
	FileRenameReplaceIfExists                   = 0x00000001
	FileRenamePosixSemantics                    = 0x00000002
	FileRenameSuppressPinStateInheritance       = 0x00000004
	FileRenameSuppressStorageReserveInheritance = 0x00000008
	FileRenameNoIncreaseAvailableSpace          = 0x00000010
	FileRenameNoDecreaseAvailableSpace          = 0x00000020
	FileRenameIgnoreReadonlyAttribute           = 0x00000040
	FileRenameForceResizeTargetSR               = 0x00000080
	FileRenameForceResizeSourceSR               = 0x00000100

	FileLinkReplaceIfExists                   = 0x00000001
	FileLinkPosixSemantics                    = 0x00000002
	FileLinkSuppressStorageReserveInheritance = 0x00000008
	FileLinkNoIncreaseAvailableSpace          = 0x00000010
	FileLinkNoDecreaseAvailableSpace          = 0x00000020
	FileLinkIgnoreReadonlyAttribute           = 0x00000040
	FileLinkForceResizeTargetSR               = 0x00000080
	FileLinkForceResizeSourceSR               = 0x00000100
)

// FILE_FULL_EA_INFORMATION Flags, MS-FSCC 2.4.
const FileNeedEA = 0x80

// Compression formats (FileCompressionInformation, FSCTL_GET/SET_COMPRESSION),
// MS-FSCC 2.3 and 2.4.
const (
	CompressionFormatNone    = 0x0000
	CompressionFormatDefault = 0x0001
	CompressionFormatLZNT1   = 0x0002
)

// Reparse tags seen by servers, MS-FSCC 2.1.2.1.
const (
	IOReparseTagMountPoint = 0xA0000003
	IOReparseTagSymlink    = 0xA000000C
	IOReparseTagNFS        = 0x80000014
	IOReparseTagLxSymlink  = 0xA000001D
	IOReparseTagAFUnix     = 0x80000023
	IOReparseTagLxFIFO     = 0x80000024
	IOReparseTagLxChr      = 0x80000025
	IOReparseTagLxBlk      = 0x80000026
)

// FSCTL and IOCTL codes a server sees in SMB2 IOCTL (MS-SMB2 2.2.31,
// MS-FSCC 2.3).
const (
	FsctlDfsGetReferrals               = 0x00060194
	FsctlDfsGetReferralsEx             = 0x000601B0
	FsctlIsPathnameValid               = 0x0009002C
	FsctlGetCompression                = 0x0009003C
	FsctlFilesystemGetStatistics       = 0x00090060
	FsctlGetNTFSVolumeData             = 0x00090064
	FsctlGetRetrievalPointers          = 0x00090073
	FsctlFindFilesBySID                = 0x0009008F
	FsctlSetObjectID                   = 0x00090098
	FsctlGetObjectID                   = 0x0009009C
	FsctlDeleteObjectID                = 0x000900A0
	FsctlSetReparsePoint               = 0x000900A4
	FsctlGetReparsePoint               = 0x000900A8
	FsctlDeleteReparsePoint            = 0x000900AC
	FsctlSetObjectIDExtended           = 0x000900BC
	FsctlCreateOrGetObjectID           = 0x000900C0
	FsctlSetSparse                     = 0x000900C4
	FsctlSetEncryption                 = 0x000900D7
	FsctlReadFileUSNData               = 0x000900EB
	FsctlWriteUSNCloseRecord           = 0x000900EF
	FsctlMarkHandle                    = 0x000900FC
	FsctlSISCopyFile                   = 0x00090100
	FsctlQuerySparingInfo              = 0x00090138
	FsctlQueryOnDiskVolumeInfo         = 0x0009013C
	FsctlSetZeroOnDeallocation         = 0x00090194
	FsctlSetShortNameBehavior          = 0x000901B4
	FsctlGetIntegrityInformation       = 0x0009027C
	FsctlQueryFileRegions              = 0x00090284
	FsctlGetRefsVolumeData             = 0x000902D8
	FsctlQuerySharedVirtualDiskSupport = 0x00090300
	FsctlSVHDXSyncTunnelRequest        = 0x00090304
	FsctlStorageQoSControl             = 0x00090350
	FsctlSVHDXAsyncTunnelRequest       = 0x00090364
	FsctlSetIntegrityInformationEx     = 0x00090380
	FsctlQueryAllocatedRanges          = 0x000940CF
	FsctlOffloadRead                   = 0x00094264
	FsctlSetZeroData                   = 0x000980C8
	FsctlSetDefectManagement           = 0x00098134
	FsctlFileLevelTrim                 = 0x00098208
	FsctlOffloadWrite                  = 0x00098268
	FsctlDuplicateExtentsToFile        = 0x00098344
	FsctlDuplicateExtentsToFileEx      = 0x000983E8
	FsctlSetCompression                = 0x0009C040
	FsctlSetIntegrityInformation       = 0x0009C280
	FsctlPipePeek                      = 0x0011400C
	FsctlPipeWait                      = 0x00110018
	FsctlPipeTransceive                = 0x0011C017
	FsctlSrvRequestResumeKey           = 0x00140078
	FsctlLMRRequestResiliency          = 0x001401D4
	FsctlQueryNetworkInterfaceInfo     = 0x001401FC
	FsctlValidateNegotiateInfo         = 0x00140204
	FsctlSrvEnumerateSnapshots         = 0x00144064
	FsctlSrvCopychunk                  = 0x001440F2
	FsctlSrvReadHash                   = 0x001441BB
	FsctlSrvCopychunkWrite             = 0x001480F2
)
