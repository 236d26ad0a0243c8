//go:build !linux || !(amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp

import (
	"net"

	"smb3d/transport"
	"smb3d/transport/tcp/uring"
)

// URingListener is the io_uring transport's listener; on this platform it
// cannot be created.
type URingListener struct{}

func errNoURing() error {
	return &uring.UnsupportedFeatureError{Feature: "io_uring TCP transport", MinKernel: "5.19", Reason: "Linux on a 64-bit little-endian architecture only"}
}

// ListenURing returns an error matching uring.ErrNotSupported here.
func ListenURing(addr string, cfg URingConfig) (*URingListener, error) { return nil, errNoURing() }

// NewURingListener returns an error matching uring.ErrNotSupported here.
func NewURingListener(l net.Listener, cfg URingConfig) (*URingListener, error) {
	return nil, errNoURing()
}

func (l *URingListener) Accept() (transport.Conn, error) { return nil, errNoURing() }
func (l *URingListener) Close() error                    { return nil }
func (l *URingListener) SplicedBytes() uint64            { return 0 }
func (l *URingListener) Addr() net.Addr                  { return nil }
