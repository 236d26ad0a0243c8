package rdma

import (
	"fmt"
	"net/netip"
	"time"
)

// Access is a set of memory access rights (enum ibv_access_flags).
type Access uint32

// Memory access rights.
const (
	AccessLocalWrite   Access = 1 << 0
	AccessRemoteWrite  Access = 1 << 1
	AccessRemoteRead   Access = 1 << 2
	AccessRemoteAtomic Access = 1 << 3
	AccessMWBind       Access = 1 << 4 // the MR may carry memory windows
)

// WROpcode is the operation of a send-queue work request (enum ibv_wr_opcode).
type WROpcode uint32

// Send-queue operations.
const (
	OpRDMAWrite        WROpcode = 0
	OpRDMAWriteWithImm WROpcode = 1
	OpSend             WROpcode = 2
	OpSendWithImm      WROpcode = 3
	OpRDMARead         WROpcode = 4
	OpLocalInv         WROpcode = 7 // invalidate InvalidateRKey (a memory window) locally
	OpBindMW           WROpcode = 8 // bind a type 2 memory window, see SendWR.Bind
	OpSendWithInv      WROpcode = 9 // send and invalidate InvalidateRKey at the peer
)

// SendFlags modify a send-queue work request (enum ibv_send_flags).
type SendFlags uint32

// Send flags.
const (
	SendFence     SendFlags = 1 << 0
	SendSignaled  SendFlags = 1 << 1 // generate a completion (QPs are created with sq_sig_all=0)
	SendSolicited SendFlags = 1 << 2
	SendInline    SendFlags = 1 << 3 // copy the data into the WR (up to QPConfig.MaxInlineData)
)

// WCOpcode is what a work completion completed (enum ibv_wc_opcode).
type WCOpcode uint32

// Completion opcodes.
const (
	WCSend            WCOpcode = 0
	WCRDMAWrite       WCOpcode = 1
	WCRDMARead        WCOpcode = 2
	WCBindMW          WCOpcode = 5
	WCLocalInv        WCOpcode = 6
	WCRecv            WCOpcode = 1 << 7
	WCRecvRDMAWithImm WCOpcode = 1<<7 + 1
)

func (o WCOpcode) String() string {
	switch o {
	case WCSend:
		return "send"
	case WCRDMAWrite:
		return "RDMA write"
	case WCRDMARead:
		return "RDMA read"
	case WCBindMW:
		return "bind MW"
	case WCLocalInv:
		return "local invalidate"
	case WCRecv:
		return "receive"
	case WCRecvRDMAWithImm:
		return "receive RDMA write with immediate"
	}
	return fmt.Sprintf("opcode %d", uint32(o))
}

// WCFlags describe a work completion (enum ibv_wc_flags).
type WCFlags uint32

// Work completion flags.
const (
	WCWithImm WCFlags = 1 << 1 // Completion.Imm is valid
	WCWithInv WCFlags = 1 << 3 // Completion.InvalidatedRKey is valid
)

// Completion is one work completion (struct ibv_wc).
type Completion struct {
	WRID            uint64 // the ID of the work request that completed
	Status          WCStatus
	Opcode          WCOpcode // valid only when Status is WCSuccess
	Flags           WCFlags
	ByteLen         uint32 // bytes received (receives and RDMA reads)
	Imm             uint32 // immediate data, host order (Flags&WCWithImm)
	InvalidatedRKey uint32 // rkey the peer invalidated (Flags&WCWithInv)
	VendorErr       uint32
	QPNum           uint32
}

// Err returns nil for a successful completion and a *WCError otherwise.
func (c *Completion) Err() error {
	if c.Status == WCSuccess {
		return nil
	}
	return &WCError{WRID: c.WRID, Opcode: c.Opcode, Status: c.Status, VendorErr: c.VendorErr}
}

// SGE is one scatter/gather entry (struct ibv_sge): a range of registered
// memory named by its address and the MR's local key. Build it with MR.SGE.
type SGE struct {
	Addr   uint64
	Length uint32
	LKey   uint32
}

// SendWR is a send-queue work request.
type SendWR struct {
	ID    uint64 // returned in the Completion
	Op    WROpcode
	Flags SendFlags
	SGL   []SGE // local buffers (the data sent or written; the destination of a read)

	RemoteAddr uint64 // OpRDMAWrite*, OpRDMARead: the peer's address
	RKey       uint32 // OpRDMAWrite*, OpRDMARead: the peer's key

	Imm            uint32 // Op*WithImm: immediate data (host order)
	InvalidateRKey uint32 // OpSendWithInv, OpLocalInv
	Bind           *MWBind
}

// MWBind describes an OpBindMW work request: bind MW over
// [Addr, Addr+Length) of MR with the given rights. RKey is the window's new
// key; use MW.NextRKey, and hand it to the peer once the bind completed.
type MWBind struct {
	MW     *MW
	MR     *MR
	Addr   uint64
	Length uint64
	Access Access
	RKey   uint32
}

// RecvWR is a receive-queue work request.
type RecvWR struct {
	ID  uint64
	SGL []SGE
}

// ConnParam are the parameters of a connect or an accept (struct
// rdma_conn_param).
type ConnParam struct {
	// PrivateData is sent with the request or reply: at most 56 bytes on
	// connect and 196 on accept for RoCE/IB (rdma_cm adds its own header).
	PrivateData []byte
	// ResponderResources is the number of RDMA reads/atomics in flight the
	// local side accepts as a target; InitiatorDepth the number it issues.
	// The acceptor should not exceed the connector's values (which arrive in
	// Endpoint.PeerParam). With InitiatorDepth 0 the QP cannot issue RDMA
	// reads at all: rxe then leaves them pending forever, without an error.
	ResponderResources uint8
	InitiatorDepth     uint8
	// RetryCount (0-7, connect only): transport retries after an ACK
	// timeout; 0 fails on the first lost packet, which happens under load
	// even on rxe, so 7 is the usual value. RNRRetryCount (0-7, 7 =
	// forever): retries while the peer has no receive posted.
	RetryCount    uint8
	RNRRetryCount uint8
}

// QPConfig configures an RC queue pair.
type QPConfig struct {
	SendCQ, RecvCQ *CQ // may be the same CQ
	MaxSendWR      int // default 64
	MaxRecvWR      int // default 64
	MaxSendSGE     int // default 1
	MaxRecvSGE     int // default 1
	MaxInlineData  int
}

func (c *QPConfig) withDefaults() QPConfig {
	r := *c
	if r.MaxSendWR == 0 {
		r.MaxSendWR = 64
	}
	if r.MaxRecvWR == 0 {
		r.MaxRecvWR = 64
	}
	if r.MaxSendSGE == 0 {
		r.MaxSendSGE = 1
	}
	if r.MaxRecvSGE == 0 {
		r.MaxRecvSGE = 1
	}
	return r
}

// CQOptions configures a completion queue.
type CQOptions struct {
	// Polling makes Wait spin on ibv_poll_cq (yielding the processor
	// between polls) instead of sleeping on the completion channel.
	Polling bool
	// Vector is the completion vector (interrupt) to use.
	Vector int
}

// ResolveOptions configure Resolve.
type ResolveOptions struct {
	Local   netip.Addr    // source address; zero lets the kernel choose
	Timeout time.Duration // per step (address, route); default 2s
}

// PortState is the state of a device port (enum ibv_port_state).
type PortState uint32

// Port states.
const (
	PortNop         PortState = 0
	PortDown        PortState = 1
	PortInit        PortState = 2
	PortArmed       PortState = 3
	PortActive      PortState = 4
	PortActiveDefer PortState = 5
)

func (s PortState) String() string {
	switch s {
	case PortDown:
		return "DOWN"
	case PortInit:
		return "INIT"
	case PortArmed:
		return "ARMED"
	case PortActive:
		return "ACTIVE"
	case PortActiveDefer:
		return "ACTIVE_DEFER"
	}
	return fmt.Sprintf("NOP(%d)", uint32(s))
}

// LinkLayer of a port.
type LinkLayer uint8

// Link layers (IBV_LINK_LAYER_*).
const (
	LinkLayerUnspecified LinkLayer = 0
	LinkLayerInfiniBand  LinkLayer = 1
	LinkLayerEthernet    LinkLayer = 2 // RoCE (and rxe)
)

func (l LinkLayer) String() string {
	switch l {
	case LinkLayerInfiniBand:
		return "InfiniBand"
	case LinkLayerEthernet:
		return "Ethernet"
	}
	return "unspecified"
}

// MTU is an IB path MTU (enum ibv_mtu: 1 = 256 ... 5 = 4096).
type MTU uint32

// Bytes returns the MTU in bytes (0 if unknown).
func (m MTU) Bytes() int {
	if m < 1 || m > 5 {
		return 0
	}
	return 128 << m
}

func (m MTU) String() string { return fmt.Sprint(m.Bytes()) }

// GIDType is the type of a GID table entry (enum ibv_gid_type).
type GIDType uint32

// GID types.
const (
	GIDTypeIB     GIDType = 0
	GIDTypeRoCEv1 GIDType = 1
	GIDTypeRoCEv2 GIDType = 2
)

func (t GIDType) String() string {
	switch t {
	case GIDTypeIB:
		return "IB"
	case GIDTypeRoCEv1:
		return "RoCE v1"
	case GIDTypeRoCEv2:
		return "RoCE v2"
	}
	return fmt.Sprintf("GID type %d", uint32(t))
}

// GIDEntry is one valid entry of a port's GID table.
type GIDEntry struct {
	Index   int
	GID     [16]byte
	Type    GIDType
	IfIndex int // the netdev the entry belongs to (RoCE), 0 if none
}

// Addr returns the GID as an IPv6 address (an IPv4-mapped one for RoCE
// entries made from an IPv4 address).
func (g GIDEntry) Addr() netip.Addr { return netip.AddrFrom16(g.GID) }

// PortInfo are the attributes of a device port (struct ibv_port_attr).
type PortInfo struct {
	Port      int
	State     PortState
	LinkLayer LinkLayer
	ActiveMTU MTU
	MaxMTU    MTU
	GIDs      []GIDEntry // valid entries only
}

// DeviceInfo are the attributes of an RDMA device (struct ibv_device_attr).
type DeviceInfo struct {
	Name            string
	NodeGUID        [8]byte
	FirmwareVersion string
	VendorID        uint32
	VendorPartID    uint32
	MaxMRSize       uint64
	MaxQP           int
	MaxQPWR         int
	MaxSGE          int
	MaxCQ           int
	MaxCQE          int
	MaxMR           int
	MaxPD           int
	MaxMW           int
	MaxQPRdAtom     int // max RDMA reads in flight per QP as target
	MaxQPInitRdAtom int // ... as initiator
	MemWindowType2  bool
	Ports           []PortInfo
}

// GUID formats NodeGUID as ibv_devinfo does (xxxx:xxxx:xxxx:xxxx).
func (d *DeviceInfo) GUID() string {
	g := d.NodeGUID
	return fmt.Sprintf("%02x%02x:%02x%02x:%02x%02x:%02x%02x", g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7])
}
