package server_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/crypt"
	"smb3d/smb3/server"
	"smb3d/smb3/wire"
)

var le = binary.LittleEndian

const (
	testUser   = "alice"
	testPass   = "Corr3ct-Horse"
	testShare  = "share"
	secretName = "secret.txt"
	secretText = "smb3d-test-secret: if a client reads this, the share leaked\n"
	ioTimeout  = 10 * time.Second
)

// serverTester runs a server on a temporary share over a loopback TCP
// listener. Beside the share, outside/secret.txt holds a marker that no
// client may ever read.
type serverTester struct {
	t       testing.TB
	srv     *server.Server
	addr    string
	root    string // the share's directory
	outside string // a directory beside the share
	served  chan error
}

type serverConfig = server.Config

type testerOption func(*serverConfig)

func newServerTester(t testing.TB, opts ...testerOption) *serverTester {
	t.Helper()
	dir := t.TempDir()
	st := &serverTester{t: t, root: filepath.Join(dir, "share"), outside: filepath.Join(dir, "outside"), served: make(chan error, 1)}
	for _, d := range []string{st.root, st.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(st.outside, secretName), []byte(secretText), 0o644); err != nil {
		t.Fatal(err)
	}
	users := auth.NewUsers()
	users.Set(testUser, auth.NTHash(testPass))
	logLevel := slog.LevelError + 1
	if os.Getenv("SMB3D_TEST_LOG") != "" {
		logLevel = slog.LevelDebug
	}
	cfg := server.Config{
		Users:  users,
		Shares: []server.ShareConfig{{Name: testShare, Path: st.root}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st.srv, st.addr = srv, l.Addr().String()
	tl := testListener(t, l) // transport_test.go: the transport under test
	go func() { st.served <- srv.Serve(tl) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-st.served:
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(ioTimeout):
			t.Errorf("Serve did not return after Close")
		}
	})
	return st
}

// client speaks raw SMB2 over one TCP connection.
type client struct {
	t       testing.TB
	c       net.Conn
	msgID   uint64
	credits int // granted and not yet used
	sessID  uint64
	treeID  uint32
	dialect wire.Dialect
	preauth crypt.PreauthHash
	signer  crypt.Signer
	sign    bool // sign requests

	ciphers  []uint16     // offered in the NEGOTIATE encryption context (3.1.1)
	cipher   uint16       // the server's choice
	enc, dec crypt.Cipher // after logon with a cipher: seal requests, open responses
	seal     bool         // encrypt requests
	sealed   bool         // the last response was encrypted
}

func (st *serverTester) dial() *client { return st.dialTB(st.t) }

// dialTB dials a connection that belongs to tb (closed when tb ends).
func (st *serverTester) dialTB(tb testing.TB) *client {
	tb.Helper()
	c, err := net.DialTimeout("tcp", st.addr, ioTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &client{t: tb, c: c, credits: 1}
}

// login dials, negotiates 3.1.1, authenticates and connects to the share.
func (st *serverTester) login() *client { return st.loginTB(st.t) }

func (st *serverTester) loginTB(tb testing.TB) *client {
	tb.Helper()
	c := st.dialTB(tb)
	c.negotiate()
	if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
		tb.Fatalf("session setup: %v", s)
	}
	if s := c.treeConnect(testShare); s != wire.StatusSuccess {
		tb.Fatalf("tree connect: %v", s)
	}
	return c
}

// writeFrame sends msg with the Direct TCP transport header.
func (c *client) writeFrame(msg []byte) error {
	hdr := []byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := c.c.Write(append(hdr, msg...))
	return err
}

// readFrame reads one transport message.
func (c *client) readFrame(timeout time.Duration) ([]byte, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	var hdr [4]byte
	if _, err := io.ReadFull(c.c, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	b := make([]byte, n)
	if _, err := io.ReadFull(c.c, b); err != nil {
		return nil, err
	}
	return b, nil
}

// header builds a request header for cmd with the next message id.
func (c *client) header(cmd wire.Command, charge uint16) []byte {
	if charge == 0 {
		charge = 1
	}
	var b []byte
	b = append(b, wire.ProtocolID...) // ProtocolId
	b = le.AppendUint16(b, 64)        // StructureSize
	b = le.AppendUint16(b, charge)    // CreditCharge
	b = le.AppendUint32(b, 0)         // ChannelSequence/Reserved
	b = le.AppendUint16(b, uint16(cmd))
	b = le.AppendUint16(b, 256) // CreditRequest
	b = le.AppendUint32(b, 0)   // Flags
	b = le.AppendUint32(b, 0)   // NextCommand
	b = le.AppendUint64(b, c.msgID)
	b = le.AppendUint32(b, 0xfeff) // Reserved
	b = le.AppendUint32(b, c.treeID)
	b = le.AppendUint64(b, c.sessID)
	b = append(b, make([]byte, 16)...) // Signature
	c.msgID += uint64(charge)
	c.credits -= int(charge)
	return b
}

// send writes one message, signing it when the client signs.
func (c *client) send(msg []byte) {
	c.t.Helper()
	if c.sign && c.signer != nil {
		le.PutUint32(msg[16:], le.Uint32(msg[16:])|wire.FlagSigned)
		sig := c.signer.Sign(msg)
		copy(msg[48:64], sig[:])
	}
	if c.seal && c.enc != nil {
		msg = c.enc.Seal(nil, msg, c.sessID)
	}
	if err := c.writeFrame(msg); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv reads the next response, skipping STATUS_PENDING interim responses,
// and splits off the first message of a chain.
func (c *client) recv() wire.Header {
	c.t.Helper()
	for {
		m, err := c.readFrame(ioTimeout)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		c.sealed = crypt.IsTransform(m)
		if c.sealed {
			if c.dec == nil {
				c.t.Fatalf("encrypted response without a key")
			}
			if m, err = c.dec.Open(nil, m); err != nil {
				c.t.Fatalf("decrypt response: %v", err)
			}
		}
		h := wire.Header(m)
		if err := h.Validate(); err != nil {
			c.t.Fatalf("response header: %v (%x)", err, m)
		}
		if !h.IsAsync() || wire.Status(h.Status()) != wire.StatusPending {
			c.credits += int(h.CreditRequest())
		}
		if h.IsAsync() && wire.Status(h.Status()) == wire.StatusPending {
			continue
		}
		return h
	}
}

// call sends msg and returns the response's status and body.
func (c *client) call(msg []byte) (wire.Status, []byte) {
	c.t.Helper()
	c.send(msg)
	h := c.recv()
	if h.MessageID() != le.Uint64(msg[24:]) {
		c.t.Fatalf("response to message %d, want %d", h.MessageID(), le.Uint64(msg[24:]))
	}
	return wire.Status(h.Status()), h[wire.HeaderSize:]
}

// negotiateRequest is a 3.1.1 NEGOTIATE with the preauth integrity context.
func (c *client) negotiateRequest(dialects ...wire.Dialect) []byte {
	if len(dialects) == 0 {
		dialects = []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}
	}
	b := c.header(wire.CmdNegotiate, 1)
	b = le.AppendUint16(b, 36)                    // StructureSize
	b = le.AppendUint16(b, uint16(len(dialects))) // DialectCount
	b = le.AppendUint16(b, wire.NegotiateSigningEnabled)
	b = le.AppendUint16(b, 0)                        // Reserved
	b = le.AppendUint32(b, 0x7f)                     // Capabilities
	b = append(b, bytes.Repeat([]byte{0x42}, 16)...) // ClientGuid
	ctxOffPos := len(b)
	b = le.AppendUint32(b, 0) // NegotiateContextOffset
	b = le.AppendUint16(b, 1) // NegotiateContextCount
	b = le.AppendUint16(b, 0) // Reserved2
	for _, d := range dialects {
		b = le.AppendUint16(b, uint16(d))
	}
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	le.PutUint32(b[ctxOffPos:], uint32(len(b)))
	b = le.AppendUint16(b, wire.CtxPreauthIntegrity) // ContextType
	b = le.AppendUint16(b, 38)                       // DataLength
	b = le.AppendUint32(b, 0)                        // Reserved
	b = le.AppendUint16(b, 1)                        // HashAlgorithmCount
	b = le.AppendUint16(b, 32)                       // SaltLength
	b = le.AppendUint16(b, wire.HashSHA512)          // HashAlgorithms
	b = append(b, bytes.Repeat([]byte{7}, 32)...)    // Salt
	if len(c.ciphers) > 0 {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		le.PutUint16(b[ctxOffPos+4:], 2)                   // NegotiateContextCount
		b = le.AppendUint16(b, wire.CtxEncryption)         // ContextType
		b = le.AppendUint16(b, uint16(2+2*len(c.ciphers))) // DataLength
		b = le.AppendUint32(b, 0)                          // Reserved
		b = le.AppendUint16(b, uint16(len(c.ciphers)))     // CipherCount
		for _, id := range c.ciphers {
			b = le.AppendUint16(b, id)
		}
	}
	return b
}

// negotiatedCipher returns the cipher of the encryption context of a
// NEGOTIATE response, 0 if none.
func negotiatedCipher(h wire.Header) uint16 {
	body := h[wire.HeaderSize:]
	if len(body) < 64 {
		return 0
	}
	off, n := int(le.Uint32(body[60:])), int(le.Uint16(body[6:]))
	for i := 0; i < n && off+8 <= len(h); i++ {
		typ, l := le.Uint16(h[off:]), int(le.Uint16(h[off+2:]))
		if typ == wire.CtxEncryption && l >= 4 && off+12 <= len(h) {
			return le.Uint16(h[off+10:])
		}
		off = (off + 8 + l + 7) &^ 7
	}
	return 0
}

func (c *client) negotiate() {
	c.t.Helper()
	req := c.negotiateRequest()
	c.send(req)
	h := c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusSuccess {
		c.t.Fatalf("negotiate: %v", s)
	}
	c.dialect = wire.Dialect(le.Uint16(h[wire.HeaderSize+4:]))
	if c.dialect == wire.Dialect311 {
		c.preauth.Update(req)
		c.preauth.Update(h)
		c.cipher = negotiatedCipher(h)
	}
}

func (c *client) sessionSetupRequest(tok []byte) []byte {
	b := c.header(wire.CmdSessionSetup, 1)
	b = le.AppendUint16(b, 25)                           // StructureSize
	b = append(b, 0, byte(wire.NegotiateSigningEnabled)) // Flags, SecurityMode
	b = le.AppendUint32(b, 0)                            // Capabilities
	b = le.AppendUint32(b, 0)                            // Channel
	b = le.AppendUint16(b, 88)                           // SecurityBufferOffset
	b = le.AppendUint16(b, uint16(len(tok)))             // SecurityBufferLength
	b = le.AppendUint64(b, 0)                            // PreviousSessionId
	return append(b, tok...)
}

// sessionSetup authenticates with raw NTLMSSP and, on success, derives the
// signing key and checks the signature of the final response.
func (c *client) sessionSetup(user, pass string) wire.Status {
	c.t.Helper()
	nc := &ntlmClient{user: user, domain: "WORKGROUP", password: pass}
	c.sessID = 0
	pre := c.preauth
	req := c.sessionSetupRequest(nc.negotiate())
	c.send(req)
	h := c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusMoreProcessingRequired {
		return s
	}
	pre.Update(req)
	pre.Update(h)
	c.sessID = h.SessionID()
	body := h[wire.HeaderSize:]
	off, n := le.Uint16(body[4:]), le.Uint16(body[6:])
	if int(off)+int(n) > len(h) {
		c.t.Fatalf("session setup: security buffer out of range")
	}
	tok, err := nc.authenticate(h[off : int(off)+int(n)])
	if err != nil {
		c.t.Fatal(err)
	}
	req = c.sessionSetupRequest(tok)
	pre.Update(req)
	c.send(req)
	h = c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusSuccess {
		return s
	}
	var preauth []byte
	if c.dialect == wire.Dialect311 {
		preauth = pre[:]
	}
	keys := crypt.DeriveKeys(uint16(c.dialect), nc.sessionKey, preauth, c.cipher)
	if c.cipher != 0 {
		// The client seals with the server's ServerIn key and opens with
		// its ServerOut key.
		if c.enc, err = crypt.NewCipher(c.cipher, keys.Decryption); err != nil {
			c.t.Fatal(err)
		}
		if c.dec, err = crypt.NewCipher(c.cipher, keys.Encryption); err != nil {
			c.t.Fatal(err)
		}
	}
	alg := crypt.SigningAESCMAC
	if c.dialect < wire.Dialect300 {
		alg = crypt.SigningHMACSHA256
	}
	c.signer, err = crypt.NewSigner(alg, keys.Signing)
	if err != nil {
		c.t.Fatal(err)
	}
	if h.IsSigned() && !c.signer.Verify(bytes.Clone(h)) {
		c.t.Errorf("final SESSION_SETUP response signature does not verify")
	}
	return wire.StatusSuccess
}

func (c *client) treeConnect(share string) wire.Status {
	c.t.Helper()
	path := utf16LE(`\\127.0.0.1\` + share)
	b := c.header(wire.CmdTreeConnect, 1)
	b = le.AppendUint16(b, 9)  // StructureSize
	b = le.AppendUint16(b, 0)  // Flags
	b = le.AppendUint16(b, 72) // PathOffset
	b = le.AppendUint16(b, uint16(len(path)))
	b = append(b, path...)
	c.send(b)
	h := c.recv()
	if s := wire.Status(h.Status()); s != wire.StatusSuccess {
		return s
	}
	c.treeID = h.TreeID()
	return wire.StatusSuccess
}

// Create dispositions, options and access masks used by the tests.
const (
	fileOpen        = 1
	fileCreate      = 2
	fileOpenIf      = 3
	fileOverwriteIf = 5

	optDirectory    = 0x00000001
	optNonDirectory = 0x00000040

	accessRead   = 0x00120089 // FILE_GENERIC_READ
	accessRW     = 0x0012019f // FILE_GENERIC_READ | FILE_GENERIC_WRITE
	accessAll    = 0x001f01ff
	accessDelete = 0x00010000
)

func (c *client) createRequest(name string, access, disp, opts uint32) []byte {
	n := utf16LE(name)
	b := c.header(wire.CmdCreate, 1)
	b = le.AppendUint16(b, 57) // StructureSize
	b = append(b, 0, 0)        // SecurityFlags, RequestedOplockLevel
	b = le.AppendUint32(b, 2)  // ImpersonationLevel
	b = le.AppendUint64(b, 0)  // SmbCreateFlags
	b = le.AppendUint64(b, 0)  // Reserved
	b = le.AppendUint32(b, access)
	b = le.AppendUint32(b, 0x80) // FileAttributes
	b = le.AppendUint32(b, 7)    // ShareAccess
	b = le.AppendUint32(b, disp)
	b = le.AppendUint32(b, opts)
	b = le.AppendUint16(b, 120)            // NameOffset
	b = le.AppendUint16(b, uint16(len(n))) // NameLength
	b = le.AppendUint32(b, 0)              // CreateContextsOffset
	b = le.AppendUint32(b, 0)              // CreateContextsLength
	b = append(b, n...)
	if len(n) == 0 {
		b = append(b, 0)
	}
	return b
}

func (c *client) create(name string, access, disp, opts uint32) (wire.FileID, wire.Status) {
	c.t.Helper()
	s, body := c.call(c.createRequest(name, access, disp, opts))
	if s != wire.StatusSuccess {
		return wire.FileID{}, s
	}
	if len(body) < 80 {
		c.t.Fatalf("short CREATE response body: %d", len(body))
	}
	return wire.FileID{Persistent: le.Uint64(body[64:]), Volatile: le.Uint64(body[72:])}, s
}

func appendFID(b []byte, f wire.FileID) []byte {
	b = le.AppendUint64(b, f.Persistent)
	return le.AppendUint64(b, f.Volatile)
}

func chargeFor(n int) uint16 {
	if n <= 1 {
		return 1
	}
	return uint16((n-1)/65536 + 1)
}

func (c *client) readRequest(f wire.FileID, off uint64, n uint32) []byte {
	b := c.header(wire.CmdRead, chargeFor(int(n)))
	b = le.AppendUint16(b, 49)  // StructureSize
	b = append(b, 0x50, 0)      // Padding, Flags
	b = le.AppendUint32(b, n)   // Length
	b = le.AppendUint64(b, off) // Offset
	b = appendFID(b, f)         // FileId
	b = le.AppendUint32(b, 0)   // MinimumCount
	b = le.AppendUint32(b, 0)   // Channel
	b = le.AppendUint32(b, 0)   // RemainingBytes
	b = le.AppendUint32(b, 0)   // ReadChannelInfoOffset, Length
	return append(b, 0)         // Buffer
}

func (c *client) read(f wire.FileID, off uint64, n uint32) ([]byte, wire.Status) {
	c.t.Helper()
	s, body := c.call(c.readRequest(f, off, n))
	if s != wire.StatusSuccess {
		return nil, s
	}
	doff, dlen := int(body[2]), int(le.Uint32(body[4:]))
	if doff-wire.HeaderSize+dlen > len(body) {
		c.t.Fatalf("READ response data out of range")
	}
	return body[doff-wire.HeaderSize : doff-wire.HeaderSize+dlen], s
}

func (c *client) writeRequest(f wire.FileID, off uint64, data []byte) []byte {
	b := c.header(wire.CmdWrite, chargeFor(len(data)))
	b = le.AppendUint16(b, 49)  // StructureSize
	b = le.AppendUint16(b, 112) // DataOffset
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint64(b, off)
	b = appendFID(b, f)
	b = le.AppendUint32(b, 0) // Channel
	b = le.AppendUint32(b, 0) // RemainingBytes
	b = le.AppendUint32(b, 0) // WriteChannelInfoOffset, Length
	b = le.AppendUint32(b, 0) // Flags
	return append(b, data...)
}

func (c *client) write(f wire.FileID, off uint64, data []byte) wire.Status {
	c.t.Helper()
	s, _ := c.call(c.writeRequest(f, off, data))
	return s
}

func (c *client) closeRequest(f wire.FileID) []byte {
	b := c.header(wire.CmdClose, 1)
	b = le.AppendUint16(b, 24) // StructureSize
	b = le.AppendUint16(b, 0)  // Flags
	b = le.AppendUint32(b, 0)  // Reserved
	return appendFID(b, f)
}

func (c *client) close(f wire.FileID) wire.Status {
	c.t.Helper()
	s, _ := c.call(c.closeRequest(f))
	return s
}

func (c *client) echoRequest() []byte {
	b := c.header(wire.CmdEcho, 1)
	b = le.AppendUint16(b, 4)
	return le.AppendUint16(b, 0)
}

func (c *client) echo() wire.Status {
	c.t.Helper()
	s, _ := c.call(c.echoRequest())
	return s
}

// expectDisconnect reads until the server closes the connection; a response
// with an error status instead is accepted when errOK is set.
func (c *client) expectDisconnect(errOK bool) (wire.Status, error) {
	for {
		m, err := c.readFrame(ioTimeout)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, fmt.Errorf("no disconnect within %v", ioTimeout)
			}
			return 0, nil // EOF or reset: disconnected
		}
		h := wire.Header(m)
		if h.Validate() != nil {
			return 0, fmt.Errorf("malformed response %x", m)
		}
		s := wire.Status(h.Status())
		if s == wire.StatusPending {
			continue
		}
		if errOK && s.IsError() {
			return s, nil
		}
		return s, fmt.Errorf("got a %v response with %v, want a disconnect", h.Command(), s)
	}
}

// roundTrip checks that c can still create, write, read and close a file.
func (c *client) roundTrip(name string) {
	c.t.Helper()
	f, s := c.create(name, accessRW, fileOverwriteIf, optNonDirectory)
	if s != wire.StatusSuccess {
		c.t.Fatalf("create %s: %v", name, s)
	}
	data := []byte("round trip " + name)
	if s := c.write(f, 0, data); s != wire.StatusSuccess {
		c.t.Fatalf("write %s: %v", name, s)
	}
	got, s := c.read(f, 0, 4096)
	if s != wire.StatusSuccess || !bytes.Equal(got, data) {
		c.t.Fatalf("read %s: %q, %v", name, got, s)
	}
	if s := c.close(f); s != wire.StatusSuccess {
		c.t.Fatalf("close %s: %v", name, s)
	}
}

// knownBug skips a test that shows a bug in the server, unless
// SMB3D_RUN_BUGS is set (to check a fix).
func knownBug(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("SMB3D_RUN_BUGS") == "" {
		t.Skip(why)
	}
}
