//go:build amd64 || arm64 || riscv64 || loong64 || ppc64le

package numa

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"smb3d/transport/tcp/uring"
)

// ringReport is where a ring created on a pinned thread, and its kernel
// threads, ended up.
type ringReport struct {
	pages   map[int]int // node -> pages of the ring's mappings (move_pages)
	wrk     []int       // CPUs of the io-wq worker (iou-wrk-TID)
	sqp     []int       // CPUs of the SQPOLL thread (iou-sqp-TID), if asked for
	sqpCPU  int
	skipped string
}

// ringOnNode does what a transport does on a channel's thread pinned to
// node: it creates the ring there (the kernel allocates the SQ/CQ memory
// then, local to the thread), binds io-wq workers to the node's CPUs
// (IORING_REGISTER_IOWQ_AFF) and, with sqpoll, the SQPOLL thread to the
// node's first CPU (IORING_SETUP_SQ_AFF). It forces one request through
// io-wq (IOSQE_ASYNC) so a worker exists, and reports from move_pages and
// /proc/self/task/*/status where all of it sits. The caller has locked and
// pinned the thread.
func ringOnNode(topo *Topology, node int, sqpoll bool) (ringReport, error) {
	return ringOn(topo, node, sqpoll, true)
}

// ringOn is ringOnNode; iowqAff=false leaves io-wq unbound (the control).
func ringOn(topo *Topology, node int, sqpoll, iowqAff bool) (ringReport, error) {
	var rep ringReport
	cfg := uring.Config{Entries: 64}
	set, known := topo.CPUSet(node)
	if sqpoll {
		cfg.SQPoll = true
		if known {
			rep.sqpCPU = topo.CPUs(node)[0]
			cfg.SQAff, cfg.SQThreadCPU = true, uint32(rep.sqpCPU)
		}
	}
	before := ringMappings()
	r, err := uring.New(cfg)
	if errors.Is(err, uring.ErrNotSupported) || errors.Is(err, unix.EPERM) {
		rep.skipped = err.Error()
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	defer r.Close()
	if known && iowqAff {
		if err := r.RegisterIOWQAff(&set); err != nil {
			return rep, err
		}
	}
	z, err := os.Open("/dev/zero")
	if err != nil {
		return rep, err
	}
	defer z.Close()
	buf := make([]byte, 4096)
	s, err := r.GetSQE()
	if err != nil {
		return rep, err
	}
	s.PrepRead(int(z.Fd()), buf, 0)
	s.SetFlags(uring.FlagAsync)
	if _, err := r.SubmitAndWait(1); err != nil {
		return rep, err
	}
	c, err := r.WaitCQE(10 * time.Second)
	if err != nil {
		return rep, err
	}
	r.CQAdvance(1)
	if err := c.Err(); err != nil {
		return rep, err
	}
	rep.pages = map[int]int{}
	for _, m := range ringMappings() {
		if slices.Contains(before, m) {
			continue
		}
		nodes, err := pageNodes(m[0], m[1]-m[0])
		if err != nil {
			return rep, err
		}
		for _, n := range nodes {
			rep.pages[n]++
		}
	}
	// io-wq workers belong to the task that submits: this thread, or the
	// SQPOLL thread (then iou-wrk-<its tid>).
	owner := unix.Gettid()
	if sqpoll {
		var sqp int
		if sqp, rep.sqp, err = kernelThread(fmt.Sprintf("iou-sqp-%d", owner)); err != nil {
			return rep, err
		}
		owner = sqp
	}
	_, rep.wrk, err = kernelThread(fmt.Sprintf("iou-wrk-%d", owner))
	return rep, err
}

// ringMappings lists the [start, end) of every io_uring mapping of this
// process (/proc/self/maps, "anon_inode:[io_uring]").
func ringMappings() [][2]uintptr {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, "[io_uring]") {
			continue
		}
		lo, hi, _ := strings.Cut(strings.Fields(line)[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
	}
	return out
}

// kernelThread finds this process's thread named comm (io_uring's workers
// are threads of the process): its tid and Cpus_allowed_list.
func kernelThread(comm string) (int, []int, error) {
	for range 50 {
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			b, _ := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
			if strings.TrimSpace(string(b)) != comm {
				continue
			}
			tid, _ := strconv.Atoi(e.Name())
			st, err := TaskStatus(tid)
			return tid, st.CPUs, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, nil, fmt.Errorf("no thread %s", comm)
}

// TestRingPlacementLive: on every node of this machine, a ring created on a
// thread pinned there has its memory, io-wq worker and SQPOLL thread there.
func TestRingPlacementLive(t *testing.T) {
	topo := liveTopology(t)
	for _, n := range topo.Nodes {
		if len(n.CPUs) == 0 {
			continue
		}
		for _, sqpoll := range []bool{false, true} {
			t.Run(fmt.Sprintf("node%d/sqpoll=%v", n.ID, sqpoll), func(t *testing.T) {
				var rep ringReport
				var err error
				onLockedThread(t, func() {
					if err = PinThread(n.ID); err == nil {
						rep, err = ringOnNode(topo, n.ID, sqpoll)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if rep.skipped != "" {
					t.Skip(rep.skipped)
				}
				checkRing(t, topo, n.ID, rep)
			})
		}
	}
}

// TestRingWithoutIOWQAff is the control: on a pinned thread but without
// IORING_REGISTER_IOWQ_AFF, where do io-wq workers run? (Logged: it tells
// whether transports must register the affinity, which they should anyway.)
func TestRingWithoutIOWQAff(t *testing.T) {
	topo := liveTopology(t)
	n := topo.Nodes[len(topo.Nodes)-1]
	var rep ringReport
	var err error
	onLockedThread(t, func() {
		if err = PinThread(n.ID); err == nil {
			rep, err = ringOn(topo, n.ID, false, false)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.skipped != "" {
		t.Skip(rep.skipped)
	}
	t.Logf("thread pinned to node %d %v, no IOWQ_AFF: iou-wrk CPUs %v, ring pages by node %v", n.ID, n.CPUs, rep.wrk, rep.pages)
}

func checkRing(t *testing.T, topo *Topology, node int, rep ringReport) {
	t.Helper()
	want := topo.CPUs(node)
	if len(rep.pages) == 0 {
		t.Errorf("no io_uring pages found")
	}
	for n, p := range rep.pages {
		if n != node {
			t.Errorf("%d ring pages on node %d (want all on %d): %v", p, n, node, rep.pages)
		}
	}
	if !slices.Equal(rep.wrk, want) {
		t.Errorf("io-wq worker on CPUs %v, want %v", rep.wrk, want)
	}
	if rep.sqp != nil && !slices.Equal(rep.sqp, []int{rep.sqpCPU}) {
		t.Errorf("SQPOLL thread on CPUs %v, want [%d]", rep.sqp, rep.sqpCPU)
	}
	t.Logf("node %d: ring pages by node %v, iou-wrk CPUs %v, iou-sqp CPUs %v", node, rep.pages, rep.wrk, rep.sqp)
}
