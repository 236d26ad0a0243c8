//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"runtime"
	"time"

	"smb3d/transport/tcp/uring"
)

// A ring owner: lock the thread, create the ring, submit, reap.
func Example() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := uring.Probe()
	if errors.Is(err, uring.ErrNotSupported) {
		log.Printf("no io_uring, using the netpoller: %v", err)
		return
	}
	log.Print(f) // the one line to log at start
	r, err := uring.New(uring.Config{Entries: 64})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	file, err := os.Open("/etc/hostname")
	if err != nil {
		log.Fatal(err)
	}
	defer file.Close()
	buf := make([]byte, 256) // pinned by the ring until its completion is reaped
	s, err := r.GetSQE()
	if err != nil {
		log.Fatal(err)
	}
	s.PrepRead(int(file.Fd()), buf, 0)
	s.SetUserData(42)
	if _, err := r.SubmitAndWait(1); err != nil {
		log.Fatal(err)
	}
	c, err := r.WaitCQE(time.Second)
	if err != nil {
		log.Fatal(err)
	}
	r.CQAdvance(1)
	if err := c.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("request %d read %d bytes\n", c.UserData, c.Res)
}

// Waking a ring owner from the netpoller: the owner sleeps in Eventfd.Wait (parked, not
// spinning) and reaps when the kernel signals a completion.
func ExampleEventfd() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := uring.New(uring.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	ev, err := uring.NewEventfd()
	if err != nil {
		log.Fatal(err)
	}
	defer ev.Close()
	if err := r.RegisterEventfd(ev.Fd()); err != nil {
		log.Fatal(err)
	}
	// ... submit receives ...
	cqes := make([]uring.CQE, 64)
	for r.Inflight() > 0 {
		if _, err := ev.Wait(); err != nil {
			return
		}
		// With DEFER_TASKRUN the completions are posted when the owner enters the kernel:
		// WaitCQEs(0, 0) does that without blocking.
		r.WaitCQEs(0, 0)
		n := r.PeekCQEs(cqes)
		for _, c := range cqes[:n] {
			_ = c // handle
		}
		r.CQAdvance(n)
	}
}
