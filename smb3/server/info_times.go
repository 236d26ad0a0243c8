package server

import (
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
)

// Change times set by clients.
//
// MS-FSA 2.1.5.15.1 (FileBasicInformation) lets a client set ChangeTime,
// and smbtorture reads it back exactly; Linux cannot set a ctime. The value a
// client sets is kept here, in memory, keyed by inode, together with the
// real ctime it stands for. It is reported while the file's ctime has not
// moved, or while the open that set it is still open: Windows does not
// update ChangeTime for changes made through an open after the client set
// it on that open (MS-FSA Open.UserSetChangeTime), and changes seen while
// that open lives are attributed to it. Once the setter is closed and the
// file changes again, the real ctime shows. The overrides do not survive a
// restart of the server.
var changeTimes struct {
	mu sync.Mutex
	m  map[inodeKey]*changeOverride
	n  atomic.Int64 // len(m), read without mu on the fast path
}

type inodeKey struct{ dev, ino uint64 }

type changeOverride struct {
	value uint64    // FILETIME the client set
	real  time.Time // the file's ctime the value stands for
	owner *open     // the open that set it
}

// maxChangeOverrides bounds the table; beyond it, overrides whose setter is
// closed are dropped.
const maxChangeOverrides = 1 << 16

// applyTimeOverrides replaces fi's ChangeTime by the one a client set, if
// it still applies to the file described by in.
func applyTimeOverrides(fi *fscc.FileInfo, in *vfs.Info) {
	if changeTimes.n.Load() == 0 {
		return
	}
	k := inodeKey{in.Dev, in.FileID}
	changeTimes.mu.Lock()
	defer changeTimes.mu.Unlock()
	ov := changeTimes.m[k]
	if ov == nil {
		return
	}
	switch {
	case in.Change.Equal(ov.real):
	case openAlive(ov.owner):
		ov.real = in.Change
	default:
		delete(changeTimes.m, k)
		changeTimes.n.Store(int64(len(changeTimes.m)))
		return
	}
	fi.Change = ov.value
}

// setChangeTime records that the client set o's file's ChangeTime to ft,
// after all other changes of the SET_INFO were made.
func setChangeTime(o *open, ft uint64) error {
	info, err := o.f.Stat()
	if err != nil {
		return err
	}
	k := inodeKey{info.Dev, info.FileID}
	changeTimes.mu.Lock()
	defer changeTimes.mu.Unlock()
	if changeTimes.m == nil {
		changeTimes.m = make(map[inodeKey]*changeOverride)
	}
	if len(changeTimes.m) >= maxChangeOverrides {
		for key, ov := range changeTimes.m {
			if !openAlive(ov.owner) {
				delete(changeTimes.m, key)
			}
		}
	}
	changeTimes.m[k] = &changeOverride{value: ft, real: info.Change, owner: o}
	changeTimes.n.Store(int64(len(changeTimes.m)))
	return nil
}

// adjustFileInfo applies to fi, built by fileInfo from in for the file or
// directory open as fd, what the backend's stat does not know: a ChangeTime
// a client set, and the data allocation of a regular file (fixAllocSize).
// QUERY_INFO and directory listings apply it; CREATE and CLOSE with
// post-query attributes must too (replyInfo), or their times and sizes
// disagree with QUERY_INFO (smb2.create.open compares them).
func adjustFileInfo(fi *fscc.FileInfo, in *vfs.Info, fd int) {
	applyTimeOverrides(fi, in)
	if isRegular(in) && fd >= 0 {
		fixAllocSize(fi, fd)
	}
}

// replyInfo is fileInfo(in) as replies report it for the file or directory
// open as fd (-1 if none): EndOfFile 0 for a directory, then
// adjustFileInfo.
func replyInfo(in *vfs.Info, fd int) fscc.FileInfo {
	fi := fileInfo(in)
	if in.IsDir {
		fi.EndOfFile = 0
	}
	adjustFileInfo(&fi, in, fd)
	return fi
}

// openAlive reports whether o is still in its server's open table. It does
// not take o.mu, so it can be called while any open's mu is held.
func openAlive(o *open) bool {
	return o != nil && o.sess != nil && o.sess.srv.opens.get(o.id) == o
}
