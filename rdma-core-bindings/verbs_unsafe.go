//go:build rdma && cgo && linux

package rdma

/*
#cgo LDFLAGS: -libverbs -lrdmacm
#include <stdlib.h>
#include "smb3d_verbs.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// verbErr wraps the errno of a failed verb with the verb's name.
func verbErr(verb string, errno syscall.Errno) error {
	if errno == 0 {
		errno = syscall.EIO // a verb failed without setting errno
	}
	return os.NewSyscallError(verb, errno)
}

// errnoOf converts the error cgo returns next to a failed call.
func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return 0
}

// Device is an open RDMA device context (struct ibv_context). A Device from
// OpenDevice is owned by the caller and closed by Close; the Device of an
// Endpoint or a connection request belongs to librdmacm and its Close does
// nothing.
type Device struct {
	ctx   *C.struct_ibv_context
	name  string
	owned bool

	mu     sync.Mutex
	closed bool
}

// cmDevices are the Devices wrapping librdmacm's contexts, one per context,
// so that a Device can be compared and used as a map key (to share a PD).
var cmDevices struct {
	sync.Mutex
	m map[*C.struct_ibv_context]*Device
}

func cmDevice(ctx *C.struct_ibv_context) *Device {
	if ctx == nil {
		return nil
	}
	cmDevices.Lock()
	defer cmDevices.Unlock()
	if d := cmDevices.m[ctx]; d != nil {
		return d
	}
	if cmDevices.m == nil {
		cmDevices.m = make(map[*C.struct_ibv_context]*Device)
	}
	d := &Device{ctx: ctx, name: C.GoString(C.ibv_get_device_name(ctx.device))}
	cmDevices.m[ctx] = d
	return d
}

// Devices lists the RDMA devices with their attributes and ports. It
// returns an empty list (and no error) when there is none.
func Devices() ([]DeviceInfo, error) {
	var n C.int
	list, err := C.ibv_get_device_list(&n)
	if list == nil {
		if errnoOf(err) == syscall.ENOSYS {
			return nil, nil // no RDMA subsystem in the kernel
		}
		return nil, verbErr("ibv_get_device_list", errnoOf(err))
	}
	defer C.ibv_free_device_list(list)
	devs := unsafe.Slice(list, int(n))
	infos := make([]DeviceInfo, 0, len(devs))
	for _, dev := range devs {
		ctx, err := C.ibv_open_device(dev)
		if ctx == nil {
			return nil, fmt.Errorf("%s: %w", C.GoString(C.ibv_get_device_name(dev)), verbErr("ibv_open_device", errnoOf(err)))
		}
		info, err := queryDevice(ctx)
		C.ibv_close_device(ctx)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// OpenDevice opens the named device (see Devices), or the first one if
// name is empty.
func OpenDevice(name string) (*Device, error) {
	var n C.int
	list, err := C.ibv_get_device_list(&n)
	if list == nil {
		return nil, verbErr("ibv_get_device_list", errnoOf(err))
	}
	defer C.ibv_free_device_list(list)
	for _, dev := range unsafe.Slice(list, int(n)) {
		dn := C.GoString(C.ibv_get_device_name(dev))
		if name != "" && dn != name {
			continue
		}
		ctx, err := C.ibv_open_device(dev)
		if ctx == nil {
			return nil, fmt.Errorf("%s: %w", dn, verbErr("ibv_open_device", errnoOf(err)))
		}
		track(kindDevice)
		return &Device{ctx: ctx, name: dn, owned: true}, nil
	}
	if name == "" {
		return nil, ErrNoDevice
	}
	return nil, fmt.Errorf("%w named %q", ErrNoDevice, name)
}

// Name returns the device's name (e.g. "rxe0").
func (d *Device) Name() string { return d.name }

// Info queries the device's attributes and ports.
func (d *Device) Info() (DeviceInfo, error) { return queryDevice(d.ctx) }

// Close closes a device opened with OpenDevice. Its PDs and CQs must be
// closed first.
func (d *Device) Close() error {
	if !d.owned {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	untrack(kindDevice)
	if rc, err := C.ibv_close_device(d.ctx); rc != 0 {
		return verbErr("ibv_close_device", errnoOf(err))
	}
	return nil
}

func queryDevice(ctx *C.struct_ibv_context) (DeviceInfo, error) {
	var a C.struct_ibv_device_attr
	if rc := C.ibv_query_device(ctx, &a); rc != 0 {
		return DeviceInfo{}, verbErr("ibv_query_device", syscall.Errno(rc))
	}
	info := DeviceInfo{
		Name:            C.GoString(C.ibv_get_device_name(ctx.device)),
		FirmwareVersion: C.GoString(&a.fw_ver[0]),
		VendorID:        uint32(a.vendor_id),
		VendorPartID:    uint32(a.vendor_part_id),
		MaxMRSize:       uint64(a.max_mr_size),
		MaxQP:           int(a.max_qp),
		MaxQPWR:         int(a.max_qp_wr),
		MaxSGE:          int(a.max_sge),
		MaxCQ:           int(a.max_cq),
		MaxCQE:          int(a.max_cqe),
		MaxMR:           int(a.max_mr),
		MaxPD:           int(a.max_pd),
		MaxMW:           int(a.max_mw),
		MaxQPRdAtom:     int(a.max_qp_rd_atom),
		MaxQPInitRdAtom: int(a.max_qp_init_rd_atom),
		MemWindowType2:  a.device_cap_flags&(C.IBV_DEVICE_MEM_WINDOW_TYPE_2A|C.IBV_DEVICE_MEM_WINDOW_TYPE_2B) != 0,
	}
	// node_guid is big-endian in memory: copy its bytes as they are
	*(*[8]byte)(unsafe.Pointer(&info.NodeGUID)) = *(*[8]byte)(unsafe.Pointer(&a.node_guid))
	tableLen := 0
	for p := 1; p <= int(a.phys_port_cnt); p++ {
		var pa C.struct_ibv_port_attr
		if rc := C.smb3d_query_port(ctx, C.uint8_t(p), &pa); rc != 0 {
			return info, verbErr("ibv_query_port", syscall.Errno(rc))
		}
		info.Ports = append(info.Ports, PortInfo{
			Port:      p,
			State:     PortState(pa.state),
			LinkLayer: LinkLayer(pa.link_layer),
			ActiveMTU: MTU(pa.active_mtu),
			MaxMTU:    MTU(pa.max_mtu),
		})
		tableLen += int(pa.gid_tbl_len)
	}
	if tableLen == 0 {
		return info, nil
	}
	// the valid GID entries of all ports in one call
	entries := make([]C.struct_ibv_gid_entry, tableLen)
	n, err := C.smb3d_query_gid_table(ctx, &entries[0], C.size_t(len(entries)))
	if n < 0 {
		return info, verbErr("ibv_query_gid_table", errnoOf(err))
	}
	for _, e := range entries[:n] {
		p := int(e.port_num)
		if p < 1 || p > len(info.Ports) {
			continue
		}
		g := GIDEntry{Index: int(e.gid_index), Type: GIDType(e.gid_type), IfIndex: int(e.ndev_ifindex)}
		g.GID = *(*[16]byte)(unsafe.Pointer(&e.gid))
		info.Ports[p-1].GIDs = append(info.Ports[p-1].GIDs, g)
	}
	return info, nil
}

// wcStatusStr is ibv_wc_status_str (for tests of the Go table).
func wcStatusStr(s WCStatus) string { return C.GoString(C.ibv_wc_status_str(uint32(s))) }

// PD is a protection domain (struct ibv_pd).
type PD struct {
	pd  *C.struct_ibv_pd
	dev *Device

	mu     sync.Mutex
	closed bool
}

// AllocPD allocates a protection domain on the device.
func (d *Device) AllocPD() (*PD, error) {
	pd, err := C.ibv_alloc_pd(d.ctx)
	if pd == nil {
		return nil, verbErr("ibv_alloc_pd", errnoOf(err))
	}
	track(kindPD)
	return &PD{pd: pd, dev: d}, nil
}

// Device returns the PD's device.
func (pd *PD) Device() *Device { return pd.dev }

// Close deallocates the PD. Its MRs, MWs and QPs must be closed first
// (ibv_dealloc_pd fails with EBUSY otherwise).
func (pd *PD) Close() error {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.closed {
		return nil
	}
	if rc := C.ibv_dealloc_pd(pd.pd); rc != 0 {
		return verbErr("ibv_dealloc_pd", syscall.Errno(rc))
	}
	pd.closed = true
	untrack(kindPD)
	return nil
}

// MR is a registered memory region (struct ibv_mr).
type MR struct {
	mr  *C.struct_ibv_mr
	mem []byte

	mu     sync.Mutex
	closed bool
}

// Register registers mem with the given access rights. mem must lie inside
// a Buffer from Alloc: Go heap memory cannot be handed to the device. Remote
// access needs AccessLocalWrite too (a verbs rule).
func (pd *PD) Register(mem []byte, access Access) (*MR, error) {
	if !inBuffer(mem) {
		return nil, fmt.Errorf("rdma: register %d bytes: memory is not from rdma.Alloc", len(mem))
	}
	mr, err := C.ibv_reg_mr(pd.pd, unsafe.Pointer(&mem[0]), C.size_t(len(mem)), C.int(access))
	if mr == nil {
		return nil, verbErr("ibv_reg_mr", errnoOf(err))
	}
	track(kindMR)
	return &MR{mr: mr, mem: mem}, nil
}

// Bytes returns the registered memory.
func (mr *MR) Bytes() []byte { return mr.mem }

// Addr returns the address of the region's first byte (the base of
// RemoteAddr for the peer).
func (mr *MR) Addr() uint64 { return uint64(uintptr(mr.mr.addr)) }

// Len returns the region's length.
func (mr *MR) Len() int { return len(mr.mem) }

// LKey returns the local key.
func (mr *MR) LKey() uint32 { return uint32(mr.mr.lkey) }

// RKey returns the remote key (meaningful with remote access rights).
func (mr *MR) RKey() uint32 { return uint32(mr.mr.rkey) }

// SGE returns the scatter/gather entry for mem[off:off+n]. It panics if the
// range is outside the region.
func (mr *MR) SGE(off, n int) SGE {
	if off < 0 || n < 0 || off > len(mr.mem) || n > len(mr.mem)-off {
		panic(fmt.Sprintf("rdma: SGE [%d:+%d] outside a %d-byte MR", off, n, len(mr.mem)))
	}
	return SGE{Addr: mr.Addr() + uint64(off), Length: uint32(n), LKey: mr.LKey()}
}

// Close deregisters the region (the memory stays mapped).
func (mr *MR) Close() error {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	if mr.closed {
		return nil
	}
	if rc := C.ibv_dereg_mr(mr.mr); rc != 0 {
		return verbErr("ibv_dereg_mr", syscall.Errno(rc))
	}
	mr.closed = true
	untrack(kindMR)
	return nil
}

// MW is a type 2 memory window (struct ibv_mw), bound with an OpBindMW work
// request on a connected QP and invalidated by the peer (OpSendWithInv) or
// locally (OpLocalInv).
type MW struct {
	mw *C.struct_ibv_mw

	mu     sync.Mutex
	rkey   uint32
	closed bool
}

// AllocMW allocates a type 2 memory window.
func (pd *PD) AllocMW() (*MW, error) {
	mw, err := C.ibv_alloc_mw(pd.pd, C.IBV_MW_TYPE_2)
	if mw == nil {
		return nil, verbErr("ibv_alloc_mw", errnoOf(err))
	}
	track(kindMW)
	return &MW{mw: mw, rkey: uint32(mw.rkey)}, nil
}

// RKey returns the window's current key (the one given to the last bind).
func (mw *MW) RKey() uint32 {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	return mw.rkey
}

// NextRKey returns a new key for the next bind (ibv_inc_rkey: the low
// byte changes, so an old key held by the peer stops working) and makes it
// the window's current key.
func (mw *MW) NextRKey() uint32 {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.rkey = uint32(C.smb3d_inc_rkey(C.uint32_t(mw.rkey)))
	return mw.rkey
}

// Close deallocates the window.
func (mw *MW) Close() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if mw.closed {
		return nil
	}
	if rc := C.ibv_dealloc_mw(mw.mw); rc != 0 {
		return verbErr("ibv_dealloc_mw", syscall.Errno(rc))
	}
	mw.closed = true
	untrack(kindMW)
	return nil
}
