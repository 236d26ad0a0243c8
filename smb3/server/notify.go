package server

import (
	"smb3d/smb3/wire"
)

// handleChangeNotify is SMB2 CHANGE_NOTIFY (MS-SMB2 3.3.5.19). The request
// goes async and completes when it is cancelled or its open is closed;
// change events themselves come with the inotify watcher (issue 4).
func handleChangeNotify(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.ChangeNotifyRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if !o.isDir {
		return out, wire.StatusInvalidParameter
	}
	if o.access&fileReadData == 0 {
		return out, wire.StatusAccessDenied
	}
	if req.OutputBufferLength() > r.c.srv.cfg.MaxTransactSize {
		return out, wire.StatusInvalidParameter
	}
	if !r.canGoAsync() {
		return out, wire.StatusInternalError
	}
	out = r.goAsync(out)
	ctx := r.context()
	closed := o.closedChan()
	select {
	case <-ctx.Done():
		return out, wire.StatusCancelled
	case <-closed:
		return out, wire.StatusNotifyCleanup
	}
}
