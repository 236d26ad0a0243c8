package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// viewCase is one golden request: the message, the shortest prefix that
// Validate accepts (shorter ones must fail; bytes after it are padding the
// view does not need), and a check of every accessor.
type viewCase struct {
	name  string
	view  string // key into views
	msg   []byte
	min   int
	check func(t *testing.T, m []byte)
}

// view is one request view type: its Validate and a walk over every
// accessor, which must not panic once Validate has accepted the message.
type view struct {
	validate func([]byte) error
	touch    func([]byte)
}

var views = map[string]view{
	"Negotiate": {
		func(b []byte) error { return NegotiateRequest(b).Validate() },
		func(b []byte) {
			r := NegotiateRequest(b)
			_, _, _, _, _ = r.DialectCount(), r.SecurityMode(), r.Capabilities(), r.ClientGUID(), r.Dialects()
			r.Contexts()
		},
	},
	"SessionSetup": {
		func(b []byte) error { return SessionSetupRequest(b).Validate() },
		func(b []byte) {
			r := SessionSetupRequest(b)
			_, _, _, _, _ = r.Flags(), r.SecurityMode(), r.Capabilities(), r.PreviousSessionID(), r.SecurityBuffer()
		},
	},
	"TreeConnect": {
		func(b []byte) error { return TreeConnectRequest(b).Validate() },
		func(b []byte) { r := TreeConnectRequest(b); _, _ = r.Flags(), r.Path() },
	},
	"Create": {
		func(b []byte) error { return CreateRequest(b).Validate() },
		func(b []byte) {
			r := CreateRequest(b)
			_, _, _, _, _ = r.SecurityFlags(), r.RequestedOplockLevel(), r.ImpersonationLevel(), r.SmbCreateFlags(), r.DesiredAccess()
			_, _, _, _, _ = r.FileAttributes(), r.ShareAccess(), r.CreateDisposition(), r.CreateOptions(), r.Name()
			ParseCreateContexts(r.ContextsBuffer())
		},
	},
	"Close": {
		func(b []byte) error { return CloseRequest(b).Validate() },
		func(b []byte) { r := CloseRequest(b); _, _ = r.Flags(), r.FileID() },
	},
	"Flush": {
		func(b []byte) error { return FlushRequest(b).Validate() },
		func(b []byte) { _ = FlushRequest(b).FileID() },
	},
	"Read": {
		func(b []byte) error { return ReadRequest(b).Validate() },
		func(b []byte) {
			r := ReadRequest(b)
			_, _, _, _, _ = r.Padding(), r.Flags(), r.Length(), r.Offset(), r.FileID()
			_, _, _, _ = r.MinimumCount(), r.Channel(), r.RemainingBytes(), r.ChannelInfo()
		},
	},
	"Write": {
		func(b []byte) error { return WriteRequest(b).Validate() },
		func(b []byte) {
			r := WriteRequest(b)
			_, _, _, _, _ = r.DataOffset(), r.Length(), r.Offset(), r.FileID(), r.Channel()
			_, _, _, _ = r.RemainingBytes(), r.Flags(), r.ChannelInfo(), r.Data()
		},
	},
	"Lock": {
		func(b []byte) error { return LockRequest(b).Validate() },
		func(b []byte) {
			r := LockRequest(b)
			_, _, _, _ = r.LockCount(), r.LockSequence(), r.FileID(), r.Locks()
		},
	},
	"Ioctl": {
		func(b []byte) error { return IoctlRequest(b).Validate() },
		func(b []byte) {
			r := IoctlRequest(b)
			_, _, _, _, _, _ = r.CtlCode(), r.FileID(), r.MaxInputResponse(), r.MaxOutputResponse(), r.Flags(), r.Input()
		},
	},
	"QueryDirectory": {
		func(b []byte) error { return QueryDirectoryRequest(b).Validate() },
		func(b []byte) {
			r := QueryDirectoryRequest(b)
			_, _, _, _, _, _ = r.InfoClass(), r.Flags(), r.FileIndex(), r.FileID(), r.OutputBufferLength(), r.Pattern()
		},
	},
	"ChangeNotify": {
		func(b []byte) error { return ChangeNotifyRequest(b).Validate() },
		func(b []byte) {
			r := ChangeNotifyRequest(b)
			_, _, _, _ = r.Flags(), r.OutputBufferLength(), r.FileID(), r.CompletionFilter()
		},
	},
	"QueryInfo": {
		func(b []byte) error { return QueryInfoRequest(b).Validate() },
		func(b []byte) {
			r := QueryInfoRequest(b)
			_, _, _, _, _, _, _ = r.InfoType(), r.InfoClass(), r.OutputBufferLength(), r.AdditionalInformation(), r.Flags(), r.FileID(), r.Input()
		},
	},
	"SetInfo": {
		func(b []byte) error { return SetInfoRequest(b).Validate() },
		func(b []byte) {
			r := SetInfoRequest(b)
			_, _, _, _, _ = r.InfoType(), r.InfoClass(), r.AdditionalInformation(), r.FileID(), r.Buffer()
		},
	},
	"OplockBreakAck": {
		func(b []byte) error { return OplockBreakAck(b).Validate() },
		func(b []byte) {
			r := OplockBreakAck(b)
			_, _ = r.OplockLevel(), r.FileID()
			if r.IsLease() {
				_, _ = r.LeaseKey(), r.LeaseState()
			}
		},
	},
	"Empty": {
		ValidateEmpty,
		func(b []byte) {},
	},
	"Header": {
		func(b []byte) error { return Header(b).Validate() },
		func(b []byte) {
			h := Header(b)
			_, _, _, _, _, _, _ = h.CreditCharge(), h.Status(), h.ChannelSequence(), h.Command(), h.CreditRequest(), h.Flags(), h.NextCommand()
			_, _, _, _, _ = h.MessageID(), h.AsyncID(), h.TreeID(), h.SessionID(), h.Signature()
			_, _, _, _ = h.IsAsync(), h.IsRelated(), h.IsSigned(), h.IsReplay()
		},
	},
}

func eq[T comparable](t *testing.T, field string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", field, got, want)
	}
}

func eqBytes(t *testing.T, field string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", field, got, want)
	}
}

// negotiateGolden is an SMB 3.1.1 NEGOTIATE request with the preauth
// integrity and encryption contexts (MS-SMB2 2.2.3, 2.2.3.1.1, 2.2.3.1.2).
func negotiateGolden() []byte {
	b := reqHeader(CmdNegotiate)
	b = p16(b, 36)         // StructureSize
	b = p16(b, 5)          // DialectCount
	b = p16(b, 0x0001)     // SecurityMode: SIGNING_ENABLED
	b = p16(b, 0)          // Reserved
	b = p32(b, 0x0000007f) // Capabilities
	for i := range 16 {
		b = p8(b, 0x10+byte(i)) // ClientGuid
	}
	b = p32(b, 112) // NegotiateContextOffset
	b = p16(b, 2)   // NegotiateContextCount
	b = p16(b, 0)   // Reserved2
	for _, d := range []Dialect{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311} {
		b = p16(b, uint16(d)) // Dialects[]
	}
	b = pad(b, 2)                                    // Padding to 8 bytes
	b = p16(b, CtxPreauthIntegrity)                  // ContextType
	b = p16(b, 38)                                   // DataLength
	b = p32(b, 0)                                    // Reserved
	b = p16(b, 1)                                    // HashAlgorithmCount
	b = p16(b, 32)                                   // SaltLength
	b = p16(b, HashSHA512)                           // HashAlgorithms[0]
	b = append(b, bytes.Repeat([]byte{0x33}, 32)...) // Salt
	b = pad(b, 2)                                    // Padding to 8 bytes
	b = p16(b, CtxEncryption)                        // ContextType
	b = p16(b, 6)                                    // DataLength
	b = p32(b, 0)                                    // Reserved
	b = p16(b, 2)                                    // CipherCount
	b = p16(b, 0x0002)                               // Ciphers[0]: AES-128-GCM
	b = p16(b, 0x0001)                               // Ciphers[1]: AES-128-CCM
	return b
}

func sessionSetupGolden() []byte {
	tok := []byte("NTLMSSP\x00\x01\x00\x00\x00\x15\x82\x08\x62")
	b := reqHeader(CmdSessionSetup)
	b = p16(b, 25)                 // StructureSize
	b = p8(b, 0)                   // Flags
	b = p8(b, 0x01)                // SecurityMode: SIGNING_ENABLED
	b = p32(b, 0x00000001)         // Capabilities: DFS
	b = p32(b, 0)                  // Channel
	b = p16(b, 88)                 // SecurityBufferOffset
	b = p16(b, uint16(len(tok)))   // SecurityBufferLength
	b = p64(b, 0x0123456789abcdef) // PreviousSessionId
	return append(b, tok...)       // Buffer
}

func treeConnectGolden() []byte {
	path := utf16le(`\\server\share`)
	b := reqHeader(CmdTreeConnect)
	b = p16(b, 9)                 // StructureSize
	b = p16(b, 0)                 // Flags
	b = p16(b, 72)                // PathOffset
	b = p16(b, uint16(len(path))) // PathLength
	return append(b, path...)     // Buffer
}

// createContextsGolden is a chain of two SMB2_CREATE_CONTEXTs (MS-SMB2
// 2.2.13.2): MxAc with no data, then AlSi with an 8-byte allocation size.
func createContextsGolden() []byte {
	var c []byte
	c = p32(c, 24)           // Next
	c = p16(c, 16)           // NameOffset
	c = p16(c, 4)            // NameLength
	c = p16(c, 0)            // Reserved
	c = p16(c, 0)            // DataOffset
	c = p32(c, 0)            // DataLength
	c = append(c, "MxAc"...) // Buffer: Name
	c = pad(c, 4)            // Padding to 8 bytes
	c = p32(c, 0)            // Next
	c = p16(c, 16)           // NameOffset
	c = p16(c, 4)            // NameLength
	c = p16(c, 0)            // Reserved
	c = p16(c, 24)           // DataOffset
	c = p32(c, 8)            // DataLength
	c = append(c, "AlSi"...) // Buffer: Name
	c = pad(c, 4)            // Padding to 8 bytes
	c = p64(c, 1<<20)        // Data: AllocationSize
	return c
}

func createGolden() []byte {
	name := utf16le(`dir\file.txt`)
	ctxs := createContextsGolden()
	b := reqHeader(CmdCreate)
	b = p16(b, 57)                // StructureSize
	b = p8(b, 0)                  // SecurityFlags
	b = p8(b, 0x08)               // RequestedOplockLevel: BATCH
	b = p32(b, 2)                 // ImpersonationLevel: Impersonation
	b = p64(b, 0)                 // SmbCreateFlags
	b = p64(b, 0)                 // Reserved
	b = p32(b, 0x0012019f)        // DesiredAccess
	b = p32(b, 0x00000080)        // FileAttributes: NORMAL
	b = p32(b, 0x00000007)        // ShareAccess: READ|WRITE|DELETE
	b = p32(b, 3)                 // CreateDisposition: OPEN_IF
	b = p32(b, 0x00000040)        // CreateOptions: NON_DIRECTORY_FILE
	b = p16(b, 120)               // NameOffset
	b = p16(b, uint16(len(name))) // NameLength
	b = p32(b, 144)               // CreateContextsOffset
	b = p32(b, uint32(len(ctxs))) // CreateContextsLength
	b = append(b, name...)        // Buffer: name, 24 bytes, ends at 144
	return append(b, ctxs...)     // Buffer: create contexts
}

func closeGolden() []byte {
	b := reqHeader(CmdClose)
	b = p16(b, 24)                       // StructureSize
	b = p16(b, CloseFlagPostQueryAttrib) // Flags
	b = p32(b, 0)                        // Reserved
	return pFileID(b, goldFileID)
}

func flushGolden() []byte {
	b := reqHeader(CmdFlush)
	b = p16(b, 24) // StructureSize
	b = p16(b, 0)  // Reserved1
	b = p32(b, 0)  // Reserved2
	return pFileID(b, goldFileID)
}

func readGolden() []byte {
	b := reqHeader(CmdRead)
	b = p16(b, 49)     // StructureSize
	b = p8(b, 0x50)    // Padding
	b = p8(b, 0)       // Flags
	b = p32(b, 65536)  // Length
	b = p64(b, 0x1000) // Offset
	b = pFileID(b, goldFileID)
	b = p32(b, 1)           // MinimumCount
	b = p32(b, ChannelNone) // Channel
	b = p32(b, 0)           // RemainingBytes
	b = p16(b, 0)           // ReadChannelInfoOffset
	b = p16(b, 0)           // ReadChannelInfoLength
	return p8(b, 0)         // Buffer: the one byte clients send
}

// readRDMAGolden is a READ with an SMB_DIRECT_BUFFER_DESCRIPTOR_V1
// (MS-SMBD 2.2.3.1) as its channel info.
func readRDMAGolden() []byte {
	b := reqHeader(CmdRead)
	b = p16(b, 49)    // StructureSize
	b = p8(b, 0)      // Padding
	b = p8(b, 0)      // Flags
	b = p32(b, 1<<20) // Length
	b = p64(b, 0)     // Offset
	b = pFileID(b, goldFileID)
	b = p32(b, 0)             // MinimumCount
	b = p32(b, ChannelRDMAV1) // Channel
	b = p32(b, 0)             // RemainingBytes
	b = p16(b, 112)           // ReadChannelInfoOffset
	b = p16(b, 16)            // ReadChannelInfoLength
	b = p64(b, 0xdead0000)    // Buffer: descriptor Offset
	b = p32(b, 0x1234)        // Buffer: descriptor Token
	return p32(b, 1<<20)      // Buffer: descriptor Length
}

func writeGolden() []byte {
	data := []byte("hello world")
	b := reqHeader(CmdWrite)
	b = p16(b, 49)                // StructureSize
	b = p16(b, 112)               // DataOffset
	b = p32(b, uint32(len(data))) // Length
	b = p64(b, 0x2000)            // Offset
	b = pFileID(b, goldFileID)
	b = p32(b, ChannelNone)           // Channel
	b = p32(b, 7)                     // RemainingBytes
	b = p16(b, 0)                     // WriteChannelInfoOffset
	b = p16(b, 0)                     // WriteChannelInfoLength
	b = p32(b, WriteFlagWriteThrough) // Flags
	return append(b, data...)         // Buffer
}

func lockGolden() []byte {
	b := reqHeader(CmdLock)
	b = p16(b, 48)         // StructureSize
	b = p16(b, 2)          // LockCount
	b = p32(b, 0x30000012) // LockSequenceNumber/LockSequenceIndex
	b = pFileID(b, goldFileID)
	b = p64(b, 0)                                         // Locks[0].Offset
	b = p64(b, 100)                                       // Locks[0].Length
	b = p32(b, LockFlagExclusive|LockFlagFailImmediately) // Locks[0].Flags
	b = p32(b, 0)                                         // Locks[0].Reserved
	b = p64(b, 200)                                       // Locks[1].Offset
	b = p64(b, 50)                                        // Locks[1].Length
	b = p32(b, LockFlagShared)                            // Locks[1].Flags
	return p32(b, 0)                                      // Locks[1].Reserved
}

// validateNegotiateInput is a VALIDATE_NEGOTIATE_INFO request (MS-SMB2 2.2.31.4).
func validateNegotiateInput() []byte {
	var in []byte
	in = p32(in, 0x7f) // Capabilities
	for i := range 16 {
		in = p8(in, 0x10+byte(i)) // Guid
	}
	in = p16(in, 1)                    // SecurityMode
	in = p16(in, 2)                    // DialectCount
	in = p16(in, uint16(Dialect300))   // Dialects[0]
	return p16(in, uint16(Dialect302)) // Dialects[1]
}

func ioctlGolden() []byte {
	in := validateNegotiateInput()
	all := FileID{^uint64(0), ^uint64(0)}
	b := reqHeader(CmdIoctl)
	b = p16(b, 57)         // StructureSize
	b = p16(b, 0)          // Reserved
	b = p32(b, 0x00140204) // CtlCode: FSCTL_VALIDATE_NEGOTIATE_INFO
	b = pFileID(b, all)
	b = p32(b, 120)              // InputOffset
	b = p32(b, uint32(len(in)))  // InputCount
	b = p32(b, 0)                // MaxInputResponse
	b = p32(b, 120)              // OutputOffset
	b = p32(b, 0)                // OutputCount
	b = p32(b, 24)               // MaxOutputResponse
	b = p32(b, IoctlFlagIsFsctl) // Flags
	b = p32(b, 0)                // Reserved2
	return append(b, in...)      // Buffer
}

func queryDirectoryGolden() []byte {
	pat := utf16le("*.txt")
	b := reqHeader(CmdQueryDirectory)
	b = p16(b, 33)                  // StructureSize
	b = p8(b, 0x25)                 // FileInformationClass: FileIdBothDirectoryInformation
	b = p8(b, QueryDirRestartScans) // Flags
	b = p32(b, 0)                   // FileIndex
	b = pFileID(b, goldFileID)
	b = p16(b, 96)               // FileNameOffset
	b = p16(b, uint16(len(pat))) // FileNameLength
	b = p32(b, 65536)            // OutputBufferLength
	return append(b, pat...)     // Buffer
}

func changeNotifyGolden() []byte {
	b := reqHeader(CmdChangeNotify)
	b = p16(b, 32)              // StructureSize
	b = p16(b, NotifyWatchTree) // Flags
	b = p32(b, 4096)            // OutputBufferLength
	b = pFileID(b, goldFileID)
	b = p32(b, 0x00000017) // CompletionFilter
	return p32(b, 0)       // Reserved
}

func queryInfoGolden() []byte {
	var in []byte
	in = p32(in, 0)              // FILE_GET_EA_INFORMATION NextEntryOffset
	in = p8(in, 2)               // EaNameLength
	in = append(in, "EA\x00"...) // EaName
	b := reqHeader(CmdQueryInfo)
	b = p16(b, 41)              // StructureSize
	b = p8(b, InfoFile)         // InfoType
	b = p8(b, 0x0f)             // FileInfoClass: FileFullEaInformation
	b = p32(b, 4096)            // OutputBufferLength
	b = p16(b, 104)             // InputBufferOffset
	b = p16(b, 0)               // Reserved
	b = p32(b, uint32(len(in))) // InputBufferLength
	b = p32(b, 0x00000004)      // AdditionalInformation
	b = p32(b, 0x00000002)      // Flags: SL_RETURN_SINGLE_ENTRY
	b = pFileID(b, goldFileID)
	return append(b, in...) // Buffer
}

func setInfoGolden() []byte {
	b := reqHeader(CmdSetInfo)
	b = p16(b, 33)      // StructureSize
	b = p8(b, InfoFile) // InfoType
	b = p8(b, 0x14)     // FileInfoClass: FileEndOfFileInformation
	b = p32(b, 8)       // BufferLength
	b = p16(b, 96)      // BufferOffset
	b = p16(b, 0)       // Reserved
	b = p32(b, 0)       // AdditionalInformation
	b = pFileID(b, goldFileID)
	return p64(b, 4096) // Buffer: EndOfFile
}

func oplockAckGolden() []byte {
	b := reqHeader(CmdOplockBreak)
	b = p16(b, 24) // StructureSize
	b = p8(b, 1)   // OplockLevel: LEVEL_II
	b = p8(b, 0)   // Reserved
	b = p32(b, 0)  // Reserved2
	return pFileID(b, goldFileID)
}

func leaseAckGolden() []byte {
	b := reqHeader(CmdOplockBreak)
	b = p16(b, 36) // StructureSize
	b = p16(b, 0)  // Reserved
	b = p32(b, 0)  // Flags
	for i := range 16 {
		b = p8(b, 0xa0+byte(i)) // LeaseKey
	}
	b = p32(b, 0x1)  // LeaseState: READ_CACHING
	return p64(b, 0) // LeaseDuration
}

func echoGolden() []byte {
	b := reqHeader(CmdEcho)
	b = p16(b, 4)    // StructureSize
	return p16(b, 0) // Reserved
}

func viewCases() []viewCase {
	return []viewCase{
		{"negotiate", "Negotiate", negotiateGolden(), 110, func(t *testing.T, m []byte) {
			r := NegotiateRequest(m)
			eq(t, "DialectCount", r.DialectCount(), 5)
			eq(t, "SecurityMode", r.SecurityMode(), NegotiateSigningEnabled)
			eq(t, "Capabilities", r.Capabilities(), 0x7f)
			eq(t, "ClientGUID", r.ClientGUID(), [16]byte{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f})
			if got, want := r.Dialects(), []Dialect{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311}; !reflect.DeepEqual(got, want) {
				t.Errorf("Dialects = %v, want %v", got, want)
			}
			ctxs, err := r.Contexts()
			if err != nil {
				t.Fatalf("Contexts: %v", err)
			}
			if len(ctxs) != 2 {
				t.Fatalf("Contexts: %d, want 2", len(ctxs))
			}
			eq(t, "Contexts[0].Type", ctxs[0].Type, CtxPreauthIntegrity)
			eqBytes(t, "Contexts[0].Data", ctxs[0].Data, m[120:158])
			eq(t, "Contexts[1].Type", ctxs[1].Type, CtxEncryption)
			eqBytes(t, "Contexts[1].Data", ctxs[1].Data, []byte{2, 0, 2, 0, 1, 0})
		}},
		{"session setup", "SessionSetup", sessionSetupGolden(), 104, func(t *testing.T, m []byte) {
			r := SessionSetupRequest(m)
			eq(t, "Flags", r.Flags(), 0)
			eq(t, "SecurityMode", r.SecurityMode(), 1)
			eq(t, "Capabilities", r.Capabilities(), 1)
			eq(t, "PreviousSessionID", r.PreviousSessionID(), 0x0123456789abcdef)
			eqBytes(t, "SecurityBuffer", r.SecurityBuffer(), []byte("NTLMSSP\x00\x01\x00\x00\x00\x15\x82\x08\x62"))
		}},
		{"tree connect", "TreeConnect", treeConnectGolden(), 72 + 28, func(t *testing.T, m []byte) {
			r := TreeConnectRequest(m)
			eq(t, "Flags", r.Flags(), 0)
			eqBytes(t, "Path", r.Path(), utf16le(`\\server\share`))
		}},
		{"create", "Create", createGolden(), 200, func(t *testing.T, m []byte) {
			r := CreateRequest(m)
			eq(t, "SecurityFlags", r.SecurityFlags(), 0)
			eq(t, "RequestedOplockLevel", r.RequestedOplockLevel(), 8)
			eq(t, "ImpersonationLevel", r.ImpersonationLevel(), 2)
			eq(t, "SmbCreateFlags", r.SmbCreateFlags(), 0)
			eq(t, "DesiredAccess", r.DesiredAccess(), 0x0012019f)
			eq(t, "FileAttributes", r.FileAttributes(), 0x80)
			eq(t, "ShareAccess", r.ShareAccess(), 7)
			eq(t, "CreateDisposition", r.CreateDisposition(), 3)
			eq(t, "CreateOptions", r.CreateOptions(), 0x40)
			eqBytes(t, "Name", r.Name(), utf16le(`dir\file.txt`))
			eqBytes(t, "ContextsBuffer", r.ContextsBuffer(), createContextsGolden())
			ctxs, err := ParseCreateContexts(r.ContextsBuffer())
			if err != nil {
				t.Fatal(err)
			}
			want := []CreateContext{{Name: "MxAc"}, {Name: "AlSi", Data: p64(nil, 1<<20)}}
			if !reflect.DeepEqual(ctxs, want) {
				t.Errorf("contexts = %+v, want %+v", ctxs, want)
			}
		}},
		{"close", "Close", closeGolden(), 88, func(t *testing.T, m []byte) {
			r := CloseRequest(m)
			eq(t, "Flags", r.Flags(), CloseFlagPostQueryAttrib)
			eq(t, "FileID", r.FileID(), goldFileID)
		}},
		{"flush", "Flush", flushGolden(), 88, func(t *testing.T, m []byte) {
			eq(t, "FileID", FlushRequest(m).FileID(), goldFileID)
		}},
		{"read", "Read", readGolden(), 112, func(t *testing.T, m []byte) {
			r := ReadRequest(m)
			eq(t, "Padding", r.Padding(), 0x50)
			eq(t, "Flags", r.Flags(), 0)
			eq(t, "Length", r.Length(), 65536)
			eq(t, "Offset", r.Offset(), 0x1000)
			eq(t, "FileID", r.FileID(), goldFileID)
			eq(t, "MinimumCount", r.MinimumCount(), 1)
			eq(t, "Channel", r.Channel(), ChannelNone)
			eq(t, "RemainingBytes", r.RemainingBytes(), 0)
			eqBytes(t, "ChannelInfo", r.ChannelInfo(), nil)
		}},
		{"read rdma", "Read", readRDMAGolden(), 128, func(t *testing.T, m []byte) {
			r := ReadRequest(m)
			eq(t, "Channel", r.Channel(), ChannelRDMAV1)
			eq(t, "Length", r.Length(), 1<<20)
			eqBytes(t, "ChannelInfo", r.ChannelInfo(), m[112:128])
		}},
		{"write", "Write", writeGolden(), 123, func(t *testing.T, m []byte) {
			r := WriteRequest(m)
			eq(t, "DataOffset", r.DataOffset(), 112)
			eq(t, "Length", r.Length(), 11)
			eq(t, "Offset", r.Offset(), 0x2000)
			eq(t, "FileID", r.FileID(), goldFileID)
			eq(t, "Channel", r.Channel(), ChannelNone)
			eq(t, "RemainingBytes", r.RemainingBytes(), 7)
			eq(t, "Flags", r.Flags(), WriteFlagWriteThrough)
			eqBytes(t, "ChannelInfo", r.ChannelInfo(), nil)
			eqBytes(t, "Data", r.Data(), []byte("hello world"))
		}},
		{"lock", "Lock", lockGolden(), 136, func(t *testing.T, m []byte) {
			r := LockRequest(m)
			eq(t, "LockCount", r.LockCount(), 2)
			eq(t, "LockSequence", r.LockSequence(), 0x30000012)
			eq(t, "FileID", r.FileID(), goldFileID)
			want := []LockElement{{0, 100, LockFlagExclusive | LockFlagFailImmediately}, {200, 50, LockFlagShared}}
			if got := r.Locks(); !reflect.DeepEqual(got, want) {
				t.Errorf("Locks = %+v, want %+v", got, want)
			}
		}},
		{"ioctl", "Ioctl", ioctlGolden(), 148, func(t *testing.T, m []byte) {
			r := IoctlRequest(m)
			eq(t, "CtlCode", r.CtlCode(), 0x00140204)
			eq(t, "FileID.IsAll", r.FileID().IsAll(), true)
			eq(t, "MaxInputResponse", r.MaxInputResponse(), 0)
			eq(t, "MaxOutputResponse", r.MaxOutputResponse(), 24)
			eq(t, "Flags", r.Flags(), IoctlFlagIsFsctl)
			eqBytes(t, "Input", r.Input(), validateNegotiateInput())
		}},
		{"query directory", "QueryDirectory", queryDirectoryGolden(), 106, func(t *testing.T, m []byte) {
			r := QueryDirectoryRequest(m)
			eq(t, "InfoClass", r.InfoClass(), 0x25)
			eq(t, "Flags", r.Flags(), QueryDirRestartScans)
			eq(t, "FileIndex", r.FileIndex(), 0)
			eq(t, "FileID", r.FileID(), goldFileID)
			eq(t, "OutputBufferLength", r.OutputBufferLength(), 65536)
			eqBytes(t, "Pattern", r.Pattern(), utf16le("*.txt"))
		}},
		{"change notify", "ChangeNotify", changeNotifyGolden(), 96, func(t *testing.T, m []byte) {
			r := ChangeNotifyRequest(m)
			eq(t, "Flags", r.Flags(), NotifyWatchTree)
			eq(t, "OutputBufferLength", r.OutputBufferLength(), 4096)
			eq(t, "FileID", r.FileID(), goldFileID)
			eq(t, "CompletionFilter", r.CompletionFilter(), 0x17)
		}},
		{"query info", "QueryInfo", queryInfoGolden(), 112, func(t *testing.T, m []byte) {
			r := QueryInfoRequest(m)
			eq(t, "InfoType", r.InfoType(), InfoFile)
			eq(t, "InfoClass", r.InfoClass(), 0x0f)
			eq(t, "OutputBufferLength", r.OutputBufferLength(), 4096)
			eq(t, "AdditionalInformation", r.AdditionalInformation(), 4)
			eq(t, "Flags", r.Flags(), 2)
			eq(t, "FileID", r.FileID(), goldFileID)
			eqBytes(t, "Input", r.Input(), []byte{0, 0, 0, 0, 2, 'E', 'A', 0})
		}},
		{"set info", "SetInfo", setInfoGolden(), 104, func(t *testing.T, m []byte) {
			r := SetInfoRequest(m)
			eq(t, "InfoType", r.InfoType(), InfoFile)
			eq(t, "InfoClass", r.InfoClass(), 0x14)
			eq(t, "AdditionalInformation", r.AdditionalInformation(), 0)
			eq(t, "FileID", r.FileID(), goldFileID)
			eqBytes(t, "Buffer", r.Buffer(), p64(nil, 4096))
		}},
		{"oplock break ack", "OplockBreakAck", oplockAckGolden(), 88, func(t *testing.T, m []byte) {
			r := OplockBreakAck(m)
			eq(t, "IsLease", r.IsLease(), false)
			eq(t, "OplockLevel", r.OplockLevel(), 1)
			eq(t, "FileID", r.FileID(), goldFileID)
		}},
		{"lease break ack", "OplockBreakAck", leaseAckGolden(), 100, func(t *testing.T, m []byte) {
			r := OplockBreakAck(m)
			eq(t, "IsLease", r.IsLease(), true)
			eq(t, "LeaseKey", r.LeaseKey(), [16]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf})
			eq(t, "LeaseState", r.LeaseState(), 1)
		}},
		{"echo", "Empty", echoGolden(), 68, func(t *testing.T, m []byte) {}},
		{"header", "Header", echoGolden(), 64, func(t *testing.T, m []byte) {
			h := Header(m)
			eq(t, "CreditCharge", h.CreditCharge(), 1)
			eq(t, "Status", h.Status(), 0)
			eq(t, "ChannelSequence", h.ChannelSequence(), 0)
			eq(t, "Command", h.Command(), CmdEcho)
			eq(t, "CreditRequest", h.CreditRequest(), 31)
			eq(t, "Flags", h.Flags(), FlagSigned)
			eq(t, "NextCommand", h.NextCommand(), 0)
			eq(t, "MessageID", h.MessageID(), goldMessageID)
			eq(t, "TreeID", h.TreeID(), goldTreeID)
			eq(t, "SessionID", h.SessionID(), goldSessionID)
			eqBytes(t, "Signature", h.Signature(), bytes.Repeat([]byte{0x5a}, 16))
			eq(t, "IsSigned", h.IsSigned(), true)
			eq(t, "IsAsync", h.IsAsync(), false)
			eq(t, "IsRelated", h.IsRelated(), false)
			eq(t, "IsReplay", h.IsReplay(), false)
		}},
	}
}

func TestRequestGolden(t *testing.T) {
	for _, c := range viewCases() {
		t.Run(c.name, func(t *testing.T) {
			v := views[c.view]
			if err := v.validate(c.msg); err != nil {
				t.Fatalf("Validate(golden): %v", err)
			}
			c.check(t, c.msg)
		})
	}
}

// TestRequestTruncated checks every prefix of every golden message: shorter
// than the minimum, Validate fails with a reason (io.ErrUnexpectedEOF when
// the fixed part is cut, else a bad-offset or structure error) and never
// panics; from the minimum on, Validate accepts and the accessors work.
func TestRequestTruncated(t *testing.T) {
	for _, c := range viewCases() {
		t.Run(c.name, func(t *testing.T) {
			v := views[c.view]
			for n := 0; n <= len(c.msg); n++ {
				// A fresh copy with no spare capacity, so that reading past
				// len would be caught by the race detector's bounds checks.
				p := bytes.Clone(c.msg[:n])
				var err error
				noPanic(t, fmt.Sprintf("Validate(prefix %d)", n), func() { err = v.validate(p) })
				if n < c.min {
					if err == nil {
						t.Fatalf("Validate accepted a %d-byte prefix (minimum %d)", n, c.min)
					}
					if n < HeaderSize+2 && !errors.Is(err, io.ErrUnexpectedEOF) && c.view != "Header" {
						t.Errorf("prefix %d: err %v, want io.ErrUnexpectedEOF", n, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Validate rejected a %d-byte prefix (minimum %d): %v", n, c.min, err)
				}
				noPanic(t, fmt.Sprintf("accessors(prefix %d)", n), func() { v.touch(p) })
			}
		})
	}
}

// TestRequestStructureSize checks that each view rejects a wrong StructureSize.
func TestRequestStructureSize(t *testing.T) {
	for _, c := range viewCases() {
		if c.view == "Header" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			m := bytes.Clone(c.msg)
			le.PutUint16(m[HeaderSize:], le.Uint16(m[HeaderSize:])+2)
			if err := views[c.view].validate(m); !errors.Is(err, ErrStructureSize) {
				t.Errorf("Validate with StructureSize+2: %v, want ErrStructureSize", err)
			}
		})
	}
}

// offsetField names an offset/length pair of a view, by byte position
// inside the body and width.
type offsetField struct {
	name        string
	view        string
	golden      func() []byte
	offAt, offW int
	lenAt, lenW int
}

var offsetFields = []offsetField{
	{"session setup SecurityBuffer", "SessionSetup", sessionSetupGolden, 12, 2, 14, 2},
	{"tree connect Path", "TreeConnect", treeConnectGolden, 4, 2, 6, 2},
	{"create Name", "Create", createGolden, 44, 2, 46, 2},
	{"create Contexts", "Create", createGolden, 48, 4, 52, 4},
	{"read ChannelInfo", "Read", readRDMAGolden, 44, 2, 46, 2},
	{"write Data", "Write", writeGolden, 2, 2, 4, 4},
	{"ioctl Input", "Ioctl", ioctlGolden, 24, 4, 28, 4},
	{"query directory Pattern", "QueryDirectory", queryDirectoryGolden, 24, 2, 26, 2},
	{"query info Input", "QueryInfo", queryInfoGolden, 8, 2, 12, 4},
	{"set info Buffer", "SetInfo", setInfoGolden, 8, 2, 4, 4},
}

func put(b []byte, at, w int, v uint64) {
	switch w {
	case 2:
		le.PutUint16(b[at:], uint16(v))
	case 4:
		le.PutUint32(b[at:], uint32(v))
	}
}

// TestRequestOffsetsOutOfRange points every offset/length pair past the end
// of the message, including values whose 32-bit sum wraps around.
func TestRequestOffsetsOutOfRange(t *testing.T) {
	for _, f := range offsetFields {
		t.Run(f.name, func(t *testing.T) {
			g := f.golden()
			maxOf := func(w int) uint64 { return 1<<(8*w) - 1 }
			cases := []struct {
				name     string
				off, len uint64
			}{
				{"one past the end", uint64(len(g)) - 1, 2},
				{"offset at the end", uint64(len(g)), 1},
				{"max offset", maxOf(f.offW), 1},
				{"max length", HeaderSize, maxOf(f.lenW)},
				{"both max (sum wraps in 32 bits)", maxOf(f.offW), maxOf(f.lenW)},
			}
			for _, c := range cases {
				m := bytes.Clone(g)
				put(m, HeaderSize+f.offAt, f.offW, c.off)
				put(m, HeaderSize+f.lenAt, f.lenW, c.len)
				var err error
				noPanic(t, c.name, func() { err = views[f.view].validate(m) })
				if !errors.Is(err, ErrBadOffset) {
					t.Errorf("%s (off %#x len %#x): err %v, want ErrBadOffset", c.name, c.off, c.len, err)
				}
			}
			// A zero length is valid whatever the offset.
			m := bytes.Clone(g)
			put(m, HeaderSize+f.offAt, f.offW, maxOf(f.offW))
			put(m, HeaderSize+f.lenAt, f.lenW, 0)
			if err := views[f.view].validate(m); err != nil {
				t.Errorf("zero length at a wild offset: %v", err)
			}
			noPanic(t, "accessors", func() { views[f.view].touch(m) })
		})
	}
}

func TestNegotiateRequestErrors(t *testing.T) {
	g := negotiateGolden()
	t.Run("no dialects", func(t *testing.T) {
		m := bytes.Clone(g)
		le.PutUint16(m[HeaderSize+2:], 0)
		if err := NegotiateRequest(m).Validate(); err == nil {
			t.Error("DialectCount 0 accepted")
		}
	})
	t.Run("dialects past the end", func(t *testing.T) {
		m := bytes.Clone(g)
		le.PutUint16(m[HeaderSize+2:], 0xffff)
		if err := NegotiateRequest(m).Validate(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("DialectCount 0xffff: %v, want io.ErrUnexpectedEOF", err)
		}
	})
	// Contexts are only parsed for 3.1.1, after Validate: each prefix from
	// the Validate minimum up to the end of the last context must fail in
	// Contexts, not panic.
	t.Run("contexts truncated", func(t *testing.T) {
		for n := 110; n < len(g); n++ {
			m := bytes.Clone(g[:n])
			if err := NegotiateRequest(m).Validate(); err != nil {
				t.Fatalf("prefix %d: Validate: %v", n, err)
			}
			var err error
			noPanic(t, "Contexts", func() { _, err = NegotiateRequest(m).Contexts() })
			if err == nil {
				t.Errorf("prefix %d: Contexts accepted a cut context", n)
			}
		}
	})
	for _, c := range []struct {
		name string
		off  uint32
		cnt  uint16
	}{
		{"offset past the end", 0xfffffff8, 1},
		{"offset at the end", 174, 1},
		{"count beyond the contexts", 112, 3},
		{"count too large", 112, 65},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := bytes.Clone(g)
			le.PutUint32(m[HeaderSize+28:], c.off)
			le.PutUint16(m[HeaderSize+32:], c.cnt)
			var err error
			noPanic(t, "Contexts", func() { _, err = NegotiateRequest(m).Contexts() })
			if err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("context data past the end", func(t *testing.T) {
		m := bytes.Clone(g)
		le.PutUint16(m[160+2:], 0xffff) // the encryption context's DataLength
		if _, err := NegotiateRequest(m).Contexts(); !errors.Is(err, ErrBadOffset) {
			t.Errorf("err %v, want ErrBadOffset", err)
		}
	})
}

func TestLockRequestErrors(t *testing.T) {
	g := lockGolden()
	m := bytes.Clone(g)
	le.PutUint16(m[HeaderSize+2:], 0)
	if err := LockRequest(m).Validate(); err == nil {
		t.Error("LockCount 0 accepted")
	}
	m = bytes.Clone(g)
	le.PutUint16(m[HeaderSize+2:], 3)
	if err := LockRequest(m).Validate(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("LockCount 3 with 2 elements: %v, want io.ErrUnexpectedEOF", err)
	}
	m = bytes.Clone(g)
	le.PutUint16(m[HeaderSize+2:], 0xffff)
	if err := LockRequest(m).Validate(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("LockCount 0xffff: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestWriteRequestRDMAChannel(t *testing.T) {
	// With an RDMA channel the data is not inline: DataOffset/Length are
	// not checked against the message, and Data returns nothing.
	m := writeGolden()
	le.PutUint32(m[HeaderSize+32:], ChannelRDMAV1)
	le.PutUint32(m[HeaderSize+4:], 1<<20)
	if err := WriteRequest(m).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if d := WriteRequest(m).Data(); d != nil {
		t.Errorf("Data = %d bytes, want none", len(d))
	}
}

func TestOplockBreakAckStructureSizes(t *testing.T) {
	for _, ss := range []uint16{0, 2, 23, 25, 35, 37, 44, 0xffff} {
		m := oplockAckGolden()
		m = pad(m, 24)
		le.PutUint16(m[HeaderSize:], ss)
		if err := OplockBreakAck(m).Validate(); !errors.Is(err, ErrStructureSize) {
			t.Errorf("StructureSize %d: %v, want ErrStructureSize", ss, err)
		}
	}
}

// TestOplockBreakAckLeaseAccessors: the package promises that accessors never
// slice out of bounds after Validate, but LeaseState reads bytes 24:28 of the
// body, past the end of a valid 24-byte oplock break acknowledgment.
func TestOplockBreakAckLeaseAccessors(t *testing.T) {
	m := bytes.Clone(oplockAckGolden())
	if err := OplockBreakAck(m).Validate(); err != nil {
		t.Fatal(err)
	}
	noPanic(t, "LeaseKey/LeaseState on an oplock ack", func() {
		_, _ = OplockBreakAck(m).LeaseKey(), OplockBreakAck(m).LeaseState()
	})
}
