package auth

import "io"

// A minimal DER reader and writer for the SPNEGO tokens (RFC 4178 4.2, X.690). Only low tag
// numbers and definite lengths occur in SPNEGO; anything else is rejected.

// ASN.1 tags used by SPNEGO.
const (
	tagEnumerated    = 0x0a
	tagOctetString   = 0x04
	tagOID           = 0x06
	tagGeneralString = 0x1b
	tagSequence      = 0x30
	tagApplication0  = 0x60 // [APPLICATION 0] constructed: the GSS-API InitialContextToken (RFC 2743 3.1)
	tagContext0      = 0xa0 // [n] constructed is tagContext0 + n
)

// maxTokenLen bounds any length read from a token. Security buffers are carried in one SMB2
// message, so lengths beyond 16 MiB can only be garbage.
const maxTokenLen = 1 << 24

// derNext splits the first TLV off b. It returns the tag, the contents and the remaining bytes;
// a length running past the end of b returns io.ErrUnexpectedEOF.
func derNext(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, io.ErrUnexpectedEOF
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, invalid("der-high-tag")
	}
	n := int(b[1])
	hdr := 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 {
			return 0, nil, nil, invalid("der-indefinite-length")
		}
		if k > 3 {
			return 0, nil, nil, invalid("der-length")
		}
		if len(b) < 2+k {
			return 0, nil, nil, io.ErrUnexpectedEOF
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n > maxTokenLen {
		return 0, nil, nil, invalid("der-length")
	}
	if n > len(b)-hdr {
		return 0, nil, nil, io.ErrUnexpectedEOF
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], nil
}

// derLen returns the size of a TLV with n content bytes.
func derLen(n int) int {
	switch {
	case n < 0x80:
		return 2 + n
	case n < 0x100:
		return 3 + n
	case n < 0x10000:
		return 4 + n
	default:
		return 5 + n
	}
}

// derAppend appends the TLV (tag, concatenation of parts) to b.
func derAppend(b []byte, tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b = append(b, tag)
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// der returns the TLV (tag, concatenation of parts).
func der(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return derAppend(make([]byte, 0, derLen(n)), tag, parts...)
}

// AppendDER appends the DER TLV (tag, concatenation of parts) to b; for
// initiators built on this package's encoding (smb3/client).
func AppendDER(b []byte, tag byte, parts ...[]byte) []byte { return derAppend(b, tag, parts...) }
