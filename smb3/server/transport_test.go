package server_test

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"smb3d/transport"
	"smb3d/transport/tcp"
)

// testTransport is the TCP transport the server under test listens with
// (newServerTester): TestMain runs the package's tests once per transport,
// so a regression in either shows up in `go test`.
var testTransport = tcp.TransportNetpoll

// TestMain runs every test over the io_uring transport and over the
// netpoller, or over the comma-separated list in SMB3D_TEST_TRANSPORT
// ("uring", "netpoll"). Where io_uring is unavailable the uring pass is
// skipped with the reason, unless SMB3D_TEST_TRANSPORT asks for it. Fuzzing
// and -list run once (over the netpoller by default).
func TestMain(m *testing.M) {
	flag.Parse()
	names := []string{tcp.TransportURing, tcp.TransportNetpoll}
	asked := os.Getenv("SMB3D_TEST_TRANSPORT")
	if asked != "" {
		names = strings.Split(asked, ",")
	}
	for _, f := range []string{"test.fuzz", "test.fuzzworker", "test.list"} {
		if fl := flag.Lookup(f); fl != nil && fl.Value.String() != "" && fl.Value.String() != "false" {
			// Fuzzing targets the codec and handlers: once, over the
			// cheaper netpoller unless asked otherwise.
			if asked == "" {
				names = []string{tcp.TransportNetpoll}
			}
			names = names[:1]
			break
		}
	}
	code := 0
	for _, name := range names {
		switch name {
		case tcp.TransportNetpoll:
		case tcp.TransportURing:
			if err := uringUsable(); err != nil {
				if asked != "" {
					fmt.Fprintf(os.Stderr, "SMB3D_TEST_TRANSPORT=%s: %v\n", asked, err)
					os.Exit(1)
				}
				fmt.Printf("transport uring: skipped: %v\n", err)
				continue
			}
		default:
			fmt.Fprintf(os.Stderr, "SMB3D_TEST_TRANSPORT: unknown transport %q\n", name)
			os.Exit(2)
		}
		testTransport = name
		if len(names) > 1 {
			fmt.Printf("transport %s\n", name)
		}
		if c := m.Run(); c != 0 {
			fmt.Printf("FAIL over transport %s\n", name)
			code = c
		}
	}
	os.Exit(code)
}

// uringUsable reports why the io_uring transport cannot run here, if it
// cannot.
func uringUsable() error {
	l, err := tcp.ListenURing("127.0.0.1:0", tcp.URingConfig{})
	if err != nil {
		return err
	}
	return l.Close()
}

// testListener wraps l in the transport under test.
func testListener(tb testing.TB, l net.Listener) transport.Listener {
	tb.Helper()
	if testTransport == tcp.TransportURing {
		ul, err := tcp.NewURingListener(l, tcp.URingConfig{})
		if err != nil {
			tb.Fatalf("io_uring transport: %v", err)
		}
		return ul
	}
	return tcp.NewListener(l)
}
