package server

import (
	"errors"
	"io"
	"sync"

	"smb3d/smb3/wire"
	"smb3d/transport"
)

// checkCreditCharge enforces MS-SMB2 3.3.5.2.5: a large request must be
// paid for with CreditCharge = (size-1)/65536 + 1.
func (r *request) checkCreditCharge(size uint32) bool {
	if r.c.dialect == wire.Dialect202 {
		return size <= 65536
	}
	if size == 0 {
		return true
	}
	need := (size-1)/65536 + 1
	charge := uint32(r.hdr.CreditCharge())
	if charge == 0 {
		charge = 1
	}
	return charge >= need
}

// handleRead is SMB2 READ (MS-SMB2 3.3.5.12).
func handleRead(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.ReadRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe != nil {
		return r.readPipe(o, req, out) // pipe.go
	}
	if o.isDir {
		return out, wire.StatusInvalidDeviceRequest
	}
	if o.access&(fileReadData|fileExecute) == 0 {
		return out, wire.StatusAccessDenied
	}
	defer r.observeSequence(o)() // replay.go: a read moves the epoch on, never fails on it
	length := req.Length()
	if length > r.c.srv.cfg.MaxReadSize {
		return out, wire.StatusInvalidParameter
	}
	if !r.checkCreditCharge(max(length, 1)) {
		return out, wire.StatusInvalidParameter
	}
	var rdma transport.RDMAConn
	var descs []transport.BufferDescriptor
	switch req.Channel() {
	case wire.ChannelNone:
	case wire.ChannelRDMAV1, wire.ChannelRDMAV1Invalidate:
		var ok bool
		if rdma, ok = r.c.t.(transport.RDMAConn); !ok {
			return out, wire.StatusInvalidParameter
		}
		var err error
		if descs, err = transport.ParseBufferDescriptors(req.ChannelInfo()); err != nil {
			return out, wire.StatusInvalidParameter
		}
		if req.Channel() == wire.ChannelRDMAV1Invalidate {
			r.invalidate = descs[0].Token
		}
	default:
		return out, wire.StatusInvalidParameter
	}
	off := req.Offset()
	if off > 1<<63-1 || off+uint64(length) > 1<<63-1 {
		return out, wire.StatusInvalidParameter
	}
	if r.c.srv.locks.conflicts(o, off, uint64(length), false) {
		return out, wire.StatusFileLockConflict
	}
	// Zero-copy READ (io_sendfile.go): a single, unsigned, unencrypted
	// request over a transport with CapSendFile is answered by splice.
	if status, ok := r.sendFileRead(o, req, off, length); ok {
		return out, status
	}
	pos := len(out)
	out = wire.AppendReadResponseHeader(out, 0, 0)
	dataAt := len(out)
	out = r.growRead(out, int(length))
	n, err := o.f.ReadAt(out[dataAt:dataAt+int(length)], int64(off))
	out = out[:dataAt+n]
	if err != nil && !errors.Is(err, io.EOF) {
		return out[:pos], statusOf(err)
	}
	if n == 0 && length > 0 || uint32(n) < req.MinimumCount() {
		return out[:pos], wire.StatusEndOfFile
	}
	if rdma != nil {
		// MS-SMB2 3.3.5.12: the data goes into the client's buffers by
		// RDMA write; the response carries DataRemaining instead.
		if err := rdma.RDMAWrite(descs, out[dataAt:dataAt+n]); err != nil {
			r.c.log.Warn("RDMA write failed", "err", err)
			return out[:pos], wire.StatusInsufficientResources
		}
		out = out[:dataAt]
		le.PutUint32(out[pos+8:], uint32(n))
		r.c.srv.stats.RDMABytesWritten.Add(uint64(n))
	} else {
		le.PutUint32(out[pos+4:], uint32(n))
	}
	o.mu.Lock()
	o.position = int64(off) + int64(n)
	o.mu.Unlock()
	r.c.srv.stats.BytesRead.Add(uint64(n))
	r.c.srv.metrics.nodeIO(r.c, false, n)
	return out, wire.StatusSuccess
}

// Response buffers of READs that are not spliced (signed, encrypted,
// compound, small, or over a transport without CapSendFile) come from
// readBufs, by size in steps of readBufStep up to the largest read, and go
// back once the chain is sent (chainRun.recycle): a stream of 1 MiB READs
// then neither allocates nor zeroes a buffer per READ.
const (
	readBufStep  = 64 << 10
	readBufSlack = 4 << 10 // room after the data: compound padding, another small response
)

var readBufs [(16<<20+readBufSlack)/readBufStep + 2]sync.Pool // of *[]byte; index = cap/readBufStep

// growRead extends out by n bytes for READ data, moving it to a pooled
// buffer when it must grow by a large amount.
func (r *request) growRead(out []byte, n int) []byte {
	if cap(out)-len(out) >= n {
		return out[:len(out)+n]
	}
	need := len(out) + n + readBufSlack
	idx := (need + readBufStep - 1) / readBufStep
	if n < readBufStep || r.chain == nil || r.chain.pooled != nil || idx >= len(readBufs) {
		return grow(out, n)
	}
	p, _ := readBufs[idx].Get().(*[]byte)
	if p == nil {
		b := make([]byte, idx*readBufStep)
		p = &b
	}
	nb := (*p)[:len(out)+n]
	copy(nb, out)
	r.chain.pooled = p
	return nb
}

// recycle returns the chain's pooled response buffer once it is sent. out
// may have grown out of it since; the array is returned either way, as
// nothing refers to it after the send.
func (run *chainRun) recycle() {
	if p := run.pooled; p != nil {
		run.pooled = nil
		run.out = nil
		readBufs[cap(*p)/readBufStep].Put(p)
	}
}

// grow extends b by n bytes without zeroing guarantees beyond append's.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n+512)
	copy(nb, b)
	return nb
}

// handleWrite is SMB2 WRITE (MS-SMB2 3.3.5.13).
func handleWrite(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.WriteRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe != nil {
		return r.writePipe(o, req, out) // pipe.go
	}
	if o.isDir {
		return out, wire.StatusInvalidDeviceRequest
	}
	if o.access&(fileWriteData|fileAppendData) == 0 {
		return out, wire.StatusAccessDenied
	}
	done, status := r.beginSequenced(o)
	if status != 0 {
		return out, status
	}
	defer done()
	data := req.Data()
	switch req.Channel() {
	case wire.ChannelNone:
	case wire.ChannelRDMAV1, wire.ChannelRDMAV1Invalidate:
		// MS-SMB2 3.3.5.13: the data is pulled from the client's buffers
		// by RDMA read; Length is 0 and RemainingBytes says how much.
		rdma, ok := r.c.t.(transport.RDMAConn)
		if !ok || req.Length() != 0 {
			return out, wire.StatusInvalidParameter
		}
		descs, err := transport.ParseBufferDescriptors(req.ChannelInfo())
		if err != nil {
			return out, wire.StatusInvalidParameter
		}
		n := req.RemainingBytes()
		if n > r.c.srv.cfg.MaxWriteSize {
			return out, wire.StatusInvalidParameter
		}
		data = make([]byte, n)
		if err := rdma.RDMARead(descs, data); err != nil {
			r.c.log.Warn("RDMA read failed", "err", err)
			return out, wire.StatusInsufficientResources
		}
		r.c.srv.stats.RDMABytesRead.Add(uint64(n))
		if req.Channel() == wire.ChannelRDMAV1Invalidate {
			r.invalidate = descs[0].Token
		}
	default:
		return out, wire.StatusInvalidParameter
	}
	if uint32(len(data)) > r.c.srv.cfg.MaxWriteSize {
		return out, wire.StatusInvalidParameter
	}
	if !r.checkCreditCharge(max(uint32(len(data)), 1)) {
		return out, wire.StatusInvalidParameter
	}
	off := req.Offset()
	// MS-FSA 2.1.5.3: offsets past INT64_MAX are invalid, and so is a write
	// ending past the largest file NTFS allows (smb2.rw.invalid).
	const maxFileSize = 0xfffffff0000
	if off > 1<<63-1 || len(data) > 0 && off+uint64(len(data)) > maxFileSize {
		return out, wire.StatusInvalidParameter
	}
	if len(data) == 0 {
		return wire.AppendWriteResponse(out, 0), wire.StatusSuccess
	}
	if end := off + uint64(len(data)); end > 1<<40 {
		// A file cannot outgrow its volume: a sparse write far past what
		// the file system can hold is DISK_FULL, as on NTFS (sparse files
		// on Linux would take it; smb2.rw.invalid).
		if fsi, err := o.tree.share.fs.Statfs(); err == nil && end > fsi.TotalBlocks*uint64(fsi.BlockSize) {
			return out, wire.StatusDiskFull
		}
	}
	if r.c.srv.locks.conflicts(o, off, uint64(len(data)), true) {
		return out, wire.StatusFileLockConflict
	}
	n, err := o.f.WriteAt(data, int64(off))
	if err != nil {
		return out, statusOf(err)
	}
	if req.Flags()&wire.WriteFlagWriteThrough != 0 || o.options&optWriteThrough != 0 {
		if err := o.f.Sync(); err != nil {
			return out, statusOf(err)
		}
	}
	o.mu.Lock()
	o.position = int64(off) + int64(n)
	o.mu.Unlock()
	r.c.srv.breakReaders(o)
	r.c.srv.stats.BytesWritten.Add(uint64(n))
	r.c.srv.metrics.nodeIO(r.c, true, n)
	return wire.AppendWriteResponse(out, uint32(n)), wire.StatusSuccess
}

// handleFlush is SMB2 FLUSH (MS-SMB2 3.3.5.11).
func handleFlush(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.FlushRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.access&(fileWriteData|fileAppendData) == 0 {
		return out, wire.StatusAccessDenied
	}
	if o.pipe != nil {
		return wire.AppendEmptyResponse(out), wire.StatusSuccess // pipe.go: writes are consumed as they arrive; a waiting READ must not hold FLUSH
	}
	o.io.Wait() // pipelined WRITEs on this open are flushed too
	if !o.isDir {
		if err := o.f.Sync(); err != nil {
			return out, statusOf(err)
		}
	}
	return wire.AppendEmptyResponse(out), wire.StatusSuccess
}
