package fscc

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGoldenBasicInformation(t *testing.T) {
	fi := testFileInfo()
	want := (&lb{}).raw(
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xD9, 0x01, // CreationTime
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xD9, 0x01, // LastAccessTime
		0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0xD9, 0x01, // LastWriteTime
		0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xD9, 0x01, // ChangeTime
		0x20, 0x00, 0x00, 0x00, // FileAttributes: ARCHIVE
		0x00, 0x00, 0x00, 0x00, // Reserved
	).b
	got := AppendBasicInformation(nil, fi)
	checkBytes(t, "FileBasicInformation", got, want)
	if len(got) != 40 || BasicInformationSize != 40 {
		t.Errorf("size %d, want 40", len(got))
	}
	// The SET_INFO decoder reads the same bytes back.
	bi, err := DecodeBasicInformation(want)
	if err != nil || bi.Creation != fi.Creation || bi.Change != fi.Change || bi.Attributes != FileAttributeArchive {
		t.Errorf("DecodeBasicInformation = %+v, %v", bi, err)
	}
}

func TestGoldenStandardInformation(t *testing.T) {
	fi := testFileInfo()
	fi.DeletePending = true
	want := (&lb{}).raw(
		0x00, 0x20, 0, 0, 0, 0, 0, 0, // AllocationSize 8192
		0x88, 0x13, 0, 0, 0, 0, 0, 0, // EndOfFile 5000
		0x01, 0x00, 0x00, 0x00, // NumberOfLinks 1
		0x01,       // DeletePending
		0x00,       // Directory
		0x00, 0x00, // Reserved
	).b
	checkBytes(t, "FileStandardInformation", AppendStandardInformation(nil, fi), want)
}

func TestGoldenAllInformation(t *testing.T) {
	fi := testFileInfo()
	fi.Name = `\dir\f`
	oi := &OpenInfo{AccessFlags: 0x0012019F, CurrentByteOffset: 0x1234, Mode: FileSynchronousIONonalert, AlignmentRequirement: 0}
	w := &lb{}
	// FILE_BASIC_INFORMATION
	w.u64(0x01D9000000000001).u64(0x01D9000000000002).u64(0x01D9000000000003).u64(0x01D9000000000004)
	w.u32(0x20).u32(0)
	// FILE_STANDARD_INFORMATION
	w.u64(8192).u64(5000).u32(1).raw(0, 0).u16(0)
	// FILE_INTERNAL_INFORMATION
	w.u64(0x0011223344556677)
	// FILE_EA_INFORMATION
	w.u32(0)
	// FILE_ACCESS_INFORMATION
	w.u32(0x0012019F)
	// FILE_POSITION_INFORMATION
	w.u64(0x1234)
	// FILE_MODE_INFORMATION
	w.u32(0x20)
	// FILE_ALIGNMENT_INFORMATION
	w.u32(0)
	if len(w.b) != 96 {
		t.Fatalf("test assembled %d bytes before the name", len(w.b))
	}
	// FILE_NAME_INFORMATION: FileNameLength 12, FileName
	w.u32(12).ascii16(`\dir\f`)
	got := AppendAllInformation(nil, fi, oi)
	checkBytes(t, "FileAllInformation", got, w.b)
	if len(got) != AllInformationSize+12 {
		t.Errorf("len %d, want 100+12", len(got))
	}
	// Truncation: a 104-byte output buffer carries 4 bytes of the name and
	// BUFFER_OVERFLOW; 103 bytes is an info length mismatch.
	s, ok := FileInfoSize(FileAllInformation)
	if !ok || s.MinOutput != 104 {
		t.Fatalf("FileInfoSize(FileAllInformation) = %+v", s)
	}
	out, overflow, err := Fit(s, got, 104)
	if err != nil || !overflow || len(out) != 104 {
		t.Errorf("Fit(104) = %d bytes, %v, %v", len(out), overflow, err)
	}
	if _, _, err := Fit(s, got, 103); err == nil {
		t.Error("Fit(103) accepted")
	}
}

func TestGoldenIDBothDirectoryChain(t *testing.T) {
	f1 := testFileInfo() // "a.txt", short "A.TXT"
	f2 := &FileInfo{
		Name: "dir", FileID: 42, Directory: true,
		Creation: 1, Access: 2, Write: 3, Change: 4,
		Attributes: FileAttributeReparsePoint, ReparseTag: IOReparseTagSymlink, EASize: 99,
	}
	w := &lb{}
	// Entry 1 at offset 0: 104 + 10 name bytes = 114, padded to 120.
	w.u32(120)                                                                                        // NextEntryOffset
	w.u32(0)                                                                                          // FileIndex
	w.u64(0x01D9000000000001).u64(0x01D9000000000002).u64(0x01D9000000000003).u64(0x01D9000000000004) // times
	w.u64(5000)                                                                                       // EndOfFile
	w.u64(8192)                                                                                       // AllocationSize
	w.u32(0x20)                                                                                       // FileAttributes
	w.u32(10)                                                                                         // FileNameLength
	w.u32(0)                                                                                          // EaSize
	w.raw(10)                                                                                         // ShortNameLength
	w.raw(0)                                                                                          // Reserved1
	w.ascii16("A.TXT").zero(24 - 10)                                                                  // ShortName[24]
	w.u16(0)                                                                                          // Reserved2
	w.u64(0x0011223344556677)                                                                         // FileId
	w.ascii16("a.txt")                                                                                // FileName
	w.zero(6)                                                                                         // padding to 120
	// Entry 2 at offset 120: last, no trailing padding.
	w.u32(0).u32(0)
	w.u64(1).u64(2).u64(3).u64(4)
	w.u64(0).u64(0)
	w.u32(0x10 | 0x400) // DIRECTORY | REPARSE_POINT
	w.u32(6)
	w.u32(0xA000000C) // EaSize carries the reparse tag (MS-FSCC 2.4 FILE_ID_BOTH_DIR_INFORMATION)
	w.raw(0, 0).zero(24).u16(0)
	w.u64(42)
	w.ascii16("dir")

	dw, err := NewDirWriter(nil, FileIDBothDirectoryInformation, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if !dw.Add(f1) || !dw.Add(f2) {
		t.Fatal("Add refused an entry")
	}
	checkBytes(t, "FileIdBothDirectoryInformation chain", dw.Bytes(), w.b)
	if dw.Count() != 2 || dw.Len() != 230 {
		t.Errorf("Count %d Len %d", dw.Count(), dw.Len())
	}

	// The same two entries in a 229-byte buffer: the second is refused and
	// the first keeps NextEntryOffset 0.
	dw, _ = NewDirWriter([]byte{0xEE}, FileIDBothDirectoryInformation, 229)
	if !dw.Add(f1) || dw.Add(f2) {
		t.Fatal("limit not applied")
	}
	got := dw.Bytes()
	checkBytes(t, "limited chain", got[1:], append([]byte{0, 0, 0, 0}, w.b[4:114]...))
	if got[0] != 0xEE {
		t.Error("prefix overwritten")
	}

	es, err := DecodeDirEntries(w.b, FileIDBothDirectoryInformation)
	if err != nil || len(es) != 2 || es[0].Name != "a.txt" || es[0].ShortName != "A.TXT" || es[1].Name != "dir" || es[1].FileID != 42 {
		t.Errorf("DecodeDirEntries = %+v, %v", es, err)
	}
}

func TestGoldenFsAttributeInformation(t *testing.T) {
	a := &FsAttributeInformation{
		FileSystemAttributes:       FileCaseSensitiveSearch | FileCasePreservedNames | FileUnicodeOnDisk | FilePersistentACLs | FileSupportsSparseFiles | FileNamedStreams | FileSupportsExtendedAttributes,
		MaximumComponentNameLength: 255,
		FileSystemName:             "NTFS",
	}
	want := (&lb{}).raw(
		0x4F, 0x00, 0x84, 0x00, // FileSystemAttributes 0x0084004F
		0xFF, 0x00, 0x00, 0x00, // MaximumComponentNameLength 255
		0x08, 0x00, 0x00, 0x00, // FileSystemNameLength 8
		'N', 0, 'T', 0, 'F', 0, 'S', 0, // FileSystemName
	).b
	checkBytes(t, "FileFsAttributeInformation", a.Append(nil), want)
	if a.Len() != len(want) {
		t.Errorf("Len %d", a.Len())
	}
	s, _ := FsInfoSize(FileFsAttributeInformation)
	out, overflow, err := Fit(s, want, 16)
	if err != nil || !overflow || len(out) != 16 {
		t.Errorf("Fit(16) = %d, %v, %v", len(out), overflow, err)
	}
	if _, _, err := Fit(s, want, 15); !errors.Is(err, ErrInfoLengthMismatch) {
		t.Errorf("Fit(15) = %v", err)
	}
	if out, overflow, err := Fit(s, want, 100); err != nil || overflow || len(out) != 20 {
		t.Errorf("Fit(100) = %d, %v, %v", len(out), overflow, err)
	}
}

func TestGoldenFsVolumeInformation(t *testing.T) {
	v := &FsVolumeInformation{VolumeCreationTime: 0x01D9000000000001, VolumeSerialNumber: 0xCAFEBABE, VolumeLabel: "data"}
	want := (&lb{}).raw(
		0x01, 0, 0, 0, 0, 0, 0xD9, 0x01, // VolumeCreationTime
		0xBE, 0xBA, 0xFE, 0xCA, // VolumeSerialNumber
		0x08, 0, 0, 0, // VolumeLabelLength
		0x00,                           // SupportsObjects
		0x00,                           // Reserved
		'd', 0, 'a', 0, 't', 0, 'a', 0, // VolumeLabel
	).b
	checkBytes(t, "FileFsVolumeInformation", v.Append(nil), want)
	s, _ := FsInfoSize(FileFsVolumeInformation)
	if s.MinOutput != 24 {
		t.Errorf("MinOutput %d, want 24", s.MinOutput)
	}
}

func TestGoldenNetworkInterfaceInfo(t *testing.T) {
	ifs := []NetworkInterface{
		{IfIndex: 2, Capability: InterfaceCapRSS, LinkSpeed: 10_000_000_000, Addr: netip.MustParseAddr("192.168.1.10")},
		{IfIndex: 3, Capability: InterfaceCapRDMA, LinkSpeed: 100_000_000_000, Addr: netip.MustParseAddr("fe80::1")},
	}
	w := &lb{}
	// Entry 1
	w.u32(152)            // Next
	w.u32(2)              // IfIndex
	w.u32(1)              // Capability RSS
	w.u32(0)              // Reserved
	w.u64(10_000_000_000) // LinkSpeed
	// SOCKADDR_IN: Family 0x0002, Port 0, 192.168.1.10, Reserved[8], rest of the 128 bytes
	w.raw(0x02, 0x00, 0x00, 0x00, 192, 168, 1, 10).zero(128 - 8)
	// Entry 2
	w.u32(0).u32(3).u32(2).u32(0).u64(100_000_000_000)
	// SOCKADDR_IN6: Family 0x0017, Port 0, FlowInfo 0, fe80::1, ScopeId 0, rest
	w.raw(0x17, 0x00, 0x00, 0x00).u32(0)
	w.raw(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
	w.u32(0).zero(128 - 28)
	got, err := AppendNetworkInterfaceInfo(nil, ifs)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "NETWORK_INTERFACE_INFO", got, w.b)
	back, err := DecodeNetworkInterfaceInfo(got)
	if err != nil || len(back) != 2 || back[0] != ifs[0] || back[1] != ifs[1] {
		t.Errorf("decode = %+v, %v", back, err)
	}
}

func TestGoldenRenameInformation(t *testing.T) {
	in := (&lb{}).raw(
		0x01,                // ReplaceIfExists
		0, 0, 0, 0, 0, 0, 0, // Reserved
		0, 0, 0, 0, 0, 0, 0, 0, // RootDirectory
		0x0E, 0, 0, 0, // FileNameLength 14
	).ascii16(`dir\new`).b
	ri, err := DecodeRenameInformation(in, false)
	if err != nil || !ri.ReplaceIfExists || ri.RootDirectory != 0 || ri.FileName != `dir\new` {
		t.Fatalf("DecodeRenameInformation = %+v, %v", ri, err)
	}
	checkBytes(t, "RenameInformation.Append", ri.Append(nil, false), in)
}

func TestGoldenFullEaInformation(t *testing.T) {
	eas := []FullEa{{Name: "user.a", Value: []byte("xyz")}, {Flags: FileNeedEA, Name: "B", Value: nil}}
	w := &lb{}
	// Entry 1: 8 + 6 + 1 + 3 = 18, padded to 20.
	w.u32(20).raw(0, 6).u16(3).raw([]byte("user.a")...).raw(0).raw([]byte("xyz")...).zero(2)
	// Entry 2: last.
	w.u32(0).raw(0x80, 1).u16(0).raw('B', 0)
	got, overflow, err := AppendFullEaInformation(nil, eas, 1<<16)
	if err != nil || overflow {
		t.Fatal(overflow, err)
	}
	checkBytes(t, "FILE_FULL_EA_INFORMATION", got, w.b)
	if FullEaListLen(eas) != len(w.b) {
		t.Errorf("FullEaListLen %d, want %d", FullEaListLen(eas), len(w.b))
	}
	back, err := DecodeFullEaInformation(got)
	if err != nil || len(back) != 2 || back[0].Name != "user.a" || string(back[0].Value) != "xyz" || back[1].Flags != FileNeedEA {
		t.Errorf("decode = %+v, %v", back, err)
	}
	// A limit that fits only the first entry.
	got, overflow, _ = AppendFullEaInformation(nil, eas, 25)
	if !overflow || len(got) != 18 {
		t.Errorf("limited: %d bytes overflow %v", len(got), overflow)
	}
}

func TestGoldenCopychunk(t *testing.T) {
	var key [24]byte
	for i := range key {
		key[i] = byte(i)
	}
	in := (&lb{}).raw(key[:]...).
		u32(2).u32(0). // ChunkCount, Reserved
		u64(0).u64(4096).u32(4096).u32(0).
		u64(8192).u64(0).u32(100).u32(0).b
	c, err := DecodeCopychunkCopy(in, CopychunkMaxChunks)
	if err != nil || c.SourceKey != key || len(c.Chunks) != 2 || c.Chunks[0].TargetOffset != 4096 || c.Chunks[1] != (Chunk{8192, 0, 100}) {
		t.Fatalf("decode = %+v, %v", c, err)
	}
	checkBytes(t, "SRV_COPYCHUNK_COPY", c.Append(nil), in)
	if _, err := DecodeCopychunkCopy(in, 1); !errors.Is(err, ErrTooManyChunks) || !errors.Is(err, ErrMalformed) {
		t.Error("chunk limit not applied")
	}
	r := &CopychunkResponse{ChunksWritten: 2, ChunkBytesWritten: 0, TotalBytesWritten: 4196}
	checkBytes(t, "SRV_COPYCHUNK_RESPONSE", r.Append(nil), (&lb{}).u32(2).u32(0).u32(4196).b)
	checkBytes(t, "SRV_REQUEST_RESUME_KEY", AppendResumeKeyResponse(nil, key), (&lb{}).raw(key[:]...).u32(0).u32(0).b)
}

func TestGoldenValidateNegotiate(t *testing.T) {
	g := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	in := (&lb{}).u32(0x7F).raw(g[:]...).u16(1).u16(3).u16(0x0202).u16(0x0210).u16(0x0300).b
	r, err := DecodeValidateNegotiateInfoRequest(in)
	if err != nil || r.Capabilities != 0x7F || r.GUID != g || r.SecurityMode != 1 || len(r.Dialects) != 3 || r.Dialects[2] != 0x0300 {
		t.Fatalf("decode = %+v, %v", r, err)
	}
	resp := &ValidateNegotiateInfoResponse{Capabilities: 0x2F, GUID: g, SecurityMode: 1, Dialect: 0x0300}
	checkBytes(t, "VALIDATE_NEGOTIATE_INFO_RESPONSE", resp.Append(nil), (&lb{}).u32(0x2F).raw(g[:]...).u16(1).u16(0x0300).b)
}

func TestGoldenSnapshotArray(t *testing.T) {
	checkBytes(t, "empty", AppendSnapshotArray(nil, nil, 1024), (&lb{}).u32(0).u32(0).u32(2).u16(0).b)
	snap := "@GMT-2024.01.02-03.04.05" // 24 chars
	want := (&lb{}).u32(1).u32(1).u32(52).ascii16(snap).u16(0).u16(0).b
	checkBytes(t, "one", AppendSnapshotArray(nil, []string{snap}, 1024), want)
	checkBytes(t, "too small", AppendSnapshotArray(nil, []string{snap}, 16), (&lb{}).u32(1).u32(0).u32(52).b)
}

func TestGoldenNotifyInformation(t *testing.T) {
	ns := []Notify{{FileActionRenamedOldName, "a"}, {FileActionRenamedNewName, "bcd"}}
	w := &lb{}
	// Entry 1: 12 + 2 = 14, padded to 16.
	w.u32(16).u32(4).u32(2).ascii16("a").zero(2)
	// Entry 2: last.
	w.u32(0).u32(5).u32(6).ascii16("bcd")
	got, overflow := AppendNotifyInformation(nil, ns, 34)
	if overflow {
		t.Fatal("overflow")
	}
	checkBytes(t, "FILE_NOTIFY_INFORMATION", got, w.b)
	if NotifyListLen(ns) != 34 {
		t.Errorf("NotifyListLen %d", NotifyListLen(ns))
	}
	if got, overflow := AppendNotifyInformation([]byte{1}, ns, 33); !overflow || len(got) != 1 {
		t.Errorf("limit 33: %d bytes, overflow %v", len(got), overflow)
	}
	back, err := DecodeNotifyInformation(w.b)
	if err != nil || len(back) != 2 || back[1] != ns[1] {
		t.Errorf("decode %+v %v", back, err)
	}
}

func TestGoldenSymlinkReparse(t *testing.T) {
	s := &SymlinkReparse{SubstituteName: "ab", PrintName: "c", Flags: SymlinkFlagRelative}
	want := (&lb{}).
		u32(0xA000000C). // ReparseTag
		u16(12 + 4 + 2). // ReparseDataLength
		u16(0).          // Reserved
		u16(0).u16(4).   // SubstituteNameOffset, Length
		u16(4).u16(2).   // PrintNameOffset, Length
		u32(1).          // Flags
		ascii16("abc").b
	got, err := AppendSymlinkReparse(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "symlink REPARSE_DATA_BUFFER", got, want)
	r, err := DecodeReparseDataBuffer(got)
	if err != nil || r.Tag != IOReparseTagSymlink {
		t.Fatalf("%+v %v", r, err)
	}
	back, err := DecodeSymlinkReparse(r.Data)
	if err != nil || back != *s {
		t.Errorf("decode %+v %v", back, err)
	}
}

func TestLenMatchesAppend(t *testing.T) {
	ri := &RenameInformation{FileName: "dir\\😀"}
	if n := len(ri.Append(nil, false)); n != ri.Len() {
		t.Errorf("RenameInformation: Append %d, Len %d", n, ri.Len())
	}
	cc := &CopychunkCopy{Chunks: make([]Chunk, 3)}
	if n := len(cc.Append(nil)); n != cc.Len() {
		t.Errorf("CopychunkCopy: Append %d, Len %d", n, cc.Len())
	}
	vn := &ValidateNegotiateInfoRequest{Dialects: []uint16{1, 2, 3}}
	if n := len(vn.Append(nil)); n != vn.Len() {
		t.Errorf("ValidateNegotiateInfoRequest: Append %d, Len %d", n, vn.Len())
	}
	v := &FsVolumeInformation{VolumeLabel: "é😀"}
	if n := len(v.Append(nil)); n != v.Len() {
		t.Errorf("FsVolumeInformation: Append %d, Len %d", n, v.Len())
	}
	fi := testFileInfo()
	fi.Name = "x😀y"
	for class := range dirLayouts {
		b, _ := AppendDirEntry(nil, class, fi)
		if n, _ := DirEntryLen(class, fi); n != len(b) {
			t.Errorf("class %d: DirEntryLen %d, Append %d", class, n, len(b))
		}
	}
}

func TestGoldenNetworkOpenInformation(t *testing.T) {
	fi := testFileInfo()
	want := (&lb{}).
		u64(0x01D9000000000001).u64(0x01D9000000000002). // CreationTime, LastAccessTime
		u64(0x01D9000000000003).u64(0x01D9000000000004). // LastWriteTime, ChangeTime
		u64(8192).                                       // AllocationSize
		u64(5000).                                       // EndOfFile
		u32(0x20).                                       // FileAttributes
		u32(0).b                                         // Reserved
	checkBytes(t, "FileNetworkOpenInformation", AppendNetworkOpenInformation(nil, fi), want)
}

func TestGoldenIDAndStatInformation(t *testing.T) {
	fi := testFileInfo()
	fi.Attributes = 0 // reported as FILE_ATTRIBUTE_NORMAL
	fi.EffectiveAccess = 0x001F01FF
	want := (&lb{}).
		u64(0x8877665544332211).                                     // VolumeSerialNumber
		raw(0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00).zero(8). // FileId: 64-bit ID zero-extended
		b
	checkBytes(t, "FileIdInformation", AppendIDInformation(nil, fi), want)
	want = (&lb{}).
		u64(0x0011223344556677).                         // FileId
		u64(0x01D9000000000001).u64(0x01D9000000000002). // CreationTime, LastAccessTime
		u64(0x01D9000000000003).u64(0x01D9000000000004). // LastWriteTime, ChangeTime
		u64(8192).                                       // AllocationSize (before EndOfFile here)
		u64(5000).                                       // EndOfFile
		u32(0x80).                                       // FileAttributes: NORMAL
		u32(0).                                          // ReparseTag
		u32(1).                                          // NumberOfLinks
		u32(0x001F01FF).b                                // EffectiveAccess
	checkBytes(t, "FileStatInformation", AppendStatInformation(nil, fi), want)
}

func TestGoldenFsSizes(t *testing.T) {
	full := &FsFullSizeInformation{TotalAllocationUnits: 1000, CallerAvailableAllocationUnits: 400, ActualAvailableAllocationUnits: 500, SectorsPerAllocationUnit: 8, BytesPerSector: 512}
	checkBytes(t, "FileFsFullSizeInformation", full.Append(nil), (&lb{}).u64(1000).u64(400).u64(500).u32(8).u32(512).b)
	sz := &FsSizeInformation{TotalAllocationUnits: 1000, AvailableAllocationUnits: 400, SectorsPerAllocationUnit: 8, BytesPerSector: 512}
	checkBytes(t, "FileFsSizeInformation", sz.Append(nil), (&lb{}).u64(1000).u64(400).u32(8).u32(512).b)
	ss := &FsSectorSizeInformation{512, 4096, 4096, 4096, SSInfoFlagsAlignedDevice | SSInfoFlagsPartitionAlignedOnDevice, 0, 0}
	checkBytes(t, "FileFsSectorSizeInformation", ss.Append(nil), (&lb{}).u32(512).u32(4096).u32(4096).u32(4096).u32(3).u32(0).u32(0).b)
	dev := &FsDeviceInformation{DeviceType: FileDeviceDisk, Characteristics: FileDeviceIsMounted}
	checkBytes(t, "FileFsDeviceInformation", dev.Append(nil), (&lb{}).u32(7).u32(0x20).b)
}

func TestGoldenQuotaInformation(t *testing.T) {
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0} // S-1-5-18, 12 bytes
	qs := []Quota{{ChangeTime: 7, QuotaUsed: 100, QuotaThreshold: 200, QuotaLimit: 300, SID: sid}, {QuotaLimit: -1, SID: sid}}
	w := &lb{}
	// Entry 1: 40 + 12 = 52, padded to 56.
	w.u32(56).u32(12).u64(7).u64(100).u64(200).u64(300).raw(sid...).zero(4)
	w.u32(0).u32(12).u64(0).u64(0).u64(0).u64(0xFFFFFFFFFFFFFFFF).raw(sid...)
	got, overflow := AppendQuotaInformation(nil, qs, 1<<10)
	if overflow {
		t.Fatal("overflow")
	}
	checkBytes(t, "FILE_QUOTA_INFORMATION", got, w.b)
	back, err := DecodeQuotaInformation(got)
	if err != nil || len(back) != 2 || back[1].QuotaLimit != -1 || back[0].QuotaThreshold != 200 {
		t.Errorf("decode %+v %v", back, err)
	}
	in := (&lb{}).raw(1, 0, 0, 0).u32(0).u32(12).u32(0).raw(sid...).b
	q, err := DecodeQueryQuotaInfo(in)
	if err != nil || !q.ReturnSingle || string(q.StartSID) != string(sid) {
		t.Errorf("DecodeQueryQuotaInfo %+v %v", q, err)
	}
	if _, err := DecodeQueryQuotaInfo((&lb{}).zero(4).u32(4).u32(4).u32(0).zero(8).b); !errors.Is(err, ErrMalformed) {
		t.Errorf("both lengths: %v", err)
	}
}
