package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"smb3d/numa"
	"smb3d/smb3/auth"
	"smb3d/smb3/server"
	"smb3d/transport/netif"
)

// controlHandler serves the control socket and the metrics address:
// GET /status (JSON), GET /metrics (Prometheus text), POST /reload.
func controlHandler(srv *server.Server, reload func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(srv.Status())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		srv.WriteMetrics(&b)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, b.String())
	})
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if err := reload(); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		io.WriteString(w, "reloaded\n")
	})
	return mux
}

// serveControl listens on a unix socket (mode 0600: the status names users
// and files) and on the opt-in metrics address.
func serveControl(log *slog.Logger, cfg *Config, srv *server.Server, reload func() error) (stop func()) {
	h := controlHandler(srv, reload)
	var servers []*http.Server
	if cfg.ControlSocket != "" {
		os.Remove(cfg.ControlSocket)
		l, err := net.Listen("unix", cfg.ControlSocket)
		if err != nil {
			log.Error("control socket", "path", cfg.ControlSocket, "err", err)
		} else {
			os.Chmod(cfg.ControlSocket, 0o600)
			hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
			servers = append(servers, hs)
			go hs.Serve(l)
		}
	}
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h)
		l, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			log.Error("metrics listener", "addr", cfg.MetricsListen, "err", err)
		} else {
			log.Info("metrics on " + l.Addr().String())
			hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
			servers = append(servers, hs)
			go hs.Serve(l)
		}
	}
	return func() {
		for _, hs := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			hs.Shutdown(ctx)
			cancel()
		}
		if cfg.ControlSocket != "" {
			os.Remove(cfg.ControlSocket)
		}
	}
}

func controlClient(sock string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

// statusCmd prints what a running server is doing: sessions, channels
// (address, transport, NUMA node), opens and leases.
func statusCmd(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	conf := fs.String("c", "/etc/smb3d/smb3d.conf", "configuration file (for the control socket path)")
	sock := fs.String("s", "", "control socket (overrides the config)")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *sock
	if path == "" {
		cfg, err := LoadConfig(*conf)
		if err != nil {
			return err
		}
		path = cfg.ControlSocket
	}
	if path == "" {
		return errors.New("status: no control socket configured ('control socket = PATH' in [global], or -s)")
	}
	resp, err := controlClient(path).Get("http://smb3d/status")
	if err != nil {
		return fmt.Errorf("status: is smb3d running? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if *asJSON {
		os.Stdout.Write(body)
		return nil
	}
	var st server.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return err
	}
	printStatus(os.Stdout, &st)
	return nil
}

func printStatus(w io.Writer, st *server.Status) {
	fmt.Fprintf(w, "smb3d up since %s: %d connections, %d requests, %d rejected\n", st.Started.Format(time.RFC3339), st.Conns, st.Requests, st.Rejected)
	fmt.Fprintf(w, "bytes read %d (by RDMA %d), written %d (by RDMA %d)\n\n", st.BytesOut, st.RDMAOut, st.BytesIn, st.RDMAIn)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tUSER\tDIALECT\tSIGN\tENCRYPT\tOPENS\tSHARES\tCHANNELS (remote, transport, numa node)")
	for _, s := range st.Sessions {
		var chs []string
		for _, c := range s.Channels {
			node := "-"
			if c.NUMANode >= 0 {
				node = fmt.Sprint(c.NUMANode)
			}
			chs = append(chs, fmt.Sprintf("%s %s node %s", c.Remote, c.Transport, node))
		}
		user := s.User
		if s.Domain != "" {
			user = s.Domain + `\` + s.User
		}
		fmt.Fprintf(tw, "%#x\t%s\t%s\t%v\t%v\t%d\t%s\t%s\n", s.ID, user, s.Dialect, s.Signing, s.Encrypt, s.Opens, strings.Join(s.Trees, ","), strings.Join(chs, "; "))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "OPEN FILES (%d, %d leases)\tSESSION\tACCESS\tCACHING\n", len(st.Opens), st.Leases)
	for _, o := range st.Opens {
		fmt.Fprintf(tw, "%s\\%s\t%#x\t%#x\t%s\n", o.Share, o.Path, o.Session, o.Access, o.Oplock)
	}
	tw.Flush()
}

// diagCmd says whether multichannel and RDMA will engage for a Windows
// client, and if not, why.
func diagCmd(args []string) error {
	fs := flag.NewFlagSet("diag", flag.ContinueOnError)
	conf := fs.String("c", "/etc/smb3d/smb3d.conf", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*conf)
	if err != nil {
		return err
	}
	w := os.Stdout
	problems := 0
	bad := func(format string, a ...any) {
		problems++
		fmt.Fprintf(w, "  PROBLEM: "+format+"\n", a...)
	}
	fmt.Fprintf(w, "configuration %s\n", *conf)
	fmt.Fprintf(w, "  listeners: %s\n", strings.Join(cfg.Listen, ", "))
	fmt.Fprintf(w, "  dialects: %s to %s; signing required: %v; encrypt data: %v\n", cfg.MinProtocol, cfg.MaxProtocol, cfg.SigningRequired, cfg.EncryptData)
	if cfg.MaxProtocol < 0x0300 {
		bad("max protocol is below 3.0: no multichannel, no SMB-Direct")
	}
	if cfg.UsersFile != "" {
		if u, err := auth.LoadUsers(cfg.UsersFile); err != nil {
			bad("users file: %v", err)
		} else if len(u.Names()) == 0 {
			bad("users file %s has no users", cfg.UsersFile)
		}
	} else if !cfg.GuestOK {
		bad("no users file and no guest access: nobody can log on")
	}
	fmt.Fprintln(w, "\nmultichannel")
	if !cfg.Multichannel {
		bad("'multichannel = yes' is not set: clients will use one connection")
	}
	ifs, err := netif.Discover(netif.Options{Only: cfg.InterfaceNames, Overrides: cfg.Interfaces})
	if err != nil {
		bad("interface discovery failed: %v", err)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  INTERFACE\tINDEX\tSPEED\tRSS\tRDMA DEVICES\tADVERTISED RDMA\tNUMA\tADDRESSES")
	rss, rdma := 0, 0
	for _, i := range ifs {
		var addrs []string
		for _, a := range i.Addrs {
			addrs = append(addrs, a.String())
		}
		speed := "unknown (advertised 1 Gb/s)"
		if i.Speed > 0 {
			speed = fmt.Sprintf("%d Gb/s", i.Speed/1e9)
		}
		if i.RSS {
			rss++
		}
		if len(i.RDMADevices) > 0 {
			rdma++
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%v\t%s\t%v\t%d\t%s\n", i.Name, i.Index, speed, i.RSS, strings.Join(i.RDMADevices, ","), i.RDMA, i.NUMANode, strings.Join(addrs, " "))
	}
	tw.Flush()
	if len(ifs) == 0 {
		bad("no interface to advertise: FSCTL_QUERY_NETWORK_INTERFACE_INFO fails, clients stay on one channel")
	} else if len(ifs) == 1 && rss == 0 && rdma == 0 {
		bad("one interface without RSS or RDMA: Windows opens extra channels only to other interfaces, RSS-capable or RDMA-capable ones (set 'interfaces = IF;capability=RSS' if the NIC has several queues)")
	}
	fmt.Fprintln(w, "\nNUMA")
	if topo, err := numa.System(); err != nil {
		fmt.Fprintf(w, "  topology: %v\n", err)
	} else if _, err := numa.NewPlacement(cfg.NUMA, topo); err != nil {
		bad("numa: %v", err)
	} else {
		fmt.Fprintf(w, "  %d node(s); policy %v\n", len(topo.Nodes), cfg.NUMA)
	}
	fmt.Fprintln(w, "\nSMB-Direct (RDMA)")
	if rdma == 0 {
		bad("no RDMA device on any advertised interface (rdma link show; for soft-RoCE: rdma link add rxe0 type rxe netdev IF)")
	}
	if len(cfg.RDMAListen) == 0 {
		bad("no 'rdma listen' address: Windows connects to RDMA on port 445 (RoCE/InfiniBand) or 5445 (iWARP) only if the server listens there and advertises RDMA")
	} else {
		fmt.Fprintf(w, "  rdma listeners: %s\n", strings.Join(cfg.RDMAListen, ", "))
	}
	fmt.Fprintln(w, "\nWindows clients: SMB Direct needs Windows Server or Windows 11 Pro for Workstations/Enterprise, an RDMA NIC with")
	fmt.Fprintln(w, "Get-NetAdapterRdma Enabled=True, Get-SmbClientNetworkInterface RdmaCapable=True, and signing off or")
	fmt.Fprintln(w, "RDMA signing support (Windows 11 24H2 signs by default: expect lower RDMA throughput with signing).")
	if problems == 0 {
		fmt.Fprintln(w, "\nOK: multichannel and RDMA should engage")
		return nil
	}
	return fmt.Errorf("%d problem(s) found", problems)
}

var _ = sort.Strings
