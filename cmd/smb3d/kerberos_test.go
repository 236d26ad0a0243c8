package main

import (
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"smb3d/smb3/auth"
)

// A keytab MIT ktutil wrote: cifs/server.example.com@EXAMPLE.COM kvno 300, aes256.
const testKeytabHex = "05020000005a0002000b4558414d504c452e434f4d000463696673001273657276657" +
	"22e6578616d706c652e636f6d000000016b0803442c0012002097f0c405e0a4fd" +
	"1d8becb0a037a846aaf57486c777e29a33a32525ca5bfb2e440000012c"

func TestKerberosOptions(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[global]\nrealm = bad realm\n", "t.conf:2: realm"},
		{"[global]\nkerberos clock skew = 0\n", "t.conf:2: kerberos clock skew"},
		{"[global]\nntlm auth = maybe\n", "t.conf:2: ntlm auth"},
		{"[global]\nntlm auth = no\n", "t.conf:2: ntlm auth = no needs a kerberos keytab"},
		{"[global]\nkerberos keytab =\n", "t.conf:2: kerberos keytab: empty path"},
	} {
		_, err := ParseConfig(strings.NewReader(tc.conf), "t.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to contain %q", tc.conf, err, tc.want)
		}
	}
	dir := t.TempDir()
	kt, _ := hex.DecodeString(testKeytabHex)
	if err := os.WriteFile(filepath.Join(dir, "smb3d.keytab"), kt, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(strings.NewReader("[global]\nkerberos keytab = FILE:smb3d.keytab\nrealm = EXAMPLE.COM\nkerberos clock skew = 60\nntlm auth = disabled\n"), filepath.Join(dir, "t.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KerberosKeytab != filepath.Join(dir, "smb3d.keytab") || cfg.Realm != "EXAMPLE.COM" || cfg.ClockSkew != 60 || !cfg.DisableNTLM {
		t.Errorf("parsed %+v", cfg)
	}
	krb, err := kerberosConfig(cfg)
	if err != nil || krb == nil || krb.Realm != "EXAMPLE.COM" || krb.ClockSkew.Seconds() != 60 {
		t.Fatalf("kerberosConfig: %+v, %v", krb, err)
	}
	// A keytab with no cifs/ principal is refused.
	alice := strings.Replace(testKeytabHex, "000463696673001273657276657"+"22e6578616d706c652e636f6d", "000468747470001273657276657"+"22e6578616d706c652e636f6d", 1)
	kb, _ := hex.DecodeString(alice)
	os.WriteFile(filepath.Join(dir, "http.keytab"), kb, 0o600)
	cfg.KerberosKeytab = filepath.Join(dir, "http.keytab")
	if _, err := kerberosConfig(cfg); err == nil || !strings.Contains(err.Error(), "no cifs/<host> principal") {
		t.Errorf("http/ keytab: %v", err)
	}
	cfg.KerberosKeytab = filepath.Join(dir, "missing.keytab")
	if _, err := kerberosConfig(cfg); err == nil {
		t.Error("missing keytab accepted")
	}
}

// TestUserKerberosOnly: `smb3d user add --kerberos-only` stores a user without an NT hash, list
// marks it, passwd gives it one; --kerberos-only with a password or another action is refused.
func TestUserKerberosOnly(t *testing.T) {
	f := filepath.Join(t.TempDir(), "users")
	if err := userCmd([]string{"add", "--file", f, "--kerberos-only", "carol"}); err != nil {
		t.Fatal(err)
	}
	if err := userCmd([]string{"add", "--file", f, "--password", "x", "alice"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if !strings.Contains(string(b), "\ncarol:*\n") {
		t.Errorf("users file:\n%s", b)
	}
	u, err := auth.LoadUsers(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Lookup("carol"); ok || !u.KerberosOnly("carol") || u.KerberosOnly("alice") {
		t.Error("carol should exist without an NT hash, alice with one")
	}
	out := captureStdout(t, func() error { return userCmd([]string{"list", "--file", f}) })
	if out != "alice\ncarol (kerberos only)\n" {
		t.Errorf("list: %q", out)
	}
	for _, args := range [][]string{
		{"add", "--file", f, "--kerberos-only", "--password", "x", "dave"},
		{"passwd", "--file", f, "--kerberos-only", "alice"},
		{"del", "--file", f, "--kerberos-only", "alice"},
	} {
		if err := userCmd(args); err == nil || !strings.Contains(err.Error(), "--kerberos-only goes with add") {
			t.Errorf("%q: %v", args, err)
		}
	}
	if err := userCmd([]string{"passwd", "--file", f, "--password", "N3w", "carol"}); err != nil {
		t.Fatal(err)
	}
	u, _ = auth.LoadUsers(f)
	if h, ok := u.Lookup("carol"); !ok || h != auth.NTHash("N3w") || u.KerberosOnly("carol") {
		t.Error("passwd did not give carol an NT hash")
	}
	if err := userCmd([]string{"add", "--file", f, "--kerberos-only", "alice"}); err != nil {
		t.Fatal(err)
	}
	if u, _ = auth.LoadUsers(f); !u.KerberosOnly("alice") {
		t.Error("add --kerberos-only did not drop alice's NT hash")
	}

	// smb3d check warns about Kerberos-only users when no keytab is configured.
	dir := filepath.Dir(f)
	conf := filepath.Join(dir, "smb3d.conf")
	os.MkdirAll(filepath.Join(dir, "share"), 0o755)
	os.WriteFile(conf, []byte("[global]\nlisten = 127.0.0.1:4455\nusers file = "+f+"\n[share]\npath = "+filepath.Join(dir, "share")+"\n"), 0o600)
	out = captureStdout(t, func() error { return checkCmd([]string{"-c", conf}) })
	if !strings.Contains(out, "warning: Kerberos-only users (alice) cannot log on: no kerberos keytab") {
		t.Errorf("check without a keytab:\n%s", out)
	}
	kt, _ := hex.DecodeString(testKeytabHex)
	os.WriteFile(filepath.Join(dir, "smb3d.keytab"), kt, 0o600)
	os.WriteFile(conf, []byte("[global]\nlisten = 127.0.0.1:4455\nusers file = "+f+"\nkerberos keytab = "+filepath.Join(dir, "smb3d.keytab")+"\n[share]\npath = "+filepath.Join(dir, "share")+"\n"), 0o600)
	out = captureStdout(t, func() error { return checkCmd([]string{"-c", conf}) })
	if strings.Contains(out, "warning") || !strings.Contains(out, "kerberos: keytab") {
		t.Errorf("check with a keytab:\n%s", out)
	}
}

// captureStdout returns what f writes to os.Stdout.
func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	ferr := f()
	os.Stdout = old
	w.Close()
	b, _ := io.ReadAll(r)
	r.Close()
	if ferr != nil {
		t.Fatal(ferr)
	}
	return string(b)
}
