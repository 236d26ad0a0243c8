// Package rpc is the small part of DCE/RPC that SMB clients use over IPC$
// named pipes to browse a server: connection-oriented PDUs (C706 chapter 12,
// MS-RPCE 2.2.2), NDR marshalling (C706 chapter 14) and the srvsvc (MS-SRVS)
// and wkssvc (MS-WKST) calls that list shares and describe the server.
//
// The codec is free of I/O: a Pipe takes the bytes a client writes and
// queues the PDUs to read back; the SMB server moves them.
//
// Layout: pdu.go is the connection-oriented PDU codec, ndr.go the NDR 2.0
// encoder and decoder, pipe.go the per-open state (bind, fragment
// reassembly, fault answers, output messages), and srvsvc.go,
// srvsvc_enum.go and wkssvc.go the calls. The SMB side is
// smb3/server/pipe.go.
package rpc
