package server

import (
	"testing"

	"smb3d/smb3/wire"
)

// TestStreamNames checks which stream names CREATE takes (smb2.streams.names,
// names2): everything but the separators, and only the $DATA type.
func TestStreamNames(t *testing.T) {
	for _, c := range []struct {
		name   string
		status wire.Status
		stream string
	}{
		{"f.txt:\x05Stream\n One", 0, "\x05Stream\n One"},
		{"f.txt:?Stream*:$DATA", 0, "?Stream*"},
		{`f.txt:a"<>|b:$DaTa`, 0, `a"<>|b`},
		{"f.txt::$DATA", 0, ""},
		{"f.txt:s:", wire.StatusObjectNameInvalid, ""},
		{"f.txt:s:$FOO", wire.StatusObjectNameInvalid, ""},
		{"f.txt:s:?D*a", wire.StatusObjectNameInvalid, ""},
		{"f.txt:a/b:$DATA", wire.StatusObjectNameInvalid, ""},
		{`f.txt:a\b:$DATA`, wire.StatusObjectNameInvalid, ""},
		{"f.txt:a:b:$DATA", wire.StatusObjectNameInvalid, ""},
		{"stream*:s:$DATA", wire.StatusObjectNameInvalid, ""},
	} {
		_, stream, status := parseCreateName(appendUTF16(nil, c.name))
		if status != c.status || status == 0 && stream != c.stream {
			t.Errorf("%q: %v %q, want %v %q", c.name, status, stream, c.status, c.stream)
		}
	}
}

// TestDirDataStream checks the status of an explicit default data stream
// of a directory (smb2.streams.dir).
func TestDirDataStream(t *testing.T) {
	for _, c := range []struct {
		name string
		opts uint32
		want wire.Status
	}{
		{"d::$DATA", optDirectoryFile, wire.StatusNotADirectory},
		{"d::$DATA", 0, wire.StatusFileIsADirectory},
		{"d", optDirectoryFile, 0},
		{"d:s", 0, 0},
		{"d:s:$DATA", 0, 0},
	} {
		if got := dirDataStream(appendUTF16(nil, c.name), c.opts); got != c.want {
			t.Errorf("%q opts %#x: %v, want %v", c.name, c.opts, got, c.want)
		}
	}
}
