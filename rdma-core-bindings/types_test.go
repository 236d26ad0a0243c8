package rdma

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"testing"
)

func TestWCErrorUnwrap(t *testing.T) {
	c := Completion{WRID: 7, Status: WCRemAccessErr, VendorErr: 0x89}
	err := c.Err()
	if !errors.Is(err, WCRemAccessErr) {
		t.Fatalf("errors.Is(%v, WCRemAccessErr) = false", err)
	}
	if errors.Is(err, WCWRFlushErr) {
		t.Fatalf("errors.Is(%v, WCWRFlushErr) = true", err)
	}
	var wce *WCError
	if !errors.As(err, &wce) || wce.WRID != 7 {
		t.Fatalf("errors.As: %#v", wce)
	}
	if got, want := err.Error(), "rdma: work request 0x7 failed: remote access error (status 10, vendor error 0x89)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if (&Completion{}).Err() != nil {
		t.Error("a successful completion has an error")
	}
	if s := WCStatus(99).String(); s != "unknown work completion status 99" {
		t.Errorf("WCStatus(99) = %q", s)
	}
}

func TestRejectedErrorIsConnRefused(t *testing.T) {
	err := fmt.Errorf("dial: %w", &RejectedError{Reason: 8})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("%v is not ECONNREFUSED", err)
	}
}

func TestMTU(t *testing.T) {
	for m, want := range map[MTU]int{0: 0, 1: 256, 3: 1024, 5: 4096, 6: 0} {
		if got := m.Bytes(); got != want {
			t.Errorf("MTU(%d).Bytes() = %d, want %d", m, got, want)
		}
	}
}

func TestAllocTracked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Alloc needs Linux")
	}
	before, _ := LiveObjects()
	b, err := Alloc(10000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 10000 {
		t.Fatalf("Len = %d", b.Len())
	}
	b.Bytes()[9999] = 1
	if !inBuffer(b.Bytes()[100:200]) || inBuffer(make([]byte, 10)) {
		t.Fatal("inBuffer is wrong")
	}
	if n, _ := LiveObjects(); n != before+1 {
		t.Fatalf("LiveObjects = %d, want %d", n, before+1)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if n, by := LiveObjects(); n != before {
		t.Fatalf("LiveObjects = %d %v after Close, want %d", n, by, before)
	}
	if inBuffer(make([]byte, 1)) {
		t.Fatal("inBuffer after Close")
	}
}
