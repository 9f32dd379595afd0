package index

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ReadMapped hands fn the file's bytes; an empty file, a directory and a
// missing file are handled without a mapping.
func TestReadMapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	want := make([]byte, 3*4096+5)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := ReadMapped(path, func(b []byte) error { got = append(got, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("ReadMapped read %d bytes, differing from the %d written", len(got), len(want))
	}
	errFn := errors.New("fn failed")
	if err := ReadMapped(path, func([]byte) error { return errFn }); err != errFn {
		t.Errorf("ReadMapped returned %v, want fn's error", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	n := -1
	if err := ReadMapped(empty, func(b []byte) error { n = len(b); return nil }); err != nil || n != 0 {
		t.Errorf("empty file: %d bytes, %v", n, err)
	}
	if err := ReadMapped(filepath.Join(dir, "missing"), func([]byte) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want %v", err, os.ErrNotExist)
	}
	if _, err := Load(empty); !errors.Is(err, ErrFormat) {
		t.Errorf("Load(empty file) = %v, want %v", err, ErrFormat)
	}
	if _, err := Load(dir); err == nil {
		t.Errorf("Load(a directory) succeeded")
	}
}

// A file truncated while it is mapped faults on the pages past its new end;
// ReadMapped returns that as ErrTruncated instead of crashing.
func TestReadMappedTruncatedUnderneath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on Linux raising SIGBUS for mapped pages past the end of a file")
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 4*4096), 0o644); err != nil {
		t.Fatal(err)
	}
	var sink byte
	err := ReadMapped(path, func(b []byte) error {
		if err := os.Truncate(path, 0); err != nil {
			return err
		}
		sink += b[len(b)-1]
		return nil
	})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("reading a mapping past the file's new end: %v (read %d), want %v", err, sink, ErrTruncated)
	}
	t.Log(err)
}
