package server

import (
	"hash/fnv"
	"strings"
)

// 8.3 short names (MS-FSCC 2.1.5.2.1).
//
// The backend keeps no short names, so they are derived from the long name,
// the same way every time: a directory listing (ShortName of the "Both"
// classes) and FileAlternateNameInformation agree, and a name always gets
// the same short name. Like NTFS, a name that already is a valid 8.3 name
// in upper case has no separate short name; a valid 8.3 name in another case
// gets its upper-case form; any other name gets a mangled name built from
// up to two characters of the name, four hex digits of a hash of the whole
// name, "~1" and up to three characters of its extension: "TO5F3A~1.TXT".
// Two long names of one directory may, rarely, hash to the same short name;
// short names are only ever reported here, never resolved.

// shortName returns the short name a directory entry reports for name, or
// "" when name is its own short name (or is "." or "..").
func shortName(name string) string {
	if name == "." || name == ".." {
		return ""
	}
	if is83(name) {
		if up := strings.ToUpper(name); up != name {
			return up
		}
		return ""
	}
	return mangle83(name)
}

// alternateName returns the name FileAlternateNameInformation reports for
// name: its short name, or the name itself when it is a valid 8.3 name.
func alternateName(name string) string {
	if s := shortName(name); s != "" {
		return s
	}
	return name
}

// valid83 reports whether ch may appear in an 8.3 name (after upper-casing):
// letters, digits and ! # $ % & ' ( ) - @ ^ _ ` { } ~.
func valid83(ch rune) bool {
	switch {
	case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'()-@^_`{}~", ch)
}

// is83 reports whether name is a valid 8.3 name, ignoring case: a base of 1
// to 8 and an optional extension of 1 to 3 valid characters.
func is83(name string) bool {
	base, ext, hasDot := strings.Cut(name, ".")
	if len(base) == 0 || len(base) > 8 || len(ext) > 3 || hasDot && len(ext) == 0 {
		return false
	}
	for _, ch := range base + ext {
		if !valid83(ch) {
			return false
		}
	}
	return true
}

// mangle83 builds the hashed short name of a long name.
func mangle83(name string) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && i < len(name)-1 {
		base, ext = name[:i], name[i+1:]
	}
	clean := func(s string, max int) string {
		var b strings.Builder
		for _, ch := range strings.ToUpper(s) {
			if b.Len() >= max {
				break
			}
			switch {
			case ch == '.' || ch == ' ':
				// dropped, as Windows does
			case ch < 0x80 && valid83(ch):
				b.WriteRune(ch)
			default:
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	const hexdigits = "0123456789ABCDEF"
	var hx [4]byte
	for i := range hx {
		hx[i] = hexdigits[(sum>>(4*(3-i)))&0xF]
	}
	s := clean(base, 2) + string(hx[:]) + "~1"
	if e := clean(ext, 3); e != "" {
		s += "." + e
	}
	return s
}
