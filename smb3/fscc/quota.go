package fscc

import "encoding/binary"

// QuotaInformationSize is the size of a FILE_QUOTA_INFORMATION entry before
// the SID: NextEntryOffset (4), SidLength (4), ChangeTime (8), QuotaUsed (8),
// QuotaThreshold (8), QuotaLimit (8).
const QuotaInformationSize = 40

// Quota is one FILE_QUOTA_INFORMATION entry (MS-FSCC 2.4), the output of an
// SMB2_0_INFO_QUOTA query and the input of a quota SET_INFO.
type Quota struct {
	ChangeTime     uint64 // FILETIME
	QuotaUsed      int64
	QuotaThreshold int64
	QuotaLimit     int64
	SID            []byte // binary SID (MS-DTYP 2.4.2.2); aliases decoded input
}

// AppendQuotaInformation appends FILE_QUOTA_INFORMATION entries aligned on
// 8-byte boundaries, stopping before one that would exceed max bytes
// (overflow reported).
func AppendQuotaInformation(b []byte, qs []Quota, max int) (out []byte, overflow bool) {
	base := len(b)
	prev := -1
	for _, q := range qs {
		start := len(b)
		if prev >= 0 {
			start = base + align8(len(b)-base)
		}
		if start-base+QuotaInformationSize+len(q.SID) > max {
			return b, true
		}
		for len(b) < start {
			b = append(b, 0)
		}
		if prev >= 0 {
			binary.LittleEndian.PutUint32(b[prev:], uint32(start-prev))
		}
		prev = start
		b = le32(b, 0)
		b = le32(b, uint32(len(q.SID)))
		b = le64(b, q.ChangeTime)
		b = le64(b, uint64(q.QuotaUsed))
		b = le64(b, uint64(q.QuotaThreshold))
		b = le64(b, uint64(q.QuotaLimit))
		b = append(b, q.SID...)
	}
	return b, false
}

// DecodeQuotaInformation decodes a FILE_QUOTA_INFORMATION chain, validating
// every NextEntryOffset and SidLength.
func DecodeQuotaInformation(b []byte) ([]Quota, error) {
	const what = "FILE_QUOTA_INFORMATION"
	var out []Quota
	off := 0
	for {
		if len(b)-off < QuotaInformationSize {
			return nil, short(what, off+QuotaInformationSize, len(b))
		}
		e := b[off:]
		next := int(u32(e))
		sidLen := int(u32(e[4:]))
		if sidLen > len(e)-QuotaInformationSize {
			return nil, short(what, off+QuotaInformationSize+sidLen, len(b))
		}
		n := QuotaInformationSize + sidLen
		out = append(out, Quota{
			ChangeTime:     u64(e[8:]),
			QuotaUsed:      int64(u64(e[16:])),
			QuotaThreshold: int64(u64(e[24:])),
			QuotaLimit:     int64(u64(e[32:])),
			SID:            e[QuotaInformationSize:n:n],
		})
		if next == 0 {
			return out, nil
		}
		if next < n {
			return nil, malformed(what, "NextEntryOffset %d inside entry of %d bytes", next, n)
		}
		if next > len(e) {
			return nil, short(what, off+next, len(b))
		}
		off += next
	}
}

// QueryQuotaInfo is SMB2_QUERY_QUOTA_INFO (MS-SMB2 2.2.37.1), the input
// buffer of an SMB2_0_INFO_QUOTA QUERY_INFO: ReturnSingle (1),
// RestartScan (1), Reserved (2), SidListLength (4), StartSidLength (4),
// StartSidOffset (4), then either a FILE_GET_QUOTA_INFORMATION list
// (SidListLength bytes) or a start SID at StartSidOffset.
type QueryQuotaInfo struct {
	ReturnSingle bool
	RestartScan  bool
	// SIDs are the SIDs of the FILE_GET_QUOTA_INFORMATION list (each
	// entry: NextEntryOffset (4), SidLength (4), Sid), if SidListLength > 0.
	SIDs [][]byte
	// StartSID is the SID to start the scan at, if StartSidLength > 0.
	StartSID []byte
}

const queryQuotaInfoFixed = 16

// DecodeQueryQuotaInfo decodes and bounds-checks SMB2_QUERY_QUOTA_INFO.
// MS-SMB2 3.3.5.20.4: SidListLength and StartSidLength both nonzero is
// invalid.
func DecodeQueryQuotaInfo(b []byte) (QueryQuotaInfo, error) {
	const what = "SMB2_QUERY_QUOTA_INFO"
	if len(b) < queryQuotaInfoFixed {
		return QueryQuotaInfo{}, short(what, queryQuotaInfoFixed, len(b))
	}
	q := QueryQuotaInfo{ReturnSingle: b[0] != 0, RestartScan: b[1] != 0}
	listLen, startLen, startOff := int(u32(b[4:])), int(u32(b[8:])), int(u32(b[12:]))
	if listLen != 0 && startLen != 0 {
		return QueryQuotaInfo{}, malformed(what, "both SidListLength and StartSidLength set")
	}
	rest := b[queryQuotaInfoFixed:]
	if startLen != 0 {
		if startOff > len(rest) || startLen > len(rest)-startOff {
			return QueryQuotaInfo{}, short(what, queryQuotaInfoFixed+startOff+startLen, len(b))
		}
		q.StartSID = rest[startOff : startOff+startLen : startOff+startLen]
		return q, nil
	}
	if listLen == 0 {
		return q, nil
	}
	if listLen > len(rest) {
		return QueryQuotaInfo{}, short(what, queryQuotaInfoFixed+listLen, len(b))
	}
	list := rest[:listLen]
	const ewhat = "FILE_GET_QUOTA_INFORMATION"
	off := 0
	for {
		if len(list)-off < 8 {
			return QueryQuotaInfo{}, short(ewhat, off+8, len(list))
		}
		e := list[off:]
		next, sidLen := int(u32(e)), int(u32(e[4:]))
		if sidLen > len(e)-8 {
			return QueryQuotaInfo{}, short(ewhat, off+8+sidLen, len(list))
		}
		q.SIDs = append(q.SIDs, e[8:8+sidLen:8+sidLen])
		if next == 0 {
			return q, nil
		}
		if next < 8+sidLen {
			return QueryQuotaInfo{}, malformed(ewhat, "NextEntryOffset %d inside entry", next)
		}
		if next > len(e) {
			return QueryQuotaInfo{}, short(ewhat, off+next, len(list))
		}
		off += next
	}
}

// Append encodes the request (SIDs as a FILE_GET_QUOTA_INFORMATION list
// with 4-byte aligned entries, or StartSID right after the header).
func (q *QueryQuotaInfo) Append(b []byte) []byte {
	b = append(b, boolByte(q.ReturnSingle), boolByte(q.RestartScan), 0, 0)
	var list []byte
	prev := -1
	for _, sid := range q.SIDs {
		if prev >= 0 {
			for len(list)%4 != 0 {
				list = append(list, 0)
			}
			binary.LittleEndian.PutUint32(list[prev:], uint32(len(list)-prev))
		}
		prev = len(list)
		list = le32(list, 0)
		list = le32(list, uint32(len(sid)))
		list = append(list, sid...)
	}
	b = le32(b, uint32(len(list)))
	b = le32(b, uint32(len(q.StartSID)))
	b = le32(b, 0) // StartSidOffset: right after the header
	b = append(b, list...)
	return append(b, q.StartSID...)
}
