// Package crypt implements the SMB2/SMB3 cryptography a server needs:
// key derivation (MS-SMB2 3.1.4.2, 3.3.5.5.3), message signing with
// HMAC-SHA256, AES-128-CMAC and AES-128-GMAC (MS-SMB2 3.1.4.1), encryption
// and decryption with the SMB2 TRANSFORM_HEADER using AES-128/256-CCM and
// AES-128/256-GCM (MS-SMB2 2.2.41, 3.1.4.3, 3.3.5.2.1.1), and the SMB 3.1.1
// pre-authentication integrity hash (MS-SMB2 3.3.5.4, 3.3.5.5).
//
// The package knows no wire semantics beyond the offsets of the fields it
// signs, nonces it builds and headers it writes; it does no I/O.
//
// AES-CMAC (RFC 4493) and AES-CCM (NIST SP 800-38C) are implemented here on
// top of crypto/aes; GCM and GMAC come from crypto/cipher. Signers and
// Ciphers are safe for concurrent use by several goroutines (a session's keys
// are shared by all of its channels) and do not allocate per message in the
// steady state, except for CCM payloads of 1 KiB or more, whose
// crypto/cipher CTR stream costs one allocation.
//
// Seal and Open append to a caller's buffer; SealInPlace and OpenInPlace
// work inside one buffer for large READ/WRITE payloads.
//
// A Cipher owns the nonce sequence of its key: create exactly one Cipher per
// encryption key and share it, or nonces could repeat.
package crypt
