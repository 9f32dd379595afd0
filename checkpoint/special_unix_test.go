//go:build unix

package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestLoadSpecialFiles: Load refuses what is not a regular file (it would
// read /dev/zero without end and block on a FIFO), and its errors never
// echo the bytes of a file that is not a checkpoint.
func TestLoadSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "environ")
	if err := os.WriteFile(secret, []byte("MRL_TOKEN=s3cret\x00HOME=/root\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	cases := []struct {
		path string
		want error
	}{
		{dir, ErrNotRegular},
		{secret, ErrCorrupt},
		{filepath.Join(dir, "missing"), os.ErrNotExist},
		{"/dev/zero", ErrNotRegular},
		{fifo, ErrNotRegular},
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		_, err := Load(tt.path)
		if !errors.Is(err, tt.want) {
			t.Errorf("Load(%s) = %v, want %v", tt.path, err, tt.want)
			continue
		}
		n := binary.LittleEndian.Uint64([]byte("MRL_TOKE"))
		if msg := err.Error(); strings.Contains(msg, "MRL_TOKE") || strings.Contains(msg, strconv.FormatUint(n, 10)) || strings.Contains(msg, "s3cret") {
			t.Errorf("Load(%s) error %q echoes the file's bytes", tt.path, msg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadContext(ctx, secret); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadContext with a cancelled context = %v, want context.Canceled", err)
	}
}
