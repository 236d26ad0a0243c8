package server

// Access mask bits (MS-SMB2 2.2.13.1).
const (
	fileReadData         uint32 = 0x00000001
	fileWriteData        uint32 = 0x00000002
	fileAppendData       uint32 = 0x00000004
	fileReadEA           uint32 = 0x00000008
	fileWriteEA          uint32 = 0x00000010
	fileExecute          uint32 = 0x00000020
	fileDeleteChild      uint32 = 0x00000040
	fileReadAttributes   uint32 = 0x00000080
	fileWriteAttributes  uint32 = 0x00000100
	accessDelete         uint32 = 0x00010000
	readControl          uint32 = 0x00020000
	writeDAC             uint32 = 0x00040000
	writeOwner           uint32 = 0x00080000
	synchronize          uint32 = 0x00100000
	accessSystemSecurity uint32 = 0x01000000
	maximumAllowed       uint32 = 0x02000000
	genericAll           uint32 = 0x10000000
	genericExecute       uint32 = 0x20000000
	genericWrite         uint32 = 0x40000000
	genericRead          uint32 = 0x80000000

	// accessReservedMask are bits a CREATE may not ask for (smb2.create.gentest:
	// 0x0df0fe00 less ACCESS_SYSTEM_SECURITY and SYNCHRONIZE, which have
	// their own rules).
	accessReservedMask uint32 = 0x0ce0fe00
	accessValidMask           = 0x1F01FF | accessSystemSecurity | maximumAllowed | genericAll | genericExecute | genericWrite | genericRead
	writeAccessMask           = fileWriteData | fileAppendData | fileWriteEA | fileWriteAttributes | accessDelete | writeDAC | writeOwner | fileDeleteChild
)

// Share access (MS-SMB2 2.2.13).
const (
	shareRead   uint32 = 0x1
	shareWrite  uint32 = 0x2
	shareDelete uint32 = 0x4
)

// Create dispositions, options and actions (MS-SMB2 2.2.13, 2.2.14).
const (
	fileSupersede   uint32 = 0
	fileOpen        uint32 = 1
	fileCreate      uint32 = 2
	fileOpenIf      uint32 = 3
	fileOverwrite   uint32 = 4
	fileOverwriteIf uint32 = 5

	optDirectoryFile        uint32 = 0x00000001
	optWriteThrough         uint32 = 0x00000002
	optSequentialOnly       uint32 = 0x00000004
	optNoIntermediateBuf    uint32 = 0x00000008
	optSyncIOAlert          uint32 = 0x00000010
	optSyncIONonAlert       uint32 = 0x00000020
	optNonDirectoryFile     uint32 = 0x00000040
	optCreateTreeConnection uint32 = 0x00000080
	optCompleteIfOplocked   uint32 = 0x00000100
	optNoEAKnowledge        uint32 = 0x00000200
	optRandomAccess         uint32 = 0x00000800
	optDeleteOnClose        uint32 = 0x00001000
	optOpenByFileID         uint32 = 0x00002000
	optOpenForBackup        uint32 = 0x00004000
	optNoCompression        uint32 = 0x00008000
	optReserveOpfilter      uint32 = 0x00100000
	optOpenReparsePoint     uint32 = 0x00200000
	optOpenNoRecall         uint32 = 0x00400000
	optOpenForFreeSpace     uint32 = 0x00800000
	optValidMask            uint32 = 0x00FFFFFF

	actionSuperseded  uint32 = 0
	actionOpened      uint32 = 1
	actionCreated     uint32 = 2
	actionOverwritten uint32 = 3
)

// genericMapping expands generic access bits (MS-FSA file object mapping).
func genericMapping(a uint32) uint32 {
	if a&genericRead != 0 {
		a |= 0x00120089
	}
	if a&genericWrite != 0 {
		a |= 0x00120116
	}
	if a&genericExecute != 0 {
		a |= 0x001200A0
	}
	if a&genericAll != 0 {
		a |= 0x001F01FF
	}
	return a &^ (genericRead | genericWrite | genericExecute | genericAll)
}

// shareConflict reports whether an open with access a and share mode s
// conflicts with an existing open (MS-FSA 2.1.5.1.2.1).
func shareConflict(existing *open, a, s uint32) bool {
	const dataRead = fileReadData | fileExecute
	const dataWrite = fileWriteData | fileAppendData
	ea, es := existing.access, existing.shareAc
	if ea&(dataRead|dataWrite|accessDelete) == 0 {
		return false
	}
	if a&(dataRead|dataWrite|accessDelete) == 0 {
		return false
	}
	if ea&dataRead != 0 && s&shareRead == 0 ||
		ea&dataWrite != 0 && s&shareWrite == 0 ||
		ea&accessDelete != 0 && s&shareDelete == 0 {
		return true
	}
	if a&dataRead != 0 && es&shareRead == 0 ||
		a&dataWrite != 0 && es&shareWrite == 0 ||
		a&accessDelete != 0 && es&shareDelete == 0 {
		return true
	}
	return false
}

// File attributes a CREATE may carry, and those the backend stores
// (smb2.create.gentest: READONLY, HIDDEN, SYSTEM, ARCHIVE, TEMPORARY, OFFLINE,
// NOT_CONTENT_INDEXED, ENCRYPTED are kept; the rest are accepted and dropped).
const (
	attrValidMask  uint32 = 0x00007FB7
	attrStoredMask uint32 = 0x00007127
)
