// Command smb3d is an SMB2/3 file server.
//
//	smb3d -c /etc/smb3d/smb3d.conf        serve the configured shares
//	smb3d demo [-dir DIR] [-listen ADDR]  serve a local folder on loopback with a generated user
//	smb3d user add|passwd|del|list --file USERS [--password P | --kerberos-only] NAME
//	smb3d check -c CONF                    validate a configuration file
package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/fscc"
	"smb3d/smb3/server"
	"smb3d/transport"
	"smb3d/transport/netif"
	"smb3d/transport/smbdirect"
	"smb3d/transport/tcp"
	"smb3d/transport/tcp/uring"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "user":
			exit(userCmd(os.Args[2:]))
			return
		case "demo":
			exit(demoCmd(os.Args[2:]))
			return
		case "check":
			exit(checkCmd(os.Args[2:]))
			return
		case "serve":
			exit(serveCmd(os.Args[2:]))
			return
		case "status":
			exit(statusCmd(os.Args[2:]))
			return
		case "diag":
			exit(diagCmd(os.Args[2:]))
			return
		case "help", "-h", "--help":
			usage()
			return
		}
	}
	exit(serveCmd(os.Args[1:]))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  smb3d [serve] -c CONF [-listen ADDR]   serve the shares of CONF
  smb3d demo [-dir DIR] [-listen ADDR]   share DIR/share on loopback with a generated user
  smb3d user add|passwd --file USERS [--password P] NAME
  smb3d user add --file USERS --kerberos-only NAME   (no NT hash: Kerberos logons only)
  smb3d user del --file USERS NAME
  smb3d user list --file USERS
  smb3d check -c CONF                    validate CONF and exit
  smb3d status [-c CONF | -s SOCK]       sessions, channels, opens of a running server
  smb3d diag -c CONF                     will multichannel and RDMA engage? if not, why
`)
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "smb3d:", err)
		os.Exit(1)
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	conf := fs.String("c", "/etc/smb3d/smb3d.conf", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*conf)
	if err != nil {
		return err
	}
	var krbOnly []string
	if cfg.UsersFile != "" {
		users, err := auth.LoadUsers(cfg.UsersFile)
		if err != nil {
			return err
		}
		for _, n := range users.Names() {
			if users.KerberosOnly(n) {
				krbOnly = append(krbOnly, n)
			}
		}
	}
	krb, err := kerberosConfig(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%s: OK (%d shares, listening on %s)\n", *conf, len(cfg.Shares), strings.Join(cfg.Listen, ", "))
	if len(krbOnly) > 0 && krb == nil {
		fmt.Printf("warning: Kerberos-only users (%s) cannot log on: no kerberos keytab is configured\n", strings.Join(krbOnly, ", "))
	}
	if krb != nil {
		kt, _ := krb.Keytab.Keytab()
		realm := cfg.Realm
		if realm == "" {
			realm = strings.Join(kt.ServiceRealms(), ", ")
		}
		fmt.Printf("kerberos: keytab %s, client realm %s, NTLM %s\n", cfg.KerberosKeytab, realm, map[bool]string{true: "off", false: "on"}[cfg.DisableNTLM])
		for _, p := range kt.Principals() {
			fmt.Printf("  %s\n", p)
		}
	}
	return nil
}

// kerberosConfig loads the keytab a configuration names; nil when Kerberos is not configured.
// A keytab without any cifs/ principal, or with no key this server can use for one, is an
// error: no ticket could be accepted.
func kerberosConfig(cfg *Config) (*auth.Kerberos, error) {
	if cfg.KerberosKeytab == "" {
		return nil, nil
	}
	f, err := auth.NewKeytabFile(cfg.KerberosKeytab)
	if err != nil {
		return nil, fmt.Errorf("kerberos keytab: %w", err)
	}
	kt, _ := f.Keytab()
	usable := false
	for i := range kt.Entries {
		e := &kt.Entries[i]
		if strings.HasPrefix(strings.ToLower(e.Principal()), "cifs/") && e.Supported() {
			usable = true
		}
	}
	if !usable {
		return nil, fmt.Errorf("kerberos keytab %s: no cifs/<host> principal with an AES key (aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96); has: %s",
			cfg.KerberosKeytab, strings.Join(kt.Principals(), "; "))
	}
	return &auth.Kerberos{Keytab: f, Realm: cfg.Realm, ClockSkew: secs(cfg.ClockSkew)}, nil
}

func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	conf := fs.String("c", "/etc/smb3d/smb3d.conf", "configuration file")
	var listen listFlag
	fs.Var(&listen, "listen", "address to listen on (repeatable; overrides the config)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides the config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*conf)
	if err != nil {
		return err
	}
	if len(listen) > 0 {
		cfg.Listen = listen
	}
	if *logLevel != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
			return fmt.Errorf("-log-level: %w", err)
		}
	}
	return run(cfg, nil, *conf)
}

// run starts the server and blocks until a signal or a listener failure.
// ready, if set, is called once every listener is up.
func run(cfg *Config, ready func(), confPath string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	users := auth.NewUsers()
	if cfg.UsersFile != "" {
		u, err := auth.LoadUsers(cfg.UsersFile)
		if err != nil {
			return err
		}
		users = u
	}
	if len(cfg.Shares) == 0 {
		return errors.New("no shares configured")
	}
	krb, err := kerberosConfig(cfg)
	if err != nil {
		return err
	}
	if krb != nil {
		kt, _ := krb.Keytab.Keytab()
		log.Info("kerberos", "keytab", cfg.KerberosKeytab, "principals", strings.Join(kt.Principals(), "; "), "ntlm", !cfg.DisableNTLM)
	}
	if cfg.Multichannel && runtime.GOOS != "linux" {
		// A break must be retried on another channel when the peer does
		// not take it; without SIOCOUTQ the server cannot tell (Samba turns
		// multichannel off the same way).
		log.Warn("multichannel turned off: this platform cannot tell unacknowledged bytes (SIOCOUTQ)")
		cfg.Multichannel = false
	}
	var placement *numa.Placement
	if topo, err := numa.System(); err == nil {
		pl, err := numa.NewPlacement(cfg.NUMA, topo)
		if err != nil {
			return fmt.Errorf("numa: %w", err)
		}
		placement = pl
		log.Info("numa placement", "nodes", len(topo.Nodes), "policy", cfg.NUMA.String())
	}
	srv, err := server.New(server.Config{
		NetBIOSName:        cfg.ServerName,
		Domain:             cfg.Workgroup,
		Users:              users,
		Shares:             cfg.Shares,
		SigningRequired:    cfg.SigningRequired,
		EncryptData:        cfg.EncryptData,
		RejectUnencrypted:  cfg.EncryptRequired,
		MinDialect:         cfg.MinProtocol,
		MaxDialect:         cfg.MaxProtocol,
		Multichannel:       cfg.Multichannel,
		SmbtortureFsctl:    cfg.SmbtortureFsctl,
		AllowGuest:         cfg.GuestOK,
		AllowAnonymous:     cfg.NullSessions,
		Kerberos:           krb,
		DisableNTLM:        cfg.DisableNTLM,
		MaxConnections:     cfg.MaxConnections,
		MaxOpensPerSession: cfg.MaxOpens,
		AuthTimeout:        secs(cfg.AuthTimeout),
		Logger:             log,
		Interfaces:         interfaceProvider(cfg),
		MaxCredits:         uint16(cfg.MaxCredits),
		MaxConnMemory:      int64(cfg.MaxConnMemoryMB) << 20,
	})
	if err != nil {
		return err
	}
	var ls []transport.Listener
	for i, a := range cfg.Listen {
		l, fallback, err := tcp.ListenTransport(a, cfg.TCPTransport, tcp.URingConfig{Placement: placement})
		if i == 0 {
			switch {
			case fallback != nil:
				log.Warn("io_uring unavailable: TCP over the netpoller", "reason", fallback)
			case err == nil && cfg.TCPTransport != tcp.TransportNetpoll:
				f, _ := uring.Probe()
				log.Info("TCP over io_uring", "features", f.String())
			}
		}
		if err != nil {
			for _, x := range ls {
				x.Close()
			}
			srv.Close()
			return fmt.Errorf("listen %s: %w", a, err)
		}
		ls = append(ls, l)
	}
	for _, a := range cfg.RDMAListen {
		l, err := smbdirect.Listen(a, smbdirect.Options{Logger: log, Placement: placement})
		if err != nil {
			for _, x := range ls {
				x.Close()
			}
			srv.Close()
			return fmt.Errorf("rdma listen %s: %w", a, err)
		}
		ls = append(ls, l)
		rdmaListening.add(a)
	}
	if len(cfg.RDMAListen) > 0 {
		defer func() {
			st, sd := srv.Status(), smbdirect.Counters()
			log.Info("smb-direct totals", "rdma_read_bytes", st.RDMAIn, "rdma_write_bytes", st.RDMAOut,
				"conns", sd.Conns, "refused", sd.Rejected, "messages_in", sd.MessagesReceived, "messages_out", sd.MessagesSent)
		}()
	}
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		fmt.Fprintf(os.Stderr, "smb3d: listening on %s\n", l.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- srv.Serve(l)
		}()
	}
	if ready != nil {
		ready()
	}
	reload := func() error {
		if confPath == "" {
			return errors.New("no configuration file to reload")
		}
		next, err := LoadConfig(confPath)
		if err != nil {
			return err
		}
		var users auth.UserStore = auth.NewUsers()
		if next.UsersFile != "" {
			u, err := auth.LoadUsers(next.UsersFile)
			if err != nil {
				return err
			}
			users = u
		}
		if strings.Join(next.Listen, ",") != strings.Join(cfg.Listen, ",") {
			log.Warn("reload: listener changes take effect at the next start")
		}
		if next.KerberosKeytab != cfg.KerberosKeytab || next.Realm != cfg.Realm || next.DisableNTLM != cfg.DisableNTLM || next.ClockSkew != cfg.ClockSkew {
			// The keytab's contents are re-read whenever the file changes; its path and the
			// other authentication options are read at start.
			log.Warn("reload: kerberos and ntlm option changes take effect at the next start")
		}
		return srv.Reload(next.Shares, users)
	}
	stopControl := serveControl(log, cfg, srv, reload)
	defer stopControl()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for {
		select {
		case <-stopRun:
			srv.Shutdown(5 * time.Second)
			wg.Wait()
			return nil
		case s := <-sig:
			if s == syscall.SIGHUP {
				if err := reload(); err != nil {
					log.Error("reload failed; keeping the running configuration", "err", err)
				}
				continue
			}
			log.Info("shutting down: draining requests", "signal", s.String())
			srv.Shutdown(30 * time.Second)
			wg.Wait()
			return nil
		case err := <-errc:
			srv.Close()
			if errors.Is(err, server.ErrServerClosed) {
				return nil
			}
			return err
		}
	}
}

// stopRun ends run() without a signal (tests).
var stopRun = make(chan struct{})

func userCmd(args []string) error {
	if len(args) == 0 {
		usage()
		return errors.New("user: missing action")
	}
	action := args[0]
	fs := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	file := fs.String("file", "/etc/smb3d/users", "users file")
	pass := fs.String("password", "", "password (read from standard input when absent)")
	krbOnly := fs.Bool("kerberos-only", false, "add: a user without an NT hash, who logs on only with Kerberos (no password asked)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	users, err := auth.LoadUsers(*file)
	if errors.Is(err, os.ErrNotExist) {
		users, err = auth.NewUsers(), nil
	}
	if err != nil {
		return err
	}
	switch action {
	case "list":
		for _, n := range users.Names() {
			if users.KerberosOnly(n) {
				fmt.Println(n, "(kerberos only)")
			} else {
				fmt.Println(n)
			}
		}
		return nil
	case "add", "passwd", "del":
	default:
		return fmt.Errorf("user: unknown action %q (add, passwd, del, list)", action)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("user %s: want exactly one user name", action)
	}
	name := fs.Arg(0)
	if name == "" || strings.ContainsAny(name, ":\n\r") {
		return fmt.Errorf("user %s: invalid user name %q", action, name)
	}
	if *krbOnly && (action != "add" || *pass != "") {
		return fmt.Errorf("user %s: --kerberos-only goes with add and no password", action)
	}
	switch action {
	case "del":
		if !users.Delete(name) {
			return fmt.Errorf("user del: no user %q", name)
		}
	case "passwd":
		if !users.Exists(name) {
			return fmt.Errorf("user passwd: no user %q", name)
		}
		fallthrough
	case "add":
		if *krbOnly {
			users.SetKerberosOnly(name)
			break
		}
		p := *pass
		if p == "" {
			fmt.Fprintf(os.Stderr, "password for %s: ", name)
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("user %s: reading password: %w", action, err)
			}
			p = strings.TrimRight(line, "\r\n")
		}
		if p == "" {
			return fmt.Errorf("user %s: empty password", action)
		}
		users.Set(name, auth.NTHash(p))
	}
	if err := os.MkdirAll(filepath.Dir(*file), 0o755); err != nil {
		return err
	}
	return users.Save(*file)
}

// demoCmd is the embedded default: a share on a local folder, loopback only,
// a generated user whose credentials are printed.
func demoCmd(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", ".cache/demo", "state folder; the share is DIR/share")
	listen := fs.String("listen", "127.0.0.1:4455", "loopback address to listen on")
	user := fs.String("user", "smb3d", "user name to create")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	shareDir := filepath.Join(abs, "share")
	if err := os.MkdirAll(shareDir, 0o755); err != nil {
		return err
	}
	pass := randomPassword(16)
	users := auth.NewUsers()
	users.Set(*user, auth.NTHash(pass))
	usersFile := filepath.Join(abs, "users")
	if err := users.Save(usersFile); err != nil {
		return err
	}
	cfg := defaultConfig()
	cfg.Listen = []string{*listen}
	cfg.UsersFile = usersFile
	cfg.MinProtocol = 0x0202
	cfg.Shares = []server.ShareConfig{{Name: "share", Path: shareDir}}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.ControlSocket = filepath.Join(abs, "control.sock")
	host, port, _ := strings.Cut(*listen, ":")
	return run(cfg, func() {
		fmt.Printf(`
smb3d demo is serving %s as \\%s\share
  user:     %s
  password: %s
connect with:
  smbclient //%s/share -p %s -U '%s%%%s' -m SMB3
status:  smb3d status -s %s
stop with Ctrl-C
`, shareDir, host, *user, pass, host, port, *user, pass, cfg.ControlSocket)
	}, "")
}

func randomPassword(n int) string {
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

// interfaceProvider answers FSCTL_QUERY_NETWORK_INTERFACE_INFO from the
// live interfaces (re-read at most every few seconds).
func interfaceProvider(cfg *Config) func() ([]fscc.NetworkInterface, error) {
	if !cfg.Multichannel {
		return nil
	}
	var mu sync.Mutex
	var cached []fscc.NetworkInterface
	var at time.Time
	return func() ([]fscc.NetworkInterface, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && time.Since(at) < 5*time.Second {
			return cached, nil
		}
		ifs, err := netif.Discover(netif.Options{Only: cfg.InterfaceNames, Overrides: cfg.Interfaces, RDMAListening: rdmaListening.on})
		if err != nil {
			return nil, err
		}
		cached, at = listenedOnly(netif.ToFSCC(ifs), cfg.Listen), time.Now()
		return cached, nil
	}
}

// listenedOnly keeps the interface addresses the server listens on: a
// client opens extra channels to the advertised addresses, so advertising
// one without a listener only earns refused connections.
func listenedOnly(ifs []fscc.NetworkInterface, listen []string) []fscc.NetworkInterface {
	any4, any6 := false, false
	ips := map[netip.Addr]bool{}
	for _, l := range listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			continue
		}
		a := ap.Addr().Unmap()
		switch {
		case a.IsUnspecified() && a.Is4():
			any4 = true
		case a.IsUnspecified():
			any6, any4 = true, true // [::] also takes IPv4 unless v6only
		default:
			ips[a] = true
		}
	}
	var out []fscc.NetworkInterface
	for _, i := range ifs {
		if ips[i.Addr] || i.Addr.Is4() && any4 || i.Addr.Is6() && any6 {
			out = append(out, i)
		}
	}
	return out
}

// rdmaListening records the SMB-Direct listeners that started, so the
// interface list marks an interface RDMA-capable only while a listener
// serves it (an unspecified address serves them all).
var rdmaListening rdmaSet

type rdmaSet struct {
	mu    sync.Mutex
	addrs []netip.Addr
}

func (r *rdmaSet) add(hostport string) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.addrs = append(r.addrs, ap.Addr().Unmap())
	r.mu.Unlock()
}

func (r *rdmaSet) on(ifname string) bool {
	r.mu.Lock()
	addrs := append([]netip.Addr(nil), r.addrs...)
	r.mu.Unlock()
	if len(addrs) == 0 {
		return false
	}
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return false
	}
	have, _ := ifc.Addrs()
	for _, a := range addrs {
		if a.IsUnspecified() {
			return true
		}
		for _, h := range have {
			if p, err := netip.ParsePrefix(h.String()); err == nil && p.Addr().Unmap() == a {
				return true
			}
		}
	}
	return false
}
