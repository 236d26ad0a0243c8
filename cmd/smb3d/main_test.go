package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hirochachacha/go-smb2"

	"smb3d/smb3/auth"
	"smb3d/test/testport"
)

func TestParseConfigErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"listen = 1.2.3.4:1\n", "t.conf:1:"},
		{"[global]\nbogus = 1\n", "t.conf:2: unknown option \"bogus\""},
		{"[global]\nsigning required = maybe\n", "t.conf:2: signing required"},
		{"[global]\n[data]\nread only = no\n", "t.conf:2: share [data] has no path"},
		{"[global]\n[data]\npath = relative/dir\n", "must be absolute"},
		{"[global]\nmin protocol = 9.9\n", "t.conf:2: min protocol"},
		{"[global]\n[a]\npath = /x\n[A]\npath = /y\n", "t.conf:4: share \"A\" already defined on line 2"},
		{"[global]\nmax credits = 70000\n", "t.conf:2: max credits"},
		{"[global\n", "t.conf:1: section header"},
		{"[global]\ninterfaces = eth0;speed=fast\n", "t.conf:2:"},
	} {
		_, err := ParseConfig(strings.NewReader(tc.conf), "t.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to contain %q", tc.conf, err, tc.want)
		}
	}
	cfg, err := ParseConfig(strings.NewReader("[global]\nlisten = 127.0.0.1:4455, [::1]:4455\nencrypt data = required\nmultichannel = yes\ninterfaces = \"lo;capability=RSS,speed=10000000000\"\n[Data]\npath = /srv/data\nread only = yes\n"), "t.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listen) != 2 || !cfg.EncryptRequired || !cfg.Multichannel || len(cfg.Interfaces) != 1 || cfg.Interfaces[0].Speed != 10_000_000_000 || !cfg.Shares[0].ReadOnly {
		t.Errorf("parsed %+v", cfg)
	}
}

func TestUserSubcommands(t *testing.T) {
	f := filepath.Join(t.TempDir(), "users")
	if err := userCmd([]string{"add", "--file", f, "--password", "S3cret!", "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := userCmd([]string{"add", "--file", f, "--password", "x", "bob"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if strings.Contains(string(b), "S3cret") {
		t.Fatal("users file holds a plaintext password")
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v, want 0600", st.Mode().Perm())
	}
	if err := userCmd([]string{"passwd", "--file", f, "--password", "N3w", "alice"}); err != nil {
		t.Fatal(err)
	}
	u, err := auth.LoadUsers(f)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := u.Lookup("ALICE"); !ok || h != auth.NTHash("N3w") {
		t.Error("passwd did not change alice's hash (or lookup is case-sensitive)")
	}
	if err := userCmd([]string{"del", "--file", f, "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := userCmd([]string{"del", "--file", f, "bob"}); err == nil {
		t.Error("deleting a missing user succeeded")
	}
	if err := userCmd([]string{"passwd", "--file", f, "--password", "x", "carol"}); err == nil {
		t.Error("passwd of a missing user succeeded")
	}
	if err := userCmd([]string{"add", "--file", f, "--password", "x", "a:b"}); err == nil {
		t.Error("a name with ':' was accepted")
	}
}

func freePort(t *testing.T) string {
	p, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// TestRunStatusMetricsReload starts the real server with a control socket
// and a metrics address, uses it with go-smb2, checks `smb3d check`,
// `smb3d status` and a metrics scrape, then reloads the configuration
// (adding a share) five times while a client keeps writing.
func TestRunStatusMetricsReload(t *testing.T) {
	dir := t.TempDir()
	share1, share2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	os.Mkdir(share1, 0o755)
	os.Mkdir(share2, 0o755)
	users := filepath.Join(dir, "users")
	if err := userCmd([]string{"add", "--file", users, "--password", "pw", "tester"}); err != nil {
		t.Fatal(err)
	}
	addr, metrics := freePort(t), freePort(t)
	sock := filepath.Join(dir, "control.sock")
	conf := filepath.Join(dir, "smb3d.conf")
	write := func(extra string) {
		c := fmt.Sprintf("[global]\nlisten = %s\nusers file = %s\ncontrol socket = %s\nmetrics listen = %s\nlog level = warn\n[one]\npath = %s\n%s", addr, users, sock, metrics, share1, extra)
		if err := os.WriteFile(conf, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	if err := checkCmd([]string{"-c", conf}); err != nil {
		t.Fatalf("check: %v", err)
	}
	cfg, err := LoadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- run(cfg, func() { close(ready) }, conf) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	defer func() {
		stopRun <- struct{}{}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: "tester", Password: "pw"}}
	s, err := d.Dial(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Logoff()
	fs, err := s.Mount("one")
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("hello.txt", []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := statusCmd([]string{"-s", sock}); err != nil {
		t.Fatalf("status: %v", err)
	}
	resp, err := controlClient(sock).Get("http://smb3d/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"User": "tester"`) {
		t.Errorf("status does not show the session: %s", body)
	}
	mresp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`smb3d_requests_total{command="WRITE"}`, `smb3d_sessions 1`, `smb3d_request_duration_seconds_bucket{command="CREATE",le="+Inf"}`} {
		if !strings.Contains(string(mbody), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Reload under load.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var loadErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := fs.WriteFile(fmt.Sprintf("f%d", i%20), []byte(strings.Repeat("x", 4096)), 0o644); err != nil {
				loadErr = err
				return
			}
		}
	}()
	for i := 0; i < 5; i++ {
		if i%2 == 0 {
			write(fmt.Sprintf("[two]\npath = %s\n", share2))
		} else {
			write("")
		}
		r, err := controlClient(sock).Post("http://smb3d/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("reload %d: HTTP %d", i, r.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	write(fmt.Sprintf("[two]\npath = %s\n", share2))
	if r, err := controlClient(sock).Post("http://smb3d/reload", "", nil); err != nil || r.StatusCode != 200 {
		t.Fatalf("reload: %v", err)
	}
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("client failed during reloads: %v", loadErr)
	}
	fs2, err := s.Mount("two")
	if err != nil {
		t.Fatalf("the share added by reload is not there: %v", err)
	}
	fs2.Umount()
	// A bad configuration is refused and the running one kept.
	os.WriteFile(conf, []byte("[global]\nbogus = 1\n"), 0o644)
	r, err := controlClient(sock).Post("http://smb3d/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode == 200 {
		t.Error("a bad configuration was accepted by reload")
	}
	if _, err := fs.ReadFile("hello.txt"); err != nil {
		t.Errorf("share one broken after a refused reload: %v", err)
	}
}

var _ = errors.New

// TestDiag: `smb3d diag` lists the advertised interfaces and says why RDMA
// will not engage on this machine (no RDMA device, no rdma listener).
func TestDiag(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := userCmd([]string{"add", "--file", users, "--password", "pw", "u"}); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "smb3d.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[global]\nlisten = 127.0.0.1:4455\nusers file = %s\nmultichannel = yes\ninterfaces = lo\n[s]\npath = %s\n", users, dir)), 0o644)
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	err := diagCmd([]string{"-c", conf})
	w.Close()
	os.Stdout = stdout
	out, _ := io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "problem") {
		t.Errorf("diag found no problem without an RDMA listener: %v", err)
	}
	for _, want := range []string{"lo", "127.0.0.1", "no 'rdma listen' address", "multichannel"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("diag output lacks %q:\n%s", want, out)
		}
	}
	// A config with multichannel off says so.
	os.WriteFile(conf, []byte(fmt.Sprintf("[global]\nlisten = 127.0.0.1:4455\nusers file = %s\n[s]\npath = %s\n", users, dir)), 0o644)
	os.Stdout = w
	r, w, _ = os.Pipe()
	os.Stdout = w
	diagCmd([]string{"-c", conf})
	w.Close()
	os.Stdout = stdout
	out, _ = io.ReadAll(r)
	if !strings.Contains(string(out), "'multichannel = yes' is not set") {
		t.Errorf("diag does not flag multichannel off:\n%s", out)
	}
}
