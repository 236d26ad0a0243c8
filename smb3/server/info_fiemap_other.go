//go:build !linux

package server

// dataAllocated is not available: callers keep st_blocks.
func dataAllocated(fd int) (int64, bool) { return 0, false }
