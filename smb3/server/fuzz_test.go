package server_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"smb3d/smb3/wire"
)

// fuzzServerSeeds are whole requests as an authenticated client sends them,
// built with session, tree and message ids zero (FuzzServer fills them in).
func fuzzServerSeeds() [][]byte {
	c := &client{}
	all := wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)}
	related := func(m []byte) []byte {
		le.PutUint32(m[16:], le.Uint32(m[16:])|wire.FlagRelatedOperations)
		return m
	}
	chain := func(ms ...[]byte) []byte {
		var out []byte
		for i, m := range ms {
			for i < len(ms)-1 && len(m)%8 != 0 {
				m = append(m, 0)
			}
			if i < len(ms)-1 {
				le.PutUint32(m[20:], uint32(len(m)))
			}
			out = append(out, m...)
		}
		return out
	}
	reset := func(m []byte) []byte { le.PutUint64(m[24:], 0); return m }
	queryDir := func() []byte {
		p := utf16LE("*")
		m := c.header(wire.CmdQueryDirectory, 1)
		m = le.AppendUint16(m, 33)
		m = append(m, 0x25, 0x01)
		m = le.AppendUint32(m, 0)
		m = appendFID(m, all)
		m = le.AppendUint16(m, 96)
		m = le.AppendUint16(m, uint16(len(p)))
		m = le.AppendUint32(m, 65536)
		return append(m, p...)
	}
	queryInfo := func() []byte {
		m := c.header(wire.CmdQueryInfo, 1)
		m = le.AppendUint16(m, 41)
		m = append(m, wire.InfoFile, 0x12)
		m = le.AppendUint32(m, 65536)
		m = le.AppendUint16(m, 0)
		m = le.AppendUint16(m, 0)
		m = le.AppendUint32(m, 0)
		m = le.AppendUint32(m, 0)
		m = le.AppendUint32(m, 0)
		return appendFID(m, all)
	}
	ioctl := func() []byte {
		in := le.AppendUint32(nil, 0x7f)
		in = append(in, make([]byte, 16)...)
		in = le.AppendUint16(in, 1)
		in = le.AppendUint16(in, 1)
		in = le.AppendUint16(in, uint16(wire.Dialect311))
		m := c.header(wire.CmdIoctl, 1)
		m = le.AppendUint16(m, 57)
		m = le.AppendUint16(m, 0)
		m = le.AppendUint32(m, 0x00140204)
		m = appendFID(m, all)
		m = le.AppendUint32(m, 120)
		m = le.AppendUint32(m, uint32(len(in)))
		m = le.AppendUint32(m, 0)
		m = le.AppendUint32(m, 120)
		m = le.AppendUint32(m, 0)
		m = le.AppendUint32(m, 24)
		m = le.AppendUint32(m, wire.IoctlFlagIsFsctl)
		m = le.AppendUint32(m, 0)
		return append(m, in...)
	}
	lock := func() []byte {
		m := c.header(wire.CmdLock, 1)
		m = le.AppendUint16(m, 48)
		m = le.AppendUint16(m, 1)
		m = le.AppendUint32(m, 0)
		m = appendFID(m, all)
		m = le.AppendUint64(m, 0)
		m = le.AppendUint64(m, 10)
		m = le.AppendUint32(m, 0x12)
		return le.AppendUint32(m, 0)
	}
	setEOF := func() []byte {
		m := c.header(wire.CmdSetInfo, 1)
		m = le.AppendUint16(m, 33)
		m = append(m, wire.InfoFile, 0x14)
		m = le.AppendUint32(m, 8)
		m = le.AppendUint16(m, 96)
		m = le.AppendUint16(m, 0)
		m = le.AppendUint32(m, 0)
		m = appendFID(m, all)
		return le.AppendUint64(m, 100)
	}
	var seeds [][]byte
	for _, m := range [][]byte{
		c.echoRequest(),
		c.createRequest("fuzz.txt", accessRW, fileOverwriteIf, optNonDirectory),
		c.createRequest("", accessRead, fileOpen, optDirectory),
		chain(c.createRequest("fuzz.txt", accessRW, fileOpenIf, 0), related(c.writeRequest(all, 0, []byte("fuzz data"))),
			related(c.readRequest(all, 0, 100)), related(c.closeRequest(all))),
		chain(c.createRequest("", accessRead, fileOpen, optDirectory), related(queryDir()), related(c.closeRequest(all))),
		chain(c.createRequest("fuzz.txt", accessAll, fileOpenIf, 0), related(queryInfo()), related(setEOF()), related(lock()), related(c.closeRequest(all))),
		chain(c.createRequest("fuzz.txt", accessRead, fileOpenIf, 0), related(ioctl()), related(c.closeRequest(all))),
		ioctl(),
		chain(c.echoRequest(), c.echoRequest()),
	} {
		seeds = append(seeds, reset(m))
	}
	return seeds
}

// FuzzServer sends arbitrary bytes as one message on an authenticated
// connection (after NEGOTIATE, SESSION_SETUP and TREE_CONNECT), then an ECHO
// on the same connection, which must be answered unless the server
// disconnected; and an ECHO on a separate connection, which must always be
// answered. A panic anywhere in the server kills the test binary.
//
// When the input starts with an SMB2 header, its MessageId is set to the
// connection's next one, and zero SessionId and TreeId fields to the
// connection's, so that the fuzzer spends its time past the session checks.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzServerSeeds() {
		f.Add(s)
	}
	st := newServerTester(f)
	health := st.login()
	f.Fuzz(func(t *testing.T, in []byte) {
		v := st.loginTB(t)
		msg := append([]byte(nil), in...)
		next := v.msgID
		if len(msg) >= wire.HeaderSize && string(msg[:4]) == wire.ProtocolID {
			le.PutUint64(msg[24:], v.msgID)
			if le.Uint64(msg[40:]) == 0 {
				le.PutUint64(msg[40:], v.sessID)
			}
			if le.Uint32(msg[36:]) == 0 {
				le.PutUint32(msg[36:], v.treeID)
			}
			next += uint64(max(le.Uint16(msg[6:]), 1))
		}
		if len(msg) > 1<<24-1 {
			msg = msg[:1<<24-1]
		}
		if err := v.writeFrame(msg); err != nil {
			return // already disconnected
		}
		v.msgID = next
		echo := v.echoRequest()
		echoID := le.Uint64(echo[24:])
		if v.writeFrame(echo) == nil {
			deadline := time.Now().Add(ioTimeout)
			for {
				m, err := v.readFrame(time.Until(deadline))
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatalf("no answer to an ECHO and no disconnect after input %x", in)
					}
					break // disconnected
				}
				h := wire.Header(m)
				if h.Validate() == nil && h.Command() == wire.CmdEcho && h.MessageID() == echoID {
					break
				}
			}
		}
		health.t = t
		if s := health.echo(); s != wire.StatusSuccess {
			t.Fatalf("health ECHO: %v after input %x", s, in)
		}
	})
}

// TestWriteServerFuzzCorpus writes fuzzServerSeeds to testdata/fuzz/FuzzServer
// when SMB3D_WRITE_CORPUS is set.
func TestWriteServerFuzzCorpus(t *testing.T) {
	if os.Getenv("SMB3D_WRITE_CORPUS") == "" {
		t.Skip("set SMB3D_WRITE_CORPUS=1 to regenerate testdata/fuzz/FuzzServer")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzServer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzServerSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join("testdata", "fuzz", "FuzzServerPreauth")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzPreauthSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzServerPreauth sends arbitrary bytes as the first message of a fresh
// connection, then a NEGOTIATE and a SESSION_SETUP, and half-closes it; the
// server must answer or disconnect (never hang or panic), and a separate
// authenticated client must keep getting ECHO answers.
func FuzzServerPreauth(f *testing.F) {
	for _, s := range fuzzPreauthSeeds() {
		f.Add(s)
	}
	nc := &ntlmClient{}
	st := newServerTester(f)
	health := st.login()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			in = in[:1<<16]
		}
		v := st.dialTB(t)
		if v.writeFrame(in) == nil {
			v.writeFrame(v.negotiateRequest())
			v.writeFrame(v.sessionSetupRequest(nc.negotiate()))
			v.c.(*net.TCPConn).CloseWrite()
			deadline := time.Now().Add(ioTimeout)
			for {
				_, err := v.readFrame(time.Until(deadline))
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatalf("connection neither answered nor closed after input %x", in)
					}
					break
				}
			}
		}
		health.t = t
		if s := health.echo(); s != wire.StatusSuccess {
			t.Fatalf("health ECHO: %v after input %x", s, in)
		}
	})
}

// fuzzPreauthSeeds are first messages of a connection.
func fuzzPreauthSeeds() [][]byte {
	c := &client{}
	nc := &ntlmClient{}
	smb1 := func(ds ...string) []byte {
		var d []byte
		for _, s := range ds {
			d = append(append(append(d, 2), s...), 0)
		}
		m := append([]byte("\xffSMB\x72"), make([]byte, 27)...)
		m = append(m, 0, byte(len(d)), byte(len(d)>>8))
		return append(m, d...)
	}
	return [][]byte{
		c.negotiateRequest(),
		c.negotiateRequest(wire.Dialect202),
		(&client{ciphers: []uint16{1, 2, 3, 4}}).negotiateRequest(),
		smb1("NT LM 0.12", "SMB 2.002", "SMB 2.???"),
		c.sessionSetupRequest(nc.negotiate()),
		c.echoRequest(),
	}
}
