package fscc

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ValidateNegotiateInfoRequest is VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.31.4),
// the input of FSCTL_VALIDATE_NEGOTIATE_INFO.
type ValidateNegotiateInfoRequest struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialects     []uint16
}

// validateNegotiateInfoReqFixed is the size before Dialects.
const validateNegotiateInfoReqFixed = 24

// DecodeValidateNegotiateInfoRequest decodes the request; DialectCount must
// be nonzero and the dialects must be present.
func DecodeValidateNegotiateInfoRequest(b []byte) (ValidateNegotiateInfoRequest, error) {
	const what = "VALIDATE_NEGOTIATE_INFO"
	var r ValidateNegotiateInfoRequest
	if len(b) < validateNegotiateInfoReqFixed {
		return r, short(what, validateNegotiateInfoReqFixed, len(b))
	}
	r.Capabilities = u32(b)
	copy(r.GUID[:], b[4:20])
	r.SecurityMode = u16(b[20:])
	n := int(u16(b[22:]))
	if n == 0 {
		return ValidateNegotiateInfoRequest{}, malformed(what, "DialectCount 0")
	}
	if need := validateNegotiateInfoReqFixed + 2*n; need > len(b) {
		return ValidateNegotiateInfoRequest{}, short(what, need, len(b))
	}
	r.Dialects = make([]uint16, n)
	for i := range r.Dialects {
		r.Dialects[i] = u16(b[validateNegotiateInfoReqFixed+2*i:])
	}
	return r, nil
}

// Append encodes the request.
func (r *ValidateNegotiateInfoRequest) Append(b []byte) []byte {
	b = le32(b, r.Capabilities)
	b = append(b, r.GUID[:]...)
	b = le16(b, r.SecurityMode)
	b = le16(b, uint16(len(r.Dialects)))
	for _, d := range r.Dialects {
		b = le16(b, d)
	}
	return b
}

// ValidateNegotiateInfoResponse is VALIDATE_NEGOTIATE_INFO_RESPONSE
// (MS-SMB2 2.2.32.6), 24 bytes.
type ValidateNegotiateInfoResponse struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialect      uint16
}

// ValidateNegotiateInfoResponseSize is the encoded size.
const ValidateNegotiateInfoResponseSize = 24

// Append encodes the response.
func (r *ValidateNegotiateInfoResponse) Append(b []byte) []byte {
	b = le32(b, r.Capabilities)
	b = append(b, r.GUID[:]...)
	b = le16(b, r.SecurityMode)
	return le16(b, r.Dialect)
}

// NETWORK_INTERFACE_INFO Capability bits (MS-SMB2 2.2.32.5).
const (
	InterfaceCapRSS  = 0x00000001
	InterfaceCapRDMA = 0x00000002
)

// Socket address families in SockAddr_Storage (MS-SMB2 2.2.32.5.1).
const (
	AfInet  = 0x0002
	AfInet6 = 0x0017
)

// NetworkInterfaceInfoSize is the size of one NETWORK_INTERFACE_INFO entry:
// Next (4), IfIndex (4), Capability (4), Reserved (4), LinkSpeed (8),
// SockAddr_Storage (128).
const NetworkInterfaceInfoSize = 152

// NetworkInterface is one NETWORK_INTERFACE_INFO entry (MS-SMB2 2.2.32.5).
type NetworkInterface struct {
	IfIndex    uint32
	Capability uint32 // InterfaceCapRSS | InterfaceCapRDMA
	LinkSpeed  uint64 // bits per second
	Addr       netip.Addr
}

// AppendNetworkInterfaceInfo appends the FSCTL_QUERY_NETWORK_INTERFACE_INFO
// output: one 152-byte entry per interface, Next the offset to the following
// entry (152) and 0 in the last; the address in SOCKADDR_IN (family 0x2) or
// SOCKADDR_IN6 (family 0x17) form with port 0. IPv4-mapped IPv6 addresses
// are encoded as IPv4. An invalid Addr is an error.
func AppendNetworkInterfaceInfo(b []byte, ifs []NetworkInterface) ([]byte, error) {
	for i, ifc := range ifs {
		if !ifc.Addr.IsValid() {
			return b, fmt.Errorf("fscc: NETWORK_INTERFACE_INFO: interface %d has no address: %w", ifc.IfIndex, ErrMalformed)
		}
		next := uint32(NetworkInterfaceInfoSize)
		if i == len(ifs)-1 {
			next = 0
		}
		b = le32(b, next)
		b = le32(b, ifc.IfIndex)
		b = le32(b, ifc.Capability)
		b = le32(b, 0) // Reserved
		b = le64(b, ifc.LinkSpeed)
		var sa [128]byte
		a := ifc.Addr.Unmap()
		if a.Is4() {
			binary.LittleEndian.PutUint16(sa[0:], AfInet)
			// Port (2) = 0; IPv4Address (4), network order; Reserved (8).
			v4 := a.As4()
			copy(sa[4:8], v4[:])
		} else {
			binary.LittleEndian.PutUint16(sa[0:], AfInet6)
			// Port (2) = 0, FlowInfo (4) = 0, IPv6Address (16), ScopeId (4).
			v6 := a.As16()
			copy(sa[8:24], v6[:])
		}
		b = append(b, sa[:]...)
	}
	return b, nil
}

// DecodeNetworkInterfaceInfo decodes a NETWORK_INTERFACE_INFO chain
// (clients, tests). Next must be 0 or at least one entry long.
func DecodeNetworkInterfaceInfo(b []byte) ([]NetworkInterface, error) {
	const what = "NETWORK_INTERFACE_INFO"
	var out []NetworkInterface
	off := 0
	for {
		if len(b)-off < NetworkInterfaceInfoSize {
			return nil, short(what, off+NetworkInterfaceInfoSize, len(b))
		}
		e := b[off:]
		ifc := NetworkInterface{
			IfIndex:    u32(e[4:]),
			Capability: u32(e[8:]),
			LinkSpeed:  u64(e[16:]),
		}
		sa := e[24:NetworkInterfaceInfoSize]
		switch fam := u16(sa); fam {
		case AfInet:
			ifc.Addr = netip.AddrFrom4([4]byte(sa[4:8]))
		case AfInet6:
			ifc.Addr = netip.AddrFrom16([16]byte(sa[8:24]))
		default:
			return nil, malformed(what, "address family %#x", fam)
		}
		out = append(out, ifc)
		next := int(u32(e))
		if next == 0 {
			return out, nil
		}
		if next < NetworkInterfaceInfoSize {
			return nil, malformed(what, "Next %d inside entry", next)
		}
		off += next
		if off > len(b) {
			return nil, short(what, off, len(b))
		}
	}
}

// ResumeKeySize is the size of the opaque copychunk resume key.
const ResumeKeySize = 24

// ResumeKeyResponseSize is the size of SRV_REQUEST_RESUME_KEY as Windows
// sends it (and Samba's smbtorture decodes it): 32 bytes.
const ResumeKeyResponseSize = 32

// AppendResumeKeyResponse appends SRV_REQUEST_RESUME_KEY (MS-SMB2 2.2.32.3):
// ResumeKey (24), ContextLength (4) = 0, then 4 zero bytes of Context, which
// Windows sends although ContextLength is 0 (MS-SMB2 <56>). 32 bytes.
func AppendResumeKeyResponse(b []byte, key [ResumeKeySize]byte) []byte {
	b = append(b, key[:]...)
	b = le32(b, 0)
	return le32(b, 0)
}

// Copychunk limits a server advertises (MS-SMB2 3.3.3 defaults), returned in
// SRV_COPYCHUNK_RESPONSE when a request exceeds them.
const (
	CopychunkMaxChunks    = 256
	CopychunkMaxChunkSize = 1 << 20
	CopychunkMaxDataSize  = 16 << 20
)

// Chunk is one SRV_COPYCHUNK entry (MS-SMB2 2.2.31.1.1).
type Chunk struct {
	SourceOffset uint64
	TargetOffset uint64
	Length       uint32
}

// CopychunkCopy is SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1): SourceKey (24),
// ChunkCount (4), Reserved (4), ChunkCount chunks of 24 bytes.
type CopychunkCopy struct {
	SourceKey [ResumeKeySize]byte
	Chunks    []Chunk
}

const (
	copychunkFixed = 32
	chunkSize      = 24
)

// DecodeCopychunkCopy decodes SRV_COPYCHUNK_COPY. It checks only that the
// chunks are present; the server compares ChunkCount and lengths against
// its limits (MS-SMB2 3.3.5.15.6) before copying. maxChunks bounds the
// allocation: a larger ChunkCount is reported as ErrTooManyChunks with the
// count so the server can answer STATUS_INVALID_PARAMETER with its limits.
func DecodeCopychunkCopy(b []byte, maxChunks int) (CopychunkCopy, error) {
	const what = "SRV_COPYCHUNK_COPY"
	var c CopychunkCopy
	if len(b) < copychunkFixed {
		return c, short(what, copychunkFixed, len(b))
	}
	copy(c.SourceKey[:], b[:ResumeKeySize])
	n := int(u32(b[24:]))
	if n > maxChunks {
		return CopychunkCopy{}, &Error{Struct: what, Detail: fmt.Sprintf("ChunkCount %d > %d", n, maxChunks), Err: ErrTooManyChunks}
	}
	if need := copychunkFixed + n*chunkSize; need > len(b) {
		return CopychunkCopy{}, short(what, need, len(b))
	}
	c.Chunks = make([]Chunk, n)
	for i := range c.Chunks {
		e := b[copychunkFixed+i*chunkSize:]
		c.Chunks[i] = Chunk{SourceOffset: u64(e), TargetOffset: u64(e[8:]), Length: u32(e[16:])}
	}
	return c, nil
}

// ErrTooManyChunks reports a SRV_COPYCHUNK_COPY over the server's chunk limit.
var ErrTooManyChunks = fmt.Errorf("fscc: too many copychunk chunks: %w", ErrMalformed)

// Append encodes the request.
func (c *CopychunkCopy) Append(b []byte) []byte {
	b = append(b, c.SourceKey[:]...)
	b = le32(b, uint32(len(c.Chunks)))
	b = le32(b, 0)
	for _, ch := range c.Chunks {
		b = le64(b, ch.SourceOffset)
		b = le64(b, ch.TargetOffset)
		b = le32(b, ch.Length)
		b = le32(b, 0)
	}
	return b
}

// CopychunkResponse is SRV_COPYCHUNK_RESPONSE (MS-SMB2 2.2.32.1), 12 bytes.
// On STATUS_INVALID_PARAMETER for exceeded limits the fields carry the
// server's maximum chunk count, chunk size and total size instead.
type CopychunkResponse struct {
	ChunksWritten     uint32
	ChunkBytesWritten uint32
	TotalBytesWritten uint32
}

// CopychunkResponseSize is the encoded size.
const CopychunkResponseSize = 12

// Append encodes the response.
func (r *CopychunkResponse) Append(b []byte) []byte {
	b = le32(b, r.ChunksWritten)
	b = le32(b, r.ChunkBytesWritten)
	return le32(b, r.TotalBytesWritten)
}

// ZeroDataInformation is FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3), the input
// of FSCTL_SET_ZERO_DATA: zero [FileOffset, BeyondFinalZero).
type ZeroDataInformation struct {
	FileOffset      int64
	BeyondFinalZero int64
}

// ZeroDataInformationSize is the encoded size.
const ZeroDataInformationSize = 16

// DecodeZeroDataInformation decodes and checks the range (MS-FSA
// 2.1.5.10: negative offsets or FileOffset > BeyondFinalZero fail with
// STATUS_INVALID_PARAMETER).
func DecodeZeroDataInformation(b []byte) (ZeroDataInformation, error) {
	const what = "FILE_ZERO_DATA_INFORMATION"
	if len(b) < ZeroDataInformationSize {
		return ZeroDataInformation{}, short(what, ZeroDataInformationSize, len(b))
	}
	z := ZeroDataInformation{FileOffset: int64(u64(b)), BeyondFinalZero: int64(u64(b[8:]))}
	if z.FileOffset < 0 || z.BeyondFinalZero < 0 || z.FileOffset > z.BeyondFinalZero {
		return ZeroDataInformation{}, malformed(what, "range [%d, %d)", z.FileOffset, z.BeyondFinalZero)
	}
	return z, nil
}

// Append encodes the structure.
func (z *ZeroDataInformation) Append(b []byte) []byte {
	b = le64(b, uint64(z.FileOffset))
	return le64(b, uint64(z.BeyondFinalZero))
}

// AllocatedRange is FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3), the input
// and output elements of FSCTL_QUERY_ALLOCATED_RANGES.
type AllocatedRange struct {
	FileOffset int64
	Length     int64
}

// AllocatedRangeSize is the encoded size of one range.
const AllocatedRangeSize = 16

// DecodeAllocatedRange decodes the FSCTL_QUERY_ALLOCATED_RANGES input
// (MS-FSA 2.1.5.10: negative values or an overflowing FileOffset+Length
// fail with STATUS_INVALID_PARAMETER).
func DecodeAllocatedRange(b []byte) (AllocatedRange, error) {
	const what = "FILE_ALLOCATED_RANGE_BUFFER"
	if len(b) < AllocatedRangeSize {
		return AllocatedRange{}, short(what, AllocatedRangeSize, len(b))
	}
	r := AllocatedRange{FileOffset: int64(u64(b)), Length: int64(u64(b[8:]))}
	if r.FileOffset < 0 || r.Length < 0 || r.FileOffset > (1<<63-1)-r.Length {
		return AllocatedRange{}, malformed(what, "range offset %d length %d", r.FileOffset, r.Length)
	}
	return r, nil
}

// DecodeAllocatedRanges decodes an output array of ranges (clients, tests).
func DecodeAllocatedRanges(b []byte) ([]AllocatedRange, error) {
	if len(b)%AllocatedRangeSize != 0 {
		return nil, malformed("FILE_ALLOCATED_RANGE_BUFFER", "array of %d bytes", len(b))
	}
	out := make([]AllocatedRange, 0, len(b)/AllocatedRangeSize)
	for i := 0; i < len(b); i += AllocatedRangeSize {
		out = append(out, AllocatedRange{FileOffset: int64(u64(b[i:])), Length: int64(u64(b[i+8:]))})
	}
	return out, nil
}

// AppendAllocatedRanges appends as many whole ranges as fit in max bytes of
// output and reports overflow if some did not (the server then returns
// STATUS_BUFFER_OVERFLOW, or STATUS_BUFFER_TOO_SMALL if max < 16; MS-FSA
// 2.1.5.10).
func AppendAllocatedRanges(b []byte, rs []AllocatedRange, max int) (out []byte, overflow bool) {
	for i, r := range rs {
		if (i+1)*AllocatedRangeSize > max {
			return b, true
		}
		b = le64(b, uint64(r.FileOffset))
		b = le64(b, uint64(r.Length))
	}
	return b, false
}

// ObjectIDBuffer is FILE_OBJECTID_BUFFER type 1 (MS-FSCC 2.1.3.1), the
// output of FSCTL_GET_OBJECT_ID and FSCTL_CREATE_OR_GET_OBJECT_ID, 64 bytes.
type ObjectIDBuffer struct {
	ObjectID      [16]byte
	BirthVolumeID [16]byte
	BirthObjectID [16]byte
	DomainID      [16]byte
}

// ObjectIDBufferSize is the encoded size.
const ObjectIDBufferSize = 64

// Append encodes the buffer.
func (o *ObjectIDBuffer) Append(b []byte) []byte {
	b = append(b, o.ObjectID[:]...)
	b = append(b, o.BirthVolumeID[:]...)
	b = append(b, o.BirthObjectID[:]...)
	return append(b, o.DomainID[:]...)
}

// AppendSnapshotArray appends SRV_SNAPSHOT_ARRAY (MS-SMB2 2.2.32.2) for
// FSCTL_SRV_ENUMERATE_SNAPSHOTS: NumberOfSnapShots, NumberOfSnapShotsReturned,
// SnapShotArraySize, then the "@GMT-YYYY.MM.DD-HH.MM.SS" tokens, each
// NUL-terminated, plus a final NUL. If the whole array does not fit in max
// bytes of output, only the 12-byte header is returned with
// NumberOfSnapShotsReturned 0 and SnapShotArraySize the size needed (MS-SMB2
// 3.3.5.15.1). With no snapshots the array is a single NUL (size 2).
// Servers fail a MaxOutputResponse below 16 (the C sizeof of the structure)
// with STATUS_INVALID_PARAMETER before calling this, as Samba does.
func AppendSnapshotArray(b []byte, snapshots []string, max int) []byte {
	size := 2
	for _, s := range snapshots {
		size += UTF16Len(s) + 2
	}
	b = le32(b, uint32(len(snapshots)))
	if 12+size > max {
		b = le32(b, 0)
		return le32(b, uint32(size))
	}
	b = le32(b, uint32(len(snapshots)))
	b = le32(b, uint32(size))
	for _, s := range snapshots {
		b = AppendUTF16(b, s)
		b = le16(b, 0)
	}
	return le16(b, 0)
}

// DecodeCompressionState decodes the USHORT CompressionState input of
// FSCTL_SET_COMPRESSION (MS-FSCC 2.3: COMPRESSION_FORMAT_NONE, _DEFAULT,
// _LZNT1; other values fail with STATUS_INVALID_PARAMETER).
func DecodeCompressionState(b []byte) (uint16, error) {
	const what = "FSCTL_SET_COMPRESSION"
	if len(b) < 2 {
		return 0, short(what, 2, len(b))
	}
	v := u16(b)
	if v > CompressionFormatLZNT1 {
		return 0, malformed(what, "CompressionState %#x", v)
	}
	return v, nil
}

// AppendCompressionState appends the FSCTL_GET_COMPRESSION output.
func AppendCompressionState(b []byte, state uint16) []byte { return le16(b, state) }

// DecodeSetSparse decodes the optional FILE_SET_SPARSE_BUFFER of
// FSCTL_SET_SPARSE (MS-FSCC 2.3): an empty input means "set sparse".
func DecodeSetSparse(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	return b[0] != 0
}

// FileLevelTrim is FILE_LEVEL_TRIM (MS-FSCC 2.3): Key (4), NumRanges (4),
// then NumRanges FILE_LEVEL_TRIM_RANGE {Offset (8), Length (8)}.
type FileLevelTrim struct {
	Key    uint32
	Ranges []AllocatedRange
}

// DecodeFileLevelTrim decodes the FSCTL_FILE_LEVEL_TRIM input.
func DecodeFileLevelTrim(b []byte) (FileLevelTrim, error) {
	const what = "FILE_LEVEL_TRIM"
	if len(b) < 8 {
		return FileLevelTrim{}, short(what, 8, len(b))
	}
	t := FileLevelTrim{Key: u32(b)}
	n := int(u32(b[4:]))
	if n > (len(b)-8)/16 {
		return FileLevelTrim{}, short(what, 8+16*n, len(b))
	}
	t.Ranges = make([]AllocatedRange, n)
	for i := range t.Ranges {
		e := b[8+16*i:]
		t.Ranges[i] = AllocatedRange{FileOffset: int64(u64(e)), Length: int64(u64(e[8:]))}
	}
	return t, nil
}

// AppendFileLevelTrimOutput appends FILE_LEVEL_TRIM_OUTPUT: NumRangesProcessed.
func AppendFileLevelTrimOutput(b []byte, processed uint32) []byte { return le32(b, processed) }

// DuplicateExtentsData is DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3), the input
// of FSCTL_DUPLICATE_EXTENTS_TO_FILE in its SMB2 form: the source FileHandle
// is an SMB2_FILEID (persistent, volatile).
type DuplicateExtentsData struct {
	SourcePersistent, SourceVolatile uint64
	SourceFileOffset                 int64
	TargetFileOffset                 int64
	ByteCount                        int64
}

// DuplicateExtentsDataSize is the encoded size.
const DuplicateExtentsDataSize = 40

// DecodeDuplicateExtentsData decodes the input; negative offsets or counts
// are rejected.
func DecodeDuplicateExtentsData(b []byte) (DuplicateExtentsData, error) {
	const what = "DUPLICATE_EXTENTS_DATA"
	if len(b) < DuplicateExtentsDataSize {
		return DuplicateExtentsData{}, short(what, DuplicateExtentsDataSize, len(b))
	}
	d := DuplicateExtentsData{
		SourcePersistent: u64(b),
		SourceVolatile:   u64(b[8:]),
		SourceFileOffset: int64(u64(b[16:])),
		TargetFileOffset: int64(u64(b[24:])),
		ByteCount:        int64(u64(b[32:])),
	}
	if d.SourceFileOffset < 0 || d.TargetFileOffset < 0 || d.ByteCount < 0 {
		return DuplicateExtentsData{}, malformed(what, "negative offset or count")
	}
	return d, nil
}

// Append encodes the structure.
func (d *DuplicateExtentsData) Append(b []byte) []byte {
	b = le64(b, d.SourcePersistent)
	b = le64(b, d.SourceVolatile)
	b = le64(b, uint64(d.SourceFileOffset))
	b = le64(b, uint64(d.TargetFileOffset))
	return le64(b, uint64(d.ByteCount))
}

// DecodeNetworkResiliencyRequest decodes NETWORK_RESILIENCY_REQUEST
// (MS-SMB2 2.2.31.3), the input of FSCTL_LMR_REQUEST_RESILIENCY: Timeout in
// milliseconds (4), Reserved (4).
func DecodeNetworkResiliencyRequest(b []byte) (timeoutMs uint32, err error) {
	if len(b) < 8 {
		return 0, short("NETWORK_RESILIENCY_REQUEST", 8, len(b))
	}
	return u32(b), nil
}

// FILE_REGION_INFO Usage (MS-FSCC 2.3).
const FileRegionUsageValidCachedData = 0x00000001

// FileRegionInput is FILE_REGION_INPUT, the optional input of
// FSCTL_QUERY_FILE_REGIONS.
type FileRegionInput struct {
	FileOffset   int64
	Length       int64
	DesiredUsage uint32
}

// DecodeFileRegionInput decodes the input. ok is false for an empty input
// (query the whole file).
func DecodeFileRegionInput(b []byte) (in FileRegionInput, ok bool, err error) {
	if len(b) == 0 {
		return FileRegionInput{}, false, nil
	}
	if len(b) < 24 {
		return FileRegionInput{}, false, short("FILE_REGION_INPUT", 24, len(b))
	}
	in = FileRegionInput{FileOffset: int64(u64(b)), Length: int64(u64(b[8:])), DesiredUsage: u32(b[16:])}
	if in.FileOffset < 0 || in.Length < 0 {
		return FileRegionInput{}, false, malformed("FILE_REGION_INPUT", "negative range")
	}
	return in, true, nil
}

// FileRegion is one FILE_REGION_INFO.
type FileRegion struct {
	FileOffset int64
	Length     int64
	Usage      uint32
}

// AppendFileRegionOutput appends FILE_REGION_OUTPUT: Flags (4) = 0,
// TotalRegionEntryCount (4), RegionEntryCount (4), Reserved (4), then as many
// 24-byte FILE_REGION_INFO entries as fit in max bytes.
func AppendFileRegionOutput(b []byte, regions []FileRegion, max int) []byte {
	fit := 0
	if max > 16 {
		fit = min((max-16)/24, len(regions))
	}
	b = le32(b, 0)
	b = le32(b, uint32(len(regions)))
	b = le32(b, uint32(fit))
	b = le32(b, 0)
	for _, r := range regions[:fit] {
		b = le64(b, uint64(r.FileOffset))
		b = le64(b, uint64(r.Length))
		b = le32(b, r.Usage)
		b = le32(b, 0)
	}
	return b
}

// Len returns the encoded length of the request.
func (r *ValidateNegotiateInfoRequest) Len() int {
	return validateNegotiateInfoReqFixed + 2*len(r.Dialects)
}

// Len returns the encoded length of the request.
func (c *CopychunkCopy) Len() int { return copychunkFixed + chunkSize*len(c.Chunks) }
