//go:build linux

package netif

import (
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestDiscoverNetns makes its own network namespace with two dummy
// interfaces and checks what Discover reports there: the loopback and a
// down interface are skipped, IPv6 link-local addresses are not advertised.
func TestDiscoverNetns(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Skipf("netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Skipf("cannot create a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)

	lo, _ := netlink.LinkByName("lo")
	netlink.LinkSetUp(lo)
	add := func(name, addr string, up bool) {
		d := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(d); err != nil {
			t.Skipf("cannot add a dummy link: %v", err)
		}
		l, _ := netlink.LinkByName(name)
		a, _ := netlink.ParseAddr(addr)
		if err := netlink.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		if up {
			netlink.LinkSetUp(l)
		}
	}
	add("dmc1", "10.99.1.1/24", true)
	add("dmc2", "10.99.2.1/24", true)
	add("dmc3", "10.99.3.1/24", false)
	l2, _ := netlink.LinkByName("dmc2")
	a6, _ := netlink.ParseAddr("fe80::1234/64")
	a6.Flags = 0
	netlink.AddrAdd(l2, a6)

	ifs, err := Discover(Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]Interface{}
	for _, i := range ifs {
		names[i.Name] = i
	}
	if _, ok := names["lo"]; ok {
		t.Error("loopback advertised")
	}
	if _, ok := names["dmc3"]; ok {
		t.Error("down interface advertised")
	}
	for _, n := range []string{"dmc1", "dmc2"} {
		i, ok := names[n]
		if !ok {
			t.Fatalf("%s missing from %+v", n, ifs)
		}
		for _, a := range i.Addrs {
			if a.IsLinkLocalUnicast() {
				t.Errorf("%s: link-local %v advertised", n, a)
			}
		}
		l, _ := net.InterfaceByName(n)
		if i.Index != l.Index {
			t.Errorf("%s index %d, want %d", n, i.Index, l.Index)
		}
	}
	if got := names["dmc1"].Addrs; len(got) != 1 || got[0] != netip.MustParseAddr("10.99.1.1") {
		t.Errorf("dmc1 addrs %v", got)
	}
}
