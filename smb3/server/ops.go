package server

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
)

// metrics are the per-command counters and latency histograms behind
// Prometheus' /metrics (issue 11). Updated lock-free on the request path.
type metrics struct {
	byCmd    [wire.NumCommands]atomic.Uint64
	latency  [wire.NumCommands][len(latencyBuckets) + 1]atomic.Uint64
	latSumUs [wire.NumCommands]atomic.Uint64
	statusMu sync.Mutex
	byStatus map[statusKey]uint64
	rejectMu sync.Mutex
	rejects  map[string]uint64
	// nodeBytes: READ and WRITE payload bytes by the NUMA node of the
	// channel that moved them (slot 0: not placed; slot n+1: node n).
	nodeBytes [nodeSlots][2]atomic.Uint64
}

// nodeSlots covers node -1 (not placed) and nodes 0..1023, the kernel's
// MAX_NUMNODES in distribution kernels.
const nodeSlots = 1 + 1024

// nodeIO counts n payload bytes of a READ (write false) or WRITE moved by
// channel c, under c's NUMA node.
func (m *metrics) nodeIO(c *conn, write bool, n int) {
	i := connNUMANode(c) + 1
	if i < 0 || i >= nodeSlots {
		i = 0
	}
	d := 0
	if write {
		d = 1
	}
	m.nodeBytes[i][d].Add(uint64(n))
}

type statusKey struct {
	cmd    wire.Command
	status wire.Status
}

// latencyBuckets are the histogram upper bounds in seconds.
var latencyBuckets = [...]float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}

func (m *metrics) observe(cmd wire.Command, status wire.Status, d time.Duration) {
	if int(cmd) >= len(m.byCmd) {
		return
	}
	m.byCmd[cmd].Add(1)
	sec := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets[:], sec)
	m.latency[cmd][i].Add(1)
	m.latSumUs[cmd].Add(uint64(d.Microseconds()))
	if status != wire.StatusSuccess {
		m.statusMu.Lock()
		if m.byStatus == nil {
			m.byStatus = map[statusKey]uint64{}
		}
		if len(m.byStatus) < 4096 {
			m.byStatus[statusKey{cmd, status}]++
		}
		m.statusMu.Unlock()
	}
}

func (m *metrics) reject(reason string) {
	m.rejectMu.Lock()
	if m.rejects == nil {
		m.rejects = map[string]uint64{}
	}
	m.rejects[reason]++
	m.rejectMu.Unlock()
}

// Status is a snapshot of the server for `smb3d status` (like smbstatus and
// Get-SmbMultichannelConnection).
type Status struct {
	Started  time.Time
	Sessions []SessionStatus
	Opens    []OpenStatus
	Leases   int
	Conns    int64
	Requests uint64
	BytesIn  uint64
	BytesOut uint64
	RDMAIn   uint64
	RDMAOut  uint64
	Rejected uint64
}

// SessionStatus describes one session and its channels.
type SessionStatus struct {
	ID       uint64
	User     string
	Domain   string
	Dialect  string
	Signing  bool
	Encrypt  bool
	Guest    bool
	Channels []ChannelStatus
	Trees    []string
	Opens    int
}

// ChannelStatus is one transport connection bound to a session.
type ChannelStatus struct {
	Remote    string
	Local     string
	Transport string
	NUMANode  int // -1 unknown or not pinned
}

// OpenStatus is one open file.
type OpenStatus struct {
	Session uint64
	Share   string
	Path    string
	Access  uint32
	Oplock  string
}

// Status returns a snapshot.
func (s *Server) Status() Status {
	st := Status{
		Started:  s.start,
		Conns:    s.stats.Conns.Load(),
		Requests: s.stats.Requests.Load(),
		BytesIn:  s.stats.BytesWritten.Load(),
		BytesOut: s.stats.BytesRead.Load(),
		RDMAIn:   s.stats.RDMABytesRead.Load(),
		RDMAOut:  s.stats.RDMABytesWritten.Load(),
		Rejected: s.stats.Rejections.Load(),
	}
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, x := range s.sessions {
		sessions = append(sessions, x)
	}
	s.mu.Unlock()
	for _, x := range sessions {
		x.mu.Lock()
		ss := SessionStatus{ID: x.id, User: x.user, Domain: x.domain, Dialect: x.dialect.String(),
			Signing: x.signReq, Encrypt: x.encrypt, Guest: x.guest || x.anon, Opens: x.nopens}
		for c := range x.conns {
			ss.Channels = append(ss.Channels, ChannelStatus{Remote: c.t.RemoteAddr().String(), Local: c.t.LocalAddr().String(), Transport: c.t.Name(), NUMANode: connNUMANode(c)})
		}
		for _, t := range x.trees {
			ss.Trees = append(ss.Trees, t.share.cfg.Name)
		}
		x.mu.Unlock()
		sort.Strings(ss.Trees)
		st.Sessions = append(st.Sessions, ss)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].ID < st.Sessions[j].ID })
	for _, o := range s.opens.collect(func(*open) bool { return true }) {
		s.nodes.mu.Lock()
		os := OpenStatus{Session: o.sess.id, Share: o.tree.share.cfg.Name, Path: o.name, Access: o.access, Oplock: oplockName(o)}
		s.nodes.mu.Unlock()
		st.Opens = append(st.Opens, os)
	}
	sort.Slice(st.Opens, func(i, j int) bool { return st.Opens[i].Path < st.Opens[j].Path })
	s.nodes.mu.Lock()
	st.Leases = len(s.leases)
	s.nodes.mu.Unlock()
	return st
}

// connNUMANode reports the NUMA node a transport pinned the channel to.
func connNUMANode(c *conn) int {
	if n, ok := c.t.(interface{ NUMANode() int }); ok {
		return n.NUMANode()
	}
	return -1
}

// oplockName describes o's caching (caller holds the node lock).
func oplockName(o *open) string {
	if o.lease != nil {
		var b strings.Builder
		b.WriteString("lease:")
		if o.lease.state&leaseR != 0 {
			b.WriteByte('R')
		}
		if o.lease.state&leaseW != 0 {
			b.WriteByte('W')
		}
		if o.lease.state&leaseH != 0 {
			b.WriteByte('H')
		}
		return b.String()
	}
	switch o.oplock {
	case oplockLevelII:
		return "level2"
	case oplockExclusive:
		return "exclusive"
	case oplockBatch:
		return "batch"
	}
	return "none"
}

// WriteMetrics writes the Prometheus text exposition of the counters.
func (s *Server) WriteMetrics(w *strings.Builder) {
	fmt.Fprintf(w, "# HELP smb3d_connections Open transport connections (channels).\n# TYPE smb3d_connections gauge\nsmb3d_connections %d\n", s.stats.Conns.Load())
	fmt.Fprintf(w, "# HELP smb3d_sessions Established sessions.\n# TYPE smb3d_sessions gauge\nsmb3d_sessions %d\n", s.stats.Sessions.Load())
	fmt.Fprintf(w, "# HELP smb3d_bytes_total Payload bytes by direction and path.\n# TYPE smb3d_bytes_total counter\n")
	fmt.Fprintf(w, "smb3d_bytes_total{dir=\"read\",path=\"inline\"} %d\n", s.stats.BytesRead.Load()-s.stats.RDMABytesWritten.Load()-s.stats.SplicedBytes.Load())
	fmt.Fprintf(w, "smb3d_bytes_total{dir=\"read\",path=\"splice\"} %d\n", s.stats.SplicedBytes.Load())
	fmt.Fprintf(w, "smb3d_bytes_total{dir=\"read\",path=\"rdma\"} %d\n", s.stats.RDMABytesWritten.Load())
	fmt.Fprintf(w, "smb3d_bytes_total{dir=\"write\",path=\"inline\"} %d\n", s.stats.BytesWritten.Load()-s.stats.RDMABytesRead.Load())
	fmt.Fprintf(w, "smb3d_bytes_total{dir=\"write\",path=\"rdma\"} %d\n", s.stats.RDMABytesRead.Load())
	s.writeNodeMetrics(w)
	fmt.Fprintf(w, "# HELP smb3d_requests_total Requests by command.\n# TYPE smb3d_requests_total counter\n")
	for i := range s.metrics.byCmd {
		if n := s.metrics.byCmd[i].Load(); n > 0 {
			fmt.Fprintf(w, "smb3d_requests_total{command=%q} %d\n", wire.Command(i).String(), n)
		}
	}
	fmt.Fprintf(w, "# HELP smb3d_request_errors_total Requests that did not succeed, by command and status.\n# TYPE smb3d_request_errors_total counter\n")
	s.metrics.statusMu.Lock()
	for k, n := range s.metrics.byStatus {
		fmt.Fprintf(w, "smb3d_request_errors_total{command=%q,status=%q} %d\n", k.cmd.String(), k.status.String(), n)
	}
	s.metrics.statusMu.Unlock()
	fmt.Fprintf(w, "# HELP smb3d_request_duration_seconds Request latency by command.\n# TYPE smb3d_request_duration_seconds histogram\n")
	for i := range s.metrics.byCmd {
		total := s.metrics.byCmd[i].Load()
		if total == 0 {
			continue
		}
		name := wire.Command(i).String()
		var cum uint64
		for b, le := range latencyBuckets {
			cum += s.metrics.latency[i][b].Load()
			fmt.Fprintf(w, "smb3d_request_duration_seconds_bucket{command=%q,le=\"%g\"} %d\n", name, le, cum)
		}
		fmt.Fprintf(w, "smb3d_request_duration_seconds_bucket{command=%q,le=\"+Inf\"} %d\n", name, total)
		fmt.Fprintf(w, "smb3d_request_duration_seconds_sum{command=%q} %g\n", name, float64(s.metrics.latSumUs[i].Load())/1e6)
		fmt.Fprintf(w, "smb3d_request_duration_seconds_count{command=%q} %d\n", name, total)
	}
	fmt.Fprintf(w, "# HELP smb3d_rejections_total Limits and checks that fired, by reason.\n# TYPE smb3d_rejections_total counter\n")
	s.metrics.rejectMu.Lock()
	for r, n := range s.metrics.rejects {
		fmt.Fprintf(w, "smb3d_rejections_total{reason=%q} %d\n", r, n)
	}
	s.metrics.rejectMu.Unlock()
}

// writeNodeMetrics writes the per-NUMA-node families: open channels and
// payload bytes by the node their channel is placed on (node="-1": not
// placed), and the node-bound memory the transports have mapped.
func (s *Server) writeNodeMetrics(w *strings.Builder) {
	s.mu.Lock()
	byNode := map[int]int{}
	for c := range s.conns {
		byNode[connNUMANode(c)]++
	}
	s.mu.Unlock()
	fmt.Fprintf(w, "# HELP smb3d_node_connections Open channels by the NUMA node they are placed on (-1: not placed).\n# TYPE smb3d_node_connections gauge\n")
	for _, n := range slices.Sorted(maps.Keys(byNode)) {
		fmt.Fprintf(w, "smb3d_node_connections{node=\"%d\"} %d\n", n, byNode[n])
	}
	fmt.Fprintf(w, "# HELP smb3d_node_bytes_total READ and WRITE payload bytes by direction and the NUMA node of the channel (-1: not placed).\n# TYPE smb3d_node_bytes_total counter\n")
	for i := range s.metrics.nodeBytes {
		for d, dir := range [2]string{"read", "write"} {
			if v := s.metrics.nodeBytes[i][d].Load(); v > 0 {
				fmt.Fprintf(w, "smb3d_node_bytes_total{dir=%q,node=\"%d\"} %d\n", dir, i-1, v)
			}
		}
	}
	fmt.Fprintf(w, "# HELP smb3d_node_memory_bytes Memory the transports mapped outside the Go heap, by the NUMA node it is bound to (-1: default policy).\n# TYPE smb3d_node_memory_bytes gauge\n")
	mem := numa.AllocatedBytes()
	for _, n := range slices.Sorted(maps.Keys(mem)) {
		fmt.Fprintf(w, "smb3d_node_memory_bytes{node=\"%d\"} %d\n", n, mem[n])
	}
}

// Reload replaces the shares and the user store without dropping
// connections (SIGHUP). Shares that stay keep their open backend; removed
// shares stop accepting tree connects (existing trees keep working until
// disconnected); new ones are opened.
func (s *Server) Reload(shares []ShareConfig, users auth.UserStore) error {
	s.sharesMu.RLock()
	old := s.shares
	s.sharesMu.RUnlock()
	next := map[string]*share{"IPC$": old["IPC$"]}
	var opened []*share
	for _, sc := range shares {
		key := strings.ToUpper(sc.Name)
		if key == "" || key == "IPC$" {
			return fmt.Errorf("share name %q is reserved", sc.Name)
		}
		if _, dup := next[key]; dup {
			return fmt.Errorf("share %q defined twice", sc.Name)
		}
		if o := old[key]; o != nil && reflect.DeepEqual(o.cfg, sc) {
			next[key] = o
			continue
		}
		fs, err := vfs.Open(sc.Path, vfs.Options{ReadOnly: sc.ReadOnly, CaseSensitive: sc.CaseSensitive})
		if err != nil {
			for _, sh := range opened {
				sh.fs.Close()
			}
			return fmt.Errorf("share %q: %w", sc.Name, err)
		}
		sh := &share{cfg: sc, fs: fs}
		opened = append(opened, sh)
		next[key] = sh
	}
	s.sharesMu.Lock()
	s.shares = next
	s.sharesMu.Unlock()
	if users != nil {
		s.users.set(users)
	}
	s.log.Info("configuration reloaded", "shares", len(next)-1)
	return nil
}

// swapUsers is the user store the authenticator sees; Reload swaps what is
// behind it atomically.
type swapUsers struct {
	p atomic.Pointer[auth.UserStore]
}

func (u *swapUsers) set(s auth.UserStore) { u.p.Store(&s) }

func (u *swapUsers) Lookup(name string) ([16]byte, bool) {
	p := u.p.Load()
	if p == nil {
		return [16]byte{}, false
	}
	return (*p).Lookup(name)
}

// KerberosOnly forwards to the store behind u (auth.KerberosOnlyStore), so
// users without an NT hash can log on with Kerberos.
func (u *swapUsers) KerberosOnly(name string) bool {
	p := u.p.Load()
	if p == nil {
		return false
	}
	k, ok := (*p).(auth.KerberosOnlyStore)
	return ok && k.KerberosOnly(name)
}

// Shutdown stops accepting connections, waits until the requests in flight
// are answered (or ctx ends), then closes everything.
func (s *Server) Shutdown(wait time.Duration) {
	s.mu.Lock()
	ls := s.listeners
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	done := make(chan struct{})
	go func() {
		for _, c := range cs {
			c.inflight.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		s.log.Warn("shutdown: requests still in flight after the grace period")
	}
	s.Close()
}
