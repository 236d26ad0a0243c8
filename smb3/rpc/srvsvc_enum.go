package rpc

import (
	"slices"
	"time"
)

// The srvsvc enumerations of things smb3d does not have or does not
// publish (character devices and their queues, per-share connections, open
// files, sessions, transports) answer with an empty list, as a Windows
// server with none of them does, instead of faulting.

// srvsvc opnums of the empty enumerations and the other small calls
// (MS-SRVS 3.1.4; names as in Samba's srvsvc.idl).
const (
	opNetrCharDevEnum         = 0
	opNetrCharDevQEnum        = 3
	opNetrConnectionEnum      = 8
	opNetrFileEnum            = 9
	opNetrSessionEnum         = 12
	opNetrServerDiskEnum      = 23
	opNetrServerTransportEnum = 26
	opNetrRemoteTOD           = 28
)

// emptyEnum describes one of the enumerations answered with no entries:
// how many optional strings precede the container, and the levels its
// union has (pointer) arms for.
type emptyEnum struct {
	strings int
	arms    []uint32
}

func init() {
	for op, x := range map[uint16]emptyEnum{
		opNetrCharDevEnum:         {1, []uint32{0, 1}},
		opNetrCharDevQEnum:        {2, []uint32{0, 1}},
		opNetrConnectionEnum:      {2, []uint32{0, 1}},
		opNetrFileEnum:            {3, []uint32{2, 3}},
		opNetrSessionEnum:         {3, []uint32{0, 1, 2, 10, 502}},
		opNetrServerTransportEnum: {1, []uint32{0, 1, 2, 3}},
	} {
		srvsvc.ops[op] = x.op
	}
	srvsvc.ops[opNetrServerDiskEnum] = netrServerDiskEnum
	srvsvc.ops[opNetrRemoteTOD] = netrRemoteTOD
}

// op decodes
//
//	([in,string,unique] WCHAR* ServerName, [in,string,unique] WCHAR* ... ,
//	 [in,out] LPxxx_ENUM_STRUCT InfoStruct, [in] DWORD PreferedMaximumLength,
//	 [out] DWORD* TotalEntries, [in,out,unique] DWORD* ResumeHandle)
//
// and answers the level with an empty container, or ERROR_INVALID_LEVEL.
// An input container holding entries is not read (clients send none).
func (x emptyEnum) op(p *Pipe, d *decoder, e *encoder) {
	for range x.strings {
		d.uniqueWstr()
	}
	level := d.u32()
	if sw := d.u32(); sw != level && d.err == nil {
		d.fail(formatErr("union discriminant"))
	}
	arm := slices.Contains(x.arms, level)
	if arm && d.ptr() {
		d.u32()
		if d.ptr() {
			d.fail(formatErr("input container with entries"))
		}
	}
	d.u32() // PreferedMaximumLength
	hasResume := d.ptr()
	if hasResume {
		d.u32()
	}
	if d.err != nil {
		return
	}
	e.u32(level)
	e.u32(level)
	status := werrOK
	if arm {
		e.ptr(true)
		e.u32(0)
		e.ptr(false)
	} else {
		status = werrInvalidLevel
	}
	e.u32(0) // TotalEntries
	e.ptr(hasResume)
	if hasResume {
		e.u32(0)
	}
	e.u32(status)
}

// netrServerDiskEnum is NetrServerDiskEnum (opnum 23, MS-SRVS 3.1.4.20):
// the one drive the share paths are shown on, "C:", and the empty entry
// that ends the list (MS-SRVS 2.2.4.66: Disk is a [string] WCHAR[3]).
//
//	NET_API_STATUS NetrServerDiskEnum([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [in] DWORD Level, [in,out] DISK_ENUM_CONTAINER* DiskInfoStruct,
//	    [in] DWORD PreferedMaximumLength, [out] DWORD* TotalEntries,
//	    [in,out,unique] DWORD* ResumeHandle);
func netrServerDiskEnum(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	level := d.u32()
	d.u32() // EntriesRead
	if d.ptr() {
		d.fail(formatErr("input disk array"))
	}
	d.u32()
	hasResume := d.ptr()
	if hasResume {
		d.u32()
	}
	if d.err != nil {
		return
	}
	if level != 0 {
		e.u32(0)
		e.ptr(false)
		e.u32(0)
		e.ptr(hasResume)
		if hasResume {
			e.u32(0)
		}
		e.u32(werrInvalidLevel)
		return
	}
	disks := []string{"C:", ""}
	e.u32(uint32(len(disks)))
	e.ptr(true)
	e.u32(uint32(len(disks))) // conformance
	e.u32(0)                  // offset
	e.u32(uint32(len(disks))) // variance
	for _, dk := range disks {
		e.u32(0) // offset within Disk[3]
		e.u32(uint32(len(dk) + 1))
		for _, c := range dk {
			e.u16(uint16(c))
		}
		e.u16(0)
	}
	e.u32(uint32(len(disks)))
	e.ptr(hasResume)
	if hasResume {
		e.u32(0)
	}
	e.u32(werrOK)
}

// netrRemoteTOD is NetrRemoteTOD (opnum 28, MS-SRVS 3.1.4.21): the
// server's time of day (TIME_OF_DAY_INFO, 2.2.4.105), in UTC.
//
//	NET_API_STATUS NetrRemoteTOD([in,string,unique] SRVSVC_HANDLE ServerName,
//	    [out] LPTIME_OF_DAY_INFO* BufferPtr);
func netrRemoteTOD(p *Pipe, d *decoder, e *encoder) {
	d.uniqueWstr()
	if d.err != nil {
		return
	}
	now := p.cfg.now().UTC()
	e.ptr(true)
	e.u32(uint32(now.Unix()))
	e.u32(uint32(time.Since(processStart).Milliseconds()))
	e.u32(uint32(now.Hour()))
	e.u32(uint32(now.Minute()))
	e.u32(uint32(now.Second()))
	e.u32(uint32(now.Nanosecond() / 10_000_000))
	e.u32(0)   // timezone: UTC
	e.u32(310) // tinterval, 0.0001 s units, as Windows reports
	e.u32(uint32(now.Day()))
	e.u32(uint32(now.Month()))
	e.u32(uint32(now.Year()))
	e.u32(uint32(now.Weekday()))
	e.u32(werrOK)
}

var processStart = time.Now()
