package server

import (
	"time"

	"smb3d/smb3/wire"
)

// Samba's test-only FSCTL_SMBTORTURE codes that come with a session and
// tree (libcli/smb/smb_constants.h: FSCTL_SMBTORTURE | FSCTL_ACCESS_WRITE |
// function | METHOD_NEITHER), answered only with "smbtorture fsctl = yes"
// as smbd answers them only with "smbd:FSCTL_SMBTORTURE = yes".
// FSCTL_SMBTORTURE_FORCE_UNACKED_TIMEOUT, sent without a session, is in
// channels.go.
const (
	// The response's output (MaxOutputResponse bytes of 8) starts 8
	// bytes after the IOCTL response body: clients must follow
	// OutputOffset (smb2.ioctl.bug14607).
	fsctlSmbtortureIoctlResponseBodyPadding8 = 0x83848013
	// The open is busy for Input[0] milliseconds: a CLOSE sent meanwhile
	// waits for it (smb2.ioctl.bug14769).
	fsctlSmbtortureFspAsyncSleep = 0x83848043
)

// tortureFsctl handles the codes above; ok is false for any other code or
// when the option is off.
func (r *request) tortureFsctl(st *chainState, req wire.IoctlRequest, out []byte) (_ []byte, _ wire.Status, ok bool) {
	ctl := req.CtlCode()
	if !r.c.srv.cfg.SmbtortureFsctl || (ctl != fsctlSmbtortureIoctlResponseBodyPadding8 && ctl != fsctlSmbtortureFspAsyncSleep) {
		return out, 0, false
	}
	switch ctl {
	case fsctlSmbtortureIoctlResponseBodyPadding8:
		if len(req.Input()) != 0 {
			return out, wire.StatusInvalidParameter, true
		}
		output := make([]byte, req.MaxOutputResponse())
		for i := range output {
			output[i] = 8
		}
		return wire.AppendIoctlResponsePadded(out, ctl, req.FileID(), output, 8), 0, true
	default: // fsctlSmbtortureFspAsyncSleep
		if len(req.Input()) != 1 {
			return out, wire.StatusInvalidParameter, true
		}
		o, s := r.lookupOpen(st, req.FileID())
		if s != 0 {
			return out, s, true
		}
		o.io.Add(1) // CLOSE waits for it (create.go)
		defer o.io.Done()
		if r.canGoAsync() {
			out = r.goAsync(out)
		}
		t := time.NewTimer(time.Duration(req.Input()[0]) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.context().Done():
			return out, wire.StatusCancelled, true
		case <-r.c.done:
			return out, wire.StatusCancelled, true
		}
		return wire.AppendIoctlResponse(out, ctl, req.FileID(), nil, nil), 0, true
	}
}
