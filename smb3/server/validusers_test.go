package server_test

import (
	"net"
	"testing"

	"github.com/hirochachacha/go-smb2"

	"smb3d/smb3/auth"
	"smb3d/smb3/server"
)

// TestValidUsers: a share with 'valid users' admits only those users.
func TestValidUsers(t *testing.T) {
	users := auth.NewUsers()
	users.Set("alice", auth.NTHash("pa"))
	users.Set("bob", auth.NTHash("pb"))
	srv, err := server.New(server.Config{Users: users, Shares: []server.ShareConfig{
		{Name: "open", Path: t.TempDir()},
		{Name: "alices", Path: t.TempDir(), ValidUsers: []string{"ALICE"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(testListener(t, l))
	defer srv.Close()
	mount := func(user, pass, share string) error {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err
		}
		s, err := (&smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: user, Password: pass}}).Dial(c)
		if err != nil {
			c.Close()
			return err
		}
		defer s.Logoff()
		fs, err := s.Mount(share)
		if err != nil {
			return err
		}
		return fs.Umount()
	}
	if err := mount("alice", "pa", "alices"); err != nil {
		t.Errorf("alice on her share: %v", err)
	}
	if err := mount("bob", "pb", "alices"); err == nil {
		t.Error("bob was let onto alice's share")
	}
	if err := mount("bob", "pb", "open"); err != nil {
		t.Errorf("bob on the open share: %v", err)
	}
}
