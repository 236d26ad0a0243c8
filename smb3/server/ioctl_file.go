package server

import (
	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// The FSCTLs on a file's data: sparse files, zeroing, allocated ranges and
// block cloning (MS-FSA 2.1.5.10). Alternate data streams are stored in
// xattrs (stream.go): they hold no holes and cannot be cloned.

// localFile is the backend file of an open, or nil for a stream or pipe.
func localFile(o *open) *vfs.File {
	f, _ := o.f.(*vfs.File)
	return f
}

// setSparse is FSCTL_SET_SPARSE (MS-FSA 2.1.5.10.33): an empty input sets
// the flag, else FILE_SET_SPARSE_BUFFER.SetSparse says; extra input bytes
// are ignored. Directories cannot be sparse.
func (r *request) setSparse(o *open, in []byte) wire.Status {
	if o.isDir {
		return wire.StatusInvalidParameter
	}
	if o.access&(fileWriteData|fileWriteAttributes|fileAppendData) == 0 {
		return wire.StatusAccessDenied
	}
	f := localFile(o)
	if f == nil {
		return wire.StatusNotSupported // streams (xattrs) have no holes
	}
	if err := f.SetSparse(fscc.DecodeSetSparse(in)); err != nil {
		return statusOf(err)
	}
	return 0
}

// setZeroData is FSCTL_SET_ZERO_DATA (MS-FSA 2.1.5.10.39): the range reads
// as zeros afterwards; in a sparse file it is deallocated (a hole is
// punched), in another it stays allocated. The range is clipped to the end
// of file: zeroing never extends a file.
func (r *request) setZeroData(o *open, in []byte) wire.Status {
	if o.isDir {
		return wire.StatusInvalidParameter
	}
	z, err := fscc.DecodeZeroDataInformation(in)
	if err != nil {
		return wire.StatusInvalidParameter
	}
	if o.access&fileWriteData == 0 {
		return wire.StatusAccessDenied
	}
	info, err := o.f.Stat()
	if err != nil {
		return statusOf(err)
	}
	end := min(z.BeyondFinalZero, info.Size)
	if z.FileOffset >= end {
		return 0
	}
	if r.c.srv.locks.conflicts(o, uint64(z.FileOffset), uint64(end-z.FileOffset), true) {
		return wire.StatusFileLockConflict
	}
	f := localFile(o)
	switch {
	case f == nil:
		buf := make([]byte, min(end-z.FileOffset, 64<<10))
		for off := z.FileOffset; off < end; {
			n := min(int64(len(buf)), end-off)
			if _, err := o.f.WriteAt(buf[:n], off); err != nil {
				return statusOf(err)
			}
			off += n
		}
	case info.Attributes&fscc.FileAttributeSparseFile != 0:
		err = f.PunchHole(z.FileOffset, end-z.FileOffset)
	default:
		err = f.ZeroRange(z.FileOffset, end-z.FileOffset)
	}
	if err != nil {
		return statusOf(err)
	}
	r.c.srv.breakReaders(o)
	return 0
}

// queryAllocatedRanges is FSCTL_QUERY_ALLOCATED_RANGES (MS-FSA
// 2.1.5.10.22): a file that is not sparse is allocated throughout; a
// sparse one reports its data ranges (SEEK_DATA/SEEK_HOLE). The output
// holds as many whole ranges as fit, with STATUS_BUFFER_OVERFLOW when some
// did not, and STATUS_BUFFER_TOO_SMALL when not even one fits.
func queryAllocatedRanges(o *open, in []byte, maxOut int) ([]byte, wire.Status) {
	q, err := fscc.DecodeAllocatedRange(in)
	if err != nil {
		return nil, wire.StatusInvalidParameter
	}
	if o.access&(fileReadData|fileWriteData) == 0 {
		return nil, wire.StatusAccessDenied
	}
	if o.isDir {
		return nil, wire.StatusInvalidParameter
	}
	info, err := o.f.Stat()
	if err != nil {
		return nil, statusOf(err)
	}
	var rs []fscc.AllocatedRange
	f := localFile(o)
	if f != nil && info.Attributes&fscc.FileAttributeSparseFile != 0 {
		data, err := f.AllocatedRanges(q.FileOffset, q.Length)
		if err != nil {
			return nil, statusOf(err)
		}
		for _, d := range data {
			rs = append(rs, fscc.AllocatedRange{FileOffset: d.Off, Length: d.Len})
		}
	} else if end := min(q.FileOffset+q.Length, info.Size); q.FileOffset < end {
		rs = append(rs, fscc.AllocatedRange{FileOffset: q.FileOffset, Length: end - q.FileOffset})
	}
	b, overflow := fscc.AppendAllocatedRanges(nil, rs, maxOut)
	if overflow {
		if len(b) == 0 {
			return nil, wire.StatusBufferTooSmall
		}
		return b, wire.StatusBufferOverflow
	}
	return b, 0
}

// duplicateExtents is FSCTL_DUPLICATE_EXTENTS_TO_FILE (MS-FSA
// 2.1.5.10.7): the target range becomes a copy of the source range, by
// reflink (FICLONERANGE) where the file system shares blocks and by an
// in-kernel copy (copy_file_range) where it does not. The source is an
// open of the same session, named by its FileId in the input.
func (r *request) duplicateExtents(dst *open, in []byte) wire.Status {
	d, err := fscc.DecodeDuplicateExtentsData(in)
	if err != nil {
		return wire.StatusInvalidParameter
	}
	src := r.c.srv.opens.get(wire.FileID{Persistent: d.SourcePersistent, Volatile: d.SourceVolatile})
	if src == nil || src.sess != dst.sess {
		return wire.StatusInvalidHandle
	}
	if src.isDir || dst.isDir {
		return wire.StatusInvalidParameter
	}
	sf, df := localFile(src), localFile(dst)
	if sf == nil || df == nil {
		return wire.StatusNotSupported
	}
	if src.tree.share != dst.tree.share {
		return wire.StatusNotSameDevice
	}
	if src.access&fileReadData == 0 || dst.access&fileWriteData == 0 {
		return wire.StatusAccessDenied
	}
	if d.ByteCount == 0 {
		return 0
	}
	if d.SourceFileOffset > 1<<62 || d.TargetFileOffset > 1<<62 || d.ByteCount > 1<<62 {
		return wire.StatusInvalidParameter
	}
	sinfo, err := sf.Stat()
	if err != nil {
		return statusOf(err)
	}
	if d.SourceFileOffset+d.ByteCount > sinfo.Size {
		// ReFS refuses a source range past the end of file.
		return wire.StatusNotSupported
	}
	dinfo, err := df.Stat()
	if err != nil {
		return statusOf(err)
	}
	if d.TargetFileOffset+d.ByteCount > dinfo.Size {
		// ReFS does not extend the target: what falls past its end of
		// file is not duplicated (smb2.ioctl.dup_extents_len_beyond_dest).
		d.ByteCount = max(dinfo.Size-d.TargetFileOffset, 0)
	}
	if sinfo.Attributes&fscc.FileAttributeSparseFile != 0 && dinfo.Attributes&fscc.FileAttributeSparseFile == 0 {
		return wire.StatusNotSupported // the holes cannot be shared into a non-sparse file
	}
	if sinfo.FileID == dinfo.FileID && sinfo.Dev == dinfo.Dev &&
		d.SourceFileOffset < d.TargetFileOffset+d.ByteCount && d.TargetFileOffset < d.SourceFileOffset+d.ByteCount {
		return wire.StatusNotSupported // overlapping ranges of one file
	}
	if err := df.CloneRange(sf, d.SourceFileOffset, d.TargetFileOffset, d.ByteCount); err != nil {
		return statusOf(err)
	}
	r.c.srv.breakReaders(dst)
	return 0
}
