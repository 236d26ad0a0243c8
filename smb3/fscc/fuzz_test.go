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

// FuzzDirWriter writes entries with fuzzed names under a fuzzed limit; the
// output must respect the limit and decode back to the accepted entries.
func FuzzDirWriter(f *testing.F) {
	f.Add(uint8(0), "a.txt", "dir", uint16(200))
	f.Add(uint8(5), "😀", "", uint16(120))
	classes := make([]uint8, 0, len(dirLayouts))
	for c := range dirLayouts {
		classes = append(classes, c)
	}
	f.Fuzz(func(t *testing.T, sel uint8, n1, n2 string, max uint16) {
		class := classes[int(sel)%len(classes)]
		w, err := NewDirWriter([]byte{0xAB}, class, int(max))
		if err != nil {
			t.Fatal(err)
		}
		var added []string
		for _, n := range []string{n1, n2, n1} {
			fi := &FileInfo{Name: n, ShortName: n2}
			if !w.Add(fi) {
				break
			}
			added = append(added, string([]rune(n))) // invalid UTF-8 becomes U+FFFD
		}
		if w.Len() > int(max) {
			t.Fatalf("output %d over limit %d", w.Len(), max)
		}
		if len(added) == 0 {
			return
		}
		es, err := DecodeDirEntries(w.Bytes()[1:], class)
		if err != nil || len(es) != len(added) {
			t.Fatalf("decode: %d entries, %v", len(es), err)
		}
		for i := range es {
			if es[i].Name != added[i] {
				t.Fatalf("entry %d: %q, want %q", i, es[i].Name, added[i])
			}
		}
	})
}

// FuzzFit cuts stream lists at fuzzed limits: the result must be a valid
// chain no longer than the limit.
func FuzzFit(f *testing.F) {
	f.Add("::$DATA", ":a:$DATA", uint16(60))
	f.Fuzz(func(t *testing.T, a, b string, max uint16) {
		full, _ := AppendStreamInformation(nil, []StreamInfo{{Name: a}, {Name: b}, {Name: a}}, 1<<20)
		size, _ := FileInfoSize(FileStreamInformation)
		out, _, err := Fit(size, full, int(max))
		if err != nil {
			if int(max) >= size.MinOutput {
				t.Fatalf("Fit(%d): %v", max, err)
			}
			return
		}
		if len(out) > int(max) {
			t.Fatalf("%d bytes over %d", len(out), max)
		}
		for off := 0; off < len(out); {
			n := streamEntryLen(out[off:])
			if n < 0 || off+n > len(out) {
				t.Fatalf("entry at %d overruns", off)
			}
			next := int(u32(out[off:]))
			if next == 0 {
				if off+n != len(out) {
					t.Fatalf("last entry ends at %d of %d", off+n, len(out))
				}
				break
			}
			off += next
		}
	})
}

func FuzzDecodeQuotaInformation(f *testing.F) { fuzzDecoder(f, "QuotaInformation") }
func FuzzDecodeQueryQuotaInfo(f *testing.F)   { fuzzDecoder(f, "QueryQuotaInfoList") }
