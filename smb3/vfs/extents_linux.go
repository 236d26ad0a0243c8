//go:build linux

package vfs

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Range is a byte range of a file.
type Range struct{ Off, Len int64 }

// SetSparse sets or clears the SPARSE_FILE attribute (FSCTL_SET_SPARSE,
// MS-FSA 2.1.5.10.33). The flag is stored with the DOS attributes; a Linux
// file is always able to hold holes, so setting it changes no data. Clearing
// it allocates every hole of the file (fallocate over its size), as NTFS
// does: a non-sparse file is fully allocated. SetAttributes leaves the flag
// alone.
func (f *File) SetSparse(on bool) error {
	if f.isDir {
		return pathErr("setsparse", f.name, unix.EISDIR)
	}
	return f.modify("setsparse", func(fd int) error {
		if !on {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				return err
			}
			if st.Size > 0 {
				err := ignoringEINTR0(func() error { return unix.Fallocate(fd, 0, 0, st.Size) })
				if err != nil && err != unix.EOPNOTSUPP && err != unix.ENOSYS {
					return err
				}
			}
		}
		return f.fs.updateDOS(fd, f.getKey(), func(r *dosRecord) {
			if r.flags&dosHasAttr == 0 {
				// First stored attributes: start from what was derived.
				var st unix.Stat_t
				mode := uint32(0o644)
				if unix.Fstat(fd, &st) == nil {
					mode = st.Mode
				}
				r.attr = dosAttributes(baseName(f.name), false, mode, 0, false) & attrStorable
				r.flags |= dosHasAttr
			}
			if on {
				r.attr |= AttrSparse
			} else {
				r.attr &^= AttrSparse
			}
		})
	})
}

// PunchHole deallocates [off, off+n) keeping the file size (fallocate
// PUNCH_HOLE|KEEP_SIZE): the range reads back as zeros. A file system that
// cannot punch holes gets the range overwritten with zeros instead.
func (f *File) PunchHole(off, n int64) error {
	if off < 0 || n < 0 {
		return pathErr("punchhole", f.name, unix.EINVAL)
	}
	if n == 0 {
		return nil
	}
	err := f.modify("punchhole", func(fd int) error {
		return ignoringEINTR0(func() error {
			return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		})
	})
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return f.writeZeros(off, n)
	}
	return err
}

// ZeroRange makes [off, off+n) read as zeros and stay allocated (fallocate
// ZERO_RANGE|KEEP_SIZE, else written zeros), for files that are not sparse.
func (f *File) ZeroRange(off, n int64) error {
	if off < 0 || n < 0 {
		return pathErr("zerorange", f.name, unix.EINVAL)
	}
	if n == 0 {
		return nil
	}
	err := f.modify("zerorange", func(fd int) error {
		return ignoringEINTR0(func() error {
			return unix.Fallocate(fd, unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		})
	})
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return f.writeZeros(off, n)
	}
	return err
}

func (f *File) writeZeros(off, n int64) error {
	buf := make([]byte, min(n, 64<<10))
	for n > 0 {
		m := min(n, int64(len(buf)))
		if _, err := f.WriteAt(buf[:m], off); err != nil {
			return err
		}
		off += m
		n -= m
	}
	return nil
}

// AllocatedRanges lists the allocated (data) ranges of the file that
// intersect [off, off+n), clipped to it and to the file size, found with
// SEEK_DATA/SEEK_HOLE. A file system without them reports the whole range
// below the file size as allocated.
func (f *File) AllocatedRanges(off, n int64) ([]Range, error) {
	if off < 0 || n < 0 {
		return nil, pathErr("allocranges", f.name, unix.EINVAL)
	}
	var out []Range
	err := f.control("allocranges", func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		end := st.Size
		if off+n >= off && off+n < end { // no overflow, and before EOF
			end = off + n
		}
		for pos := off; pos < end; {
			d, err := unix.Seek(fd, pos, unix.SEEK_DATA)
			if err == unix.ENXIO {
				break // only a hole up to EOF
			}
			if err == unix.EINVAL || err == unix.EOPNOTSUPP {
				out = append(out[:0], Range{off, end - off})
				return nil
			}
			if err != nil {
				return err
			}
			if d >= end {
				break
			}
			h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
			if err != nil {
				return err
			}
			h = min(h, end)
			if k := len(out); k > 0 && out[k-1].Off+out[k-1].Len == d {
				out[k-1].Len += h - d
			} else {
				out = append(out, Range{d, h - d})
			}
			pos = h
		}
		return nil
	})
	return out, err
}

// CopyRange copies n bytes from src at srcOff to f at dstOff inside the
// kernel (copy_file_range; read and write where it is unavailable). It
// returns the number of bytes copied: fewer than n when src ends first.
func (f *File) CopyRange(src *File, srcOff, dstOff, n int64) (int64, error) {
	return f.copyRange("copyrange", src, srcOff, dstOff, n)
}

// CloneRange makes [dstOff, dstOff+n) of f share src's blocks at srcOff
// (FICLONERANGE, a reflink) where the file system can, and copies them
// (CopyRange) where it cannot: either way f then reads as src did
// (FSCTL_DUPLICATE_EXTENTS_TO_FILE). The range must lie inside src.
func (f *File) CloneRange(src *File, srcOff, dstOff, n int64) error {
	if n == 0 {
		return nil
	}
	err := f.modify("clonerange", func(fd int) error {
		if !src.acquire() {
			return os.ErrClosed
		}
		defer src.release()
		return ignoringEINTR0(func() error {
			return unix.IoctlFileCloneRange(fd, &unix.FileCloneRange{
				Src_fd: int64(src.fd), Src_offset: uint64(srcOff), Src_length: uint64(n), Dest_offset: uint64(dstOff),
			})
		})
	})
	if err == nil {
		return nil
	}
	// EOPNOTSUPP/ENOTTY: no reflinks here; EXDEV: another file system;
	// EINVAL: unaligned ranges or the same file overlapping.
	c, err := f.copyRange("clonerange", src, srcOff, dstOff, n)
	if err == nil && c < n {
		err = pathErr("clonerange", f.name, io.ErrUnexpectedEOF)
	}
	return err
}

func (f *File) copyRange(op string, src *File, srcOff, dstOff, n int64) (int64, error) {
	if srcOff < 0 || dstOff < 0 || n < 0 {
		return 0, pathErr(op, f.name, unix.EINVAL)
	}
	var done int64
	err := f.modify(op, func(fd int) error {
		if !src.acquire() {
			return os.ErrClosed
		}
		defer src.release()
		overlap := src.getKey() == f.getKey() && srcOff < dstOff+n && dstOff < srcOff+n
		for done < n && !overlap {
			so, do := srcOff+done, dstOff+done
			m, err := unix.CopyFileRange(src.fd, &so, fd, &do, int(min(n-done, 1<<30)), 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				if done == 0 && (err == unix.EXDEV || err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL) {
					break // fall back to read and write
				}
				return err
			}
			if m == 0 {
				return nil // end of src
			}
			done += int64(m)
		}
		if done == n {
			return nil
		}
		// Read and write, front to back or, when the ranges of one file
		// overlap with the target after the source, back to front.
		buf := make([]byte, min(n-done, 1<<20))
		if overlap && dstOff > srcOff {
			size, err := src.sizeFd()
			if err != nil {
				return err
			}
			end := min(n, max(size-srcOff, 0))
			for pos := end; pos > 0; {
				m := min(pos, int64(len(buf)))
				pos -= m
				if err := preadFull(src.fd, buf[:m], srcOff+pos); err != nil {
					return err
				}
				if err := pwriteFull(fd, buf[:m], dstOff+pos); err != nil {
					return err
				}
			}
			done = end
			return nil
		}
		for done < n {
			m := min(n-done, int64(len(buf)))
			r, err := unix.Pread(src.fd, buf[:m], srcOff+done)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if r == 0 {
				return nil
			}
			if err := pwriteFull(fd, buf[:r], dstOff+done); err != nil {
				return err
			}
			done += int64(r)
		}
		return nil
	})
	return done, err
}

func (f *File) sizeFd() (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

func preadFull(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		m, err := unix.Pread(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return io.ErrUnexpectedEOF
		}
		p, off = p[m:], off+int64(m)
	}
	return nil
}

func pwriteFull(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		m, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return io.ErrShortWrite
		}
		p, off = p[m:], off+int64(m)
	}
	return nil
}
