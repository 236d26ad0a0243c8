package smbdirect

import (
	"encoding/binary"
	"fmt"
	"io"
)

var le = binary.LittleEndian

// Version is the only SMB Direct protocol version (MS-SMBD 2.2.1).
const Version uint16 = 0x0100

// Wire sizes (MS-SMBD 2.2).
const (
	NegotiateRequestSize  = 20
	NegotiateResponseSize = 32
	// DataHeaderSize is the data transfer header up to (not including)
	// Padding: all an empty message carries.
	DataHeaderSize = 20
	// DataOffset is where this implementation puts the payload of a data
	// transfer message: the header and 4 bytes of padding, 8-aligned.
	DataOffset = 24
)

// Limits from MS-SMBD 3.1.5.6 and 3.1.5.7: a peer below them is refused.
const (
	MinReceiveSize    = 128
	MinFragmentedSize = 131072
)

// Flags of a data transfer message (MS-SMBD 2.2.3).
const FlagResponseRequested uint16 = 0x0001

// Status values carried in a negotiate response.
const (
	StatusSuccess      uint32 = 0x00000000
	StatusNotSupported uint32 = 0xC00000BB
)

// NegotiateRequest is an SMB Direct negotiate request (MS-SMBD 2.2.1), a
// view over received bytes. Call Validate before any accessor.
type NegotiateRequest []byte

// Validate checks the length.
func (b NegotiateRequest) Validate() error {
	if len(b) < NegotiateRequestSize {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (b NegotiateRequest) MinVersion() uint16        { return le.Uint16(b[0:]) }
func (b NegotiateRequest) MaxVersion() uint16        { return le.Uint16(b[2:]) }
func (b NegotiateRequest) CreditsRequested() uint16  { return le.Uint16(b[6:]) }
func (b NegotiateRequest) PreferredSendSize() uint32 { return le.Uint32(b[8:]) }
func (b NegotiateRequest) MaxReceiveSize() uint32    { return le.Uint32(b[12:]) }
func (b NegotiateRequest) MaxFragmentedSize() uint32 { return le.Uint32(b[16:]) }

// NegotiateRequestFields are the fields of a negotiate request to encode.
type NegotiateRequestFields struct {
	MinVersion, MaxVersion uint16
	CreditsRequested       uint16
	PreferredSendSize      uint32
	MaxReceiveSize         uint32
	MaxFragmentedSize      uint32
}

// Len is the encoded size.
func (NegotiateRequestFields) Len() int { return NegotiateRequestSize }

// Append encodes the request.
func (f NegotiateRequestFields) Append(b []byte) []byte {
	b = le.AppendUint16(b, f.MinVersion)
	b = le.AppendUint16(b, f.MaxVersion)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, f.CreditsRequested)
	b = le.AppendUint32(b, f.PreferredSendSize)
	b = le.AppendUint32(b, f.MaxReceiveSize)
	return le.AppendUint32(b, f.MaxFragmentedSize)
}

// NegotiateResponse is an SMB Direct negotiate response (MS-SMBD 2.2.2).
type NegotiateResponse []byte

// Validate checks the length.
func (b NegotiateResponse) Validate() error {
	if len(b) < NegotiateResponseSize {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (b NegotiateResponse) MinVersion() uint16        { return le.Uint16(b[0:]) }
func (b NegotiateResponse) MaxVersion() uint16        { return le.Uint16(b[2:]) }
func (b NegotiateResponse) NegotiatedVersion() uint16 { return le.Uint16(b[4:]) }
func (b NegotiateResponse) CreditsRequested() uint16  { return le.Uint16(b[8:]) }
func (b NegotiateResponse) CreditsGranted() uint16    { return le.Uint16(b[10:]) }
func (b NegotiateResponse) Status() uint32            { return le.Uint32(b[12:]) }
func (b NegotiateResponse) MaxReadWriteSize() uint32  { return le.Uint32(b[16:]) }
func (b NegotiateResponse) PreferredSendSize() uint32 { return le.Uint32(b[20:]) }
func (b NegotiateResponse) MaxReceiveSize() uint32    { return le.Uint32(b[24:]) }
func (b NegotiateResponse) MaxFragmentedSize() uint32 { return le.Uint32(b[28:]) }

// NegotiateResponseFields are the fields of a negotiate response to encode.
type NegotiateResponseFields struct {
	MinVersion, MaxVersion, NegotiatedVersion uint16
	CreditsRequested, CreditsGranted          uint16
	Status                                    uint32
	MaxReadWriteSize                          uint32
	PreferredSendSize                         uint32
	MaxReceiveSize                            uint32
	MaxFragmentedSize                         uint32
}

// Len is the encoded size.
func (NegotiateResponseFields) Len() int { return NegotiateResponseSize }

// Append encodes the response.
func (f NegotiateResponseFields) Append(b []byte) []byte {
	b = le.AppendUint16(b, f.MinVersion)
	b = le.AppendUint16(b, f.MaxVersion)
	b = le.AppendUint16(b, f.NegotiatedVersion)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, f.CreditsRequested)
	b = le.AppendUint16(b, f.CreditsGranted)
	b = le.AppendUint32(b, f.Status)
	b = le.AppendUint32(b, f.MaxReadWriteSize)
	b = le.AppendUint32(b, f.PreferredSendSize)
	b = le.AppendUint32(b, f.MaxReceiveSize)
	return le.AppendUint32(b, f.MaxFragmentedSize)
}

// DataTransfer is an SMB Direct data transfer message (MS-SMBD 2.2.3) as
// received. Call Validate before any accessor.
type DataTransfer []byte

// Validate checks the header length and that DataOffset/DataLength lie
// inside the message (in 64-bit arithmetic, so no sum wraps).
func (b DataTransfer) Validate() error {
	if len(b) < DataHeaderSize {
		return io.ErrUnexpectedEOF
	}
	off, n := uint64(b.DataOffset()), uint64(b.DataLength())
	if n == 0 {
		return nil // an empty message: DataOffset is meaningless (0 by 2.2.3)
	}
	// MS-SMBD 2.2.3: "DataOffset ... MUST be 8-byte aligned from the
	// beginning of the message" and the data follows the header.
	if off < DataHeaderSize || off%8 != 0 {
		return fmt.Errorf("smbdirect: data offset %d", off)
	}
	if off+n > uint64(len(b)) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (b DataTransfer) CreditsRequested() uint16    { return le.Uint16(b[0:]) }
func (b DataTransfer) CreditsGranted() uint16      { return le.Uint16(b[2:]) }
func (b DataTransfer) Flags() uint16               { return le.Uint16(b[4:]) }
func (b DataTransfer) RemainingDataLength() uint32 { return le.Uint32(b[8:]) }
func (b DataTransfer) DataOffset() uint32          { return le.Uint32(b[12:]) }
func (b DataTransfer) DataLength() uint32          { return le.Uint32(b[16:]) }

// Data returns the payload (valid after Validate).
func (b DataTransfer) Data() []byte {
	n := b.DataLength()
	if n == 0 {
		return nil
	}
	off := b.DataOffset()
	return b[off : off+n]
}

// DataHeader is the header of a data transfer message to encode.
type DataHeader struct {
	CreditsRequested    uint16
	CreditsGranted      uint16
	Flags               uint16
	RemainingDataLength uint32
	DataLength          uint32
}

// Len is the size of the encoded header: DataOffset with a payload,
// DataHeaderSize without.
func (h DataHeader) Len() int {
	if h.DataLength == 0 {
		return DataHeaderSize
	}
	return DataOffset
}

// Append encodes the header (and the padding when there is a payload),
// after which the DataLength payload bytes follow.
func (h DataHeader) Append(b []byte) []byte {
	b = le.AppendUint16(b, h.CreditsRequested)
	b = le.AppendUint16(b, h.CreditsGranted)
	b = le.AppendUint16(b, h.Flags)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, h.RemainingDataLength)
	off := uint32(0)
	if h.DataLength != 0 {
		off = DataOffset
	}
	b = le.AppendUint32(b, off)
	b = le.AppendUint32(b, h.DataLength)
	if h.DataLength != 0 {
		b = le.AppendUint32(b, 0)
	}
	return b
}
