package wire

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

// The helpers below assemble golden messages field by field, so that each
// test names every field of the MS-SMB2 layout it encodes.

func p8(b []byte, v uint8) []byte   { return append(b, v) }
func p16(b []byte, v uint16) []byte { return le.AppendUint16(b, v) }
func p32(b []byte, v uint32) []byte { return le.AppendUint32(b, v) }
func p64(b []byte, v uint64) []byte { return le.AppendUint64(b, v) }
func pad(b []byte, n int) []byte    { return append(b, make([]byte, n)...) }

// utf16le encodes s as UTF-16LE, as SMB2 names are sent.
func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = p16(b, r)
	}
	return b
}

// unhex decodes a hex string that may contain spaces and newlines.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// Values that appear in the golden headers, distinct per field so that a
// transposed field shows up.
const (
	goldMessageID = 0x0102030405060708
	goldSessionID = 0x1122334455667788
	goldTreeID    = 0x0a0b0c0d
	goldAsyncID   = 0x0f0e0d0c0b0a0908
)

var goldFileID = FileID{Persistent: 0x8877665544332211, Volatile: 0xfedcba9876543210}

func pFileID(b []byte, f FileID) []byte {
	b = p64(b, f.Persistent)  // FileId.Persistent
	return p64(b, f.Volatile) // FileId.Volatile
}

// reqHeader appends an SMB2 sync request header (MS-SMB2 2.2.1.2).
func reqHeader(cmd Command) []byte {
	var b []byte
	b = append(b, ProtocolID...)                     // ProtocolId
	b = p16(b, 64)                                   // StructureSize
	b = p16(b, 1)                                    // CreditCharge
	b = p16(b, 0)                                    // ChannelSequence
	b = p16(b, 0)                                    // Reserved
	b = p16(b, uint16(cmd))                          // Command
	b = p16(b, 31)                                   // CreditRequest
	b = p32(b, FlagSigned)                           // Flags
	b = p32(b, 0)                                    // NextCommand
	b = p64(b, goldMessageID)                        // MessageId
	b = p32(b, 0xfeff)                               // Reserved (ProcessId)
	b = p32(b, goldTreeID)                           // TreeId
	b = p64(b, goldSessionID)                        // SessionId
	b = append(b, bytes.Repeat([]byte{0x5a}, 16)...) // Signature
	return b
}

// mustEqual fails with a hex dump of both sides when got != want.
func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got  %x\n want %x", what, got, want)
	}
}

// noPanic runs f and turns a panic into a test failure naming what.
func noPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: panic: %v", what, p)
		}
	}()
	f()
}

// knownBug skips a test that shows a bug in the package, unless
// SMB3D_RUN_BUGS is set (to check a fix).
func knownBug(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("SMB3D_RUN_BUGS") == "" {
		t.Skip(why)
	}
}
