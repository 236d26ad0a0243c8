package fscc

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// fuzzDecoder runs one decoder of decoderCases on arbitrary input: it must
// not panic, and on success must not have needed more bytes than given.
func fuzzDecoder(f *testing.F, name string) {
	var dc *decoderCase
	for _, c := range decoderCases(f) {
		if c.name == name {
			dc = &c
			break
		}
	}
	if dc == nil {
		f.Fatalf("no decoder %q", name)
	}
	f.Add(dc.valid)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xFF}, len(dc.valid)))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = dc.decode(b)
	})
}

func FuzzDecodeBasicInformation(f *testing.F)       { fuzzDecoder(f, "BasicInformation") }
func FuzzDecodeRenameInformation(f *testing.F)      { fuzzDecoder(f, "RenameInformation") }
func FuzzDecodeRenameInformationEx(f *testing.F)    { fuzzDecoder(f, "RenameInformationEx") }
func FuzzDecodeDispositionInformation(f *testing.F) { fuzzDecoder(f, "DispositionInformation") }
func FuzzDecodeDispositionInformationEx(f *testing.F) {
	fuzzDecoder(f, "DispositionInformationEx")
}
func FuzzDecodePositionInformation(f *testing.F)   { fuzzDecoder(f, "PositionInformation") }
func FuzzDecodeModeInformation(f *testing.F)       { fuzzDecoder(f, "ModeInformation") }
func FuzzDecodeAllocationInformation(f *testing.F) { fuzzDecoder(f, "AllocationInformation") }
func FuzzDecodeEndOfFileInformation(f *testing.F)  { fuzzDecoder(f, "EndOfFileInformation") }
func FuzzDecodeValidDataLengthInformation(f *testing.F) {
	fuzzDecoder(f, "ValidDataLengthInformation")
}
func FuzzDecodeShortNameInformation(f *testing.F)  { fuzzDecoder(f, "ShortNameInformation") }
func FuzzDecodeFsLabelInformation(f *testing.F)    { fuzzDecoder(f, "FsLabelInformation") }
func FuzzDecodeFsControlInformation(f *testing.F)  { fuzzDecoder(f, "FsControlInformation") }
func FuzzDecodeGetEaInformation(f *testing.F)      { fuzzDecoder(f, "GetEaInformation") }
func FuzzDecodeValidateNegotiateInfo(f *testing.F) { fuzzDecoder(f, "ValidateNegotiateInfo") }
func FuzzDecodeCopychunkCopy(f *testing.F)         { fuzzDecoder(f, "CopychunkCopy") }
func FuzzDecodeNetworkInterfaceInfo(f *testing.F)  { fuzzDecoder(f, "NetworkInterfaceInfo") }
func FuzzDecodeZeroDataInformation(f *testing.F)   { fuzzDecoder(f, "ZeroDataInformation") }
func FuzzDecodeAllocatedRange(f *testing.F)        { fuzzDecoder(f, "AllocatedRange") }
func FuzzDecodeFileLevelTrim(f *testing.F)         { fuzzDecoder(f, "FileLevelTrim") }
func FuzzDecodeDuplicateExtentsData(f *testing.F)  { fuzzDecoder(f, "DuplicateExtentsData") }

// FuzzDecodeFullEaInformation also checks that a decoded list re-encodes
// to a list that decodes to the same entries.
func FuzzDecodeFullEaInformation(f *testing.F) {
	for _, c := range decoderCases(f) {
		if c.name == "FullEaInformation" {
			f.Add(c.valid)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		eas, err := DecodeFullEaInformation(b)
		if err != nil {
			return
		}
		enc, overflow, err := AppendFullEaInformation(nil, eas, 1<<30)
		if err != nil {
			// Decoded names may be empty; the encoder refuses those.
			return
		}
		if overflow {
			t.Fatal("overflow without limit")
		}
		back, err := DecodeFullEaInformation(enc)
		if err != nil || len(back) != len(eas) {
			t.Fatalf("re-decode: %d entries, %v", len(back), err)
		}
		for i := range eas {
			if back[i].Name != eas[i].Name || !bytes.Equal(back[i].Value, eas[i].Value) || back[i].Flags != eas[i].Flags {
				t.Fatalf("entry %d differs", i)
			}
		}
	})
}

// FuzzDecodeDirEntries decodes arbitrary bytes as each directory class.
func FuzzDecodeDirEntries(f *testing.F) {
	for _, c := range decoderCases(f) {
		if len(c.name) > 11 && c.name[:11] == "DirEntries/" {
			f.Add(uint8(0), c.valid)
		}
	}
	classes := make([]uint8, 0, len(dirLayouts))
	for c := range dirLayouts {
		classes = append(classes, c)
	}
	f.Fuzz(func(t *testing.T, sel uint8, b []byte) {
		class := classes[int(sel)%len(classes)]
		es, err := DecodeDirEntries(b, class)
		if err == nil && len(es) == 0 {
			t.Fatal("success with no entries")
		}
	})
}

// FuzzUTF16 checks that valid UTF-8 round-trips and that arbitrary UTF-16
// decodes to valid UTF-8.
func FuzzUTF16(f *testing.F) {
	f.Add("hello", []byte{'h', 0})
	f.Add("😀é", []byte{0x3D, 0xD8, 0x00, 0xDE})
	f.Add("", []byte{0x00, 0xDC, 0x00, 0xD8})
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if utf8.ValidString(s) {
			enc := AppendUTF16(nil, s)
			if len(enc) != UTF16Len(s) {
				t.Fatalf("UTF16Len %d, encoded %d", UTF16Len(s), len(enc))
			}
			back, err := DecodeUTF16(enc)
			if err != nil || back != s {
				t.Fatalf("round trip %q -> %q, %v", s, back, err)
			}
		}
		d, err := DecodeUTF16(raw)
		if (err != nil) != (len(raw)%2 != 0) {
			t.Fatalf("error %v for length %d", err, len(raw))
		}
		if !utf8.ValidString(d) {
			t.Fatalf("invalid UTF-8 from % x", raw)
		}
	})
}

func FuzzDecodeNotifyInformation(f *testing.F) { fuzzDecoder(f, "NotifyInformation") }
func FuzzDecodePipeWaitRequest(f *testing.F)   { fuzzDecoder(f, "PipeWaitRequest") }
func FuzzDecodeReparseDataBuffer(f *testing.F) { fuzzDecoder(f, "ReparseDataBuffer") }
func FuzzDecodeSymlinkReparse(f *testing.F)    { fuzzDecoder(f, "SymlinkReparse") }
func FuzzDecodeFsObjectIDInformation(f *testing.F) {
	fuzzDecoder(f, "FsObjectIDInformation")
}
func FuzzDecodeCaseSensitiveInformation(f *testing.F) {
	fuzzDecoder(f, "CaseSensitiveInformation")
}
func FuzzDecodeCompressionState(f *testing.F) { fuzzDecoder(f, "CompressionState") }
func FuzzDecodeNetworkResiliencyRequest(f *testing.F) {
	fuzzDecoder(f, "NetworkResiliencyRequest")
}
func FuzzDecodePipeInformation(f *testing.F) { fuzzDecoder(f, "PipeInformation") }
