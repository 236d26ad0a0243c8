package server_test

import (
	"bytes"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	smb2 "github.com/hirochachacha/go-smb2"
)

// TestGoSMB2 is a smoke test with an independent client, go-smb2 v1.1.0
// (SMB 3.1.1, NTLMv2, AES-CMAC signing), in process against the server with
// signing required: a 1 MiB file written and read back, and the namespace
// operations a client uses.
func TestGoSMB2(t *testing.T) {
	st := newServerTester(t, func(c *serverConfig) { c.SigningRequired = true })
	conn, err := net.DialTimeout("tcp", st.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	d := &smb2.Dialer{
		Negotiator: smb2.Negotiator{RequireMessageSigning: true},
		Initiator:  &smb2.NTLMInitiator{User: testUser, Password: testPass},
	}
	s, err := d.Dial(conn)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer s.Logoff()
	fs, err := s.Mount(testShare)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	defer fs.Umount()

	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := fs.WriteFile("big.bin", data, 0o644); err != nil {
		t.Fatalf("write 1 MiB: %v", err)
	}
	got, err := fs.ReadFile("big.bin")
	if err != nil {
		t.Fatalf("read 1 MiB: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(data))
	}
	onDisk, err := os.ReadFile(filepath.Join(st.root, "big.bin"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("on disk: %d bytes, %v", len(onDisk), err)
	}

	if err := fs.Mkdir("dir", 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := fs.Rename("big.bin", `dir\moved.bin`); err != nil {
		t.Fatalf("rename: %v", err)
	}
	fi, err := fs.Stat(`dir\moved.bin`)
	if err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("stat: %v, %v", fi, err)
	}
	ents, err := fs.ReadDir("dir")
	if err != nil {
		t.Fatalf("readdir: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "moved.bin" {
		t.Errorf("readdir: %v", names)
	}
	if err := fs.Remove(`dir\moved.bin`); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if err := fs.Remove("dir"); err != nil {
		t.Fatalf("rmdir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(st.root, "dir")); !os.IsNotExist(err) {
		t.Errorf("dir still on disk: %v", err)
	}
	// An escape through go-smb2's own path handling fails too.
	if _, err := fs.ReadFile(`..\outside\` + secretName); err == nil {
		t.Errorf("read outside the share through go-smb2")
	}
}

// TestGoSMB2WrongPassword: go-smb2 sees the logon failure.
func TestGoSMB2WrongPassword(t *testing.T) {
	st := newServerTester(t)
	conn, err := net.DialTimeout("tcp", st.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: testUser, Password: "nope"}}
	if _, err := d.Dial(conn); err == nil {
		t.Fatal("logon with a wrong password succeeded")
	} else if !strings.Contains(strings.ToLower(err.Error()), "logon") {
		t.Logf("error: %v", err)
	}
}
