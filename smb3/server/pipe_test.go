package server_test

import (
	"bytes"
	"net"
	"os"
	"testing"
	"time"

	smb2 "github.com/hirochachacha/go-smb2"

	"smb3d/smb3/fscc"
	"smb3d/smb3/rpc"
	"smb3d/smb3/wire"
)

const (
	fsctlPipeTransceive = 0x0011C017
	statusPipeEmpty     = wire.Status(0xC00000D9)
	shareComment        = "files for the pipe test"
)

func withComment(c *serverConfig) { c.Shares[0].Comment = shareComment }

func (c *client) transceive(f wire.FileID, in []byte, maxOut uint32) (wire.Status, []byte) {
	c.t.Helper()
	m := c.header(wire.CmdIoctl, 1)
	m = le.AppendUint16(m, 57) // StructureSize
	m = le.AppendUint16(m, 0)  // Reserved
	m = le.AppendUint32(m, fsctlPipeTransceive)
	m = appendFID(m, f)
	m = le.AppendUint32(m, 120)             // InputOffset
	m = le.AppendUint32(m, uint32(len(in))) // InputCount
	m = le.AppendUint32(m, 0)               // MaxInputResponse
	m = le.AppendUint32(m, 0)               // OutputOffset
	m = le.AppendUint32(m, 0)               // OutputCount
	m = le.AppendUint32(m, maxOut)          // MaxOutputResponse
	m = le.AppendUint32(m, wire.IoctlFlagIsFsctl)
	m = le.AppendUint32(m, 0) // Reserved2
	m = append(m, in...)
	s, body := c.call(m)
	if s != wire.StatusSuccess && s != wire.StatusBufferOverflow {
		return s, nil
	}
	off, n := int(le.Uint32(body[32:]))-wire.HeaderSize, int(le.Uint32(body[36:]))
	if off < 0 || off+n > len(body) {
		c.t.Fatalf("IOCTL output %d+%d outside %d bytes", off, n, len(body))
	}
	return s, body[off : off+n]
}

// readPipe is a READ that keeps the data of a STATUS_BUFFER_OVERFLOW.
func (c *client) readPipe(f wire.FileID, n uint32) (wire.Status, []byte) {
	c.t.Helper()
	s, body := c.call(c.readRequest(f, 0, n))
	if s != wire.StatusSuccess && s != wire.StatusBufferOverflow {
		return s, nil
	}
	off, dlen := int(body[2])-wire.HeaderSize, int(le.Uint32(body[4:]))
	if off < 0 || off+dlen > len(body) {
		c.t.Fatalf("READ data %d+%d outside %d bytes", off, dlen, len(body))
	}
	return s, body[off : off+dlen]
}

var srvsvcBind = (&rpc.Bind{
	CallID: 1, MaxXmitFrag: 4280, MaxRecvFrag: 4280,
	Contexts: []rpc.ContextElem{{ContextID: 0, AbstractSyntax: rpc.SyntaxSrvsvc, TransferSyntaxes: []rpc.SyntaxID{rpc.SyntaxNDR}}},
}).Append(nil, rpc.PTypeBind)

// shareEnumAll1 is NetrShareEnum (NetShareEnumAll) level 1 as smbclient
// sends it (MS-SRVS 3.1.4.8), hand-assembled.
var shareEnumAll1 = rpc.AppendRequest(nil, 0x03, 2, 0, 0, 15, []byte{
	0x00, 0x00, 0x02, 0x00, // ServerName pointer
	0x04, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, '\\', 0, '\\', 0, 'x', 0, 0, 0, // "\\x"
	0x01, 0, 0, 0, 0x01, 0, 0, 0, // Level 1, discriminant
	0x04, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // container: 0 entries, NULL buffer
	0xff, 0xff, 0xff, 0xff, // PreferedMaximumLength
	0x08, 0x00, 0x02, 0x00, 0, 0, 0, 0, // ResumeHandle 0
})

func utf16z(s string) []byte { return append(utf16LE(s), 0, 0) }

// checkEnum checks a NetrShareEnum level 1 response PDU lists the shares.
func checkEnum(t *testing.T, pdu []byte) {
	t.Helper()
	h := rpc.Header(pdu)
	if err := h.Validate(); err != nil || h.PType() != rpc.PTypeResponse {
		t.Fatalf("answer %x: %v", pdu, err)
	}
	stub := rpc.Response(pdu).Stub()
	for _, s := range []string{"IPC$", testShare, shareComment} {
		if !bytes.Contains(stub, utf16z(s)) {
			t.Errorf("NetShareEnumAll answer lacks %q", s)
		}
	}
	if st := le.Uint32(stub[len(stub)-4:]); st != 0 {
		t.Errorf("NetShareEnumAll status %d", st)
	}
}

func TestPipeSrvsvc(t *testing.T) {
	st := newServerTester(t, withComment)
	c := st.dial()
	c.negotiate()
	if s := c.sessionSetup(testUser, testPass); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s := c.treeConnect("IPC$"); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	for _, name := range []string{"lsarpc", `\PIPE\`, "srvsvc\\x"} {
		if _, s := c.create(name, accessRW, fileOpen, 0); s != wire.StatusObjectNameNotFound {
			t.Errorf("open %q: %v", name, s)
		}
	}
	if f, s := c.create(`\PIPE\SrvSvc`, accessRW, fileOpen, 0); s != wire.StatusSuccess {
		t.Fatalf("open \\PIPE\\SrvSvc: %v", s)
	} else if s := c.close(f); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	f, s := c.create("srvsvc", accessRW, fileOpen, 0)
	if s != wire.StatusSuccess {
		t.Fatalf("open srvsvc: %v", s)
	}

	// Nothing written yet: a blocking READ goes async; FLUSH does not wait
	// for it, and CANCEL ends it.
	id := c.pending(c.readRequest(f, 0, 1024))
	flush := c.header(wire.CmdFlush, 1)
	flush = le.AppendUint16(flush, 24)
	flush = append(flush, 0, 0, 0, 0, 0, 0)
	if s, _ := c.call(appendFID(flush, f)); s != wire.StatusSuccess {
		t.Fatalf("FLUSH with a READ waiting: %v", s)
	}
	c.send(c.cancelRequest(id))
	if h := c.recv(); h.Command() != wire.CmdRead || wire.Status(h.Status()) != wire.StatusCancelled || h.AsyncID() != id {
		t.Fatalf("cancelled READ: %v %v", h.Command(), wire.Status(h.Status()))
	}
	// In non-blocking mode the READ fails at once with STATUS_PIPE_EMPTY.
	if s := c.setInfo(f, wire.InfoFile, fscc.FilePipeInformation, 0, []byte{1, 0, 0, 0, 1, 0, 0, 0}); s != wire.StatusSuccess {
		t.Fatalf("set FilePipeInformation: %v", s)
	}
	if s, _ := c.readPipe(f, 1024); s != statusPipeEmpty {
		t.Fatalf("non-blocking read of an empty pipe: %v", s)
	}
	if s := c.setInfo(f, wire.InfoFile, fscc.FilePipeInformation, 0, []byte{1, 0, 0, 0, 0, 0, 0, 0}); s != wire.StatusSuccess {
		t.Fatalf("set FilePipeInformation: %v", s)
	}
	// A blocking READ waits for the WRITE of a bind and returns the bind_ack.
	id = c.pending(c.readRequest(f, 0, 4280))
	c.send(c.writeRequest(f, 0, srvsvcBind))
	var ack []byte
	for range 2 {
		h := c.recv()
		switch {
		case h.Command() == wire.CmdWrite && wire.Status(h.Status()) == wire.StatusSuccess:
		case h.Command() == wire.CmdRead && h.AsyncID() == id && wire.Status(h.Status()) == wire.StatusSuccess:
			body := h[wire.HeaderSize:]
			off, n := int(body[2])-wire.HeaderSize, int(le.Uint32(body[4:]))
			ack = body[off : off+n]
		default:
			t.Fatalf("%v %v", h.Command(), wire.Status(h.Status()))
		}
	}
	a, err := rpc.DecodeBindAck(rpc.Header(ack))
	if err != nil || len(a.Results) != 1 || a.Results[0].Result != 0 || a.SecAddr != `\PIPE\srvsvc` {
		t.Fatalf("bind_ack %+v %v", a, err)
	}

	// FileStandardInformation and FilePipeInformation on the pipe.
	if s, b := c.queryInfo(f, wire.InfoFile, fscc.FileStandardInformation, 0, 24); s != wire.StatusSuccess || len(b) != 24 || le.Uint64(b) != 4096 || b[20] != 1 || b[21] != 0 {
		t.Fatalf("FileStandardInformation: %v %x", s, b)
	}
	if s := c.setInfo(f, wire.InfoFile, fscc.FilePipeInformation, 0, []byte{1, 0, 0, 0, 0, 0, 0, 0}); s != wire.StatusSuccess {
		t.Fatalf("set FilePipeInformation: %v", s)
	}
	if s, b := c.queryInfo(f, wire.InfoFile, fscc.FilePipeInformation, 0, 8); s != wire.StatusSuccess || !bytes.Equal(b, []byte{1, 0, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("FilePipeInformation: %v %x", s, b)
	}
	if s, _ := c.queryInfo(f, wire.InfoFile, fscc.FileBasicInformation, 0, 40); s != wire.StatusNotSupported {
		t.Fatalf("FileBasicInformation on a pipe: %v", s)
	}

	// FSCTL_PIPE_TRANSCEIVE with a small output: STATUS_BUFFER_OVERFLOW,
	// the rest by READ.
	s, pdu := c.transceive(f, shareEnumAll1, 64)
	if s != wire.StatusBufferOverflow || len(pdu) != 64 {
		t.Fatalf("transceive: %v, %d bytes", s, len(pdu))
	}
	for {
		s, more := c.readPipe(f, 50)
		if s != wire.StatusSuccess && s != wire.StatusBufferOverflow {
			t.Fatalf("read rest: %v", s)
		}
		pdu = append(pdu, more...)
		if s == wire.StatusSuccess {
			break
		}
	}
	checkEnum(t, pdu)

	// The whole answer in one TRANSCEIVE.
	s, pdu = c.transceive(f, shareEnumAll1, 4280)
	if s != wire.StatusSuccess {
		t.Fatalf("transceive: %v", s)
	}
	checkEnum(t, pdu)

	// Unread data makes TRANSCEIVE busy.
	if s := c.write(f, 0, shareEnumAll1); s != wire.StatusSuccess {
		t.Fatal(s)
	}
	if s, _ := c.transceive(f, shareEnumAll1, 4280); s != wire.StatusPipeBusy {
		t.Fatalf("transceive with unread data: %v", s)
	}
	if s, pdu := c.readPipe(f, 4280); s != wire.StatusSuccess {
		t.Fatal(s)
	} else {
		checkEnum(t, pdu)
	}

	// CLOSE ends a waiting READ with STATUS_PIPE_BROKEN.
	id = c.pending(c.readRequest(f, 0, 4280))
	c.send(c.closeRequest(f))
	for range 2 {
		h := c.recv()
		switch {
		case h.Command() == wire.CmdClose && wire.Status(h.Status()) == wire.StatusSuccess:
		case h.Command() == wire.CmdRead && h.AsyncID() == id && wire.Status(h.Status()) == wire.StatusPipeBroken:
		default:
			t.Fatalf("%v %v", h.Command(), wire.Status(h.Status()))
		}
	}
	if s, _ := c.readPipe(f, 10); s != wire.StatusFileClosed {
		t.Fatalf("read after close: %v", s)
	}
}

// TestPipeGoSMB2 lists the shares through go-smb2's file API on IPC$.
func TestPipeGoSMB2(t *testing.T) {
	st := newServerTester(t, withComment)
	conn, err := net.DialTimeout("tcp", st.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: testUser, Password: testPass}}
	s, err := d.Dial(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Logoff()
	fs, err := s.Mount("IPC$")
	if err != nil {
		t.Fatalf("mount IPC$: %v", err)
	}
	defer fs.Umount()
	if _, err := fs.OpenFile("nosuchpipe", os.O_RDWR, 0); !os.IsNotExist(err) {
		t.Fatalf("open an unknown pipe: %v", err)
	}
	p, err := fs.OpenFile("srvsvc", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open srvsvc: %v", err)
	}
	defer p.Close()
	buf := make([]byte, 4280)
	if _, err := p.Write(srvsvcBind); err != nil {
		t.Fatal(err)
	}
	n, err := p.Read(buf)
	if err != nil || rpc.Header(buf[:n]).PType() != rpc.PTypeBindAck {
		t.Fatalf("bind_ack: %d %v", n, err)
	}
	if _, err := p.Write(shareEnumAll1); err != nil {
		t.Fatal(err)
	}
	n, err = p.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	checkEnum(t, buf[:n])
}
