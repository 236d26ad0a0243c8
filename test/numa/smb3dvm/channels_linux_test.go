// Package smb3dvm holds the NUMA integration test that runs smb3d itself in
// the two-node guest (test/numa/vm-test.sh): one client per NIC, and each
// channel's io_uring ring thread must sit on its interface's node.
package smb3dvm

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hirochachacha/go-smb2"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/server"
	"smb3d/transport"
	"smb3d/transport/tcp"
)

type nic struct {
	ifname string
	addr   netip.Addr
	node   int
}

func guestNICs(t *testing.T) []nic {
	if os.Getenv("NUMA_VM") != "1" {
		t.Skip("not in the two-node guest (test/numa/vm-test.sh sets NUMA_VM=1)")
	}
	var out []nic
	ents, _ := os.ReadDir("/sys/class/net")
	for _, kv := range strings.Fields(os.Getenv("NUMA_EXPECT")) {
		mac, node, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(node)
		if err != nil {
			t.Fatalf("NUMA_EXPECT: bad %q", kv)
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join("/sys/class/net", e.Name(), "device")); err != nil {
				continue
			}
			b, _ := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "address"))
			if strings.TrimSpace(string(b)) != strings.ToLower(mac) {
				continue
			}
			ifc, err := net.InterfaceByName(e.Name())
			if err != nil {
				t.Fatal(err)
			}
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
					out = append(out, nic{ifname: e.Name(), addr: p.Addr(), node: n})
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no NIC from NUMA_EXPECT found")
	}
	return out
}

// threadsOn counts this process's threads whose allowed CPUs are exactly cpus.
func threadsOn(t *testing.T, cpus string) int {
	tasks, _ := os.ReadDir("/proc/self/task")
	n := 0
	for _, tk := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", tk.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) == cpus {
				n++
			}
		}
	}
	return n
}

// TestSMB3DChannelsOnTheirNodes: smb3d with numa = auto serves a go-smb2
// client on each NIC; `smb3d status` reports each channel on its NIC's node
// (-1 for the NIC without one), and a ring thread is pinned to each node's
// CPUs.
func TestSMB3DChannelsOnTheirNodes(t *testing.T) {
	nics := guestNICs(t)
	topo, err := numa.System()
	if err != nil {
		t.Fatal(err)
	}
	pl, err := numa.NewPlacement(numa.Policy{}, topo)
	if err != nil {
		t.Fatal(err)
	}
	users := auth.NewUsers()
	users.Set("vm", auth.NTHash("vm-pass"))
	srv, err := server.New(server.Config{Users: users, Shares: []server.ShareConfig{{Name: "share", Path: t.TempDir()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var recorders []*recordingListener
	for _, n := range nics {
		l, fallback, err := tcp.ListenTransport(net.JoinHostPort(n.addr.String(), "4450"), tcp.TransportURing, tcp.URingConfig{Placement: pl})
		if err != nil {
			t.Fatal(err)
		}
		if fallback != nil {
			t.Fatalf("io_uring unavailable in the guest: %v", fallback)
		}
		rl := &recordingListener{Listener: l}
		recorders = append(recorders, rl)
		go srv.Serve(rl)
	}
	var sessions []*smb2.Session
	for _, n := range nics {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(n.addr.String(), "4450"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s, err := (&smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: "vm", Password: "vm-pass"}}).Dial(c)
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
		fs, err := s.Mount("share")
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.WriteFile(n.ifname+".bin", make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, s := range sessions {
			s.Logoff()
		}
	}()
	st := srv.Status()
	for _, n := range nics {
		found := false
		for _, s := range st.Sessions {
			for _, ch := range s.Channels {
				ap, err := netip.ParseAddrPort(ch.Local)
				if err != nil || ap.Addr() != n.addr {
					continue
				}
				found = true
				t.Logf("%s (%s): channel %s transport %s node %d, want %d", n.ifname, n.addr, ch.Remote, ch.Transport, ch.NUMANode, n.node)
				if ch.Transport != "tcp-uring" {
					t.Errorf("%s: transport %s, want tcp-uring", n.ifname, ch.Transport)
				}
				if ch.NUMANode != n.node {
					t.Errorf("%s: channel on node %d, want %d", n.ifname, ch.NUMANode, n.node)
				}
			}
		}
		if !found {
			t.Errorf("%s: no channel in the status", n.ifname)
		}
		if n.node >= 0 {
			cpus := ""
			if nd, ok := topo.Node(n.node); ok {
				var parts []string
				for _, c := range nd.CPUs {
					parts = append(parts, strconv.Itoa(c))
				}
				cpus = strings.Join(parts, ",")
			}
			if c := threadsOn(t, cpus); c == 0 {
				t.Errorf("%s: no thread pinned to node %d's CPUs (%s)", n.ifname, n.node, cpus)
			} else {
				t.Logf("%s: %d thread(s) pinned to CPUs %s", n.ifname, c, cpus)
			}
		}
	}
	// The channels' buffers: each placed channel's staging buffer and its
	// large messages (the 1 MiB WRITE above) are mappings bound to its
	// NIC's node with every page there; an unplaced channel has none.
	for _, rl := range recorders {
		for _, c := range rl.accepted() {
			mem := checkNodeMemory(t, c, nics)
			if len(mem) > 0 && !slices.ContainsFunc(mem, func(a numa.Allocation) bool { return a.Len >= 1<<20 }) {
				t.Errorf("%s: no message buffer (1 MiB WRITE) among the node-bound mappings %+v", c.LocalAddr(), mem)
			}
		}
	}
}

// recordingListener keeps what it accepted, for the checks of each
// channel's memory.
type recordingListener struct {
	transport.Listener
	mu    sync.Mutex
	conns []transport.Conn
}

func (l *recordingListener) Accept() (transport.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *recordingListener) accepted() []transport.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.conns)
}

// nodeConn is a placed channel (tcp-uring's URingConn, smbdirect's Conn).
type nodeConn interface {
	NUMANode() int
	NodeMemory() []numa.Allocation
}

// checkNodeMemory checks channel c against the node of the NIC whose
// address it was accepted on: every page of every mapping NodeMemory lists
// is on that node (move_pages), and /proc/self/numa_maps shows the mapping
// bound to it; an unplaced channel lists none. It returns the mappings.
func checkNodeMemory(t *testing.T, c transport.Conn, nics []nic) []numa.Allocation {
	t.Helper()
	local := c.LocalAddr().String()
	want := numa.Unknown
	name := local
	for _, n := range nics {
		if ap, err := netip.ParseAddrPort(local); err == nil && ap.Addr() == n.addr {
			want, name = n.node, n.ifname
		}
	}
	nc, ok := c.(nodeConn)
	if !ok {
		t.Errorf("%s: %s channel reports no node", name, c.Name())
		return nil
	}
	mem := nc.NodeMemory()
	if nc.NUMANode() != want {
		t.Errorf("%s: %s channel on node %d, want %d", name, c.Name(), nc.NUMANode(), want)
	}
	if want == numa.Unknown {
		if len(mem) != 0 {
			t.Errorf("%s: unplaced %s channel has node-bound memory %+v", name, c.Name(), mem)
		}
		return nil
	}
	if len(mem) == 0 {
		t.Errorf("%s: %s channel on node %d lists no node-bound memory", name, c.Name(), want)
	}
	total := 0
	for _, a := range mem {
		pages, err := numa.PageNodesAt(a.Addr, a.Len)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[int]int{}
		for _, p := range pages {
			counts[p]++
		}
		e, err := numa.NumaMaps(a.Addr)
		if err != nil {
			t.Errorf("%s: numa_maps for %#x: %v", name, a.Addr, err)
		}
		if a.Node != want || len(counts) != 1 || counts[want] != len(pages) || e.Policy != "bind:"+strconv.Itoa(want) {
			t.Errorf("%s: %s mapping %#x+%d (node %d): move_pages %v, numa_maps %q; want every page on node %d, bind:%d",
				name, c.Name(), a.Addr, a.Len, a.Node, counts, e.Line, want, want)
		}
		total += a.Len
	}
	t.Logf("%s: %s channel on node %d: %d node-bound mappings, %d KiB, every page on node %d (move_pages), numa_maps bind:%d",
		name, c.Name(), want, len(mem), total>>10, want, want)
	return mem
}
