package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"smb3d/smb3/client"
)

// TestChannelCutMidWritesUnderLease is issue 5's fault test: a session with
// two channels holds an RWH lease and writes; one channel's connection is
// cut in the middle of the writes. Every write the server acknowledged is
// in the file, and when a second client opens the file the lease break
// reaches the first client on its surviving channel, where it is
// acknowledged.
func TestChannelCutMidWritesUnderLease(t *testing.T) {
	addr, root := startServer(t)
	s := dial(t, addr, client.Config{User: testUser, Password: testPass, Sign: true, Breaks: true})
	if err := s.Bind(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	if s.Channels() != 2 {
		t.Fatalf("%d channels, want 2", s.Channels())
	}
	tr, err := s.TreeConnect(testShare)
	if err != nil {
		t.Fatal(err)
	}
	var key [16]byte
	rand.Read(key[:])
	const rwh = 1 | 2 | 4
	f, err := tr.Create("leased.bin", client.CreateOptions{
		Access: client.AccessGenericRead | client.AccessGenericWrite, Attributes: client.AttrNormal,
		Disposition: client.DispOpenIf, Options: client.OptNonDirectory,
		LeaseKey: &key, LeaseState: rwh,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Writes of 64 KiB blocks, spread over both channels; channel 0 is cut
	// after the 8th write has been acknowledged, while more are in flight.
	const block, n = 64 << 10, 48
	want := make([]byte, block*n)
	rand.Read(want)
	acked := make([]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := 0; i < n; i++ {
		if i == 12 {
			// Writes 8-11 (and earlier ones) may still be in flight here.
			s.DropChannel(0)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := f.WriteAt(want[i*block:(i+1)*block], int64(i*block))
			if err != nil {
				// A write on the cut channel fails; the client retries it
				// on the surviving one, as a real client replays it.
				_, err = f.WriteAt(want[i*block:(i+1)*block], int64(i*block))
			}
			if err == nil {
				mu.Lock()
				acked[i] = true
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if s.Channels() != 1 {
		t.Fatalf("%d channels after the cut, want 1", s.Channels())
	}
	got, err := os.ReadFile(filepath.Join(root, "leased.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if !acked[i] {
			t.Errorf("write %d was not acknowledged even after a retry on the surviving channel", i)
			continue
		}
		if len(got) < (i+1)*block || !bytes.Equal(got[i*block:(i+1)*block], want[i*block:(i+1)*block]) {
			t.Fatalf("acknowledged write %d is not in the file", i)
		}
	}
	// A second client opens the file for writing: the lease must break,
	// and the notification must reach the surviving channel.
	other := dial(t, addr, client.Config{User: testUser, Password: testPass})
	otr, err := other.TreeConnect(testShare)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		of, err := otr.OpenWrite("leased.bin")
		if err == nil {
			of.Close()
		}
		done <- err
	}()
	select {
	case br := <-s.Breaks():
		if br.Key != key {
			t.Fatalf("break for another lease key")
		}
		if br.Channel != 0 {
			t.Fatalf("break arrived on channel %d of the surviving list", br.Channel)
		}
		t.Logf("break %#x -> %#x on the surviving channel (ack required: %v)", br.Current, br.New, br.AckRequired)
		if br.AckRequired {
			if err := tr.AckLease(key, br.New); err != nil {
				t.Fatalf("lease ack: %v", err)
			}
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no lease break reached the surviving channel")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the second open failed after the break: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the second open did not complete after the acknowledgment")
	}
	f.Close()
}
