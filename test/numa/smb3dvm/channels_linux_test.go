// Package smb3dvm holds the NUMA integration test that runs smb3d itself in
// the two-node guest (test/numa/vm-test.sh): one client per NIC, and each
// channel's io_uring ring thread must sit on its interface's node.
package smb3dvm

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hirochachacha/go-smb2"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/server"
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
	for _, n := range nics {
		l, fallback, err := tcp.ListenTransport(net.JoinHostPort(n.addr.String(), "4450"), tcp.TransportURing, tcp.URingConfig{Placement: pl})
		if err != nil {
			t.Fatal(err)
		}
		if fallback != nil {
			t.Fatalf("io_uring unavailable in the guest: %v", fallback)
		}
		go srv.Serve(l)
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
}
