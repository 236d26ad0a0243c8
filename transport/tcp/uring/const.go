package uring

// Op is an io_uring opcode (enum io_uring_op in include/uapi/linux/io_uring.h).
type Op uint8

// Opcodes, in kernel order. Only some have prep helpers; all can be probed.
const (
	OpNop Op = iota
	OpReadv
	OpWritev
	OpFsync
	OpReadFixed
	OpWriteFixed
	OpPollAdd
	OpPollRemove
	OpSyncFileRange
	OpSendmsg
	OpRecvmsg
	OpTimeout
	OpTimeoutRemove
	OpAccept
	OpAsyncCancel
	OpLinkTimeout
	OpConnect
	OpFallocate
	OpOpenat
	OpClose
	OpFilesUpdate
	OpStatx
	OpRead
	OpWrite
	OpFadvise
	OpMadvise
	OpSend
	OpRecv
	OpOpenat2
	OpEpollCtl
	OpSplice
	OpProvideBuffers
	OpRemoveBuffers
	OpTee
	OpShutdown
	OpRenameat
	OpUnlinkat
	OpMkdirat
	OpSymlinkat
	OpLinkat
	OpMsgRing
	OpFsetxattr
	OpSetxattr
	OpFgetxattr
	OpGetxattr
	OpSocket
	OpUringCmd
	OpSendZC
	OpSendmsgZC
	opKnownLast // first opcode this package has no name for
)

var opNames = [...]string{
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
	"SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL",
	"LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ", "WRITE",
	"FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS",
	"REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
	"MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC",
	"SENDMSG_ZC",
}

// opMinKernel is the first mainline release with each opcode (io_uring(7), liburing's
// io_uring_enter.2); used only to name the minimum kernel in UnsupportedFeatureError.
var opMinKernel = [...]string{
	"5.1", "5.1", "5.1", "5.1", "5.1", "5.1", "5.1", "5.1",
	"5.2", "5.3", "5.3", "5.4", "5.5", "5.5", "5.5",
	"5.5", "5.5", "5.6", "5.6", "5.6", "5.6", "5.6", "5.6", "5.6",
	"5.6", "5.6", "5.6", "5.6", "5.6", "5.6", "5.7", "5.7",
	"5.7", "5.8", "5.11", "5.11", "5.11", "5.15", "5.15", "5.15",
	"5.18", "5.19", "5.19", "5.19", "5.19", "5.19", "5.19", "6.0",
	"6.1",
}

// String returns the kernel's name for op without the IORING_OP_ prefix.
func (op Op) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return "OP_" + itoa(int(op))
}

// MinKernel is the first mainline kernel that has op, or "" if this package does not know.
func (op Op) MinKernel() string {
	if int(op) < len(opMinKernel) {
		return opMinKernel[op]
	}
	return ""
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// SQEFlags are the IOSQE_* flags of a submission queue entry.
type SQEFlags uint8

// Submission flags (sqe->flags).
const (
	FlagFixedFile      SQEFlags = 1 << 0 // fd is an index into the registered file table
	FlagIODrain        SQEFlags = 1 << 1 // issue after all earlier requests completed
	FlagIOLink         SQEFlags = 1 << 2 // the next SQE starts only after this one succeeds
	FlagIOHardlink     SQEFlags = 1 << 3 // like FlagIOLink, but the chain survives a failure
	FlagAsync          SQEFlags = 1 << 4 // always go to io-wq
	FlagBufferSelect   SQEFlags = 1 << 5 // pick a buffer from sqe->buf_group
	FlagCQESkipSuccess SQEFlags = 1 << 6 // post no CQE on success (5.17)
)

// Setup flags (io_uring_params.flags).
const (
	SetupIOPoll        uint32 = 1 << 0
	SetupSQPoll        uint32 = 1 << 1
	SetupSQAff         uint32 = 1 << 2
	SetupCQSize        uint32 = 1 << 3
	SetupClamp         uint32 = 1 << 4
	SetupAttachWQ      uint32 = 1 << 5
	SetupRDisabled     uint32 = 1 << 6
	SetupSubmitAll     uint32 = 1 << 7
	SetupCoopTaskrun   uint32 = 1 << 8
	SetupTaskrunFlag   uint32 = 1 << 9
	SetupSQE128        uint32 = 1 << 10
	SetupCQE32         uint32 = 1 << 11
	SetupSingleIssuer  uint32 = 1 << 12
	SetupDeferTaskrun  uint32 = 1 << 13
	setupKnownFlagsEnd uint32 = 1 << 14
)

var setupFlagNames = [...]string{
	"IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ", "R_DISABLED", "SUBMIT_ALL",
	"COOP_TASKRUN", "TASKRUN_FLAG", "SQE128", "CQE32", "SINGLE_ISSUER", "DEFER_TASKRUN",
}

var setupFlagMinKernel = [...]string{
	"5.1", "5.1", "5.1", "5.5", "5.6", "5.6", "5.10", "5.18",
	"5.19", "5.19", "5.19", "5.19", "6.0", "6.1",
}

// Features flags reported by the kernel (io_uring_params.features).
const (
	FeatSingleMmap       uint32 = 1 << 0
	FeatNodrop           uint32 = 1 << 1
	FeatSubmitStable     uint32 = 1 << 2
	FeatRWCurPos         uint32 = 1 << 3
	FeatCurPersonality   uint32 = 1 << 4
	FeatFastPoll         uint32 = 1 << 5
	FeatPoll32Bits       uint32 = 1 << 6
	FeatSQPollNonfixed   uint32 = 1 << 7
	FeatExtArg           uint32 = 1 << 8
	FeatNativeWorkers    uint32 = 1 << 9
	FeatRsrcTags         uint32 = 1 << 10
	FeatCQESkip          uint32 = 1 << 11
	FeatLinkedFile       uint32 = 1 << 12
	FeatRegRegRing       uint32 = 1 << 13
	FeatRecvsendBundle   uint32 = 1 << 14
	FeatMinTimeout       uint32 = 1 << 15
	FeatRWAttr           uint32 = 1 << 16
	FeatNoIOWait         uint32 = 1 << 17
	featKnownFeaturesEnd uint32 = 1 << 18
)

var featNames = [...]string{
	"SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY", "FAST_POLL",
	"POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP",
	"LINKED_FILE", "REG_REG_RING", "RECVSEND_BUNDLE", "MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT",
}

// CQE flags (io_uring_cqe.flags).
const (
	CQEFBuffer       uint32 = 1 << 0 // upper 16 bits carry the buffer id
	CQEFMore         uint32 = 1 << 1 // the request will post more CQEs
	CQEFSockNonempty uint32 = 1 << 2 // more data was available after this receive
	CQEFNotif        uint32 = 1 << 3 // SEND_ZC notification: the buffer may be reused
	cqeBufferShift          = 16
)

// Per-opcode flags, all from include/uapi/linux/io_uring.h.
const (
	FsyncDatasync uint32 = 1 << 0 // sqe->fsync_flags

	TimeoutAbs      uint32 = 1 << 0 // sqe->timeout_flags
	TimeoutBoottime uint32 = 1 << 2
	TimeoutRealtime uint32 = 1 << 3
	TimeoutETimeOK  uint32 = 1 << 5 // IORING_TIMEOUT_ETIME_SUCCESS

	SpliceFdInFixed uint32 = 1 << 31 // sqe->splice_flags: fd_in is a registered file index

	PollAddMulti uint32 = 1 << 0 // POLL_ADD command flags, in sqe->len

	CancelAll      uint32 = 1 << 0 // sqe->cancel_flags
	CancelFd       uint32 = 1 << 1
	CancelAny      uint32 = 1 << 2
	CancelFdFixed  uint32 = 1 << 3
	CancelUserdata uint32 = 1 << 4
	CancelOp       uint32 = 1 << 5

	RecvsendPollFirst  uint16 = 1 << 0 // send/recv flags, in sqe->ioprio
	RecvMultishot      uint16 = 1 << 1
	RecvsendFixedBuf   uint16 = 1 << 2
	SendZCReportUsage  uint16 = 1 << 3
	NotifUsageZCCopied int32  = -1 << 31 // set in a SEND_ZC notification's res when the kernel copied

	AcceptMultishot uint16 = 1 << 0 // accept flags, in sqe->ioprio
)

// SQ ring flags (sq_ring->flags).
const (
	sqNeedWakeup uint32 = 1 << 0
	sqCQOverflow uint32 = 1 << 1
	sqTaskrun    uint32 = 1 << 2
)

// io_uring_enter(2) flags.
const (
	enterGetevents uint32 = 1 << 0
	enterSQWakeup  uint32 = 1 << 1
	enterSQWait    uint32 = 1 << 2
	enterExtArg    uint32 = 1 << 3
)

// mmap offsets.
const (
	offSQRing int64 = 0
	offCQRing int64 = 0x8000000
	offSQEs   int64 = 0x10000000
)

// io_uring_register(2) opcodes.
const (
	regBuffers         = 0
	unregBuffers       = 1
	regFiles           = 2
	unregFiles         = 3
	regEventfd         = 4
	unregEventfd       = 5
	regFilesUpdate     = 6
	regEventfdAsync    = 7
	regProbe           = 8
	regFiles2          = 13
	regFilesUpdate2    = 14
	regBuffers2        = 15
	regBuffersUpdate   = 16
	regIOWQAff         = 17
	unregIOWQAff       = 18
	regIOWQMaxWorkers  = 19
	regPbufRing        = 22
	unregPbufRing      = 23
	rsrcRegisterSparse = 1 << 0
	ioURingOpSupported = 1 << 0
	registerFilesSkip  = -2
	fileIndexAlloc     = ^uint32(0)
)
