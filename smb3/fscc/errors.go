package fscc

import (
	"errors"
	"fmt"
	"io"
)

var (
	// ErrInvalidInfoClass reports an information class this package does not
	// encode or decode. Servers map it to STATUS_INVALID_INFO_CLASS (or
	// STATUS_NOT_SUPPORTED for classes MS-SMB2 2.2.37 lists; see
	// MS-SMB2 3.3.5.20.1).
	ErrInvalidInfoClass = errors.New("fscc: invalid information class")

	// ErrMalformed reports a structure whose lengths or values are
	// inconsistent (odd UTF-16 length, NextEntryOffset pointing backwards,
	// count larger than the data, ...). Servers map it to
	// STATUS_INVALID_PARAMETER. Short input is reported as
	// io.ErrUnexpectedEOF instead (STATUS_INFO_LENGTH_MISMATCH for SET_INFO,
	// STATUS_INVALID_PARAMETER for IOCTL).
	ErrMalformed = errors.New("fscc: malformed structure")

	// ErrInfoLengthMismatch reports an output buffer too small for the fixed
	// part of the requested class (STATUS_INFO_LENGTH_MISMATCH,
	// MS-SMB2 3.3.5.20.1).
	ErrInfoLengthMismatch = errors.New("fscc: output buffer smaller than the fixed part")
)

// Error is the error decoders return for bad input: Struct names the
// structure (a short, stable token for counters, e.g.
// "FILE_RENAME_INFORMATION"), Detail says what was wrong, and Err is
// io.ErrUnexpectedEOF or ErrMalformed for errors.Is.
type Error struct {
	Struct string
	Detail string
	Err    error
}

func (e *Error) Error() string { return "fscc: " + e.Struct + ": " + e.Detail + ": " + e.Err.Error() }

// Unwrap returns io.ErrUnexpectedEOF or ErrMalformed.
func (e *Error) Unwrap() error { return e.Err }

// short reports that structure what needs need bytes and has only have.
func short(what string, need, have int) error {
	return &Error{Struct: what, Detail: fmt.Sprintf("need %d bytes, have %d", need, have), Err: io.ErrUnexpectedEOF}
}

// malformed wraps ErrMalformed with a reason.
func malformed(what, format string, args ...any) error {
	return &Error{Struct: what, Detail: fmt.Sprintf(format, args...), Err: ErrMalformed}
}
