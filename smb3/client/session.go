package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"smb3d/smb3/crypt"
	"smb3d/smb3/wire"
)

// Config configures a Session.
type Config struct {
	User, Password string
	Domain         string // NTLM domain; "" is accepted by Samba and smb3d
	Sign           bool   // sign every request after session setup
	Encrypt        bool   // encrypt every request after session setup (AES-128-GCM preferred)
	// Credits is how many credits the client tries to hold per channel
	// (asked for in CreditRequest); 0: 512.
	Credits    int
	ClientGUID [16]byte      // random when zero; the same for all channels
	Timeout    time.Duration // for connection setup exchanges; 0: 30 s
	// Breaks makes Session.Breaks deliver lease break notifications.
	Breaks bool
	// RDMA makes Dial and Bind connect by SMB-Direct (MS-SMBD) instead of
	// TCP: addr is the server's RDMA address ("ip[:port]", port 5445 by
	// default). It needs the rdma build tag and an RDMA device.
	RDMA bool
	// RDMABuffers and RDMABufferSize size each SMB-Direct channel's
	// registered buffers, one per READ or WRITE in flight whose data goes
	// by RDMA (16 x 1 MiB); RDMABufferSize also bounds MaxRead/MaxWrite.
	RDMABuffers, RDMABufferSize int
}

func (cfg *Config) withDefaults() {
	if cfg.Credits == 0 {
		cfg.Credits = 512
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ClientGUID == ([16]byte{}) {
		rand.Read(cfg.ClientGUID[:])
	}
	if cfg.RDMABuffers <= 0 {
		cfg.RDMABuffers = 16
	}
	if cfg.RDMABufferSize <= 0 {
		cfg.RDMABufferSize = 1 << 20
	}
}

// Session is an authenticated SMB 3.1.1 session with one or more channels.
type Session struct {
	cfg Config

	// Fixed after the first session setup.
	id         uint64
	dialect    wire.Dialect
	signing    bool
	encrypting bool
	cipherID   uint16
	signAlg    uint16
	signer     crypt.Signer // Session.SigningKey
	enc, dec   crypt.Cipher // ServerIn (seal requests), ServerOut (open responses)
	maxRead    uint32
	maxWrite   uint32
	maxTrans   uint32

	mu    sync.Mutex // guards chans
	chans []*conn
	rr    atomic.Uint64

	// Breaks receives lease break notifications (buffered; dropped when
	// full). Nil unless Config.Breaks is set.
	breaks chan LeaseBreak
}

// LeaseBreak is a lease break notification (MS-SMB2 2.2.23.2) and the
// channel it arrived on (its index in binding order).
type LeaseBreak struct {
	Key          [16]byte
	Current, New uint32
	AckRequired  bool
	Channel      int
}

func (s *Session) channelIndex(c *conn) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.chans {
		if x == c {
			return i
		}
	}
	return -1
}

// Breaks returns the channel of lease breaks (Config.Breaks must be set).
func (s *Session) Breaks() <-chan LeaseBreak { return s.breaks }

// AckLease acknowledges a lease break with the given state (MS-SMB2
// 2.2.24.2) on the tree the leased file was opened on, over any live channel.
func (t *Tree) AckLease(key [16]byte, state uint32) error {
	s := t.s
	b := header(wire.CmdOplockBreak, s.id, t.id, 36)
	b = le.AppendUint16(b, 36)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = append(b, key[:]...)
	b = le.AppendUint32(b, state)
	b = le.AppendUint64(b, 0)
	rs, err := s.call(req{msg: b})
	if err != nil {
		return err
	}
	defer releaseAll(rs)
	return status(&rs[0], wire.CmdOplockBreak)
}

// DropChannel closes channel i's connection abruptly, as a failed link
// would (fault tests); the session goes on over its other channels.
func (s *Session) DropChannel(i int) {
	s.mu.Lock()
	if i < 0 || i >= len(s.chans) {
		s.mu.Unlock()
		return
	}
	c := s.chans[i]
	s.chans = append(s.chans[:i:i], s.chans[i+1:]...)
	s.mu.Unlock()
	c.close()
}

// Dial connects to addr ("host:port", or an RDMA address with
// Config.RDMA), negotiates SMB 3.1.1 and authenticates.
func Dial(ctx context.Context, addr string, cfg Config) (*Session, error) {
	cfg.withDefaults()
	s := &Session{cfg: cfg}
	if cfg.Breaks {
		s.breaks = make(chan LeaseBreak, 64)
	}
	c, err := s.dialConn(ctx, addr)
	if err != nil {
		return nil, err
	}
	return s.start(c, addr)
}

// start sets up the session on its first channel c.
func (s *Session) start(c *conn, addr string) (*Session, error) {
	c, err := s.negotiateConn(c, addr)
	if err != nil {
		return nil, err
	}
	if err := s.setup(c); err != nil {
		c.close()
		return nil, err
	}
	s.chans = []*conn{c}
	return s, nil
}

// ID is the SessionId.
func (s *Session) ID() uint64 { return s.id }

// Channels is the number of bound connections.
func (s *Session) Channels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chans)
}

// MaxRead, MaxWrite and MaxTransact are the server's limits (MS-SMB2
// 2.2.4); over SMB-Direct, MaxRead and MaxWrite are also bounded by what
// one READ or WRITE can move (ioLimit, rdma.go).
func (s *Session) MaxRead() int     { return s.ioLimit(s.maxRead) }
func (s *Session) MaxWrite() int    { return s.ioLimit(s.maxWrite) }
func (s *Session) MaxTransact() int { return int(s.maxTrans) }

// Signing and Encrypting report what the session does on every request.
func (s *Session) Signing() bool    { return s.signing }
func (s *Session) Encrypting() bool { return s.encrypting }

// SigningAlgorithm is the negotiated crypt.Signing* id.
func (s *Session) SigningAlgorithm() uint16 { return s.signAlg }

// Logoff ends the session (MS-SMB2 2.2.7) on its first channel; the server
// tears down its trees and opens. Close the Session afterwards.
func (s *Session) Logoff() error {
	s.mu.Lock()
	if len(s.chans) == 0 {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.chans[0]
	s.mu.Unlock()
	b := header(wire.CmdLogoff, s.id, 0, 4)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint16(b, 0)
	done := withDeadline(c, s.cfg.Timeout)
	defer done()
	rs, err := c.roundTrip([]req{{msg: b}}, nil)
	if err != nil {
		return err
	}
	defer releaseAll(rs)
	return status(&rs[0], wire.CmdLogoff)
}

// Close closes all channels (without LOGOFF).
func (s *Session) Close() error {
	s.mu.Lock()
	cs := s.chans
	s.chans = nil
	s.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
	return nil
}

// pick returns the next channel, round robin.
func (s *Session) pick() *conn {
	s.mu.Lock()
	cs := s.chans
	s.mu.Unlock()
	if len(cs) == 1 {
		return cs[0]
	}
	return cs[s.rr.Add(1)%uint64(len(cs))]
}

// dialConn connects to addr by TCP or, with Config.RDMA, by SMB-Direct.
func (s *Session) dialConn(ctx context.Context, addr string) (*conn, error) {
	if s.cfg.RDMA {
		return s.dialRDMA(ctx, addr) // rdma.go
	}
	d := net.Dialer{Timeout: s.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newConn(newTCPLink(nc), s.cfg.Credits), nil
}

// negotiateConn runs NEGOTIATE on a new connection; on failure it is closed.
func (s *Session) negotiateConn(c *conn, addr string) (*conn, error) {
	done := withDeadline(c, s.cfg.Timeout)
	defer done()
	if err := c.negotiate(s.cfg); err != nil {
		c.close()
		return nil, fmt.Errorf("negotiate with %s: %w", addr, err)
	}
	return c, nil
}

// negotiate sends a 3.1.1 NEGOTIATE (MS-SMB2 2.2.3) with the preauth
// integrity, encryption and signing contexts and records the server's choices.
func (c *conn) negotiate(cfg Config) error {
	b := header(wire.CmdNegotiate, 0, 0, 256)
	b = le.AppendUint16(b, 36) // StructureSize
	b = le.AppendUint16(b, 1)  // DialectCount
	b = le.AppendUint16(b, wire.NegotiateSigningEnabled)
	b = le.AppendUint16(b, 0) // Reserved
	b = le.AppendUint32(b, wire.CapLargeMTU|wire.CapMultiChannel|wire.CapEncryption)
	b = append(b, cfg.ClientGUID[:]...)
	ctxOffPos := len(b)
	b = le.AppendUint32(b, 0) // NegotiateContextOffset
	b = le.AppendUint16(b, 3) // NegotiateContextCount
	b = le.AppendUint16(b, 0) // Reserved2
	b = le.AppendUint16(b, uint16(wire.Dialect311))
	pad := func() {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
	}
	pad()
	le.PutUint32(b[ctxOffPos:], uint32(len(b)))
	var salt [32]byte
	rand.Read(salt[:])
	b = le.AppendUint16(b, wire.CtxPreauthIntegrity)
	b = le.AppendUint16(b, 38)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 1)  // HashAlgorithmCount
	b = le.AppendUint16(b, 32) // SaltLength
	b = le.AppendUint16(b, wire.HashSHA512)
	b = append(b, salt[:]...)
	pad()
	b = le.AppendUint16(b, wire.CtxEncryption)
	b = le.AppendUint16(b, 6)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 2) // CipherCount
	b = le.AppendUint16(b, crypt.CipherAES128GCM)
	b = le.AppendUint16(b, crypt.CipherAES128CCM)
	pad()
	b = le.AppendUint16(b, wire.CtxSigning)
	b = le.AppendUint16(b, 6)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 2) // SigningAlgorithmCount
	b = le.AppendUint16(b, crypt.SigningAESGMAC)
	b = le.AppendUint16(b, crypt.SigningAESCMAC)

	var sent []byte
	rs, err := c.roundTrip([]req{{msg: b}}, func(m []byte) { sent = append([]byte(nil), m...) })
	if err != nil {
		return err
	}
	r := rs[0]
	defer r.Release()
	if st := r.Status(); st != wire.StatusSuccess {
		return &StatusError{wire.CmdNegotiate, st}
	}
	body := r.Body()
	if len(body) < 64 {
		return fmt.Errorf("%w: short NEGOTIATE response", ErrProtocol)
	}
	c.dialect = wire.Dialect(le.Uint16(body[4:]))
	if c.dialect != wire.Dialect311 {
		return fmt.Errorf("%w: server chose dialect %v", ErrProtocol, c.dialect)
	}
	caps := le.Uint32(body[24:])
	c.largeMTU = caps&wire.CapLargeMTU != 0
	c.max.trans, c.max.read, c.max.write = le.Uint32(body[28:]), le.Uint32(body[32:]), le.Uint32(body[36:])
	c.signAlg = crypt.SigningAESCMAC
	msg := r.Msg
	off, n := uint64(le.Uint32(body[60:])), int(le.Uint16(body[6:]))
	for i := 0; i < n; i++ {
		if off+8 > uint64(len(msg)) {
			return fmt.Errorf("%w: negotiate context out of range", ErrProtocol)
		}
		typ, l := le.Uint16(msg[off:]), uint64(le.Uint16(msg[off+2:]))
		if off+8+l > uint64(len(msg)) {
			return fmt.Errorf("%w: negotiate context out of range", ErrProtocol)
		}
		d := msg[off+8 : off+8+l]
		switch typ {
		case wire.CtxEncryption:
			if len(d) >= 4 && le.Uint16(d) == 1 {
				c.cipherID = le.Uint16(d[2:])
			}
		case wire.CtxSigning:
			if len(d) >= 4 && le.Uint16(d) == 1 {
				c.signAlg = le.Uint16(d[2:])
			}
		}
		off = (off + 8 + l + 7) &^ 7
	}
	c.preauth.Update(sent)
	c.preauth.Update(msg)
	return nil
}

func sessionSetupReq(sessID uint64, flags uint8, tok []byte) []byte {
	b := header(wire.CmdSessionSetup, sessID, 0, 24+len(tok))
	b = le.AppendUint16(b, 25) // StructureSize
	b = append(b, flags, byte(wire.NegotiateSigningEnabled))
	b = le.AppendUint32(b, 0) // Capabilities
	b = le.AppendUint32(b, 0) // Channel
	b = le.AppendUint16(b, wire.HeaderSize+24)
	b = le.AppendUint16(b, uint16(len(tok)))
	b = le.AppendUint64(b, 0) // PreviousSessionId
	return append(b, tok...)
}

const sessionFlagBinding = 0x01

// authenticate runs the SESSION_SETUP exchange (MS-SMB2 3.2.5.3) on c and
// returns the session id, the GSS session key, the session flags and the
// preauth hash over the exchange. With bind, the requests carry
// SMB2_SESSION_FLAG_BINDING and sessID.
func (s *Session) authenticate(c *conn, sessID uint64, bind bool) (id uint64, key []byte, sflags uint16, pre crypt.PreauthHash, final *Response, err error) {
	nc := &ntlmClient{user: s.cfg.User, domain: s.cfg.Domain, password: s.cfg.Password}
	pre = c.preauth
	var flags uint8
	if bind {
		flags = sessionFlagBinding
	}
	tok := spnegoInit(nc.negotiate())
	id = sessID
	for step := 0; step < 2; step++ {
		m := sessionSetupReq(id, flags, tok)
		rs, err := c.roundTrip([]req{{msg: m}}, func(m []byte) { pre.Update(m) })
		if err != nil {
			return 0, nil, 0, pre, nil, err
		}
		r := rs[0]
		st := r.Status()
		if st == wire.StatusSuccess && step == 1 {
			body := r.Body()
			if len(body) < 8 {
				r.Release()
				return 0, nil, 0, pre, nil, fmt.Errorf("%w: short SESSION_SETUP response", ErrProtocol)
			}
			return id, nc.sessionKey, le.Uint16(body[2:]), pre, &r, nil
		}
		if st != wire.StatusMoreProcessingRequired || step == 1 {
			r.Release()
			return 0, nil, 0, pre, nil, &StatusError{wire.CmdSessionSetup, st}
		}
		pre.Update(r.Msg)
		id = r.Header().SessionID()
		body := r.Body()
		if len(body) < 8 {
			r.Release()
			return 0, nil, 0, pre, nil, fmt.Errorf("%w: short SESSION_SETUP response", ErrProtocol)
		}
		o, n := uint64(le.Uint16(body[4:])), uint64(le.Uint16(body[6:]))
		if o+n > uint64(len(r.Msg)) {
			r.Release()
			return 0, nil, 0, pre, nil, fmt.Errorf("%w: security buffer out of range", ErrProtocol)
		}
		_, chal, err := spnegoParseResp(r.Msg[o : o+n])
		if err == nil {
			var auth []byte
			if auth, err = nc.authenticate(chal); err == nil {
				tok = spnegoResp(auth)
			}
		}
		r.Release()
		if err != nil {
			return 0, nil, 0, pre, nil, err
		}
	}
	return 0, nil, 0, pre, nil, ErrProtocol
}

// setup authenticates the first channel and derives the session's keys
// (MS-SMB2 3.2.5.3.1).
func (s *Session) setup(c *conn) error {
	done := withDeadline(c, s.cfg.Timeout)
	defer done()
	id, key, sflags, pre, final, err := s.authenticate(c, 0, false)
	if err != nil {
		return fmt.Errorf("session setup: %w", err)
	}
	defer final.Release()
	s.id, s.dialect, s.cipherID, s.signAlg = id, c.dialect, c.cipherID, c.signAlg
	s.maxRead, s.maxWrite, s.maxTrans = c.max.read, c.max.write, c.max.trans
	keys := crypt.DeriveKeys(uint16(c.dialect), key, pre[:], c.cipherID)
	if s.signer, err = crypt.NewSigner(s.signAlg, keys.Signing); err != nil {
		return err
	}
	if h := final.Header(); h.IsSigned() && !s.signer.Verify(final.Msg) {
		return fmt.Errorf("session setup: %w", ErrSignature)
	}
	if c.cipherID != 0 {
		if s.enc, err = crypt.NewCipher(c.cipherID, keys.Decryption); err != nil {
			return err
		}
		if s.dec, err = crypt.NewCipher(c.cipherID, keys.Encryption); err != nil {
			return err
		}
	}
	const sessionFlagEncryptData = 0x0004
	s.signing = s.cfg.Sign
	s.encrypting = s.cfg.Encrypt || sflags&sessionFlagEncryptData != 0
	if s.encrypting && s.enc == nil {
		return errors.New("session setup: encryption asked for but no cipher negotiated")
	}
	c.signer = s.signer
	c.s = s
	return nil
}

// Bind opens a new TCP connection to addr and binds it to the session as a
// channel (MS-SMB2 3.2.4.2.3, 3.2.5.3.1): NEGOTIATE with the same ClientGuid,
// SESSION_SETUP with SMB2_SESSION_FLAG_BINDING signed with
// Session.SigningKey, and Channel.SigningKey from the new authentication.
func (s *Session) Bind(ctx context.Context, addr string) error {
	c, err := s.dialConn(ctx, addr)
	if err != nil {
		return err
	}
	return s.bind(c, addr)
}

// bind binds the new connection c to the session; on failure c is closed.
func (s *Session) bind(c *conn, addr string) error {
	c, err := s.negotiateConn(c, addr)
	if err != nil {
		return err
	}
	if c.dialect != s.dialect || c.cipherID != s.cipherID || c.signAlg != s.signAlg {
		c.close()
		return fmt.Errorf("bind %s: negotiated differently from the session's first channel", addr)
	}
	done := withDeadline(c, s.cfg.Timeout)
	c.signer, c.forceSign = s.signer, true
	_, key, _, pre, final, err := s.authenticate(c, s.id, true)
	done()
	if err != nil {
		c.close()
		return fmt.Errorf("bind %s: %w", addr, err)
	}
	defer final.Release()
	keys := crypt.DeriveKeys(uint16(c.dialect), key, pre[:], c.cipherID)
	chSigner, err := crypt.NewSigner(s.signAlg, keys.Signing)
	if err != nil {
		c.close()
		return err
	}
	if !final.Header().IsSigned() || !chSigner.Verify(final.Msg) {
		c.close()
		return fmt.Errorf("bind %s: final response %w", addr, ErrSignature)
	}
	c.signer, c.forceSign = chSigner, false
	c.s = s
	s.mu.Lock()
	s.chans = append(s.chans, c)
	s.mu.Unlock()
	return nil
}

// call sends one request (or a related chain) on the next channel.
func (s *Session) call(reqs ...req) ([]Response, error) {
	return s.pick().roundTrip(reqs, nil)
}

// Tree is a connected share.
type Tree struct {
	s       *Session
	id      uint32
	encrypt bool
}

// TreeConnect connects to \\host\share (MS-SMB2 2.2.9). The request is
// signed (MS-SMB2 3.2.4.1.1: a 3.1.1 client MUST sign TREE_CONNECT).
func (s *Session) TreeConnect(share string) (*Tree, error) {
	path := utf16LE(`\\127.0.0.1\` + share)
	b := header(wire.CmdTreeConnect, s.id, 0, 8+len(path))
	b = le.AppendUint16(b, 9)  // StructureSize
	b = le.AppendUint16(b, 0)  // Flags
	b = le.AppendUint16(b, 72) // PathOffset
	b = le.AppendUint16(b, uint16(len(path)))
	b = append(b, path...)
	c := s.pick()
	rs, err := c.roundTrip([]req{{msg: b, sign: true}}, nil)
	if err != nil {
		return nil, err
	}
	r := rs[0]
	defer r.Release()
	if st := r.Status(); st != wire.StatusSuccess {
		return nil, &StatusError{wire.CmdTreeConnect, st}
	}
	body := r.Body()
	if len(body) < 16 {
		return nil, fmt.Errorf("%w: short TREE_CONNECT response", ErrProtocol)
	}
	const shareFlagEncryptData = 0x0008
	t := &Tree{s: s, id: r.Header().TreeID(), encrypt: le.Uint32(body[4:])&shareFlagEncryptData != 0}
	if t.encrypt && !s.encrypting {
		if s.enc == nil {
			return nil, errors.New("tree connect: share needs encryption, no cipher negotiated")
		}
		s.encrypting = true
	}
	return t, nil
}
