package auth

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestMD4 checks the RFC 1320 appendix A.5 test suite, plus inputs around the padding boundary.
func TestMD4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "d9130a8164549fe818874806e1c7014b"},
		{"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
		{strings.Repeat("1234567890", 8), "e33b4ddc9c38f2199c3e7b164fcc0536"},
	}
	for _, tt := range tests {
		got := md4Sum([]byte(tt.in))
		if hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("MD4(%q) = %x, want %s", tt.in, got, tt.want)
		}
	}
}

// TestNTHash checks NTOWFv1 against MS-NLMP 4.2.2.1.2 ("Password") and the well-known hash of "".
func TestNTHash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Password", "a4f49c406510bdcab6824ee7c30fd852"},
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"password", "8846f7eaee8fb117ad06bdd830b7586c"},
	}
	for _, tt := range tests {
		got := NTHash(tt.in)
		if hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("NTHash(%q) = %x, want %s", tt.in, got, tt.want)
		}
	}
}

func BenchmarkMD4(b *testing.B) {
	buf := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		md4Sum(buf)
	}
}
