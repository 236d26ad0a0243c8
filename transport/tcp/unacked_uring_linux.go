//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"os"

	"golang.org/x/sys/unix"
)

// Unacked is Conn.Unacked for an io_uring connection; writes still in the
// ring count as unacknowledged.
func (c *URingConn) Unacked() (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken.Load() || c.fdClosed {
		return 0, errClosed
	}
	n, err := unix.IoctlGetInt(c.fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, os.NewSyscallError("ioctl SIOCOUTQ", err)
	}
	return n + c.ringWrites, nil
}
