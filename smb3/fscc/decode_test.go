package fscc

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// decoders maps a name to a decoder and a valid input, for the prefix and
// fuzz tests.
type decoderCase struct {
	name   string
	valid  []byte
	decode func([]byte) error
}

func decoderCases(t testing.TB) []decoderCase {
	bi := &BasicInformation{Creation: 1, Access: TimeSuspendUpdates, Write: TimeResumeUpdates, Attributes: FileAttributeHidden}
	ren := &RenameInformation{ReplaceIfExists: true, FileName: "x\\y"}
	renEx := &RenameInformation{Flags: FileRenameReplaceIfExists | FileRenamePosixSemantics, FileName: "z"}
	eas, _, _ := AppendFullEaInformation(nil, []FullEa{{Name: "a", Value: []byte{1}}, {Name: "bb", Value: []byte{2, 3}}}, 1<<20)
	getEas, _ := AppendGetEaInformation(nil, []string{"a", "longer.name"})
	vni := &ValidateNegotiateInfoRequest{Capabilities: 1, Dialects: []uint16{0x202, 0x311}}
	cc := &CopychunkCopy{Chunks: []Chunk{{1, 2, 3}}}
	nics, _ := AppendNetworkInterfaceInfo(nil, []NetworkInterface{
		{IfIndex: 1, Addr: netip.MustParseAddr("10.0.0.1")},
		{IfIndex: 2, Addr: netip.MustParseAddr("::1")},
	})
	zd := &ZeroDataInformation{FileOffset: 10, BeyondFinalZero: 20}
	dup := &DuplicateExtentsData{SourcePersistent: 1, SourceVolatile: 2, SourceFileOffset: 3, TargetFileOffset: 4, ByteCount: 5}
	fsc := &FsControlInformation{DefaultQuotaLimit: 1}
	fso := &FsObjectIDInformation{ObjectID: [16]byte{1}}
	dirs := func(class uint8) []byte {
		w, err := NewDirWriter(nil, class, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		w.Add(testFileInfo())
		w.Add(&FileInfo{Name: "second-é-😀", ShortName: "SECOND~1"})
		return w.Bytes()
	}
	notify, _ := AppendNotifyInformation(nil, []Notify{{FileActionRenamedOldName, "a"}, {FileActionRenamedNewName, "bcd"}}, 1<<10)
	symlink, _ := AppendSymlinkReparse(nil, &SymlinkReparse{SubstituteName: `\??\C:\x`, PrintName: `C:\x`})
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0} // S-1-5-18
	quotas, _ := AppendQuotaInformation(nil, []Quota{{QuotaUsed: 1, SID: sid}, {QuotaLimit: -1, SID: sid[:9]}}, 1<<10)
	errOnly := func(f func([]byte) error) func([]byte) error { return f }
	cases := []decoderCase{
		{"BasicInformation", bi.Append(nil), func(b []byte) error { _, err := DecodeBasicInformation(b); return err }},
		{"RenameInformation", ren.Append(nil, false), func(b []byte) error { _, err := DecodeRenameInformation(b, false); return err }},
		{"RenameInformationEx", renEx.Append(nil, true), func(b []byte) error { _, err := DecodeRenameInformation(b, true); return err }},
		{"DispositionInformation", []byte{1}, func(b []byte) error { _, err := DecodeDispositionInformation(b); return err }},
		{"DispositionInformationEx", []byte{3, 0, 0, 0}, func(b []byte) error { _, err := DecodeDispositionInformationEx(b); return err }},
		{"PositionInformation", le64(nil, 4096), func(b []byte) error { _, err := DecodePositionInformation(b); return err }},
		{"ModeInformation", le32(nil, FileWriteThrough), func(b []byte) error { _, err := DecodeModeInformation(b); return err }},
		{"AllocationInformation", le64(nil, 1<<20), func(b []byte) error { _, err := DecodeAllocationInformation(b); return err }},
		{"EndOfFileInformation", le64(nil, 7), func(b []byte) error { _, err := DecodeEndOfFileInformation(b); return err }},
		{"ValidDataLengthInformation", le64(nil, 7), func(b []byte) error { _, err := DecodeValidDataLengthInformation(b); return err }},
		{"ShortNameInformation", AppendNameInformation(nil, "AB~1.TXT"), func(b []byte) error { _, err := DecodeShortNameInformation(b); return err }},
		{"CaseSensitiveInformation", le32(nil, 1), func(b []byte) error { _, err := DecodeCaseSensitiveInformation(b); return err }},
		{"FullEaInformation", eas, func(b []byte) error { _, err := DecodeFullEaInformation(b); return err }},
		{"GetEaInformation", getEas, func(b []byte) error { _, err := DecodeGetEaInformation(b); return err }},
		{"FsLabelInformation", AppendNameInformation(nil, "label"), func(b []byte) error { _, err := DecodeFsLabelInformation(b); return err }},
		{"FsControlInformation", fsc.Append(nil), func(b []byte) error { _, err := DecodeFsControlInformation(b); return err }},
		{"FsObjectIDInformation", fso.Append(nil), func(b []byte) error { _, err := DecodeFsObjectIDInformation(b); return err }},
		{"ValidateNegotiateInfo", vni.Append(nil), func(b []byte) error { _, err := DecodeValidateNegotiateInfoRequest(b); return err }},
		{"CopychunkCopy", cc.Append(nil), func(b []byte) error { _, err := DecodeCopychunkCopy(b, 256); return err }},
		{"NetworkInterfaceInfo", nics, func(b []byte) error { _, err := DecodeNetworkInterfaceInfo(b); return err }},
		{"ZeroDataInformation", zd.Append(nil), func(b []byte) error { _, err := DecodeZeroDataInformation(b); return err }},
		{"AllocatedRange", (&lb{}).u64(0).u64(100).b, func(b []byte) error { _, err := DecodeAllocatedRange(b); return err }},
		{"CompressionState", []byte{2, 0}, func(b []byte) error { _, err := DecodeCompressionState(b); return err }},
		{"FileLevelTrim", (&lb{}).u32(0).u32(1).u64(0).u64(4096).b, func(b []byte) error { _, err := DecodeFileLevelTrim(b); return err }},
		{"DuplicateExtentsData", dup.Append(nil), func(b []byte) error { _, err := DecodeDuplicateExtentsData(b); return err }},
		{"NetworkResiliencyRequest", (&lb{}).u32(1000).u32(0).b, func(b []byte) error { _, err := DecodeNetworkResiliencyRequest(b); return err }},
		{"NotifyInformation", notify, func(b []byte) error { _, err := DecodeNotifyInformation(b); return err }},
		{"PipeInformation", (&PipeInformation{ReadMode: 1}).Append(nil), func(b []byte) error { _, err := DecodePipeInformation(b); return err }},
		{"PipeWaitRequest", (&PipeWaitRequest{Timeout: -1, TimeoutSpecified: true, Name: "srvsvc"}).Append(nil), func(b []byte) error { _, err := DecodePipeWaitRequest(b); return err }},
		{"ReparseDataBuffer", symlink, func(b []byte) error { _, err := DecodeReparseDataBuffer(b); return err }},
		{"SymlinkReparse", symlink[8:], func(b []byte) error { _, err := DecodeSymlinkReparse(b); return err }},
		{"QuotaInformation", quotas, func(b []byte) error { _, err := DecodeQuotaInformation(b); return err }},
		{"QueryQuotaInfoList", (&QueryQuotaInfo{SIDs: [][]byte{sid, sid[:9]}}).Append(nil), func(b []byte) error { _, err := DecodeQueryQuotaInfo(b); return err }},
		{"QueryQuotaInfoStart", (&QueryQuotaInfo{StartSID: sid}).Append(nil), func(b []byte) error { _, err := DecodeQueryQuotaInfo(b); return err }},
		{"UTF16", []byte{'a', 0}, errOnly(func(b []byte) error {
			if len(b) == 0 {
				return errors.New("empty") // the prefix test needs a failure; empty is valid UTF-16
			}
			_, err := DecodeUTF16(b)
			return err
		})},
	}
	for class := range dirLayouts {
		cases = append(cases, decoderCase{"DirEntries/" + FileInfoClassName(class), dirs(class), func(b []byte) error {
			_, err := DecodeDirEntries(b, class)
			return err
		}})
	}
	return cases
}

func TestTruncatedPrefixesRejected(t *testing.T) {
	for _, c := range decoderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			checkPrefixes(t, c.name, c.valid, c.decode)
			// Short input reports io.ErrUnexpectedEOF.
			if c.name != "UTF16" {
				if err := c.decode(nil); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("nil input: %v, want io.ErrUnexpectedEOF", err)
				}
			}
		})
	}
}

func TestFixedSizes(t *testing.T) {
	fi := testFileInfo()
	fi.Name = ""
	fi.ShortName = ""
	sizes := []struct {
		name string
		got  int
		want int
	}{
		{"FileBasicInformation", len(AppendBasicInformation(nil, fi)), 40},
		{"FileStandardInformation", len(AppendStandardInformation(nil, fi)), 24},
		{"FileInternalInformation", len(AppendInternalInformation(nil, fi)), 8},
		{"FileEaInformation", len(AppendEaInformation(nil, fi)), 4},
		{"FileNetworkOpenInformation", len(AppendNetworkOpenInformation(nil, fi)), 56},
		{"FileAttributeTagInformation", len(AppendAttributeTagInformation(nil, fi)), 8},
		{"FileIdInformation", len(AppendIDInformation(nil, fi)), 24},
		{"FileStatInformation", len(AppendStatInformation(nil, fi)), 72},
		{"FileStatLxInformation", len(AppendStatLxInformation(nil, fi, &LxInfo{})), 96},
		{"FileAllInformation (empty name)", len(AppendAllInformation(nil, fi, &OpenInfo{})), 100},
		{"FileCompressionInformation", len((&CompressionInformation{}).Append(nil)), 16},
		{"FileFsVolumeInformation (no label)", len((&FsVolumeInformation{}).Append(nil)), 18},
		{"FileFsSizeInformation", len((&FsSizeInformation{}).Append(nil)), 24},
		{"FileFsDeviceInformation", len((&FsDeviceInformation{}).Append(nil)), 8},
		{"FileFsAttributeInformation (no name)", len((&FsAttributeInformation{}).Append(nil)), 12},
		{"FileFsControlInformation", len((&FsControlInformation{}).Append(nil)), 48},
		{"FileFsFullSizeInformation", len((&FsFullSizeInformation{}).Append(nil)), 32},
		{"FileFsObjectIdInformation", len((&FsObjectIDInformation{}).Append(nil)), 64},
		{"FileFsSectorSizeInformation", len((&FsSectorSizeInformation{}).Append(nil)), 28},
		{"VALIDATE_NEGOTIATE_INFO response", len((&ValidateNegotiateInfoResponse{}).Append(nil)), 24},
		{"SRV_COPYCHUNK_RESPONSE", len((&CopychunkResponse{}).Append(nil)), 12},
		{"FILE_OBJECTID_BUFFER", len((&ObjectIDBuffer{}).Append(nil)), 64},
		{"DUPLICATE_EXTENTS_DATA", len((&DuplicateExtentsData{}).Append(nil)), 40},
		{"SRV_REQUEST_RESUME_KEY", len(AppendResumeKeyResponse(nil, [24]byte{})), 32},
		{"RenameInformation (empty name)", len((&RenameInformation{}).Append(nil, false)), 20},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s: %d bytes, want %d", s.name, s.got, s.want)
		}
	}
	// The size table agrees with the encoders for every fixed class.
	for class, s := range fileInfoSizes {
		b, err := AppendFileInfo(nil, class, fi, nil)
		if err != nil {
			continue
		}
		if len(b) != s.Fixed {
			t.Errorf("class %s: encoded %d, table Fixed %d", FileInfoClassName(class), len(b), s.Fixed)
		}
	}
	wantDir := map[uint8]int{
		FileDirectoryInformation: 64, FileFullDirectoryInformation: 68, FileBothDirectoryInformation: 94,
		FileNamesInformation: 12, FileIDBothDirectoryInformation: 104, FileIDFullDirectoryInformation: 80,
		FileIDExtdDirectoryInformation: 88, FileIDExtdBothDirectoryInformation: 114,
		FileID64ExtdDirectoryInformation: 80, FileID64ExtdBothDirectoryInformation: 106,
		FileIDAllExtdDirectoryInformation: 96, FileIDAllExtdBothDirectoryInformation: 122,
	}
	for class, want := range wantDir {
		got, err := DirEntryFixedSize(class)
		if err != nil || got != want {
			t.Errorf("DirEntryFixedSize(%d) = %d, %v; want %d", class, got, err, want)
		}
		b, _ := AppendDirEntry(nil, class, fi)
		if len(b) != want {
			t.Errorf("AppendDirEntry(%d) with empty name = %d bytes, want %d", class, len(b), want)
		}
	}
	if _, err := AppendDirEntry(nil, FileBasicInformation, fi); !errors.Is(err, ErrInvalidInfoClass) {
		t.Errorf("AppendDirEntry(basic) err = %v", err)
	}
	if _, err := NewDirWriter(nil, 200, 100); !errors.Is(err, ErrInvalidInfoClass) {
		t.Errorf("NewDirWriter(200) err = %v", err)
	}
	if _, err := AppendFileInfo(nil, FileStreamInformation, fi, nil); !errors.Is(err, ErrInvalidInfoClass) {
		t.Errorf("AppendFileInfo(stream) err = %v", err)
	}
}

func TestDirEntriesRoundTrip(t *testing.T) {
	files := []*FileInfo{
		testFileInfo(),
		{Name: ".", Directory: true, FileID: 1},
		{Name: "ünï-😀.dat", ShortName: "UNI~1.DAT", FileID: 7, EndOfFile: 1, EASize: 12,
			FileID128: [16]byte{15: 0xAA}, Attributes: FileAttributeReparsePoint, ReparseTag: IOReparseTagNFS},
	}
	for class, l := range dirLayouts {
		w, _ := NewDirWriter(nil, class, 1<<20)
		for _, f := range files {
			if !w.Add(f) {
				t.Fatalf("class %d: Add refused", class)
			}
		}
		es, err := DecodeDirEntries(w.Bytes(), class)
		if err != nil || len(es) != len(files) {
			t.Fatalf("class %d: decode %d entries, %v", class, len(es), err)
		}
		off := 0
		for i, e := range es {
			f := files[i]
			if off%8 != 0 {
				t.Errorf("class %d entry %d at unaligned offset %d", class, i, off)
			}
			off += int(e.NextEntryOffset)
			if e.Name != f.Name {
				t.Errorf("class %d entry %d: name %q", class, i, e.Name)
			}
			if class == FileNamesInformation {
				continue
			}
			if e.Attributes != f.attributes() || e.Creation != f.Creation || e.EndOfFile != f.EndOfFile {
				t.Errorf("class %d entry %d: %+v", class, i, e)
			}
			if l.short >= 0 && e.ShortName != f.ShortName {
				t.Errorf("class %d entry %d: short name %q", class, i, e.ShortName)
			}
			if l.id64 >= 0 && e.FileID != f.FileID {
				t.Errorf("class %d entry %d: FileID %#x", class, i, e.FileID)
			}
			if l.id128 >= 0 && e.FileID128 != f.id128() {
				t.Errorf("class %d entry %d: FileID128 %x", class, i, e.FileID128)
			}
			wantEA := f.EASize
			if l.eaIsTag && f.Attributes&FileAttributeReparsePoint != 0 {
				wantEA = f.ReparseTag
			}
			if l.ea >= 0 && e.EASize != wantEA {
				t.Errorf("class %d entry %d: EaSize %#x, want %#x", class, i, e.EASize, wantEA)
			}
			if l.tag >= 0 && e.ReparseTag != map[bool]uint32{true: f.ReparseTag}[f.Attributes&FileAttributeReparsePoint != 0] {
				t.Errorf("class %d entry %d: ReparsePointTag %#x", class, i, e.ReparseTag)
			}
		}
	}
}

func TestDirWriterLimitExact(t *testing.T) {
	f := &FileInfo{Name: "abc"} // 64 + 6 = 70 bytes, next at 72
	w, _ := NewDirWriter(nil, FileDirectoryInformation, 70)
	if !w.Add(f) {
		t.Fatal("exact fit refused")
	}
	if w.Add(f) {
		t.Fatal("overflow accepted")
	}
	w, _ = NewDirWriter(nil, FileDirectoryInformation, 142)
	if !w.Add(f) || !w.Add(f) || w.Len() != 142 {
		t.Fatalf("two entries in 142: len %d", w.Len())
	}
	w, _ = NewDirWriter(nil, FileDirectoryInformation, 69)
	if w.Add(f) || w.Count() != 0 || w.Len() != 0 {
		t.Fatal("first entry over limit accepted")
	}
}

func TestDirEntriesBadNext(t *testing.T) {
	w, _ := NewDirWriter(nil, FileDirectoryInformation, 1<<10)
	w.Add(&FileInfo{Name: "abc"})
	w.Add(&FileInfo{Name: "d"})
	b := w.Bytes()
	for _, next := range []uint32{8, 70, 71, 68} {
		c := append([]byte(nil), b...)
		le := le32(nil, next)
		copy(c, le)
		if _, err := DecodeDirEntries(c, FileDirectoryInformation); !errors.Is(err, ErrMalformed) {
			t.Errorf("NextEntryOffset %d: err %v", next, err)
		}
	}
	c := append([]byte(nil), b...)
	copy(c, le32(nil, 1<<31))
	if _, err := DecodeDirEntries(c, FileDirectoryInformation); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("huge NextEntryOffset: %v", err)
	}
}

func TestFullEaBadChains(t *testing.T) {
	eas, _, _ := AppendFullEaInformation(nil, []FullEa{{Name: "a", Value: []byte{1}}, {Name: "b"}}, 1<<10)
	for _, next := range []uint32{1, 4, 8} { // inside the 11-byte first entry
		c := append([]byte(nil), eas...)
		copy(c, le32(nil, next))
		if _, err := DecodeFullEaInformation(c); !errors.Is(err, ErrMalformed) {
			t.Errorf("NextEntryOffset %d: %v", next, err)
		}
	}
	c := append([]byte(nil), eas...)
	c[FullEaInformationSize+1] = 'x' // overwrite the NUL after the name
	if _, err := DecodeFullEaInformation(c); !errors.Is(err, ErrMalformed) {
		t.Errorf("missing NUL: %v", err)
	}
	if _, _, err := AppendFullEaInformation(nil, []FullEa{{Name: strings.Repeat("n", 256)}}, 1<<20); err == nil {
		t.Error("256-byte name accepted")
	}
}

func TestSetInfoValues(t *testing.T) {
	b := (&BasicInformation{Creation: 0xFFFFFFFFFFFFFFFD}).Append(nil) // -3
	if _, err := DecodeBasicInformation(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("time -3: %v", err)
	}
	for _, v := range []uint64{TimeNoChange, TimeSuspendUpdates, TimeResumeUpdates} {
		bi, err := DecodeBasicInformation((&BasicInformation{Write: v}).Append(nil))
		if err != nil || bi.Write != v {
			t.Errorf("time %#x: %+v %v", v, bi, err)
		}
	}
	if _, err := DecodeEndOfFileInformation(le64(nil, 1<<63)); !errors.Is(err, ErrMalformed) {
		t.Errorf("negative EOF: %v", err)
	}
	if _, err := DecodeModeInformation(le32(nil, 0x40)); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad mode: %v", err)
	}
	if d, err := DecodeDispositionInformation([]byte{0}); err != nil || d {
		t.Errorf("disposition 0: %v %v", d, err)
	}
	if _, err := DecodeRenameInformation((&RenameInformation{}).Append(nil, false), false); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty rename target: %v", err)
	}
	odd := append((&lb{}).zero(16).u32(3).b, 'a', 0, 'b')
	if _, err := DecodeRenameInformation(odd, false); !errors.Is(err, ErrMalformed) {
		t.Errorf("odd name length: %v", err)
	}
	ri, err := DecodeRenameInformation((&RenameInformation{Flags: FileRenameReplaceIfExists, FileName: "n"}).Append(nil, true), true)
	if err != nil || !ri.ReplaceIfExists || ri.Flags != FileRenameReplaceIfExists {
		t.Errorf("rename ex: %+v %v", ri, err)
	}
	if n, ok := SetInfoMinSize(FileRenameInformation); !ok || n != 20 {
		t.Errorf("SetInfoMinSize(rename) = %d %v", n, ok)
	}
}

func TestFsctlValues(t *testing.T) {
	if _, err := DecodeZeroDataInformation((&ZeroDataInformation{FileOffset: 5, BeyondFinalZero: 4}).Append(nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("reversed zero range: %v", err)
	}
	if _, err := DecodeAllocatedRange((&lb{}).u64(1 << 62).u64(1 << 62).b); !errors.Is(err, ErrMalformed) {
		t.Errorf("overflowing range: %v", err)
	}
	if _, err := DecodeValidateNegotiateInfoRequest((&lb{}).zero(22).u16(0).b); !errors.Is(err, ErrMalformed) {
		t.Errorf("zero dialects: %v", err)
	}
	if _, err := DecodeCompressionState([]byte{3, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("compression 3: %v", err)
	}
	rs := []AllocatedRange{{0, 4096}, {8192, 4096}}
	b, overflow := AppendAllocatedRanges(nil, rs, 20)
	if !overflow || len(b) != 16 {
		t.Errorf("ranges in 20 bytes: %d %v", len(b), overflow)
	}
	b, overflow = AppendAllocatedRanges(nil, rs, 32)
	back, err := DecodeAllocatedRanges(b)
	if overflow || err != nil || len(back) != 2 || back[1] != rs[1] {
		t.Errorf("ranges: %v %v %v", back, overflow, err)
	}
	if _, err := AppendNetworkInterfaceInfo(nil, []NetworkInterface{{IfIndex: 1}}); err == nil {
		t.Error("interface without address accepted")
	}
	// An IPv4-mapped address is sent as IPv4.
	b, _ = AppendNetworkInterfaceInfo(nil, []NetworkInterface{{Addr: netip.MustParseAddr("::ffff:10.1.2.3")}})
	if b[24] != AfInet || b[28] != 10 || b[31] != 3 {
		t.Errorf("mapped address encoded as % x", b[24:32])
	}
	if !DecodeSetSparse(nil) || DecodeSetSparse([]byte{0}) {
		t.Error("DecodeSetSparse")
	}
	regs := AppendFileRegionOutput(nil, []FileRegion{{0, 10, 1}, {10, 10, 1}}, 16+24)
	if len(regs) != 40 || u32(regs[4:]) != 2 || u32(regs[8:]) != 1 {
		t.Errorf("region output % x", regs)
	}
}

func TestStreamInformation(t *testing.T) {
	ss := []StreamInfo{{Name: "::$DATA", Size: 10, AllocationSize: 4096}, {Name: ":x:$DATA", Size: 1, AllocationSize: 8}}
	w := &lb{}
	// Entry 1: 24 + 14 = 38, padded to 40.
	w.u32(40).u32(14).u64(10).u64(4096).ascii16("::$DATA").zero(2)
	// Entry 2
	w.u32(0).u32(16).u64(1).u64(8).ascii16(":x:$DATA")
	got, overflow := AppendStreamInformation(nil, ss, 1<<10)
	if overflow {
		t.Fatal("overflow")
	}
	checkBytes(t, "FILE_STREAM_INFORMATION", got, w.b)
	got, overflow = AppendStreamInformation(nil, ss, 79)
	if !overflow || len(got) != 38 {
		t.Errorf("limited: %d %v", len(got), overflow)
	}
}

func TestUTF16(t *testing.T) {
	cases := []struct {
		s    string
		want []byte
	}{
		{"", nil},
		{"A", []byte{0x41, 0}},
		{"é", []byte{0xE9, 0}},
		{"€", []byte{0xAC, 0x20}},
		{"😀", []byte{0x3D, 0xD8, 0x00, 0xDE}}, // U+1F600 = D83D DE00
	}
	for _, c := range cases {
		got := AppendUTF16(nil, c.s)
		checkBytes(t, c.s, got, c.want)
		if UTF16Len(c.s) != len(c.want) {
			t.Errorf("UTF16Len(%q) = %d", c.s, UTF16Len(c.s))
		}
		back, err := DecodeUTF16(got)
		if err != nil || back != c.s {
			t.Errorf("DecodeUTF16(%q) = %q, %v", c.s, back, err)
		}
	}
	// Unpaired surrogates decode to U+FFFD; a valid pair after a lone high
	// surrogate still decodes.
	bad := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x3D, 0xD8}, "\uFFFD"},
		{[]byte{0x00, 0xDE, 'a', 0}, "\uFFFDa"},
		{[]byte{0x3D, 0xD8, 'a', 0}, "\uFFFDa"},
		{[]byte{0x3D, 0xD8, 0x3D, 0xD8, 0x00, 0xDE}, "\uFFFD😀"},
	}
	for _, c := range bad {
		got, err := DecodeUTF16(c.in)
		if err != nil || got != c.want {
			t.Errorf("DecodeUTF16(% x) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := DecodeUTF16([]byte{'a'}); !errors.Is(err, ErrMalformed) {
		t.Errorf("odd length: %v", err)
	}
	// Invalid UTF-8 input is encoded as U+FFFD.
	if got := AppendUTF16(nil, "\xff"); string(got) != "\xfd\xff" {
		t.Errorf("invalid UTF-8 -> % x", got)
	}
}

func TestFiletime(t *testing.T) {
	if Filetime(time.Time{}) != 0 || !TimeFromFiletime(0).IsZero() {
		t.Error("zero mapping")
	}
	unix := time.Unix(0, 0)
	if Filetime(unix) != 116444736000000000 {
		t.Errorf("Filetime(1970) = %d", Filetime(unix))
	}
	// 2024-01-02 03:04:05.1234567 UTC
	tm := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	ft := Filetime(tm)
	if ft != 133486382451234567 { // (1704164645 s * 1e7) + 116444736000000000 + 1234567
		t.Errorf("Filetime(%v) = %d", tm, ft)
	}
	if back := TimeFromFiletime(ft); !back.Equal(tm) {
		t.Errorf("round trip %v", back)
	}
	if Filetime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) != 1 {
		t.Error("pre-1601 not clamped to 1")
	}
	if !TimeFromFiletime(TimeSuspendUpdates).IsZero() {
		t.Error("-1 not zero")
	}
	_ = utf8.RuneError
}

func TestFitEntries(t *testing.T) {
	ss := []StreamInfo{{Name: "::$DATA", Size: 10}, {Name: ":x:$DATA", Size: 1}, {Name: ":y:$DATA"}}
	full, _ := AppendStreamInformation(nil, ss, 1<<20)
	want2, _ := AppendStreamInformation(nil, ss[:2], 1<<20)
	size, _ := FileInfoSize(FileStreamInformation)
	// Entries at 0 (38 bytes), 40 (40 bytes), 80 (40 bytes): 119 bytes fit two.
	out, overflow, err := Fit(size, append([]byte(nil), full...), 119)
	if err != nil || !overflow {
		t.Fatalf("Fit(119): %v %v", overflow, err)
	}
	checkBytes(t, "two streams", out, want2)
	if out, overflow, err := Fit(size, append([]byte(nil), full...), 37); err != nil || !overflow || len(out) != 0 {
		t.Errorf("Fit(37): %d %v %v", len(out), overflow, err)
	}
	if _, _, err := Fit(size, full, 31); !errors.Is(err, ErrInfoLengthMismatch) {
		t.Errorf("Fit(31): %v", err)
	}
	if out, overflow, err := Fit(size, full, len(full)); err != nil || overflow || len(out) != len(full) {
		t.Errorf("Fit(all): %d %v %v", len(out), overflow, err)
	}
	eas := []FullEa{{Name: "a", Value: []byte("12345")}, {Name: "b"}}
	fullEa, _, _ := AppendFullEaInformation(nil, eas, 1<<20)
	one, _, _ := AppendFullEaInformation(nil, eas[:1], 1<<20)
	esize, _ := FileInfoSize(FileFullEaInformation)
	out, overflow, err = Fit(esize, fullEa, len(fullEa)-1)
	if err != nil || !overflow {
		t.Fatalf("EA fit: %v %v", overflow, err)
	}
	checkBytes(t, "one EA", out, one)
	// A fixed-size class never truncates.
	bsize, _ := FileInfoSize(FileBasicInformation)
	if _, _, err := Fit(bsize, make([]byte, 40), 39); !errors.Is(err, ErrInfoLengthMismatch) {
		t.Errorf("basic in 39: %v", err)
	}
}

func TestAttributeMasks(t *testing.T) {
	if FileAttributeValidSetFlags != 0x31A7 {
		t.Errorf("FileAttributeValidSetFlags = %#x", FileAttributeValidSetFlags)
	}
	fi := &FileInfo{Attributes: FileAttributeNormal | FileAttributeHidden}
	if got := fi.attributes(); got != FileAttributeHidden {
		t.Errorf("NORMAL with HIDDEN -> %#x", got)
	}
	fi = &FileInfo{Directory: true}
	if got := fi.attributes(); got != FileAttributeDirectory {
		t.Errorf("directory -> %#x", got)
	}
	if got := (&FileInfo{}).attributes(); got != FileAttributeNormal {
		t.Errorf("none -> %#x", got)
	}
}

func TestErrorType(t *testing.T) {
	_, err := DecodeRenameInformation([]byte{1, 2, 3}, false)
	var fe *Error
	if !errors.As(err, &fe) || fe.Struct != "FILE_RENAME_INFORMATION" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %#v", err)
	}
	if err.Error() != "fscc: FILE_RENAME_INFORMATION: need 20 bytes, have 3: unexpected EOF" {
		t.Errorf("message %q", err.Error())
	}
}
