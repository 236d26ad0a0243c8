package wire

import "errors"

// FileID is an SMB2_FILEID (MS-SMB2 2.2.14.1).
type FileID struct{ Persistent, Volatile uint64 }

// IsAll reports whether the id is 0xFFFF...FFFF, which in a related compound
// request means "the file of the previous request".
func (f FileID) IsAll() bool { return f.Persistent == ^uint64(0) && f.Volatile == ^uint64(0) }

func getFileID(b []byte) FileID { return FileID{le.Uint64(b), le.Uint64(b[8:])} }

// AppendFileID appends the 16-byte wire form.
func AppendFileID(b []byte, f FileID) []byte {
	b = le.AppendUint64(b, f.Persistent)
	return le.AppendUint64(b, f.Volatile)
}

const h = HeaderSize

// SessionSetupRequest is MS-SMB2 2.2.5.
type SessionSetupRequest []byte

func (r SessionSetupRequest) Validate() error {
	if err := body(r, 25, 24); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+12:])), uint64(le.Uint16(r[h+14:])))
	return err
}

// Session setup flags.
const SessionFlagBinding uint8 = 0x01

func (r SessionSetupRequest) Flags() uint8              { return r[h+2] }
func (r SessionSetupRequest) SecurityMode() uint8       { return r[h+3] }
func (r SessionSetupRequest) Capabilities() uint32      { return le.Uint32(r[h+4:]) }
func (r SessionSetupRequest) PreviousSessionID() uint64 { return le.Uint64(r[h+16:]) }
func (r SessionSetupRequest) SecurityBuffer() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+12:])), uint64(le.Uint16(r[h+14:])))
	return b
}

// Session flags in the response (MS-SMB2 2.2.6).
const (
	SessionFlagIsGuest uint16 = 0x0001
	SessionFlagIsNull  uint16 = 0x0002
	SessionFlagEncrypt uint16 = 0x0004
)

// AppendSessionSetupResponse appends MS-SMB2 2.2.6.
func AppendSessionSetupResponse(b []byte, flags uint16, sec []byte) []byte {
	b = le.AppendUint16(b, 9)
	b = le.AppendUint16(b, flags)
	if len(sec) == 0 {
		b = le.AppendUint16(b, 0)
	} else {
		b = le.AppendUint16(b, h+8)
	}
	b = le.AppendUint16(b, uint16(len(sec)))
	if len(sec) == 0 {
		return append(b, 0)
	}
	return append(b, sec...)
}

// AppendEmptyResponse appends a four-byte body (LOGOFF, TREE_DISCONNECT,
// FLUSH, ECHO, LOCK responses).
func AppendEmptyResponse(b []byte) []byte { return append(b, 4, 0, 0, 0) }

// ValidateEmpty checks a StructureSize 4 request (LOGOFF, TREE_DISCONNECT, ECHO, CANCEL).
func ValidateEmpty(msg []byte) error { return body(msg, 4, 4) }

// AppendErrorResponse appends MS-SMB2 2.2.2 with an optional payload.
func AppendErrorResponse(b []byte, data []byte) []byte {
	b = le.AppendUint16(b, 9)
	b = append(b, 0, 0)
	b = le.AppendUint32(b, uint32(len(data)))
	if len(data) == 0 {
		return append(b, 0)
	}
	return append(b, data...)
}

// TreeConnectRequest is MS-SMB2 2.2.9.
type TreeConnectRequest []byte

func (r TreeConnectRequest) Validate() error {
	if err := body(r, 9, 8); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+4:])), uint64(le.Uint16(r[h+6:])))
	return err
}
func (r TreeConnectRequest) Flags() uint16 { return le.Uint16(r[h+2:]) }
func (r TreeConnectRequest) Path() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+4:])), uint64(le.Uint16(r[h+6:])))
	return b
}

// Share types, flags and capabilities (MS-SMB2 2.2.10).
const (
	ShareTypeDisk  uint8 = 1
	ShareTypePipe  uint8 = 2
	ShareTypePrint uint8 = 3

	ShareFlagManualCaching      uint32 = 0x00000000
	ShareFlagNoCaching          uint32 = 0x00000030
	ShareFlagDFS                uint32 = 0x00000001
	ShareFlagEncryptData        uint32 = 0x00008000
	ShareFlagAccessBasedDirEnum uint32 = 0x00000800

	ShareCapDFS                    uint32 = 0x00000008
	ShareCapContinuousAvailability uint32 = 0x00000010
	ShareCapScaleOut               uint32 = 0x00000020
	ShareCapCluster                uint32 = 0x00000040
	ShareCapAsymmetric             uint32 = 0x00000080
)

// AppendTreeConnectResponse appends MS-SMB2 2.2.10.
func AppendTreeConnectResponse(b []byte, shareType uint8, flags, caps, maxAccess uint32) []byte {
	b = le.AppendUint16(b, 16)
	b = append(b, shareType, 0)
	b = le.AppendUint32(b, flags)
	b = le.AppendUint32(b, caps)
	return le.AppendUint32(b, maxAccess)
}

// CreateRequest is MS-SMB2 2.2.13.
type CreateRequest []byte

func (r CreateRequest) Validate() error {
	if err := body(r, 57, 56); err != nil {
		return err
	}
	if _, err := slice(r, uint64(le.Uint16(r[h+44:])), uint64(le.Uint16(r[h+46:]))); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint32(r[h+48:])), uint64(le.Uint32(r[h+52:])))
	return err
}
func (r CreateRequest) SecurityFlags() uint8        { return r[h+2] }
func (r CreateRequest) RequestedOplockLevel() uint8 { return r[h+3] }
func (r CreateRequest) ImpersonationLevel() uint32  { return le.Uint32(r[h+4:]) }
func (r CreateRequest) SmbCreateFlags() uint64      { return le.Uint64(r[h+8:]) }
func (r CreateRequest) DesiredAccess() uint32       { return le.Uint32(r[h+24:]) }
func (r CreateRequest) FileAttributes() uint32      { return le.Uint32(r[h+28:]) }
func (r CreateRequest) ShareAccess() uint32         { return le.Uint32(r[h+32:]) }
func (r CreateRequest) CreateDisposition() uint32   { return le.Uint32(r[h+36:]) }
func (r CreateRequest) CreateOptions() uint32       { return le.Uint32(r[h+40:]) }
func (r CreateRequest) Name() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+44:])), uint64(le.Uint16(r[h+46:])))
	return b
}
func (r CreateRequest) ContextsBuffer() []byte {
	b, _ := slice(r, uint64(le.Uint32(r[h+48:])), uint64(le.Uint32(r[h+52:])))
	return b
}

// CreateContext is one SMB2_CREATE_CONTEXT (MS-SMB2 2.2.13.2).
type CreateContext struct {
	Name string
	Data []byte
}

// ParseCreateContexts walks a create context chain with bounds checks
// (MS-SMB2 2.2.13.2): each context's name and data must lie inside that
// context (up to its Next, or the end for the last one), the name after the
// 16-byte header and the data 8-byte aligned, as Samba's parser requires.
func ParseCreateContexts(b []byte) ([]CreateContext, error) {
	var out []CreateContext
	off := uint64(0)
	for len(b) > 0 {
		if !checkRange(off, 16, len(b)) {
			return nil, ErrShort
		}
		next := uint64(le.Uint32(b[off:]))
		end := uint64(len(b))
		if next != 0 {
			if next%8 != 0 || next < 16 || off+next > end {
				return nil, ErrBadOffset
			}
			end = off + next
		}
		c := b[off:end]
		nameOff, nameLen := uint64(le.Uint16(c[4:])), uint64(le.Uint16(c[6:]))
		dataOff, dataLen := uint64(le.Uint16(c[10:])), uint64(le.Uint32(c[12:]))
		if nameOff < 16 {
			return nil, ErrBadOffset
		}
		name, err := slice(c, nameOff, nameLen)
		if err != nil {
			return nil, err
		}
		if dataLen > 0 && (dataOff%8 != 0 || dataOff < nameOff+nameLen) {
			return nil, ErrBadOffset
		}
		data, err := slice(c, dataOff, dataLen)
		if err != nil {
			return nil, err
		}
		if len(name) == 0 {
			return nil, errors.New("create context: empty name")
		}
		out = append(out, CreateContext{Name: string(name), Data: data})
		if len(out) > 32 {
			return nil, errors.New("create context: too many")
		}
		if next == 0 {
			break
		}
		off += next
	}
	return out, nil
}

// AppendCreateContexts appends a create context chain; each element starts
// 8-byte aligned relative to the chain start, which the caller aligns.
func AppendCreateContexts(b []byte, ctxs []CreateContext) []byte {
	for i, c := range ctxs {
		start := len(b)
		nameOff := 16
		dataOff := 0
		if len(c.Data) > 0 {
			dataOff = (nameOff + len(c.Name) + 7) &^ 7
		}
		b = le.AppendUint32(b, 0)
		b = le.AppendUint16(b, uint16(nameOff))
		b = le.AppendUint16(b, uint16(len(c.Name)))
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, uint16(dataOff))
		b = le.AppendUint32(b, uint32(len(c.Data)))
		b = append(b, c.Name...)
		if len(c.Data) > 0 {
			for len(b)-start < dataOff {
				b = append(b, 0)
			}
			b = append(b, c.Data...)
		}
		if i < len(ctxs)-1 {
			for (len(b)-start)%8 != 0 {
				b = append(b, 0)
			}
			le.PutUint32(b[start:], uint32(len(b)-start))
		}
	}
	return b
}

// CreateResponse is MS-SMB2 2.2.14.
type CreateResponse struct {
	OplockLevel    uint8
	Flags          uint8
	CreateAction   uint32
	Creation       uint64
	LastAccess     uint64
	LastWrite      uint64
	Change         uint64
	AllocationSize int64
	EndOfFile      int64
	Attributes     uint32
	FileID         FileID
	Contexts       []CreateContext
}

// Append appends the response body.
func (r *CreateResponse) Append(b []byte) []byte {
	start := len(b)
	b = le.AppendUint16(b, 89)
	b = append(b, r.OplockLevel, r.Flags)
	b = le.AppendUint32(b, r.CreateAction)
	b = le.AppendUint64(b, r.Creation)
	b = le.AppendUint64(b, r.LastAccess)
	b = le.AppendUint64(b, r.LastWrite)
	b = le.AppendUint64(b, r.Change)
	b = le.AppendUint64(b, uint64(r.AllocationSize))
	b = le.AppendUint64(b, uint64(r.EndOfFile))
	b = le.AppendUint32(b, r.Attributes)
	b = le.AppendUint32(b, 0)
	b = AppendFileID(b, r.FileID)
	if len(r.Contexts) == 0 {
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, 0)
		return append(b, 0)
	}
	b = le.AppendUint32(b, h+88)
	lenPos := len(b)
	b = le.AppendUint32(b, 0)
	cs := len(b)
	b = AppendCreateContexts(b, r.Contexts)
	le.PutUint32(b[lenPos:], uint32(len(b)-cs))
	_ = start
	return b
}

// CloseRequest is MS-SMB2 2.2.15.
type CloseRequest []byte

const CloseFlagPostQueryAttrib uint16 = 0x0001

func (r CloseRequest) Validate() error { return body(r, 24, 24) }
func (r CloseRequest) Flags() uint16   { return le.Uint16(r[h+2:]) }
func (r CloseRequest) FileID() FileID  { return getFileID(r[h+8:]) }

// CloseResponse is MS-SMB2 2.2.16.
type CloseResponse struct {
	Flags                                   uint16
	Creation, LastAccess, LastWrite, Change uint64
	AllocationSize, EndOfFile               int64
	Attributes                              uint32
}

func (r *CloseResponse) Append(b []byte) []byte {
	b = le.AppendUint16(b, 60)
	b = le.AppendUint16(b, r.Flags)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, r.Creation)
	b = le.AppendUint64(b, r.LastAccess)
	b = le.AppendUint64(b, r.LastWrite)
	b = le.AppendUint64(b, r.Change)
	b = le.AppendUint64(b, uint64(r.AllocationSize))
	b = le.AppendUint64(b, uint64(r.EndOfFile))
	return le.AppendUint32(b, r.Attributes)
}

// FlushRequest is MS-SMB2 2.2.17.
type FlushRequest []byte

func (r FlushRequest) Validate() error { return body(r, 24, 24) }
func (r FlushRequest) FileID() FileID  { return getFileID(r[h+8:]) }

// Channel values (MS-SMB2 2.2.19).
const (
	ChannelNone             uint32 = 0
	ChannelRDMAV1           uint32 = 1
	ChannelRDMAV1Invalidate uint32 = 2
	ChannelRDMATransform    uint32 = 3
)

// ReadRequest is MS-SMB2 2.2.19.
type ReadRequest []byte

// Read flags.
const (
	ReadFlagUnbuffered uint8 = 0x01
	ReadFlagCompressed uint8 = 0x02
)

func (r ReadRequest) Validate() error {
	if err := body(r, 49, 48); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+44:])), uint64(le.Uint16(r[h+46:])))
	return err
}
func (r ReadRequest) Padding() uint8         { return r[h+2] }
func (r ReadRequest) Flags() uint8           { return r[h+3] }
func (r ReadRequest) Length() uint32         { return le.Uint32(r[h+4:]) }
func (r ReadRequest) Offset() uint64         { return le.Uint64(r[h+8:]) }
func (r ReadRequest) FileID() FileID         { return getFileID(r[h+16:]) }
func (r ReadRequest) MinimumCount() uint32   { return le.Uint32(r[h+32:]) }
func (r ReadRequest) Channel() uint32        { return le.Uint32(r[h+36:]) }
func (r ReadRequest) RemainingBytes() uint32 { return le.Uint32(r[h+40:]) }
func (r ReadRequest) ChannelInfo() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+44:])), uint64(le.Uint16(r[h+46:])))
	return b
}

// ReadResponseHeaderLen is the fixed part of a READ response body; data
// follows at offset HeaderSize+16 (0x50).
const ReadResponseHeaderLen = 16

// AppendReadResponseHeader appends the 16 fixed bytes of MS-SMB2 2.2.20;
// the caller appends dataLen bytes of data after it.
func AppendReadResponseHeader(b []byte, dataLen, remaining uint32) []byte {
	b = le.AppendUint16(b, 17)
	b = append(b, h+16, 0)
	b = le.AppendUint32(b, dataLen)
	b = le.AppendUint32(b, remaining)
	return le.AppendUint32(b, 0)
}

// WriteRequest is MS-SMB2 2.2.21.
type WriteRequest []byte

// Write flags.
const (
	WriteFlagWriteThrough uint32 = 0x00000001
	WriteFlagUnbuffered   uint32 = 0x00000002
)

func (r WriteRequest) Validate() error {
	if err := body(r, 49, 48); err != nil {
		return err
	}
	if le.Uint32(r[h+32:]) == ChannelNone {
		if _, err := slice(r, uint64(le.Uint16(r[h+2:])), uint64(le.Uint32(r[h+4:]))); err != nil {
			return err
		}
	}
	_, err := slice(r, uint64(le.Uint16(r[h+40:])), uint64(le.Uint16(r[h+42:])))
	return err
}
func (r WriteRequest) DataOffset() uint16     { return le.Uint16(r[h+2:]) }
func (r WriteRequest) Length() uint32         { return le.Uint32(r[h+4:]) }
func (r WriteRequest) Offset() uint64         { return le.Uint64(r[h+8:]) }
func (r WriteRequest) FileID() FileID         { return getFileID(r[h+16:]) }
func (r WriteRequest) Channel() uint32        { return le.Uint32(r[h+32:]) }
func (r WriteRequest) RemainingBytes() uint32 { return le.Uint32(r[h+36:]) }
func (r WriteRequest) Flags() uint32          { return le.Uint32(r[h+44:]) }
func (r WriteRequest) ChannelInfo() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+40:])), uint64(le.Uint16(r[h+42:])))
	return b
}

// Data returns the inline payload (Channel == ChannelNone).
func (r WriteRequest) Data() []byte {
	b, _ := slice(r, uint64(r.DataOffset()), uint64(r.Length()))
	return b
}

// AppendWriteResponse appends MS-SMB2 2.2.22.
func AppendWriteResponse(b []byte, count uint32) []byte {
	b = le.AppendUint16(b, 17)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, count)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 0)
	return le.AppendUint16(b, 0)
}

// LockRequest is MS-SMB2 2.2.26.
type LockRequest []byte

// Lock flags (MS-SMB2 2.2.26.1).
const (
	LockFlagShared          uint32 = 0x01
	LockFlagExclusive       uint32 = 0x02
	LockFlagUnlock          uint32 = 0x04
	LockFlagFailImmediately uint32 = 0x10
)

// LockElement is one SMB2_LOCK_ELEMENT.
type LockElement struct {
	Offset, Length uint64
	Flags          uint32
}

func (r LockRequest) Validate() error {
	if err := body(r, 48, 48); err != nil {
		return err
	}
	n := uint64(le.Uint16(r[h+2:]))
	if n == 0 {
		return errors.New("lock: LockCount is zero")
	}
	if !checkRange(h+24, 24*n, len(r)) {
		return ErrShort
	}
	return nil
}
func (r LockRequest) LockCount() uint16    { return le.Uint16(r[h+2:]) }
func (r LockRequest) LockSequence() uint32 { return le.Uint32(r[h+4:]) }
func (r LockRequest) FileID() FileID       { return getFileID(r[h+8:]) }
func (r LockRequest) Locks() []LockElement {
	n := int(r.LockCount())
	out := make([]LockElement, n)
	for i := range n {
		e := r[h+24+24*i:]
		out[i] = LockElement{le.Uint64(e), le.Uint64(e[8:]), le.Uint32(e[16:])}
	}
	return out
}

// IoctlRequest is MS-SMB2 2.2.31.
type IoctlRequest []byte

// IoctlFlagIsFsctl marks an FSCTL (MS-SMB2 2.2.31).
const IoctlFlagIsFsctl uint32 = 0x00000001

func (r IoctlRequest) Validate() error {
	if err := body(r, 57, 56); err != nil {
		return err
	}
	if _, err := slice(r, uint64(le.Uint32(r[h+24:])), uint64(le.Uint32(r[h+28:]))); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint32(r[h+36:])), uint64(le.Uint32(r[h+40:])))
	return err
}
func (r IoctlRequest) CtlCode() uint32           { return le.Uint32(r[h+4:]) }
func (r IoctlRequest) FileID() FileID            { return getFileID(r[h+8:]) }
func (r IoctlRequest) MaxInputResponse() uint32  { return le.Uint32(r[h+32:]) }
func (r IoctlRequest) MaxOutputResponse() uint32 { return le.Uint32(r[h+44:]) }
func (r IoctlRequest) Flags() uint32             { return le.Uint32(r[h+48:]) }
func (r IoctlRequest) Input() []byte {
	b, _ := slice(r, uint64(le.Uint32(r[h+24:])), uint64(le.Uint32(r[h+28:])))
	return b
}

// AppendIoctlResponse appends MS-SMB2 2.2.32 with the output at 8-byte
// aligned offset HeaderSize+48.
func AppendIoctlResponse(b []byte, ctl uint32, fid FileID, input, output []byte) []byte {
	b = le.AppendUint16(b, 49)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, ctl)
	b = AppendFileID(b, fid)
	inOff := uint32(h + 48)
	if len(input) == 0 {
		inOff = 0
	}
	b = le.AppendUint32(b, inOff)
	b = le.AppendUint32(b, uint32(len(input)))
	outOff := uint32(h+48) + uint32((len(input)+7)&^7)
	if len(output) == 0 {
		outOff = 0
	}
	b = le.AppendUint32(b, outOff)
	b = le.AppendUint32(b, uint32(len(output)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = append(b, input...)
	for i := len(input); i%8 != 0; i++ {
		b = append(b, 0)
	}
	return append(b, output...)
}

// AppendIoctlResponsePadded appends an IOCTL response without input whose
// output starts pad bytes after the response body (OutputOffset says where):
// legal, and what Samba's test-only FSCTL_SMBTORTURE_IOCTL_RESPONSE_BODY_PADDING8
// asks for to check that clients follow OutputOffset.
func AppendIoctlResponsePadded(b []byte, ctl uint32, fid FileID, output []byte, pad int) []byte {
	b = le.AppendUint16(b, 49)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, ctl)
	b = AppendFileID(b, fid)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	outOff := uint32(h + 48 + pad)
	if len(output) == 0 {
		outOff = 0
	}
	b = le.AppendUint32(b, outOff)
	b = le.AppendUint32(b, uint32(len(output)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = append(b, make([]byte, pad)...)
	return append(b, output...)
}

// QueryDirectoryRequest is MS-SMB2 2.2.33.
type QueryDirectoryRequest []byte

// Query directory flags.
const (
	QueryDirRestartScans   uint8 = 0x01
	QueryDirReturnSingle   uint8 = 0x02
	QueryDirIndexSpecified uint8 = 0x04
	QueryDirReopen         uint8 = 0x10
)

func (r QueryDirectoryRequest) Validate() error {
	if err := body(r, 33, 32); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+24:])), uint64(le.Uint16(r[h+26:])))
	return err
}
func (r QueryDirectoryRequest) InfoClass() uint8           { return r[h+2] }
func (r QueryDirectoryRequest) Flags() uint8               { return r[h+3] }
func (r QueryDirectoryRequest) FileIndex() uint32          { return le.Uint32(r[h+4:]) }
func (r QueryDirectoryRequest) FileID() FileID             { return getFileID(r[h+8:]) }
func (r QueryDirectoryRequest) OutputBufferLength() uint32 { return le.Uint32(r[h+28:]) }
func (r QueryDirectoryRequest) Pattern() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+24:])), uint64(le.Uint16(r[h+26:])))
	return b
}

// AppendBufferResponse appends the StructureSize 9 body shared by
// QUERY_DIRECTORY, CHANGE_NOTIFY and QUERY_INFO responses.
func AppendBufferResponse(b []byte, data []byte) []byte {
	b = le.AppendUint16(b, 9)
	if len(data) == 0 {
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 0)
		return append(b, 0)
	}
	b = le.AppendUint16(b, h+8)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// ChangeNotifyRequest is MS-SMB2 2.2.35.
type ChangeNotifyRequest []byte

const NotifyWatchTree uint16 = 0x0001

func (r ChangeNotifyRequest) Validate() error            { return body(r, 32, 32) }
func (r ChangeNotifyRequest) Flags() uint16              { return le.Uint16(r[h+2:]) }
func (r ChangeNotifyRequest) OutputBufferLength() uint32 { return le.Uint32(r[h+4:]) }
func (r ChangeNotifyRequest) FileID() FileID             { return getFileID(r[h+8:]) }
func (r ChangeNotifyRequest) CompletionFilter() uint32   { return le.Uint32(r[h+24:]) }

// Info types (MS-SMB2 2.2.37).
const (
	InfoFile       uint8 = 1
	InfoFilesystem uint8 = 2
	InfoSecurity   uint8 = 3
	InfoQuota      uint8 = 4
)

// QueryInfoRequest is MS-SMB2 2.2.37.
type QueryInfoRequest []byte

func (r QueryInfoRequest) Validate() error {
	if err := body(r, 41, 40); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+8:])), uint64(le.Uint32(r[h+12:])))
	return err
}
func (r QueryInfoRequest) InfoType() uint8               { return r[h+2] }
func (r QueryInfoRequest) InfoClass() uint8              { return r[h+3] }
func (r QueryInfoRequest) OutputBufferLength() uint32    { return le.Uint32(r[h+4:]) }
func (r QueryInfoRequest) AdditionalInformation() uint32 { return le.Uint32(r[h+16:]) }
func (r QueryInfoRequest) Flags() uint32                 { return le.Uint32(r[h+20:]) }
func (r QueryInfoRequest) FileID() FileID                { return getFileID(r[h+24:]) }
func (r QueryInfoRequest) Input() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+8:])), uint64(le.Uint32(r[h+12:])))
	return b
}

// SetInfoRequest is MS-SMB2 2.2.39.
type SetInfoRequest []byte

func (r SetInfoRequest) Validate() error {
	if err := body(r, 33, 32); err != nil {
		return err
	}
	_, err := slice(r, uint64(le.Uint16(r[h+8:])), uint64(le.Uint32(r[h+4:])))
	return err
}
func (r SetInfoRequest) InfoType() uint8               { return r[h+2] }
func (r SetInfoRequest) InfoClass() uint8              { return r[h+3] }
func (r SetInfoRequest) AdditionalInformation() uint32 { return le.Uint32(r[h+12:]) }
func (r SetInfoRequest) FileID() FileID                { return getFileID(r[h+16:]) }
func (r SetInfoRequest) Buffer() []byte {
	b, _ := slice(r, uint64(le.Uint16(r[h+8:])), uint64(le.Uint32(r[h+4:])))
	return b
}

// AppendSetInfoResponse appends MS-SMB2 2.2.40.
func AppendSetInfoResponse(b []byte) []byte { return append(b, 2, 0) }

// OplockBreakAck is an oplock break acknowledgment (MS-SMB2 2.2.24.1) or a
// lease break acknowledgment (2.2.24.2), told apart by StructureSize.
type OplockBreakAck []byte

func (r OplockBreakAck) Validate() error {
	if len(r) < h+2 {
		return ErrShort
	}
	switch le.Uint16(r[h:]) {
	case 24:
		return body(r, 24, 24)
	case 36:
		return body(r, 36, 36)
	}
	return ErrStructureSize
}
func (r OplockBreakAck) IsLease() bool      { return le.Uint16(r[h:]) == 36 }
func (r OplockBreakAck) OplockLevel() uint8 { return r[h+2] }
func (r OplockBreakAck) FileID() FileID     { return getFileID(r[h+8:]) }
func (r OplockBreakAck) LeaseKey() (k [16]byte) {
	if r.IsLease() {
		copy(k[:], r[h+8:h+24])
	}
	return k
}

// LeaseState is the acknowledged lease state; 0 for an oplock break ack.
func (r OplockBreakAck) LeaseState() uint32 {
	if !r.IsLease() {
		return 0
	}
	return le.Uint32(r[h+24:])
}
