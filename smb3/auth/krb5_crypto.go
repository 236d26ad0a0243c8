package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"strconv"
)

// Kerberos encryption types of the simplified profile (RFC 3961 5.3) with AES (RFC 3962):
// AES in CBC mode with ciphertext stealing, HMAC-SHA1 truncated to 96 bits, keys derived per key
// usage with DK. These are the enctypes MIT, Heimdal and Active Directory use by default.

// Encryption type numbers (RFC 3961 8, RFC 3962 7).
const (
	etypeAES128SHA1 = 17 // aes128-cts-hmac-sha1-96
	etypeAES256SHA1 = 18 // aes256-cts-hmac-sha1-96
)

// Key usage numbers (RFC 4120 7.5.1, RFC 4121 2).
const (
	usageTicket        = 2  // Ticket enc-part, encrypted with the service key
	usageAuthenticator = 11 // AP-REQ Authenticator, encrypted with the ticket session key
	usageAPRepPart     = 12 // AP-REP enc-part, encrypted with the ticket session key
	usageAcceptorSign  = 23 // KG-USAGE-ACCEPTOR-SIGN: MIC tokens from the acceptor
	usageInitiatorSign = 25 // KG-USAGE-INITIATOR-SIGN: MIC tokens from the initiator
)

const (
	aesBlock   = aes.BlockSize
	sha1MACLen = 12 // HMAC-SHA1-96 (RFC 3962 6: h = 96 bits)
)

// errIntegrity is a ciphertext whose HMAC does not verify: the wrong key, or tampering.
var errIntegrity = errors.New("krb5: integrity check failed")

// etypeKeyLen returns the key size of a supported enctype, 0 for others.
func etypeKeyLen(etype int32) int {
	switch etype {
	case etypeAES128SHA1:
		return 16
	case etypeAES256SHA1:
		return 32
	}
	return 0
}

// etypeName is the enctype's name as MIT and Heimdal print it.
func etypeName(etype int32) string {
	switch etype {
	case etypeAES128SHA1:
		return "aes128-cts-hmac-sha1-96"
	case etypeAES256SHA1:
		return "aes256-cts-hmac-sha1-96"
	case 23:
		return "arcfour-hmac"
	case 19:
		return "aes128-cts-hmac-sha256-128"
	case 20:
		return "aes256-cts-hmac-sha384-192"
	case 1, 3:
		return "des-cbc"
	case 16:
		return "des3-cbc-sha1"
	}
	return "etype-" + strconv.Itoa(int(etype))
}

// nfold stretches or shrinks in to n bytes (RFC 3961 5.1): the input is repeated lcm(n,k)/k
// times, each copy rotated 13 bits right of the one before, and the n-byte blocks of the result
// are added with ones-complement (end-around carry) addition.
func nfold(in []byte, n int) []byte {
	k := len(in)
	l := lcm(n, k)
	kbits := uint(k * 8)
	x := new(big.Int).SetBytes(in)
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), kbits), big.NewInt(1))
	// rep: the lcm-byte string, copy 0 at the most significant end.
	rep := new(big.Int)
	rot := new(big.Int)
	for i := 0; i < l/k; i++ {
		r := uint(13*i) % kbits
		// rotate right by r bits within kbits
		rot.Rsh(x, r)
		hi := new(big.Int).Lsh(x, kbits-r)
		hi.And(hi, mask)
		rot.Or(rot, hi)
		rep.Lsh(rep, kbits)
		rep.Or(rep, rot)
	}
	nbits := uint(n * 8)
	nmask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), nbits), big.NewInt(1))
	sum := new(big.Int)
	chunk := new(big.Int)
	for i := 0; i < l/n; i++ {
		chunk.And(rep, nmask)
		sum.Add(sum, chunk)
		rep.Rsh(rep, nbits)
	}
	for sum.BitLen() > int(nbits) {
		hi := new(big.Int).Rsh(sum, nbits)
		sum.And(sum, nmask)
		sum.Add(sum, hi)
	}
	out := make([]byte, n)
	return sum.FillBytes(out)
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// deriveKey is DK(base, constant) for AES (RFC 3961 5.1, RFC 3962 5): the constant n-folded
// to a block, encrypted repeatedly with the base key, the blocks concatenated to the key size.
// AES's random-to-key is the identity.
func deriveKey(base, constant []byte) []byte {
	c, err := aes.NewCipher(base)
	if err != nil {
		panic("krb5: deriveKey: " + err.Error()) // callers pass 16- or 32-byte keys
	}
	block := constant
	if len(block) != aesBlock {
		block = nfold(constant, aesBlock)
	}
	out := make([]byte, 0, len(base)+aesBlock)
	next := make([]byte, aesBlock)
	for len(out) < len(base) {
		c.Encrypt(next, block)
		out = append(out, next...)
		block = next
		next = make([]byte, aesBlock)
	}
	return out[:len(base)]
}

// usageConstant is the DK constant of a key usage: the usage number big-endian and a byte
// saying which key (0xAA encryption, 0x55 integrity, 0x99 checksum) (RFC 3961 5.3).
func usageConstant(usage uint32, kind byte) []byte {
	var b [5]byte
	binary.BigEndian.PutUint32(b[:], usage)
	b[4] = kind
	return b[:]
}

// stringToKeyAES is the AES string-to-key (RFC 3962 4): PBKDF2-HMAC-SHA1 of the password and
// salt (the realm followed by the principal's components, by default), then DK with
// "kerberos". iter is 4096 unless the KDC says otherwise.
func stringToKeyAES(password, salt string, iter, keyLen int) []byte {
	tkey, err := pbkdf2.Key(sha1.New, password, []byte(salt), iter, keyLen)
	if err != nil {
		panic("krb5: pbkdf2: " + err.Error())
	}
	return deriveKey(tkey, []byte("kerberos"))
}

// ctsEncrypt is AES-CBC with ciphertext stealing and a zero IV, the variant that always swaps
// the last two blocks (RFC 3962 5; NIST SP 800-38A addendum CS3). len(p) must be >= 16.
func ctsEncrypt(key, p []byte) []byte {
	c, err := aes.NewCipher(key)
	if err != nil {
		panic("krb5: cts: " + err.Error())
	}
	iv := make([]byte, aesBlock)
	if len(p) == aesBlock {
		out := make([]byte, aesBlock)
		c.Encrypt(out, p)
		return out
	}
	n := (len(p) + aesBlock - 1) / aesBlock
	last := len(p) - (n-1)*aesBlock // 1..16 bytes in the final block
	padded := make([]byte, n*aesBlock)
	copy(padded, p)
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(padded, padded)
	out := make([]byte, 0, len(p))
	out = append(out, padded[:(n-2)*aesBlock]...)
	out = append(out, padded[(n-1)*aesBlock:]...)        // C_n, whole
	out = append(out, padded[(n-2)*aesBlock:][:last]...) // C_{n-1}, truncated
	return out
}

// ctsDecrypt inverts ctsEncrypt. len(ct) must be >= 16.
func ctsDecrypt(key, ct []byte) []byte {
	c, err := aes.NewCipher(key)
	if err != nil {
		panic("krb5: cts: " + err.Error())
	}
	if len(ct) == aesBlock {
		out := make([]byte, aesBlock)
		c.Decrypt(out, ct)
		return out
	}
	n := (len(ct) + aesBlock - 1) / aesBlock
	last := len(ct) - (n-1)*aesBlock
	cn := ct[(n-2)*aesBlock : (n-1)*aesBlock] // the CBC C_n, sent second to last
	cStar := ct[(n-1)*aesBlock:]              // the head of the CBC C_{n-1}
	d := make([]byte, aesBlock)
	c.Decrypt(d, cn) // = P_n (zero padded) XOR C_{n-1}
	cPrev := make([]byte, aesBlock)
	copy(cPrev, cStar)
	copy(cPrev[last:], d[last:])
	out := make([]byte, len(ct))
	for i := 0; i < last; i++ {
		out[(n-1)*aesBlock+i] = d[i] ^ cStar[i]
	}
	// CBC-decrypt C_1 .. C_{n-2}, C_{n-1}.
	body := make([]byte, (n-1)*aesBlock)
	copy(body, ct[:(n-2)*aesBlock])
	copy(body[(n-2)*aesBlock:], cPrev)
	cipher.NewCBCDecrypter(c, make([]byte, aesBlock)).CryptBlocks(body, body)
	copy(out, body)
	return out
}

// krbKey is a key with its enctype, and the keys derived from it per usage, cached.
type krbKey struct {
	etype int32
	value []byte
}

func (k krbKey) valid() bool { return etypeKeyLen(k.etype) == len(k.value) && len(k.value) > 0 }

// encrypt is the simplified profile's encryption (RFC 3961 5.3): a random confounder block is
// prepended, the whole CTS-encrypted under Ke, and HMAC-SHA1-96 of the plaintext under Ki
// appended.
func (k krbKey) encrypt(usage uint32, plain []byte, rand io.Reader) ([]byte, error) {
	if !k.valid() {
		return nil, errors.New("krb5: unsupported key")
	}
	p := make([]byte, aesBlock+len(plain))
	if _, err := io.ReadFull(rand, p[:aesBlock]); err != nil {
		return nil, err
	}
	copy(p[aesBlock:], plain)
	ke := deriveKey(k.value, usageConstant(usage, 0xAA))
	ki := deriveKey(k.value, usageConstant(usage, 0x55))
	out := ctsEncrypt(ke, p)
	m := hmac.New(sha1.New, ki)
	m.Write(p)
	return m.Sum(out)[:len(out)+sha1MACLen], nil
}

// decrypt reverses encrypt and checks the HMAC; it returns the plaintext without the
// confounder, or errIntegrity.
func (k krbKey) decrypt(usage uint32, ct []byte) ([]byte, error) {
	if !k.valid() {
		return nil, errors.New("krb5: unsupported key")
	}
	if len(ct) < aesBlock+sha1MACLen {
		return nil, io.ErrUnexpectedEOF
	}
	body, mac := ct[:len(ct)-sha1MACLen], ct[len(ct)-sha1MACLen:]
	ke := deriveKey(k.value, usageConstant(usage, 0xAA))
	ki := deriveKey(k.value, usageConstant(usage, 0x55))
	p := ctsDecrypt(ke, body)
	m := hmac.New(sha1.New, ki)
	m.Write(p)
	if subtle.ConstantTimeCompare(m.Sum(nil)[:sha1MACLen], mac) != 1 {
		return nil, errIntegrity
	}
	return p[aesBlock:], nil
}

// checksum is the keyed checksum of the enctype (hmac-sha1-96-aes128/256, RFC 3962 7):
// HMAC-SHA1-96 under Kc of the usage.
func (k krbKey) checksum(usage uint32, parts ...[]byte) []byte {
	kc := deriveKey(k.value, usageConstant(usage, 0x99))
	m := hmac.New(sha1.New, kc)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)[:sha1MACLen]
}
