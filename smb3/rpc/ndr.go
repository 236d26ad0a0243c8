package rpc

import (
	"io"
	"unicode/utf16"
)

// encoder marshals NDR 2.0 (C706 chapter 14) little-endian stub data.
// Alignment is relative to the start of the stub, which the PDU header puts
// on an 8-byte boundary.
type encoder struct {
	b   []byte
	ref uint32 // last referent ID handed out
}

func (e *encoder) align(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) u16(v uint16) { e.align(2); e.b = le.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.align(4); e.b = le.AppendUint32(e.b, v) }

// ptr writes a unique or full pointer's referent ID (0 for NULL).
func (e *encoder) ptr(nonNull bool) {
	if !nonNull {
		e.u32(0)
		return
	}
	if e.ref == 0 {
		e.ref = 0x00020000 // where Windows and Samba start
	} else {
		e.ref += 4
	}
	e.u32(e.ref)
}

// wstr writes a conformant varying string of UTF-16 code units with its
// terminating NUL ([string] wchar_t*, C706 14.3.4.2).
func (e *encoder) wstr(s string) {
	u := utf16.Encode([]rune(s))
	n := uint32(len(u) + 1)
	e.u32(n) // maximum count
	e.u32(0) // offset
	e.u32(n) // actual count
	for _, c := range u {
		e.b = le.AppendUint16(e.b, c)
	}
	e.b = le.AppendUint16(e.b, 0)
}

// decoder unmarshals NDR 2.0 stub data; the first error sticks and every
// later read returns zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) align(n int) {
	a := (d.off + n - 1) &^ (n - 1)
	if a > len(d.b) {
		d.fail(io.ErrUnexpectedEOF)
		return
	}
	d.off = a
}

func (d *decoder) u16() uint16 {
	d.align(2)
	if d.err != nil || len(d.b)-d.off < 2 {
		d.fail(io.ErrUnexpectedEOF)
		return 0
	}
	v := le.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32() uint32 {
	d.align(4)
	if d.err != nil || len(d.b)-d.off < 4 {
		d.fail(io.ErrUnexpectedEOF)
		return 0
	}
	v := le.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

// ptr reads a referent ID and reports whether the pointer is non-NULL.
func (d *decoder) ptr() bool { return d.u32() != 0 }

// maxWstr bounds a string from the wire; names and paths are far shorter.
const maxWstr = 1 << 16

// wstr reads a conformant varying wide string. C706 14.3.3.4: the offset is
// 0 for [string], and actual count MUST NOT exceed maximum count; the last
// unit is the terminating NUL, which is dropped.
func (d *decoder) wstr() string {
	maxCount := d.u32()
	offset := d.u32()
	actual := d.u32()
	if d.err != nil {
		return ""
	}
	if offset != 0 || actual > maxCount || maxCount > maxWstr {
		d.fail(formatErr("string counts"))
		return ""
	}
	n := int(actual) * 2
	if len(d.b)-d.off < n {
		d.fail(io.ErrUnexpectedEOF)
		return ""
	}
	u := make([]uint16, actual)
	for i := range u {
		u[i] = le.Uint16(d.b[d.off+2*i:])
	}
	d.off += n
	if len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// uniqueWstr reads a unique pointer to a wide string; ok is false for NULL.
func (d *decoder) uniqueWstr() (s string, ok bool) {
	if !d.ptr() {
		return "", false
	}
	return d.wstr(), true
}

// bytes reads a conformant array of bytes ([size_is(n)] unsigned char*)
// whose count was marshalled as n.
func (d *decoder) confBytes(n uint32) {
	m := d.u32()
	if d.err != nil {
		return
	}
	if m != n || int64(m) > int64(len(d.b)-d.off) {
		d.fail(io.ErrUnexpectedEOF)
		return
	}
	d.off += int(m)
}

// done returns the first error. Trailing stub bytes are allowed, as
// Windows and Samba allow them (senders pad to a multiple of 8).
func (d *decoder) done() error { return d.err }
