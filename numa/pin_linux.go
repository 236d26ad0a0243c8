package numa

import (
	"fmt"
	"os"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// allowed is the process's CPU affinity when the package was initialised
// (init runs on the main thread before any placement): a pinned thread gets
// its node's CPUs within these, never CPUs a cpuset or taskset took away.
var allowed []int

func init() {
	allowed, _ = ThreadCPUs()
}

var system struct {
	once sync.Once
	t    *Topology
	err  error
}

// System is the live machine's topology (DefaultSysRoot), discovered once.
func System() (*Topology, error) {
	system.once.Do(func() { system.t, system.err = Discover(DefaultSysRoot) })
	return system.t, system.err
}

// PinThread sets the CPU affinity of the calling OS thread to the CPUs of
// node on the live machine. The caller must hold runtime.LockOSThread for as
// long as the goroutine relies on the placement, and should let the thread
// exit with the goroutine (return without UnlockOSThread) rather than hand a
// pinned thread back to the scheduler. node == Unknown is a no-op.
func PinThread(node int) error {
	if node == Unknown {
		return nil
	}
	t, err := System()
	if err != nil {
		return err
	}
	return t.PinThread(node)
}

// PinThread pins the calling OS thread to the CPUs t lists for node, within
// the CPUs the process may use. node == Unknown is a no-op.
func (t *Topology) PinThread(node int) error {
	if node == Unknown {
		return nil
	}
	n, ok := t.Node(node)
	if !ok {
		return fmt.Errorf("numa: pin thread: no node %d", node)
	}
	cpus := n.CPUs
	if len(allowed) > 0 {
		cpus = slices.DeleteFunc(slices.Clone(cpus), func(c int) bool { return !slices.Contains(allowed, c) })
	}
	if len(cpus) == 0 {
		return fmt.Errorf("numa: pin thread: node %d has no CPU this process may use", node)
	}
	return SetThreadCPUs(cpus)
}

// SetThreadCPUs sets the calling OS thread's CPU affinity
// (sched_setaffinity(0, ...)).
func SetThreadCPUs(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= len(set)*64 {
			return fmt.Errorf("numa: CPU %d out of range", c)
		}
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return os.NewSyscallError("sched_setaffinity", err)
	}
	return nil
}

// ThreadCPUs is the calling OS thread's CPU affinity (sched_getaffinity(0)).
func ThreadCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, os.NewSyscallError("sched_getaffinity", err)
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// CPUSet is node's CPUs as a unix.CPUSet (for io_uring's
// IORING_REGISTER_IOWQ_AFF and SQ_AFF); ok is false for an unknown node.
func (t *Topology) CPUSet(node int) (set unix.CPUSet, ok bool) {
	n, found := t.Node(node)
	if !found || len(n.CPUs) == 0 {
		return set, false
	}
	for _, c := range n.CPUs {
		if c < len(set)*64 {
			set.Set(c)
		}
	}
	return set, true
}

// ThreadID is the calling OS thread's id (gettid), as /proc/self/task names
// it.
func ThreadID() int { return unix.Gettid() }
