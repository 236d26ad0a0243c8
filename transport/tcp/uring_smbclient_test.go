//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/smb3/vfs"
	"smb3d/transport/tcp"
)

// smbclient runs Samba's smbclient against addr with signing and encryption
// off, so that READ responses may go by splice, and returns its output.
func smbclient(t testing.TB, addr, cmd string) ([]byte, error) {
	t.Helper()
	return smbclientCtx(context.Background(), t, addr, cmd)
}

// smbclientCtx is smbclient killed when ctx ends.
func smbclientCtx(ctx context.Context, t testing.TB, addr, cmd string) ([]byte, error) {
	t.Helper()
	path, err := exec.LookPath("smbclient")
	if err != nil {
		t.Skip("smbclient not installed")
	}
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	text := fmt.Sprintf("[global]\n client min protocol = SMB2_10\n client max protocol = SMB3\n client signing = disabled\n client smb encrypt = off\n"+
		" private dir = %[1]s\n lock directory = %[1]s\n state directory = %[1]s\n cache directory = %[1]s\n log file = %[1]s/log\n", dir)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c := exec.CommandContext(ctx, path, "-s", conf, "//"+host+"/"+testShare, "-p", port, "-U", testUser+"%"+testPass, "-c", cmd)
	return c.CombinedOutput()
}

// TestSMBClientOverTransports gets and puts a 64 MiB file with smbclient,
// unsigned: over io_uring the READs take the zero-copy path.
func TestSMBClientOverTransports(t *testing.T) {
	data := make([]byte, 64<<20)
	rand.Read(data)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			sv := serve(t, tr.cfg, nil)
			addr, root := sv.addr, sv.root
			src := filepath.Join(t.TempDir(), "src.bin")
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := smbclient(t, addr, "put "+src+" big.bin"); err != nil {
				t.Fatalf("put: %v\n%s", err, out)
			}
			if got, err := os.ReadFile(filepath.Join(root, "big.bin")); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("put: %d bytes on disk, differ (%v)", len(got), err)
			}
			dst := filepath.Join(t.TempDir(), "dst.bin")
			if out, err := smbclient(t, addr, "get big.bin "+dst); err != nil {
				t.Fatalf("get: %v\n%s", err, out)
			}
			if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get: %d bytes, differ (%v)", len(got), err)
			}
			// The server's zero-copy READ (smb3/server/io_sendfile.go) needs
			// (*vfs.File).UseFd; once it is there, unsigned READs over
			// io_uring must go by splice.
			if sv.ul != nil && sv.ul.SplicedBytes() == 0 && serverCanSplice {
				t.Errorf("no READ went by splice")
			}
			t.Logf("spliced %d bytes", spliced(sv))
		})
	}
}

type smbVariant struct {
	name string
	cfg  *tcp.URingConfig
}

// BenchmarkSMBClientRead: smbclient get of a 1 GiB page-cached file from the
// real server, over the netpoller, io_uring with copies, and io_uring with
// splice, back to back in each iteration (use -benchtime=5x or more). It
// reports medians and ratios to the netpoller; server CPU is getrusage of
// this process (smbclient is another one).
func BenchmarkSMBClientRead(b *testing.B) {
	benchSMBClient(b, 1<<30, 1, []smbVariant{
		{"netpoll", nil},
		{"uring", &tcp.URingConfig{NoSplice: true}},
		{"uring-splice", &tcp.URingConfig{}},
	})
}

// BenchmarkSMBClientReadParallel: 4 smbclients at once get a 512 MiB file,
// over the netpoller, io_uring with a ring per connection, and io_uring with
// the connections on one shared ring (splice on both).
func BenchmarkSMBClientReadParallel(b *testing.B) {
	benchSMBClient(b, 512<<20, 4, []smbVariant{
		{"netpoll", nil},
		{"uring-ring-per-conn", &tcp.URingConfig{}},
		{"uring-shared-ring", &tcp.URingConfig{Rings: 1}},
	})
}

// BenchmarkSMBClientWrite: smbclient put of a 512 MiB file from /dev/shm to
// the real server, over the netpoller, io_uring with NoFixedRecv (the
// receive path: RECV with MSG_WAITALL into pooled buffers) and io_uring as
// by default (READ_FIXED into registered ones), back to back in each
// iteration.
func BenchmarkSMBClientWrite(b *testing.B) {
	const size = 512 << 20
	variants := []smbVariant{{"netpoll", nil}, {"uring-recv", &tcp.URingConfig{NoFixedRecv: true}}, {"uring-fixed", &tcp.URingConfig{}}}
	if os.Getenv("SMB3D_BENCH_FIXED_PARTIAL") != "" {
		// READ_FIXED at each burst rather than once per message.
		partial := tcp.FixedPartial(tcp.URingConfig{})
		variants = append(variants, smbVariant{"uring-fixed-partial", &partial})
	}
	if v := os.Getenv("SMB3D_BENCH_FIXED_LOWAT"); v != "" {
		// READ_FIXED once this many bytes (at most) are in instead of
		// 1 MiB; -1: once the whole message is.
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		capped := tcp.FixedLowat(tcp.URingConfig{}, n)
		variants = append(variants, smbVariant{fmt.Sprintf("uring-fixed-lowat%d", n), &capped})
	}
	src, err := os.CreateTemp("/dev/shm", "smb3d-put")
	if err != nil {
		b.Skip("no /dev/shm")
	}
	defer os.Remove(src.Name())
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	for range size / len(buf) {
		src.Write(buf)
	}
	src.Close()
	addrs := make([]string, len(variants))
	svs := make([]served, len(variants))
	for i, v := range variants {
		svs[i] = serve(b, v.cfg, nil)
		addrs[i] = svs[i].addr
	}
	mbs := make([][]float64, len(variants))
	cpus := make([][]float64, len(variants))
	for b.Loop() {
		for i := range variants {
			c0, t0 := processCPU(), time.Now()
			if out, err := smbclient(b, addrs[i], "put "+src.Name()+" put.bin"); err != nil {
				b.Fatalf("%s: %v\n%s", variants[i].name, err, out)
			}
			wall, cpu := time.Since(t0), processCPU()-c0
			gb := float64(size) / 1e9
			mbs[i] = append(mbs[i], gb*1e3/wall.Seconds())
			cpus[i] = append(cpus[i], cpu.Seconds()/gb)
		}
	}
	for i, v := range variants {
		if v.cfg != nil && !v.cfg.NoFixedRecv {
			msgs, reads := svs[i].ul.FixedRecvStats()
			if msgs == 0 {
				b.Fatalf("%s: no message received into a registered buffer", v.name)
			}
			b.Logf("%s: %d messages by READ_FIXED, %d completions", v.name, msgs, reads)
		}
	}
	report(b, variants, mbs, cpus)
}

func report(b *testing.B, variants []smbVariant, mbs, cpus [][]float64) {
	base, baseCPU := median(mbs[0]), median(cpus[0])
	for i, v := range variants {
		m, c := median(mbs[i]), median(cpus[i])
		b.ReportMetric(m, v.name+"-MB/s")
		b.ReportMetric(c, v.name+"-cpu-s/GB")
		if i > 0 {
			b.ReportMetric(m/base, v.name+"/netpoll-MB/s")
			b.ReportMetric(c/baseCPU, v.name+"/netpoll-cpu")
		}
		b.Logf("%-19s MB/s %.0f  cpu-s/GB %.2f", v.name, mbs[i], cpus[i])
	}
}

func benchSMBClient(b *testing.B, size, clients int, variants []smbVariant) {
	addrs := make([]string, len(variants))
	var root0 string
	for i, v := range variants {
		sv := serve(b, v.cfg, nil)
		addr, root := sv.addr, sv.root
		addrs[i] = addr
		if i == 0 {
			root0 = root
			f, err := os.Create(filepath.Join(root, "big.bin"))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			rand.Read(buf)
			for range size / len(buf) {
				f.Write(buf)
			}
			f.Close()
		} else if err := os.Link(filepath.Join(root0, "big.bin"), filepath.Join(root, "big.bin")); err != nil {
			b.Fatal(err)
		}
	}
	smbclient(b, addrs[0], "get big.bin /dev/null") // warm the page cache
	mbs := make([][]float64, len(variants))
	cpus := make([][]float64, len(variants))
	for b.Loop() {
		for i := range variants {
			c0, t0 := processCPU(), time.Now()
			errs := make(chan error, clients)
			for range clients {
				go func() {
					out, err := smbclient(b, addrs[i], "get big.bin /dev/null")
					if err != nil {
						err = fmt.Errorf("%s: %v\n%s", variants[i].name, err, out)
					}
					errs <- err
				}()
			}
			for range clients {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			wall, cpu := time.Since(t0), processCPU()-c0
			gb := float64(size*clients) / 1e9
			mbs[i] = append(mbs[i], gb*1e3/wall.Seconds())
			cpus[i] = append(cpus[i], cpu.Seconds()/gb)
		}
	}
	report(b, variants, mbs, cpus)
}

// serverCanSplice: the server's files lend their descriptors (UseFd).
var _, serverCanSplice = any((*vfs.File)(nil)).(interface{ UseFd(func(int) error) error })

func spliced(sv served) uint64 {
	if sv.ul == nil {
		return 0
	}
	return sv.ul.SplicedBytes()
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
