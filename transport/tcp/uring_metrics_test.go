//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package tcp_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hirochachacha/go-smb2"

	"smb3d/smb3/server"
	"smb3d/transport/tcp"
)

// syncBuf is a log sink the server's goroutines write concurrently.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerNodeMetrics: with every channel placed on one node, the
// Prometheus text counts the channel and its READ/WRITE bytes under that
// node, shows the node-bound memory the transport mapped, and the channel's
// log lines carry its node.
func TestServerNodeMetrics(t *testing.T) {
	pl := placeOnFirstNode()
	if pl == nil {
		t.Skip("no NUMA topology here")
	}
	node := pl.Policy().Node
	var logs syncBuf
	sv := serve(t, &tcp.URingConfig{Placement: pl}, func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	fs := mount(t, sv.addr, smb2.Negotiator{})
	data := bytes.Repeat([]byte("numa"), 1<<20) // 4 MiB: large WRITEs from the node pool
	if err := fs.WriteFile("n.bin", data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile("n.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %d bytes, %v", len(got), err)
	}
	var b strings.Builder
	sv.srv.WriteMetrics(&b)
	text := b.String()
	value := func(series string) int64 {
		m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + ` (\d+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no %s in\n%s", series, text)
			return 0
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		return v
	}
	if v := value(fmt.Sprintf(`smb3d_node_connections{node="%d"}`, node)); v != 1 {
		t.Errorf("connections on node %d: %d, want 1", node, v)
	}
	if v := value(fmt.Sprintf(`smb3d_node_bytes_total{dir="write",node="%d"}`, node)); v < int64(len(data)) {
		t.Errorf("write bytes on node %d: %d, want >= %d", node, v, len(data))
	}
	if v := value(fmt.Sprintf(`smb3d_node_bytes_total{dir="read",node="%d"}`, node)); v < int64(len(data)) {
		t.Errorf("read bytes on node %d: %d, want >= %d", node, v, len(data))
	}
	if v := value(fmt.Sprintf(`smb3d_node_memory_bytes{node="%d"}`, node)); v < 64<<10 {
		t.Errorf("node-bound memory on node %d: %d bytes", node, v)
	}
	if strings.Contains(text, `smb3d_node_connections{node="-1"}`) {
		t.Error("a placed channel counted as not placed")
	}
	want := fmt.Sprintf("numa_node=%d", node)
	for _, msg := range []string{`msg="session established"`} {
		found := false
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, msg) && strings.Contains(line, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s line with %s in the log:\n%s", msg, want, logs.String())
		}
	}
}
