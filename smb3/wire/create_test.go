package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestCreateContextsGolden(t *testing.T) {
	want := []CreateContext{{Name: "MxAc"}, {Name: "AlSi", Data: p64(nil, 1<<20)}}
	got, err := ParseCreateContexts(createContextsGolden())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	mustEqual(t, "AppendCreateContexts", AppendCreateContexts(nil, want), createContextsGolden())
	if c, err := ParseCreateContexts(nil); c != nil || err != nil {
		t.Errorf("empty chain: %v, %v", c, err)
	}
}

func TestCreateContextsRoundTrip(t *testing.T) {
	for _, ctxs := range [][]CreateContext{
		{{Name: "QFid"}},
		{{Name: "DH2Q", Data: bytes.Repeat([]byte{1}, 32)}, {Name: "MxAc"}, {Name: "RqLs", Data: bytes.Repeat([]byte{2}, 52)}},
		{{Name: "SecD", Data: []byte{1, 2, 3}}, {Name: "ExtA", Data: []byte{4}}},
		{{Name: "odd-length-name", Data: []byte("x")}, {Name: "B"}},
	} {
		b := AppendCreateContexts([]byte("prefix"), ctxs)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatal("prefix lost")
		}
		chain := b[6:]
		got, err := ParseCreateContexts(chain)
		if err != nil {
			t.Fatalf("%+v: %v", ctxs, err)
		}
		if !reflect.DeepEqual(got, ctxs) {
			t.Errorf("round trip %+v -> %+v", ctxs, got)
		}
		// Every element starts 8-aligned, and data is 8-aligned inside it.
		for off := 0; ; {
			next := int(le.Uint32(chain[off:]))
			if do := le.Uint16(chain[off+10:]); do%8 != 0 {
				t.Errorf("DataOffset %d not 8-aligned", do)
			}
			if next == 0 {
				break
			}
			if next%8 != 0 {
				t.Errorf("Next %d not 8-aligned", next)
			}
			off += next
		}
	}
}

func TestCreateContextsTruncated(t *testing.T) {
	g := createContextsGolden()
	for n := 1; n < len(g); n++ {
		var err error
		noPanic(t, "ParseCreateContexts", func() { _, err = ParseCreateContexts(bytes.Clone(g[:n])) })
		if err == nil {
			t.Errorf("prefix %d of %d accepted", n, len(g))
		}
	}
}

// ctxElem builds one create context element field by field.
func ctxElem(next uint32, nameOff, nameLen, dataOff uint16, dataLen uint32, tail []byte) []byte {
	var c []byte
	c = p32(c, next)    // Next
	c = p16(c, nameOff) // NameOffset
	c = p16(c, nameLen) // NameLength
	c = p16(c, 0)       // Reserved
	c = p16(c, dataOff) // DataOffset
	c = p32(c, dataLen) // DataLength
	return append(c, tail...)
}

func TestCreateContextsMalformed(t *testing.T) {
	name8 := []byte("MxAc\x00\x00\x00\x00")
	okElem := ctxElem(0, 16, 4, 0, 0, name8)
	for _, c := range []struct {
		name  string
		chain []byte
	}{
		{"shorter than the fixed part", okElem[:15]},
		{"Next not 8-aligned", append(ctxElem(20, 16, 4, 0, 0, name8), okElem...)},
		{"Next inside the element", append(ctxElem(8, 16, 4, 0, 0, name8), okElem...)},
		{"Next beyond the chain", ctxElem(32, 16, 4, 0, 0, name8)},
		{"Next exactly at the end", ctxElem(24, 16, 4, 0, 0, name8)},
		{"Next max", ctxElem(0xfffffff8, 16, 4, 0, 0, name8)},
		{"next element cut short", append(ctxElem(24, 16, 4, 0, 0, name8), okElem[:12]...)},
		{"name past the end", ctxElem(0, 16, 9, 0, 0, name8)},
		{"name offset past the end", ctxElem(0, 0xffff, 4, 0, 0, name8)},
		{"empty name", ctxElem(0, 16, 0, 0, 0, name8)},
		{"data past the end", ctxElem(0, 16, 4, 24, 1, name8)},
		{"data length max", ctxElem(0, 16, 4, 16, 0xffffffff, name8)},
		{"data offset and length max", ctxElem(0, 16, 4, 0xffff, 0xffffffff, name8)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []CreateContext
			var err error
			noPanic(t, "ParseCreateContexts", func() { got, err = ParseCreateContexts(c.chain) })
			if err == nil {
				t.Errorf("accepted: %+v", got)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		var chain []byte
		for i := range 40 {
			next := uint32(24)
			if i == 39 {
				next = 0
			}
			chain = append(chain, ctxElem(next, 16, 4, 0, 0, name8)...)
		}
		if _, err := ParseCreateContexts(chain); err == nil {
			t.Error("40 contexts accepted")
		}
		chain = nil
		for i := range 32 {
			next := uint32(24)
			if i == 31 {
				next = 0
			}
			chain = append(chain, ctxElem(next, 16, 4, 0, 0, name8)...)
		}
		if got, err := ParseCreateContexts(chain); err != nil || len(got) != 32 {
			t.Errorf("32 contexts: %d, %v", len(got), err)
		}
	})
}

// TestCreateContextsOverlap: MS-SMB2 2.2.13.2 lays out each context as its
// fixed part, then its name at NameOffset, then its data at an 8-aligned
// DataOffset, all before Next. Samba (smb2_create_blob_parse) bounds name and
// data by the element's own length (Next, or the rest of the chain for the
// last) and requires NameOffset 16 and an 8-aligned DataOffset; the parser
// here accepts name and data that run into the following context or into
// the element's own header.
func TestCreateContextsOverlap(t *testing.T) {
	name8 := []byte("MxAc\x00\x00\x00\x00")
	second := ctxElem(0, 16, 4, 0, 0, name8)
	for _, c := range []struct {
		name  string
		chain []byte
	}{
		{"data runs into the next context", append(ctxElem(24, 16, 4, 16, 24, name8), second...)},
		{"name runs into the next context", append(ctxElem(24, 16, 12, 0, 0, name8), second...)},
		{"name inside the fixed part", ctxElem(0, 0, 4, 0, 0, name8)},
		{"data inside the fixed part", ctxElem(0, 16, 4, 8, 8, name8)},
		{"data offset not 8-aligned", ctxElem(0, 16, 4, 20, 4, name8)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := ParseCreateContexts(c.chain); err == nil {
				t.Errorf("accepted: %+v", got)
			}
		})
	}
}

// TestCreateResponseGolden encodes MS-SMB2 2.2.14 with two response contexts.
func TestCreateResponseGolden(t *testing.T) {
	mxac := append(p32(nil, 0), p32(nil, 0x001f01ff)...) // QueryStatus, MaximalAccess
	qfid := bytes.Repeat([]byte{0xd0}, 32)               // DiskFileId, VolumeId, Reserved
	r := &CreateResponse{
		OplockLevel: 0x08, Flags: 0, CreateAction: 2,
		Creation: 0x01d0000000000001, LastAccess: 0x01d0000000000002, LastWrite: 0x01d0000000000003, Change: 0x01d0000000000004,
		AllocationSize: 4096, EndOfFile: 11, Attributes: 0x20, FileID: goldFileID,
		Contexts: []CreateContext{{Name: "MxAc", Data: mxac}, {Name: "QFid", Data: qfid}},
	}
	var want []byte
	want = p16(want, 89)                 // StructureSize
	want = p8(want, 0x08)                // OplockLevel
	want = p8(want, 0)                   // Flags
	want = p32(want, 2)                  // CreateAction: FILE_CREATED
	want = p64(want, 0x01d0000000000001) // CreationTime
	want = p64(want, 0x01d0000000000002) // LastAccessTime
	want = p64(want, 0x01d0000000000003) // LastWriteTime
	want = p64(want, 0x01d0000000000004) // ChangeTime
	want = p64(want, 4096)               // AllocationSize
	want = p64(want, 11)                 // EndofFile
	want = p32(want, 0x20)               // FileAttributes
	want = p32(want, 0)                  // Reserved2
	want = pFileID(want, goldFileID)     // FileId
	want = p32(want, 152)                // CreateContextsOffset
	want = p32(want, 88)                 // CreateContextsLength
	// Context 0, MxAc.
	want = p32(want, 32)           // Next
	want = p16(want, 16)           // NameOffset
	want = p16(want, 4)            // NameLength
	want = p16(want, 0)            // Reserved
	want = p16(want, 24)           // DataOffset
	want = p32(want, 8)            // DataLength
	want = append(want, "MxAc"...) // Name
	want = pad(want, 4)            // Padding
	want = append(want, mxac...)   // Data
	// Context 1, QFid.
	want = p32(want, 0)            // Next
	want = p16(want, 16)           // NameOffset
	want = p16(want, 4)            // NameLength
	want = p16(want, 0)            // Reserved
	want = p16(want, 24)           // DataOffset
	want = p32(want, 32)           // DataLength
	want = append(want, "QFid"...) // Name
	want = pad(want, 4)            // Padding
	want = append(want, qfid...)   // Data
	hdr := AppendResponseHeader(nil, &ResponseHeader{Command: CmdCreate})
	got := r.Append(hdr)
	mustEqual(t, "create response body", got[HeaderSize:], want)
	// Parse back through the offsets the encoder wrote.
	off, n := le.Uint32(got[HeaderSize+80:]), le.Uint32(got[HeaderSize+84:])
	ctxs, err := ParseCreateContexts(got[off : off+n])
	if err != nil || !reflect.DeepEqual(ctxs, r.Contexts) {
		t.Errorf("contexts parsed back %+v, %v", ctxs, err)
	}
	if off%8 != 0 {
		t.Errorf("CreateContextsOffset %d not 8-aligned", off)
	}

	// Without contexts: offset and length zero, one byte of Buffer.
	r.Contexts = nil
	got = r.Append(nil)
	wantNo := append(bytes.Clone(want[:80]), 0, 0, 0, 0, 0, 0, 0, 0, 0)
	mustEqual(t, "create response without contexts", got, wantNo)
}

func TestCreateContextLongName(t *testing.T) {
	long := strings.Repeat("N", 300)
	b := AppendCreateContexts(nil, []CreateContext{{Name: long, Data: []byte{1}}, {Name: "B"}})
	got, err := ParseCreateContexts(b)
	if err != nil || len(got) != 2 || got[0].Name != long {
		t.Fatalf("long name: %v, %v", got, err)
	}
}
