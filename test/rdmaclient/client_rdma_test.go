//go:build rdma && cgo && linux

// Package rdmaclient_test is the smoke test of smb3/client over SMB-Direct
// on a real RDMA device: rxe in the soft-RoCE guest (make test-rdma runs it
// through test/soft-roce/run-tests.sh). smb3d serves in-process on an
// SMB-Direct listener; the client writes and reads back a file in 1 MiB
// blocks with several requests in flight, which must travel by RDMA (the
// transport's counters), then does the same inline on a signed session.
// Outside the guest it skips.
package rdmaclient_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/client"
	"smb3d/smb3/server"
	"smb3d/transport/smbdirect"
)

const (
	user, pass, share = "alice", "Secret.123", "data"
)

func serve(t *testing.T) (addr, root string) {
	t.Helper()
	ip := os.Getenv("RXE_IP")
	if ip == "" {
		if os.Getenv("SOFTROCE_GUEST") != "" {
			t.Fatal("RXE_IP not set in the soft-RoCE guest")
		}
		t.Skip("no RDMA device here (run in the soft-RoCE VM: test/soft-roce/run-tests.sh)")
	}
	root = t.TempDir()
	users := auth.NewUsers()
	users.Set(user, auth.NTHash(pass))
	srv, err := server.New(server.Config{Users: users, Shares: []server.ShareConfig{{Name: share, Path: root}},
		Multichannel: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := smbdirect.Listen(ip+":0", smbdirect.Options{NegotiateTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ln.Addr().String(), root
}

func TestRXEClientReadWrite(t *testing.T) {
	addr, root := serve(t)
	for _, tc := range []struct {
		name     string
		sign     bool
		channels int
		size     int
	}{
		{"rdma", false, 1, 32 << 20},
		{"rdma-2ch", false, 2, 16 << 20},
		{"signed-inline", true, 1, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			t0 := time.Now()
			s, err := client.Dial(ctx, addr, client.Config{User: user, Password: pass, Sign: tc.sign, RDMA: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			t.Logf("session set up in %v", time.Since(t0).Round(time.Millisecond))
			for range tc.channels - 1 {
				if err := s.Bind(ctx, addr); err != nil {
					t.Fatal("bind:", err)
				}
			}
			tr, err := s.TreeConnect(share)
			if err != nil {
				t.Fatal(err)
			}
			name := tc.name + ".dat"
			f, err := tr.OpenWrite(name)
			if err != nil {
				t.Fatal(err)
			}
			bs := min(1<<20, s.MaxWrite(), s.MaxRead())
			want := make([]byte, tc.size)
			rand.Read(want)
			before := smbdirect.Counters()
			start := time.Now()
			if err := parallel(bs, tc.size, func(off, n int) error {
				_, err := f.WriteAt(want[off:off+n], int64(off))
				return err
			}); err != nil {
				t.Fatal("write:", err)
			}
			wrote := time.Since(start)
			onDisk, err := os.ReadFile(filepath.Join(root, name))
			if err != nil || !bytes.Equal(onDisk, want) {
				t.Fatalf("the file on the server (%d bytes, %v) differs from what was written", len(onDisk), err)
			}
			mid := smbdirect.Counters()
			got := make([]byte, tc.size)
			start = time.Now()
			if err := parallel(bs, tc.size, func(off, n int) error {
				k, err := f.ReadAt(got[off:off+n], int64(off))
				if err == nil && k != n {
					err = errors.New("short read")
				}
				return err
			}); err != nil {
				t.Fatal("read:", err)
			}
			read := time.Since(start)
			if !bytes.Equal(got, want) {
				t.Fatal("read back differs")
			}
			after := smbdirect.Counters()
			pulled, pushed := mid.RDMAReadBytes-before.RDMAReadBytes, after.RDMAWriteBytes-mid.RDMAWriteBytes
			mb := float64(tc.size) / (1 << 20)
			t.Logf("%d channel(s), %d-byte requests: write %.1f MiB/s, read %.1f MiB/s; by RDMA: %d bytes pulled, %d pushed",
				s.Channels(), bs, mb/wrote.Seconds(), mb/read.Seconds(), pulled, pushed)
			if tc.sign {
				if pulled != 0 || pushed != 0 {
					t.Errorf("signed session moved data by RDMA (%d/%d bytes)", pulled, pushed)
				}
			} else if pulled < uint64(tc.size) || pushed < uint64(tc.size) {
				t.Errorf("by RDMA: %d bytes pulled, %d pushed, want %d each", pulled, pushed, tc.size)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Logoff(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// parallel runs fn over [0,size) in bs-byte pieces, 8 at a time.
func parallel(bs, size int, fn func(off, n int) error) error {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for off := 0; off < size; off += bs {
		sem <- struct{}{}
		wg.Add(1)
		go func(off int) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(off, min(bs, size-off)); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(off)
	}
	wg.Wait()
	return first
}
