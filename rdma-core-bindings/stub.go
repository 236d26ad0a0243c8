//go:build !(rdma && cgo && linux)

package rdma

import (
	"context"
	"net/netip"
)

// This file stands in for the cgo implementation when smb3d is built without
// the rdma tag, without cgo or not for Linux: the API is the same, every
// constructor returns ErrNotCompiled, so no object can exist and the methods
// are never reached.

// Device is an open RDMA device context.
type Device struct{}

// Devices returns ErrNotCompiled.
func Devices() ([]DeviceInfo, error) { return nil, ErrNotCompiled }

// OpenDevice returns ErrNotCompiled.
func OpenDevice(name string) (*Device, error) { return nil, ErrNotCompiled }

func (d *Device) Name() string                                    { return "" }
func (d *Device) Info() (DeviceInfo, error)                       { return DeviceInfo{}, ErrNotCompiled }
func (d *Device) Close() error                                    { return nil }
func (d *Device) AllocPD() (*PD, error)                           { return nil, ErrNotCompiled }
func (d *Device) NewCQ(entries int, opts *CQOptions) (*CQ, error) { return nil, ErrNotCompiled }

// PD is a protection domain.
type PD struct{}

func (pd *PD) Device() *Device                                 { return nil }
func (pd *PD) Close() error                                    { return nil }
func (pd *PD) Register(mem []byte, access Access) (*MR, error) { return nil, ErrNotCompiled }
func (pd *PD) AllocMW() (*MW, error)                           { return nil, ErrNotCompiled }

// MR is a registered memory region.
type MR struct{}

func (mr *MR) Bytes() []byte      { return nil }
func (mr *MR) Addr() uint64       { return 0 }
func (mr *MR) Len() int           { return 0 }
func (mr *MR) LKey() uint32       { return 0 }
func (mr *MR) RKey() uint32       { return 0 }
func (mr *MR) SGE(off, n int) SGE { return SGE{} }
func (mr *MR) Close() error       { return nil }

// MW is a type 2 memory window.
type MW struct{}

func (mw *MW) RKey() uint32     { return 0 }
func (mw *MW) NextRKey() uint32 { return 0 }
func (mw *MW) Close() error     { return nil }

// CQ is a completion queue.
type CQ struct{}

func (cq *CQ) Poll(out []Completion) (int, error)                      { return 0, ErrNotCompiled }
func (cq *CQ) Wait(ctx context.Context, out []Completion) (int, error) { return 0, ErrNotCompiled }
func (cq *CQ) Close() error                                            { return nil }

// Listener accepts RC connections.
type Listener struct{}

// Listen returns ErrNotCompiled.
func Listen(laddr netip.AddrPort, backlog int) (*Listener, error) { return nil, ErrNotCompiled }

func (l *Listener) Addr() netip.AddrPort                          { return netip.AddrPort{} }
func (l *Listener) Accept(ctx context.Context) (*Endpoint, error) { return nil, ErrNotCompiled }
func (l *Listener) Close() error                                  { return nil }

// Endpoint is one side of an RC connection.
type Endpoint struct{}

// Resolve returns ErrNotCompiled.
func Resolve(ctx context.Context, raddr netip.AddrPort, opts *ResolveOptions) (*Endpoint, error) {
	return nil, ErrNotCompiled
}

func (ep *Endpoint) Device() *Device                                { return nil }
func (ep *Endpoint) PeerParam() ConnParam                           { return ConnParam{} }
func (ep *Endpoint) LocalAddr() netip.AddrPort                      { return netip.AddrPort{} }
func (ep *Endpoint) RemoteAddr() netip.AddrPort                     { return netip.AddrPort{} }
func (ep *Endpoint) CreateQP(pd *PD, cfg QPConfig) error            { return ErrNotCompiled }
func (ep *Endpoint) Connect(ctx context.Context, p ConnParam) error { return ErrNotCompiled }
func (ep *Endpoint) Accept(ctx context.Context, p ConnParam) error  { return ErrNotCompiled }
func (ep *Endpoint) Reject(privateData []byte) error                { return ErrNotCompiled }
func (ep *Endpoint) Disconnect() error                              { return ErrNotCompiled }
func (ep *Endpoint) Done() <-chan struct{}                          { return nil }
func (ep *Endpoint) Err() error                                     { return ErrNotCompiled }
func (ep *Endpoint) Close() error                                   { return nil }
func (ep *Endpoint) PostRecv(wrs ...RecvWR) error                   { return ErrNotCompiled }
func (ep *Endpoint) PostSend(wrs ...SendWR) error                   { return ErrNotCompiled }

func wcStatusStr(s WCStatus) string { return s.String() }
