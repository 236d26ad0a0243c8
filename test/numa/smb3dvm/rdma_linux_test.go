//go:build rdma && cgo && linux

package smb3dvm

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/client"
	"smb3d/smb3/server"
	"smb3d/transport/smbdirect"
)

// TestSMB3DRDMAChannelsOnTheirNodes: smb3d with numa = auto listens for
// SMB-Direct on each NIC's address (an rxe device over each NIC); smb3's
// client writes and reads back 4 MiB by RDMA over each. Each RDMA channel
// must be on its NIC's node in the status; its receive and send buffers and
// its device's RDMA buffer pool must be bound there with every page on it;
// its completion loop must run on a thread pinned to the node's CPUs. The
// channel on the NIC without a node is not placed.
func TestSMB3DRDMAChannelsOnTheirNodes(t *testing.T) {
	nics := guestNICs(t)
	topo, err := numa.System()
	if err != nil {
		t.Fatal(err)
	}
	pl, err := numa.NewPlacement(numa.Policy{}, topo)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range topo.RDMA {
		t.Logf("RDMA device %s over %s: node %d", d.Name, d.Netdev, d.Node)
	}
	users := auth.NewUsers()
	users.Set("vm", auth.NTHash("vm-pass"))
	root := t.TempDir()
	srv, err := server.New(server.Config{Users: users, Shares: []server.ShareConfig{{Name: "share", Path: root}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var recorders []*recordingListener
	for _, n := range nics {
		l, err := smbdirect.Listen(net.JoinHostPort(n.addr.String(), strconv.Itoa(smbdirect.Port)),
			smbdirect.Options{Placement: pl, NegotiateTimeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", n.ifname, err)
		}
		rl := &recordingListener{Listener: l}
		recorders = append(recorders, rl)
		go srv.Serve(rl)
	}
	data := make([]byte, 4<<20)
	rand.Read(data)
	var sessions []*client.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for _, n := range nics {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		s, err := client.Dial(ctx, n.addr.String(), client.Config{User: "vm", Password: "vm-pass", RDMA: true})
		cancel()
		if err != nil {
			t.Fatalf("%s: dial by RDMA: %v", n.ifname, err)
		}
		sessions = append(sessions, s)
		tr, err := s.TreeConnect("share")
		if err != nil {
			t.Fatal(err)
		}
		f, err := tr.OpenWrite(n.ifname + ".rdma")
		if err != nil {
			t.Fatal(err)
		}
		before := smbdirect.Counters()
		bs := min(1<<20, s.MaxWrite(), s.MaxRead())
		for off := 0; off < len(data); off += bs {
			if _, err := f.WriteAt(data[off:off+bs], int64(off)); err != nil {
				t.Fatalf("%s: write: %v", n.ifname, err)
			}
		}
		got := make([]byte, len(data))
		for off := 0; off < len(data); off += bs {
			if k, err := f.ReadAt(got[off:off+bs], int64(off)); err != nil || k != bs {
				t.Fatalf("%s: read: %d, %v", n.ifname, k, err)
			}
		}
		f.Close()
		after := smbdirect.Counters()
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: read back differs", n.ifname)
		}
		onDisk, _ := os.ReadFile(filepath.Join(root, n.ifname+".rdma"))
		if !bytes.Equal(onDisk, data) {
			t.Fatalf("%s: file on disk differs", n.ifname)
		}
		t.Logf("%s: 4 MiB written and read back, %d bytes pulled and %d pushed by RDMA", n.ifname,
			after.RDMAReadBytes-before.RDMAReadBytes, after.RDMAWriteBytes-before.RDMAWriteBytes)
	}
	// The status: each NIC's channel, by SMB-Direct, on its node.
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
				t.Logf("%s (%s): status: channel %s transport %s node %d, want %d", n.ifname, n.addr, ch.Remote, ch.Transport, ch.NUMANode, n.node)
				if ch.Transport != "smbdirect" || ch.NUMANode != n.node {
					t.Errorf("%s: status says %s on node %d, want smbdirect on %d", n.ifname, ch.Transport, ch.NUMANode, n.node)
				}
			}
		}
		if !found {
			t.Errorf("%s: no channel in the status", n.ifname)
		}
	}
	// Memory and completion thread of each channel.
	for _, rl := range recorders {
		for _, c := range rl.accepted() {
			checkNodeMemory(t, c, nics)
			sc := c.(*smbdirect.Conn)
			tid := sc.CompletionThread()
			node := sc.NUMANode()
			if node == numa.Unknown {
				if tid != 0 {
					t.Errorf("%s: unplaced channel pinned its completion thread %d", c.LocalAddr(), tid)
				}
				continue
			}
			nd, _ := topo.Node(node)
			tp, err := numa.TaskStatus(tid)
			if tid == 0 || err != nil || !slices.Equal(tp.CPUs, nd.CPUs) {
				t.Errorf("%s: completion thread %d on CPUs %v (%v), want node %d's %v", c.LocalAddr(), tid, tp.CPUs, err, node, nd.CPUs)
				continue
			}
			t.Logf("%s: completion thread %d Cpus_allowed_list %v (node %d)", c.LocalAddr(), tid, tp.CPUs, node)
		}
	}
}
