package testport

import (
	"net"
	"strconv"
	"testing"
)

func TestFree(t *testing.T) {
	hi := ephemeralLow()
	for range 20 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if p < lowest || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lowest, hi)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d from Free cannot be bound: %v", p, err)
		}
		l.Close()
	}
}
