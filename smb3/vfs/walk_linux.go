//go:build linux

package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks is the kernel's MAXSYMLINKS.
const maxSymlinks = 40

// walkOpen is the resolver used when openat2(2) is missing: it walks p
// from the share root one component at a time with O_NOFOLLOW, expanding
// symlinks itself with the semantics of RESOLVE_BENEATH: an absolute
// symlink or a ".." above the root gives ErrEscape. flags and mode are those
// of the final open (O_CLOEXEC is added).
func (fs *FS) walkOpen(p string, flags int, mode uint32) (int, error) {
	todo := strings.Split(p, "/")
	stack := []int{fs.root}
	defer func() {
		for _, fd := range stack[1:] {
			unix.Close(fd)
		}
	}()
	links := 0
	retries := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		last := len(todo) == 0
		cur := stack[len(stack)-1]
		switch c {
		case "", ".":
			if last {
				return fs.openFinal(cur, ".", flags, mode, false)
			}
			continue
		case "..":
			if len(stack) == 1 {
				return -1, ErrEscape
			}
			unix.Close(cur)
			stack = stack[:len(stack)-1]
			if last {
				return fs.openFinal(stack[len(stack)-1], ".", flags, mode, false)
			}
			continue
		}
		var st unix.Stat_t
		err := unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		noFollow := flags&unix.O_NOFOLLOW != 0 || flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK && !(last && noFollow) {
			if links++; links > maxSymlinks {
				return -1, unix.ELOOP
			}
			target, err := readlinkat(cur, c)
			if err != nil {
				return -1, err
			}
			if strings.HasPrefix(target, "/") {
				return -1, ErrEscape
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if err != nil && (err != unix.ENOENT || !last || flags&unix.O_CREAT == 0) {
			return -1, err
		}
		if last {
			if noFollow {
				// The caller's own O_NOFOLLOW (or O_EXCL): the kernel
				// decides, as openat2 would.
				return fs.openFinal(cur, c, flags, mode, false)
			}
			fd, err := fs.openFinal(cur, c, flags|unix.O_NOFOLLOW, mode, true)
			if err == unix.ELOOP && retries < 8 {
				// Became a symlink since the lstat: look again.
				retries++
				todo = []string{c}
				continue
			}
			return fd, err
		}
		fd, err := ignoringEINTR(func() (int, error) {
			return unix.Openat(cur, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		})
		if err != nil {
			return -1, err
		}
		stack = append(stack, fd)
		if err := fs.checkDev(fd); err != nil {
			return -1, err
		}
	}
	return fs.openFinal(stack[len(stack)-1], ".", flags, mode, false)
}

// openFinal opens the last component. linkIsLoop is set when the resolver
// added O_NOFOLLOW itself: a symlink found there (it raced with the lstat)
// is then ELOOP, for the caller to look again, even under O_PATH.
func (fs *FS) openFinal(dirfd int, name string, flags int, mode uint32, linkIsLoop bool) (int, error) {
	fd, err := ignoringEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, mode)
	})
	if err == nil {
		if err := fs.checkDev(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if err == nil && linkIsLoop && flags&unix.O_PATH != 0 {
		// O_PATH|O_NOFOLLOW opens a symlink itself instead of failing.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(fd)
			return -1, unix.ELOOP
		}
	}
	return fd, err
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// checkDev enforces Options.NoCrossMounts in the user-space resolver.
func (fs *FS) checkDev(fd int) error {
	if !fs.opts.NoCrossMounts {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Dev != fs.rootKey.dev {
		return ErrEscape
	}
	return nil
}
