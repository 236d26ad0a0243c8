//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	Op    uint8
	Resv  uint8
	Flags uint16
	Resv2 uint32
}

// probeBuf is struct io_uring_probe with room for every opcode.
type probeBuf struct {
	LastOp uint8
	OpsLen uint8
	Resv   uint16
	Resv2  [3]uint32
	Ops    [256]probeOp
}

// rsrcRegister is struct io_uring_rsrc_register.
type rsrcRegister struct {
	Nr    uint32
	Flags uint32
	Resv2 uint64
	Data  uint64
	Tags  uint64
}

// rsrcUpdate2 is struct io_uring_rsrc_update2.
type rsrcUpdate2 struct {
	Offset uint32
	Resv   uint32
	Data   uint64
	Tags   uint64
	Nr     uint32
	Resv2  uint32
}

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	RingAddr    uint64
	RingEntries uint32
	Bgid        uint16
	Flags       uint16
	Resv        [3]uint64
}

// ringBuf is struct io_uring_buf, 16 bytes; the ring's tail overlays bufs[0].resv.
type ringBuf struct {
	Addr uint64
	Len  uint32
	Bid  uint16
	Resv uint16
}

func sysRegisterProbe(fd int, pr *probeBuf) (int, error) {
	return sysRegister(fd, regProbe, unsafe.Pointer(pr), uint32(len(pr.Ops)))
}

// register wraps io_uring_register for op, naming it in errors; EINVAL on a kernel older
// than min becomes an *UnsupportedFeatureError. Arguments are read by the kernel during the
// call only (it copies them or pins the pages they describe).
func (r *Ring) register(op uint32, name, min string, arg unsafe.Pointer, nr uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	n, err := sysRegister(r.fd, op, arg, nr)
	if err != nil {
		if err == unix.EINVAL {
			if f, _ := Probe(); f != nil {
				if uerr := f.CheckKernel(name, min); uerr != nil {
					return n, uerr
				}
			}
		}
		return n, os.NewSyscallError("io_uring_register("+name+")", err)
	}
	return n, nil
}

// RegisterBuffers registers bufs as fixed buffers 0..len(bufs)-1 for READ_FIXED and
// WRITE_FIXED (IORING_REGISTER_BUFFERS). The kernel pins their pages; Go-heap buffers are
// also pinned with runtime.Pinner until UnregisterBuffers or Close, so they cannot be
// freed and reused while registered. Off-heap buffers (Mmap) are the better choice.
func (r *Ring) RegisterBuffers(bufs [][]byte) error {
	iov := r.pinIovecs(0, bufs)
	_, err := r.register(regBuffers, "IORING_REGISTER_BUFFERS", "5.1", unsafe.Pointer(unsafe.SliceData(iov)), uint32(len(iov)))
	runtime.KeepAlive(iov)
	if err != nil {
		r.unpinBuffers()
	}
	return err
}

// pinIovecs makes the iovecs of bufs for slots off.., pins them (a no-op
// for memory off the Go heap) and keeps them, by slot, until they are
// replaced or unregistered.
func (r *Ring) pinIovecs(off int, bufs [][]byte) []iovec {
	iov := make([]iovec, len(bufs))
	for i, b := range bufs {
		if len(b) > 0 {
			p := unsafe.Pointer(unsafe.SliceData(b))
			r.bufPin.Pin(p)
			iov[i] = iovec{Base: uint64(uintptr(p)), Len: uint64(len(b))}
		}
	}
	if n := off + len(bufs); n > len(r.bufs) {
		r.bufs = append(r.bufs, make([][]byte, n-len(r.bufs))...)
	}
	copy(r.bufs[off:], bufs)
	return iov
}

func (r *Ring) unpinBuffers() {
	r.bufPin.Unpin()
	r.bufs = nil
}

// RegisterBuffersSparse registers a table of n empty fixed-buffer slots
// (IORING_REGISTER_BUFFERS2 with IORING_RSRC_REGISTER_SPARSE, 5.19) to fill with
// UpdateBuffers.
func (r *Ring) RegisterBuffersSparse(n int) error {
	reg := rsrcRegister{Nr: uint32(n), Flags: rsrcRegisterSparse}
	_, err := r.register(regBuffers2, "IORING_REGISTER_BUFFERS2", "5.19", unsafe.Pointer(&reg), uint32(unsafe.Sizeof(reg)))
	return err
}

// UpdateBuffers replaces fixed buffers off..off+len(bufs)-1 (IORING_REGISTER_BUFFERS_UPDATE,
// 5.13); an empty buffer empties its slot, and the kernel lets go of the pages it
// held. Buffers are pinned as in RegisterBuffers; replaced Go-heap ones stay pinned
// until UnregisterBuffers or Close.
func (r *Ring) UpdateBuffers(off int, bufs [][]byte) error {
	iov := r.pinIovecs(off, bufs)
	up := rsrcUpdate2{Offset: uint32(off), Data: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(iov)))), Nr: uint32(len(iov))}
	_, err := r.register(regBuffersUpdate, "IORING_REGISTER_BUFFERS_UPDATE", "5.13", unsafe.Pointer(&up), uint32(unsafe.Sizeof(up)))
	runtime.KeepAlive(iov)
	return err
}

// UnregisterBuffers drops every fixed buffer (IORING_UNREGISTER_BUFFERS).
func (r *Ring) UnregisterBuffers() error {
	_, err := r.register(unregBuffers, "IORING_UNREGISTER_BUFFERS", "5.1", nil, 0)
	if err == nil {
		r.unpinBuffers()
	}
	return err
}

// RegisterFiles registers fds as fixed files 0..len(fds)-1 (IORING_REGISTER_FILES); -1
// leaves a slot empty. Use them with FlagFixedFile or SpliceFdInFixed.
func (r *Ring) RegisterFiles(fds []int) error {
	a := int32s(fds)
	_, err := r.register(regFiles, "IORING_REGISTER_FILES", "5.1", unsafe.Pointer(unsafe.SliceData(a)), uint32(len(a)))
	runtime.KeepAlive(a)
	return err
}

// UpdateFiles replaces fixed files off..off+len(fds)-1 (IORING_REGISTER_FILES_UPDATE2,
// 5.13); -1 empties a slot.
func (r *Ring) UpdateFiles(off int, fds []int) error {
	a := int32s(fds)
	up := rsrcUpdate2{Offset: uint32(off), Data: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(a)))), Nr: uint32(len(a))}
	_, err := r.register(regFilesUpdate2, "IORING_REGISTER_FILES_UPDATE2", "5.13", unsafe.Pointer(&up), uint32(unsafe.Sizeof(up)))
	runtime.KeepAlive(a)
	return err
}

// UnregisterFiles drops the fixed-file table (IORING_UNREGISTER_FILES).
func (r *Ring) UnregisterFiles() error {
	_, err := r.register(unregFiles, "IORING_UNREGISTER_FILES", "5.1", nil, 0)
	return err
}

func int32s(fds []int) []int32 {
	a := make([]int32, len(fds))
	for i, fd := range fds {
		a[i] = int32(fd)
	}
	return a
}

// RegisterIOWQAff restricts the ring's io-wq worker threads to set
// (IORING_REGISTER_IOWQ_AFF, 5.14), e.g. to the CPUs of the NIC's NUMA node.
func (r *Ring) RegisterIOWQAff(set *unix.CPUSet) error {
	_, err := r.register(regIOWQAff, "IORING_REGISTER_IOWQ_AFF", "5.14", unsafe.Pointer(set), uint32(unsafe.Sizeof(*set)))
	return err
}

// UnregisterIOWQAff lifts the io-wq CPU restriction.
func (r *Ring) UnregisterIOWQAff() error {
	_, err := r.register(unregIOWQAff, "IORING_UNREGISTER_IOWQ_AFF", "5.14", nil, 0)
	return err
}

// SetIOWQMaxWorkers sets the io-wq worker limits for bounded (file/block) and unbounded
// (socket, splice) work (IORING_REGISTER_IOWQ_MAX_WORKERS, 5.15); 0 leaves a limit as is.
// It returns the previous limits.
func (r *Ring) SetIOWQMaxWorkers(bounded, unbounded uint32) (prevBounded, prevUnbounded uint32, err error) {
	v := [2]uint32{bounded, unbounded}
	_, err = r.register(regIOWQMaxWorkers, "IORING_REGISTER_IOWQ_MAX_WORKERS", "5.15", unsafe.Pointer(&v), 2)
	return v[0], v[1], err
}

// RegisterEventfd makes the kernel signal eventfd fd when CQEs are posted
// (IORING_REGISTER_EVENTFD, 5.2). See Eventfd.
func (r *Ring) RegisterEventfd(fd int) error {
	v := int32(fd)
	_, err := r.register(regEventfd, "IORING_REGISTER_EVENTFD", "5.2", unsafe.Pointer(&v), 1)
	return err
}

// UnregisterEventfd undoes RegisterEventfd.
func (r *Ring) UnregisterEventfd() error {
	_, err := r.register(unregEventfd, "IORING_UNREGISTER_EVENTFD", "5.2", nil, 0)
	return err
}

// BufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19): a ring of buffer
// descriptors shared with the kernel plus the buffers, all in one mapping outside
// the Go heap. The kernel picks a buffer for each receive with FlagBufferSelect and group
// Bgid, and reports its id in the CQE; the owner hands it back with Recycle.
// Owned by the ring's owner goroutine.
type BufRing struct {
	r       *Ring
	bgid    uint16
	mask    uint16
	tail    uint16 // our copy of the shared tail
	size    int
	mem     []byte // ring descriptors, then the buffers
	descs   []ringBuf
	bufBase int
	tailp   *uint32 // 32-bit word holding bufs[0].bid (low half) and the tail (high half)
}

// NewBufRing registers buffer group bgid with entries buffers (a power of two, at most
// 32768) of size bytes each, all made available to the kernel.
func (r *Ring) NewBufRing(bgid uint16, entries int, size int) (*BufRing, error) {
	if entries <= 0 || entries > 1<<15 || entries&(entries-1) != 0 || size <= 0 {
		return nil, unix.EINVAL
	}
	ringBytes := roundPage(entries * int(unsafe.Sizeof(ringBuf{})))
	mem, err := r.mem.Alloc(ringBytes + entries*size)
	if err != nil {
		return nil, err
	}
	b := &BufRing{r: r, bgid: bgid, mask: uint16(entries - 1), size: size, mem: mem, bufBase: ringBytes}
	b.descs = unsafe.Slice((*ringBuf)(unsafe.Pointer(&mem[0])), entries)
	b.tailp = (*uint32)(unsafe.Pointer(&mem[12]))
	reg := bufReg{RingAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), RingEntries: uint32(entries), Bgid: bgid}
	if _, err := r.register(regPbufRing, "IORING_REGISTER_PBUF_RING", "5.19", unsafe.Pointer(&reg), 1); err != nil {
		r.mem.Free(mem)
		return nil, err
	}
	for i := range entries {
		b.Add(uint16(i), i)
	}
	b.Advance(entries)
	if r.bufRings == nil {
		r.bufRings = make(map[uint16]*BufRing)
	}
	r.bufRings[bgid] = b
	return b, nil
}

// Bgid returns the buffer group id.
func (b *BufRing) Bgid() uint16 { return b.bgid }

// Buf returns buffer bid; a CQE's Res says how many bytes of it are data.
func (b *BufRing) Buf(bid uint16) []byte {
	off := b.bufBase + int(bid)*b.size
	return b.mem[off : off+b.size : off+b.size]
}

// Add writes buffer bid into the descriptor slot offset places past the tail, without
// publishing it (see Advance).
func (b *BufRing) Add(bid uint16, offset int) {
	i := (b.tail + uint16(offset)) & b.mask
	off := b.bufBase + int(bid)*b.size
	d := &b.descs[i]
	// Field by field: descs[0].Resv is the shared tail and must not be written here.
	d.Addr = uint64(uintptr(unsafe.Pointer(&b.mem[off])))
	d.Len = uint32(b.size)
	d.Bid = bid
}

// Advance publishes n added buffers to the kernel with a release store of the tail. Go has
// no 16-bit atomics, so the 32-bit word holding bufs[0].bid and the tail is stored whole,
// with the bid we last wrote there (the kernel never writes it).
func (b *BufRing) Advance(n int) {
	b.tail += uint16(n)
	store(b.tailp, uint32(b.descs[0].Bid)|uint32(b.tail)<<16)
}

// Recycle returns buffer bid to the kernel: Add then Advance(1).
func (b *BufRing) Recycle(bid uint16) {
	b.Add(bid, 0)
	b.Advance(1)
}

// Close unregisters the group and unmaps its memory. No receive may still select from it.
func (b *BufRing) Close() error {
	if b.mem == nil {
		return nil
	}
	if b.r.closed {
		return ErrClosed // the ring's Close unmapped it, or leaked it on purpose
	}
	reg := bufReg{Bgid: b.bgid}
	_, err := b.r.register(unregPbufRing, "IORING_UNREGISTER_PBUF_RING", "5.19", unsafe.Pointer(&reg), 1)
	delete(b.r.bufRings, b.bgid)
	b.unmap()
	return err
}

func (b *BufRing) unmap() {
	if b.mem != nil {
		b.r.mem.Free(b.mem)
		b.mem, b.descs, b.tailp = nil, nil, nil
	}
}

// Mmap allocates size bytes outside the Go heap (anonymous, private), for registered
// buffers whose lifetime the caller manages. Free with Munmap.
func Mmap(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

// Munmap frees memory from Mmap.
func Munmap(b []byte) error { return unix.Munmap(b) }
