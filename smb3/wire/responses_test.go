package wire

import (
	"bytes"
	"testing"
)

func TestResponseEncodersGolden(t *testing.T) {
	prefix := []byte{0xee, 0xee}
	for _, c := range []struct {
		name string
		got  []byte
		want func() []byte
	}{
		{"session setup with token", AppendSessionSetupResponse(prefix, SessionFlagEncrypt, []byte("tok")), func() []byte {
			var b []byte
			b = p16(b, 9)                  // StructureSize
			b = p16(b, SessionFlagEncrypt) // SessionFlags
			b = p16(b, 72)                 // SecurityBufferOffset
			b = p16(b, 3)                  // SecurityBufferLength
			return append(b, "tok"...)     // Buffer
		}},
		{"session setup without token", AppendSessionSetupResponse(prefix, SessionFlagIsGuest, nil), func() []byte {
			var b []byte
			b = p16(b, 9)                  // StructureSize
			b = p16(b, SessionFlagIsGuest) // SessionFlags
			b = p16(b, 0)                  // SecurityBufferOffset
			b = p16(b, 0)                  // SecurityBufferLength
			return p8(b, 0)                // Buffer
		}},
		{"tree connect", AppendTreeConnectResponse(prefix, ShareTypeDisk, ShareFlagNoCaching|ShareFlagEncryptData, ShareCapDFS, 0x001f01ff), func() []byte {
			var b []byte
			b = p16(b, 16)            // StructureSize
			b = p8(b, ShareTypeDisk)  // ShareType
			b = p8(b, 0)              // Reserved
			b = p32(b, 0x00008030)    // ShareFlags
			b = p32(b, ShareCapDFS)   // Capabilities
			return p32(b, 0x001f01ff) // MaximalAccess
		}},
		{"close", (&CloseResponse{Flags: CloseFlagPostQueryAttrib, Creation: 1, LastAccess: 2, LastWrite: 3, Change: 4, AllocationSize: 4096, EndOfFile: 5, Attributes: 0x20}).Append(prefix), func() []byte {
			var b []byte
			b = p16(b, 60)                       // StructureSize
			b = p16(b, CloseFlagPostQueryAttrib) // Flags
			b = p32(b, 0)                        // Reserved
			b = p64(b, 1)                        // CreationTime
			b = p64(b, 2)                        // LastAccessTime
			b = p64(b, 3)                        // LastWriteTime
			b = p64(b, 4)                        // ChangeTime
			b = p64(b, 4096)                     // AllocationSize
			b = p64(b, 5)                        // EndofFile
			return p32(b, 0x20)                  // FileAttributes
		}},
		{"read header", AppendReadResponseHeader(prefix, 65536, 7), func() []byte {
			var b []byte
			b = p16(b, 17)    // StructureSize
			b = p8(b, 0x50)   // DataOffset
			b = p8(b, 0)      // Reserved
			b = p32(b, 65536) // DataLength
			b = p32(b, 7)     // DataRemaining
			return p32(b, 0)  // Flags (Reserved2)
		}},
		{"write", AppendWriteResponse(prefix, 1<<20), func() []byte {
			var b []byte
			b = p16(b, 17)    // StructureSize
			b = p16(b, 0)     // Reserved
			b = p32(b, 1<<20) // Count
			b = p32(b, 0)     // Remaining
			b = p16(b, 0)     // WriteChannelInfoOffset
			return p16(b, 0)  // WriteChannelInfoLength
		}},
		{"ioctl output only", AppendIoctlResponse(prefix, 0x00140204, goldFileID, nil, bytes.Repeat([]byte{7}, 24)), func() []byte {
			var b []byte
			b = p16(b, 49)         // StructureSize
			b = p16(b, 0)          // Reserved
			b = p32(b, 0x00140204) // CtlCode
			b = pFileID(b, goldFileID)
			b = p32(b, 0)   // InputOffset
			b = p32(b, 0)   // InputCount
			b = p32(b, 112) // OutputOffset
			b = p32(b, 24)  // OutputCount
			b = p32(b, 0)   // Flags
			b = p32(b, 0)   // Reserved2
			return append(b, bytes.Repeat([]byte{7}, 24)...)
		}},
		{"ioctl input and output", AppendIoctlResponse(prefix, 0x001440f2, goldFileID, []byte{1, 2, 3}, []byte{9, 9}), func() []byte {
			var b []byte
			b = p16(b, 49)         // StructureSize
			b = p16(b, 0)          // Reserved
			b = p32(b, 0x001440f2) // CtlCode: FSCTL_SRV_COPYCHUNK
			b = pFileID(b, goldFileID)
			b = p32(b, 112)        // InputOffset
			b = p32(b, 3)          // InputCount
			b = p32(b, 120)        // OutputOffset: 8-aligned after the input
			b = p32(b, 2)          // OutputCount
			b = p32(b, 0)          // Flags
			b = p32(b, 0)          // Reserved2
			b = append(b, 1, 2, 3) // Buffer: input
			b = pad(b, 5)          // Padding
			return append(b, 9, 9) // Buffer: output
		}},
		{"ioctl empty", AppendIoctlResponse(prefix, 0x00090078, goldFileID, nil, nil), func() []byte {
			var b []byte
			b = p16(b, 49)         // StructureSize
			b = p16(b, 0)          // Reserved
			b = p32(b, 0x00090078) // CtlCode
			b = pFileID(b, goldFileID)
			return pad(b, 6*4) // InputOffset .. Reserved2, all zero
		}},
		{"buffer with data", AppendBufferResponse(prefix, []byte("entries")), func() []byte {
			var b []byte
			b = p16(b, 9)                  // StructureSize
			b = p16(b, 72)                 // OutputBufferOffset
			b = p32(b, 7)                  // OutputBufferLength
			return append(b, "entries"...) // Buffer
		}},
		{"buffer empty", AppendBufferResponse(prefix, nil), func() []byte {
			var b []byte
			b = p16(b, 9)   // StructureSize
			b = p16(b, 0)   // OutputBufferOffset
			b = p32(b, 0)   // OutputBufferLength
			return p8(b, 0) // Buffer
		}},
		{"error", AppendErrorResponse(prefix, nil), func() []byte {
			var b []byte
			b = p16(b, 9)   // StructureSize
			b = p8(b, 0)    // ErrorContextCount
			b = p8(b, 0)    // Reserved
			b = p32(b, 0)   // ByteCount
			return p8(b, 0) // ErrorData
		}},
		{"error with data", AppendErrorResponse(prefix, []byte{1, 2, 3, 4}), func() []byte {
			var b []byte
			b = p16(b, 9)                // StructureSize
			b = p8(b, 0)                 // ErrorContextCount
			b = p8(b, 0)                 // Reserved
			b = p32(b, 4)                // ByteCount
			return append(b, 1, 2, 3, 4) // ErrorData
		}},
		{"empty", AppendEmptyResponse(prefix), func() []byte {
			return p16(p16(nil, 4), 0) // StructureSize, Reserved
		}},
		{"set info", AppendSetInfoResponse(prefix), func() []byte {
			return p16(nil, 2) // StructureSize
		}},
		{"file id", AppendFileID(prefix, goldFileID), func() []byte {
			return pFileID(nil, goldFileID)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.HasPrefix(c.got, prefix) {
				t.Fatalf("encoder dropped the bytes already in the buffer: %x", c.got)
			}
			mustEqual(t, c.name, c.got[len(prefix):], c.want())
		})
	}
}

// TestReadResponseDataOffset checks that the data of a READ response lands
// where its DataOffset says, from the start of the header.
func TestReadResponseDataOffset(t *testing.T) {
	m := AppendResponseHeader(nil, &ResponseHeader{Command: CmdRead})
	m = AppendReadResponseHeader(m, 5, 0)
	m = append(m, "hello"...)
	off := int(m[HeaderSize+2])
	n := int(le.Uint32(m[HeaderSize+4:]))
	eqBytes(t, "data at DataOffset", m[off:off+n], []byte("hello"))
	eq(t, "ReadResponseHeaderLen", len(m)-HeaderSize-5, ReadResponseHeaderLen)
}

// TestBufferResponseOffsets checks the 2.2.34/2.2.36/2.2.38 buffer at its offset.
func TestBufferResponseOffsets(t *testing.T) {
	m := AppendResponseHeader(nil, &ResponseHeader{Command: CmdQueryInfo})
	m = AppendBufferResponse(m, []byte("info"))
	off, n := le.Uint16(m[HeaderSize+2:]), le.Uint32(m[HeaderSize+4:])
	eqBytes(t, "buffer at OutputBufferOffset", m[off:uint32(off)+n], []byte("info"))
	m = AppendResponseHeader(nil, &ResponseHeader{Command: CmdSessionSetup})
	m = AppendSessionSetupResponse(m, 0, []byte("token"))
	so, sl := le.Uint16(m[HeaderSize+4:]), le.Uint16(m[HeaderSize+6:])
	eqBytes(t, "token at SecurityBufferOffset", m[so:so+sl], []byte("token"))
	m = AppendResponseHeader(nil, &ResponseHeader{Command: CmdIoctl})
	m = AppendIoctlResponse(m, 1, goldFileID, []byte("in"), []byte("output"))
	io, ic := le.Uint32(m[HeaderSize+24:]), le.Uint32(m[HeaderSize+28:])
	oo, oc := le.Uint32(m[HeaderSize+32:]), le.Uint32(m[HeaderSize+36:])
	eqBytes(t, "ioctl input", m[io:io+ic], []byte("in"))
	eqBytes(t, "ioctl output", m[oo:oo+oc], []byte("output"))
	if oo%8 != 0 {
		t.Errorf("OutputOffset %d not 8-aligned", oo)
	}
}
