package server_test

import (
	"bytes"
	"testing"
	"time"

	"smb3d/smb3/wire"
)

func durableReconnectContext(fid wire.FileID) wire.CreateContext {
	return wire.CreateContext{Name: "DHnC", Data: appendFID(nil, fid)}
}

// TestDurableReconnectAfterCut: a durable handle (DHnQ with a batch oplock)
// survives its TCP connection being cut in the middle of writes; a new
// connection of the same user reconnects it (DHnC) with its batch oplock,
// and the file holds exactly the writes the server acknowledged, plus at
// most the one in flight when the connection was cut.
func TestDurableReconnectAfterCut(t *testing.T) {
	st := newServerTester(t)
	c1 := st.login()
	r := doCreate(t, c1, createWith(c1, "durable.dat", tAccessAll, tDispOpenIf, 0, tOplockBatch,
		[]wire.CreateContext{{Name: "DHnQ", Data: make([]byte, 16)}}))
	if r.status != wire.StatusSuccess || r.oplock != tOplockBatch {
		t.Fatalf("durable open: %v, oplock %#x", r.status, r.oplock)
	}
	if _, ok := r.ctxs["DHnQ"]; !ok {
		t.Fatalf("no durable handle response context: %v", r.ctxs)
	}
	var acked []byte
	for i := 0; i < 4; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 1000)
		if s := c1.write(r.fid, uint64(len(acked)), chunk); s != wire.StatusSuccess {
			t.Fatalf("write %d: %v", i, s)
		}
		acked = append(acked, chunk...)
	}
	inflight := bytes.Repeat([]byte{'z'}, 1000)
	c1.send(c1.writeRequest(r.fid, uint64(len(acked)), inflight))
	c1.c.Close() // cut, without LOGOFF or CLOSE

	c2 := st.login()
	var rc createResult
	for deadline := time.Now().Add(ioTimeout); ; {
		rc = doCreate(t, c2, createWith(c2, "durable.dat", 0, 0, 0, 0,
			[]wire.CreateContext{durableReconnectContext(r.fid)}))
		// The server may not have seen the cut yet: the open is then
		// still connected and the reconnect finds nothing.
		if rc.status != wire.StatusObjectNameNotFound || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rc.status != wire.StatusSuccess || rc.oplock != tOplockBatch {
		t.Fatalf("durable reconnect: %v, oplock %#x; want success with the batch oplock", rc.status, rc.oplock)
	}
	got, s := c2.read(rc.fid, 0, 64<<10)
	if s != wire.StatusSuccess {
		t.Fatalf("read after reconnect: %v", s)
	}
	if !bytes.Equal(got, acked) && !bytes.Equal(got, append(append([]byte(nil), acked...), inflight...)) {
		t.Fatalf("after reconnect the file has %d bytes (%q...), want the %d acknowledged (+ %d in flight)", len(got), got[:min(len(got), 16)], len(acked), len(inflight))
	}
	if s := c2.close(rc.fid); s != wire.StatusSuccess {
		t.Fatalf("close: %v", s)
	}
	// Closed for good: no second reconnect.
	if rc := doCreate(t, c2, createWith(c2, "durable.dat", 0, 0, 0, 0, []wire.CreateContext{durableReconnectContext(r.fid)})); rc.status != wire.StatusObjectNameNotFound {
		t.Fatalf("reconnect after close: %v, want STATUS_OBJECT_NAME_NOT_FOUND", rc.status)
	}
}

// TestDurableContextCombinations: durable request and reconnect contexts
// that MS-SMB2 3.3.5.9.12 forbids together are refused.
func TestDurableContextCombinations(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	fid := wire.FileID{Persistent: 1, Volatile: 2}
	dh2q := wire.CreateContext{Name: "DH2Q", Data: make([]byte, 32)}
	dh2c := wire.CreateContext{Name: "DH2C", Data: append(appendFID(nil, fid), make([]byte, 20)...)}
	dhnq := wire.CreateContext{Name: "DHnQ", Data: make([]byte, 16)}
	for name, ctxs := range map[string][]wire.CreateContext{
		"DH2C+DHnQ": {dh2c, dhnq},
		"DHnC+DH2Q": {durableReconnectContext(fid), dh2q},
		"DHnC+DH2C": {durableReconnectContext(fid), dh2c},
		"DH2C+DH2Q": {dh2c, dh2q},
	} {
		if r := doCreate(t, c, createWith(c, "x.dat", tAccessAll, tDispOpenIf, tShareAll, tOplockBatch, ctxs)); r.status != wire.StatusInvalidParameter {
			t.Errorf("%s: %v, want STATUS_INVALID_PARAMETER", name, r.status)
		}
	}
	// A reconnect of a handle that does not exist.
	if r := doCreate(t, c, createWith(c, "x.dat", 0, 0, 0, 0, []wire.CreateContext{durableReconnectContext(fid)})); r.status != wire.StatusObjectNameNotFound {
		t.Errorf("reconnect of an unknown handle: %v, want STATUS_OBJECT_NAME_NOT_FOUND", r.status)
	}
}

// TestDurableV2Replay: a replayed durable v2 CREATE (same CreateGuid, with
// SMB2_FLAGS_REPLAY_OPERATION) gets the original open back; the same
// CreateGuid without the flag is STATUS_DUPLICATE_OBJECTID (MS-SMB2
// 3.3.5.9.10).
func TestDurableV2Replay(t *testing.T) {
	st := newServerTester(t)
	c := st.login()
	guid := [16]byte{9, 8, 7, 6, 5, 4, 3, 2, 1}
	dh2q := wire.CreateContext{Name: "DH2Q", Data: append(make([]byte, 16), guid[:]...)}
	req := func() []byte {
		return createWith(c, "replay.dat", tAccessAll, tDispOpenIf, tShareAll, tOplockBatch, []wire.CreateContext{dh2q})
	}
	r1 := doCreate(t, c, req())
	if r1.status != wire.StatusSuccess || r1.oplock != tOplockBatch {
		t.Fatalf("first CREATE: %v, oplock %#x", r1.status, r1.oplock)
	}
	if _, ok := r1.ctxs["DH2Q"]; !ok {
		t.Fatalf("no DH2Q response: durable v2 not granted with a batch oplock")
	}
	replay := req()
	le.PutUint32(replay[16:], le.Uint32(replay[16:])|wire.FlagReplayOperation)
	r2 := doCreate(t, c, replay)
	if r2.status != wire.StatusSuccess || r2.fid != r1.fid || r2.oplock != tOplockBatch {
		t.Fatalf("replay: %v, %v oplock %#x; want the original %v with its batch oplock", r2.status, r2.fid, r2.oplock, r1.fid)
	}
	if r3 := doCreate(t, c, req()); r3.status != wire.StatusDuplicateObjectID {
		t.Fatalf("CreateGuid reused without the replay flag: %v, want STATUS_DUPLICATE_OBJECTID", r3.status)
	}
}
