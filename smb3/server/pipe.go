package server

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"

	"smb3d/smb3/fscc"
	"smb3d/smb3/rpc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// Named pipes on IPC$: a CREATE of "srvsvc" or "wkssvc" opens an rpc.Pipe;
// WRITE delivers request PDUs, READ returns the answers one message (PDU) at
// a time, FSCTL_PIPE_TRANSCEIVE does both (MS-SMB2 3.3.5.9, 3.3.5.12,
// 3.3.5.13, 3.3.5.15 "pipe transaction"; MS-FSCC FSCTL_PIPE_TRANSCEIVE).
// The handlers in create.go, io.go, ioctl.go and info.go call in here when
// the open or tree is a pipe; closeOpen (open.go) calls closePipe.

// NTSTATUS values only pipes use (MS-ERREF 2.3.1).
const (
	statusPipeEmpty        wire.Status = 0xC00000D9
	statusPipeDisconnected wire.Status = 0xC00000B0
)

// pipeAllocationSize is what CREATE and FileStandardInformation report as
// a pipe's allocation size, as Windows and Samba do.
const pipeAllocationSize = 4096

// pipeState is the pipe side of an open on IPC$; mu orders the requests of
// all channels that use the open.
type pipeState struct {
	mu             sync.Mutex
	p              *rpc.Pipe     // nil once closed
	readMode       uint32        // FilePipeInformation ReadMode as set by the client
	completionMode uint32        // FilePipeQueueOperation (blocking) or FilePipeCompleteOperation
	wake           chan struct{} // closed when output arrives or the pipe closes
}

// waitChan returns a channel closed by the next signal; ps.mu held.
func (ps *pipeState) waitChan() <-chan struct{} {
	if ps.wake == nil {
		ps.wake = make(chan struct{})
	}
	return ps.wake
}

// signal wakes the READs waiting for output; ps.mu held.
func (ps *pipeState) signal() {
	if ps.wake != nil {
		close(ps.wake)
		ps.wake = nil
	}
}

// pipeFile stands in for the file of a pipe open so that a handler that
// does not know about pipes fails cleanly instead of touching a nil file.
type pipeFile struct{ name string }

var errPipeOp = syscall.EINVAL

func (f pipeFile) Name() string                       { return f.name }
func (f pipeFile) Fd() int                            { return -1 }
func (f pipeFile) ReadAt([]byte, int64) (int, error)  { return 0, errPipeOp }
func (f pipeFile) WriteAt([]byte, int64) (int, error) { return 0, errPipeOp }
func (f pipeFile) Stat() (vfs.Info, error) {
	return vfs.Info{Name: f.name, Attributes: fscc.FileAttributeNormal, Nlink: 1}, nil
}
func (f pipeFile) Truncate(int64) error             { return errPipeOp }
func (f pipeFile) Allocate(int64) error             { return errPipeOp }
func (f pipeFile) Sync() error                      { return nil } // FlushFileBuffers on a pipe succeeds
func (f pipeFile) SetTimes(vfs.Times) error         { return errPipeOp }
func (f pipeFile) SetAttributes(uint32) error       { return errPipeOp }
func (f pipeFile) ReadDir() ([]vfs.DirEntry, error) { return nil, syscall.ENOTDIR }
func (f pipeFile) ListEAs() ([]vfs.EA, error)       { return nil, nil }
func (f pipeFile) SetEA(string, []byte) error       { return errPipeOp }
func (f pipeFile) Streams() ([]vfs.EA, error)       { return nil, nil }
func (f pipeFile) Close() error                     { return nil }

// rpcShares lists the shares for srvsvc: every configured share, sorted by
// name so that resume handles stay valid, and IPC$ as Windows lists it
// (STYPE_IPC|STYPE_SPECIAL).
func (s *Server) rpcShares() []rpc.Share {
	s.sharesMu.RLock()
	list := make([]rpc.Share, 0, len(s.shares))
	for _, sh := range s.shares {
		rs := rpc.Share{Name: sh.cfg.Name, Comment: sh.cfg.Comment, Type: rpc.STypeDiskTree}
		if sh.ipc {
			rs.Type = rpc.STypeIPC | rpc.STypeSpecial
		} else {
			rs.Path = `C:` + strings.ReplaceAll(sh.cfg.Path, "/", `\`)
		}
		list = append(list, rs)
	}
	s.sharesMu.RUnlock()
	slices.SortFunc(list, func(a, b rpc.Share) int {
		return strings.Compare(strings.ToUpper(a.Name), strings.ToUpper(b.Name))
	})
	return list
}

// createPipe is CREATE on an IPC$ tree: open a served pipe (names are
// case-insensitive, with an optional leading "\PIPE\"), else
// STATUS_OBJECT_NAME_NOT_FOUND as Windows answers.
func (r *request) createPipe(out []byte, st *chainState, req wire.CreateRequest) ([]byte, wire.Status) {
	srv := r.c.srv
	name, ok := decodeName(req.Name())
	if !ok {
		return out, wire.StatusInvalidParameter
	}
	if req.ImpersonationLevel() > 3 {
		return out, wire.StatusBadImpersonationLevel
	}
	if _, err := wire.ParseCreateContexts(req.ContextsBuffer()); err != nil {
		return out, wire.StatusInvalidParameter
	}
	sess := r.sess
	sess.mu.Lock()
	admin := !sess.guest && !sess.anon
	tooMany := sess.nopens >= srv.cfg.MaxOpensPerSession
	sess.mu.Unlock()
	cfg := &rpc.Config{
		Shares:     rpc.ShareListerFunc(srv.rpcShares),
		ServerName: srv.cfg.NetBIOSName,
		Domain:     srv.cfg.Domain,
		Comment:    "smb3d",
		Admin:      admin,
	}
	p, ok := rpc.NewPipe(name, cfg)
	if !ok {
		return out, wire.StatusObjectNameNotFound
	}
	if tooMany {
		srv.reject("max-opens", "session", sess.id)
		return out, wire.StatusInsufficientResources
	}
	access := req.DesiredAccess()
	if access&maximumAllowed != 0 {
		access |= r.tree.access
	}
	o := &open{
		id:      wire.FileID{Persistent: srv.newID(), Volatile: srv.newID()},
		tree:    r.tree,
		sess:    sess,
		f:       pipeFile{name: p.Name()},
		access:  genericMapping(access &^ maximumAllowed),
		shareAc: req.ShareAccess(),
		options: req.CreateOptions(),
		name:    p.Name(),
		pipe:    &pipeState{p: p, readMode: fscc.FilePipeMessageMode},
	}
	// A node of its own, in no table, for handlers that look at it.
	o.node = &fileNode{path: p.Name(), share: r.tree.share, opens: []*open{o}}
	srv.opens.add(o)
	sess.mu.Lock()
	sess.nopens++
	sess.mu.Unlock()
	st.fid, st.hasFid = o.id, true
	resp := wire.CreateResponse{
		CreateAction:   actionOpened,
		AllocationSize: pipeAllocationSize,
		Attributes:     fscc.FileAttributeNormal,
		FileID:         o.id,
	}
	return resp.Append(out), wire.StatusSuccess
}

// closePipe is closeOpen for a pipe open.
func (s *Server) closePipe(o *open) (vfs.Info, bool) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return vfs.Info{}, false
	}
	o.closed = true
	if o.closedCh != nil {
		close(o.closedCh)
	}
	o.mu.Unlock()
	s.opens.remove(o)
	s.locks.releaseOpen(o)
	o.sess.mu.Lock()
	o.sess.nopens--
	o.sess.mu.Unlock()
	o.pipe.mu.Lock()
	o.pipe.p = nil
	o.pipe.signal()
	o.pipe.mu.Unlock()
	return vfs.Info{}, false
}

// write hands data to the pipe and wakes waiting READs:
// STATUS_PIPE_DISCONNECTED once the RPC layer has given up on the byte
// stream, as Windows answers after the server end closed; ps.mu held.
func (ps *pipeState) write(srv *Server, data []byte) wire.Status {
	if ps.p == nil {
		return wire.StatusFileClosed
	}
	err := ps.p.Write(data)
	if ps.p.Available() > 0 {
		ps.signal()
	}
	if err != nil {
		if errors.Is(err, rpc.ErrOutputFull) {
			srv.reject("pipe-output-full", "pipe", ps.p.Name())
			return wire.StatusInsufficientResources
		}
		srv.reject("pipe-not-rpc", "pipe", ps.p.Name())
		return statusPipeDisconnected
	}
	return 0
}

// read takes up to n bytes of the next message: STATUS_BUFFER_OVERFLOW
// when the message is longer (the rest stays readable), STATUS_PIPE_EMPTY
// when nothing is pending; ps.mu held.
func (ps *pipeState) read(n int) ([]byte, wire.Status) {
	if ps.p == nil {
		return nil, wire.StatusFileClosed
	}
	if ps.p.Available() == 0 {
		return nil, statusPipeEmpty
	}
	data, more := ps.p.Read(n)
	if more {
		return data, wire.StatusBufferOverflow
	}
	return data, 0
}

// readPipe is READ on a pipe open (MS-SMB2 3.3.5.12): the offset is ignored.
// With nothing to read, a pipe in blocking mode (FILE_PIPE_QUEUE_OPERATION,
// the default) waits as NPFS does: the READ goes async until a WRITE on the
// open produces output, a CANCEL (STATUS_CANCELLED) or the CLOSE
// (STATUS_PIPE_BROKEN); in non-blocking mode it fails with
// STATUS_PIPE_EMPTY.
func (r *request) readPipe(o *open, req wire.ReadRequest, out []byte) ([]byte, wire.Status) {
	if o.access&fileReadData == 0 {
		return out, wire.StatusAccessDenied
	}
	length := req.Length()
	if length > r.c.srv.cfg.MaxReadSize || !r.checkCreditCharge(max(length, 1)) {
		return out, wire.StatusInvalidParameter
	}
	if req.Channel() != wire.ChannelNone {
		return out, wire.StatusInvalidParameter
	}
	ps := o.pipe
	var data []byte
	var status wire.Status
	for waited := false; ; waited = true {
		ps.mu.Lock()
		if ps.p == nil && waited {
			ps.mu.Unlock()
			return out, wire.StatusPipeBroken
		}
		var wait <-chan struct{}
		data, status = ps.read(int(length))
		if status == statusPipeEmpty && ps.completionMode == fscc.FilePipeQueueOperation {
			wait = ps.waitChan()
		}
		ps.mu.Unlock()
		if wait == nil {
			break
		}
		if !r.canGoAsync() {
			return out, statusPipeEmpty
		}
		out = r.goAsync(out)
		select {
		case <-r.context().Done():
			return out, wire.StatusCancelled
		case <-wait:
		}
	}
	if status.IsError() {
		return out, status
	}
	if uint32(len(data)) < req.MinimumCount() {
		return out, wire.StatusEndOfFile
	}
	out = wire.AppendReadResponseHeader(out, uint32(len(data)), 0)
	out = append(out, data...)
	return out, status
}

// writePipe is WRITE on a pipe open (MS-SMB2 3.3.5.13): one message.
func (r *request) writePipe(o *open, req wire.WriteRequest, out []byte) ([]byte, wire.Status) {
	if o.access&(fileWriteData|fileAppendData) == 0 {
		return out, wire.StatusAccessDenied
	}
	data := req.Data()
	if req.Channel() != wire.ChannelNone {
		return out, wire.StatusInvalidParameter
	}
	if uint32(len(data)) > r.c.srv.cfg.MaxWriteSize || !r.checkCreditCharge(max(uint32(len(data)), 1)) {
		return out, wire.StatusInvalidParameter
	}
	o.pipe.mu.Lock()
	status := o.pipe.write(r.c.srv, data)
	o.pipe.mu.Unlock()
	if status != 0 {
		return out, status
	}
	return wire.AppendWriteResponse(out, uint32(len(data))), wire.StatusSuccess
}

// pipeTransceive is FSCTL_PIPE_TRANSCEIVE (MS-FSCC; MS-SMB2 3.3.5.15, the
// pipe transaction): write the input as one message and read one message back;
// STATUS_BUFFER_OVERFLOW if it is longer than MaxOutputResponse, the rest
// to be read by READ. Unread data on the pipe makes it STATUS_PIPE_BUSY.
func (r *request) pipeTransceive(st *chainState, req wire.IoctlRequest, out []byte) ([]byte, wire.Status) {
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe == nil {
		return out, wire.StatusInvalidDeviceRequest
	}
	if o.access&fileReadData == 0 || o.access&(fileWriteData|fileAppendData) == 0 {
		return out, wire.StatusAccessDenied
	}
	ps := o.pipe
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.p == nil {
		return out, wire.StatusFileClosed
	}
	if ps.p.Available() > 0 {
		return out, wire.StatusPipeBusy
	}
	if status := ps.write(r.c.srv, req.Input()); status != 0 {
		return out, status
	}
	data, status := ps.read(int(req.MaxOutputResponse()))
	if status.IsError() {
		return out, status
	}
	return wire.AppendIoctlResponse(out, fscc.FsctlPipeTransceive, o.id, nil, data), status
}

// queryPipeInfo is QUERY_INFO on a pipe open: FileStandardInformation,
// FilePipeInformation and FilePipeLocalInformation, as NPFS answers them.
func (r *request) queryPipeInfo(o *open, req wire.QueryInfoRequest, out []byte) ([]byte, wire.Status) {
	if req.InfoType() != wire.InfoFile {
		return out, wire.StatusNotSupported
	}
	o.pipe.mu.Lock()
	avail := 0
	if o.pipe.p != nil {
		avail = o.pipe.p.Available()
	}
	readMode, completionMode := o.pipe.readMode, o.pipe.completionMode
	o.pipe.mu.Unlock()
	var data []byte
	switch req.InfoClass() {
	case fscc.FileStandardInformation:
		// NPFS: DeletePending is set on a pipe, EndOfFile is the data
		// available to read.
		fi := fscc.FileInfo{AllocationSize: pipeAllocationSize, EndOfFile: int64(avail), Nlink: 1, DeletePending: true}
		data = fscc.AppendStandardInformation(nil, &fi)
	case fscc.FilePipeInformation:
		pi := fscc.PipeInformation{ReadMode: readMode, CompletionMode: completionMode}
		data = pi.Append(nil)
	case fscc.FilePipeLocalInformation:
		pl := fscc.PipeLocalInformation{
			NamedPipeType:          fscc.FilePipeMessageType,
			NamedPipeConfiguration: fscc.FilePipeFullDuplex,
			MaximumInstances:       0xFFFFFFFF,
			CurrentInstances:       1,
			InboundQuota:           pipeAllocationSize,
			ReadDataAvailable:      uint32(avail),
			OutboundQuota:          pipeAllocationSize,
			WriteQuotaAvailable:    pipeAllocationSize,
			NamedPipeState:         fscc.FilePipeConnectedState,
			NamedPipeEnd:           fscc.FilePipeClientEnd,
		}
		data = pl.Append(nil)
	default:
		return out, wire.StatusNotSupported
	}
	if int(req.OutputBufferLength()) < len(data) {
		return out, wire.StatusInfoLengthMismatch
	}
	return wire.AppendBufferResponse(out, data), wire.StatusSuccess
}

// setPipeInfo is SET_INFO on a pipe open: FilePipeInformation (clients set
// message read mode after opening, SetNamedPipeHandleState).
func (r *request) setPipeInfo(o *open, req wire.SetInfoRequest, out []byte) ([]byte, wire.Status) {
	if req.InfoType() != wire.InfoFile || req.InfoClass() != fscc.FilePipeInformation {
		return out, wire.StatusNotSupported
	}
	pi, err := fscc.DecodePipeInformation(req.Buffer())
	if err != nil {
		if len(req.Buffer()) < fscc.PipeInformationSize {
			return out, wire.StatusInfoLengthMismatch
		}
		return out, wire.StatusInvalidParameter
	}
	o.pipe.mu.Lock()
	o.pipe.readMode, o.pipe.completionMode = pi.ReadMode, pi.CompletionMode
	o.pipe.signal() // waiting READs see the new mode
	o.pipe.mu.Unlock()
	return wire.AppendSetInfoResponse(out), wire.StatusSuccess
}
