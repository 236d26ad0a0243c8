package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// captureCompound is a related CREATE + QUERY_INFO + CLOSE chain from a
// macOS client, as published in the tests of github.com/izouxv/smbapi
// (smb/..._test.go): CREATE of the share root with an MxAc context,
// QUERY_INFO FileAllInformation and CLOSE, both with FileId all-ones.
const captureCompound = `
fe534d4240000100000000000500000100000000980000000900000000000000
fffe0000000000009855fc995b7b1a1700000000000000000000000000000000
3900000002000000000000000000000000000000000000008000000010000000
0700000001000000010000007800000080000000180000000000000000000000
000000001000040000000000000000004d78416300000000
fe534d4240000100000000001000000104000000680000000a00000000000000
fffe0000000000009855fc995b7b1a1700000000000000000000000000000000
290001120000010000000000000000000000000000000000ffffffffffffffff
ffffffffffffffff
fe534d4240000100000000000600000104000000000000000b00000000000000
fffe0000000000009855fc995b7b1a17000000000000000000000000000000001800
000000000000ffffffffffffffffffffffffffffffff`

func TestResponseHeaderGolden(t *testing.T) {
	var want []byte
	want = append(want, 0xde, 0xad)                           // bytes already in the buffer
	want = append(want, ProtocolID...)                        // ProtocolId
	want = p16(want, 64)                                      // StructureSize
	want = p16(want, 2)                                       // CreditCharge
	want = p32(want, 0xc0000022)                              // Status
	want = p16(want, uint16(CmdCreate))                       // Command
	want = p16(want, 100)                                     // CreditResponse
	want = p32(want, FlagServerToRedir|FlagRelatedOperations) // Flags
	want = p32(want, 0)                                       // NextCommand
	want = p64(want, goldMessageID)                           // MessageId
	want = p32(want, 0)                                       // Reserved
	want = p32(want, goldTreeID)                              // TreeId
	want = p64(want, goldSessionID)                           // SessionId
	want = pad(want, 16)                                      // Signature
	got := AppendResponseHeader([]byte{0xde, 0xad}, &ResponseHeader{
		Command: CmdCreate, Status: 0xc0000022, CreditCharge: 2, Credits: 100,
		Flags: FlagRelatedOperations, MessageID: goldMessageID, AsyncID: goldAsyncID,
		TreeID: goldTreeID, SessionID: goldSessionID,
	})
	mustEqual(t, "sync response header", got, want)
	h := Header(got[2:])
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	eq(t, "Command", h.Command(), CmdCreate)
	eq(t, "Status", h.Status(), 0xc0000022)
	eq(t, "CreditCharge", h.CreditCharge(), 2)
	eq(t, "CreditRequest", h.CreditRequest(), 100)
	eq(t, "MessageID", h.MessageID(), goldMessageID)
	eq(t, "TreeID", h.TreeID(), goldTreeID)
	eq(t, "SessionID", h.SessionID(), goldSessionID)
	eq(t, "IsRelated", h.IsRelated(), true)

	// Async: AsyncId takes the place of Reserved and TreeId (MS-SMB2 2.2.1.1).
	want = nil
	want = append(want, ProtocolID...)                   // ProtocolId
	want = p16(want, 64)                                 // StructureSize
	want = p16(want, 1)                                  // CreditCharge
	want = p32(want, 0x00000103)                         // Status: STATUS_PENDING
	want = p16(want, uint16(CmdChangeNotify))            // Command
	want = p16(want, 1)                                  // CreditResponse
	want = p32(want, FlagServerToRedir|FlagAsyncCommand) // Flags
	want = p32(want, 0)                                  // NextCommand
	want = p64(want, goldMessageID)                      // MessageId
	want = p64(want, goldAsyncID)                        // AsyncId
	want = p64(want, goldSessionID)                      // SessionId
	want = pad(want, 16)                                 // Signature
	got = AppendResponseHeader(nil, &ResponseHeader{
		Command: CmdChangeNotify, Status: uint32(StatusPending), CreditCharge: 1, Credits: 1,
		Flags: FlagAsyncCommand, MessageID: goldMessageID, AsyncID: goldAsyncID,
		TreeID: goldTreeID, SessionID: goldSessionID,
	})
	mustEqual(t, "async response header", got, want)
	eq(t, "AsyncID", Header(got).AsyncID(), goldAsyncID)
	eq(t, "IsAsync", Header(got).IsAsync(), true)
}

func TestHeaderSetters(t *testing.T) {
	h := Header(make([]byte, HeaderSize))
	h.SetCreditCharge(3)
	h.SetStatus(0xc000000d)
	h.SetCommand(CmdWrite)
	h.SetCredits(9)
	h.SetFlags(FlagReplayOperation)
	h.SetNextCommand(0x48)
	h.SetMessageID(77)
	h.SetTreeID(5)
	h.SetSessionID(6)
	var want []byte
	want = pad(want, 4)                   // ProtocolId (left zero)
	want = p16(want, 0)                   // StructureSize (left zero)
	want = p16(want, 3)                   // CreditCharge
	want = p32(want, 0xc000000d)          // Status
	want = p16(want, uint16(CmdWrite))    // Command
	want = p16(want, 9)                   // CreditRequest/Response
	want = p32(want, FlagReplayOperation) // Flags
	want = p32(want, 0x48)                // NextCommand
	want = p64(want, 77)                  // MessageId
	want = p32(want, 0)                   // Reserved
	want = p32(want, 5)                   // TreeId
	want = p64(want, 6)                   // SessionId
	want = pad(want, 16)                  // Signature
	mustEqual(t, "header after setters", h, want)
	eq(t, "IsReplay", h.IsReplay(), true)
	h.SetAsyncID(goldAsyncID)
	eq(t, "AsyncID", h.AsyncID(), goldAsyncID)
}

func TestHeaderValidate(t *testing.T) {
	g := echoGolden()
	for n := range HeaderSize {
		if err := Header(bytes.Clone(g[:n])).Validate(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	for _, id := range []string{"\xffSMB", "\xfdSMB", "\xfcSMB", "\xfeSMC", "\x00\x00\x00\x00"} {
		m := bytes.Clone(g)
		copy(m, id)
		if err := Header(m).Validate(); !errors.Is(err, ErrBadProtocol) {
			t.Errorf("protocol %q: %v, want ErrBadProtocol", id, err)
		}
	}
	for _, ss := range []uint16{0, 63, 65, 0xffff} {
		m := bytes.Clone(g)
		le.PutUint16(m[4:], ss)
		if err := Header(m).Validate(); !errors.Is(err, ErrStructureSize) {
			t.Errorf("StructureSize %d: %v, want ErrStructureSize", ss, err)
		}
	}
}

func TestCommandString(t *testing.T) {
	eq(t, "CmdCreate", CmdCreate.String(), "CREATE")
	eq(t, "CmdOplockBreak", CmdOplockBreak.String(), "OPLOCK_BREAK")
	eq(t, "unknown", Command(0x13).String(), "Command(0x0013)")
	eq(t, "Dialect311", Dialect311.String(), "3.1.1")
	eq(t, "DialectWildcard", DialectWildcard.String(), "2.???")
	eq(t, "StatusLogonFailure", StatusLogonFailure.String(), "STATUS_LOGON_FAILURE")
	eq(t, "unknown status", Status(0xc0001234).String(), "NTSTATUS(0xc0001234)")
	eq(t, "IsError", StatusAccessDenied.IsError(), true)
	eq(t, "IsError(pending)", StatusPending.IsError(), false)
	eq(t, "IsError(overflow)", StatusBufferOverflow.IsError(), false)
}

// compoundOf chains messages with NextCommand set, each padded to 8 bytes.
func compoundOf(msgs ...[]byte) []byte {
	var out []byte
	for i, m := range msgs {
		m = bytes.Clone(m)
		if i < len(msgs)-1 {
			for len(m)%8 != 0 {
				m = append(m, 0)
			}
			le.PutUint32(m[20:], uint32(len(m)))
		}
		out = append(out, m...)
	}
	return out
}

// walkCompound splits b fully and returns the message lengths.
func walkCompound(b []byte) ([]int, error) {
	var ns []int
	for len(b) > 0 {
		n, more, err := SplitCompound(b)
		if err != nil {
			return ns, err
		}
		ns = append(ns, n)
		if !more {
			return ns, nil
		}
		b = b[n:]
	}
	return ns, nil
}

func TestSplitCompoundCapture(t *testing.T) {
	b := unhex(t, captureCompound)
	ns, err := walkCompound(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 || ns[0] != 0x98 || ns[1] != 0x68 || ns[2] != len(b)-0x98-0x68 {
		t.Fatalf("split %v, want [152 104 88]", ns)
	}
	create := CreateRequest(b[:152])
	if err := create.Validate(); err != nil {
		t.Fatal(err)
	}
	eq(t, "DesiredAccess", create.DesiredAccess(), 0x80)
	eq(t, "ShareAccess", create.ShareAccess(), 7)
	eq(t, "CreateDisposition", create.CreateDisposition(), 1)
	eq(t, "CreateOptions", create.CreateOptions(), 1)
	eq(t, "Name", len(create.Name()), 0)
	ctxs, err := ParseCreateContexts(create.ContextsBuffer())
	if err != nil || len(ctxs) != 1 || ctxs[0].Name != "MxAc" || ctxs[0].Data != nil {
		t.Errorf("contexts %+v, %v; want one MxAc", ctxs, err)
	}
	qi := QueryInfoRequest(b[152:256])
	if err := qi.Validate(); err != nil {
		t.Fatal(err)
	}
	eq(t, "IsRelated", Header(qi).IsRelated(), true)
	eq(t, "InfoType", qi.InfoType(), InfoFile)
	eq(t, "InfoClass", qi.InfoClass(), 0x12)
	eq(t, "OutputBufferLength", qi.OutputBufferLength(), 0x10000)
	eq(t, "FileID.IsAll", qi.FileID().IsAll(), true)
	cl := CloseRequest(b[256:])
	if err := cl.Validate(); err != nil {
		t.Fatal(err)
	}
	eq(t, "FileID.IsAll", cl.FileID().IsAll(), true)
}

func TestSplitCompound(t *testing.T) {
	a, c := echoGolden(), closeGolden() // 68 and 88 bytes
	chain := compoundOf(a, c, a)        // 72 + 88 + 68
	ns, err := walkCompound(chain)
	if err != nil || len(ns) != 3 || ns[0] != 72 || ns[1] != 88 || ns[2] != 68 {
		t.Fatalf("split %v, %v; want [72 88 68]", ns, err)
	}
	setNext := func(v uint32) []byte {
		m := bytes.Clone(chain)
		le.PutUint32(m[20:], v)
		return m
	}
	chain2 := compoundOf(a, c) // 72 + 88 = 160, a multiple of 8
	setNext2 := func(v uint32) []byte {
		m := bytes.Clone(chain2)
		le.PutUint32(m[20:], v)
		return m
	}
	for _, c := range []struct {
		name string
		msg  []byte
		n    int
		more bool
		err  error
	}{
		{"zero: the whole rest is one message", setNext(0), len(chain), false, nil},
		{"single message", a, len(a), false, nil},
		{"shorter than a header", a[:63], 0, false, io.ErrUnexpectedEOF},
		{"empty", nil, 0, false, io.ErrUnexpectedEOF},
		{"misaligned", setNext(76), 0, false, ErrBadNextCommand},
		{"misaligned by one", setNext(73), 0, false, ErrBadNextCommand},
		{"inside the header", setNext(8), 0, false, ErrBadNextCommand},
		{"just short of a header", setNext(56), 0, false, ErrBadNextCommand},
		{"beyond the message", setNext(uint32(len(chain) + 8)), 0, false, ErrBadNextCommand},
		{"far beyond", setNext(0xfffffff8), 0, false, ErrBadNextCommand},
		{"max", setNext(0xffffffff), 0, false, ErrBadNextCommand},
		// Like Samba, a NextCommand that ends exactly at the end of the
		// transport message is taken as the last message.
		{"exactly the end", setNext2(160), 160, false, nil},
		{"header only", setNext(64), 64, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var n int
			var more bool
			var err error
			noPanic(t, "SplitCompound", func() { n, more, err = SplitCompound(c.msg) })
			if !errors.Is(err, c.err) || n != c.n || more != c.more {
				t.Errorf("SplitCompound = %d, %v, %v; want %d, %v, %v", n, more, err, c.n, c.more, c.err)
			}
		})
	}
	// A NextCommand that leaves less than a header behind splits, and the
	// rest then fails as short.
	m := setNext2(104) // the rest is 56 bytes
	if _, err := walkCompound(m); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short tail: %v, want io.ErrUnexpectedEOF", err)
	}
}
