// Package auth is the server side of SMB2 authentication: SPNEGO (RFC 4178, MS-SPNG) negotiating
// NTLM (MS-NLMP, NTLMv2 only) verified against stored NT hashes, and the user store.
//
// The SMB server creates one Context per SESSION_SETUP sequence and feeds it each request's
// security buffer; Step returns the buffer of the response and whether authentication finished.
// After success, SessionKey is the input of SMB2 key derivation.
//
// Layout:
//
//   - context.go: Config, Context and the SPNEGO exchange (mechanism choice, mechListMIC). Mechanisms
//     sit behind the mechanism interface and the mechanisms table, so Kerberos can be added beside
//     NTLM without changing the SPNEGO layer.
//   - spnego.go, der.go: NegTokenInit/NegTokenResp encoding and decoding, over a minimal DER codec.
//   - ntlm_server.go: the NTLM acceptor (NEGOTIATE, CHALLENGE, AUTHENTICATE; NTLMv2, key exchange, MIC).
//   - ntlm_msg.go: NTLM message views and encoders; ntlm.go: flags, AV pair IDs and the NTLM crypto
//     (NTOWFv2, key derivation); ntlm_sign.go: NTLM signatures (MS-NLMP 3.4.4) for mechListMIC.
//   - md4.go: MD4 (RFC 1320) for NT hashes.
//   - users.go: UserStore and the file-backed Users.
//   - errors.go: ErrLogonFailure, ErrInvalidToken, ErrUnsupportedMech and *Error with a reason token.
//
// Tests include the MS-NLMP 4.2.4 NTLMv2 vectors, RFC 1320 MD4 vectors, a test-only client shaped
// like Samba's and Windows' (client_test.go) driving full exchanges, golden SPNEGO bytes,
// truncation of every message, and fuzz targets seeded from real exchanges.
package auth
