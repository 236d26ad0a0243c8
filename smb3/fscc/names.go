package fscc

import "fmt"

var fileInfoClassNames = map[uint8]string{
	FileDirectoryInformation:              "FileDirectoryInformation",
	FileFullDirectoryInformation:          "FileFullDirectoryInformation",
	FileBothDirectoryInformation:          "FileBothDirectoryInformation",
	FileBasicInformation:                  "FileBasicInformation",
	FileStandardInformation:               "FileStandardInformation",
	FileInternalInformation:               "FileInternalInformation",
	FileEaInformation:                     "FileEaInformation",
	FileAccessInformation:                 "FileAccessInformation",
	FileNameInformation:                   "FileNameInformation",
	FileRenameInformation:                 "FileRenameInformation",
	FileLinkInformation:                   "FileLinkInformation",
	FileNamesInformation:                  "FileNamesInformation",
	FileDispositionInformation:            "FileDispositionInformation",
	FilePositionInformation:               "FilePositionInformation",
	FileFullEaInformation:                 "FileFullEaInformation",
	FileModeInformation:                   "FileModeInformation",
	FileAlignmentInformation:              "FileAlignmentInformation",
	FileAllInformation:                    "FileAllInformation",
	FileAllocationInformation:             "FileAllocationInformation",
	FileEndOfFileInformation:              "FileEndOfFileInformation",
	FileAlternateNameInformation:          "FileAlternateNameInformation",
	FileStreamInformation:                 "FileStreamInformation",
	FilePipeInformation:                   "FilePipeInformation",
	FilePipeLocalInformation:              "FilePipeLocalInformation",
	FilePipeRemoteInformation:             "FilePipeRemoteInformation",
	FileCompressionInformation:            "FileCompressionInformation",
	FileObjectIDInformation:               "FileObjectIdInformation",
	FileQuotaInformation:                  "FileQuotaInformation",
	FileReparsePointInformation:           "FileReparsePointInformation",
	FileNetworkOpenInformation:            "FileNetworkOpenInformation",
	FileAttributeTagInformation:           "FileAttributeTagInformation",
	FileIDBothDirectoryInformation:        "FileIdBothDirectoryInformation",
	FileIDFullDirectoryInformation:        "FileIdFullDirectoryInformation",
	FileValidDataLengthInformation:        "FileValidDataLengthInformation",
	FileShortNameInformation:              "FileShortNameInformation",
	FileHardLinkInformation:               "FileHardLinkInformation",
	FileNormalizedNameInformation:         "FileNormalizedNameInformation",
	FileIDInformation:                     "FileIdInformation",
	FileIDExtdDirectoryInformation:        "FileIdExtdDirectoryInformation",
	FileIDExtdBothDirectoryInformation:    "FileIdExtdBothDirectoryInformation",
	FileDispositionInformationEx:          "FileDispositionInformationEx",
	FileRenameInformationEx:               "FileRenameInformationEx",
	FileStatInformation:                   "FileStatInformation",
	FileStatLxInformation:                 "FileStatLxInformation",
	FileCaseSensitiveInformation:          "FileCaseSensitiveInformation",
	FileLinkInformationEx:                 "FileLinkInformationEx",
	FileID64ExtdDirectoryInformation:      "FileId64ExtdDirectoryInformation",
	FileID64ExtdBothDirectoryInformation:  "FileId64ExtdBothDirectoryInformation",
	FileIDAllExtdDirectoryInformation:     "FileIdAllExtdDirectoryInformation",
	FileIDAllExtdBothDirectoryInformation: "FileIdAllExtdBothDirectoryInformation",
}

var fsInfoClassNames = map[uint8]string{
	FileFsVolumeInformation:       "FileFsVolumeInformation",
	FileFsLabelInformation:        "FileFsLabelInformation",
	FileFsSizeInformation:         "FileFsSizeInformation",
	FileFsDeviceInformation:       "FileFsDeviceInformation",
	FileFsAttributeInformation:    "FileFsAttributeInformation",
	FileFsControlInformation:      "FileFsControlInformation",
	FileFsFullSizeInformation:     "FileFsFullSizeInformation",
	FileFsObjectIDInformation:     "FileFsObjectIdInformation",
	FileFsDriverPathInformation:   "FileFsDriverPathInformation",
	FileFsVolumeFlagsInformation:  "FileFsVolumeFlagsInformation",
	FileFsSectorSizeInformation:   "FileFsSectorSizeInformation",
	FileFsDataCopyInformation:     "FileFsDataCopyInformation",
	FileFsMetadataSizeInformation: "FileFsMetadataSizeInformation",
	FileFsFullSizeInformationEx:   "FileFsFullSizeInformationEx",
}

var fsctlNames = map[uint32]string{
	FsctlDfsGetReferrals:           "FSCTL_DFS_GET_REFERRALS",
	FsctlDfsGetReferralsEx:         "FSCTL_DFS_GET_REFERRALS_EX",
	FsctlGetCompression:            "FSCTL_GET_COMPRESSION",
	FsctlSetCompression:            "FSCTL_SET_COMPRESSION",
	FsctlGetObjectID:               "FSCTL_GET_OBJECT_ID",
	FsctlCreateOrGetObjectID:       "FSCTL_CREATE_OR_GET_OBJECT_ID",
	FsctlSetObjectID:               "FSCTL_SET_OBJECT_ID",
	FsctlDeleteObjectID:            "FSCTL_DELETE_OBJECT_ID",
	FsctlGetReparsePoint:           "FSCTL_GET_REPARSE_POINT",
	FsctlSetReparsePoint:           "FSCTL_SET_REPARSE_POINT",
	FsctlDeleteReparsePoint:        "FSCTL_DELETE_REPARSE_POINT",
	FsctlSetSparse:                 "FSCTL_SET_SPARSE",
	FsctlSetZeroData:               "FSCTL_SET_ZERO_DATA",
	FsctlQueryAllocatedRanges:      "FSCTL_QUERY_ALLOCATED_RANGES",
	FsctlFileLevelTrim:             "FSCTL_FILE_LEVEL_TRIM",
	FsctlQueryFileRegions:          "FSCTL_QUERY_FILE_REGIONS",
	FsctlDuplicateExtentsToFile:    "FSCTL_DUPLICATE_EXTENTS_TO_FILE",
	FsctlDuplicateExtentsToFileEx:  "FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX",
	FsctlGetIntegrityInformation:   "FSCTL_GET_INTEGRITY_INFORMATION",
	FsctlSetIntegrityInformation:   "FSCTL_SET_INTEGRITY_INFORMATION",
	FsctlOffloadRead:               "FSCTL_OFFLOAD_READ",
	FsctlOffloadWrite:              "FSCTL_OFFLOAD_WRITE",
	FsctlPipePeek:                  "FSCTL_PIPE_PEEK",
	FsctlPipeWait:                  "FSCTL_PIPE_WAIT",
	FsctlPipeTransceive:            "FSCTL_PIPE_TRANSCEIVE",
	FsctlSrvRequestResumeKey:       "FSCTL_SRV_REQUEST_RESUME_KEY",
	FsctlSrvCopychunk:              "FSCTL_SRV_COPYCHUNK",
	FsctlSrvCopychunkWrite:         "FSCTL_SRV_COPYCHUNK_WRITE",
	FsctlSrvEnumerateSnapshots:     "FSCTL_SRV_ENUMERATE_SNAPSHOTS",
	FsctlSrvReadHash:               "FSCTL_SRV_READ_HASH",
	FsctlLMRRequestResiliency:      "FSCTL_LMR_REQUEST_RESILIENCY",
	FsctlQueryNetworkInterfaceInfo: "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
	FsctlValidateNegotiateInfo:     "FSCTL_VALIDATE_NEGOTIATE_INFO",
	FsctlIsPathnameValid:           "FSCTL_IS_PATHNAME_VALID",
	FsctlFilesystemGetStatistics:   "FSCTL_FILESYSTEM_GET_STATISTICS",
	FsctlGetNTFSVolumeData:         "FSCTL_GET_NTFS_VOLUME_DATA",
	FsctlGetRetrievalPointers:      "FSCTL_GET_RETRIEVAL_POINTERS",
	FsctlQueryOnDiskVolumeInfo:     "FSCTL_QUERY_ON_DISK_VOLUME_INFO",
	FsctlSetZeroOnDeallocation:     "FSCTL_SET_ZERO_ON_DEALLOCATION",
	FsctlReadFileUSNData:           "FSCTL_READ_FILE_USN_DATA",
	FsctlMarkHandle:                "FSCTL_MARK_HANDLE",
}

// FileInfoClassName returns the MS-FSCC name of a file information class,
// or "FileInfoClass(n)" for unknown ones; for logs and counters.
func FileInfoClassName(c uint8) string {
	if s, ok := fileInfoClassNames[c]; ok {
		return s
	}
	return fmt.Sprintf("FileInfoClass(%d)", c)
}

// FsInfoClassName returns the MS-FSCC name of a file system information
// class.
func FsInfoClassName(c uint8) string {
	if s, ok := fsInfoClassNames[c]; ok {
		return s
	}
	return fmt.Sprintf("FsInfoClass(%d)", c)
}

// FsctlName returns the name of an FSCTL/IOCTL code, or its hex value.
func FsctlName(code uint32) string {
	if s, ok := fsctlNames[code]; ok {
		return s
	}
	return fmt.Sprintf("FSCTL(%#08x)", code)
}
