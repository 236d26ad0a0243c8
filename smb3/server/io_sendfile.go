package server

import (
	"golang.org/x/sys/unix"

	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
	"smb3d/transport"
)

// minSendFile is the smallest READ sent by splice: below it, copying the
// bytes costs less than the extra ring requests and io-wq hops.
const minSendFile = 64 << 10

// fdUser is a file whose descriptor can be lent out safely: a concurrent
// Close waits until fn returns before the descriptor is closed, so its
// number is never reused underneath a splice. (*vfs.File).UseFd.
type fdUser interface {
	UseFd(fn func(fd int) error) error
}

// sendFileRead answers a READ by zero copy when it can (DESIGN.md "A
// request's way through", step 4): the response header goes out by SENDMSG
// with MSG_MORE and the file range by splice, never through user space. That
// is possible only for a single (not compound) request whose response is
// neither signed nor encrypted, over a transport with CapSendFile, on a
// regular file (not an alternate data stream). ok is false when it does not
// apply; the caller then reads into the response as usual. When it applies,
// the response has been sent and the status is statusNoResponse.
func (r *request) sendFileRead(o *open, req wire.ReadRequest, off uint64, length uint32) (wire.Status, bool) {
	if length < minSendFile || req.Channel() != wire.ChannelNone {
		return 0, false
	}
	if r.chain == nil || r.chain.compound || r.encSess != nil || r.chain.encSess != nil || r.asyncID != 0 || r.hashResp != nil {
		return 0, false
	}
	if r.signNew != nil || r.hdr.IsSigned() || r.sess == nil || r.sess.signingRequired() || r.sess.encryptData() {
		return 0, false
	}
	fs, ok := r.c.t.(transport.FileSender)
	if !ok || r.c.t.Caps()&transport.CapSendFile == 0 {
		return 0, false
	}
	if _, ok := o.f.(*vfs.File); !ok {
		return 0, false // streams live in xattrs, not in the descriptor's data
	}
	u, ok := o.f.(fdUser)
	if !ok {
		return 0, false
	}
	var n int
	handled := false
	err := u.UseFd(func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return nil
		}
		size := uint64(st.Size)
		if off >= size {
			return nil // the usual path answers STATUS_END_OF_FILE
		}
		n = int(min(uint64(length), size-off))
		if uint32(n) < req.MinimumCount() || n < minSendFile {
			return nil
		}
		handled = true
		hdr := make([]byte, wire.HeaderSize, wire.HeaderSize+16)
		r.c.fillHeader(r, hdr, wire.StatusSuccess, false)
		hdr = wire.AppendReadResponseHeader(hdr, uint32(n), 0)
		// The length is promised in the transport header before the
		// file is read: if the file shrank since the Fstat, SendFile
		// fails and the connection is broken.
		if err := fs.SendFile(hdr, fd, int64(off), n); err != nil {
			r.c.close(connErr("sendfile", err))
		}
		return nil
	})
	if err != nil || !handled {
		return 0, false
	}
	o.mu.Lock()
	o.position = int64(off) + int64(n)
	o.mu.Unlock()
	r.c.srv.stats.BytesRead.Add(uint64(n))
	r.c.srv.stats.SplicedBytes.Add(uint64(n))
	r.c.srv.metrics.nodeIO(r.c, false, n)
	return statusNoResponse, true
}
