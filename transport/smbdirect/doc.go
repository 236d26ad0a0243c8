// Package smbdirect is SMB2 over RDMA: the SMB Direct protocol (MS-SMBD)
// over the rdma-core bindings, as a transport.Listener whose connections
// implement transport.RDMAConn.
//
// # Protocol
//
// A connection request is accepted with every receive already posted; the
// peer's negotiate request is validated (MS-SMBD 3.1.5.6: version 0x0100,
// credits, minimum sizes) and answered with the smaller of both sides'
// sizes and the credits granted. Upper-layer messages then travel as data
// transfer messages (2.2.3), fragmented to the negotiated send size and
// reassembled up to MaxFragmentedSize. Credits follow 3.1.5: a message
// without a credit, a malformed header or inconsistent fragments end the
// connection with a *ConnError naming the reason; the last send credit is
// spent only on a message that grants credits or while the peer holds
// credits to answer with; receives are reposted as
// messages are consumed and granted with the next message, or with an
// empty message when the peer runs low. The peer's
// SMB_DIRECT_RESPONSE_REQUESTED is answered at once; a silent peer gets a
// keepalive after KeepaliveInterval and is disconnected if it does not
// answer within KeepaliveTimeout. Every wait is bounded: negotiation by
// NegotiateTimeout, a send's wait for a credit by CreditTimeout.
//
// # RDMA
//
// RDMAWrite and RDMARead move data between the caller's slice and the
// peer's buffers (buffer descriptors: token = rkey, offset = remote
// address) through a pool of pre-registered buffers per device, so the hot
// path registers nothing. WriteMessageInvalidate sends the response's
// first fragment with Send with Invalidate.
//
// # Goroutines
//
// Per connection: the completion loop owns the completion queue (driven by
// the netpoller); the control goroutine sends credit grants, answers and
// keepalives; ReadMessage's caller takes whole messages; writers serialize
// on a mutex per message. All shared state is under one mutex (Conn.mu).
//
// # Build
//
// The code compiles without cgo: it uses only the bindings' Go API, whose
// stub returns rdma.ErrNotCompiled from every constructor, so Listen says
// why SMB Direct is unavailable. Unit tests run against rdmafake; the
// tests tagged rdma run over rxe in the soft-RoCE VM (test/soft-roce).
package smbdirect
