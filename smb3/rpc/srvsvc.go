package rpc

import (
	"slices"
	"strings"
)

// Share types (MS-SRVS 2.2.2.4).
const (
	STypeDiskTree  uint32 = 0x00000000
	STypePrintQ    uint32 = 0x00000001
	STypeDevice    uint32 = 0x00000002
	STypeIPC       uint32 = 0x00000003
	STypeTemporary uint32 = 0x40000000
	STypeSpecial   uint32 = 0x80000000
)

// Share is one share as srvsvc describes it.
type Share struct {
	Name    string
	Type    uint32 // STypeDiskTree, or STypeIPC|STypeSpecial for IPC$
	Comment string
	Path    string // local path, shown at levels 2 and 502 ("C:\..." style)
	Flags   uint32 // SHARE_INFO_1005 flags (CSC caching, MS-SRVS 2.2.4.29)
}

// ShareLister is what srvsvc asks for the shares: the ones to list, in a
// stable order (resume handles are indexes into it). Hidden shares are left
// out by the implementation; names ending in '$' are listed by NetShareEnumAll
// and skipped by NetShareEnum (the "sticky" variant), as Windows does.
type ShareLister interface {
	Shares() []Share
}

// ShareListerFunc adapts a function to ShareLister.
type ShareListerFunc func() []Share

func (f ShareListerFunc) Shares() []Share { return f() }

// Win32 error codes returned as WERROR / NET_API_STATUS (MS-ERREF 2.2).
const (
	werrOK               uint32 = 0
	werrAccessDenied     uint32 = 5
	werrNotSupported     uint32 = 50
	werrInvalidParameter uint32 = 87
	werrInvalidName      uint32 = 123
	werrInvalidLevel     uint32 = 124
	werrMoreData         uint32 = 234
	nerrNetNameNotFound  uint32 = 2310
	nerrDeviceNotShared  uint32 = 2311
)

// srvsvc opnums (MS-SRVS 3.1.4).
const (
	opNetrShareEnum       = 15
	opNetrShareGetInfo    = 16
	opNetrServerGetInfo   = 21
	opNetrShareCheck      = 20
	opNetrShareEnumSticky = 36
	srvsvcMaxOpnum        = 57 // NetrServerAliasDel
)

// SyntaxSrvsvc is the srvsvc interface, version 3.0 (MS-SRVS 1.9).
var SyntaxSrvsvc = SyntaxID{ParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), 3}

var srvsvc = &iface{
	name:     "srvsvc",
	syntax:   SyntaxSrvsvc,
	maxOpnum: srvsvcMaxOpnum,
	ops: map[uint16]opFunc{
		opNetrShareEnum:       func(p *Pipe, d *decoder, e *encoder) { netrShareEnum(p, d, e, true) },
		opNetrShareEnumSticky: func(p *Pipe, d *decoder, e *encoder) { netrShareEnum(p, d, e, false) },
		opNetrShareGetInfo:    netrShareGetInfo,
		opNetrShareCheck:      netrShareCheck,
		opNetrServerGetInfo:   netrServerGetInfo,
	},
}

// shareInfoArms are the levels the SHARE_ENUM_UNION and SHARE_INFO unions
// have a (pointer) arm for; any other level has the empty default arm
// (MS-SRVS 2.2.3.2, 2.2.3.6; Samba's srvsvc.idl adds 1004..1007, 1501).
var shareInfoArms = []uint32{0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1007, 1501}

// shareInfoFields lays out SHARE_INFO_x for decoding an input container and
// for the entry size estimate: 's' a string pointer, 'u' a DWORD, 'b' a DWORD
// count and a pointer to that many bytes (the 502 security descriptor).
var shareInfoFields = map[uint32]string{
	0:   "s",
	1:   "sus",
	2:   "susuuuss",
	501: "susu",
	502: "susuuussb",
}

// shareInfoFixed is the size of SHARE_INFO_x in a 32-bit NetApi buffer, the
// unit PreferedMaximumLength counts in along with the strings.
var shareInfoFixed = map[uint32]int{0: 4, 1: 12, 2: 32, 501: 16, 502: 40}

// netrShareEnum is NetrShareEnum (opnum 15, MS-SRVS 3.1.4.8) and, with
// all false, NetrShareEnumSticky (opnum 36, 3.1.4.9: no special shares, and
// no level 501).
//
//	NET_API_STATUS NetrShareEnum([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [in,out] LPSHARE_ENUM_STRUCT InfoStruct, [in] DWORD PreferedMaximumLength,
//	    [out] DWORD* TotalEntries, [in,out,unique] DWORD* ResumeHandle);
func netrShareEnum(p *Pipe, d *decoder, e *encoder, all bool) {
	d.uniqueWstr()
	level := d.u32()
	if sw := d.u32(); sw != level && d.err == nil {
		d.fail(formatErr("union discriminant"))
	}
	if slices.Contains(shareInfoArms, level) && d.ptr() {
		count := d.u32()
		if d.ptr() {
			skipShareInfoArray(d, level, count)
		}
	}
	prefMax := d.u32()
	hasResume := d.ptr()
	var resume uint32
	if hasResume {
		resume = d.u32()
	}
	if d.err != nil {
		return
	}

	status := werrOK
	if _, ok := shareInfoFields[level]; !ok || level == 501 && !all {
		status = werrInvalidLevel
	} else if (level == 2 || level == 501 || level == 502) && !p.cfg.Admin {
		// MS-SRVS 3.1.4.8: levels 2 and 502 are for administrators
		// (and 501 too, as Windows answers anonymous callers).
		status = werrAccessDenied
	}
	var list []Share
	if status == werrOK {
		for _, s := range p.cfg.shares() {
			if !all && strings.HasSuffix(s.Name, "$") {
				continue
			}
			list = append(list, s)
		}
	}
	var total uint32
	var entries []Share
	nextResume := uint32(0)
	if status == werrOK {
		start := min(int(resume), len(list))
		rest := list[start:]
		total = uint32(len(rest))
		n := len(rest)
		if prefMax != 0xFFFFFFFF {
			// MS-SRVS 3.1.4.8: as many entries as fit in
			// PreferedMaximumLength, at least one, and
			// ERROR_MORE_DATA with a ResumeHandle when some are left.
			size := 0
			for i, s := range rest {
				size += shareInfoFixed[level] + 2*(len(s.Name)+1)
				if level != 0 {
					size += 2 * (len(s.Comment) + 1)
				}
				if level == 2 || level == 502 {
					size += 2 * (len(s.Path) + 1)
				}
				if size > int(prefMax) && i > 0 {
					n = i
					break
				}
			}
		}
		entries = rest[:n]
		if n < len(rest) {
			status = werrMoreData
			nextResume = uint32(start + n)
		}
	}

	e.u32(level)
	e.u32(level)
	if slices.Contains(shareInfoArms, level) {
		if status == werrOK || status == werrMoreData {
			e.ptr(true)
			e.u32(uint32(len(entries)))
			e.ptr(len(entries) > 0)
			if len(entries) > 0 {
				e.u32(uint32(len(entries)))
				for i := range entries {
					shareInfoScalars(e, level, &entries[i])
				}
				for i := range entries {
					shareInfoBuffers(e, level, &entries[i])
				}
			}
		} else {
			e.ptr(false)
		}
	}
	e.u32(total)
	e.ptr(hasResume)
	if hasResume {
		e.u32(nextResume)
	}
	e.u32(status)
}

// skipShareInfoArray reads the [size_is(count)] array an input container
// points to (clients send NULL; the data is ignored, MS-SRVS 3.1.4.8).
func skipShareInfoArray(d *decoder, level, count uint32) {
	fields, ok := shareInfoFields[level]
	if !ok {
		d.fail(formatErr("input array at unknown level"))
		return
	}
	if m := d.u32(); m != count || d.err != nil {
		d.fail(formatErr("array count"))
		return
	}
	if int64(count)*int64(4*len(fields)) > int64(len(d.b)) {
		d.fail(formatErr("array count"))
		return
	}
	type deferred struct {
		kind byte
		n    uint32
	}
	var defs []deferred
	for range count {
		var last uint32
		for _, f := range []byte(fields) {
			switch f {
			case 's':
				if d.ptr() {
					defs = append(defs, deferred{kind: 's'})
				}
			case 'u':
				last = d.u32()
			case 'b':
				last = d.u32()
				if d.ptr() {
					defs = append(defs, deferred{kind: 'b', n: last})
				}
			}
		}
		_ = last
		if d.err != nil {
			return
		}
	}
	for _, df := range defs {
		if df.kind == 's' {
			d.wstr()
		} else {
			d.confBytes(df.n)
		}
		if d.err != nil {
			return
		}
	}
}

// shareInfoScalars writes the fixed part of SHARE_INFO_level
// (MS-SRVS 2.2.4.22 .. 2.2.4.26).
func shareInfoScalars(e *encoder, level uint32, s *Share) {
	e.ptr(true) // netname
	if level == 0 {
		return
	}
	e.u32(s.Type)
	e.ptr(true) // remark
	switch level {
	case 2, 502:
		e.u32(0)          // permissions (ignored by servers in user-level security)
		e.u32(0xFFFFFFFF) // max_uses: unlimited
		e.u32(0)          // current_uses
		e.ptr(true)       // path
		e.ptr(false)      // passwd
		if level == 502 {
			e.u32(0)     // reserved: size of the security descriptor
			e.ptr(false) // security_descriptor
		}
	case 501:
		e.u32(s.Flags)
	}
}

// shareInfoBuffers writes the strings shareInfoScalars pointed to.
func shareInfoBuffers(e *encoder, level uint32, s *Share) {
	e.wstr(s.Name)
	if level == 0 {
		return
	}
	e.wstr(s.Comment)
	if level == 2 || level == 502 {
		e.wstr(s.Path)
	}
}

// netrShareGetInfo is NetrShareGetInfo (opnum 16, MS-SRVS 3.1.4.10), levels
// 0, 1, 2, 501, 502, 1004, 1005 and 1006 (2 and 502 for administrators).
//
//	NET_API_STATUS NetrShareGetInfo([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [in,string] WCHAR* NetName, [in] DWORD Level,
//	    [out,switch_is(Level)] LPSHARE_INFO InfoStruct);
func netrShareGetInfo(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	name := d.wstr()
	level := d.u32()
	if d.err != nil {
		return
	}
	status := werrOK
	var share Share
	switch level {
	case 0, 1, 2, 501, 502, 1004, 1005, 1006:
		if (level == 2 || level == 502) && !p.cfg.Admin {
			status = werrAccessDenied
			break
		}
		found := false
		for _, s := range p.cfg.shares() {
			if strings.EqualFold(s.Name, name) {
				share, found = s, true
				break
			}
		}
		if !found {
			status = nerrNetNameNotFound
		}
	default:
		status = werrInvalidLevel
	}
	e.u32(level)
	if slices.Contains(shareInfoArms, level) {
		e.ptr(status == werrOK)
		if status == werrOK {
			switch level {
			case 1004: // SHARE_INFO_1004: the remark
				e.ptr(true)
				e.wstr(share.Comment)
			case 1005: // SHARE_INFO_1005: the flags
				e.u32(share.Flags)
			case 1006: // SHARE_INFO_1006: max_uses, unlimited
				e.u32(0xFFFFFFFF)
			default:
				shareInfoScalars(e, level, &share)
				shareInfoBuffers(e, level, &share)
			}
		}
	}
	e.u32(status)
}

// netrShareCheck is NetrShareCheck (opnum 20, MS-SRVS 3.1.4.16): is a
// local path (a device) shared, and as what type.
//
//	NET_API_STATUS NetrShareCheck([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [in,string] WCHAR* Device, [out] DWORD* Type);
func netrShareCheck(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	dev := d.wstr()
	if d.err != nil {
		return
	}
	for _, s := range p.cfg.shares() {
		if strings.EqualFold(s.Path, dev) {
			e.u32(s.Type)
			e.u32(werrOK)
			return
		}
	}
	e.u32(0)
	e.u32(nerrDeviceNotShared)
}

// Server information (MS-SRVS 2.2.4.40 .. 2.2.4.42).
const (
	platformIDNT              = 500
	svTypeWorkstation  uint32 = 0x00000001
	svTypeServer       uint32 = 0x00000002
	svTypeNT           uint32 = 0x00001000
	svTypeServerNT     uint32 = 0x00008000
	serverVersionMajor        = 10
	serverVersionMinor        = 0
)

// serverInfoArms are the SERVER_INFO union's arms (MS-SRVS 2.2.3.7); all
// are pointers.
var serverInfoArms = []uint32{100, 101, 102, 103, 502, 503, 599, 1005, 1107, 1010, 1016, 1017, 1018,
	1501, 1502, 1503, 1506, 1510, 1511, 1512, 1513, 1514, 1515, 1516, 1518, 1523, 1528, 1529, 1530,
	1533, 1534, 1535, 1536, 1538, 1539, 1540, 1541, 1542, 1543, 1544, 1545, 1546, 1547, 1548, 1549,
	1550, 1552, 1553, 1554, 1555, 1556}

// netrServerGetInfo is NetrServerGetInfo (opnum 21, MS-SRVS 3.1.4.17).
//
//	NET_API_STATUS NetrServerGetInfo([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [in] DWORD Level, [out,switch_is(Level)] LPSERVER_INFO InfoStruct);
func netrServerGetInfo(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	level := d.u32()
	if d.err != nil {
		return
	}
	e.u32(level)
	switch level {
	case 100, 101, 102:
	default:
		if slices.Contains(serverInfoArms, level) {
			e.ptr(false)
		}
		e.u32(werrInvalidLevel)
		return
	}
	c := p.cfg
	e.ptr(true)
	e.u32(platformIDNT)
	e.ptr(true) // name
	if level >= 101 {
		e.u32(serverVersionMajor)
		e.u32(serverVersionMinor)
		e.u32(svTypeWorkstation | svTypeServer | svTypeNT | svTypeServerNT)
		e.ptr(true) // comment
	}
	if level == 102 {
		e.u32(0xFFFFFFFF) // users: no limit
		e.u32(0xFFFFFFFF) // disc: no autodisconnect (-1)
		e.u32(0)          // hidden: no
		e.u32(240)        // announce, seconds
		e.u32(3000)       // anndelta, milliseconds
		e.u32(0)          // licenses
		e.ptr(true)       // userpath
	}
	e.wstr(c.ServerName)
	if level >= 101 {
		e.wstr(c.Comment)
	}
	if level == 102 {
		e.wstr(`C:\`)
	}
	e.u32(werrOK)
}
