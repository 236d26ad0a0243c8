//go:build linux

package tcp

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Unacked reports how many bytes sent on c the peer has not acknowledged
// yet (SIOCOUTQ, tcp(7)). The server waits for it to reach zero after a
// break notification before it trusts the channel, and retries the break
// on another channel of the session when it does not (MS-SMB2 3.3.4.6;
// smb3/server/oplock_send.go).
func (c *Conn) Unacked() (int, error) {
	sc, ok := c.c.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil {
		return 0, err
	}
	if ierr != nil {
		return 0, os.NewSyscallError("ioctl SIOCOUTQ", ierr)
	}
	return n, nil
}
