package gosmb2

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestEncryptedShare: go-smb2 (SMB 3.1.1, AES-128-GCM) on a share with
// 'encrypt data = yes' encrypts because the tree connect says so; a 4 MiB
// file round-trips. (smbclient covers the other ciphers and the refusal of
// a client that cannot encrypt: test/smbclient/encrypt.sh.)
func TestEncryptedShare(t *testing.T) {
	if env.secretDir == "" {
		t.Skip("external server: no encrypted share configured")
	}
	s, err := dial(t, env.user, env.pass, true)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.Mount("secret")
	if err != nil {
		t.Fatalf("mount of the encrypted share: %v", err)
	}
	defer fs.Umount()
	data := make([]byte, 4<<20)
	rand.Read(data)
	if err := fs.WriteFile("enc.bin", data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile("enc.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("encrypted round trip differs")
	}
}
