// Command replay sends a captured security token to an SMB server in a SESSION_SETUP request,
// as a client that replays a stolen or stale Kerberos AP-REQ would: for each attempt a fresh
// TCP connection, a NEGOTIATE (SMB 2.0.2/2.1, no negotiate contexts, so no preauth hash
// binds the token to the original connection), then one SESSION_SETUP carrying the token. It
// prints the NTSTATUS of each SESSION_SETUP response, one name per line, and exits 0 when every
// attempt got an answer (whatever its status); the caller judges the statuses.
//
// Usage: replay [-n N] [-open SHARE-PATH/FILE] ADDR HEX-TOKEN
//
// With -open (e.g. -open '\\server\share/file'), an attempt whose SESSION_SETUP succeeds goes
// on, unsigned, with TREE_CONNECT to the share and CREATE of the file for FILE_READ_DATA, and
// prints the CREATE's status on a second line: run.sh checks a DACL that names only a domain
// group against a session whose ticket's PAC has that group.
//
// test/kerberos/run.sh uses it to check that smb3d refuses an expired ticket and a replayed
// authenticator end to end (issue 12): Heimdal's smbclient never sends either.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
	"unicode/utf16"

	"smb3d/smb3/wire"
)

var le = binary.LittleEndian

func main() {
	n := flag.Int("n", 1, "attempts, each on a new connection")
	open := flag.String("open", "", `after a successful logon, open this file for reading: \\server\share/path`)
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: replay [-n N] [-open SHARE-PATH/FILE] ADDR HEX-TOKEN")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || *n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	tok, err := hex.DecodeString(strings.TrimSpace(flag.Arg(1)))
	if err != nil || len(tok) == 0 || len(tok) > 0xffff-wire.HeaderSize-24 {
		fmt.Fprintln(os.Stderr, "replay: the token must be non-empty hex that fits a SESSION_SETUP")
		os.Exit(2)
	}
	share, file, _ := strings.Cut(*open, "/")
	for range *n {
		st, err := attempt(flag.Arg(0), tok, share, file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		for _, s := range st {
			fmt.Println(s)
		}
	}
}

// attempt runs NEGOTIATE then SESSION_SETUP with tok on a new connection and returns the status
// of the SESSION_SETUP response, then, when share is set and the logon succeeded, that of the
// CREATE of file.
func attempt(addr string, tok []byte, share, file string) ([]wire.Status, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))

	// MS-SMB2 2.2.3 NEGOTIATE request: two dialects, signing enabled, no contexts.
	b := header(wire.CmdNegotiate, 0, 0)
	b = le.AppendUint16(b, 36) // StructureSize
	b = le.AppendUint16(b, 2)  // DialectCount
	b = le.AppendUint16(b, wire.NegotiateSigningEnabled)
	b = le.AppendUint16(b, 0)          // Reserved
	b = le.AppendUint32(b, 0)          // Capabilities
	b = append(b, make([]byte, 16)...) // ClientGuid
	b = le.AppendUint64(b, 0)          // ClientStartTime
	b = le.AppendUint16(b, uint16(wire.Dialect202))
	b = le.AppendUint16(b, uint16(wire.Dialect210))
	resp, err := roundTrip(c, b)
	if err != nil {
		return nil, fmt.Errorf("negotiate: %w", err)
	}
	if st := wire.Status(wire.Header(resp).Status()); st != wire.StatusSuccess {
		return nil, fmt.Errorf("negotiate: %v", st)
	}

	// MS-SMB2 2.2.5 SESSION_SETUP request with the token as its security buffer.
	b = header(wire.CmdSessionSetup, 1, 0)
	b = le.AppendUint16(b, 25) // StructureSize
	b = append(b, 0, byte(wire.NegotiateSigningEnabled))
	b = le.AppendUint32(b, 0) // Capabilities
	b = le.AppendUint32(b, 0) // Channel
	b = le.AppendUint16(b, wire.HeaderSize+24)
	b = le.AppendUint16(b, uint16(len(tok)))
	b = le.AppendUint64(b, 0) // PreviousSessionId
	b = append(b, tok...)
	resp, err = roundTrip(c, b)
	if err != nil {
		return nil, fmt.Errorf("session setup: %w", err)
	}
	st := wire.Status(wire.Header(resp).Status())
	if share == "" || st != wire.StatusSuccess {
		return []wire.Status{st}, nil
	}
	sessID := wire.Header(resp).SessionID()

	// MS-SMB2 2.2.9 TREE_CONNECT request.
	path := utf16le(share)
	b = header(wire.CmdTreeConnect, 2, sessID)
	b = le.AppendUint16(b, 9) // StructureSize
	b = le.AppendUint16(b, 0) // Reserved
	b = le.AppendUint16(b, wire.HeaderSize+8)
	b = le.AppendUint16(b, uint16(len(path)))
	b = append(b, path...)
	if resp, err = roundTrip(c, b); err != nil {
		return nil, fmt.Errorf("tree connect: %w", err)
	}
	if tst := wire.Status(wire.Header(resp).Status()); tst != wire.StatusSuccess {
		return nil, fmt.Errorf("tree connect %s: %v", share, tst)
	}
	treeID := wire.Header(resp).TreeID()

	// MS-SMB2 2.2.13 CREATE request: open an existing file for FILE_READ_DATA.
	name := utf16le(strings.ReplaceAll(file, "/", `\`))
	b = header(wire.CmdCreate, 3, sessID)
	wire.Header(b).SetTreeID(treeID)
	b = le.AppendUint16(b, 57)   // StructureSize
	b = append(b, 0, 0)          // SecurityFlags, RequestedOplockLevel
	b = le.AppendUint32(b, 2)    // ImpersonationLevel: Impersonation
	b = le.AppendUint64(b, 0)    // SmbCreateFlags
	b = le.AppendUint64(b, 0)    // Reserved
	b = le.AppendUint32(b, 0x1)  // DesiredAccess: FILE_READ_DATA
	b = le.AppendUint32(b, 0)    // FileAttributes
	b = le.AppendUint32(b, 7)    // ShareAccess: read, write, delete
	b = le.AppendUint32(b, 1)    // CreateDisposition: FILE_OPEN
	b = le.AppendUint32(b, 0x40) // CreateOptions: FILE_NON_DIRECTORY_FILE
	b = le.AppendUint16(b, wire.HeaderSize+56)
	b = le.AppendUint16(b, uint16(len(name)))
	b = le.AppendUint32(b, 0) // CreateContextsOffset
	b = le.AppendUint32(b, 0) // CreateContextsLength
	b = append(b, name...)
	if resp, err = roundTrip(c, b); err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return []wire.Status{st, wire.Status(wire.Header(resp).Status())}, nil
}

// utf16le encodes s as UTF-16LE.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = le.AppendUint16(b, u)
	}
	return b
}

// header returns an SMB2 request header (MS-SMB2 2.2.1.2) asking for one credit.
func header(cmd wire.Command, msgID, sessID uint64) []byte {
	h := wire.Header(make([]byte, wire.HeaderSize))
	copy(h, wire.ProtocolID)
	le.PutUint16(h[4:], wire.HeaderSize)
	h.SetCommand(cmd)
	h.SetCredits(1)
	h.SetMessageID(msgID)
	h.SetSessionID(sessID)
	return h
}

// roundTrip writes msg with its Direct TCP transport header (MS-SMB2 2.1) and reads one
// response, skipping interim (STATUS_PENDING) ones.
func roundTrip(c net.Conn, msg []byte) ([]byte, error) {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
	if _, err := c.Write(append(frame, msg...)); err != nil {
		return nil, err
	}
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < wire.HeaderSize || n > 1<<20 {
			return nil, fmt.Errorf("response length %d", n)
		}
		resp := make([]byte, n)
		if _, err := io.ReadFull(c, resp); err != nil {
			return nil, err
		}
		if string(resp[:4]) != wire.ProtocolID {
			return nil, errors.New("response is not SMB2")
		}
		if h := wire.Header(resp); h.IsAsync() && wire.Status(h.Status()) == wire.StatusPending {
			continue
		}
		return resp, nil
	}
}
