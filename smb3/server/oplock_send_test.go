package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"smb3d/transport"
)

// fakeChannel is a transport connection that records what is sent and
// reports a fixed number of unacknowledged bytes.
type fakeChannel struct {
	mu      sync.Mutex
	sent    [][]byte
	fail    bool
	unacked int
}

func (f *fakeChannel) ReadMessage() ([]byte, error) { return nil, io.EOF }
func (f *fakeChannel) WriteMessage(bufs ...[]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("broken channel")
	}
	var m []byte
	for _, b := range bufs {
		m = append(m, b...)
	}
	f.sent = append(f.sent, m)
	return nil
}
func (f *fakeChannel) SetMaxMessage(int)     {}
func (f *fakeChannel) Close() error          { return nil }
func (f *fakeChannel) LocalAddr() net.Addr   { return &net.TCPAddr{} }
func (f *fakeChannel) RemoteAddr() net.Addr  { return &net.TCPAddr{} }
func (f *fakeChannel) Caps() transport.Caps  { return 0 }
func (f *fakeChannel) Name() string          { return "fake" }
func (f *fakeChannel) Unacked() (int, error) { return f.unacked, nil }
func (f *fakeChannel) count() int            { f.mu.Lock(); defer f.mu.Unlock(); return len(f.sent) }

// TestDeliverBreakRetries: a break goes out on the first channel that
// takes it; a channel whose send fails is skipped, and one whose peer does
// not acknowledge the bytes in time gets the break resent on the next.
func TestDeliverBreakRetries(t *testing.T) {
	defer func(d time.Duration) { breakDeliveryTimeout = d }(breakDeliveryTimeout)
	breakDeliveryTimeout = 50 * time.Millisecond
	s := &Server{log: slog.New(slog.DiscardHandler)}
	sess := &session{}
	broken := &fakeChannel{fail: true}
	stuck := &fakeChannel{unacked: 100}
	good := &fakeChannel{}
	ts := []breakTarget{{&conn{t: broken}, sess}, {&conn{t: stuck}, sess}, {&conn{t: good}, sess}}
	s.deliverBreak(ts, []byte("break"), nil)
	if stuck.count() != 1 {
		t.Fatalf("the first working channel got %d notifications, want 1", stuck.count())
	}
	deadline := time.Now().Add(5 * time.Second)
	for good.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if good.count() != 1 {
		t.Fatalf("the notification was not resent on the next channel")
	}
	// A channel that takes the bytes ends the delivery.
	acked := &fakeChannel{}
	other := &fakeChannel{}
	s.deliverBreak([]breakTarget{{&conn{t: acked}, sess}, {&conn{t: other}, sess}}, []byte("break"), nil)
	time.Sleep(150 * time.Millisecond)
	if acked.count() != 1 || other.count() != 0 {
		t.Fatalf("sent %d and %d times, want once on the first channel", acked.count(), other.count())
	}
}

// TestDeliverBreakStale: a break whose first channel cannot confirm
// delivery (here: stuck; in smb2.lease.v2_rename a connection that closed
// and took the lease's opens with it) is not resent once it no longer
// matters, so no other connection of the client gets a stale break.
func TestDeliverBreakStale(t *testing.T) {
	defer func(d time.Duration) { breakDeliveryTimeout = d }(breakDeliveryTimeout)
	breakDeliveryTimeout = 50 * time.Millisecond
	s := &Server{log: slog.New(slog.DiscardHandler)}
	sess := &session{}
	stuck := &fakeChannel{unacked: 100}
	other := &fakeChannel{}
	var mu sync.Mutex
	matters := false
	still := func() bool { mu.Lock(); defer mu.Unlock(); return matters }
	s.deliverBreak([]breakTarget{{&conn{t: stuck}, sess}, {&conn{t: other}, sess}}, []byte("break"), still)
	time.Sleep(200 * time.Millisecond)
	if stuck.count() != 1 || other.count() != 0 {
		t.Fatalf("sent %d and %d times, want once on the first channel only", stuck.count(), other.count())
	}
	mu.Lock()
	matters = true
	mu.Unlock()
	stuck2 := &fakeChannel{unacked: 100}
	s.deliverBreak([]breakTarget{{&conn{t: stuck2}, sess}, {&conn{t: other}, sess}}, []byte("break"), still)
	deadline := time.Now().Add(5 * time.Second)
	for other.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if other.count() != 1 {
		t.Fatal("a break that still matters was not resent")
	}
}
