//go:build !linux

package numa

import "errors"

func unsupported(f string) error {
	return &UnsupportedFeatureError{Feature: f, Reason: "placement needs Linux"}
}

// System reports no topology off Linux.
func System() (*Topology, error) { return nil, unsupported("topology") }

// PinThread is not supported off Linux; Unknown is still a no-op.
func PinThread(node int) error {
	if node == Unknown {
		return nil
	}
	return unsupported("thread pinning")
}

// PinThread is not supported off Linux; Unknown is still a no-op.
func (t *Topology) PinThread(node int) error { return PinThread(node) }

// SetThreadCPUs is not supported off Linux.
func SetThreadCPUs(cpus []int) error { return unsupported("thread pinning") }

// ThreadCPUs is not supported off Linux.
func ThreadCPUs() ([]int, error) { return nil, unsupported("thread affinity") }

// Alloc is not supported off Linux.
func Alloc(size, node int) ([]byte, error) { return nil, unsupported("node-bound memory") }

// Free is not supported off Linux.
func Free(b []byte) error {
	if cap(b) == 0 {
		return nil
	}
	return errors.New("numa: Free of memory not from Alloc")
}

// ThreadID is -1 off Linux.
func ThreadID() int { return -1 }
