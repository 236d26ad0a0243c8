package fscc

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUTF16 appends s encoded as UTF-16LE, without a terminator. Runes
// outside the BMP become surrogate pairs; invalid UTF-8 bytes become U+FFFD.
func AppendUTF16(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = binary.LittleEndian.AppendUint16(b, uint16(r1))
			b = binary.LittleEndian.AppendUint16(b, uint16(r2))
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// UTF16Len returns the length in bytes of s encoded by AppendUTF16.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// DecodeUTF16 decodes UTF-16LE bytes. An odd length is an error; an unpaired
// surrogate decodes to U+FFFD.
func DecodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("UTF-16 string", "odd length %d", len(b))
	}
	// Fast path: ASCII.
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= 0x80 {
			ascii = false
			break
		}
	}
	var sb strings.Builder
	if ascii {
		sb.Grow(len(b) / 2)
		for i := 0; i < len(b); i += 2 {
			sb.WriteByte(b[i])
		}
		return sb.String(), nil
	}
	sb.Grow(len(b))
	for i := 0; i < len(b); i += 2 {
		u := rune(binary.LittleEndian.Uint16(b[i:]))
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+3 < len(b):
			u2 := rune(binary.LittleEndian.Uint16(b[i+2:]))
			if r := utf16.DecodeRune(u, u2); r != utf8.RuneError {
				sb.WriteRune(r)
				i += 2
				continue
			}
			sb.WriteRune(utf8.RuneError)
		case utf16.IsSurrogate(u):
			sb.WriteRune(utf8.RuneError)
		default:
			sb.WriteRune(u)
		}
	}
	return sb.String(), nil
}

// filetimeEpochDelta is the number of 100ns intervals between 1601-01-01 and
// 1970-01-01.
const filetimeEpochDelta = 116444736000000000

// Filetime converts t to a FILETIME (MS-DTYP 2.3.3: 100ns intervals since
// 1601-01-01 UTC). The zero time.Time maps to 0 ("unset"); times before 1601
// clamp to 1 so they are not mistaken for "unset".
func Filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	// Seconds since 1601 that fit in a FILETIME without overflow.
	const maxSec = (1<<63 - 1 - filetimeEpochDelta) / 10000000
	if sec > maxSec {
		return 1<<63 - 1
	}
	ft := sec*1e7 + int64(t.Nanosecond())/100 + filetimeEpochDelta
	if ft <= 0 {
		return 1
	}
	return uint64(ft)
}

// TimeFromFiletime converts a FILETIME to a time.Time in UTC. 0 ("unset")
// maps to the zero time.Time, as do the special set-info values -1 and -2
// (see BasicInformation); callers that care about those check them first.
func TimeFromFiletime(ft uint64) time.Time {
	if ft == 0 || int64(ft) < 0 {
		return time.Time{}
	}
	d := int64(ft) - filetimeEpochDelta
	return time.Unix(d/1e7, (d%1e7)*100).UTC()
}

// decodeName decodes the UTF-16 field of structure what.
func decodeName(what, field string, b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed(what, "%s has odd length %d", field, len(b))
	}
	return DecodeUTF16(b)
}
