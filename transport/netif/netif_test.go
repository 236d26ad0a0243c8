package netif

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"smb3d/smb3/fscc"
)

func TestParseOverride(t *testing.T) {
	o, err := ParseOverride("eth1;capability=RSS,capability=RDMA,speed=10000000000")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "eth1" || o.RSS == nil || !*o.RSS || o.RDMA == nil || !*o.RDMA || o.Speed != 10_000_000_000 {
		t.Fatalf("got %+v", o)
	}
	for _, bad := range []string{"", ";speed=1", "eth0;speed=x", "eth0;capability=FOO", "eth0;colour=red", "eth0;speed"} {
		if _, err := ParseOverride(bad); err == nil {
			t.Errorf("ParseOverride(%q) succeeded", bad)
		}
	}
}

// fakeSys builds a sysfs tree: eth0 on a PCI device with numa_node 1 and four
// rx queues; eth1 a virtio device under a PCI parent with numa_node -1.
func fakeSys(t *testing.T) string {
	root := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wr := func(p, v string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("devices/pci0000:20/0000:20:01.0/virtio3")
	wr("devices/pci0000:20/0000:20:01.0/numa_node", "1\n")
	mk("devices/pci0000:00/0000:00:03.0/virtio1")
	wr("devices/pci0000:00/0000:00:03.0/numa_node", "-1\n")
	mk("class/net/eth0/queues/rx-0")
	mk("class/net/eth0/queues/rx-1")
	mk("class/net/eth0/queues/rx-2")
	mk("class/net/eth0/queues/rx-3")
	mk("class/net/eth1/queues/rx-0")
	mk("class/net/dummy0")
	wr("class/net/eth0/speed", "25000\n")
	wr("class/net/eth1/speed", "-1\n")
	os.Symlink(filepath.Join(root, "devices/pci0000:20/0000:20:01.0/virtio3"), filepath.Join(root, "class/net/eth0/device"))
	os.Symlink(filepath.Join(root, "devices/pci0000:00/0000:00:03.0/virtio1"), filepath.Join(root, "class/net/eth1/device"))
	return root
}

func TestSysfs(t *testing.T) {
	sys := fakeSys(t)
	if n := NUMANode(sys, "eth0"); n != 1 {
		t.Errorf("NUMANode(eth0) = %d, want 1 (from the PCI parent)", n)
	}
	if n := NUMANode(sys, "eth1"); n != -1 {
		t.Errorf("NUMANode(eth1) = %d, want -1", n)
	}
	if n := NUMANode(sys, "dummy0"); n != -1 {
		t.Errorf("NUMANode(dummy0) = %d, want -1 (no device)", n)
	}
	if q := rxQueues(sys, "eth0"); q != 4 {
		t.Errorf("rxQueues(eth0) = %d", q)
	}
	if q := rxQueues(sys, "eth1"); q != 1 {
		t.Errorf("rxQueues(eth1) = %d", q)
	}
	if s := sysSpeed(sys, "eth0"); s != 25_000_000_000 {
		t.Errorf("sysSpeed(eth0) = %d", s)
	}
	if s := sysSpeed(sys, "eth1"); s != 0 {
		t.Errorf("sysSpeed(eth1) = %d, want 0 for unknown", s)
	}
}

func TestAdvertisable(t *testing.T) {
	for a, want := range map[string]bool{
		"192.0.2.1": true, "fd00::1": true, "2001:db8::1": true,
		"127.0.0.1": false, "::1": false, "fe80::1": false, "169.254.1.1": false, "0.0.0.0": false,
	} {
		if got := advertisable(netip.MustParseAddr(a)); got != want {
			t.Errorf("advertisable(%s) = %v", a, got)
		}
	}
}

func TestToFSCC(t *testing.T) {
	yes := true
	ifs := []Interface{
		{Name: "eth0", Index: 4, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fd00::2")}, Speed: 0, RSS: true},
		{Name: "eth1", Index: 7, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.2")}, Speed: 100_000_000_000, RDMADevices: []string{"rxe0"}},
	}
	apply(ifs, []Override{{Name: "eth1", RDMA: &yes}})
	got := ToFSCC(ifs)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if got[0].IfIndex != 4 || got[1].IfIndex != 4 || got[2].IfIndex != 7 {
		t.Errorf("indexes %d %d %d: addresses of one interface must share its index", got[0].IfIndex, got[1].IfIndex, got[2].IfIndex)
	}
	if got[0].LinkSpeed != DefaultSpeed || got[2].LinkSpeed != 100_000_000_000 {
		t.Errorf("speeds %d %d", got[0].LinkSpeed, got[2].LinkSpeed)
	}
	if got[0].Capability != fscc.InterfaceCapRSS || got[2].Capability != fscc.InterfaceCapRDMA {
		t.Errorf("capabilities %#x %#x", got[0].Capability, got[2].Capability)
	}
	b, err := fscc.AppendNetworkInterfaceInfo(nil, got)
	if err != nil || len(b) != 3*fscc.NetworkInterfaceInfoSize {
		t.Fatalf("encode: %d bytes, %v", len(b), err)
	}
}
