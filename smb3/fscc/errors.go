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

// short reports that structure what needs need bytes and has only have.
func short(what string, need, have int) error {
	return fmt.Errorf("fscc: %s: need %d bytes, have %d: %w", what, need, have, io.ErrUnexpectedEOF)
}

// malformed wraps ErrMalformed with a reason.
func malformed(what, format string, args ...any) error {
	return fmt.Errorf("fscc: %s: %s: %w", what, fmt.Sprintf(format, args...), ErrMalformed)
}
