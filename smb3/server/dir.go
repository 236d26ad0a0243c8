package server

import (
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// dirCursor is the enumeration state of a directory open: the search
// pattern (MS-FSA 2.1.5.6.3 Open.QueryPattern) and the position in a sorted
// snapshot of the directory.
//
// Windows (NTFS) enumerates a directory in the order of its name index and
// continues after the last name returned, so files removed meanwhile are not
// returned and files added after the position are. The cursor does the
// same over its snapshot: it is taken at the first query (or a restart),
// sorted by upper-cased name; a continuation re-reads the directory when
// the directory's stamp changed and resumes after the last name returned,
// and every entry of a continuation is checked to still exist before it is
// returned (directory stamps may not move for a change in the same clock
// tick).
type dirCursor struct {
	pattern string
	entries []dirEntry // "." and ".." first, then sorted by (key, name)
	ndots   int        // how many of entries are "." and ".."
	pos     int        // next entry to return
	stamp   dirStamp   // the directory when entries were read

	// The last entry returned (valid once pos > ndots).
	lastKey, lastName string
	// ordinal is the FileIndex of the next entry returned: 1, 2, ... in
	// the order of this enumeration.
	ordinal uint32
}

// dirEntry is one entry of the snapshot.
type dirEntry struct {
	key     string // upper-cased name: the sort key
	fi      fscc.FileInfo
	dev     uint64
	ctime   int64 // ns; keys the extras cache
	regular bool  // a regular file (see fixAllocSize)
}

// dirStamp identifies a state of a directory's contents.
type dirStamp struct {
	write, change time.Time
	size          int64
	nlink         uint32
}

func stampOf(in *vfs.Info) dirStamp {
	return dirStamp{write: in.Write, change: in.Change, size: in.Size, nlink: in.Nlink}
}

// dirClasses are the FileInformationClass values QUERY_DIRECTORY accepts
// (MS-SMB2 2.2.33).
var dirClasses = map[uint8]bool{
	fscc.FileDirectoryInformation: true, fscc.FileFullDirectoryInformation: true,
	fscc.FileBothDirectoryInformation: true, fscc.FileNamesInformation: true,
	fscc.FileIDBothDirectoryInformation: true, fscc.FileIDFullDirectoryInformation: true,
	fscc.FileIDExtdDirectoryInformation: true, fscc.FileIDExtdBothDirectoryInformation: true,
	fscc.FileID64ExtdDirectoryInformation: true, fscc.FileID64ExtdBothDirectoryInformation: true,
	fscc.FileIDAllExtdDirectoryInformation: true, fscc.FileIDAllExtdBothDirectoryInformation: true,
}

// dirClassHasShortName reports whether entries of class carry ShortName.
func dirClassHasShortName(class uint8) bool {
	switch class {
	case fscc.FileBothDirectoryInformation, fscc.FileIDBothDirectoryInformation,
		fscc.FileIDExtdBothDirectoryInformation, fscc.FileID64ExtdBothDirectoryInformation,
		fscc.FileIDAllExtdBothDirectoryInformation:
		return true
	}
	return false
}

// lookupListableDir finds the directory open that QUERY_DIRECTORY and
// CHANGE_NOTIFY act on: INVALID_PARAMETER for a file, ACCESS_DENIED without
// FILE_LIST_DIRECTORY (MS-SMB2 3.3.5.18: "If Open.GrantedAccess does not
// include FILE_LIST_DIRECTORY, the server MUST fail the request with
// STATUS_ACCESS_DENIED"; 3.3.5.19 likewise).
func (r *request) lookupListableDir(st *chainState, fid wire.FileID) (*open, wire.Status) {
	o, status := r.lookupOpen(st, fid)
	if status != 0 {
		return nil, status
	}
	if !o.isDir {
		return nil, wire.StatusInvalidParameter
	}
	if o.access&fileReadData == 0 {
		return nil, wire.StatusAccessDenied
	}
	return o, 0
}

// handleQueryDirectory is SMB2 QUERY_DIRECTORY (MS-SMB2 3.3.5.18, MS-FSA
// 2.1.5.6.3).
func handleQueryDirectory(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.QueryDirectoryRequest(r.msg)
	o, status := r.lookupListableDir(st, req.FileID())
	if status != 0 {
		return out, status
	}
	class := req.InfoClass()
	if !dirClasses[class] {
		return out, wire.StatusInvalidInfoClass
	}
	pattern, ok := decodeName(req.Pattern())
	if !ok {
		return out, wire.StatusInvalidParameter
	}
	// MS-SMB2 3.3.5.18: "If OutputBufferLength is greater than
	// Connection.MaxTransactSize, the server SHOULD fail the request with
	// STATUS_INVALID_PARAMETER."
	maxOut := int(req.OutputBufferLength())
	if maxOut > int(r.c.srv.cfg.MaxTransactSize) {
		return out, wire.StatusInvalidParameter
	}
	// MS-FSA 2.1.5.6.3: "If OutputBufferSize is less than the size needed
	// to return a single entry, the operation MUST be failed with
	// STATUS_INFO_LENGTH_MISMATCH."
	if fixed, _ := fscc.DirEntryFixedSize(class); maxOut < fixed {
		return out, wire.StatusInfoLengthMismatch
	}
	flags := req.Flags()
	if strings.ContainsAny(pattern, `\/`) {
		return out, wire.StatusObjectNameInvalid
	}
	dirPath := o.nodePath() // before o.mu: nodePath takes the node table lock
	o.mu.Lock()
	defer o.mu.Unlock()
	// SMB2_INDEX_SPECIFIED: like Windows (NTFS) and Samba, the FileIndex
	// is ignored and the enumeration continues from the cursor (MS-FSCC
	// 2.4.10: FileIndex "MUST be ignored" where positions are not fixed).
	restart := flags&(wire.QueryDirRestartScans|wire.QueryDirReopen) != 0
	fresh := false
	if o.dir == nil || restart {
		if pattern == "" {
			pattern = "*"
			if o.dir != nil && flags&wire.QueryDirReopen == 0 {
				pattern = o.dir.pattern
			}
		}
		cur, status := listDir(o, dirPath, pattern)
		if status != 0 {
			return out, status
		}
		o.dir = cur
		fresh = true
		// MS-FSA 2.1.5.6.3: no match on the first query of a pattern is
		// STATUS_NO_SUCH_FILE; later it is STATUS_NO_MORE_FILES.
		if len(cur.entries) == 0 {
			return out, wire.StatusNoSuchFile
		}
	} else if status := o.dir.refresh(o, dirPath); status != 0 {
		return out, status
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
	short := dirClassHasShortName(class)
	extras := class != fscc.FileNamesInformation
	dirfd := o.f.Fd()
	for cur.pos < len(cur.entries) {
		e := &cur.entries[cur.pos]
		dot := cur.pos < cur.ndots
		fi := e.fi
		if !dot {
			var ok bool
			if extras {
				ok = fillExtras(dirfd, e, &fi, !fresh)
			} else {
				ok = fresh || entryExists(dirfd, fi.Name)
			}
			if !ok {
				cur.pos++
				continue
			}
			if short {
				fi.ShortName = shortName(fi.Name)
			}
		}
		// FileIndex: the entry's position in this enumeration, as FAT
		// reports positions (NTFS reports 0). Clients ignore it (MS-FSCC
		// 2.4.10), and so does the server on resume; a non-zero index
		// lets smb2.dir.file-index run instead of skipping.
		fi.FileIndex = cur.ordinal
		if !w.Add(&fi) {
			break
		}
		cur.pos++
		cur.ordinal++
		if !dot {
			cur.lastKey, cur.lastName = e.key, e.fi.Name
		}
		if flags&wire.QueryDirReturnSingle != 0 {
			break
		}
	}
	if w.Count() == 0 {
		if cur.pos >= len(cur.entries) {
			// Everything left was removed meanwhile.
			return out[:start], wire.StatusNoMoreFiles
		}
		return out[:start], wire.StatusBufferOverflow
	}
	out = w.Bytes()
	le.PutUint16(out[start+2:], wire.HeaderSize+8)
	le.PutUint32(out[start+4:], uint32(len(out)-start-8))
	return out, wire.StatusSuccess
}

// refresh re-reads the directory (at dirPath in the share) if it changed
// since the snapshot and moves the position after the last entry returned.
func (cur *dirCursor) refresh(o *open, dirPath string) wire.Status {
	self, err := o.f.Stat()
	if err != nil {
		return statusOf(err)
	}
	if stampOf(&self) == cur.stamp {
		return 0
	}
	next, status := listDir(o, dirPath, cur.pattern)
	if status != 0 {
		return status
	}
	pos := cur.pos
	if pos > cur.ndots {
		// Resume after (lastKey, lastName) among the non-dot entries.
		rest := next.entries[next.ndots:]
		i := sort.Search(len(rest), func(i int) bool {
			return entryLess(cur.lastKey, cur.lastName, rest[i].key, rest[i].fi.Name)
		})
		pos = next.ndots + i
	} else if pos > next.ndots {
		pos = next.ndots
	}
	next.pos = pos
	next.ordinal = cur.ordinal
	next.lastKey, next.lastName = cur.lastKey, cur.lastName
	*cur = *next
	return 0
}

// entryLess orders entries by upper-cased name, then by exact name (two
// names that differ only in case on a case-sensitive share).
func entryLess(k1, n1, k2, n2 string) bool {
	if k1 != k2 {
		return k1 < k2
	}
	return n1 < n2
}

// listDir takes the snapshot of o's directory, at dirPath in the share, for
// pattern: "." and ".." first when they match, then the matching entries
// sorted by name.
func listDir(o *open, dirPath, pattern string) (*dirCursor, wire.Status) {
	cur := &dirCursor{pattern: pattern, ordinal: 1}
	fsys := o.tree.share.fs
	self, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	cur.stamp = stampOf(&self)
	dirEnt := func(in *vfs.Info, name string) dirEntry {
		fi := fileInfo(in)
		fi.Name = name
		if in.IsDir {
			fi.EndOfFile = 0
		}
		applyTimeOverrides(&fi, in)
		return dirEntry{key: strings.ToUpper(name), fi: fi, dev: in.Dev, ctime: in.Change.UnixNano(), regular: isRegular(in)}
	}
	if !hasWildcard(pattern) {
		// A plain name: look it up directly rather than reading the
		// directory (fast in large directories).
		if pattern == "." || pattern == ".." {
			cur.entries = append(cur.entries, dirEnt(&self, pattern))
			cur.ndots = 1
			return cur, 0
		}
		info, err := fsys.Stat(path.Join(dirPath, pattern))
		if err == nil && !info.Symlink && validEntryName(info.Name) {
			name := info.Name
			if name == "" {
				name = pattern
			}
			cur.entries = append(cur.entries, dirEnt(&info, name))
		}
		return cur, 0
	}
	up := strings.ToUpper(pattern)
	if matchWildcard(up, ".") {
		cur.entries = append(cur.entries, dirEnt(&self, "."))
	}
	if matchWildcard(up, "..") {
		parent := self
		if dirPath != "" {
			if p, err := fsys.Stat(path.Dir(dirPath)); err == nil {
				parent = p
			}
		}
		cur.entries = append(cur.entries, dirEnt(&parent, ".."))
	}
	cur.ndots = len(cur.entries)
	ents, err := o.f.ReadDir()
	if err != nil {
		return nil, statusOf(err)
	}
	all := pattern == "*"
	for i := range ents {
		e := &ents[i]
		if e.Info.Symlink || !validEntryName(e.Name) {
			continue
		}
		key := strings.ToUpper(e.Name)
		if !all && !matchWildcard(up, key) {
			continue
		}
		d := dirEnt(&e.Info, e.Name)
		d.key = key
		cur.entries = append(cur.entries, d)
	}
	rest := cur.entries[cur.ndots:]
	sort.Slice(rest, func(i, j int) bool {
		return entryLess(rest[i].key, rest[i].fi.Name, rest[j].key, rest[j].fi.Name)
	})
	return cur, 0
}

// validEntryName reports whether a name on disk can be shown to SMB
// clients: names a client could not open again (with characters MS-FSCC
// 2.1.5.2 forbids, or not UTF-8) are left out of listings.
func validEntryName(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, ch := range name {
		if ch < 0x20 || strings.ContainsRune(`"*/:<>?\|`, ch) {
			return false
		}
	}
	return true
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, `*?<>"`) }

// matchWildcard matches an upper-cased name against an upper-cased pattern
// with the wildcards of MS-FSA 2.1.4.4 (FsRtlIsNameInExpression):
//
//   - '*' matches any run of characters, including none;
//   - '?' matches exactly one character;
//   - DOS_STAR '<' matches any run of characters up to (not including) the
//     last '.' of the name, or the rest of a name without a dot;
//   - DOS_QM '>' matches one character, or nothing before a '.' or at the
//     end of the name (several '>' in a row stop together at a dot);
//   - DOS_DOT '"' matches a '.', or nothing at the end of the name.
func matchWildcard(pat, name string) bool {
	if pat == "*" {
		return true
	}
	p := []rune(pat)
	n := []rune(name)
	last := lastDot(n)
	// An NFA walk (as FsRtlIsNameInExpression does): cur[j] is set when
	// the first i characters of the name can leave the pattern at j.
	// O(len(p)*len(n)), no backtracking.
	cur := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	cur[0] = true
	for i := 0; ; i++ {
		atEnd := i == len(n)
		// Moves that consume nothing at name position i.
		for j := 0; j < len(p); j++ {
			if !cur[j] {
				continue
			}
			switch p[j] {
			case '*', '<':
				cur[j+1] = true
			case '>':
				if atEnd || n[i] == '.' {
					cur[j+1] = true
				}
			case '"':
				if atEnd {
					cur[j+1] = true
				}
			}
		}
		if atEnd {
			return cur[len(p)]
		}
		c := n[i]
		clear(next)
		any := false
		for j := 0; j < len(p); j++ {
			if !cur[j] {
				continue
			}
			switch p[j] {
			case '*':
				next[j] = true
			case '<':
				// Any character but the last dot of the name.
				if c != '.' || i != last {
					next[j] = true
				}
			case '?':
				next[j+1] = true
			case '>':
				if c != '.' {
					next[j+1] = true
				}
			case '"':
				if c == '.' {
					next[j+1] = true
				}
			default:
				if unicode.ToUpper(c) == p[j] {
					next[j+1] = true
				}
			}
		}
		for _, v := range next {
			any = any || v
		}
		if !any {
			return false
		}
		cur, next = next, cur
	}
}

func lastDot(rs []rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == '.' {
			return i
		}
	}
	return -1
}
