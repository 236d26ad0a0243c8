// Package testport picks loopback TCP ports for servers that tests start as
// separate processes.
//
// Listening on port 0 and closing the listener hands out a port from the
// kernel's ephemeral range, where any connect() may take it as its local port
// before the server binds it ("address already in use"). Free picks a port
// below that range instead, which the kernel never assigns on its own, and
// checks that it can be bound now.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

const lowest = 10000

// Free returns a loopback port below the ephemeral range that nothing has
// bound.
func Free() (int, error) {
	hi := ephemeralLow()
	for range 100 {
		p := lowest + rand.IntN(hi-lowest)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("testport: no free loopback port in [%d, %d)", lowest, hi)
}

// ephemeralLow is the first port of net.ipv4.ip_local_port_range (32768 when
// it cannot be read or leaves too little room below it).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowest+1000 {
				return n
			}
		}
	}
	return 32768
}
