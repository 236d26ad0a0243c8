package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/client"
	"smb3d/smb3/crypt"
	"smb3d/smb3/server"
	"smb3d/smb3/wire"
	"smb3d/transport/tcp"
)

const (
	testUser  = "alice"
	testPass  = "Secret.123"
	testShare = "data"
)

// startServer runs smb3d in-process on 127.0.0.1 and returns its address
// and share directory.
func startServer(t *testing.T, opts ...func(*server.Config)) (addr, root string) {
	t.Helper()
	root = t.TempDir()
	users := auth.NewUsers()
	users.Set(testUser, auth.NTHash(testPass))
	level := slog.LevelError + 1
	if os.Getenv("SMB3D_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	cfg := server.Config{
		Users:        users,
		Shares:       []server.ShareConfig{{Name: testShare, Path: root}},
		Multichannel: true,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
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
			t.Errorf("Serve did not return after Close")
		}
	})
	return l.Addr().String(), root
}

func dial(t *testing.T, addr string, cfg client.Config) *client.Session {
	t.Helper()
	cfg.User, cfg.Password = testUser, testPass
	s, err := client.Dial(context.Background(), addr, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exercise writes and reads a file with many requests in flight, then
// stats, lists and removes.
func exercise(t *testing.T, s *client.Session, root string, name string) {
	t.Helper()
	tr, err := s.TreeConnect(testShare)
	if err != nil {
		t.Fatalf("tree connect: %v", err)
	}
	const bs, n = 1 << 20, 12
	data := make([]byte, bs*n)
	rand.Read(data)
	f, err := tr.OpenWrite(name)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if w, err := f.WriteAt(data[i*bs:(i+1)*bs], int64(i*bs)); err != nil || w != bs {
				errs <- fmt.Errorf("write %d: %d, %v", i, w, err)
			}
		}(i)
	}
	wg.Wait()
	back := make([]byte, len(data))
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if r, err := f.ReadAt(back[i*bs:(i+1)*bs], int64(i*bs)); err != nil || r != bs {
				errs <- fmt.Errorf("read %d: %d, %v", i, r, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !bytes.Equal(back, data) {
		t.Fatalf("read back differs")
	}
	if _, err := f.ReadAt(make([]byte, 10), int64(len(data))); err != io.EOF {
		t.Errorf("read past EOF: %v, want io.EOF", err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size != int64(len(data)) {
		t.Errorf("handle stat: %+v, %v", fi, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	onDisk, err := os.ReadFile(filepath.Join(root, name))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("on disk: %d bytes, %v", len(onDisk), err)
	}
	fi, err := tr.Stat(name)
	if err != nil || fi.Size != int64(len(data)) || fi.IsDir() {
		t.Fatalf("stat: %+v, %v", fi, err)
	}
	dir := name + ".d"
	if err := tr.Mkdir(dir); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	const files = 300
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := tr.Touch(fmt.Sprintf(`%s\f%05d`, dir, i)); err != nil {
				t.Errorf("touch %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	d, err := tr.OpenDir(dir)
	if err != nil {
		t.Fatalf("open dir: %v", err)
	}
	seen := map[string]bool{}
	cnt, err := d.ReadDir(4096, func(n string) { seen[n] = true }) // small buffer: many round trips
	if err != nil || cnt != files+2 || !seen["f00299"] || !seen[".."] {
		t.Errorf("readdir: %d entries, %v", cnt, err)
	}
	d.Close()
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := tr.Remove(fmt.Sprintf(`%s\f%05d`, dir, i)); err != nil {
				t.Errorf("remove %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if ents, _ := os.ReadDir(filepath.Join(root, dir)); len(ents) != 0 {
		t.Errorf("%d files left after remove", len(ents))
	}
	if err := tr.Remove(name); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := tr.Stat(name); !client.IsStatus(err, wire.StatusObjectNameNotFound) {
		t.Errorf("stat after remove: %v", err)
	}
}

func TestPlain(t *testing.T) {
	addr, root := startServer(t)
	s := dial(t, addr, client.Config{})
	exercise(t, s, root, "plain.bin")
	if err := s.Logoff(); err != nil {
		t.Errorf("logoff: %v", err)
	}
	if _, err := s.TreeConnect(testShare); !client.IsStatus(err, wire.StatusUserSessionDeleted) {
		t.Errorf("tree connect after logoff: %v, want STATUS_USER_SESSION_DELETED", err)
	}
}

func TestSigned(t *testing.T) {
	addr, root := startServer(t)
	s := dial(t, addr, client.Config{Sign: true})
	if !s.Signing() || s.SigningAlgorithm() != crypt.SigningAESGMAC {
		t.Errorf("signing %v alg %d, want GMAC", s.Signing(), s.SigningAlgorithm())
	}
	exercise(t, s, root, "signed.bin")
}

func TestEncrypted(t *testing.T) {
	addr, root := startServer(t)
	s := dial(t, addr, client.Config{Encrypt: true})
	exercise(t, s, root, "sealed.bin")
}

func TestServerRequiresEncryption(t *testing.T) {
	addr, root := startServer(t, func(c *server.Config) { c.EncryptData = true })
	s := dial(t, addr, client.Config{})
	if !s.Encrypting() {
		t.Fatalf("session does not encrypt though the server requires it")
	}
	exercise(t, s, root, "required.bin")
}

func TestWrongPassword(t *testing.T) {
	addr, _ := startServer(t)
	_, err := client.Dial(context.Background(), addr, client.Config{User: testUser, Password: "nope"})
	if !client.IsStatus(err, wire.StatusLogonFailure) {
		t.Fatalf("dial with a wrong password: %v, want STATUS_LOGON_FAILURE", err)
	}
}

func TestMultichannel(t *testing.T) {
	for _, sign := range []bool{false, true} {
		t.Run(fmt.Sprintf("sign=%v", sign), func(t *testing.T) {
			addr, root := startServer(t)
			s := dial(t, addr, client.Config{Sign: sign})
			for i := 0; i < 3; i++ {
				if err := s.Bind(context.Background(), addr); err != nil {
					t.Fatalf("bind %d: %v", i, err)
				}
			}
			if s.Channels() != 4 {
				t.Fatalf("%d channels", s.Channels())
			}
			exercise(t, s, root, "multi.bin")
		})
	}
}

func TestBindRefusedWithoutMultichannel(t *testing.T) {
	addr, _ := startServer(t, func(c *server.Config) { c.Multichannel = false })
	s := dial(t, addr, client.Config{})
	if err := s.Bind(context.Background(), addr); err == nil {
		t.Fatalf("bind succeeded on a server without multichannel")
	}
}

// TestCreditWindow keeps far more 1 MiB reads (16 credits each) wanted in
// flight than the server grants credits for: the client must wait for
// credits, never overrun the window.
func TestCreditWindow(t *testing.T) {
	addr, root := startServer(t, func(c *server.Config) { c.MaxCredits = 64 })
	s := dial(t, addr, client.Config{Credits: 4096})
	if err := s.Bind(context.Background(), addr); err != nil {
		t.Fatalf("bind: %v", err)
	}
	tr, err := s.TreeConnect(testShare)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 8<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(root, "w.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := tr.OpenRead("w.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			off := int64(i%8) << 20
			if n, err := f.ReadAt(buf, off); err != nil || n != len(buf) || !bytes.Equal(buf, data[off:off+1<<20]) {
				t.Errorf("read %d: %d, %v", i, n, err)
			}
		}(i)
	}
	wg.Wait()
}
