package tcp

import (
	"math/bits"
	"sync"
)

// Message buffers of 64 KiB and more come from pools by power-of-two size
// class, when the caller hands them back (transport.MessageReleaser): a
// WRITE's payload then lands in a buffer that is neither allocated nor zeroed
// again. Measured with BenchmarkWritePayload: receiving into a new buffer
// costs about twice the CPU of receiving into a reused one.
const (
	minPooledShift = 16 // 64 KiB
	maxPooledShift = 24 // MaxFrame < 16 MiB
)

var msgPools [maxPooledShift + 1]sync.Pool

// getMsgBuf returns a buffer of length n, not zeroed when it comes from a pool.
func getMsgBuf(n int) []byte {
	if n < 1<<minPooledShift {
		return make([]byte, n)
	}
	shift := bits.Len(uint(n - 1))
	if p, ok := msgPools[shift].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<shift)
}

// putMsgBuf takes back a buffer from getMsgBuf.
func putMsgBuf(b []byte) {
	c := cap(b)
	if c < 1<<minPooledShift || c > 1<<maxPooledShift || c&(c-1) != 0 {
		return
	}
	b = b[:c]
	msgPools[bits.Len(uint(c-1))].Put(&b)
}
