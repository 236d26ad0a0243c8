package server

import (
	"path"
	"strings"
	"unicode"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// dirCursor is the enumeration state of a directory open.
type dirCursor struct {
	pattern string
	entries []fscc.FileInfo
	pos     int
}

var dirClasses = map[uint8]bool{
	fscc.FileDirectoryInformation: true, fscc.FileFullDirectoryInformation: true,
	fscc.FileBothDirectoryInformation: true, fscc.FileNamesInformation: true,
	fscc.FileIDBothDirectoryInformation: true, fscc.FileIDFullDirectoryInformation: true,
	fscc.FileIDExtdDirectoryInformation: true, fscc.FileIDExtdBothDirectoryInformation: true,
	fscc.FileID64ExtdDirectoryInformation: true, fscc.FileID64ExtdBothDirectoryInformation: true,
	fscc.FileIDAllExtdDirectoryInformation: true, fscc.FileIDAllExtdBothDirectoryInformation: true,
}

// handleQueryDirectory is SMB2 QUERY_DIRECTORY (MS-SMB2 3.3.5.18).
func handleQueryDirectory(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.QueryDirectoryRequest(r.msg)
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
	class := req.InfoClass()
	if !dirClasses[class] {
		return out, wire.StatusInvalidInfoClass
	}
	pattern, ok := decodeName(req.Pattern())
	if !ok {
		return out, wire.StatusInvalidParameter
	}
	maxOut := int(req.OutputBufferLength())
	if maxOut > int(r.c.srv.cfg.MaxTransactSize) {
		maxOut = int(r.c.srv.cfg.MaxTransactSize)
	}
	flags := req.Flags()
	o.mu.Lock()
	defer o.mu.Unlock()
	if pattern == "" {
		pattern = "*"
		if o.dir != nil {
			pattern = o.dir.pattern
		}
	}
	if strings.ContainsAny(pattern, `\/`) {
		return out, wire.StatusObjectNameInvalid
	}
	restart := flags&(wire.QueryDirRestartScans|wire.QueryDirReopen) != 0
	if o.dir == nil || restart || (flags&wire.QueryDirIndexSpecified != 0 && req.FileIndex() == 0) {
		cur, status := r.c.srv.listDir(o, pattern)
		if status != 0 {
			return out, status
		}
		o.dir = cur
		if len(cur.entries) == 0 {
			return out, wire.StatusNoSuchFile
		}
	}
	cur := o.dir
	if cur.pos >= len(cur.entries) {
		return out, wire.StatusNoMoreFiles
	}
	start := len(out)
	out = wire.AppendBufferResponse(out, nil)
	out = out[:start+8]
	w, err := fscc.NewDirWriter(out, class, maxOut)
	if err != nil {
		return out[:start], wire.StatusInvalidInfoClass
	}
	for cur.pos < len(cur.entries) {
		if !w.Add(&cur.entries[cur.pos]) {
			break
		}
		cur.pos++
		if flags&wire.QueryDirReturnSingle != 0 {
			break
		}
	}
	if w.Count() == 0 {
		if fixed, _ := fscc.DirEntryFixedSize(class); maxOut < fixed {
			return out[:start], wire.StatusInfoLengthMismatch
		}
		return out[:start], wire.StatusBufferOverflow
	}
	out = w.Bytes()
	le.PutUint16(out[start+2:], wire.HeaderSize+8)
	le.PutUint32(out[start+4:], uint32(len(out)-start-8))
	return out, wire.StatusSuccess
}

// listDir builds the entries of a directory matching pattern, with "." and
// ".." first.
func (s *Server) listDir(o *open, pattern string) (*dirCursor, wire.Status) {
	cur := &dirCursor{pattern: pattern}
	fsys := o.tree.share.fs
	dirPath := o.node.path
	self, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	if !hasWildcard(pattern) {
		// A plain name: look it up directly rather than reading the
		// directory (fast in large directories).
		info, err := fsys.Stat(path.Join(dirPath, pattern))
		if err == nil {
			fi := fileInfo(&info)
			cur.entries = append(cur.entries, fi)
		} else if pattern == "." || pattern == ".." {
			fi := fileInfo(&self)
			fi.Name = pattern
			cur.entries = append(cur.entries, fi)
		}
		return cur, 0
	}
	up := strings.ToUpper(pattern)
	if matchWildcard(up, ".") {
		fi := fileInfo(&self)
		fi.Name = "."
		cur.entries = append(cur.entries, fi)
	}
	if matchWildcard(up, "..") {
		parent := self
		if dirPath != "" {
			if p, err := fsys.Stat(path.Dir(dirPath)); err == nil {
				parent = p
			}
		}
		fi := fileInfo(&parent)
		fi.Name = ".."
		cur.entries = append(cur.entries, fi)
	}
	ents, err := o.f.ReadDir()
	if err != nil {
		return nil, statusOf(err)
	}
	for i := range ents {
		e := &ents[i]
		if pattern != "*" && !matchWildcard(up, strings.ToUpper(e.Name)) {
			continue
		}
		if e.Info.Symlink {
			continue
		}
		fi := fileInfo(&e.Info)
		fi.Name = e.Name
		cur.entries = append(cur.entries, fi)
	}
	return cur, 0
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, `*?<>"`) }

// matchWildcard matches an upper-cased name against an upper-cased pattern
// with the MS-FSA 2.1.4.4 wildcards: * ? and the DOS forms < > ".
func matchWildcard(pat, name string) bool {
	p := []rune(pat)
	n := []rune(name)
	return matchRunes(p, n)
}

func matchRunes(p, n []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(n); i++ {
				if matchRunes(p, n[i:]) {
					return true
				}
			}
			return false
		case '<': // DOS_STAR: any run not containing the last dot
			for i := 0; i <= len(n); i++ {
				if i > 0 && n[i-1] == '.' && !containsRune(n[i:], '.') {
					// crossing the final dot is not allowed
					return matchRunes(p[1:], n[i-1:])
				}
				if matchRunes(p[1:], n[i:]) {
					return true
				}
			}
			return false
		case '>': // DOS_QM: any one char, or nothing at a dot or the end
			if len(n) == 0 || n[0] == '.' {
				p = p[1:]
				continue
			}
			p, n = p[1:], n[1:]
		case '"': // DOS_DOT: a dot, or nothing at the end
			if len(n) == 0 {
				p = p[1:]
				continue
			}
			if n[0] != '.' {
				return false
			}
			p, n = p[1:], n[1:]
		case '?':
			if len(n) == 0 {
				return false
			}
			p, n = p[1:], n[1:]
		default:
			if len(n) == 0 || unicode.ToUpper(n[0]) != p[0] {
				return false
			}
			p, n = p[1:], n[1:]
		}
	}
	return len(n) == 0
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

var _ = vfs.Info{}
