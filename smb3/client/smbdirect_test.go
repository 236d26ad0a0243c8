package client_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"smb3d/rdma-core-bindings"
	"smb3d/rdma-core-bindings/rdmafake"
	"smb3d/smb3/auth"
	"smb3d/smb3/client"
	"smb3d/smb3/server"
	"smb3d/transport"
	"smb3d/transport/smbdirect"
)

// SMB2 over SMB-Direct against smb3d in-process, the two transports joined
// by rdmafake: the client's READ and WRITE data must go by RDMA (the
// server's RDMA counters move) and arrive intact, small ones and signed
// sessions inline.

// fakeListener hands the server the SMB-Direct connections of fakeDial.
type fakeListener struct {
	conns chan transport.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *fakeListener) Accept() (transport.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return smbdirect.Addr{} }

func fakeResources(ep *rdmafake.Endpoint, o smbdirect.Options) smbdirect.Resources {
	return smbdirect.Resources{
		QP: ep, CQ: ep.RecvCQ,
		Recv:      ep.Register(make([]byte, 255*8192), rdma.AccessLocalWrite),
		Send:      ep.Register(make([]byte, 64*1364), rdma.AccessLocalWrite),
		Pool:      smbdirect.NewPool(ep.Register(make([]byte, o.RDMABuffers*o.RDMABufferSize), rdma.AccessLocalWrite), o.RDMABufferSize),
		ReadDepth: 4,
		Register: func(mem []byte, access rdma.Access) (rdma.MemoryRegion, error) {
			return ep.Register(mem, access), nil
		},
	}
}

// fakeDial connects a new SMB-Direct pair over rdmafake, hands the server
// side to l and returns the client side.
func fakeDial(t *testing.T, l *fakeListener) *smbdirect.Conn {
	t.Helper()
	a, b := rdmafake.Pair(rdmafake.Config{})
	o := smbdirect.Options{RDMABuffers: 4, RDMABufferSize: 256 << 10, NegotiateTimeout: 5 * time.Second, CreditTimeout: 10 * time.Second}
	type res struct {
		c   *smbdirect.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := smbdirect.Server(fakeResources(a, o), o)
		ch <- res{c, err}
	}()
	cli, err := smbdirect.Client(fakeResources(b, o), o)
	if err != nil {
		t.Fatal("client negotiate:", err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal("server negotiate:", r.err)
	}
	l.conns <- r.c
	return cli
}

func startFakeRDMAServer(t *testing.T) (*fakeListener, string) {
	t.Helper()
	root := t.TempDir()
	users := auth.NewUsers()
	users.Set(testUser, auth.NTHash(testPass))
	level := slog.LevelError + 1
	if os.Getenv("SMB3D_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	srv, err := server.New(server.Config{
		Users:        users,
		Shares:       []server.ShareConfig{{Name: testShare, Path: root}},
		Multichannel: true,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeListener{conns: make(chan transport.Conn, 4), done: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
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
	return l, root
}

func TestSMBDirectReadWrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sign     bool
		channels int
		rdma     bool // READ/WRITE data expected to go by RDMA
	}{
		{"rdma", false, 1, true},
		{"rdma-2ch", false, 2, true},
		{"signed-inline", true, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, root := startFakeRDMAServer(t)
			s, err := client.NewSMBDirectSession(fakeDial(t, l), client.Config{User: testUser, Password: testPass,
				Sign: tc.sign, RDMABuffers: 4, RDMABufferSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range tc.channels - 1 {
				if err := s.BindSMBDirect(fakeDial(t, l)); err != nil {
					t.Fatal("bind:", err)
				}
			}
			if s.Channels() != tc.channels {
				t.Fatalf("%d channels, want %d", s.Channels(), tc.channels)
			}
			if tc.rdma && s.MaxRead() != 1<<20 {
				t.Errorf("MaxRead %d, want the 1 MiB of a registered buffer", s.MaxRead())
			}
			if !tc.rdma && s.MaxWrite() >= 1<<20 {
				t.Errorf("MaxWrite %d with inline I/O: above the server's 1 MiB reassembly", s.MaxWrite())
			}
			tr, err := s.TreeConnect(testShare)
			if err != nil {
				t.Fatal(err)
			}
			f, err := tr.OpenWrite("rdma.dat")
			if err != nil {
				t.Fatal(err)
			}
			// sizes below, at and above the inline threshold, and a block
			// that needs several of the server's 256 KiB pool buffers
			sizes := []int{1, 4096, 4097, 65536, 300001, min(1<<20, s.MaxWrite())}
			total := 0
			for _, n := range sizes {
				total += n
			}
			want := make([]byte, total)
			rand.Read(want)
			before := smbdirect.Counters()
			off := 0
			var wg sync.WaitGroup
			errs := make(chan error, len(sizes))
			for _, n := range sizes {
				wg.Add(1)
				go func(off, n int) {
					defer wg.Done()
					if k, err := f.WriteAt(want[off:off+n], int64(off)); err != nil || k != n {
						errs <- errors.Join(err, errors.New("short write"))
					}
				}(off, n)
				off += n
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal("write:", err)
			}
			onDisk, err := os.ReadFile(root + "/rdma.dat")
			if err != nil || !bytes.Equal(onDisk, want) {
				t.Fatalf("file on disk (%d bytes, %v) differs from what was written (%d)", len(onDisk), err, len(want))
			}
			mid := smbdirect.Counters()
			got := make([]byte, total)
			off = 0
			for _, n := range sizes {
				if k, err := f.ReadAt(got[off:off+n], int64(off)); err != nil || k != n {
					t.Fatalf("read %d at %d: %d, %v", n, off, k, err)
				}
				off += n
			}
			if !bytes.Equal(got, want) {
				t.Fatal("read back differs")
			}
			if _, err := f.ReadAt(got[:8192], int64(total)); err != io.EOF {
				t.Errorf("read past the end: %v, want io.EOF", err)
			}
			after := smbdirect.Counters()
			// the server pulls WRITE data by RDMA read and pushes READ data
			// by RDMA write: every payload above 4096 bytes
			byRDMA := uint64(0)
			for _, n := range sizes {
				if n > 4096 {
					byRDMA += uint64(n)
				}
			}
			pulled, pushed := mid.RDMAReadBytes-before.RDMAReadBytes, after.RDMAWriteBytes-mid.RDMAWriteBytes
			if tc.rdma && (pulled < byRDMA || pushed < byRDMA) {
				t.Errorf("by RDMA: %d bytes pulled and %d pushed, want at least %d each", pulled, pushed, byRDMA)
			}
			if !tc.rdma && (pulled != 0 || pushed != 0) {
				t.Errorf("signed session moved %d/%d bytes by RDMA, want all inline", pulled, pushed)
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

// TestSMBDirectReadTooLarge: a READ larger than the registered buffers is
// refused by the client before anything is sent.
func TestSMBDirectReadTooLarge(t *testing.T) {
	l, _ := startFakeRDMAServer(t)
	s, err := client.NewSMBDirectSession(fakeDial(t, l), client.Config{User: testUser, Password: testPass,
		RDMABuffers: 2, RDMABufferSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MaxRead() != 64<<10 || s.MaxWrite() != 64<<10 {
		t.Fatalf("MaxRead/MaxWrite %d/%d, want 64 KiB (the buffer size)", s.MaxRead(), s.MaxWrite())
	}
	tr, err := s.TreeConnect(testShare)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tr.OpenWrite("big.dat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 64<<10+1), 0); err == nil {
		t.Fatal("a WRITE above the registered buffer size was accepted")
	}
	// the session still works
	if n, err := f.WriteAt(make([]byte, 64<<10), 0); err != nil || n != 64<<10 {
		t.Fatalf("write after the refused one: %d, %v", n, err)
	}
}
