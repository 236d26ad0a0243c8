package main

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/server"
	"smb3d/transport/tcp"
)

// serve runs smb3d in-process on loopback with 1 MiB READ/WRITE limits.
func serve(t *testing.T) (addr, root string) {
	t.Helper()
	root = t.TempDir()
	users := auth.NewUsers()
	users.Set("u", auth.NTHash("p"))
	srv, err := server.New(server.Config{Users: users, Shares: []server.ShareConfig{{Name: "s", Path: root}},
		Multichannel: true, MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tcp.NewListener(l)) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return l.Addr().String(), root
}

func opts(addr, op string) *options {
	return &options{addrs: []string{addr}, user: "u", pass: "p", share: "s", channels: 2, depth: 4,
		op: op, bs: 3 << 20, size: 12 << 20, files: 50, dir: "d", file: "f.dat", credits: 256, rdmaBuf: 1 << 20}
}

// TestWorkloads runs each workload against smb3d: a 3 MiB block above the
// server's 1 MiB MaxRead/MaxWrite is split into requests, and every op
// does what it reports.
func TestWorkloads(t *testing.T) {
	addr, root := serve(t)
	for _, op := range []string{"seqwrite", "seqread", "randread", "create", "stat", "list", "delete"} {
		o := opts(addr, op)
		if op == "list" {
			o.bs = 64 << 10
		}
		res, err := runSMB(o)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if res.errs != 0 {
			t.Fatalf("%s: %d errors, first %v", op, res.errs, res.firstErr)
		}
		switch op {
		case "seqwrite", "seqread", "randread":
			if o.chunk != 1<<20 {
				t.Errorf("%s: %d-byte requests, want the server's 1 MiB", op, o.chunk)
			}
			if res.bytes != 12<<20 || res.ops != 4 {
				t.Errorf("%s: %d bytes in %d ops, want 12 MiB in 4 blocks", op, res.bytes, res.ops)
			}
			if fi, err := os.Stat(filepath.Join(root, "f.dat")); err != nil || fi.Size() != 12<<20 {
				t.Errorf("%s: the file: %v, %v", op, fi, err)
			}
		case "create", "stat", "delete":
			if res.ops != 50 {
				t.Errorf("%s: %d ops, want 50", op, res.ops)
			}
			ents, _ := os.ReadDir(filepath.Join(root, "d"))
			want := 50
			if op == "delete" {
				want = 0
			}
			if len(ents) != want {
				t.Errorf("after %s: %d files in the directory, want %d", op, len(ents), want)
			}
		case "list":
			if n := listed.Load(); n < 52 { // 50 files, "." and ".."
				t.Errorf("list: %d entries, want at least 52", n)
			}
		}
	}
}

// TestRDMAWithoutDevice: -rdma without the rdma build (or a device)
// fails with the reason, not with a hang.
func TestRDMAWithoutDevice(t *testing.T) {
	o := opts("127.0.0.1:1", "seqread")
	o.rdma = true
	if _, err := runSMB(o); err == nil {
		t.Fatal("an SMB-Direct session to 127.0.0.1:1 was set up")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "4K": 4096, "1M": 1 << 20, "1MiB": 1 << 20, "8m": 8 << 20, "2G": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
