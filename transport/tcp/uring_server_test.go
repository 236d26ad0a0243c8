//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	smb2 "github.com/hirochachacha/go-smb2"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/server"
	"smb3d/transport"
	"smb3d/transport/tcp"
	"smb3d/transport/tcp/uring"
)

const (
	testUser  = "alice"
	testPass  = "Corr3ct-Horse"
	testShare = "share"
)

// transports are the TCP transports a test runs over: the netpoller, io_uring
// with a ring per connection, and io_uring with connections sharing one ring.
var transports = []struct {
	name string
	cfg  *tcp.URingConfig // nil: netpoller
}{
	{"netpoll", nil},
	{"uring", &tcp.URingConfig{}}, // registered receive buffers (READ_FIXED)
	{"uring-shared", &tcp.URingConfig{Rings: 1}},
	{"uring-placed", &tcp.URingConfig{Placement: placeOnFirstNode()}},
	// Large messages by RECV into pooled buffers instead.
	{"uring-recv", &tcp.URingConfig{NoFixedRecv: true}},
}

// placeOnFirstNode places every connection on this machine's first node
// (numa = N), so the server runs over node-bound buffers even on one node;
// nil (no placement) when the machine shows no topology.
func placeOnFirstNode() *numa.Placement {
	topo, err := numa.System()
	if err != nil || len(topo.Nodes) == 0 {
		return nil
	}
	pl, err := numa.NewPlacement(numa.Policy{Mode: numa.Fixed, Node: topo.Nodes[0].ID}, topo)
	if err != nil {
		return nil
	}
	return pl
}

// served is a running server.
type served struct {
	addr string
	root string             // the share's directory
	ul   *tcp.URingListener // nil over the netpoller
	srv  *server.Server
}

// serve runs the real server over a listener of the named transport.
func serve(t testing.TB, cfg *tcp.URingConfig, mod func(*server.Config)) served {
	t.Helper()
	root := t.TempDir()
	users := auth.NewUsers()
	users.Set(testUser, auth.NTHash(testPass))
	sc := server.Config{
		Users:  users,
		Shares: []server.ShareConfig{{Name: testShare, Path: root}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&sc)
	}
	srv, err := server.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l transport.Listener = tcp.NewListener(ln)
	var ul *tcp.URingListener
	if cfg != nil {
		ul, err = tcp.NewURingListener(ln, *cfg)
		if errors.Is(err, uring.ErrNotSupported) {
			ln.Close()
			t.Skipf("io_uring: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		l = ul
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return served{ln.Addr().String(), root, ul, srv}
}

func mount(t testing.TB, addr string, neg smb2.Negotiator) *smb2.Share {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	d := &smb2.Dialer{Negotiator: neg, Initiator: &smb2.NTLMInitiator{User: testUser, Password: testPass}}
	s, err := d.Dial(conn)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { s.Logoff() })
	fs, err := s.Mount(testShare)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { fs.Umount() })
	return fs
}

// TestServerOverTransports writes a 64 MiB file through the real server with
// go-smb2 and reads it back byte-identical, over each transport, unsigned,
// signed and encrypted.
func TestServerOverTransports(t *testing.T) {
	size := 64 << 20
	if testing.Short() {
		size = 4 << 20
	}
	data := make([]byte, size)
	rand.Read(data)
	modes := []struct {
		name string
		mod  func(*server.Config)
		neg  smb2.Negotiator
	}{
		{"plain", nil, smb2.Negotiator{}},
		{"signed", func(c *server.Config) { c.SigningRequired = true }, smb2.Negotiator{RequireMessageSigning: true}},
		{"encrypted", func(c *server.Config) { c.EncryptData = true }, smb2.Negotiator{}},
	}
	for _, tr := range transports {
		for _, m := range modes {
			t.Run(tr.name+"/"+m.name, func(t *testing.T) {
				sv := serve(t, tr.cfg, m.mod)
				addr, root := sv.addr, sv.root
				fs := mount(t, addr, m.neg)
				f, err := fs.Create("big.bin")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write(data); err != nil {
					t.Fatalf("write: %v", err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				onDisk, err := os.ReadFile(filepath.Join(root, "big.bin"))
				if err != nil || !bytes.Equal(onDisk, data) {
					t.Fatalf("on disk: %d bytes, differ, %v", len(onDisk), err)
				}
				if tr.cfg != nil && !tr.cfg.NoFixedRecv {
					if msgs, _ := sv.ul.FixedRecvStats(); msgs == 0 {
						t.Error("no WRITE received into a registered buffer")
					}
				}
				f, err = fs.Open("big.bin")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				got, err := io.ReadAll(f)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(data))
				}
			})
		}
	}
}

// TestServerCloseInFlight drops client connections in the middle of large
// READs and WRITEs (go-smb2, signed, so copied; smbclient, unsigned, so
// spliced when the server can): the server keeps serving and shuts down
// cleanly.
func TestServerCloseInFlight(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			sv := serve(t, tr.cfg, nil)
			addr, root := sv.addr, sv.root
			data := make([]byte, 32<<20)
			rand.Read(data)
			if err := os.WriteFile(filepath.Join(root, "big.bin"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: testUser, Password: testPass}}
				s, err := d.Dial(conn)
				if err != nil {
					t.Fatal(err)
				}
				fs, err := s.Mount(testShare)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					if i%2 == 0 {
						fs.ReadFile("big.bin")
					} else {
						fs.WriteFile("w.bin", data, 0o644)
					}
				}()
				time.Sleep(time.Duration(20+i*30) * time.Millisecond)
				conn.Close()
				<-done
			}
			// smbclient killed in the middle of a get.
			if _, err := exec.LookPath("smbclient"); err == nil {
				for i := range 2 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(150+100*i)*time.Millisecond)
					smbclientCtx(ctx, t, addr, "get big.bin /dev/null")
					cancel()
				}
			}
			// Still serving.
			fs := mount(t, addr, smb2.Negotiator{})
			got, err := fs.ReadFile("big.bin")
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read after the drops: %d bytes, %v", len(got), err)
			}
		})
	}
}
