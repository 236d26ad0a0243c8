package crypt

// Error is a rejection by this package. Reason is a short stable token,
// suitable as a metric label.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "smb3/crypt: " + e.Reason }

// Errors returned by Cipher.Open, TransformSessionID, NewSigner and NewCipher.
// Compare with errors.Is.
var (
	// ErrTruncated: the message is not longer than the 52-byte TRANSFORM_HEADER.
	// MS-SMB2 3.3.5.2.1.1: "If the size of the message received from the client
	// is not greater than the size of the SMB2 TRANSFORM_HEADER ..., the server
	// MUST disconnect the connection."
	ErrTruncated = &Error{"transform_truncated"}
	// ErrBadProtocolID: the message does not start with 0xFD 'S' 'M' 'B'.
	ErrBadProtocolID = &Error{"transform_bad_protocol_id"}
	// ErrBadFlags: Flags/EncryptionAlgorithm is not 0x0001.
	// MS-SMB2 3.3.5.2.1.1: "If the Flags/EncryptionAlgorithm in the SMB2
	// TRANSFORM_HEADER is not 0x0001, the server MUST disconnect the connection."
	ErrBadFlags = &Error{"transform_bad_flags"}
	// ErrBadSize: OriginalMessageSize does not match the ciphertext length.
	ErrBadSize = &Error{"transform_bad_size"}
	// ErrAuth: the authentication tag (Signature) does not match; the message
	// was tampered with, or encrypted with another key.
	ErrAuth = &Error{"transform_auth_failed"}
	// ErrUnsupported: unknown signing algorithm or cipher id.
	ErrUnsupported = &Error{"unsupported_algorithm"}
	// ErrKeySize: the key length does not fit the algorithm.
	ErrKeySize = &Error{"bad_key_size"}
)
