//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"testing"
	"unsafe"
)

// TestLayout checks the kernel ABI structs against include/uapi/linux/io_uring.h.
func TestLayout(t *testing.T) {
	var e sqe
	var p params
	sizes := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"io_uring_sqe", unsafe.Sizeof(e), 64},
		{"io_uring_cqe", unsafe.Sizeof(rawCQE{}), 16},
		{"io_uring_params", unsafe.Sizeof(p), 120},
		{"io_sqring_offsets", unsafe.Sizeof(sqringOffsets{}), 40},
		{"io_cqring_offsets", unsafe.Sizeof(cqringOffsets{}), 40},
		{"io_uring_getevents_arg", unsafe.Sizeof(getEventsArg{}), 24},
		{"__kernel_timespec", unsafe.Sizeof(kernelTimespec{}), 16},
		{"io_uring_probe_op", unsafe.Sizeof(probeOp{}), 8},
		{"io_uring_probe+256 ops", unsafe.Sizeof(probeBuf{}), 16 + 256*8},
		{"io_uring_rsrc_register", unsafe.Sizeof(rsrcRegister{}), 32},
		{"io_uring_rsrc_update2", unsafe.Sizeof(rsrcUpdate2{}), 32},
		{"io_uring_buf", unsafe.Sizeof(ringBuf{}), 16},
		{"io_uring_buf_reg", unsafe.Sizeof(bufReg{}), 40},
		{"iovec", unsafe.Sizeof(iovec{}), 16},
		{"user_msghdr", unsafe.Sizeof(msghdr{}), 56},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("sizeof(%s) = %d, want %d", s.name, s.got, s.want)
		}
	}
	offsets := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"sqe.opcode", unsafe.Offsetof(e.Opcode), 0},
		{"sqe.flags", unsafe.Offsetof(e.Flags), 1},
		{"sqe.ioprio", unsafe.Offsetof(e.Ioprio), 2},
		{"sqe.fd", unsafe.Offsetof(e.Fd), 4},
		{"sqe.off/addr2", unsafe.Offsetof(e.Off), 8},
		{"sqe.addr/splice_off_in", unsafe.Offsetof(e.Addr), 16},
		{"sqe.len", unsafe.Offsetof(e.Len), 24},
		{"sqe.rw_flags", unsafe.Offsetof(e.OpFlags), 28},
		{"sqe.user_data", unsafe.Offsetof(e.UserData), 32},
		{"sqe.buf_index/buf_group", unsafe.Offsetof(e.BufIndex), 40},
		{"sqe.personality", unsafe.Offsetof(e.Personality), 42},
		{"sqe.splice_fd_in/file_index", unsafe.Offsetof(e.SpliceFdIn), 44},
		{"sqe.addr3", unsafe.Offsetof(e.Addr3), 48},
		{"cqe.res", unsafe.Offsetof(rawCQE{}.Res), 8},
		{"cqe.flags", unsafe.Offsetof(rawCQE{}.Flags), 12},
		{"params.features", unsafe.Offsetof(p.Features), 20},
		{"params.sq_off", unsafe.Offsetof(p.SQOff), 40},
		{"params.cq_off", unsafe.Offsetof(p.CQOff), 80},
		{"msghdr.msg_iov", unsafe.Offsetof(msghdr{}.Iov), 16},
		{"msghdr.msg_control", unsafe.Offsetof(msghdr{}.Control), 32},
		{"msghdr.msg_flags", unsafe.Offsetof(msghdr{}.Flags), 48},
		{"io_uring_buf.bid", unsafe.Offsetof(ringBuf{}.Bid), 12},
		{"io_uring_buf_ring.tail", unsafe.Offsetof(ringBuf{}.Resv), 14},
		{"buf_reg.bgid", unsafe.Offsetof(bufReg{}.Bgid), 12},
		{"rsrc_update2.nr", unsafe.Offsetof(rsrcUpdate2{}.Nr), 24},
		{"getevents_arg.ts", unsafe.Offsetof(getEventsArg{}.Ts), 16},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("offsetof(%s) = %d, want %d", o.name, o.got, o.want)
		}
	}
}
