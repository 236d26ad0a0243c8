package numa

import "unsafe"

// Addr is the address of b's first byte, as /proc/PID/numa_maps names the
// mapping.
func Addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// end is the address just past b's capacity: the same for every reslice of
// a buffer that keeps its end (b[k:], b[:n]), which is how a Pool knows its
// buffers again.
func end(b []byte) uintptr {
	if cap(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))) + uintptr(cap(b))
}

// sliceBack extends b by k bytes before its start: for a reslice b[k:] of
// memory this package mapped, the whole buffer again.
func sliceBack(b []byte, k int) []byte {
	if k == 0 {
		return b
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), -k)), len(b)+k)
}
