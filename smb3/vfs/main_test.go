//go:build linux

package vfs

import (
	"flag"
	"os"
	"testing"
)

var fallbackFlag = flag.Bool("vfs.fallback", false, "run every test with the user-space resolver instead of openat2")

func TestMain(m *testing.M) {
	flag.Parse()
	forceNoOpenat2 = *fallbackFlag
	os.Exit(m.Run())
}
