package numa_test

import (
	"net"
	"net/netip"
	"runtime"

	"smb3d/numa"
)

// A transport serves each accepted channel on a goroutine locked to its own
// OS thread, pinned to the node of the interface the channel came in on,
// with its buffers on that node; it creates its io_uring ring (or QP and
// registered memory) on that thread, and reports the node through
// NUMANode() so the server status shows it.
func Example_channel() {
	topo, err := numa.System()
	if err != nil {
		return
	}
	pl, err := numa.NewPlacement(numa.Policy{Mode: numa.Auto}, topo) // from the config's "numa ="
	if err != nil {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	defer ln.Close()
	go net.Dial("tcp", ln.Addr().String())
	c, err := ln.Accept()
	if err != nil {
		return
	}
	node := pl.ForLocalAddr(netip.MustParseAddrPort(c.LocalAddr().String()).Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // not unlocked: the pinned thread exits with the goroutine
		if err := numa.PinThread(node); err != nil {
			node = numa.Unknown // serve unplaced rather than not at all
		}
		buf, err := numa.Alloc(1<<20, node) // receive buffer on the channel's node
		if err != nil {
			return
		}
		defer numa.Free(buf)
		// ... io_uring_setup here, IORING_REGISTER_IOWQ_AFF with topo.CPUSet(node) ...
		c.Close()
	}()
	<-done
	// Output:
}
