package rdma

import (
	"fmt"
	"sync"
)

// Available reports whether RDMA can be used here: nil, ErrNotCompiled
// (built without the rdma tag), or an error wrapping ErrNoDevice when
// rdma-core finds no device (e.g. a kernel without RDMA, or no rxe link).
// The answer is probed once and cached; callers such as the SMB-Direct
// listener use it to decide whether to start and to say why not.
func Available() error { return available() }

var available = sync.OnceValue(func() error {
	devs, err := Devices()
	if err != nil {
		return err
	}
	for _, d := range devs {
		for _, p := range d.Ports {
			if p.State == PortActive {
				return nil
			}
		}
	}
	if len(devs) > 0 {
		return fmt.Errorf("%w with an active port (%d devices)", ErrNoDevice, len(devs))
	}
	return fmt.Errorf("%w found by rdma-core (no RDMA device in the kernel: load rdma_rxe and add a link, see test/soft-roce)", ErrNoDevice)
})
