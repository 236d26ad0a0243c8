package fscc

import (
	"fmt"
	"testing"
)

func BenchmarkDirWriter(b *testing.B) {
	files := make([]*FileInfo, 64)
	for i := range files {
		files[i] = testFileInfo()
		files[i].Name = fmt.Sprintf("file-%04d.dat", i)
	}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewDirWriter(buf[:0], FileIDBothDirectoryInformation, 64<<10)
		for _, f := range files {
			w.Add(f)
		}
	}
}

func BenchmarkAppendAllInformation(b *testing.B) {
	fi := testFileInfo()
	fi.Name = `\some\dir\file.txt`
	oi := &OpenInfo{}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		_ = AppendAllInformation(buf[:0], fi, oi)
	}
}

func BenchmarkDecodeUTF16(b *testing.B) {
	enc := AppendUTF16(nil, "some/longish/path/name-with-ünïcode.txt")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = DecodeUTF16(enc)
	}
}
