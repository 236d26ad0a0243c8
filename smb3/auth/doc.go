// Package auth is the server side of SMB2 authentication: SPNEGO (RFC 4178, MS-SPNG) negotiating
// NTLM (MS-NLMP, NTLMv2 only) verified against stored NT hashes or Kerberos (RFC 4120, RFC 4121,
// MS-KILE) verified with a keytab, and the user store.
//
// The SMB server creates one Context per SESSION_SETUP sequence and feeds it each request's
// security buffer; Step returns the buffer of the response and whether authentication finished.
// After success, SessionKey is the input of SMB2 key derivation.
//
// Layout:
//
//   - context.go: Config, Context and the SPNEGO exchange (mechanism choice, mechListMIC). Mechanisms
//     sit behind the mechanism interface; Config.mechanisms lists those configured.
//   - spnego.go, der.go: NegTokenInit/NegTokenResp encoding and decoding, over a minimal DER codec.
//   - ntlm_server.go: the NTLM acceptor (NEGOTIATE, CHALLENGE, AUTHENTICATE; NTLMv2, key exchange, MIC).
//   - ntlm_msg.go: NTLM message views and encoders; ntlm.go: flags, AV pair IDs and the NTLM crypto
//     (NTOWFv2, key derivation); ntlm_sign.go: NTLM signatures (MS-NLMP 3.4.4) for mechListMIC.
//   - md4.go: MD4 (RFC 1320) for NT hashes.
//   - krb5_server.go: the Kerberos acceptor (AP-REQ checks, AP-REP, client mapping, replay cache,
//     RFC 4121 MIC tokens); krb5_pac.go: the ticket's PAC (MS-PAC: server signature, client
//     info, KERB_VALIDATION_INFO's SIDs over a small NDR reader); krb5_asn1.go: Ticket,
//     Authenticator, AP-REQ/AP-REP over der.go;
//     krb5_crypto.go: RFC 3961 simplified profile with AES (RFC 3962): n-fold, DK, CTS,
//     string-to-key; keytab.go: the keytab file format and a reloading KeytabFile.
//   - users.go: UserStore, KerberosOnlyStore and the file-backed Users.
//   - errors.go: ErrLogonFailure, ErrInvalidToken, ErrUnsupportedMech and *Error with a reason token.
//
// Tests include the MS-NLMP 4.2.4 NTLMv2 vectors, RFC 1320 MD4 vectors, RFC 3961 n-fold and
// RFC 3962 string-to-key and CTS vectors, a keytab written by MIT ktutil, an AP-REQ a real
// client (Samba over Heimdal) sent with its MIT ticket's PAC, a PAC encoded by Samba's NDR
// (test/kerberos/gen-pac.py), PACs Active Directory DCs issued (gokrb5's test vectors, one
// with its service key), a test-only KDC and Kerberos initiator (krb5_client_test.go),
// a test-only NTLM client shaped like Samba's and Windows' (client_test.go) driving full
// exchanges, golden SPNEGO bytes, truncation of every message, and fuzz targets seeded from real
// exchanges.
package auth
