// Package gosmb2 holds integration tests that drive an SMB server with an independent
// client, github.com/hirochachacha/go-smb2 v1.1.0 (SMB 3.1.1, NTLM, AES-CMAC signing).
//
// By default TestMain builds ./cmd/smb3d, starts it on a free loopback port with a temporary
// share and user, and runs the tests against it, once per TCP transport: `tcp transport =
// uring` (a smb3d that falls back to the netpoller says so) and `netpoll`, or the
// comma-separated list in SMB3D_TEST_TRANSPORT. To test another server (for example Samba
// smbd started by test/peers/smbd.sh, to check the tests themselves):
//
//	SMB3D_ADDR=127.0.0.1:4455 SMB3D_USER=smbtest SMB3D_PASS=Passw0rd.Test \
//	SMB3D_SHARE=share SMB3D_SHARE_DIR=/tmp/smbpeer/share go test ./test/gosmb2/
//
// SMB3D_SHARE_DIR (the share's local path) is optional; with it the tests also check what
// landed on disk and try to escape through symlinks.
//
// go-smb2 v1.1.0 with signing required fails on an unsigned STATUS_PENDING interim response,
// which Samba sends when an operation is slow (a loaded machine). SMB3D_REQUIRE_SIGNING=no
// mounts without requiring signing so the tests can be checked against Samba regardless;
// smb3d is tested with signing required (see TestConcurrentClients).
package gosmb2
