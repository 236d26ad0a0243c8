package wire

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// fuzzSeeds are the golden messages, the seed corpus of every fuzz target;
// testdata/fuzz/<Target>/ holds the same seeds as files (regenerate them with
// SMB3D_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./smb3/wire).
func fuzzSeeds(t testing.TB) map[string][][]byte {
	var reqs [][]byte
	for _, c := range viewCases() {
		reqs = append(reqs, c.msg)
	}
	reqs = append(reqs, unhex(t, captureCompound))
	resp := AppendResponseHeader(nil, &ResponseHeader{Command: CmdCreate})
	resp = (&CreateResponse{FileID: goldFileID, Contexts: []CreateContext{{Name: "MxAc", Data: make([]byte, 8)}}}).Append(resp)
	reqs = append(reqs, resp)
	return map[string][][]byte{
		"FuzzValidate": reqs,
		"FuzzSplitCompound": {
			unhex(t, captureCompound),
			compoundOf(echoGolden(), closeGolden(), createGolden()),
			echoGolden(),
		},
		"FuzzCreateContexts": {
			createContextsGolden(),
			AppendCreateContexts(nil, []CreateContext{{Name: "DH2Q", Data: make([]byte, 32)}, {Name: "MxAc"}, {Name: "QFid"}}),
			CreateRequest(unhex(t, captureCompound)[:152]).ContextsBuffer(),
		},
		"FuzzSMB1Negotiate": {
			smb1NegotiateGolden(windowsDialects...),
			smb1NegotiateGolden("SMB 2.002"),
			smb1NegotiateGolden(),
		},
	}
}

func addSeeds(f *testing.F, name string) {
	for _, s := range fuzzSeeds(f)[name] {
		f.Add(s)
	}
}

// FuzzValidate feeds the same bytes to every request view: whatever Validate
// accepts, the accessors must read without panicking, and the variable
// buffers they return must lie inside the message.
func FuzzValidate(f *testing.F) {
	addSeeds(f, "FuzzValidate")
	names := make([]string, 0, len(views))
	for n := range views {
		names = append(names, n)
	}
	sort.Strings(names)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range names {
			v := views[n]
			if v.validate(b) != nil {
				continue
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s: accessor panicked after Validate accepted %x: %v", n, b, p)
					}
				}()
				v.touch(b)
			}()
		}
		// Every view must also agree with Header about the basics.
		if Header(b).Validate() != nil {
			for _, n := range names {
				if n != "Empty" && views[n].validate(b) == nil && len(b) < HeaderSize {
					t.Fatalf("%s accepted a %d-byte message", n, len(b))
				}
			}
		}
		if NegotiateRequest(b).Validate() == nil {
			if ctxs, err := NegotiateRequest(b).Contexts(); err == nil {
				for _, c := range ctxs {
					if len(c.Data) > len(b) {
						t.Fatal("context data larger than the message")
					}
				}
			}
		}
	})
}

// FuzzSplitCompound walks a chain: every split is a whole header or more,
// 8-aligned when more follow, and never past the input.
func FuzzSplitCompound(f *testing.F) {
	addSeeds(f, "FuzzSplitCompound")
	f.Fuzz(func(t *testing.T, b []byte) {
		rest := b
		for steps := 0; len(rest) > 0; steps++ {
			n, more, err := SplitCompound(rest)
			if err != nil {
				return
			}
			if n < HeaderSize || n > len(rest) {
				t.Fatalf("split %d of %d", n, len(rest))
			}
			if !more {
				return
			}
			if n%8 != 0 || n == len(rest) {
				t.Fatalf("split %d of %d with more", n, len(rest))
			}
			rest = rest[n:]
			if steps > len(b) {
				t.Fatal("no progress")
			}
		}
	})
}

// FuzzCreateContexts parses a chain; what parses re-encodes to a chain that
// parses back to the same contexts.
func FuzzCreateContexts(f *testing.F) {
	addSeeds(f, "FuzzCreateContexts")
	f.Fuzz(func(t *testing.T, b []byte) {
		ctxs, err := ParseCreateContexts(b)
		if err != nil {
			return
		}
		if len(ctxs) > 32 {
			t.Fatalf("%d contexts", len(ctxs))
		}
		for _, c := range ctxs {
			if c.Name == "" {
				t.Fatal("empty name accepted")
			}
			if len(c.Name) > 0xffff || len(c.Data) > len(b) {
				t.Fatal("context larger than the chain")
			}
		}
		if len(ctxs) == 0 {
			return
		}
		again, err := ParseCreateContexts(AppendCreateContexts(nil, ctxs))
		if err != nil {
			t.Fatalf("re-encoded chain rejected: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(ctxs)) {
			t.Fatalf("round trip %+v -> %+v", ctxs, again)
		}
	})
}

// normalize maps empty data to nil, which the encoder cannot tell apart.
func normalize(cs []CreateContext) []CreateContext {
	out := make([]CreateContext, len(cs))
	for i, c := range cs {
		if len(c.Data) == 0 {
			c.Data = nil
		}
		out[i] = c
	}
	return out
}

// FuzzSMB1Negotiate: parsed dialects come from inside the message.
func FuzzSMB1Negotiate(f *testing.F) {
	addSeeds(f, "FuzzSMB1Negotiate")
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseSMB1Negotiate(b)
		if err != nil {
			return
		}
		if !IsSMB1(b) {
			t.Fatal("parsed a message that IsSMB1 rejects")
		}
		if len(ds) > 64 {
			t.Fatalf("%d dialects", len(ds))
		}
		total := 0
		for _, d := range ds {
			total += len(d) + 2
			if bytes.IndexByte([]byte(d), 0) >= 0 {
				t.Fatalf("dialect %q holds a NUL", d)
			}
		}
		if total > len(b) {
			t.Fatalf("dialects (%d bytes) larger than the message (%d)", total, len(b))
		}
	})
}

// TestWriteFuzzCorpus writes the seeds to testdata/fuzz in the format of
// go test's corpus files, when SMB3D_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SMB3D_WRITE_CORPUS") == "" {
		t.Skip("set SMB3D_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
