package fscc

import "fmt"

// ReparseDataBufferHeaderSize is the size of the REPARSE_DATA_BUFFER header
// (MS-FSCC 2.1.2.2): ReparseTag (4), ReparseDataLength (2), Reserved (2).
const ReparseDataBufferHeaderSize = 8

// ReparseDataBuffer is a decoded REPARSE_DATA_BUFFER (FSCTL_SET_REPARSE_POINT
// input, FSCTL_GET_REPARSE_POINT output).
type ReparseDataBuffer struct {
	Tag  uint32
	Data []byte // ReparseDataLength bytes; aliases the input
}

// DecodeReparseDataBuffer decodes the header and checks ReparseDataLength
// against the buffer.
func DecodeReparseDataBuffer(b []byte) (ReparseDataBuffer, error) {
	const what = "REPARSE_DATA_BUFFER"
	if len(b) < ReparseDataBufferHeaderSize {
		return ReparseDataBuffer{}, short(what, ReparseDataBufferHeaderSize, len(b))
	}
	n := int(u16(b[4:]))
	if n > len(b)-ReparseDataBufferHeaderSize {
		return ReparseDataBuffer{}, short(what, ReparseDataBufferHeaderSize+n, len(b))
	}
	return ReparseDataBuffer{Tag: u32(b), Data: b[8 : 8+n : 8+n]}, nil
}

// Append encodes the buffer; Data longer than 65535 bytes is an error.
func (r *ReparseDataBuffer) Append(b []byte) ([]byte, error) {
	if len(r.Data) > 0xFFFF {
		return b, fmt.Errorf("fscc: REPARSE_DATA_BUFFER: %d bytes of data: %w", len(r.Data), ErrMalformed)
	}
	b = le32(b, r.Tag)
	b = le16(b, uint16(len(r.Data)))
	b = le16(b, 0)
	return append(b, r.Data...), nil
}

// SymlinkFlagRelative marks a relative symbolic link target
// (SYMLINK_FLAG_RELATIVE, MS-FSCC 2.1.2.4).
const SymlinkFlagRelative = 0x00000001

// SymlinkReparse is the IO_REPARSE_TAG_SYMLINK payload (MS-FSCC 2.1.2.4):
// SubstituteName and PrintName in one PathBuffer, plus Flags.
type SymlinkReparse struct {
	SubstituteName string
	PrintName      string
	Flags          uint32 // SymlinkFlagRelative
}

// AppendSymlinkReparse appends a whole REPARSE_DATA_BUFFER with tag
// IOReparseTagSymlink: header, SubstituteNameOffset/Length,
// PrintNameOffset/Length (2 bytes each), Flags (4), PathBuffer holding the
// substitute name then the print name.
func AppendSymlinkReparse(b []byte, s *SymlinkReparse) ([]byte, error) {
	sub, pr := UTF16Len(s.SubstituteName), UTF16Len(s.PrintName)
	dataLen := 12 + sub + pr
	if dataLen > 0xFFFF {
		return b, fmt.Errorf("fscc: symlink reparse data of %d bytes: %w", dataLen, ErrMalformed)
	}
	b = le32(b, IOReparseTagSymlink)
	b = le16(b, uint16(dataLen))
	b = le16(b, 0)
	b = le16(b, 0)           // SubstituteNameOffset
	b = le16(b, uint16(sub)) // SubstituteNameLength
	b = le16(b, uint16(sub)) // PrintNameOffset
	b = le16(b, uint16(pr))  // PrintNameLength
	b = le32(b, s.Flags)
	b = AppendUTF16(b, s.SubstituteName)
	return AppendUTF16(b, s.PrintName), nil
}

// DecodeSymlinkReparse decodes the Data of an IOReparseTagSymlink buffer,
// checking both names lie inside PathBuffer.
func DecodeSymlinkReparse(data []byte) (SymlinkReparse, error) {
	const what = "SYMBOLIC_LINK_REPARSE_BUFFER"
	if len(data) < 12 {
		return SymlinkReparse{}, short(what, 12, len(data))
	}
	path := data[12:]
	name := func(field string, off, n int) (string, error) {
		if off > len(path) || n > len(path)-off {
			return "", short(what, 12+off+n, len(data))
		}
		return decodeName(what, field, path[off:off+n])
	}
	sub, err := name("SubstituteName", int(u16(data)), int(u16(data[2:])))
	if err != nil {
		return SymlinkReparse{}, err
	}
	pr, err := name("PrintName", int(u16(data[4:])), int(u16(data[6:])))
	if err != nil {
		return SymlinkReparse{}, err
	}
	return SymlinkReparse{SubstituteName: sub, PrintName: pr, Flags: u32(data[8:])}, nil
}
