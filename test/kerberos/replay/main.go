// Command replay sends a captured security token to an SMB server in a SESSION_SETUP request,
// as a client that replays a stolen or stale Kerberos AP-REQ would: for each attempt a fresh
// TCP connection, a NEGOTIATE (SMB 2.0.2/2.1, no negotiate contexts, so no preauth hash
// binds the token to the original connection), then one SESSION_SETUP carrying the token. It
// prints the NTSTATUS of each SESSION_SETUP response, one name per line, and exits 0 when every
// attempt got an answer (whatever its status); the caller judges the statuses.
//
// Usage: replay [-n N] ADDR HEX-TOKEN
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

	"smb3d/smb3/wire"
)

var le = binary.LittleEndian

func main() {
	n := flag.Int("n", 1, "attempts, each on a new connection")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: replay [-n N] ADDR HEX-TOKEN")
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
	for range *n {
		st, err := attempt(flag.Arg(0), tok)
		if err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		fmt.Println(st)
	}
}

// attempt runs NEGOTIATE then SESSION_SETUP with tok on a new connection and returns the status
// of the SESSION_SETUP response.
func attempt(addr string, tok []byte) (wire.Status, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
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
		return 0, fmt.Errorf("negotiate: %w", err)
	}
	if st := wire.Status(wire.Header(resp).Status()); st != wire.StatusSuccess {
		return 0, fmt.Errorf("negotiate: %v", st)
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
		return 0, fmt.Errorf("session setup: %w", err)
	}
	return wire.Status(wire.Header(resp).Status()), nil
}

// header returns an SMB2 request header (MS-SMB2 2.2.1.2) asking for one credit.
func header(cmd wire.Command, msgID uint64, sessID uint64) []byte {
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
