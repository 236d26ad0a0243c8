package rpc

import "slices"

// wkssvc opnums (MS-WKST 3.2.4).
const (
	opNetrWkstaGetInfo = 0
	wkssvcMaxOpnum     = 30 // NetrEnumerateComputerNames
)

// SyntaxWkssvc is the wkssvc interface, version 1.0 (MS-WKST 1.9).
var SyntaxWkssvc = SyntaxID{ParseUUID("6bffd098-a112-3610-9833-46c3f87e345a"), 1}

var wkssvc = &iface{
	name:     "wkssvc",
	syntax:   SyntaxWkssvc,
	maxOpnum: wkssvcMaxOpnum,
	ops: map[uint16]opFunc{
		opNetrWkstaGetInfo: netrWkstaGetInfo,
	},
}

// wkstaInfoArms are the WKSTA_INFO union's arms (MS-WKST 2.2.4.1, with the
// levels Samba's wkssvc.idl adds); all are pointers.
var wkstaInfoArms = []uint32{100, 101, 102, 502, 1010, 1011, 1012, 1013, 1018, 1023, 1027, 1028,
	1032, 1033, 1041, 1042, 1043, 1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051, 1052, 1053, 1054,
	1055, 1056, 1057, 1058, 1059, 1060, 1061, 1062}

// netrWkstaGetInfo is NetrWkstaGetInfo (opnum 0, MS-WKST 3.2.4.1), levels
// 100, 101, 102 and 502 (102 and 502 for administrators).
//
//	unsigned long NetrWkstaGetInfo([in,string,unique] WKSSVC_IDENTIFY_HANDLE ServerName,
//	    [in] unsigned long Level, [out,switch_is(Level)] LPWKSTA_INFO WkstaInfo);
func netrWkstaGetInfo(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	level := d.u32()
	if d.err != nil {
		return
	}
	e.u32(level)
	status := werrOK
	switch {
	case level != 100 && level != 101 && level != 102 && level != 502:
		status = werrInvalidLevel
	case level >= 102 && !p.cfg.Admin:
		status = werrAccessDenied
	}
	if status != werrOK {
		if slices.Contains(wkstaInfoArms, level) {
			e.ptr(false)
		}
		e.u32(status)
		return
	}
	c := p.cfg
	e.ptr(true)
	if level == 502 {
		// WKSTA_INFO_502 (MS-WKST 2.2.5.7): the redirector's tunables,
		// which smb3d does not have; zero but for the few with a
		// meaning a client might show.
		var v [35]uint32
		v[5] = 60 // wki502_session_timeout, seconds
		v[21] = 1 // wki502_use_opportunistic_locking
		v[24] = 1 // wki502_buf_named_pipes
		for _, x := range v {
			e.u32(x)
		}
		e.u32(werrOK)
		return
	}
	e.u32(platformIDNT)
	e.ptr(true) // computer name
	e.ptr(true) // lan group
	e.u32(serverVersionMajor)
	e.u32(serverVersionMinor)
	if level >= 101 {
		e.ptr(false) // lan root
	}
	if level == 102 {
		e.u32(0) // logged on users
	}
	e.wstr(c.ServerName)
	e.wstr(c.Domain)
	e.u32(werrOK)
}
