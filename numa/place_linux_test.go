package numa

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// onLockedThread runs f on a fresh goroutine locked to its OS thread, and
// lets that thread exit with it, so no pinned thread returns to the runtime.
func onLockedThread(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f()
	}()
	<-done
}

func liveTopology(t *testing.T) *Topology {
	t.Helper()
	topo, err := System()
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Nodes) == 0 {
		if _, err := os.Stat("/sys/devices/system/node"); err == nil {
			t.Fatal("/sys/devices/system/node exists but no node was discovered")
		}
		t.Skip("kernel without NUMA (no /sys/devices/system/node)")
	}
	return topo
}

// TestPinThreadLive pins a thread to each node of this machine and checks
// sched_getaffinity, /proc/self/task/TID/status and getcpu agree; then to a
// single CPU, so the test fails if pinning did nothing.
func TestPinThreadLive(t *testing.T) {
	topo := liveTopology(t)
	for _, n := range topo.Nodes {
		if len(n.CPUs) == 0 {
			continue
		}
		want := slices.DeleteFunc(slices.Clone(n.CPUs), func(c int) bool { return !slices.Contains(allowed, c) })
		onLockedThread(t, func() {
			if err := PinThread(n.ID); err != nil {
				t.Error(err)
				return
			}
			got, err := ThreadCPUs()
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("node %d: sched_getaffinity %v, %v; want %v", n.ID, got, err, want)
			}
			st, err := TaskStatus(unix.Gettid())
			if err != nil || !slices.Equal(st.CPUs, want) {
				t.Errorf("node %d: Cpus_allowed_list %v, %v; want %v", n.ID, st.CPUs, err, want)
			}
			if c, err := CurrentCPU(); err != nil || !slices.Contains(want, c) {
				t.Errorf("node %d: running on CPU %d (%v), outside %v", n.ID, c, err, want)
			}
			t.Logf("node %d: thread %d pinned to %v", n.ID, unix.Gettid(), got)
		})
	}
	// A topology whose node 9 is this process's last CPU alone.
	last := allowed[len(allowed)-1]
	one := &Topology{Nodes: []Node{{ID: 9, CPUs: []int{last}}}}
	onLockedThread(t, func() {
		if err := one.PinThread(9); err != nil {
			t.Error(err)
			return
		}
		runtime.Gosched()
		got, _ := ThreadCPUs()
		c, _ := CurrentCPU()
		st, _ := TaskStatus(unix.Gettid())
		if !slices.Equal(got, []int{last}) || c != last || !slices.Equal(st.CPUs, []int{last}) {
			t.Errorf("pinned to CPU %d: affinity %v, status %v, running on %d", last, got, st.CPUs, c)
		}
	})
	// The test's own thread is untouched.
	if got, _ := ThreadCPUs(); len(allowed) > 1 && len(got) == 1 {
		t.Errorf("pinning leaked to another thread: %v", got)
	}
	if err := one.PinThread(3); err == nil {
		t.Error("pinned to a node that does not exist")
	}
	if err := PinThread(Unknown); err != nil {
		t.Errorf("PinThread(Unknown) = %v", err)
	}
}

func TestCPUSet(t *testing.T) {
	topo := &Topology{Nodes: []Node{{ID: 0, CPUs: []int{0, 1}}, {ID: 1, CPUs: []int{2, 3}}, {ID: 2}}}
	if set, ok := topo.CPUSet(1); !ok || set.Count() != 2 || !set.IsSet(2) || !set.IsSet(3) {
		t.Errorf("CPUSet(1) = %v, %v", set, ok)
	}
	for _, n := range []int{Unknown, 2, 5} {
		if _, ok := topo.CPUSet(n); ok {
			t.Errorf("CPUSet(%d) ok", n)
		}
	}
}

// TestAllocLive allocates on each node and checks get_mempolicy,
// move_pages and numa_maps.
func TestAllocLive(t *testing.T) {
	topo := liveTopology(t)
	const size = 1<<20 + 100 // not a whole number of pages
	page := os.Getpagesize()
	pages := (size + page - 1) / page
	for _, n := range topo.Nodes {
		if n.MemoryBytes == 0 {
			continue
		}
		b, err := Alloc(size, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != size || cap(b) != pages*page {
			t.Errorf("len %d cap %d", len(b), cap(b))
		}
		mode, nodes, err := MemPolicy(b)
		if err != nil || mode != unix.MPOL_BIND || !slices.Equal(nodes, []int{n.ID}) {
			t.Errorf("node %d: get_mempolicy %s %v, %v", n.ID, ModeName(mode), nodes, err)
		}
		where, err := PageNodes(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range where {
			if w != n.ID {
				t.Fatalf("node %d: page %d on %d", n.ID, i, w)
			}
		}
		if pn, err := PageNode(b[len(b)-1:]); err != nil || pn != n.ID {
			t.Errorf("node %d: last page on %d (%v)", n.ID, pn, err)
		}
		e, err := NumaMaps(Addr(b))
		if err != nil {
			t.Fatal(err)
		}
		if e.Policy != "bind:"+strconv.Itoa(n.ID) || e.Pages[n.ID] < pages || len(e.Pages) != 1 {
			t.Errorf("numa_maps: %s", e.Line)
		}
		t.Logf("node %d: %d pages, get_mempolicy %s %v, numa_maps %q", n.ID, len(where), ModeName(mode), nodes, e.Line)
		b[size-1] = 1
		if err := Free(b); err != nil {
			t.Fatal(err)
		}
	}
	// Unknown: default policy, no binding.
	b, err := Alloc(4096, Unknown)
	if err != nil {
		t.Fatal(err)
	}
	if mode, nodes, err := MemPolicy(b); err != nil || mode != unix.MPOL_DEFAULT || len(nodes) != 0 {
		t.Errorf("unknown node: %s %v %v", ModeName(mode), nodes, err)
	}
	Free(b)
	// A node that is not there is the kernel's EINVAL, not a silent fallback.
	_, err = Alloc(4096, len(topo.Nodes)+5)
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("Alloc on a missing node: %v", err)
	}
	if _, err := Alloc(0, 0); err == nil {
		t.Error("Alloc(0) succeeded")
	}
}

// BenchmarkAlloc: the cost of a 1 MiB buffer under the default policy and
// bound to node 0 (mmap, mbind, faulting in every page).
func BenchmarkAlloc(b *testing.B) {
	for _, c := range []struct {
		name string
		node int
	}{{"default", Unknown}, {"bound", 0}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(1 << 20)
			for b.Loop() {
				buf, err := Alloc(1<<20, c.node)
				if err != nil {
					b.Fatal(err)
				}
				Free(buf)
			}
		})
	}
}

// BenchmarkCopy: 1 MiB copies into a Go heap buffer, an unbound mmap buffer,
// a node-0 buffer, and a node-0 buffer from a thread pinned to node 0. On a
// one-node machine the four must not differ beyond noise (issue 9's
// benchmark note); on two nodes the remote cases are what placement avoids.
func BenchmarkCopy(b *testing.B) {
	const size = 1 << 20
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	run := func(b *testing.B, dst []byte) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			copy(dst, src)
		}
	}
	b.Run("heap", func(b *testing.B) { run(b, make([]byte, size)) })
	b.Run("mmap", func(b *testing.B) {
		dst, err := Alloc(size, Unknown)
		if err != nil {
			b.Fatal(err)
		}
		defer Free(dst)
		run(b, dst)
	})
	b.Run("bound", func(b *testing.B) {
		dst, err := Alloc(size, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer Free(dst)
		run(b, dst)
	})
	b.Run("bound+pinned", func(b *testing.B) {
		dst, err := Alloc(size, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer Free(dst)
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			if err := PinThread(0); err != nil {
				b.Error(err)
				return
			}
			run(b, dst)
		}()
		<-done
	})
}

// BenchmarkPinThread: the per-channel cost of pinning (one
// sched_setaffinity).
func BenchmarkPinThread(b *testing.B) {
	if _, err := System(); err != nil {
		b.Skip(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		for b.Loop() {
			if err := PinThread(0); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	<-done
}
