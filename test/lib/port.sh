# Sourced by the test scripts: port helpers.

# free_port prints a loopback TCP port for a server the test is about to start: below the
# kernel's ephemeral range (net.ipv4.ip_local_port_range), so that no outgoing connection of
# another test or program can be holding it as its local port (a port picked there, or by
# binding port 0, can be taken by a connect() before the server binds it: "address already
# in use"), and with nothing listening on it or bound to it now.
free_port() {
    local lo _hi p
    read -r lo _hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "${lo:-0}" -gt 11000 ] 2>/dev/null || lo=32768
    for _ in $(seq 1 100); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
        if command -v ss >/dev/null && [ -n "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then continue; fi
        echo "$p"
        return 0
    done
    echo "free_port: no free port below $lo" >&2
    return 1
}
