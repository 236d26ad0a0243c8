// Package rdma is smb3d's binding to rdma-core (libibverbs and librdmacm): RDMA
// devices, protection domains, memory registration, completion queues and RC
// queue pairs connected through the RDMA connection manager.
//
// # Build
//
// The cgo implementation is compiled only with the build tag rdma, cgo enabled
// and Linux (it needs libibverbs-dev and librdmacm-dev, Debian rdma-core 44 or
// later):
//
//	go build -tags rdma ./...
//
// Without the tag every constructor (Devices, OpenDevice, Listen, Resolve)
// returns ErrNotCompiled, so the rest of smb3d builds with CGO_ENABLED=0 and
// serves TCP. Alloc (mmap'd memory) works either way on Linux.
//
// # Model
//
// A connection is an Endpoint: an rdma_cm id with its own event channel and, once
// CreateQP is called, one RC queue pair. The active side calls Resolve, creates a
// PD and CQs on ep.Device() and calls Connect; the passive side calls Listen and
// Accept, creates its QP on the request's device and calls Endpoint.Accept (or
// Reject). Private data, responder resources and initiator depth travel in
// ConnParam.
//
// Work requests name their buffers with SGE entries pointing into registered
// memory (MR.SGE). Registered memory must live outside the Go heap: allocate it
// with Alloc, which mmaps it (and can bind it to a NUMA node). A work request's
// ID comes back in its Completion; nothing in C holds a Go pointer.
//
// A CQ's completion channel file descriptor is driven by Go's netpoller: CQ.Wait
// parks the goroutine until the channel is readable, then drains the CQ. No
// goroutine busy-polls unless CQOptions.Polling is set. The connection manager's
// event channel is driven the same way by one goroutine per Endpoint and per
// Listener; when the peer disconnects, that goroutine moves the QP to the error
// state so every outstanding work request completes (flushed) instead of hanging,
// and Endpoint.Done is closed.
//
// # Exposing memory to the peer
//
// Userspace verbs have no fast-registration work request (IB_WR_REG_MR is
// kernel-only). Two ways are offered instead:
//   - memory windows (PD.AllocMW, type 2): bind a window over part of an MR with
//     an OpBindMW work request, hand its rkey to the peer, and let the peer
//     invalidate it with OpSendWithInv (or invalidate it locally with
//     OpLocalInv). This is the FRWR-equivalent and what SMB-Direct wants;
//     DeviceInfo.MemWindowType2 says whether the device supports it (rxe does).
//   - the fallback: register the MR with AccessRemoteRead/AccessRemoteWrite and
//     give the peer MR.RKey. The whole MR stays exposed for its lifetime.
//
// # Errors
//
// A failed verb returns an *os.SyscallError naming the verb and wrapping its
// syscall.Errno. A failed work request completes with a non-success WCStatus;
// Completion.Err returns a *WCError that unwraps to the WCStatus, so
// errors.Is(err, rdma.WCRemAccessErr) works. A rejected connect returns a
// *RejectedError, which matches syscall.ECONNREFUSED.
//
// # Testing without RDMA
//
// The interfaces QueuePair, CompletionQueue and MemoryRegion are what a
// transport needs of a connection; *Endpoint, *CQ and *MR implement them, and
// so does package rdmafake, an in-memory pair of queue pairs with verbs
// semantics (receive matching, rkey checks, flushes on error), for unit tests
// without cgo or a device. The real thing is tested in a soft-RoCE guest:
// test/soft-roce/run-tests.sh (make test-rdma).
//
// # Resources
//
// Every object has a Close method that releases its C resources; closing is
// idempotent. LiveObjects counts open objects of this package, so tests can
// assert that everything was released.
package rdma
