package server

import (
	"strings"
	"testing"
)

func TestShortName(t *testing.T) {
	for _, tc := range []struct{ name, short, alt string }{
		{"README.TXT", "", "README.TXT"},           // already 8.3 in upper case
		{"readme.txt", "README.TXT", "README.TXT"}, // 8.3, other case
		{"A", "", "A"},
		{".", "", "."},
		{"..", "", ".."},
	} {
		if got := shortName(tc.name); got != tc.short {
			t.Errorf("shortName(%q) = %q, want %q", tc.name, got, tc.short)
		}
		if got := alternateName(tc.name); got != tc.alt {
			t.Errorf("alternateName(%q) = %q, want %q", tc.name, got, tc.alt)
		}
	}
	for _, name := range []string{
		"torture_search.txt", "long file name.html", ".bashrc", "a.b.c", "ÜBERGRÖSSE.doc",
		"name.", "x.jpeg", "12345678.1234", "with+plus.txt",
	} {
		s := shortName(name)
		if s == "" || !is83(s) || strings.ToUpper(s) != s {
			t.Errorf("shortName(%q) = %q: not an upper-case 8.3 name", name, s)
		}
		if s != shortName(name) {
			t.Errorf("shortName(%q) not stable", name)
		}
		if alternateName(name) != s {
			t.Errorf("alternateName(%q) = %q, want %q", name, alternateName(name), s)
		}
	}
	if a, b := shortName("torture_search.txt"), shortName("torture_search2.txt"); a == b {
		t.Errorf("two names share the short name %q", a)
	}
	if got := shortName("torture_search.txt"); !strings.HasPrefix(got, "TO") || !strings.HasSuffix(got, "~1.TXT") {
		t.Errorf("shortName(torture_search.txt) = %q, want TOxxxx~1.TXT", got)
	}
}

func TestIs83(t *testing.T) {
	for name, want := range map[string]bool{
		"A.B": true, "ABCDEFGH.IJK": true, "ABCDEFGHI": false, "A.BCDE": false,
		".A": false, "A.": false, "A.B.C": false, "A B": false, "A+B": false, "": false,
		"$DATA~1": true,
	} {
		if got := is83(name); got != want {
			t.Errorf("is83(%q) = %v, want %v", name, got, want)
		}
	}
}
