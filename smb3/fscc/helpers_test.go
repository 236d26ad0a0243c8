package fscc

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// lb assembles expected bytes field by field, independently of the encoders.
type lb struct{ b []byte }

func (l *lb) raw(v ...byte) *lb { l.b = append(l.b, v...); return l }
func (l *lb) zero(n int) *lb    { l.b = append(l.b, make([]byte, n)...); return l }
func (l *lb) u16(v uint16) *lb  { return l.raw(byte(v), byte(v>>8)) }
func (l *lb) u32(v uint32) *lb  { return l.raw(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
func (l *lb) u64(v uint64) *lb  { return l.u32(uint32(v)).u32(uint32(v >> 32)) }

// ascii16 appends an ASCII string as UTF-16LE by hand.
func (l *lb) ascii16(s string) *lb {
	for i := 0; i < len(s); i++ {
		l.raw(s[i], 0)
	}
	return l
}

func (l *lb) padTo(n int) *lb {
	for len(l.b) < n {
		l.b = append(l.b, 0)
	}
	return l
}

func checkBytes(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch (got %d bytes, want %d)\ngot:\n%swant:\n%s", name, len(got), len(want), hex.Dump(got), hex.Dump(want))
	}
}

// checkPrefixes asserts that every strict prefix of valid fails to decode
// without panicking.
func checkPrefixes(t *testing.T, name string, valid []byte, decode func([]byte) error) {
	t.Helper()
	if err := decode(valid); err != nil {
		t.Fatalf("%s: full input: %v", name, err)
	}
	for i := 0; i < len(valid); i++ {
		// Copy so a decoder reading past the prefix would hit the race/bounds checker.
		p := append([]byte(nil), valid[:i]...)
		if err := decode(p); err == nil {
			t.Errorf("%s: prefix of %d/%d bytes accepted", name, i, len(valid))
		}
	}
}

// testFileInfo is a FileInfo with distinct values in every field.
func testFileInfo() *FileInfo {
	return &FileInfo{
		Name:           "a.txt",
		ShortName:      "A.TXT",
		FileIndex:      0,
		FileID:         0x0011223344556677,
		VolumeSerial:   0x8877665544332211,
		EASize:         0,
		Creation:       0x01D9000000000001,
		Access:         0x01D9000000000002,
		Write:          0x01D9000000000003,
		Change:         0x01D9000000000004,
		EndOfFile:      5000,
		AllocationSize: 8192,
		Attributes:     FileAttributeArchive,
		Nlink:          1,
	}
}
