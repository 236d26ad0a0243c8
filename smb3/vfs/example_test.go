//go:build linux

package vfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"smb3d/smb3/vfs"
)

func Example() {
	dir, _ := os.MkdirTemp("", "share")
	defer os.RemoveAll(dir)
	os.WriteFile(dir+"/Report.TXT", []byte("hello"), 0o644)

	share, err := vfs.Open(dir, vfs.Options{})
	if err != nil {
		panic(err)
	}
	defer share.Close()

	// Names match in any case; Name is the on-disk one.
	f, created, err := share.OpenFile("report.txt", vfs.OpenFlags{Create: true, Write: true}, 0)
	if err != nil {
		panic(err)
	}
	info, _ := f.Stat()
	fmt.Println(f.Name(), created, info.Size, info.Attributes == vfs.AttrArchive)
	f.Close()

	_, err = share.Stat("missing/report.txt")
	fmt.Println(errors.Is(err, fs.ErrNotExist), vfs.IsPathNotFound(err))
	_, err = share.Stat("../etc/passwd")
	fmt.Println(errors.Is(err, vfs.ErrInvalidName))
	// Output:
	// Report.TXT false 5 true
	// true true
	// true
}
