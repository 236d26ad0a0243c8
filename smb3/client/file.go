package client

import (
	"fmt"
	"io"
	"time"

	"smb3d/smb3/wire"
	"smb3d/transport"
)

// Access masks, dispositions and options of CREATE (MS-SMB2 2.2.13).
const (
	AccessReadData       uint32 = 0x00000001
	AccessWriteData      uint32 = 0x00000002
	AccessReadAttributes uint32 = 0x00000080
	AccessDelete         uint32 = 0x00010000
	AccessSynchronize    uint32 = 0x00100000
	AccessMaximumAllowed uint32 = 0x02000000
	AccessGenericWrite   uint32 = 0x40000000
	AccessGenericRead    uint32 = 0x80000000

	ShareAll uint32 = 0x7 // READ|WRITE|DELETE

	DispSupersede   uint32 = 0
	DispOpen        uint32 = 1
	DispCreate      uint32 = 2
	DispOpenIf      uint32 = 3
	DispOverwrite   uint32 = 4
	DispOverwriteIf uint32 = 5

	OptDirectory    uint32 = 0x00000001
	OptNonDirectory uint32 = 0x00000040

	AttrNormal    uint32 = 0x80
	AttrDirectory uint32 = 0x10
)

// Info levels used here (MS-FSCC 2.4).
const (
	infoFile                     = 1
	classFileDisposition         = 13
	classFileNetworkOpen         = 34
	classFileDirectory           = 1
	classFileIDBothDirectoryInfo = 37
)

// CreateOptions are the fields of a CREATE request.
type CreateOptions struct {
	Access      uint32
	Attributes  uint32
	Share       uint32
	Disposition uint32
	Options     uint32
	// LeaseKey asks for a v2 lease with LeaseState (R=1, H=2, W=4).
	LeaseKey   *[16]byte
	LeaseState uint32
}

// FileInfo is what CREATE and FileNetworkOpenInformation return.
type FileInfo struct {
	Size       int64
	Attributes uint32
	Modified   time.Time
}

// IsDir reports the directory attribute.
func (fi FileInfo) IsDir() bool { return fi.Attributes&AttrDirectory != 0 }

// File is an open handle.
type File struct {
	t    *Tree
	ID   wire.FileID
	Info FileInfo
}

func fileTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ft-116444736000000000)*100)
}

func (t *Tree) hdr(cmd wire.Command, extra int) []byte { return header(cmd, t.s.id, t.id, extra) }

func (t *Tree) createReq(name string, o CreateOptions) req {
	if o.Share == 0 {
		o.Share = ShareAll
	}
	n := utf16LE(name)
	b := t.hdr(wire.CmdCreate, 56+len(n)+8)
	b = le.AppendUint16(b, 57)
	b = append(b, 0, 0)       // SecurityFlags, RequestedOplockLevel (none)
	b = le.AppendUint32(b, 2) // ImpersonationLevel: Impersonation
	b = le.AppendUint64(b, 0) // SmbCreateFlags
	b = le.AppendUint64(b, 0) // Reserved
	b = le.AppendUint32(b, o.Access)
	b = le.AppendUint32(b, o.Attributes)
	b = le.AppendUint32(b, o.Share)
	b = le.AppendUint32(b, o.Disposition)
	b = le.AppendUint32(b, o.Options)
	b = le.AppendUint16(b, wire.HeaderSize+56) // NameOffset
	b = le.AppendUint16(b, uint16(len(n)))
	b = le.AppendUint32(b, 0) // CreateContextsOffset
	b = le.AppendUint32(b, 0) // CreateContextsLength
	b = append(b, n...)
	if len(n) == 0 {
		b = append(b, 0)
	}
	if o.LeaseKey != nil {
		// SMB2_CREATE_REQUEST_LEASE_V2 (MS-SMB2 2.2.13.2.10).
		b[wire.HeaderSize+3] = 0xFF // RequestedOplockLevel: lease
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		off := len(b)
		var data []byte
		data = append(data, o.LeaseKey[:]...)
		data = le.AppendUint32(data, o.LeaseState)
		data = append(data, make([]byte, 12+16+4)...) // flags, duration, parent key, epoch, reserved
		b = wire.AppendCreateContexts(b, []wire.CreateContext{{Name: "RqLs", Data: data}})
		le.PutUint32(b[wire.HeaderSize+48:], uint32(off))
		le.PutUint32(b[wire.HeaderSize+52:], uint32(len(b)-off))
	}
	return req{msg: b}
}

func related() wire.FileID { return wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)} }

func (t *Tree) closeReq(id wire.FileID) req {
	b := t.hdr(wire.CmdClose, 24)
	b = le.AppendUint16(b, 24)
	b = le.AppendUint16(b, 0) // Flags
	b = le.AppendUint32(b, 0)
	b = wire.AppendFileID(b, id)
	return req{msg: b}
}

func (t *Tree) queryInfoReq(id wire.FileID, typ, class uint8, outLen uint32) req {
	b := t.hdr(wire.CmdQueryInfo, 41)
	b = le.AppendUint16(b, 41)
	b = append(b, typ, class)
	b = le.AppendUint32(b, outLen)
	b = le.AppendUint16(b, 0) // InputBufferOffset
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0) // InputBufferLength
	b = le.AppendUint32(b, 0) // AdditionalInformation
	b = le.AppendUint32(b, 0) // Flags
	b = wire.AppendFileID(b, id)
	b = append(b, 0)
	return req{msg: b, charge: charge(int(outLen))}
}

func (t *Tree) setInfoReq(id wire.FileID, typ, class uint8, buf []byte) req {
	b := t.hdr(wire.CmdSetInfo, 32+len(buf))
	b = le.AppendUint16(b, 33)
	b = append(b, typ, class)
	b = le.AppendUint32(b, uint32(len(buf)))
	b = le.AppendUint16(b, wire.HeaderSize+32) // BufferOffset
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0) // AdditionalInformation
	b = wire.AppendFileID(b, id)
	b = append(b, buf...)
	return req{msg: b, charge: charge(len(buf))}
}

// charge is the credit charge of a payload of n bytes (MS-SMB2 3.1.5.2).
func charge(n int) uint16 {
	if n <= 0 {
		return 1
	}
	return uint16((n-1)/65536 + 1)
}

func releaseAll(rs []Response) {
	for i := range rs {
		rs[i].Release()
	}
}

func parseCreate(r *Response) (wire.FileID, FileInfo, error) {
	b := r.Body()
	if len(b) < 88 {
		return wire.FileID{}, FileInfo{}, fmt.Errorf("%w: short CREATE response", ErrProtocol)
	}
	fi := FileInfo{Size: int64(le.Uint64(b[48:])), Attributes: le.Uint32(b[56:]), Modified: fileTime(le.Uint64(b[24:]))}
	return wire.FileID{Persistent: le.Uint64(b[64:]), Volatile: le.Uint64(b[72:])}, fi, nil
}

func status(r *Response, cmd wire.Command) error {
	if st := r.Status(); st != wire.StatusSuccess {
		return &StatusError{cmd, st}
	}
	return nil
}

// Create opens or creates name (a path relative to the share, with
// backslashes).
func (t *Tree) Create(name string, o CreateOptions) (*File, error) {
	rs, err := t.s.call(t.createReq(name, o))
	if err != nil {
		return nil, err
	}
	defer releaseAll(rs)
	if err := status(&rs[0], wire.CmdCreate); err != nil {
		return nil, err
	}
	id, fi, err := parseCreate(&rs[0])
	if err != nil {
		return nil, err
	}
	return &File{t: t, ID: id, Info: fi}, nil
}

// OpenRead opens an existing file for reading.
func (t *Tree) OpenRead(name string) (*File, error) {
	return t.Create(name, CreateOptions{Access: AccessGenericRead, Disposition: DispOpen, Options: OptNonDirectory})
}

// OpenWrite opens name for reading and writing, creating it if needed.
func (t *Tree) OpenWrite(name string) (*File, error) {
	return t.Create(name, CreateOptions{Access: AccessGenericRead | AccessGenericWrite, Attributes: AttrNormal,
		Disposition: DispOpenIf, Options: OptNonDirectory})
}

// OpenDir opens a directory for listing ("" is the share root).
func (t *Tree) OpenDir(name string) (*File, error) {
	return t.Create(name, CreateOptions{Access: AccessGenericRead, Disposition: DispOpen, Options: OptDirectory})
}

// createClose sends CREATE and CLOSE as one related compound.
func (t *Tree) createClose(name string, o CreateOptions) error {
	rs, err := t.s.call(t.createReq(name, o), t.closeReq(related()))
	if err != nil {
		return err
	}
	defer releaseAll(rs)
	return status(&rs[0], wire.CmdCreate)
}

// Mkdir creates a directory (CREATE+CLOSE in one compound).
func (t *Tree) Mkdir(name string) error {
	return t.createClose(name, CreateOptions{Access: AccessGenericRead, Attributes: AttrDirectory,
		Disposition: DispCreate, Options: OptDirectory})
}

// Touch creates or truncates a file (CREATE+CLOSE in one compound).
func (t *Tree) Touch(name string) error {
	return t.createClose(name, CreateOptions{Access: AccessGenericRead | AccessGenericWrite, Attributes: AttrNormal,
		Disposition: DispOverwriteIf, Options: OptNonDirectory})
}

// Stat returns FileNetworkOpenInformation of name with
// CREATE+QUERY_INFO+CLOSE in one compound.
func (t *Tree) Stat(name string) (FileInfo, error) {
	rs, err := t.s.call(
		t.createReq(name, CreateOptions{Access: AccessReadAttributes, Disposition: DispOpen}),
		t.queryInfoReq(related(), infoFile, classFileNetworkOpen, 56),
		t.closeReq(related()))
	if err != nil {
		return FileInfo{}, err
	}
	defer releaseAll(rs)
	if err := status(&rs[0], wire.CmdCreate); err != nil {
		return FileInfo{}, err
	}
	if err := status(&rs[1], wire.CmdQueryInfo); err != nil {
		return FileInfo{}, err
	}
	out, err := bufferResponse(&rs[1])
	if err != nil || len(out) < 56 {
		return FileInfo{}, fmt.Errorf("%w: short FileNetworkOpenInformation", ErrProtocol)
	}
	return FileInfo{Size: int64(le.Uint64(out[40:])), Attributes: le.Uint32(out[48:]), Modified: fileTime(le.Uint64(out[16:]))}, nil
}

// Remove deletes name: CREATE with DELETE access, SET_INFO
// FileDispositionInformation, CLOSE (MS-FSCC 2.4.11), in one compound.
func (t *Tree) Remove(name string) error {
	rs, err := t.s.call(
		t.createReq(name, CreateOptions{Access: AccessDelete, Disposition: DispOpen}),
		t.setInfoReq(related(), infoFile, classFileDisposition, []byte{1}),
		t.closeReq(related()))
	if err != nil {
		return err
	}
	defer releaseAll(rs)
	if err := status(&rs[0], wire.CmdCreate); err != nil {
		return err
	}
	return status(&rs[1], wire.CmdSetInfo)
}

// bufferResponse returns the output buffer of a QUERY_INFO or
// QUERY_DIRECTORY response (MS-SMB2 2.2.34, 2.2.38).
func bufferResponse(r *Response) ([]byte, error) {
	b := r.Body()
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: short response", ErrProtocol)
	}
	o, n := uint64(le.Uint16(b[2:])), uint64(le.Uint32(b[4:]))
	if n == 0 {
		return nil, nil
	}
	if o+n > uint64(len(r.Msg)) {
		return nil, fmt.Errorf("%w: output buffer out of range", ErrProtocol)
	}
	return r.Msg[o : o+n], nil
}

// Close closes the handle.
func (f *File) Close() error {
	rs, err := f.t.s.call(f.t.closeReq(f.ID))
	if err != nil {
		return err
	}
	defer releaseAll(rs)
	return status(&rs[0], wire.CmdClose)
}

// ReadAt reads up to len(p) bytes at off with one READ (len(p) must not
// exceed the session's MaxRead). At end of file it returns io.EOF. Over
// SMB-Direct the server writes the data into a registered buffer by RDMA
// (rdma.go).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	s := f.t.s
	c := s.pick()
	slot, err := s.rdmaSlotFor(c, len(p))
	if err != nil {
		return 0, err
	}
	if slot != nil {
		defer c.rdma.put(slot)
	}
	rs, err := c.roundTrip([]req{f.readReq(len(p), off, slot)}, nil)
	if err != nil {
		return 0, err
	}
	r := &rs[0]
	defer r.Release()
	if r.Status() == wire.StatusEndOfFile {
		return 0, io.EOF
	}
	if err := status(r, wire.CmdRead); err != nil {
		return 0, err
	}
	var rdmaBuf []byte
	if slot != nil {
		rdmaBuf = slot.b
	}
	data, err := readResponseData(r.Msg, len(p), rdmaBuf)
	if err != nil {
		return 0, err
	}
	return copy(p, data), nil
}

// readResponseData returns the data of a successful READ response msg
// (MS-SMB2 2.2.20) for a request of n bytes: inline at DataOffset, or, when
// the request named rdmaBuf and DataLength is 0, the first DataRemaining
// bytes of rdmaBuf, which the server wrote by RDMA (MS-SMB2 3.3.5.12; data
// returned inline instead is taken).
func readResponseData(msg []byte, n int, rdmaBuf []byte) ([]byte, error) {
	if len(msg) < wire.HeaderSize+16 {
		return nil, fmt.Errorf("%w: short READ response", ErrProtocol)
	}
	body := msg[wire.HeaderSize:]
	if rdmaBuf != nil && le.Uint32(body[4:]) == 0 {
		k := uint64(le.Uint32(body[8:]))
		if k > uint64(n) || k > uint64(len(rdmaBuf)) {
			return nil, fmt.Errorf("%w: READ by RDMA of %d bytes into %d", ErrProtocol, k, n)
		}
		return rdmaBuf[:k], nil
	}
	o, k := uint64(body[2]), uint64(le.Uint32(body[4:]))
	if o+k > uint64(len(msg)) || k > uint64(n) {
		return nil, fmt.Errorf("%w: READ data out of range", ErrProtocol)
	}
	return msg[o : o+k], nil
}

// readReq builds a READ (MS-SMB2 2.2.19) of n bytes at off; with slot, the
// data goes into it by RDMA (Channel SMB2_CHANNEL_RDMA_V1 and the slot's
// buffer descriptor as ReadChannelInfo).
func (f *File) readReq(n int, off int64, slot *rdmaSlot) req {
	b := f.t.hdr(wire.CmdRead, 64)
	b = le.AppendUint16(b, 49)
	b = append(b, 0x50, 0) // Padding: data right after the 16-byte response body, Flags
	b = le.AppendUint32(b, uint32(n))
	b = le.AppendUint64(b, uint64(off))
	b = wire.AppendFileID(b, f.ID)
	b = le.AppendUint32(b, 0) // MinimumCount
	if slot == nil {
		b = le.AppendUint32(b, wire.ChannelNone)
		b = le.AppendUint32(b, 0) // RemainingBytes
		b = le.AppendUint16(b, 0) // ReadChannelInfoOffset
		b = le.AppendUint16(b, 0) // ReadChannelInfoLength
		b = append(b, 0)
	} else {
		b = le.AppendUint32(b, wire.ChannelRDMAV1)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint16(b, wire.HeaderSize+48)
		b = le.AppendUint16(b, transport.BufferDescriptorSize)
		b = appendDescriptor(b, slot.desc)
	}
	return req{msg: b, charge: charge(n)}
}

// writeReq builds a WRITE (MS-SMB2 2.2.21) of p at off; with slot (holding
// a copy of p), the server pulls the data by RDMA: Channel
// SMB2_CHANNEL_RDMA_V1, Length and DataOffset 0, RemainingBytes the length
// and the slot's buffer descriptor as WriteChannelInfo.
func (f *File) writeReq(p []byte, off int64, slot *rdmaSlot) req {
	b := f.t.hdr(wire.CmdWrite, 64)
	b = le.AppendUint16(b, 49)
	if slot == nil {
		b = le.AppendUint16(b, wire.HeaderSize+48) // DataOffset
		b = le.AppendUint32(b, uint32(len(p)))
	} else {
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 0)
	}
	b = le.AppendUint64(b, uint64(off))
	b = wire.AppendFileID(b, f.ID)
	if slot == nil {
		b = le.AppendUint32(b, wire.ChannelNone)
		b = le.AppendUint32(b, 0) // RemainingBytes
		b = le.AppendUint16(b, 0) // WriteChannelInfoOffset
		b = le.AppendUint16(b, 0) // WriteChannelInfoLength
		b = le.AppendUint32(b, 0) // Flags
		return req{msg: b, data: p, charge: charge(len(p))}
	}
	b = le.AppendUint32(b, wire.ChannelRDMAV1)
	b = le.AppendUint32(b, uint32(len(p)))
	b = le.AppendUint16(b, wire.HeaderSize+48)
	b = le.AppendUint16(b, transport.BufferDescriptorSize)
	b = le.AppendUint32(b, 0)
	b = appendDescriptor(b, slot.desc)
	return req{msg: b, charge: charge(len(p))}
}

// WriteAt writes p at off with one WRITE (len(p) must not exceed the
// session's MaxWrite). Over SMB-Direct the server reads the data from a
// registered buffer by RDMA (rdma.go).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	s := f.t.s
	c := s.pick()
	slot, err := s.rdmaSlotFor(c, len(p))
	if err != nil {
		return 0, err
	}
	if slot != nil {
		defer c.rdma.put(slot)
		copy(slot.b, p)
	}
	rs, err := c.roundTrip([]req{f.writeReq(p, off, slot)}, nil)
	if err != nil {
		return 0, err
	}
	r := &rs[0]
	defer r.Release()
	if err := status(r, wire.CmdWrite); err != nil {
		return 0, err
	}
	body := r.Body()
	if len(body) < 8 {
		return 0, fmt.Errorf("%w: short WRITE response", ErrProtocol)
	}
	return int(le.Uint32(body[4:])), nil
}

// Stat queries FileNetworkOpenInformation on the handle.
func (f *File) Stat() (FileInfo, error) {
	rs, err := f.t.s.call(f.t.queryInfoReq(f.ID, infoFile, classFileNetworkOpen, 56))
	if err != nil {
		return FileInfo{}, err
	}
	defer releaseAll(rs)
	if err := status(&rs[0], wire.CmdQueryInfo); err != nil {
		return FileInfo{}, err
	}
	out, err := bufferResponse(&rs[0])
	if err != nil || len(out) < 56 {
		return FileInfo{}, fmt.Errorf("%w: short FileNetworkOpenInformation", ErrProtocol)
	}
	return FileInfo{Size: int64(le.Uint64(out[40:])), Attributes: le.Uint32(out[48:]), Modified: fileTime(le.Uint64(out[16:]))}, nil
}

// ReadDir lists the directory open as f with QUERY_DIRECTORY
// (FileIdBothDirectoryInformation, pattern "*", MS-SMB2 2.2.33), calling fn
// for each entry name (including "." and ".."), bufSize bytes per request
// (0: 64 KiB, capped at MaxTransactSize). It returns the number of entries.
func (f *File) ReadDir(bufSize int, fn func(name string)) (int, error) {
	if bufSize <= 0 {
		bufSize = 64 << 10
	}
	bufSize = min(bufSize, int(f.t.s.maxTrans))
	pat := utf16LE("*")
	count := 0
	for first := true; ; first = false {
		b := f.t.hdr(wire.CmdQueryDirectory, 32+len(pat))
		b = le.AppendUint16(b, 33)
		var flags uint8
		if first {
			flags = 0x01 // SMB2_RESTART_SCANS
		}
		b = append(b, classFileIDBothDirectoryInfo, flags)
		b = le.AppendUint32(b, 0) // FileIndex
		b = wire.AppendFileID(b, f.ID)
		b = le.AppendUint16(b, wire.HeaderSize+32)
		b = le.AppendUint16(b, uint16(len(pat)))
		b = le.AppendUint32(b, uint32(bufSize))
		b = append(b, pat...)
		rs, err := f.t.s.call(req{msg: b, charge: charge(bufSize)})
		if err != nil {
			return count, err
		}
		r := &rs[0]
		if r.Status() == wire.StatusNoMoreFiles {
			r.Release()
			return count, nil
		}
		if err := status(r, wire.CmdQueryDirectory); err != nil {
			r.Release()
			return count, err
		}
		out, err := bufferResponse(r)
		if err != nil {
			r.Release()
			return count, err
		}
		// FILE_ID_BOTH_DIR_INFORMATION (MS-FSCC 2.4.17): NextEntryOffset at 0,
		// FileNameLength at 60, FileName at 104.
		for off := uint64(0); ; {
			if off+104 > uint64(len(out)) {
				r.Release()
				return count, fmt.Errorf("%w: directory entry out of range", ErrProtocol)
			}
			e := out[off:]
			nl := uint64(le.Uint32(e[60:]))
			if 104+nl > uint64(len(e)) {
				r.Release()
				return count, fmt.Errorf("%w: directory entry name out of range", ErrProtocol)
			}
			count++
			if fn != nil {
				fn(decodeUTF16(e[104 : 104+nl]))
			}
			next := uint64(le.Uint32(e))
			if next == 0 {
				break
			}
			off += next
		}
		r.Release()
	}
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16Decode(u))
}
