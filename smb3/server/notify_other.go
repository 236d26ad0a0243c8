//go:build !linux

package server

import "smb3d/smb3/wire"

// CHANGE_NOTIFY needs inotify (notify_linux.go); elsewhere it is refused
// cleanly and nothing is watched.

type notifier struct{ srv *Server }

type notifyWatch struct{}

func (n *notifier) unwatch(w *notifyWatch) {}

func (s *Server) notifyDeletePending(n *fileNode) {}

func (s *Server) notifyDirCreated(abs, rel string) {}

// handleChangeNotify is SMB2 CHANGE_NOTIFY: not supported off Linux.
func handleChangeNotify(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	return out, wire.StatusNotSupported
}
