package server

import (
	"errors"
	"path"
	"strings"
	"syscall"
	"time"

	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// handleQueryInfo is SMB2 QUERY_INFO (MS-SMB2 3.3.5.20).
func handleQueryInfo(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.QueryInfoRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe != nil {
		return r.queryPipeInfo(o, req, out) // pipe.go
	}
	maxOut := int(req.OutputBufferLength())
	if maxOut > int(r.c.srv.cfg.MaxTransactSize) {
		return out, wire.StatusInvalidParameter
	}
	var data []byte
	overflow := false
	switch req.InfoType() {
	case wire.InfoFile:
		data, overflow, status = queryFileInfo(r, o, req.InfoClass(), maxOut)
	case wire.InfoFilesystem:
		data, overflow, status = queryFSInfo(o, req.InfoClass(), maxOut)
	case wire.InfoSecurity:
		data, status = querySecurity(o, req.AdditionalInformation(), maxOut)
	case wire.InfoQuota:
		status = wire.StatusNotSupported
	default:
		status = wire.StatusInvalidParameter
	}
	if status != 0 && status != wire.StatusBufferTooSmall {
		return out, status
	}
	if status == wire.StatusBufferTooSmall {
		// MS-SMB2 3.3.5.20.3: the error data carries the needed size.
		return wire.AppendErrorResponse(out, data), wire.StatusBufferTooSmall
	}
	out = wire.AppendBufferResponse(out, data)
	if overflow {
		return out, wire.StatusBufferOverflow
	}
	return out, wire.StatusSuccess
}

func (o *open) fileInfo() (fscc.FileInfo, *vfs.Info, error) {
	info, err := o.f.Stat()
	if err != nil {
		return fscc.FileInfo{}, nil, err
	}
	fi := fileInfo(&info)
	srv := o.sess.srv
	srv.nodes.mu.Lock()
	fi.DeletePending = o.node.deletePending
	srv.nodes.mu.Unlock()
	if fi.DeletePending && fi.Nlink > 0 {
		// The link that goes on close no longer counts (MS-FSCC 2.4.41
		// NumberOfLinks: Windows reports 0 for a single-link file).
		fi.Nlink--
	}
	if o.isDir {
		fi.EndOfFile = 0
	}
	fd := o.f.Fd()
	if _, stream := o.f.(*streamFile); stream {
		fd = -1 // the sizes are the stream's
	}
	adjustFileInfo(&fi, &info, fd)
	if eas, err := o.f.ListEAs(); err == nil && len(eas) > 0 {
		fi.EASize = uint32(fscc.FullEaListLen(fullEas(eas)))
	}
	return fi, &info, nil
}

func fullEas(eas []vfs.EA) []fscc.FullEa {
	list := make([]fscc.FullEa, len(eas))
	for i, e := range eas {
		list[i] = fscc.FullEa{Name: e.Name, Value: e.Value}
	}
	return list
}

// queryFileInfo answers SMB2_0_INFO_FILE (MS-SMB2 3.3.5.20.1) for class.
func queryFileInfo(r *request, o *open, class uint8, maxOut int) ([]byte, bool, wire.Status) {
	size, ok := fscc.FileInfoSize(class)
	if !ok {
		return nil, false, wire.StatusInvalidInfoClass
	}
	// MS-FSA 2.1.5.12: the classes that read attributes or EAs need the
	// matching access.
	switch class {
	case fscc.FileBasicInformation, fscc.FileAllInformation, fscc.FileNetworkOpenInformation, fscc.FileAttributeTagInformation:
		if o.access&fileReadAttributes == 0 {
			return nil, false, wire.StatusAccessDenied
		}
	case fscc.FileFullEaInformation:
		if o.access&fileReadEA == 0 {
			return nil, false, wire.StatusAccessDenied
		}
	case fscc.FileNormalizedNameInformation:
		// MS-SMB2 3.3.5.20.1: only for dialect 3.1.1.
		if r.c.dialect < wire.Dialect311 {
			return nil, false, wire.StatusNotSupported
		}
	}
	fi, vinfo, err := o.fileInfo()
	if err != nil {
		return nil, false, statusOf(err)
	}
	o.mu.Lock()
	oi := fscc.OpenInfo{AccessFlags: o.access, CurrentByteOffset: o.position, Mode: o.mode}
	o.mu.Unlock()
	var full []byte
	switch class {
	case fscc.FileStreamInformation:
		streams, status := streamList(o, vinfo)
		if status != 0 {
			return nil, false, status
		}
		full, _ = fscc.AppendStreamInformation(nil, streams, 1<<30)
	case fscc.FileFullEaInformation:
		eas, err := o.f.ListEAs()
		if err != nil {
			return nil, false, statusOf(err)
		}
		if len(eas) == 0 {
			return nil, false, wire.StatusNoEASOnFile
		}
		var ovf bool
		full, ovf, err = fscc.AppendFullEaInformation(nil, fullEas(eas), maxOut)
		if err != nil {
			return nil, false, wire.StatusInvalidParameter
		}
		if ovf {
			return nil, false, wire.StatusBufferTooSmall
		}
		return full, false, 0
	case fscc.FileCompressionInformation:
		full = make([]byte, 16)
	case fscc.FileAlternateNameInformation:
		base := path.Base(o.nodePath())
		if o.nodePath() == "" {
			return nil, false, wire.StatusObjectNameNotFound
		}
		full = fscc.AppendNameInformation(nil, alternateName(base))
	case fscc.FileNormalizedNameInformation:
		full = fscc.AppendNameInformation(nil, normalizedName(o))
	case fscc.FileIDInformation:
		// The volume serial FileFsVolumeInformation reports, and the
		// inode number as the 128-bit id (MS-FSCC 2.4.20).
		if fsi, err := o.tree.share.fs.Statfs(); err == nil {
			fi.VolumeSerial = uint64(fsi.Serial)
		}
		full = fscc.AppendIDInformation(nil, &fi)
	case fscc.FileStatInformation:
		fi.EffectiveAccess = o.access
		full = fscc.AppendStatInformation(nil, &fi)
	case fscc.FileCaseSensitiveInformation:
		// MS-FSCC 2.4.6: FILE_CS_FLAG_CASE_SENSITIVE_DIR (1) when the
		// directory's names are case-sensitive, which is a property of
		// the share here.
		var flags uint32
		if o.isDir && o.tree.share.cfg.CaseSensitive {
			flags = 1
		}
		full = fscc.AppendCaseSensitiveInformation(nil, flags)
	case fscc.FileNameInformation, fscc.FileAllInformation:
		fi.Name = `\` + o.name
		full, err = fscc.AppendFileInfo(nil, class, &fi, &oi)
	default:
		full, err = fscc.AppendFileInfo(nil, class, &fi, &oi)
	}
	if err != nil {
		return nil, false, wire.StatusInvalidInfoClass
	}
	data, overflow, err := fscc.Fit(size, full, maxOut)
	if err != nil {
		return nil, false, wire.StatusInfoLengthMismatch
	}
	return data, overflow, 0
}

// nodePath is the share-relative on-disk path of o's file.
func (o *open) nodePath() string {
	srv := o.sess.srv
	srv.nodes.mu.Lock()
	defer srv.nodes.mu.Unlock()
	return o.node.path
}

// normalizedName is the FileNormalizedNameInformation of o (MS-FSCC
// 2.4.30): the path from the share root with each component as stored on
// disk, and the stream name as created; empty for the root.
func normalizedName(o *open) string {
	name := strings.ReplaceAll(o.nodePath(), "/", `\`)
	if sf, ok := o.f.(*streamFile); ok {
		name += ":" + sf.stream
	}
	return name
}

// streamList returns the FileStreamInformation entries of o's file: the
// unnamed data stream of a file, then its alternate data streams
// (MS-FSCC 2.4.43).
func streamList(o *open, vinfo *vfs.Info) ([]fscc.StreamInfo, wire.Status) {
	base := vinfo
	var streams []fscc.StreamInfo
	if sf, ok := o.f.(*streamFile); ok {
		bi, err := sf.File.Stat()
		if err != nil {
			return nil, statusOf(err)
		}
		base = &bi
	}
	if !base.IsDir {
		streams = append(streams, fscc.StreamInfo{Name: "::$DATA", Size: base.Size, AllocationSize: allocSize(base)})
	}
	list, err := o.f.Streams()
	if err != nil && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EOPNOTSUPP) {
		return nil, statusOf(err)
	}
	for _, s := range list {
		n := int64(len(s.Value))
		streams = append(streams, fscc.StreamInfo{Name: ":" + s.Name + ":$DATA", Size: n, AllocationSize: (n + 4095) &^ 4095})
	}
	return streams, 0
}

func queryFSInfo(o *open, class uint8, maxOut int) ([]byte, bool, wire.Status) {
	size, ok := fscc.FsInfoSize(class)
	if !ok {
		return nil, false, wire.StatusInvalidInfoClass
	}
	sh := o.tree.share
	fsi, err := sh.fs.Statfs()
	if err != nil {
		return nil, false, statusOf(err)
	}
	bs := int64(fsi.BlockSize)
	if bs == 0 {
		bs = 4096
	}
	const sector = 512
	spu := uint32(bs / sector)
	var full []byte
	switch class {
	case fscc.FileFsVolumeInformation:
		v := fscc.FsVolumeInformation{VolumeCreationTime: filetime(o.sess.srv.start), VolumeSerialNumber: fsi.Serial, VolumeLabel: sh.cfg.Name}
		full = v.Append(nil)
	case fscc.FileFsSizeInformation:
		v := fscc.FsSizeInformation{TotalAllocationUnits: int64(fsi.TotalBlocks), AvailableAllocationUnits: int64(fsi.AvailBlocks), SectorsPerAllocationUnit: spu, BytesPerSector: sector}
		full = v.Append(nil)
	case fscc.FileFsFullSizeInformation:
		v := fscc.FsFullSizeInformation{TotalAllocationUnits: int64(fsi.TotalBlocks), CallerAvailableAllocationUnits: int64(fsi.AvailBlocks), ActualAvailableAllocationUnits: int64(fsi.FreeBlocks), SectorsPerAllocationUnit: spu, BytesPerSector: sector}
		full = v.Append(nil)
	case fscc.FileFsDeviceInformation:
		v := fscc.FsDeviceInformation{DeviceType: fscc.FileDeviceDisk, Characteristics: 0}
		full = v.Append(nil)
	case fscc.FileFsAttributeInformation:
		attrs := uint32(fscc.FileCasePreservedNames | fscc.FileUnicodeOnDisk | fscc.FileSupportsSparseFiles | fscc.FileSupportsExtendedAttributes | fscc.FilePersistentACLs)
		// FSCTL_DUPLICATE_EXTENTS_TO_FILE works on every file system:
		// a reflink where it has them, an in-kernel copy where not.
		attrs |= fscc.FileSupportsBlockRefcounting
		attrs |= fsStreamAttributes // stream.go
		if sh.cfg.ReadOnly {
			attrs |= fscc.FileReadOnlyVolume
		}
		v := fscc.FsAttributeInformation{FileSystemAttributes: attrs, MaximumComponentNameLength: 255, FileSystemName: "NTFS"}
		full = v.Append(nil)
	case fscc.FileFsSectorSizeInformation:
		v := fscc.FsSectorSizeInformation{LogicalBytesPerSector: sector, PhysicalBytesPerSectorForAtomicity: uint32(bs), PhysicalBytesPerSectorForPerformance: uint32(bs), FileSystemEffectivePhysicalBytesPerSectorForAtomicity: uint32(bs), Flags: fscc.SSInfoFlagsAlignedDevice | fscc.SSInfoFlagsPartitionAlignedOnDevice}
		full = v.Append(nil)
	case fscc.FileFsObjectIDInformation:
		v := fscc.FsObjectIDInformation{}
		le.PutUint32(v.ObjectID[:], fsi.Serial)
		full = v.Append(nil)
	case fscc.FileFsControlInformation:
		v := fscc.FsControlInformation{}
		full = v.Append(nil)
	default:
		return nil, false, wire.StatusInvalidInfoClass
	}
	data, overflow, err := fscc.Fit(size, full, maxOut)
	if err != nil {
		return nil, false, wire.StatusInfoLengthMismatch
	}
	return data, overflow, 0
}

// handleSetInfo is SMB2 SET_INFO (MS-SMB2 3.3.5.21).
func handleSetInfo(r *request, st *chainState, out []byte) ([]byte, wire.Status) {
	req := wire.SetInfoRequest(r.msg)
	o, status := r.lookupOpen(st, req.FileID())
	if status != 0 {
		return out, status
	}
	if o.pipe != nil {
		return r.setPipeInfo(o, req, out) // pipe.go
	}
	if o.tree.share.cfg.ReadOnly && req.InfoType() != wire.InfoFile || o.tree.share.cfg.ReadOnly && req.InfoClass() != fscc.FilePositionInformation && req.InfoClass() != fscc.FileModeInformation {
		return out, wire.StatusAccessDenied
	}
	// SET_INFO is sequenced like WRITE and IOCTL (MS-SMB2 3.3.5.2.10; replay.go).
	done, status := r.beginSequenced(o)
	if status != 0 {
		return out, status
	}
	defer done()
	switch req.InfoType() {
	case wire.InfoFile:
		status = r.setFileInfo(o, req.InfoClass(), req.Buffer())
	case wire.InfoFilesystem:
		status = wire.StatusNotSupported
	case wire.InfoSecurity:
		status = setSecurity(o, req.AdditionalInformation(), req.Buffer())
	case wire.InfoQuota:
		status = wire.StatusNotSupported
	default:
		status = wire.StatusInvalidParameter
	}
	if status != 0 {
		return out, status
	}
	return wire.AppendSetInfoResponse(out), wire.StatusSuccess
}

func (r *request) setFileInfo(o *open, class uint8, buf []byte) wire.Status {
	o.io.Wait() // pipelined READ/WRITE on this open come first
	if minSize, ok := fscc.SetInfoMinSize(class); ok && len(buf) < minSize {
		return wire.StatusInfoLengthMismatch
	} else if !ok {
		return wire.StatusInvalidInfoClass
	}
	srv := r.c.srv
	switch class {
	case fscc.FileBasicInformation:
		if o.access&fileWriteAttributes == 0 {
			return wire.StatusAccessDenied
		}
		bi, err := fscc.DecodeBasicInformation(buf)
		if err != nil {
			return wire.StatusInvalidParameter
		}
		var t vfs.Times
		conv := func(ft uint64) time.Time {
			if ft == 0 || ft == ^uint64(0) || ft == ^uint64(0)-1 {
				return time.Time{}
			}
			return fromFiletime(ft)
		}
		t.Birth, t.Access, t.Write, t.Change = conv(bi.Creation), conv(bi.Access), conv(bi.Write), conv(bi.Change)
		if bi.Attributes != 0 {
			// MS-FSA 2.1.5.15.1: DIRECTORY on a file, or TEMPORARY on a
			// directory, is STATUS_INVALID_PARAMETER.
			if bi.Attributes&fscc.FileAttributeDirectory != 0 && !o.isDir {
				return wire.StatusInvalidParameter
			}
			if bi.Attributes&fscc.FileAttributeTemporary != 0 && o.isDir {
				return wire.StatusInvalidParameter
			}
			if bi.Attributes&^0x00007FB7 != 0 {
				return wire.StatusInvalidParameter
			}
			a := bi.Attributes &^ (fscc.FileAttributeDirectory | fscc.FileAttributeNormal)
			if err := o.f.SetAttributes(a); err != nil {
				return statusOf(err)
			}
		}
		if err := o.f.SetTimes(t); err != nil {
			return statusOf(err)
		}
		if !t.Change.IsZero() {
			if err := setChangeTime(o, bi.Change); err != nil {
				return statusOf(err)
			}
		}
	case fscc.FileRenameInformation, fscc.FileLinkInformation:
		if class == fscc.FileRenameInformation && o.access&accessDelete == 0 {
			return wire.StatusAccessDenied
		}
		ri, err := fscc.DecodeRenameInformation(buf, false)
		if err != nil {
			return wire.StatusInvalidParameter
		}
		if class == fscc.FileRenameInformation {
			if st := r.breakForRename(o, ri.FileName); st != 0 { // oplock_open.go
				return st
			}
		}
		return srv.rename(o, ri.FileName, ri.ReplaceIfExists, class == fscc.FileLinkInformation)
	case fscc.FileDispositionInformation, fscc.FileDispositionInformationEx:
		if o.access&accessDelete == 0 {
			return wire.StatusAccessDenied
		}
		var del bool
		if class == fscc.FileDispositionInformation {
			del, _ = fscc.DecodeDispositionInformation(buf)
		} else {
			fl, err := fscc.DecodeDispositionInformationEx(buf)
			if err != nil {
				return wire.StatusInvalidParameter
			}
			del = fl&fscc.FileDispositionDelete != 0
		}
		return srv.setDeletePending(o, del)
	case fscc.FilePositionInformation:
		pos, err := fscc.DecodePositionInformation(buf)
		if err != nil || pos < 0 {
			return wire.StatusInvalidParameter
		}
		o.mu.Lock()
		o.position = pos
		o.mu.Unlock()
	case fscc.FileModeInformation:
		m, err := fscc.DecodeModeInformation(buf)
		if err != nil {
			return wire.StatusInvalidParameter
		}
		if m&^(fscc.FileWriteThrough|fscc.FileSequentialOnly|fscc.FileNoIntermediateBuffering|fscc.FileSynchronousIOAlert|fscc.FileSynchronousIONonalert|fscc.FileDeleteOnClose) != 0 {
			return wire.StatusInvalidParameter
		}
		o.mu.Lock()
		o.mode = m
		o.mu.Unlock()
	case fscc.FileAllocationInformation:
		if o.access&fileWriteData == 0 {
			return wire.StatusAccessDenied
		}
		n, err := fscc.DecodeAllocationInformation(buf)
		if err != nil || n < 0 {
			return wire.StatusInvalidParameter
		}
		info, err := o.f.Stat()
		if err != nil {
			return statusOf(err)
		}
		if n < info.Size {
			if err := o.f.Truncate(n); err != nil {
				return statusOf(err)
			}
		} else if err := o.f.Allocate(n); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
			return statusOf(err)
		}
		srv.breakReaders(o) // oplock.go
	case fscc.FileEndOfFileInformation:
		if o.access&fileWriteData == 0 {
			return wire.StatusAccessDenied
		}
		if o.isDir {
			return wire.StatusInvalidParameter
		}
		n, err := fscc.DecodeEndOfFileInformation(buf)
		if err != nil || n < 0 {
			return wire.StatusInvalidParameter
		}
		if err := o.f.Truncate(n); err != nil {
			return statusOf(err)
		}
		srv.breakReaders(o) // oplock.go
	case fscc.FileFullEaInformation:
		if o.access&fileWriteEA == 0 {
			return wire.StatusAccessDenied
		}
		eas, err := fscc.DecodeFullEaInformation(buf)
		if err != nil {
			return wire.StatusEACorruptError
		}
		return setEAs(o, eas)
	case fscc.FileValidDataLengthInformation:
		if o.access&fileWriteData == 0 {
			return wire.StatusAccessDenied
		}
	case fscc.FileShortNameInformation:
		return wire.StatusNotSupported
	default:
		return wire.StatusInvalidInfoClass
	}
	return 0
}

// statusInvalidEAName is STATUS_INVALID_EA_NAME (MS-ERREF 2.3.1), not yet in
// the wire status table.
const statusInvalidEAName wire.Status = 0x80000013

// setEAs applies a FILE_FULL_EA_INFORMATION list (MS-FSA 2.1.5.15.4): an
// EA with an empty value is deleted, others are set. Like Windows, names are
// case-insensitive and stored in upper case.
func setEAs(o *open, eas []fscc.FullEa) wire.Status { return applyEAs(o.f, eas) }

// applyEAs is setEAs on a file handle, without access checks (CREATE with
// an ExtA context calls it for the file it opens).
func applyEAs(f fileHandle, eas []fscc.FullEa) wire.Status {
	have, err := f.ListEAs()
	if err != nil && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EOPNOTSUPP) {
		return statusOf(err)
	}
	for _, ea := range eas {
		if ea.Name == "" || strings.ContainsAny(ea.Name, "\x00\"*+,/:;<=>?[\\]|") {
			return statusInvalidEAName
		}
		up := strings.ToUpper(ea.Name)
		for _, h := range have {
			if h.Name != up && strings.EqualFold(h.Name, ea.Name) {
				if err := f.SetEA(h.Name, nil); err != nil {
					return statusOf(err)
				}
			}
		}
		if err := f.SetEA(up, ea.Value); err != nil {
			return statusOf(err)
		}
	}
	return 0
}

// setDeletePending sets or clears the pending delete of o's file
// (MS-FSA 2.1.5.15.3).
func (s *Server) setDeletePending(o *open, del bool) wire.Status {
	if del {
		info, err := o.f.Stat()
		if err != nil {
			return statusOf(err)
		}
		if info.Attributes&fscc.FileAttributeReadonly != 0 {
			return wire.StatusCannotDelete
		}
		if o.isDir {
			ents, err := o.f.ReadDir()
			if err != nil {
				return statusOf(err)
			}
			if len(ents) > 0 {
				return wire.StatusDirectoryNotEmpty
			}
		}
	}
	s.nodes.mu.Lock()
	o.node.deletePending = del
	s.nodes.mu.Unlock()
	if del {
		s.notifyDeletePending(o.node)
	}
	if !del {
		o.mu.Lock()
		o.docOnClose = false
		o.mu.Unlock()
	}
	return 0
}

// rename renames or hard-links o's file to target (a share-relative name).
func (s *Server) rename(o *open, target string, replace, link bool) wire.Status {
	target = strings.TrimPrefix(target, `\`)
	if o.node.stream || strings.HasPrefix(target, ":") {
		return s.renameStream(o, target, replace, link) // stream_rename.go
	}
	newPath, newStream, status := parseCreateName(appendUTF16(nil, target))
	if status != 0 {
		return status
	}
	if newStream != "" || o.node.stream {
		// Renaming streams is not supported by the xattr store.
		return wire.StatusNotSupported
	}
	if newPath == "" {
		return wire.StatusObjectNameInvalid
	}
	fsys := o.tree.share.fs
	s.nodes.mu.Lock()
	oldPath := o.node.path
	if !link {
		// Windows refuses to rename a directory that has open files below it.
		if o.isDir {
			for _, n := range s.nodes.nodes {
				if n.share == o.node.share && strings.HasPrefix(n.path, oldPath+"/") {
					s.nodes.mu.Unlock()
					return wire.StatusAccessDenied
				}
			}
		}
	}
	s.nodes.mu.Unlock()
	// Replacing an existing file that is open is refused (MS-FSA 2.1.5.15.12).
	if existing, err := fsys.Stat(newPath); err == nil {
		if !replace {
			if !strings.EqualFold(oldPath, newPath) || link {
				return wire.StatusObjectNameCollision
			}
		} else {
			if existing.IsDir {
				return wire.StatusAccessDenied
			}
			s.nodes.mu.Lock()
			n := s.nodes.nodes[nodeKey{existing.Dev, existing.FileID, ""}]
			busy := n != nil && n != o.node && len(n.opens) > 0
			s.nodes.mu.Unlock()
			if busy {
				return wire.StatusAccessDenied
			}
		}
	}
	var err error
	if link {
		err = fsys.Link(oldPath, newPath, replace)
	} else {
		err = fsys.Rename(oldPath, newPath, replace)
	}
	if err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return wire.StatusObjectNameCollision
		}
		return statusOf(err)
	}
	if link {
		return 0
	}
	real, err := fsys.Resolve(newPath)
	if err != nil {
		real = newPath
	}
	s.nodes.mu.Lock()
	for _, n := range s.nodes.nodes {
		if n.share != o.node.share {
			continue
		}
		if n == o.node {
			n.path = real
		} else if strings.HasPrefix(n.path, oldPath+"/") {
			n.path = real + n.path[len(oldPath):]
		}
	}
	s.nodes.mu.Unlock()
	o.mu.Lock()
	o.name = strings.ReplaceAll(real, "/", `\`)
	o.mu.Unlock()
	_ = path.Base
	return 0
}
