package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var le = binary.LittleEndian

// HeaderSize is the size of the SMB2 sync and async headers (MS-SMB2 2.2.1).
const HeaderSize = 64

// ProtocolID is the first four bytes of every SMB2 message.
const ProtocolID = "\xfeSMB"

// Command is an SMB2 command code (MS-SMB2 2.2.1.2).
type Command uint16

const (
	CmdNegotiate      Command = 0x0000
	CmdSessionSetup   Command = 0x0001
	CmdLogoff         Command = 0x0002
	CmdTreeConnect    Command = 0x0003
	CmdTreeDisconnect Command = 0x0004
	CmdCreate         Command = 0x0005
	CmdClose          Command = 0x0006
	CmdFlush          Command = 0x0007
	CmdRead           Command = 0x0008
	CmdWrite          Command = 0x0009
	CmdLock           Command = 0x000A
	CmdIoctl          Command = 0x000B
	CmdCancel         Command = 0x000C
	CmdEcho           Command = 0x000D
	CmdQueryDirectory Command = 0x000E
	CmdChangeNotify   Command = 0x000F
	CmdQueryInfo      Command = 0x0010
	CmdSetInfo        Command = 0x0011
	CmdOplockBreak    Command = 0x0012
	NumCommands               = 0x0013
)

var commandNames = [...]string{"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
	"CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY",
	"CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK"}

func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	return fmt.Sprintf("Command(%#04x)", uint16(c))
}

// Header flags (MS-SMB2 2.2.1.2).
const (
	FlagServerToRedir     uint32 = 0x00000001
	FlagAsyncCommand      uint32 = 0x00000002
	FlagRelatedOperations uint32 = 0x00000004
	FlagSigned            uint32 = 0x00000008
	FlagPriorityMask      uint32 = 0x00000070
	FlagDFSOperations     uint32 = 0x10000000
	FlagReplayOperation   uint32 = 0x20000000
)

// Errors returned by Validate methods.
var (
	ErrShort          = io.ErrUnexpectedEOF
	ErrBadProtocol    = errors.New("smb2: bad protocol id")
	ErrStructureSize  = errors.New("smb2: bad structure size")
	ErrBadOffset      = errors.New("smb2: buffer offset or length out of range")
	ErrBadNextCommand = errors.New("smb2: bad NextCommand offset")
)

// Header is a view of the 64-byte SMB2 header at the start of a message.
type Header []byte

// Validate checks the length, protocol id and structure size.
func (h Header) Validate() error {
	if len(h) < HeaderSize {
		return ErrShort
	}
	if string(h[:4]) != ProtocolID {
		return ErrBadProtocol
	}
	if le.Uint16(h[4:]) != HeaderSize {
		return fmt.Errorf("header: %w", ErrStructureSize)
	}
	return nil
}

func (h Header) CreditCharge() uint16     { return le.Uint16(h[6:]) }
func (h Header) Status() uint32           { return le.Uint32(h[8:]) }
func (h Header) ChannelSequence() uint16  { return le.Uint16(h[8:]) }
func (h Header) Command() Command         { return Command(le.Uint16(h[12:])) }
func (h Header) CreditRequest() uint16    { return le.Uint16(h[14:]) }
func (h Header) Flags() uint32            { return le.Uint32(h[16:]) }
func (h Header) NextCommand() uint32      { return le.Uint32(h[20:]) }
func (h Header) MessageID() uint64        { return le.Uint64(h[24:]) }
func (h Header) AsyncID() uint64          { return le.Uint64(h[32:]) }
func (h Header) TreeID() uint32           { return le.Uint32(h[36:]) }
func (h Header) SessionID() uint64        { return le.Uint64(h[40:]) }
func (h Header) Signature() []byte        { return h[48:64] }
func (h Header) IsAsync() bool            { return h.Flags()&FlagAsyncCommand != 0 }
func (h Header) IsRelated() bool          { return h.Flags()&FlagRelatedOperations != 0 }
func (h Header) IsSigned() bool           { return h.Flags()&FlagSigned != 0 }
func (h Header) IsReplay() bool           { return h.Flags()&FlagReplayOperation != 0 }
func (h Header) SetCreditCharge(v uint16) { le.PutUint16(h[6:], v) }
func (h Header) SetStatus(v uint32)       { le.PutUint32(h[8:], v) }
func (h Header) SetCommand(c Command)     { le.PutUint16(h[12:], uint16(c)) }
func (h Header) SetCredits(v uint16)      { le.PutUint16(h[14:], v) }
func (h Header) SetFlags(v uint32)        { le.PutUint32(h[16:], v) }
func (h Header) SetNextCommand(v uint32)  { le.PutUint32(h[20:], v) }
func (h Header) SetMessageID(v uint64)    { le.PutUint64(h[24:], v) }
func (h Header) SetAsyncID(v uint64)      { le.PutUint64(h[32:], v) }
func (h Header) SetTreeID(v uint32)       { le.PutUint32(h[36:], v) }
func (h Header) SetSessionID(v uint64)    { le.PutUint64(h[40:], v) }

// ResponseHeader describes the header of a response.
type ResponseHeader struct {
	Command      Command
	Status       uint32
	CreditCharge uint16
	Credits      uint16
	Flags        uint32 // FlagServerToRedir is always added
	MessageID    uint64
	AsyncID      uint64 // used when Flags has FlagAsyncCommand
	TreeID       uint32
	SessionID    uint64
}

// AppendResponseHeader appends a 64-byte response header; NextCommand and
// Signature are left zero for the caller to fill.
func AppendResponseHeader(b []byte, r *ResponseHeader) []byte {
	var h [HeaderSize]byte
	copy(h[:], ProtocolID)
	le.PutUint16(h[4:], HeaderSize)
	le.PutUint16(h[6:], r.CreditCharge)
	le.PutUint32(h[8:], r.Status)
	le.PutUint16(h[12:], uint16(r.Command))
	le.PutUint16(h[14:], r.Credits)
	flags := r.Flags | FlagServerToRedir
	le.PutUint32(h[16:], flags)
	le.PutUint64(h[24:], r.MessageID)
	if flags&FlagAsyncCommand != 0 {
		le.PutUint64(h[32:], r.AsyncID)
	} else {
		le.PutUint32(h[36:], r.TreeID)
	}
	le.PutUint64(h[40:], r.SessionID)
	return append(b, h[:]...)
}

// SplitCompound returns the length of the first message of a compound chain
// in b, and whether more messages follow. MS-SMB2 3.3.5.2.7: NextCommand
// must be 8-byte aligned and inside the chain.
func SplitCompound(b []byte) (n int, more bool, err error) {
	if len(b) < HeaderSize {
		return 0, false, ErrShort
	}
	next := int64(le.Uint32(b[20:]))
	if next == 0 {
		return len(b), false, nil
	}
	if next < HeaderSize || next%8 != 0 || next > int64(len(b)) {
		return 0, false, ErrBadNextCommand
	}
	if next == int64(len(b)) {
		return int(next), false, nil
	}
	return int(next), true, nil
}

// checkRange reports whether off/length describe a range inside a message of
// size n; offsets and lengths are widened before any arithmetic.
func checkRange(off, length uint64, n int) bool {
	return off+length <= uint64(n)
}

// slice returns msg[off:off+length] after a bounds check; a zero length
// returns nil whatever the offset.
func slice(msg []byte, off, length uint64) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	if !checkRange(off, length, len(msg)) {
		return nil, ErrBadOffset
	}
	return msg[off : off+length], nil
}

// body validates that msg holds a header and a fixed body part of size fixed
// (the StructureSize less its odd variable byte) and that the StructureSize is ss.
func body(msg []byte, ss uint16, fixed int) error {
	if len(msg) < HeaderSize+2 {
		return ErrShort
	}
	if got := le.Uint16(msg[HeaderSize:]); got != ss {
		return fmt.Errorf("%w: %d, want %d", ErrStructureSize, got, ss)
	}
	if len(msg) < HeaderSize+fixed {
		return ErrShort
	}
	return nil
}
