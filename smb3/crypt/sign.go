package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"
)

// Signing algorithm ids as in the SMB2_SIGNING_CAPABILITIES negotiate context
// (MS-SMB2 2.2.3.1.7).
const (
	SigningHMACSHA256 uint16 = 0
	SigningAESCMAC    uint16 = 1
	SigningAESGMAC    uint16 = 2
)

// Offsets in the 64-byte SMB2 header (MS-SMB2 2.2.1) that signing uses.
const (
	hdrCommand   = 12 // Command, 2 bytes
	hdrFlags     = 16 // Flags, 4 bytes
	hdrMessageID = 24 // MessageId, 8 bytes
	hdrSignature = 48 // Signature, 16 bytes
	hdrSize      = 64

	flagServerToRedir = 0x00000001 // SMB2_FLAGS_SERVER_TO_REDIR
	cmdCancel         = 0x000C     // SMB2 CANCEL
)

// Signer signs and verifies single SMB2 messages (header + body, one message
// of a compound chain; MS-SMB2 3.1.4.1, 3.1.5.1). Signers are safe for
// concurrent use.
type Signer interface {
	// Sign returns the 16-byte signature of msg. msg's Signature field
	// (bytes 48:64) must be zero. For AES-GMAC the 12-byte nonce is MessageId
	// (msg[24:32]) then a 32-bit LE word whose bit 0 is set when
	// SMB2_FLAGS_SERVER_TO_REDIR (flags at msg[16:20], 0x1) is set and bit 1
	// when the command (msg[12:14]) is CANCEL (0x000C); MS-SMB2 3.1.4.1.
	// A msg shorter than the 64-byte header is signed as it is (GMAC takes
	// zeros for the missing nonce fields); Verify rejects such messages.
	Sign(msg []byte) [16]byte
	// Verify checks msg's signature in place (it temporarily zeroes and
	// restores bytes 48:64, so msg must not be read or written by another
	// goroutine meanwhile) and reports whether it matches, in constant time.
	Verify(msg []byte) bool
}

// NewSigner returns a Signer for alg (SigningHMACSHA256, SigningAESCMAC or
// SigningAESGMAC) with key, the Session.SigningKey or Channel.SigningKey.
// HMAC-SHA256 takes any non-empty key; AES-CMAC and AES-GMAC take 16 bytes.
func NewSigner(alg uint16, key []byte) (Signer, error) {
	switch alg {
	case SigningHMACSHA256:
		if len(key) == 0 {
			return nil, ErrKeySize
		}
		s := &hmacSigner{}
		k := append([]byte(nil), key...)
		s.pool.New = func() any { return &hmacState{h: hmac.New(sha256.New, k)} }
		return s, nil
	case SigningAESCMAC:
		if len(key) != 16 {
			return nil, ErrKeySize
		}
		c, err := newCMAC(key)
		if err != nil {
			return nil, err
		}
		return &cmacSigner{c: c}, nil
	case SigningAESGMAC:
		if len(key) != 16 {
			return nil, ErrKeySize
		}
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, ErrKeySize
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, err
		}
		s := &gmacSigner{g: g}
		s.pool.New = func() any { return new(gmacState) }
		return s, nil
	}
	return nil, ErrUnsupported
}

// verify runs sign over msg with its Signature field zeroed and compares.
func verify(msg []byte, sign func([]byte) [16]byte) bool {
	if len(msg) < hdrSize {
		return false
	}
	var got [16]byte
	f := msg[hdrSignature : hdrSignature+16]
	copy(got[:], f)
	clear(f)
	want := sign(msg)
	copy(f, got[:])
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// hmacSigner is HMAC-SHA256 signing (SMB 2.0.2 and 2.1): the first 16 bytes
// of HMAC-SHA256(SigningKey, msg).
type hmacSigner struct {
	pool sync.Pool // of *hmacState
}

type hmacState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func (s *hmacSigner) Sign(msg []byte) [16]byte {
	st := s.pool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(msg)
	st.h.Sum(st.sum[:0])
	sig := [16]byte(st.sum[:16])
	s.pool.Put(st)
	return sig
}

func (s *hmacSigner) Verify(msg []byte) bool { return verify(msg, s.Sign) }

// cmacSigner is AES-128-CMAC signing (SMB 3.x default).
type cmacSigner struct {
	c *cmac
}

func (s *cmacSigner) Sign(msg []byte) [16]byte { return s.c.sum(msg) }

func (s *cmacSigner) Verify(msg []byte) bool { return verify(msg, s.Sign) }

// gmacSigner is AES-128-GMAC signing (SMB 3.1.1 with
// SMB2_SIGNING_CAPABILITIES): GCM with an empty plaintext and the message as
// additional data.
type gmacSigner struct {
	g    cipher.AEAD
	pool sync.Pool // of *gmacState
}

type gmacState struct {
	nonce [12]byte
	tag   [16]byte
}

// gmacNonce builds the MS-SMB2 3.1.4.1 AES-GMAC nonce of msg into n.
func gmacNonce(n *[12]byte, msg []byte) {
	*n = [12]byte{}
	if len(msg) < hdrSize {
		return
	}
	copy(n[:8], msg[hdrMessageID:hdrMessageID+8])
	var w uint32
	if binary.LittleEndian.Uint32(msg[hdrFlags:])&flagServerToRedir != 0 {
		w |= 1
	}
	if binary.LittleEndian.Uint16(msg[hdrCommand:]) == cmdCancel {
		w |= 2
	}
	binary.LittleEndian.PutUint32(n[8:], w)
}

func (s *gmacSigner) Sign(msg []byte) [16]byte {
	st := s.pool.Get().(*gmacState)
	gmacNonce(&st.nonce, msg)
	s.g.Seal(st.tag[:0], st.nonce[:], nil, msg)
	sig := st.tag
	s.pool.Put(st)
	return sig
}

func (s *gmacSigner) Verify(msg []byte) bool { return verify(msg, s.Sign) }
