package server

import (
	"errors"
	"fmt"
	"io"

	"smb3d/smb3/fscc"
	"smb3d/smb3/wire"
)

// Server-side copy limits (MS-SMB2 3.3.3: Windows defaults).
const (
	copyChunkMaxChunks = 256
	copyChunkMaxSize   = 1 << 20
	copyChunkMaxTotal  = 16 << 20
)

// handleIoctl is SMB2 IOCTL (MS-SMB2 3.3.5.15).
func handleIoctl(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.IoctlRequest(r.msg)
	if req.Flags() != wire.IoctlFlagIsFsctl {
		return out, wire.StatusNotSupported
	}
	cfg := &r.c.srv.cfg
	if req.MaxOutputResponse() > cfg.MaxTransactSize || req.MaxInputResponse() > cfg.MaxTransactSize || uint32(len(req.Input())) > cfg.MaxTransactSize {
		return out, wire.StatusInvalidParameter
	}
	ctl := req.CtlCode()
	fid := req.FileID()
	if o, s, ok := r.tortureFsctl(st, req, out); ok {
		return o, s // torture_ioctl.go
	}
	var output []byte
	var status wire.Status
	switch ctl {
	case fscc.FsctlValidateNegotiateInfo:
		output, status = r.validateNegotiate(req.Input())
		if status == statusNoResponse {
			return out, status
		}
	case fscc.FsctlDfsGetReferrals, fscc.FsctlDfsGetReferralsEx:
		return out, wire.StatusNotFound
	case fscc.FsctlQueryNetworkInterfaceInfo:
		output, status = r.queryInterfaces(int(req.MaxOutputResponse()))
	case fscc.FsctlPipeTransceive:
		return r.pipeTransceive(st, req, out) // pipe.go
	default:
		o, s := r.lookupOpen(st, fid)
		if s != 0 {
			return out, s
		}
		done, s := r.beginSequenced(o)
		if s != 0 {
			return out, s
		}
		output, status = r.fileFsctl(o, ctl, req.Input(), int(req.MaxOutputResponse()))
		done()
	}
	if status != 0 && status != wire.StatusBufferOverflow {
		// MS-SMB2 3.3.5.15.6: a failed copychunk still answers with
		// SRV_COPYCHUNK_RESPONSE: the server's limits for
		// STATUS_INVALID_PARAMETER, else what was written before the
		// failure (a lock conflict, a source too short).
		if (ctl == fscc.FsctlSrvCopychunk || ctl == fscc.FsctlSrvCopychunkWrite) && output != nil {
			return wire.AppendIoctlResponse(out, ctl, fid, nil, output), status
		}
		return out, status
	}
	if len(output) > int(req.MaxOutputResponse()) {
		return out, wire.StatusBufferTooSmall
	}
	return wire.AppendIoctlResponse(out, ctl, fid, nil, output), status
}

// validateNegotiate is FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12):
// any difference from what NEGOTIATE saw means tampering: disconnect.
func (r *request) validateNegotiate(in []byte) ([]byte, wire.Status) {
	c := r.c
	if !wire.FileID(r.fileIDOf()).IsAll() {
		return nil, wire.StatusInvalidParameter
	}
	c.mu.Lock()
	d, caps, guid, mode := c.dialect, c.clientCaps, c.clientGUID, c.clientSecMode
	c.mu.Unlock()
	drop := func(why string) ([]byte, wire.Status) {
		r.after = func() { c.close(connErr("validate-negotiate: "+why, nil)) }
		return nil, statusNoResponse
	}
	if d == wire.Dialect311 {
		return drop("sent on 3.1.1")
	}
	v, err := fscc.DecodeValidateNegotiateInfoRequest(in)
	if err != nil {
		return drop("malformed")
	}
	if v.Capabilities != caps || v.GUID != guid || v.SecurityMode != mode {
		return drop("mismatch")
	}
	var best wire.Dialect
	for _, x := range v.Dialects {
		if c.dialectSupported(wire.Dialect(x)) && wire.Dialect(x) > best {
			best = wire.Dialect(x)
		}
	}
	if best != d {
		return drop("dialect mismatch")
	}
	resp := c.negotiateResponse(d, nil)
	vr := fscc.ValidateNegotiateInfoResponse{Capabilities: resp.Capabilities, GUID: resp.ServerGUID, SecurityMode: resp.SecurityMode, Dialect: uint16(d)}
	return vr.Append(nil), 0
}

func (r *request) fileIDOf() wire.FileID { return wire.IoctlRequest(r.msg).FileID() }

// fileFsctl handles the FSCTLs that act on an open file.
func (r *request) fileFsctl(o *open, ctl uint32, in []byte, maxOut int) ([]byte, wire.Status) {
	srv := r.c.srv
	switch ctl {
	case fscc.FsctlSrvRequestResumeKey:
		var key [fscc.ResumeKeySize]byte
		le.PutUint64(key[:], o.id.Persistent)
		le.PutUint64(key[8:], o.id.Volatile)
		return fscc.AppendResumeKeyResponse(nil, key), 0
	case fscc.FsctlSrvCopychunk, fscc.FsctlSrvCopychunkWrite:
		return r.copyChunk(o, ctl, in, maxOut)
	case fscc.FsctlSetSparse:
		return nil, r.setSparse(o, in)
	case fscc.FsctlSetZeroData:
		return nil, r.setZeroData(o, in)
	case fscc.FsctlQueryAllocatedRanges:
		return queryAllocatedRanges(o, in, maxOut)
	case fscc.FsctlDuplicateExtentsToFile:
		return nil, r.duplicateExtents(o, in)
	case fscc.FsctlGetReparsePoint:
		return nil, wire.StatusNotAReparsePoint
	case fscc.FsctlCreateOrGetObjectID, fscc.FsctlGetObjectID:
		info, err := o.f.Stat()
		if err != nil {
			return nil, statusOf(err)
		}
		var ob fscc.ObjectIDBuffer
		le.PutUint64(ob.ObjectID[:], info.FileID)
		le.PutUint64(ob.ObjectID[8:], info.Dev)
		return ob.Append(nil), 0
	case fscc.FsctlSrvEnumerateSnapshots:
		if maxOut < 16 {
			return nil, wire.StatusInvalidParameter
		}
		return fscc.AppendSnapshotArray(nil, nil, maxOut), 0
	case fscc.FsctlGetCompression:
		return fscc.AppendCompressionState(nil, fscc.CompressionFormatNone), 0
	case fscc.FsctlSetCompression:
		v, err := fscc.DecodeCompressionState(in)
		if err != nil {
			return nil, wire.StatusInvalidParameter
		}
		if v != fscc.CompressionFormatNone {
			return nil, wire.StatusNotSupported
		}
		return nil, 0
	case fscc.FsctlFileLevelTrim:
		return nil, wire.StatusNotSupported
	case fscc.FsctlLMRRequestResiliency:
		// MS-SMB2 3.3.5.15.9: the open survives a disconnect for the
		// requested timeout, and LOCK replays are detected.
		if _, err := fscc.DecodeNetworkResiliencyRequest(in); err != nil {
			return nil, wire.StatusInvalidParameter
		}
		o.mu.Lock()
		o.resilient = true
		o.mu.Unlock()
		return nil, 0
	}
	_ = srv
	r.c.log.Debug("FSCTL not supported", "ctl", fmt.Sprintf("%#08x", ctl))
	return nil, wire.StatusInvalidDeviceRequest
}

// copyChunk is FSCTL_SRV_COPYCHUNK(_WRITE) (MS-SMB2 3.3.5.15.6).
func (r *request) copyChunk(dst *open, ctl uint32, in []byte, maxOut int) ([]byte, wire.Status) {
	limits := fscc.CopychunkResponse{ChunksWritten: copyChunkMaxChunks, ChunkBytesWritten: copyChunkMaxSize, TotalBytesWritten: copyChunkMaxTotal}
	if maxOut < fscc.CopychunkResponseSize {
		return nil, wire.StatusInvalidParameter
	}
	cc, err := fscc.DecodeCopychunkCopy(in, copyChunkMaxChunks)
	if err != nil {
		if errors.Is(err, fscc.ErrTooManyChunks) {
			return limits.Append(nil), wire.StatusInvalidParameter
		}
		return nil, wire.StatusInvalidParameter
	}
	var total uint64
	for _, ch := range cc.Chunks {
		if ch.Length > copyChunkMaxSize || ch.Length == 0 {
			return limits.Append(nil), wire.StatusInvalidParameter
		}
		total += uint64(ch.Length)
	}
	if total > copyChunkMaxTotal {
		return limits.Append(nil), wire.StatusInvalidParameter
	}
	srcID := wire.FileID{Persistent: le.Uint64(cc.SourceKey[:]), Volatile: le.Uint64(cc.SourceKey[8:])}
	src := r.c.srv.opens.get(srcID)
	if src == nil || src.sess != dst.sess {
		return nil, wire.StatusObjectNameNotFound
	}
	if src.access&(fileReadData|fileExecute) == 0 {
		return nil, wire.StatusAccessDenied // read or execute access reads data (MS-FSA 2.1.5.2)
	}
	if dst.access&fileWriteData == 0 || ctl == fscc.FsctlSrvCopychunk && dst.access&fileReadData == 0 {
		return nil, wire.StatusAccessDenied
	}
	var resp fscc.CopychunkResponse
	sf, df := localFile(src), localFile(dst)
	var buf []byte
	for _, ch := range cc.Chunks {
		if r.c.srv.locks.conflicts(src, ch.SourceOffset, uint64(ch.Length), false) ||
			r.c.srv.locks.conflicts(dst, ch.TargetOffset, uint64(ch.Length), true) {
			return resp.Append(nil), wire.StatusFileLockConflict
		}
		if ch.SourceOffset > 1<<62 || ch.TargetOffset > 1<<62 {
			return resp.Append(nil), wire.StatusInvalidParameter
		}
		// MS-SMB2 3.3.5.15.6: a chunk that reads past the source's end
		// of file fails the request with STATUS_INVALID_VIEW_SIZE.
		info, err := src.f.Stat()
		if err != nil {
			return nil, statusOf(err)
		}
		if int64(ch.SourceOffset)+int64(ch.Length) > info.Size {
			return resp.Append(nil), wire.StatusInvalidViewSize
		}
		var n int64
		if sf != nil && df != nil {
			n, err = df.CopyRange(sf, int64(ch.SourceOffset), int64(ch.TargetOffset), int64(ch.Length))
			if err != nil {
				return nil, statusOf(err)
			}
		} else {
			if buf == nil {
				buf = make([]byte, copyChunkMaxSize)
			}
			m, err := src.f.ReadAt(buf[:ch.Length], int64(ch.SourceOffset))
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, statusOf(err)
			}
			if _, err := dst.f.WriteAt(buf[:m], int64(ch.TargetOffset)); err != nil {
				return nil, statusOf(err)
			}
			n = int64(m)
		}
		if n < int64(ch.Length) {
			return resp.Append(nil), wire.StatusInvalidViewSize
		}
		resp.ChunksWritten++
		resp.TotalBytesWritten += uint32(n)
	}
	r.c.srv.breakReaders(dst)
	return resp.Append(nil), 0
}

// queryInterfaces is FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11):
// the server's interfaces, for clients to open more channels. An empty
// list is never a success.
func (r *request) queryInterfaces(maxOut int) ([]byte, wire.Status) {
	cfg := &r.c.srv.cfg
	if !wire.FileID(r.fileIDOf()).IsAll() {
		return nil, wire.StatusInvalidParameter // not about an open (smb2.ioctl.bug14788)
	}
	if !cfg.Multichannel || cfg.Interfaces == nil || r.c.dialect < wire.Dialect300 {
		return nil, wire.StatusNotSupported
	}
	ifs, err := cfg.Interfaces()
	if err != nil {
		r.c.log.Warn("interface discovery failed", "err", err)
		return nil, wire.StatusInsufficientResources
	}
	if len(ifs) == 0 {
		return nil, wire.StatusNotSupported
	}
	b, err := fscc.AppendNetworkInterfaceInfo(nil, ifs)
	if err != nil {
		return nil, wire.StatusInternalError
	}
	if len(b) > maxOut {
		return nil, wire.StatusBufferTooSmall
	}
	return b, 0
}
