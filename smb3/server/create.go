package server

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// parseCreateName turns a CREATE name into a share-relative path with '/'
// separators and a stream name ("" for the file itself); MS-SMB2 3.3.5.9 and
// MS-FSCC 2.1.5 say what is valid.
func parseCreateName(raw []byte) (string, string, wire.Status) {
	name, ok := decodeName(raw)
	if !ok {
		return "", "", wire.StatusInvalidParameter
	}
	if name == "" {
		return "", "", 0
	}
	if name[0] == '\\' || name[0] == '/' {
		return "", "", wire.StatusInvalidParameter
	}
	name, stream, ok := splitStream(name)
	if !ok {
		return "", "", wire.StatusObjectNameInvalid
	}
	name = strings.TrimSuffix(name, `\`)
	if name == "" {
		if stream != "" {
			return "", "", wire.StatusObjectNameInvalid
		}
		return "", "", 0
	}
	// "." components are dropped and ".." takes the previous one back, as
	// Windows and Samba resolve them (smb2.notify.tree opens
	// "dir\zqy\.."); one that would climb above the share root is
	// STATUS_OBJECT_PATH_SYNTAX_BAD.
	var parts []string
	for _, p := range strings.Split(name, `\`) {
		switch p {
		case "":
			return "", "", wire.StatusObjectNameInvalid
		case ".":
			continue
		case "..":
			if len(parts) == 0 {
				return "", "", wire.StatusObjectPathSyntaxBad
			}
			parts = parts[:len(parts)-1]
			continue
		}
		parts = append(parts, p)
		for _, ch := range p {
			if ch < 0x20 || strings.ContainsRune(`"*/:<>?|`, ch) {
				return "", "", wire.StatusObjectNameInvalid
			}
		}
		if len(p) > 255 {
			return "", "", wire.StatusObjectNameInvalid
		}
	}
	if !streamNameValid(stream) || len(parts) == 0 && stream != "" { // stream.go
		return "", "", wire.StatusObjectNameInvalid
	}
	return strings.Join(parts, "/"), stream, 0
}

// fileInfo converts a vfs.Info for the fscc encoders.
func fileInfo(in *vfs.Info) fscc.FileInfo {
	return fscc.FileInfo{
		Name:           in.Name,
		FileID:         in.FileID,
		Creation:       filetime(in.Birth),
		Access:         filetime(in.Access),
		Write:          filetime(in.Write),
		Change:         filetime(in.Change),
		EndOfFile:      in.Size,
		AllocationSize: allocSize(in),
		Attributes:     in.Attributes,
		Nlink:          in.Nlink,
		Directory:      in.IsDir,
	}
}

func allocSize(in *vfs.Info) int64 {
	if in.IsDir {
		return 0
	}
	return in.AllocSize
}

// Create context names (MS-SMB2 2.2.13.2).
const (
	ctxExtA = "ExtA"
	ctxSecD = "SecD"
	ctxDHnQ = "DHnQ"
	ctxDHnC = "DHnC"
	ctxAlSi = "AlSi"
	ctxMxAc = "MxAc"
	ctxTWrp = "TWrp"
	ctxQFid = "QFid"
	ctxRqLs = "RqLs"
	ctxDH2Q = "DH2Q"
	ctxDH2C = "DH2C"
)

// handleCreate is SMB2 CREATE (MS-SMB2 3.3.5.9).
func handleCreate(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.CreateRequest(r.msg)
	t := r.tree
	srv := r.c.srv
	if t.share.ipc {
		return r.createPipe(out, st, req) // pipe.go
	}
	if out, status, done := r.durableCreate(st, out); done { // durable.go: DHnC/DH2C
		return out, status
	}
	// MS-SMB2 3.3.5.9 and MS-FSA 2.1.5.1: the checks in the order Windows
	// applies them (smb2.create.gentest pins the order).
	access := req.DesiredAccess()
	if access&accessReservedMask != 0 || access == 0 {
		return out, wire.StatusAccessDenied
	}
	if access&accessSystemSecurity != 0 {
		return out, wire.StatusPrivilegeNotHeld
	}
	if req.ImpersonationLevel() > 3 {
		return out, wire.StatusBadImpersonationLevel
	}
	opts := req.CreateOptions()
	disp := req.CreateDisposition()
	if opts&^optValidMask != 0 || disp > fileOverwriteIf {
		return out, wire.StatusInvalidParameter
	}
	if opts&(optDirectoryFile|optNonDirectoryFile) == optDirectoryFile|optNonDirectoryFile {
		return out, wire.StatusInvalidParameter
	}
	if opts&(optCreateTreeConnection|optReserveOpfilter|optOpenByFileID) != 0 {
		return out, wire.StatusNotSupported
	}
	attrs := req.FileAttributes()
	if attrs&^attrValidMask != 0 {
		return out, wire.StatusInvalidParameter
	}
	if opts&optDirectoryFile != 0 && attrs&fscc.FileAttributeTemporary != 0 {
		return out, wire.StatusInvalidParameter
	}
	if attrs&fscc.FileAttributeEncrypted != 0 && disp != fileOpen {
		// No EFS here (smb2.create.gentest accepts ACCESS_DENIED).
		return out, wire.StatusAccessDenied
	}
	if req.ShareAccess()&^0x7 != 0 {
		return out, wire.StatusInvalidParameter
	}
	ctxs, err := wire.ParseCreateContexts(req.ContextsBuffer())
	if err != nil {
		return out, wire.StatusInvalidParameter
	}
	path, stream, status := parseCreateName(req.Name())
	if status != 0 {
		return out, status
	}
	if access == 0 && opts&optDeleteOnClose == 0 {
		// No access at all is allowed only as a query of existence in
		// Windows when attributes are read; map to read attributes.
	}
	if access&maximumAllowed != 0 {
		access |= t.access
	}
	access = genericMapping(access &^ maximumAllowed)
	if opts&optDeleteOnClose != 0 && access&accessDelete == 0 {
		return out, wire.StatusInvalidParameter
	}
	ro := t.share.cfg.ReadOnly
	if ro && (access&writeAccessMask != 0 || disp != fileOpen && disp != fileOpenIf || opts&optDeleteOnClose != 0) {
		if access&writeAccessMask != 0 || opts&optDeleteOnClose != 0 || disp == fileCreate || disp == fileOverwrite || disp == fileOverwriteIf || disp == fileSupersede {
			return out, wire.StatusAccessDenied
		}
	}
	var wantMxAc, wantQFid bool
	var leaseReq *leaseRequest
	var secDesc []byte
	var eas []fscc.FullEa
	var allocHint int64 = -1
	for _, c := range ctxs {
		if len(c.Name) < 4 {
			return out, wire.StatusInvalidParameter
		}
		switch c.Name {
		case ctxMxAc:
			wantMxAc = true
		case ctxQFid:
			wantQFid = true
		case ctxSecD:
			secDesc = c.Data
		case ctxExtA:
			eas, err = fscc.DecodeFullEaInformation(c.Data)
			if err != nil {
				return out, wire.StatusInvalidParameter
			}
		case ctxAlSi:
			if len(c.Data) < 8 {
				return out, wire.StatusInvalidParameter
			}
			allocHint = int64(le.Uint64(c.Data))
		case ctxRqLs:
			if r.c.dialect >= wire.Dialect210 && req.RequestedOplockLevel() == oplockLease {
				lr, ok := parseLeaseRequest(c.Data, r.c.dialect)
				if !ok {
					return out, wire.StatusInvalidParameter
				}
				leaseReq = &lr
			}
		case ctxTWrp:
			// No previous versions (snapshots) are kept.
			return out, wire.StatusObjectNameNotFound
		case ctxDHnC, ctxDH2C:
			// No durable handle can be found to reconnect to.
			return out, wire.StatusObjectNameNotFound
		}
	}

	r.sess.mu.Lock()
	tooMany := r.sess.nopens >= srv.cfg.MaxOpensPerSession
	r.sess.mu.Unlock()
	if tooMany {
		srv.reject("max-opens", "session", r.sess.id)
		return out, wire.StatusInsufficientResources
	}

	fsys := t.share.fs
	var f fileHandle
	action := actionOpened
	isDir := false
	for attempt := 0; stream == ""; attempt++ {
		info, serr := fsys.Stat(path)
		exists := serr == nil
		if serr != nil && !errors.Is(serr, syscall.ENOENT) {
			return out, statusOf(serr)
		}
		if exists {
			isDir = info.IsDir
			if path == "" && disp != fileOpen && disp != fileOpenIf {
				return out, wire.StatusAccessDenied
			}
			switch disp {
			case fileCreate:
				return out, wire.StatusObjectNameCollision
			case fileSupersede, fileOverwrite, fileOverwriteIf:
				if isDir {
					return out, wire.StatusInvalidParameter
				}
			}
			if isDir && opts&optNonDirectoryFile != 0 {
				return out, wire.StatusFileIsADirectory
			}
			if st := dirDataStream(req.Name(), opts); isDir && st != 0 { // stream.go
				return out, st
			}
			if !isDir && opts&optDirectoryFile != 0 {
				return out, wire.StatusNotADirectory
			}
			if !isDir && info.Attributes&fscc.FileAttributeReadonly != 0 {
				if access&(fileWriteData|fileAppendData) != 0 || disp == fileOverwrite || disp == fileOverwriteIf || disp == fileSupersede {
					return out, wire.StatusAccessDenied
				}
				if opts&optDeleteOnClose != 0 {
					return out, wire.StatusCannotDelete
				}
			}
			if disp == fileOverwrite || disp == fileOverwriteIf || disp == fileSupersede {
				// Overwrite needs write access (MS-FSA 2.1.5.1.2).
				access |= fileWriteData
			}
			fl := vfs.OpenFlags{Directory: isDir, NonDirectory: !isDir, Write: !isDir && access&(fileWriteData|fileAppendData) != 0}
			f, _, err = fsys.OpenFile(path, fl, 0)
			if err != nil {
				if errors.Is(err, syscall.ENOENT) && attempt < 3 {
					continue
				}
				return out, statusOf(err)
			}
			switch disp {
			case fileSupersede:
				action = actionSuperseded
			case fileOverwrite, fileOverwriteIf:
				action = actionOverwritten
			}
			break
		}
		// Not there.
		if disp == fileOpen || disp == fileOverwrite {
			return out, statusOf(serr)
		}
		if ro {
			return out, wire.StatusAccessDenied
		}
		isDir = opts&optDirectoryFile != 0
		fl := vfs.OpenFlags{Create: true, Excl: true, Directory: isDir, NonDirectory: !isDir, Write: !isDir}
		f, _, err = fsys.OpenFile(path, fl, 0)
		if err != nil {
			if errors.Is(err, syscall.EEXIST) && attempt < 3 {
				continue
			}
			return out, statusOf(err)
		}
		action = actionCreated
		if isDir {
			srv.notifyDirCreated(filepath.Join(t.share.cfg.Path, filepath.FromSlash(path)), path) // notify_linux.go
		}
		break
	}
	if stream != "" {
		f, action, status = srv.createStream(t, path, stream, disp, opts, access, ro)
		if status != 0 {
			return out, status
		}
	}

	if action != actionCreated {
		// A stored security descriptor decides what an existing file
		// grants (MS-FSA 2.1.5.1.2.1; smb2.create.nulldacl).
		tok := r.sess.securityToken()
		g, ok := sdAccessToken(f, access, tok)
		if access&(accessDelete|maximumAllowed) != 0 && g&accessDelete == 0 && stream == "" && path != "" &&
			parentGrantsDeleteChild(fsys, path, tok) {
			// MS-FSA 2.1.5.1.2.1: DELETE the file's DACL does not grant
			// is granted by FILE_DELETE_CHILD on its parent directory.
			g |= accessDelete
			ok = (access&^(maximumAllowed|accessSystemSecurity))&^g == 0 && (access&maximumAllowed == 0 || g != 0)
		}
		if !ok {
			f.Close()
			return out, wire.StatusAccessDenied
		}
		if req.DesiredAccess()&maximumAllowed != 0 {
			access &= g
		}
	}

	// Share modes and pending deletes, under the node table lock.
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return out, statusOf(err)
	}
	o := &open{
		id:      wire.FileID{Persistent: srv.newID(), Volatile: srv.newID()},
		tree:    t,
		sess:    r.sess,
		f:       f,
		isDir:   isDir,
		access:  access,
		shareAc: req.ShareAccess(),
		options: opts,
		name:    strings.ReplaceAll(path, "/", `\`) + streamSuffix(stream),
	}
	if opts&optWriteThrough != 0 {
		o.mode |= fscc.FileWriteThrough
	}
	key := nodeKey{info.Dev, info.FileID, strings.ToLower(stream)}
	var granted grantResult
	var astatus wire.Status
	out, granted, astatus = r.attachOpen(out, o, key, t, stream, leaseReq, req.RequestedOplockLevel(),
		disp == fileOverwrite || disp == fileOverwriteIf || disp == fileSupersede)
	if astatus != 0 {
		f.Close()
		return out, astatus
	}
	if opts&optDeleteOnClose != 0 {
		o.docOnClose = true
	}

	// Overwrite and supersede truncate and reset attributes; new files
	// take the requested attributes.
	if action == actionOverwritten || action == actionSuperseded {
		if err := f.Truncate(0); err != nil {
			srv.closeOpen(o)
			return out, statusOf(err)
		}
		f.SetAttributes(attrs&attrStoredMask | fscc.FileAttributeArchive)
	} else if action == actionCreated {
		a := attrs & attrStoredMask
		if !isDir {
			a |= fscc.FileAttributeArchive
		}
		// Attributes the file would show anyway (ARCHIVE for a file,
		// none for a directory, HIDDEN for a dot name: vfs derives them)
		// are not stored: the store would be a metadata change right
		// after the create, which change notify reports to filters that
		// a create does not match (smb2.notify.mask, FILE_NOTIFY_CHANGE_CREATION).
		if a != 0 && a != info.Attributes&attrStoredMask {
			f.SetAttributes(a)
		}
	}
	if allocHint > 0 && !isDir && action != actionOpened {
		f.Allocate(allocHint)
	}
	if len(eas) > 0 {
		if status := applyEAs(f, eas); status != 0 {
			srv.closeOpen(o)
			return out, status
		}
	}
	if secDesc != nil && action == actionCreated {
		if status := applyCreateSecurity(f, secDesc); status != 0 {
			srv.closeOpen(o)
			return out, status
		}
	}
	if action != actionOpened {
		if info, err = f.Stat(); err != nil {
			srv.closeOpen(o)
			return out, statusOf(err)
		}
	}
	srv.opens.add(o)
	r.sess.mu.Lock()
	r.sess.nopens++
	r.sess.mu.Unlock()
	st.fid, st.hasFid = o.id, true

	fi := replyInfo(&info, f.Fd())
	resp := wire.CreateResponse{
		CreateAction:   action,
		Creation:       fi.Creation,
		LastAccess:     fi.Access,
		LastWrite:      fi.Write,
		Change:         fi.Change,
		AllocationSize: fi.AllocationSize,
		EndOfFile:      info.Size,
		Attributes:     info.Attributes,
		FileID:         o.id,
	}
	if isDir {
		resp.EndOfFile = 0
	}
	resp.OplockLevel = granted.oplock
	if granted.lease != nil {
		resp.OplockLevel = oplockLease
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxRqLs, Data: granted.leaseResp})
	}
	resp.Contexts = append(resp.Contexts, r.durableGrant(o, ctxs, &resp)...) // durable.go
	if wantMxAc {
		d := le.AppendUint32(nil, 0)
		d = le.AppendUint32(d, t.access)
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxMxAc, Data: d})
	}
	if wantQFid {
		d := le.AppendUint64(nil, info.FileID)
		d = le.AppendUint64(d, info.Dev)
		d = append(d, make([]byte, 16)...)
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: ctxQFid, Data: d})
	}
	return resp.Append(out), wire.StatusSuccess
}

// handleClose is SMB2 CLOSE (MS-SMB2 3.3.5.10).
func handleClose(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.CloseRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe != nil {
		r.c.srv.closePipe(o) // pipe.go: ends a READ waiting on the pipe, which the wait below would wait for
	}
	o.io.Wait() // pipelined READ/WRITE on this open finish first
	info, ok := r.c.srv.closeOpen(o)
	var resp wire.CloseResponse
	if req.Flags()&wire.CloseFlagPostQueryAttrib != 0 && ok {
		resp.Flags = wire.CloseFlagPostQueryAttrib
		fi := fileInfo(&info)
		applyTimeOverrides(&fi, &info)
		resp.Creation = fi.Creation
		resp.LastAccess = fi.Access
		resp.LastWrite = fi.Write
		resp.Change = fi.Change
		resp.AllocationSize = allocSize(&info)
		resp.EndOfFile = info.Size
		if info.IsDir {
			resp.EndOfFile = 0
		}
		resp.Attributes = info.Attributes
	}
	return resp.Append(out), wire.StatusSuccess
}

func streamSuffix(stream string) string {
	if stream == "" {
		return ""
	}
	return ":" + stream
}

// createStream opens or creates an alternate data stream of path, creating
// the base file when the disposition allows (MS-FSA 2.1.5.1).
func (s *Server) createStream(t *tree, path, stream string, disp, opts, access uint32, ro bool) (fileHandle, uint32, wire.Status) {
	fsys := t.share.fs
	if opts&optDirectoryFile != 0 {
		return nil, 0, wire.StatusNotADirectory
	}
	info, err := fsys.Stat(path)
	if err != nil {
		if !errors.Is(err, syscall.ENOENT) || disp == fileOpen || disp == fileOverwrite {
			return nil, 0, statusOf(err)
		}
		if ro {
			return nil, 0, wire.StatusAccessDenied
		}
		base, _, err := fsys.OpenFile(path, vfs.OpenFlags{Create: true, NonDirectory: true, Write: true}, 0)
		if err != nil {
			return nil, 0, statusOf(err)
		}
		base.SetAttributes(fscc.FileAttributeArchive)
		if err := base.SetStream(stream, []byte{}); err != nil {
			base.Close()
			return nil, 0, statusOf(err)
		}
		return &streamFile{File: base, stream: stream, mu: &s.streamMu}, actionCreated, 0
	}
	base, _, err := fsys.OpenFile(path, vfs.OpenFlags{Directory: info.IsDir, NonDirectory: !info.IsDir}, 0)
	if err != nil {
		return nil, 0, statusOf(err)
	}
	stored, err := findStream(base, stream)
	if err != nil {
		base.Close()
		return nil, 0, statusOf(err)
	}
	action := actionOpened
	if stored == "" {
		if disp == fileOpen || disp == fileOverwrite {
			base.Close()
			return nil, 0, wire.StatusObjectNameNotFound
		}
		if ro {
			base.Close()
			return nil, 0, wire.StatusAccessDenied
		}
		stored = stream
		action = actionCreated
		if err := base.SetStream(stored, []byte{}); err != nil {
			base.Close()
			return nil, 0, statusOf(err)
		}
	} else {
		switch disp {
		case fileCreate:
			base.Close()
			return nil, 0, wire.StatusObjectNameCollision
		case fileOverwrite, fileOverwriteIf, fileSupersede:
			if err := base.SetStream(stored, []byte{}); err != nil {
				base.Close()
				return nil, 0, statusOf(err)
			}
			action = actionOverwritten
			if disp == fileSupersede {
				action = actionSuperseded
			}
		}
	}
	return &streamFile{File: base, stream: stored, mu: &s.streamMu}, action, 0
}
