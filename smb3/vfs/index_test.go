package vfs

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestFoldKeyOrbits checks every rune against its whole simple-folding
// orbit: foldKey must map them all to one key, as strings.EqualFold
// considers them equal.
func TestFoldKeyOrbits(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		k := foldKey(string(r))
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if foldKey(string(f)) != k {
				t.Fatalf("%U and %U fold differently", r, f)
			}
		}
	}
}

func FuzzFoldKey(f *testing.F) {
	for _, s := range [][2]string{{"foo.TXT", "FOO.txt"}, {"straße", "STRASSE"}, {"K", "\u212a"}, {"ſ", "S"}, {"Ωmega", "ωMEGA"}, {"a", "b"}, {"\xff", "\xfe"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := foldKey(a), foldKey(b)
		if utf8.ValidString(a) && utf8.ValidString(b) && (ka == kb) != strings.EqualFold(a, b) {
			t.Errorf("foldKey(%q)=%q foldKey(%q)=%q, EqualFold=%v", a, ka, b, kb, strings.EqualFold(a, b))
		}
		if !utf8.ValidString(a) && ka == foldKey(a+"x") {
			t.Errorf("collision on invalid UTF-8 %q", a)
		}
	})
}

func TestDirIndexDups(t *testing.T) {
	var ix dirIndex
	ix.reset([]string{"b", "B", "a"}, dirStamp{})
	if r, ok := ix.lookup("b"); !ok || r != "b" {
		t.Errorf("exact b: %q", r)
	}
	if r, ok := ix.lookup("B"); !ok || r != "B" {
		t.Errorf("exact B: %q", r)
	}
	ix.remove("B")
	if r, ok := ix.lookup("B"); !ok || r != "b" {
		t.Errorf("after removing B: %q %v", r, ok)
	}
	ix.remove("b")
	if _, ok := ix.lookup("b"); ok {
		t.Error("b still found")
	}
	ix.add("A")
	ix.remove("a")
	if r, _ := ix.lookup("a"); r != "A" {
		t.Errorf("a -> %q", r)
	}
	if len(ix.dups) != 0 {
		t.Errorf("dups left: %v", ix.dups)
	}
}

func FuzzSplitName(f *testing.F) {
	for _, s := range []string{"", "a", "a/b", "../x", "a//b", "/a", "a/./b", "a\x00", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps, err := splitName(name)
		if err != nil {
			return
		}
		if strings.Join(comps, "/") != name {
			t.Fatalf("%q split to %q", name, comps)
		}
		for _, c := range comps {
			if c == "" || c == "." || c == ".." || len(c) > MaxComponent || strings.ContainsAny(c, "/\x00") {
				t.Fatalf("%q: bad component %q accepted", name, c)
			}
		}
	})
}
