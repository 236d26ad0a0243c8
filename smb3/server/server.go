// Package server is the SMB2/3 server: channels (transport connections),
// sessions, tree connects, opens and the command handlers. It uses smb3/wire
// for encoding, smb3/crypt for signing and encryption, smb3/auth for logon and
// smb3/vfs for the file backend; it knows nothing of which transport carries
// a message.
package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/auth"
	"smb3d/smb3/fscc"
	"smb3d/smb3/vfs"
	"smb3d/smb3/wire"
	"smb3d/transport"
)

// ShareConfig describes one disk share.
type ShareConfig struct {
	Name          string
	Path          string
	ReadOnly      bool
	EncryptData   bool
	GuestOK       bool
	CaseSensitive bool
	Comment       string
	ValidUsers    []string // when set, only these users may connect (case-insensitive)
}

// Config is the server configuration. Zero values take the defaults below.
type Config struct {
	ServerGUID         [16]byte // random when zero
	NetBIOSName        string   // "SMB3D"
	Domain             string   // "WORKGROUP"
	Users              auth.UserStore
	Shares             []ShareConfig
	SigningRequired    bool
	EncryptData        bool         // require encryption on every session (3.x only)
	RejectUnencrypted  bool         // with EncryptData: refuse clients that cannot encrypt
	MinDialect         wire.Dialect // 0x0202
	MaxDialect         wire.Dialect // 0x0311
	MaxReadSize        uint32       // 8 MiB
	MaxWriteSize       uint32       // 8 MiB
	MaxTransactSize    uint32       // 8 MiB
	MaxCredits         uint16       // 8192
	AllowGuest         bool
	AllowAnonymous     bool
	Kerberos           *auth.Kerberos // nil: NTLM only; else the keytab SPNEGO offers Kerberos with
	DisableNTLM        bool           // Kerberos only
	Multichannel       bool
	SmbtortureFsctl    bool          // Samba's test-only FSCTL_SMBTORTURE codes (smb2.multichannel blocks channels with them); off by default
	MaxConnections     int           // 0: 4096
	MaxOpensPerSession int           // 0: 65536
	MaxConnMemory      int64         // bytes of requests and responses in flight per connection; 0: 64 MiB
	AuthTimeout        time.Duration // a connection that does not authenticate within it is dropped; 0: 60 s
	IdleTimeout        time.Duration // an authenticated connection with no traffic; 0: none
	// Ciphers in preference order (crypt.Cipher* ids); nil: AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM.
	Ciphers []uint16
	Logger  *slog.Logger
	// BreakTimeout is how long an oplock or lease break waits for its
	// acknowledgment; 0: 35 s.
	BreakTimeout time.Duration
	// DirectoryLeases grants read/handle leases on directories.
	DirectoryLeases bool
	// Interfaces lists the network interfaces FSCTL_QUERY_NETWORK_INTERFACE_INFO
	// advertises (multichannel); nil: the FSCTL is not supported.
	Interfaces func() ([]fscc.NetworkInterface, error)
}

// Server is an SMB2/3 file server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	authCfg *auth.Config
	start   time.Time

	shares   map[string]*share // by upper-case name; replaced whole by Reload under sharesMu
	sharesMu sync.RWMutex

	mu        sync.Mutex
	sessions  map[uint64]*session
	conns     map[*conn]struct{}
	listeners []transport.Listener
	closed    bool

	opens  openTable
	leases map[leaseID]*lease // guarded by nodes.mu
	nodes  nodeTable
	locks  lockTable
	nextID atomic.Uint64

	streamMu    sync.Mutex             // serializes read-modify-write of stream xattrs
	heldDeletes map[nodeKey]heldDelete // files deleted while streams are open (stream_delete.go); nodes.mu
	notify      notifier

	stats   Stats
	metrics metrics
	users   swapUsers
}

// Stats are counters for status and metrics.
type Stats struct {
	Conns, Sessions     atomic.Int64
	Requests, BytesRead atomic.Uint64
	BytesWritten        atomic.Uint64
	RDMABytesRead       atomic.Uint64 // WRITE payloads pulled by RDMA read
	RDMABytesWritten    atomic.Uint64 // READ data pushed by RDMA write
	SplicedBytes        atomic.Uint64 // READ data sent file-to-socket by splice (zero copy)
	Rejections          atomic.Uint64
}

type share struct {
	cfg ShareConfig
	fs  *vfs.FS
	ipc bool
}

// New checks cfg, opens the shares and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	if cfg.ServerGUID == ([16]byte{}) {
		rand.Read(cfg.ServerGUID[:])
	}
	if cfg.NetBIOSName == "" {
		cfg.NetBIOSName = "SMB3D"
	}
	if cfg.Domain == "" {
		cfg.Domain = "WORKGROUP"
	}
	if cfg.MinDialect == 0 {
		cfg.MinDialect = wire.Dialect202
	}
	if cfg.MaxDialect == 0 {
		cfg.MaxDialect = wire.Dialect311
	}
	if cfg.MaxReadSize == 0 {
		cfg.MaxReadSize = 8 << 20
	}
	if cfg.MaxWriteSize == 0 {
		cfg.MaxWriteSize = 8 << 20
	}
	if cfg.MaxTransactSize == 0 {
		cfg.MaxTransactSize = 8 << 20
	}
	if cfg.MaxCredits == 0 {
		cfg.MaxCredits = 8192
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 4096
	}
	if cfg.MaxConnMemory == 0 {
		cfg.MaxConnMemory = 64 << 20
	}
	if cfg.MaxOpensPerSession == 0 {
		cfg.MaxOpensPerSession = 65536
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = 60 * time.Second
	}
	if cfg.Ciphers == nil {
		cfg.Ciphers = []uint16{2, 1, 4, 3}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Users == nil {
		cfg.Users = auth.NewUsers()
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		start:    time.Now(),
		shares:   make(map[string]*share),
		sessions: make(map[uint64]*session),
		conns:    make(map[*conn]struct{}),
		leases:   make(map[leaseID]*lease),
	}
	s.opens.init()
	s.notify.srv = s
	s.nodes.init()
	s.locks.init()
	s.users.set(cfg.Users)
	s.authCfg = &auth.Config{
		Users:          &s.users,
		NetBIOSName:    cfg.NetBIOSName,
		NetBIOSDomain:  cfg.Domain,
		DNSName:        strings.ToLower(cfg.NetBIOSName),
		DNSDomain:      strings.ToLower(cfg.Domain),
		AllowGuest:     cfg.AllowGuest,
		AllowAnonymous: cfg.AllowAnonymous,
		Kerberos:       cfg.Kerberos,
		DisableNTLM:    cfg.DisableNTLM,
	}
	for _, sc := range cfg.Shares {
		key := strings.ToUpper(sc.Name)
		if key == "" || key == "IPC$" {
			return nil, fmt.Errorf("share name %q is reserved", sc.Name)
		}
		if _, dup := s.shares[key]; dup {
			return nil, fmt.Errorf("share %q defined twice", sc.Name)
		}
		fs, err := vfs.Open(sc.Path, vfs.Options{ReadOnly: sc.ReadOnly, CaseSensitive: sc.CaseSensitive})
		if err != nil {
			s.closeShares()
			return nil, fmt.Errorf("share %q: %w", sc.Name, err)
		}
		s.shares[key] = &share{cfg: sc, fs: fs}
	}
	s.shares["IPC$"] = &share{cfg: ShareConfig{Name: "IPC$", Comment: "IPC Service"}, ipc: true}
	return s, nil
}

func (s *Server) closeShares() {
	for _, sh := range s.shares {
		if sh.fs != nil {
			sh.fs.Close()
		}
	}
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("smb3d: server closed")

// Serve accepts connections from l until l fails or the server is closed.
func (s *Server) Serve(l transport.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	var tempDelay time.Duration
	for {
		tc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if tempDelay == 0 {
					tempDelay = 5 * time.Millisecond
				} else if tempDelay *= 2; tempDelay > time.Second {
					tempDelay = time.Second
				}
				time.Sleep(tempDelay)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			return err
		}
		tempDelay = 0
		s.mu.Lock()
		if len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			s.reject("max-connections", "remote", tc.RemoteAddr().String())
			tc.Close()
			continue
		}
		c := newConn(s, tc)
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.stats.Conns.Add(1)
		go c.serve()
	}
}

func (s *Server) reject(reason string, args ...any) {
	s.stats.Rejections.Add(1)
	s.metrics.reject(reason)
	s.log.Warn("rejected: "+reason, args...)
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.stats.Conns.Add(-1)
}

// Close stops the listeners, closes every connection and the shares.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ls := s.listeners
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	for _, c := range cs {
		c.close(ErrServerClosed)
	}
	s.closeShares()
	return nil
}

func (s *Server) newID() uint64 { return s.nextID.Add(1) }

func (s *Server) lookupShare(name string) *share {
	s.sharesMu.RLock()
	defer s.sharesMu.RUnlock()
	return s.shares[strings.ToUpper(name)]
}
