//go:build amd64 || arm64 || riscv64 || loong64 || ppc64le

package numa

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The integration test of issue 9, run by test/numa/vm-test.sh inside a
// QEMU guest with two NUMA nodes and a NIC on each (and one NIC whose node
// the kernel does not know). NUMA_VM=1 turns it on; NUMA_EXPECT lists
// "MAC=node" for every NIC QEMU was given (the truth from the QEMU command
// line, independent of the sysfs walk under test). Outside the guest it
// skips.

type expectNIC struct {
	mac    string
	node   int
	ifname string
	addr   netip.Addr
}

func vmExpect(t *testing.T) []expectNIC {
	if os.Getenv("NUMA_VM") != "1" {
		t.Skip("not in the two-node guest (test/numa/vm-test.sh sets NUMA_VM=1)")
	}
	var nics []expectNIC
	for _, kv := range strings.Fields(os.Getenv("NUMA_EXPECT")) {
		mac, node, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(node)
		if !ok || err != nil {
			t.Fatalf("NUMA_EXPECT: bad %q", kv)
		}
		nics = append(nics, expectNIC{mac: strings.ToLower(mac), node: n})
	}
	if len(nics) == 0 {
		t.Fatal("NUMA_EXPECT is empty")
	}
	ents, _ := os.ReadDir("/sys/class/net")
	for i := range nics {
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join("/sys/class/net", e.Name(), "device")); err != nil {
				continue // a VLAN shares its NIC's MAC
			}
			b, _ := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "address"))
			if strings.TrimSpace(string(b)) == nics[i].mac {
				nics[i].ifname = e.Name()
			}
		}
		if nics[i].ifname == "" {
			t.Fatalf("no interface has MAC %s", nics[i].mac)
		}
		ifc, err := net.InterfaceByName(nics[i].ifname)
		if err != nil {
			t.Fatal(err)
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				nics[i].addr = p.Addr()
			}
		}
		if !nics[i].addr.IsValid() {
			t.Fatalf("%s has no IPv4 address", nics[i].ifname)
		}
	}
	return nics
}

// TestVMTopology: the guest's nodes, and every NIC's and rxe device's node
// as QEMU placed them.
func TestVMTopology(t *testing.T) {
	nics := vmExpect(t)
	topo, err := System()
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Nodes) < 2 {
		t.Fatalf("the guest has %d NUMA nodes, want 2", len(topo.Nodes))
	}
	for _, n := range topo.Nodes {
		t.Logf("node %d: CPUs %v, %d MiB, distances %v", n.ID, n.CPUs, n.MemoryBytes>>20, n.Distances)
		if len(n.CPUs) == 0 || n.MemoryBytes == 0 {
			t.Errorf("node %d has no CPUs or no memory", n.ID)
		}
	}
	for _, nic := range nics {
		got := topo.Interfaces[nic.ifname]
		t.Logf("%s (%s, %s): sysfs node %d, QEMU node %d", nic.ifname, nic.mac, nic.addr, got, nic.node)
		if got != nic.node {
			t.Errorf("%s: node %d, want %d", nic.ifname, got, nic.node)
		}
	}
	// Netdevs named by the script (VLANs over the NICs).
	for _, kv := range strings.Fields(os.Getenv("NUMA_EXPECT_IF")) {
		name, node, _ := strings.Cut(kv, "=")
		want, _ := strconv.Atoi(node)
		got, ok := topo.Interfaces[name]
		t.Logf("%s: sysfs node %d (from lower_*), want %d", name, got, want)
		if !ok || got != want {
			t.Errorf("%s: node %d (present %v), want %d", name, got, ok, want)
		}
	}
	found := 0
	for _, d := range topo.RDMA {
		for _, nic := range nics {
			if d.Netdev == nic.ifname {
				found++
				t.Logf("RDMA %s on %s: node %d", d.Name, d.Netdev, d.Node)
				if d.Node != nic.node {
					t.Errorf("RDMA %s on %s: node %d, want %d", d.Name, d.Netdev, d.Node, nic.node)
				}
			}
		}
	}
	if found != len(nics) {
		t.Errorf("%d rxe devices on the NICs, want %d (one each)", found, len(nics))
	}
}

// channelReport is what a simulated channel's serving thread saw of itself.
type channelReport struct {
	ifname   string
	node     int // the placement's decision
	tid      int
	cpu      int
	affinity []int
	status   TaskPlacement
	mode     int
	polNodes []int
	pages    []int
	maps     NumaMapsEntry
	ring     ringReport
	err      error
}

// serveOne accepts one connection and serves it the way a transport will:
// a goroutine locked to its OS thread, pinned to the node placement gives
// the local address, a receive buffer from Alloc on that node; it echoes
// what it reads and reports what /proc and the kernel say of its placement.
func serveOne(ln net.Listener, pl *Placement, size int) channelReport {
	c, err := ln.Accept()
	if err != nil {
		return channelReport{err: err}
	}
	defer c.Close()
	res := make(chan channelReport, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: a pinned thread dies with its goroutine
		var r channelReport
		local := netip.MustParseAddrPort(c.LocalAddr().String()).Addr()
		r.ifname, _ = InterfaceOfAddr(local)
		r.node = pl.ForLocalAddr(local)
		if r.err = PinThread(r.node); r.err != nil {
			res <- r
			return
		}
		buf, err := Alloc(size, r.node)
		if err != nil {
			r.err = err
			res <- r
			return
		}
		defer Free(buf)
		if _, err := io.ReadFull(c, buf); err != nil {
			r.err = err
			res <- r
			return
		}
		if _, err := c.Write(buf); err != nil {
			r.err = err
			res <- r
			return
		}
		r.tid = unix.Gettid()
		r.cpu, _ = CurrentCPU()
		r.affinity, _ = ThreadCPUs()
		r.status, r.err = TaskStatus(r.tid)
		if r.err == nil {
			r.mode, r.polNodes, r.err = MemPolicy(buf)
		}
		if r.err == nil {
			r.pages, r.err = PageNodes(buf)
		}
		if r.err == nil {
			r.maps, r.err = NumaMaps(Addr(buf))
		}
		if r.err == nil && r.node != Unknown {
			// the channel's ring, created on its thread
			r.ring, r.err = ringOnNode(pl.Topology(), r.node, false)
		}
		res <- r
	}()
	return <-res
}

// TestVMChannels: a client connects over each interface; the channel's
// thread and buffer must sit on that interface's node (auto), on the
// configured node (numa = 0), or nowhere in particular (off, and the NIC
// whose node is unknown).
func TestVMChannels(t *testing.T) {
	nics := vmExpect(t)
	topo, err := System()
	if err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	page := os.Getpagesize()
	for _, pol := range []Policy{{Mode: Auto}, {Mode: Fixed, Node: 0}, {Mode: Off}} {
		pl, err := NewPlacement(pol, topo)
		if err != nil {
			t.Fatal(err)
		}
		for _, nic := range nics {
			want := nic.node
			switch pol.Mode {
			case Off:
				want = Unknown
			case Fixed:
				want = pol.Node
			}
			name := fmt.Sprintf("numa=%s/%s", pol, nic.ifname)
			t.Run(name, func(t *testing.T) {
				ln, err := net.Listen("tcp4", netip.AddrPortFrom(nic.addr, 0).String())
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				rc := make(chan channelReport, 1)
				go func() { rc <- serveOne(ln, pl, size) }()
				cl, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				msg := bytes.Repeat([]byte(nic.ifname+" "), size/len(nic.ifname+" ")+1)[:size]
				go cl.Write(msg)
				back := make([]byte, size)
				if _, err := io.ReadFull(cl, back); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(back, msg) {
					t.Fatal("echo differs")
				}
				r := <-rc
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.ifname != nic.ifname || r.node != want {
					t.Fatalf("channel on %s placed on node %d; want %s, node %d", r.ifname, r.node, nic.ifname, want)
				}
				wantCPUs := allowed
				wantMode, wantPol, wantPolicy := unix.MPOL_DEFAULT, []int(nil), "default"
				if want != Unknown {
					wantCPUs = topo.CPUs(want)
					wantMode, wantPol, wantPolicy = unix.MPOL_BIND, []int{want}, "bind:"+strconv.Itoa(want)
				}
				if !slices.Equal(r.affinity, wantCPUs) || !slices.Equal(r.status.CPUs, wantCPUs) || !slices.Contains(wantCPUs, r.cpu) {
					t.Errorf("thread %d: affinity %v, Cpus_allowed_list %v, on CPU %d; want %v", r.tid, r.affinity, r.status.CPUs, r.cpu, wantCPUs)
				}
				if r.mode != wantMode || !slices.Equal(r.polNodes, wantPol) || r.maps.Policy != wantPolicy {
					t.Errorf("buffer: get_mempolicy %s %v, numa_maps %q; want %s", ModeName(r.mode), r.polNodes, r.maps.Line, wantPolicy)
				}
				if want != Unknown {
					for i, n := range r.pages {
						if n != want {
							t.Fatalf("buffer page %d on node %d, want %d", i, n, want)
						}
					}
					// (>=: the kernel may merge the buffer with a neighbour of the same policy)
					if r.maps.Pages[want] < size/page || len(r.maps.Pages) != 1 {
						t.Errorf("numa_maps pages %v, want %d or more on N%d only", r.maps.Pages, size/page, want)
					}
					if r.ring.skipped == "" {
						checkRing(t, topo, want, r.ring)
					}
				}
				t.Logf("%s node %d: thread %d Cpus_allowed_list %v on CPU %d; buffer %d pages, get_mempolicy %s %v, move_pages nodes %v; numa_maps %q",
					r.ifname, r.node, r.tid, r.status.CPUs, r.cpu, len(r.pages), ModeName(r.mode), r.polNodes, countNodes(r.pages), r.maps.Line)
			})
		}
	}
}

// countNodes summarises move_pages statuses as node:pages.
func countNodes(pages []int) map[int]int {
	m := map[int]int{}
	for _, n := range pages {
		m[n]++
	}
	return m
}
