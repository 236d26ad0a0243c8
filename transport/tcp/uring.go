package tcp

import (
	"errors"
	"fmt"

	"smb3d/numa"
	"smb3d/transport"
	"smb3d/transport/tcp/uring"
)

// URingConfig shapes the io_uring transport.
type URingConfig struct {
	// Rings bounds the number of rings, each owned by one goroutine
	// locked to its OS thread. A connection gets a ring of its own while
	// there are fewer; beyond, connections share the least loaded one.
	// 0: 4 x GOMAXPROCS (a ring per connection measured faster than shared
	// rings, but each costs an OS thread).
	Rings int
	// Entries is each ring's submission queue size; 0: 256.
	Entries uint32
	// NoSplice turns off SendFile (CapSendFile), for measurements.
	NoSplice bool
	// NoDirectSend sends every message through the ring, without first
	// trying a non-blocking sendmsg from the writer, for measurements.
	NoDirectSend bool
	// DisableSetup lists io_uring setup flags (uring.Setup*) not to use,
	// for measurements (uring.Config.Disable).
	DisableSetup uint32
	// NoFixedRecv turns off registered receive buffers. By default the
	// rest of each message over 64 KiB is received by READ_FIXED into its
	// buffer, registered with the ring (IORING_REGISTER_BUFFERS2 /
	// BUFFERS_UPDATE over the ring's buffer pool, which every ring then
	// has, bound to no node when not placed); with NoFixedRecv by RECV with
	// MSG_WAITALL into the ring's pool when placed, else the heap pools.
	// Each read waits behind a POLL_ADD for SO_RCVLOWAT set to what the
	// message lacks, at most 1 MiB (an 8 MiB WRITE takes about 2.5
	// completions; waiting for the whole message measured slower: the copy
	// then starts only once all of it is in). Registered pages count
	// against RLIMIT_MEMLOCK without CAP_IPC_LOCK; a buffer over it is
	// received by RECV, and so is everything on a kernel without sparse
	// buffer tables (5.19). Chosen on the figures in the README
	// (Transports: BenchmarkSMBClientWrite, BenchmarkWritePayload).
	NoFixedRecv bool
	// fixedPartial: READ_FIXED as soon as anything has
	// arrived (a completion per burst) instead of once the message is
	// whole, for measurements (export_test.go).
	fixedPartial bool
	// fixedLowat overrides the registered receive's low-water mark cap (fixedLowatCap;
	// -1: none, wait for the whole message), for measurements
	// (export_test.go).
	fixedLowat int
	// Placement puts each connection on a ring whose thread, io-wq workers
	// and buffers live on the NUMA node of the interface it was accepted
	// on; nil places nothing.
	Placement *numa.Placement
}

// Transport names accepted by Listen ("tcp transport" in the config).
const (
	TransportURing   = "uring"
	TransportNetpoll = "netpoll"
)

// ListenTransport listens on a TCP address with the named transport: "uring" (also
// the default, "") falls back to the netpoller when io_uring is unavailable,
// and then returns the reason as fallback, for the caller to log once.
func ListenTransport(addr, name string, cfg URingConfig) (l transport.Listener, fallback error, err error) {
	switch name {
	case TransportNetpoll:
		nl, err := Listen(addr)
		if err != nil {
			return nil, nil, err
		}
		nl.SetPlacement(cfg.Placement)
		return nl, nil, nil
	case "", TransportURing:
	default:
		return nil, nil, fmt.Errorf("tcp: unknown transport %q (want %q or %q)", name, TransportURing, TransportNetpoll)
	}
	ul, err := ListenURing(addr, cfg)
	if err == nil {
		return ul, nil, nil
	}
	if !errors.Is(err, uring.ErrNotSupported) {
		return nil, nil, err
	}
	nl, err2 := Listen(addr)
	if err2 != nil {
		return nil, nil, err2
	}
	nl.SetPlacement(cfg.Placement)
	return nl, err, nil
}
