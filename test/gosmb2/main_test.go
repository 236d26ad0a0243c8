package gosmb2

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"smb3d/test/testport"
)

// env is the server the tests talk to, fixed by TestMain.
var env struct {
	addr      string // host:port
	share     string // share name
	user      string
	pass      string
	shareDir  string // local path of the share, "" when unknown (external server)
	outside   string // a directory beside the share holding secretName, "" when unknown
	secretDir string // the encrypt-data share "secret", "" when unknown
	external  bool   // SMB3D_ADDR was given: not our process, not our share
	server    *serverProc
}

const (
	defaultUser  = "smbtest"
	defaultPass  = "Passw0rd.Test"
	defaultShare = "share"
	secretName   = "secret.txt"
	secretText   = "smb3d-test-secret: if a client reads this, the share leaked\n"
	listenMarker = "smb3d: listening on "
	startTimeout = 10 * time.Second
)

// TestMain points the tests at a server: SMB3D_ADDR (with SMB3D_USER, SMB3D_PASS,
// SMB3D_SHARE, and optionally SMB3D_SHARE_DIR, the share's local path) for a running one,
// or else smb3d built from this checkout and started on a free loopback port.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env.user = getenv("SMB3D_USER", defaultUser)
	env.pass = getenv("SMB3D_PASS", defaultPass)
	env.share = getenv("SMB3D_SHARE", defaultShare)
	if addr := os.Getenv("SMB3D_ADDR"); addr != "" {
		env.addr, env.external = addr, true
		env.shareDir = os.Getenv("SMB3D_SHARE_DIR")
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "smb3d-gosmb2-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosmb2:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	bin, err := buildServer(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosmb2:", err)
		return 1
	}
	// Every test runs over each TCP transport of smb3d ("tcp transport"),
	// or over the comma-separated list in SMB3D_TEST_TRANSPORT.
	transports := strings.Split(getenv("SMB3D_TEST_TRANSPORT", "uring,netpoll"), ",")
	code := 0
	for _, tr := range transports {
		if tr != "uring" && tr != "netpoll" {
			fmt.Fprintf(os.Stderr, "gosmb2: SMB3D_TEST_TRANSPORT: unknown transport %q\n", tr)
			return 2
		}
		dir := filepath.Join(tmp, tr)
		if err := os.Mkdir(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gosmb2:", err)
			return 1
		}
		srv, err := startServer(dir, bin, tr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gosmb2: cannot start smb3d:", err)
			return 1
		}
		if tr == "uring" && srv.log.contains("io_uring unavailable") {
			// smb3d fell back to the netpoller: say so, the pass is not over io_uring.
			fmt.Printf("transport uring: io_uring unavailable here, smb3d fell back to the netpoller\n")
		} else {
			fmt.Printf("transport %s\n", tr)
		}
		env.server = srv
		c := m.Run()
		if exited, state := srv.exited(); exited {
			fmt.Fprintf(os.Stderr, "gosmb2: smb3d (tcp transport = %s) exited during the tests (%v); its log:\n%s\n", tr, state, srv.log.tail(60))
			c = 1
		} else if c != 0 {
			fmt.Fprintf(os.Stderr, "gosmb2: tests failed over tcp transport = %s; last lines of smb3d's log:\n%s\n", tr, srv.log.tail(40))
		}
		srv.stop()
		if c != 0 {
			code = c
		}
	}
	return code
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// repoRoot is the module root: two levels above this package.
func repoRoot() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod above the test: %w", err)
	}
	return dir, nil
}

type serverProc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, valid after done
}

// buildServer builds ./cmd/smb3d into dir.
func buildServer(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "smb3d")
	build := exec.Command("go", "build", "-o", bin, "./cmd/smb3d")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/smb3d: %v\n%s", err, out)
	}
	return bin, nil
}

// startServer creates in tmp the share (with a secret beside it for the escape tests),
// the users file and the config with the given TCP transport, starts bin and waits for
// its "listening" line.
func startServer(tmp, bin, tcpTransport string) (*serverProc, error) {

	env.shareDir = filepath.Join(tmp, "share")
	env.outside = filepath.Join(tmp, "outside")
	env.secretDir = filepath.Join(tmp, "secret")
	for _, d := range []string{env.shareDir, env.outside, env.secretDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(env.outside, secretName), []byte(secretText), 0o644); err != nil {
		return nil, err
	}

	users := filepath.Join(tmp, "users")
	add := exec.Command(bin, "user", "add", "--file", users, "--password", env.pass, env.user)
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("smb3d user add: %v\n%s", err, out)
	}

	port, err := testport.Free()
	if err != nil {
		return nil, err
	}
	env.addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(tmp, "smb3d.conf")
	text := fmt.Sprintf(`[global]
listen = %s
users file = %s
signing required = no
encrypt data = no
log level = info
tcp transport = %s
[%s]
path = %s
read only = no
[secret]
path = %s
encrypt data = yes
`, env.addr, users, tcpTransport, env.share, env.shareDir, env.secretDir)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}

	cmd := exec.Command(bin, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = nil
	srv := &serverProc{cmd: cmd, log: &logBuffer{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan struct{})
	go func() {
		// Keep draining stderr for the whole run so the server never blocks on it.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			srv.log.add(line)
			if !seen && strings.Contains(line, listenMarker+env.addr) {
				seen = true
				close(listening)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		srv.err = cmd.Wait()
		close(srv.done)
	}()
	select {
	case <-listening:
		return srv, nil
	case <-srv.done:
		return nil, fmt.Errorf("smb3d exited before listening (%v):\n%s", srv.err, srv.log.tail(40))
	case <-time.After(startTimeout):
		srv.stop()
		return nil, fmt.Errorf("no %q line within %v:\n%s", listenMarker+env.addr, startTimeout, srv.log.tail(40))
	}
}

func (s *serverProc) exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.err
	default:
		return false, nil
	}
}

func (s *serverProc) stop() {
	if exited, _ := s.exited(); exited {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// logBuffer keeps the server's stderr lines (the last 10,000) for failure reports.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= 10000 {
		b.lines = append(b.lines[:0], b.lines[5000:]...)
	}
	b.lines = append(b.lines, line)
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString("  " + l + "\n")
	}
	return buf.String()
}

// contains reports whether a kept line contains s.
func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
