//go:build !(rdma && cgo && linux)

package rdma

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestNotCompiled(t *testing.T) {
	_, err1 := Devices()
	_, err2 := OpenDevice("")
	_, err3 := Listen(netip.MustParseAddrPort("127.0.0.1:5445"), 1)
	_, err4 := Resolve(context.Background(), netip.MustParseAddrPort("127.0.0.1:5445"), nil)
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, ErrNotCompiled) {
			t.Errorf("constructor %d: %v, want ErrNotCompiled", i, err)
		}
	}
	if got := ErrNotCompiled.Error(); got != "smb3d built without rdma-core: rebuild with -tags rdma" {
		t.Errorf("ErrNotCompiled = %q", got)
	}
}

func TestAvailableNotCompiled(t *testing.T) {
	if err := Available(); !errors.Is(err, ErrNotCompiled) {
		t.Fatalf("Available() = %v, want ErrNotCompiled", err)
	}
}
