//go:build !linux

package rdma

import "errors"

// Buffer is memory mapped outside the Go heap (Linux only).
type Buffer struct{}

// Alloc is not supported outside Linux.
func Alloc(size int, node int) (*Buffer, error) {
	return nil, errors.New("rdma: Alloc needs Linux")
}

// Bytes returns nil.
func (b *Buffer) Bytes() []byte { return nil }

// Len returns 0.
func (b *Buffer) Len() int { return 0 }

// Node returns -1.
func (b *Buffer) Node() int { return -1 }

// Close does nothing.
func (b *Buffer) Close() error { return nil }

func inBuffer(mem []byte) bool { return false }
