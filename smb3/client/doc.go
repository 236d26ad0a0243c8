// Package client is a minimal SMB 3.1.1 client built on the project's codec
// (smb3/wire) and cryptography (smb3/crypt), made for load generation and for
// driving servers from tests.
//
// It negotiates 3.1.1 (preauthentication integrity with SHA-512, the
// encryption and signing capability contexts; MS-SMB2 2.2.3.1), authenticates
// with NTLMv2 inside SPNEGO (MS-NLMP 3.1.5, MS-SPNG), signs with AES-CMAC or
// AES-GMAC and encrypts with AES-128-GCM when asked, and keeps many requests
// in flight on each connection within the credits the server grants
// (MS-SMB2 3.2.4.1.5, multi-credit charges for large READ/WRITE/QUERY
// requests). Extra TCP connections are bound to the session as channels
// (MS-SMB2 3.2.5.3.1, SMB2_SESSION_FLAG_BINDING) and requests are spread
// over them round robin.
//
// Channels run over TCP or, with Config.RDMA, over SMB-Direct (MS-SMBD,
// transport/smbdirect): large READ and WRITE data then goes by RDMA
// between the server and buffers each channel registers (rdma.go).
//
// Ownership: a Session owns its keys (fixed once set up) and its channel
// list (under Session.mu). Each channel (conn) has one reader goroutine that
// owns the transport's read side and completes calls; writers serialize on
// conn.wmu so that each message or compound chain goes out in one write;
// credits and message ids live under conn.cmu.
package client
