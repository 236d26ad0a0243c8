package wire

import "fmt"

// Status is an NTSTATUS value (MS-ERREF 2.3).
type Status uint32

// The NTSTATUS values the server sends.
const (
	StatusSuccess                Status = 0x00000000
	StatusPending                Status = 0x00000103
	StatusNotifyCleanup          Status = 0x0000010B
	StatusNotifyEnumDir          Status = 0x0000010C
	StatusBufferOverflow         Status = 0x80000005
	StatusNoMoreFiles            Status = 0x80000006
	StatusStoppedOnSymlink       Status = 0x8000002D
	StatusUnsuccessful           Status = 0xC0000001
	StatusInternalError          Status = 0xC00000E5
	StatusInvalidViewSize        Status = 0xC000001F
	StatusInvalidEAName          Status = 0x80000013
	StatusInvalidSecurityDescr   Status = 0xC0000079
	StatusInvalidOwner           Status = 0xC000005A
	StatusInvalidPrimaryGroup    Status = 0xC000005B
	StatusUnexpectedIOError      Status = 0xC00000E9
	StatusNotImplemented         Status = 0xC0000002
	StatusInvalidInfoClass       Status = 0xC0000003
	StatusInfoLengthMismatch     Status = 0xC0000004
	StatusInvalidHandle          Status = 0xC0000008
	StatusInvalidParameter       Status = 0xC000000D
	StatusNoSuchDevice           Status = 0xC000000E
	StatusNoSuchFile             Status = 0xC000000F
	StatusInvalidDeviceRequest   Status = 0xC0000010
	StatusEndOfFile              Status = 0xC0000011
	StatusMoreProcessingRequired Status = 0xC0000016
	StatusNoMemory               Status = 0xC0000017
	StatusAccessDenied           Status = 0xC0000022
	StatusBufferTooSmall         Status = 0xC0000023
	StatusObjectTypeMismatch     Status = 0xC0000024
	StatusObjectNameInvalid      Status = 0xC0000033
	StatusObjectNameNotFound     Status = 0xC0000034
	StatusObjectNameCollision    Status = 0xC0000035
	StatusObjectPathInvalid      Status = 0xC0000039
	StatusObjectPathNotFound     Status = 0xC000003A
	StatusObjectPathSyntaxBad    Status = 0xC000003B
	StatusDataError              Status = 0xC000003E
	StatusSharingViolation       Status = 0xC0000043
	StatusEASTooLarge            Status = 0xC0000050
	StatusNonExistentEAEntry     Status = 0xC0000051
	StatusNoEASOnFile            Status = 0xC0000052
	StatusEACorruptError         Status = 0xC0000053
	StatusFileLockConflict       Status = 0xC0000054
	StatusLockNotGranted         Status = 0xC0000055
	StatusDeletePending          Status = 0xC0000056
	StatusPrivilegeNotHeld       Status = 0xC0000061
	StatusLogonFailure           Status = 0xC000006D
	StatusAccountRestriction     Status = 0xC000006E
	StatusPasswordExpired        Status = 0xC0000071
	StatusAccountDisabled        Status = 0xC0000072
	StatusRangeNotLocked         Status = 0xC000007E
	StatusDiskFull               Status = 0xC000007F
	StatusFileInvalid            Status = 0xC0000098
	StatusInsufficientResources  Status = 0xC000009A
	StatusFileIsADirectory       Status = 0xC00000BA
	StatusNotSupported           Status = 0xC00000BB
	StatusNetworkNameDeleted     Status = 0xC00000C9
	StatusBadNetworkName         Status = 0xC00000CC
	StatusRequestNotAccepted     Status = 0xC00000D0
	StatusRequestOutOfSequence   Status = 0xC000042A
	StatusNotSameDevice          Status = 0xC00000D4
	StatusFileRenamed            Status = 0xC00000D5
	StatusDirectoryNotEmpty      Status = 0xC0000101
	StatusNotADirectory          Status = 0xC0000103
	StatusCancelled              Status = 0xC0000120
	StatusCannotDelete           Status = 0xC0000121
	StatusFileClosed             Status = 0xC0000128
	StatusInvalidLevel           Status = 0xC0000148
	StatusPipeBroken             Status = 0xC000014B
	StatusPipeNotAvailable       Status = 0xC00000AC
	StatusInvalidPipeState       Status = 0xC00000AD
	StatusPipeBusy               Status = 0xC00000AE
	StatusIOTimeout              Status = 0xC00000B5
	StatusUserSessionDeleted     Status = 0xC0000203
	StatusNetworkSessionExpired  Status = 0xC000035C
	StatusNotFound               Status = 0xC0000225
	StatusDuplicateObjectID      Status = 0xC000022A
	StatusFileNotAvailable       Status = 0xC0000467
	StatusInvalidDeviceState     Status = 0xC0000184
	StatusBadImpersonationLevel  Status = 0xC00000A5
	StatusNotAReparsePoint       Status = 0xC0000275
	StatusIOReparseTagNotHandled Status = 0xC0000279
	StatusObjectNameExists       Status = 0x40000000
	StatusFileSystemLimitation   Status = 0xC0000427
	StatusNoSuchLogonSession     Status = 0xC000005F
	StatusWrongPassword          Status = 0xC000006A
	StatusNetworkAccessDenied    Status = 0xC00000CA
	StatusTooManyOpenedFiles     Status = 0xC000011F
	StatusConnectionDisconnected Status = 0xC000020C
	StatusInvalidNetworkResponse Status = 0xC00000C3
	StatusMediaWriteProtected    Status = 0xC00000A2
	StatusInvalidOplockProtocol  Status = 0xC00000E3
	StatusCannotBreakOplock      Status = 0xC0000909
	StatusIllegalCharacter       Status = 0xC0000161
	StatusNameTooLong            Status = 0xC0000106
	StatusDiskQuotaExceeded      Status = 0xC0000044
	StatusServerUnavailable      Status = 0xC0000466
	StatusInvalidLockRange       Status = 0xC00001A1
	StatusOplockNotGranted       Status = 0xC00000E2
	StatusFileForcedClosed       Status = 0xC00000B6
)

var statusNames = map[Status]string{
	StatusSuccess: "STATUS_SUCCESS", StatusPending: "STATUS_PENDING", StatusNotifyCleanup: "STATUS_NOTIFY_CLEANUP",
	StatusNotifyEnumDir: "STATUS_NOTIFY_ENUM_DIR", StatusBufferOverflow: "STATUS_BUFFER_OVERFLOW",
	StatusNoMoreFiles: "STATUS_NO_MORE_FILES", StatusUnsuccessful: "STATUS_UNSUCCESSFUL",
	StatusNotImplemented: "STATUS_NOT_IMPLEMENTED", StatusInvalidInfoClass: "STATUS_INVALID_INFO_CLASS",
	StatusInfoLengthMismatch: "STATUS_INFO_LENGTH_MISMATCH", StatusInvalidHandle: "STATUS_INVALID_HANDLE",
	StatusInvalidParameter: "STATUS_INVALID_PARAMETER", StatusNoSuchFile: "STATUS_NO_SUCH_FILE",
	StatusInvalidDeviceRequest: "STATUS_INVALID_DEVICE_REQUEST", StatusEndOfFile: "STATUS_END_OF_FILE",
	StatusMoreProcessingRequired: "STATUS_MORE_PROCESSING_REQUIRED", StatusAccessDenied: "STATUS_ACCESS_DENIED",
	StatusBufferTooSmall: "STATUS_BUFFER_TOO_SMALL", StatusObjectNameInvalid: "STATUS_OBJECT_NAME_INVALID",
	StatusObjectNameNotFound: "STATUS_OBJECT_NAME_NOT_FOUND", StatusObjectNameCollision: "STATUS_OBJECT_NAME_COLLISION",
	StatusObjectPathNotFound: "STATUS_OBJECT_PATH_NOT_FOUND", StatusObjectPathSyntaxBad: "STATUS_OBJECT_PATH_SYNTAX_BAD",
	StatusSharingViolation: "STATUS_SHARING_VIOLATION", StatusFileLockConflict: "STATUS_FILE_LOCK_CONFLICT",
	StatusLockNotGranted: "STATUS_LOCK_NOT_GRANTED", StatusDeletePending: "STATUS_DELETE_PENDING",
	StatusLogonFailure: "STATUS_LOGON_FAILURE", StatusRangeNotLocked: "STATUS_RANGE_NOT_LOCKED",
	StatusDiskFull: "STATUS_DISK_FULL", StatusInsufficientResources: "STATUS_INSUFFICIENT_RESOURCES",
	StatusFileIsADirectory: "STATUS_FILE_IS_A_DIRECTORY", StatusNotSupported: "STATUS_NOT_SUPPORTED",
	StatusNetworkNameDeleted: "STATUS_NETWORK_NAME_DELETED", StatusBadNetworkName: "STATUS_BAD_NETWORK_NAME",
	StatusDirectoryNotEmpty: "STATUS_DIRECTORY_NOT_EMPTY", StatusNotADirectory: "STATUS_NOT_A_DIRECTORY",
	StatusCancelled: "STATUS_CANCELLED", StatusCannotDelete: "STATUS_CANNOT_DELETE", StatusFileClosed: "STATUS_FILE_CLOSED",
	StatusUserSessionDeleted: "STATUS_USER_SESSION_DELETED", StatusNetworkSessionExpired: "STATUS_NETWORK_SESSION_EXPIRED",
	StatusNotFound: "STATUS_NOT_FOUND", StatusFileNotAvailable: "STATUS_FILE_NOT_AVAILABLE",
	StatusObjectTypeMismatch: "STATUS_OBJECT_TYPE_MISMATCH", StatusEASTooLarge: "STATUS_EA_TOO_LARGE",
	StatusNonExistentEAEntry: "STATUS_NONEXISTENT_EA_ENTRY", StatusNoEASOnFile: "STATUS_NO_EAS_ON_FILE",
	StatusEACorruptError: "STATUS_EA_CORRUPT_ERROR", StatusPrivilegeNotHeld: "STATUS_PRIVILEGE_NOT_HELD",
	StatusNotSameDevice: "STATUS_NOT_SAME_DEVICE", StatusInvalidDeviceState: "STATUS_INVALID_DEVICE_STATE",
	StatusNotAReparsePoint: "STATUS_NOT_A_REPARSE_POINT", StatusObjectNameExists: "STATUS_OBJECT_NAME_EXISTS",
	StatusRequestNotAccepted: "STATUS_REQUEST_NOT_ACCEPTED", StatusRequestOutOfSequence: "STATUS_REQUEST_OUT_OF_SEQUENCE", StatusObjectPathInvalid: "STATUS_OBJECT_PATH_INVALID",
	StatusTooManyOpenedFiles: "STATUS_TOO_MANY_OPENED_FILES", StatusMediaWriteProtected: "STATUS_MEDIA_WRITE_PROTECTED",
	StatusNameTooLong: "STATUS_NAME_TOO_LONG", StatusDiskQuotaExceeded: "STATUS_DISK_QUOTA_EXCEEDED",
	StatusInvalidLockRange: "STATUS_INVALID_LOCK_RANGE", StatusFileForcedClosed: "STATUS_FILE_FORCED_CLOSED",
	StatusInvalidOplockProtocol: "STATUS_INVALID_OPLOCK_PROTOCOL", StatusIOTimeout: "STATUS_IO_TIMEOUT",
	StatusPipeBroken: "STATUS_PIPE_BROKEN", StatusInvalidLevel: "STATUS_INVALID_LEVEL",
	StatusBadImpersonationLevel: "STATUS_BAD_IMPERSONATION_LEVEL", StatusFileSystemLimitation: "STATUS_FILE_SYSTEM_LIMITATION",
	StatusNoMemory: "STATUS_NO_MEMORY", StatusWrongPassword: "STATUS_WRONG_PASSWORD",
	StatusNetworkAccessDenied: "STATUS_NETWORK_ACCESS_DENIED", StatusConnectionDisconnected: "STATUS_CONNECTION_DISCONNECTED",
	StatusAccountRestriction: "STATUS_ACCOUNT_RESTRICTION", StatusAccountDisabled: "STATUS_ACCOUNT_DISABLED",
	StatusPasswordExpired: "STATUS_PASSWORD_EXPIRED", StatusFileInvalid: "STATUS_FILE_INVALID",
	StatusDataError: "STATUS_DATA_ERROR", StatusNoSuchDevice: "STATUS_NO_SUCH_DEVICE", StatusFileRenamed: "STATUS_FILE_RENAMED",
	StatusIllegalCharacter: "STATUS_ILLEGAL_CHARACTER", StatusStoppedOnSymlink: "STATUS_STOPPED_ON_SYMLINK",
	StatusOplockNotGranted: "STATUS_OPLOCK_NOT_GRANTED", StatusServerUnavailable: "STATUS_SERVER_UNAVAILABLE",
	StatusCannotBreakOplock: "STATUS_CANNOT_BREAK_OPLOCK", StatusIOReparseTagNotHandled: "STATUS_IO_REPARSE_TAG_NOT_HANDLED",
	StatusPipeNotAvailable: "STATUS_PIPE_NOT_AVAILABLE", StatusInvalidPipeState: "STATUS_INVALID_PIPE_STATE",
	StatusPipeBusy: "STATUS_PIPE_BUSY", StatusDuplicateObjectID: "STATUS_DUPLICATE_OBJECTID",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("NTSTATUS(%#08x)", uint32(s))
}

// Error makes a Status usable as an error value.
func (s Status) Error() string { return s.String() }

// IsError reports whether the severity bits say error (0xC...).
func (s Status) IsError() bool { return uint32(s)>>30 == 3 }
