package server

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"

	"smb3d/smb3/wire"
)

var le = binary.LittleEndian

// decodeName decodes a UTF-16LE name from the wire.
func decodeName(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), true
}

func appendUTF16(b []byte, s string) []byte {
	for _, r := range utf16.Encode([]rune(s)) {
		b = le.AppendUint16(b, r)
	}
	return b
}

// filetime converts a time to FILETIME (100 ns intervals since 1601).
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100) + 116444736000000000
}

func fromFiletime(ft uint64) time.Time {
	return time.Unix(0, (int64(ft)-116444736000000000)*100)
}

// parseSharePath returns the share name of a TREE_CONNECT path "\\server\share".
func parseSharePath(p string) (string, bool) {
	p = strings.TrimPrefix(p, `\\`)
	i := strings.IndexByte(p, '\\')
	if i < 0 {
		return "", false
	}
	name := p[i+1:]
	if name == "" || strings.ContainsAny(name, `\/`) {
		return "", false
	}
	return name, true
}

var _ = wire.HeaderSize
