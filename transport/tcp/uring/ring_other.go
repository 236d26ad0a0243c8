//go:build !linux || !(amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

// Ring is io_uring, which exists only on Linux; this package implements it for 64-bit
// little-endian Linux (the kernel structs here are laid out for it). Elsewhere New
// returns an *UnsupportedFeatureError so that callers fall back to the netpoller transport.
type Ring struct{}

// Config mirrors the Linux Config fields callers set.
type Config struct {
	Entries   uint32
	CQEntries uint32
	SQPoll    bool
}

// Features is empty off Linux.
type Features struct{}

func (f *Features) String() string { return "io_uring: not available on this platform" }

func errNotLinux() error {
	return &UnsupportedFeatureError{Feature: "io_uring", MinKernel: "5.1", Reason: "not 64-bit little-endian Linux"}
}

// Probe reports that io_uring is unavailable.
func Probe() (*Features, error) { return nil, errNotLinux() }

// New reports that io_uring is unavailable.
func New(Config) (*Ring, error) { return nil, errNotLinux() }

// Close does nothing.
func (r *Ring) Close() error { return nil }
