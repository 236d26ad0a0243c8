package numa

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TaskPlacement is what /proc/self/task/TID/status says of a thread.
type TaskPlacement struct {
	CPUs []int // Cpus_allowed_list
	Mems []int // Mems_allowed_list
}

// TaskStatus reads the placement of thread tid of this process
// (unix.Gettid() for the calling thread) from /proc/self/task/TID/status.
func TaskStatus(tid int) (TaskPlacement, error) {
	var tp TaskPlacement
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		return tp, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "Cpus_allowed_list":
			tp.CPUs, err = ParseCPUList(v)
		case "Mems_allowed_list":
			tp.Mems, err = ParseCPUList(v)
		}
		if err != nil {
			return tp, fmt.Errorf("numa: task %d status: %w", tid, err)
		}
	}
	return tp, nil
}

// CurrentCPU is the CPU the calling thread runs on (getcpu(2)).
func CurrentCPU() (int, error) {
	var cpu, node uint32
	// x/sys has no Getcpu wrapper on every version; the raw call is stable.
	_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptrOf(&cpu), uintptrOf(&node), 0)
	if e != 0 {
		return -1, os.NewSyscallError("getcpu", e)
	}
	return int(cpu), nil
}

// NumaMapsEntry is one mapping's line of /proc/self/numa_maps.
type NumaMapsEntry struct {
	Start, End uintptr     // the mapping (VMA), from /proc/self/maps
	Policy     string      // "default", "bind:1", "interleave:0-1", ...
	Pages      map[int]int // node -> pages present there (the N<node>=<pages> fields)
	Line       string
}

// NumaMaps finds the mapping that contains addr in /proc/self/numa_maps. The
// kernel merges adjacent anonymous mappings with the same policy into one
// VMA, so the entry may start before addr and cover more than one Alloc.
func NumaMaps(addr uintptr) (NumaMapsEntry, error) {
	start, end, err := mappingOf(addr)
	if err != nil {
		return NumaMapsEntry{}, err
	}
	f, err := os.Open("/proc/self/numa_maps")
	if err != nil {
		return NumaMapsEntry{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		a, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil || uintptr(a) != start {
			continue
		}
		e := NumaMapsEntry{Start: start, End: end, Policy: fs[1], Pages: map[int]int{}, Line: sc.Text()}
		for _, kv := range fs[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || len(k) < 2 || k[0] != 'N' {
				continue
			}
			n, err1 := strconv.Atoi(k[1:])
			p, err2 := strconv.Atoi(v)
			if err1 == nil && err2 == nil {
				e.Pages[n] = p
			}
		}
		return e, nil
	}
	if err := sc.Err(); err != nil {
		return NumaMapsEntry{}, err
	}
	return NumaMapsEntry{}, fmt.Errorf("numa: no mapping at %#x in /proc/self/numa_maps", start)
}

// mappingOf is the [start, end) of the mapping that holds addr
// (/proc/self/maps).
func mappingOf(addr uintptr) (uintptr, uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r, _, _ := strings.Cut(sc.Text(), " ")
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uintptr(a) <= addr && addr < uintptr(b) {
			return uintptr(a), uintptr(b), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return 0, 0, fmt.Errorf("numa: no mapping holds %#x", addr)
}

// ModeName names a memory policy mode as numa_maps does.
func ModeName(mode int) string {
	switch mode &^ (unix.MPOL_F_STATIC_NODES | unix.MPOL_F_RELATIVE_NODES) {
	case unix.MPOL_DEFAULT:
		return "default"
	case unix.MPOL_PREFERRED:
		return "prefer"
	case unix.MPOL_BIND:
		return "bind"
	case unix.MPOL_INTERLEAVE:
		return "interleave"
	case unix.MPOL_LOCAL:
		return "local"
	}
	return "mode" + strconv.Itoa(mode)
}
