package server

import (
	"strings"
	"testing"
)

// TestMatchWildcard checks matchWildcard against the wildcard rules of
// MS-FSA 2.1.4.4 (FsRtlIsNameInExpression): '*', '?', DOS_STAR '<',
// DOS_QM '>' and DOS_DOT '"'. Windows clients send the DOS forms for
// patterns typed as "*.*", "*." and "????????.???" (the redirector
// translates them), so each has cases for names with no dot, one dot and
// several dots.
func TestMatchWildcard(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		// Literals (the matcher gets upper-cased input; names are
		// compared case-insensitively).
		{"ABC.TXT", "ABC.TXT", true},
		{"ABC.TXT", "abc.txt", true},
		{"ABC.TXT", "ABC.TX", false},
		{"ABC", "ABCD", false},
		{"", "", true},
		{"", "A", false},

		// '*': any run, including none.
		{"*", "", true},
		{"*", "ANYTHING.AT.ALL", true},
		{"*.TXT", "A.TXT", true},
		{"*.TXT", ".TXT", true},
		{"*.TXT", "A.TXT.BAK", false},
		{"A*", "A", true},
		{"A*B", "AXXB", true},
		{"A*B", "AXXBX", false},
		{"*A*B*", "XXAYYBZZ", true},
		{"**", "X", true},
		{"T*-*.TXT", "T000-0.TXT", true},

		// '?': exactly one character.
		{"?", "A", true},
		{"?", "", false},
		{"?", "AB", false},
		{"A?C", "ABC", true},
		{"A?C", "AC", false},
		{"?.TXT", ".TXT", false},

		// DOS_STAR '<': any run not crossing the last dot.
		{"<", "ABC", true},
		{"<", "", true},
		{"<", "ABC.TXT", false}, // cannot eat the last dot
		{"<.TXT", "ABC.TXT", true},
		{"<.TXT", "A.B.TXT", true}, // may eat dots before the last one
		{"<.TXT", "ABC.TXTX", false},
		{`<"<`, "ABC.TXT", true}, // "*.*" as Windows sends it
		{`<"<`, "ABC", true},     // ... matches names without a dot too
		{`<"<`, "A.B.C", true},   // ... and with several
		{`<"*`, "ABC.TXT", true},
		{`<"`, "ABC", true},      // "*." : names without an extension
		{`<"`, "ABC.TXT", false}, // ... not names with one
		{`<"`, "ABC.", true},
		{"<B", "AB", true},
		{"<B", "A.B", false},

		// DOS_QM '>': one character, or nothing at a dot or the end.
		{">", "A", true},
		{">", "", true},
		{">", "AB", false},
		{">>>", "A", true},
		{">>>", "ABC", true},
		{">>>", "ABCD", false},
		{">>>.TXT", "AB.TXT", true}, // the '>'s stop together at the dot
		{">>>.TXT", "ABCD.TXT", false},
		{">>>>>>>>\">>>", "README.TXT", true}, // "????????.???"
		{">>>>>>>>\">>>", "README", true},
		{">>>>>>>>\">>>", "LONGFILENAME.TXT", false},
		{">>>>>>>>\">>>", "README.TEXT", false},
		{"A>C", "AC", false}, // only a dot or the end ends '>' early

		// DOS_DOT '"': a dot, or nothing at the end.
		{`A"`, "A", true},
		{`A"`, "A.", true},
		{`A"`, "AB", false},
		{`A"TXT`, "A.TXT", true},
		{`A"TXT`, "ATXT", false},
		{`""`, "", true},

		// Non-ASCII names.
		{"Ä*", "äbc", true},
		{"?Ö", "XÖ", true},
		{"<.TXT", "ÜBER.TXT", true},
	}
	for _, tc := range tests {
		if got := matchWildcard(tc.pat, tc.name); got != tc.want {
			t.Errorf("matchWildcard(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestHasWildcard(t *testing.T) {
	for _, p := range []string{"*", "a?", "<", ">", `"`, "x*y"} {
		if !hasWildcard(p) {
			t.Errorf("hasWildcard(%q) = false", p)
		}
	}
	for _, p := range []string{"", "abc.txt", "a b", "[x]"} {
		if hasWildcard(p) {
			t.Errorf("hasWildcard(%q) = true", p)
		}
	}
}

// TestMatchWildcardLong makes sure a pathological pattern against a long
// name finishes (the matcher backtracks on '*').
func TestMatchWildcardLong(t *testing.T) {
	name := strings.Repeat("A", 255)
	pat := strings.Repeat("*A", 20) + "B"
	done := make(chan bool, 1)
	go func() { done <- matchWildcard(pat, name) }()
	if <-done {
		t.Fatal("matched a name without B")
	}
}

func BenchmarkMatchWildcard(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		matchWildcard("<.TXT", "SOME-LONGER-FILE-NAME.TXT")
	}
}

// FuzzMatchWildcard: the matcher never panics, '*' matches everything, a
// pattern without wildcards matches exactly its own (upper-cased) name, and
// "*" + pattern matches whatever pattern matches.
func FuzzMatchWildcard(f *testing.F) {
	for _, s := range [][2]string{{"*.TXT", "a.txt"}, {`<"<`, "a.b.c"}, {">>>.TXT", "ab.txt"}, {`A"`, "a."}, {"?*?", "xy"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		if len(pat) > 64 || len(name) > 256 {
			return
		}
		up := strings.ToUpper(pat)
		m := matchWildcard(up, name)
		if !matchWildcard("*", name) {
			t.Fatal("* did not match")
		}
		if m && !matchWildcard("*"+up, name) {
			t.Fatalf("%q matches %q but *%q does not", up, name, up)
		}
		if !hasWildcard(pat) && strings.ToUpper(name) == up && !m {
			t.Fatalf("literal %q does not match %q", up, name)
		}
	})
}
