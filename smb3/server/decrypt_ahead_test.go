package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

// decryptAheadSize is a WRITE payload large enough for the server to
// decrypt its message off the reading goroutine (conn.go decryptAhead).
const decryptAheadSize = 200 << 10

// recvPlain reads one response frame, decrypting it when it is sealed; it
// returns the whole (possibly compound) plaintext.
func (c *client) recvPlain() []byte {
	c.t.Helper()
	m, err := c.readFrame(ioTimeout)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if crypt.IsTransform(m) {
		if m, err = c.dec.Open(nil, m); err != nil {
			c.t.Fatalf("decrypt response: %v", err)
		}
	}
	if err := wire.Header(m).Validate(); err != nil {
		c.t.Fatalf("response header: %v", err)
	}
	return m
}

// chainOf joins requests into one compound message, each after the first
// related to the one before it when related is set.
func chainOf(related bool, msgs ...[]byte) []byte {
	var chain []byte
	for i, m := range msgs {
		if i > 0 && related {
			le.PutUint32(m[16:], le.Uint32(m[16:])|wire.FlagRelatedOperations)
		}
		for i < len(msgs)-1 && len(m)%8 != 0 {
			m = append(m, 0)
		}
		if i < len(msgs)-1 {
			le.PutUint32(m[20:], uint32(len(m)))
		}
		chain = append(chain, m...)
	}
	return chain
}

func pattern(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7 + j>>9)
	}
	return b
}

// TestDecryptAheadOrder: large encrypted WRITEs sent back to back, each
// decrypted off the reading goroutine, are still taken in arrival order. A
// CLOSE pipelined right behind them is answered after every WRITE (it
// waits for the WRITEs it follows, which it can only do when they were
// accounted for before it ran), and the file holds every WRITE's bytes.
// Then a large compound (CREATE + WRITE + CLOSE, related) is run in order
// as a chain; a large compound ending in a CHANGE_NOTIFY that goes async
// passes the connection's turn on, so a request after it is answered; and
// a tampered large message behind a good chain drops the connection only
// after the chain is answered. For a GCM and a CCM cipher.
func TestDecryptAheadOrder(t *testing.T) {
	for _, id := range []uint16{crypt.CipherAES128GCM, crypt.CipherAES128CCM} {
		t.Run(cipherNames[id], func(t *testing.T) {
			st := newServerTester(t, func(c *serverConfig) {
				c.EncryptData = true
				c.Ciphers = []uint16{id}
			})
			c := st.loginEncrypted(t, id)

			// Pipelined WRITEs, then CLOSE.
			f, s := c.create("ahead.bin", accessRW, fileOverwriteIf, optNonDirectory)
			if s != wire.StatusSuccess {
				t.Fatalf("create: %v", s)
			}
			const n = 8
			var want []byte
			ids := map[uint64]int{}
			for i := range n {
				data := pattern(i, decryptAheadSize)
				want = append(want, data...)
				m := c.writeRequest(f, uint64(i*decryptAheadSize), data)
				ids[le.Uint64(m[24:])] = i
				c.send(m)
			}
			cl := c.closeRequest(f)
			closeID := le.Uint64(cl[24:])
			c.send(cl)
			for range n + 1 {
				h := c.recv()
				if s := wire.Status(h.Status()); s != wire.StatusSuccess {
					t.Fatalf("%v (message %d): %v", h.Command(), h.MessageID(), s)
				}
				if h.MessageID() == closeID {
					if len(ids) != 0 {
						t.Fatalf("CLOSE answered before %d of the WRITEs before it", len(ids))
					}
					continue
				}
				if _, ok := ids[h.MessageID()]; !ok || h.Command() != wire.CmdWrite {
					t.Fatalf("unexpected response %v to message %d", h.Command(), h.MessageID())
				}
				delete(ids, h.MessageID())
			}
			got, err := os.ReadFile(filepath.Join(st.root, "ahead.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("file holds %d bytes, want the %d written (equal: false)", len(got), len(want))
			}

			// One large related chain: CREATE + WRITE + CLOSE.
			all := wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)}
			data := pattern(99, decryptAheadSize)
			c.send(chainOf(true,
				c.createRequest("chain.bin", accessRW, fileOverwriteIf, optNonDirectory),
				c.writeRequest(all, 0, data),
				c.closeRequest(all)))
			resp := c.recvPlain()
			var cmds []wire.Command
			for rest := resp; ; {
				k, more, err := wire.SplitCompound(rest)
				if err != nil {
					t.Fatalf("response chain: %v", err)
				}
				h := wire.Header(rest[:k])
				if s := wire.Status(h.Status()); s != wire.StatusSuccess {
					t.Fatalf("chain: %v: %v", h.Command(), s)
				}
				cmds = append(cmds, h.Command())
				if !more {
					break
				}
				rest = rest[k:]
			}
			if len(cmds) != 3 || cmds[0] != wire.CmdCreate || cmds[1] != wire.CmdWrite || cmds[2] != wire.CmdClose {
				t.Fatalf("chain responses %v", cmds)
			}
			if got, _ := os.ReadFile(filepath.Join(st.root, "chain.bin")); !bytes.Equal(got, data) {
				t.Fatalf("chain.bin holds %d bytes, want %d", len(got), len(data))
			}

			// A large chain whose last request goes async: the next
			// request is still answered.
			g, s := c.create("async.bin", accessRW, fileOverwriteIf, optNonDirectory)
			if s != wire.StatusSuccess {
				t.Fatalf("create: %v", s)
			}
			dir, s := c.create("", accessRead, fileOpen, optDirectory)
			if s != wire.StatusSuccess {
				t.Fatalf("open root: %v", s)
			}
			c.send(chainOf(false, c.writeRequest(g, 0, data), c.changeNotifyRequest(dir)))
			m, err := c.readFrame(ioTimeout) // the WRITE's response and the interim
			if err != nil {
				t.Fatal(err)
			}
			if m, err = c.dec.Open(nil, m); err != nil {
				t.Fatal(err)
			}
			if s := c.echo(); s != wire.StatusSuccess {
				t.Fatalf("ECHO after a large chain that went async: %v", s)
			}
			c.send(c.closeRequest(dir)) // completes the notify too
			got2 := map[wire.Command]bool{}
			for range 2 {
				got2[c.recv().Command()] = true
			}
			if !got2[wire.CmdClose] || !got2[wire.CmdChangeNotify] {
				t.Fatalf("after closing the directory: responses %v, want CLOSE and CHANGE_NOTIFY", got2)
			}
			c.close(g)

			// A good large message, then a tampered one.
			v := st.loginEncrypted(t, id)
			h, s := v.create("tamper.bin", accessRW, fileOverwriteIf, optNonDirectory)
			if s != wire.StatusSuccess {
				t.Fatalf("create: %v", s)
			}
			// A chain is answered within its turn (a lone WRITE would be
			// answered by its own goroutine, which may lose the race with
			// the disconnect).
			v.send(chainOf(false, v.writeRequest(h, 0, data), v.echoRequest()))
			bad := v.enc.Seal(nil, v.writeRequest(h, uint64(len(data)), data), v.sessID)
			bad[len(bad)-100] ^= 1
			if err := v.writeFrame(bad); err != nil {
				t.Fatal(err)
			}
			if r := wire.Header(v.recvPlain()); r.Command() != wire.CmdWrite || wire.Status(r.Status()) != wire.StatusSuccess {
				t.Fatalf("the good chain before a tampered one: %v %v", r.Command(), wire.Status(r.Status()))
			}
			v.sealed = false
			if _, err := v.expectDisconnect(false); err != nil {
				t.Fatalf("tampered large message: %v", err)
			}
			c.roundTrip("after.txt")
		})
	}
}

// TestDecryptAheadBudget: with a memory budget that holds about one large
// message, pipelined large encrypted WRITEs are decrypted inline once the
// budget is taken (decryptAhead gives way) instead of waiting on it, and all
// complete in order with the file intact: no deadlock between messages
// holding budget ahead and the step before them.
func TestDecryptAheadBudget(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) {
		c.EncryptData = true
		c.Ciphers = []uint16{crypt.CipherAES128GCM}
		c.MaxConnMemory = 300 << 10
	})
	c := st.loginEncrypted(t, crypt.CipherAES128GCM)
	f, s := c.create("budget.bin", accessRW, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("create: %v", s)
	}
	const n = 12
	var want []byte
	for i := range n {
		data := pattern(i+40, decryptAheadSize)
		want = append(want, data...)
		c.send(c.writeRequest(f, uint64(i*decryptAheadSize), data))
	}
	c.send(c.readRequest(f, 0, 64<<10)) // a READ adds its length to the budget
	for range n + 1 {
		if h := c.recv(); wire.Status(h.Status()) != wire.StatusSuccess {
			t.Fatalf("%v: %v", h.Command(), wire.Status(h.Status()))
		}
	}
	if s := c.close(f); s != wire.StatusSuccess {
		t.Fatalf("close: %v", s)
	}
	if got, _ := os.ReadFile(filepath.Join(st.root, "budget.bin")); !bytes.Equal(got, want) {
		t.Fatalf("budget.bin holds %d bytes, want %d", len(got), len(want))
	}
}

// TestPooledReadBuffers: READ responses that are not spliced (encrypted
// here, so every one goes through user space) are built in pooled buffers
// (io.go growRead); pipelined READs of different ranges, two rounds so the
// second reuses the first's buffers, each return exactly their range.
func TestPooledReadBuffers(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) {
		c.EncryptData = true
		c.Ciphers = []uint16{crypt.CipherAES128GCM}
	})
	const size, n = 300 << 10, 12
	var data []byte
	for i := range n {
		data = append(data, pattern(i+7, size)...)
	}
	if err := os.WriteFile(filepath.Join(st.root, "pooled.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := st.loginEncrypted(t, crypt.CipherAES128GCM)
	f, s := c.create("pooled.bin", accessRead, fileOpen, optNonDirectory)
	if s != wire.StatusSuccess {
		t.Fatalf("open: %v", s)
	}
	for round := range 2 {
		offs, lens := map[uint64]uint64{}, map[uint64]int{}
		for i := range n {
			// Overlapping, unaligned ranges of varying length.
			off := uint64(i*size + round*1000)
			m := c.readRequest(f, off, uint32(size-i*4096))
			offs[le.Uint64(m[24:])] = off
			lens[le.Uint64(m[24:])] = size - i*4096
			c.send(m)
		}
		for range n {
			h := c.recv()
			if s := wire.Status(h.Status()); s != wire.StatusSuccess {
				t.Fatalf("READ: %v", s)
			}
			off, ok := offs[h.MessageID()]
			if !ok {
				t.Fatalf("response to unknown message %d", h.MessageID())
			}
			delete(offs, h.MessageID())
			body := h[wire.HeaderSize:]
			doff, dlen := int(body[2]), int(le.Uint32(body[4:]))
			if dlen != lens[h.MessageID()] {
				t.Fatalf("READ at %d: %d bytes, want %d", off, dlen, lens[h.MessageID()])
			}
			got := h[doff : doff+dlen]
			want := data[off:min(int(off)+dlen, len(data))]
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: READ at %d: %d bytes differ from the file", round, off, dlen)
			}
		}
	}
}
