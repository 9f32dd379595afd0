//go:build unix

package server

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestModelPaths: POST /v1/models reads only regular files inside the
// model root, bounded, and never quotes a file's bytes; without a model
// root it is off.
func TestModelPaths(t *testing.T) {
	off := newServer(t, Options{})
	runHostile(t, off, []hostileCase{
		{"no model root", "POST", "/v1/models", `{"name":"m","path":"/dev/zero"}`, nil, 403, "--model-root"},
	})

	base := t.TempDir()
	root := filepath.Join(base, "models")
	os.Mkdir(root, 0o755)
	tinyModel(t, root)
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(base, "outside.ckpt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "environ"), []byte("MRL_TOKEN=s3cret\x00HOME=/root\x00"), 0o644)
	os.WriteFile(filepath.Join(root, "big.ckpt"), make([]byte, 5000), 0o644)
	for name, target := range map[string]string{"zero": "/dev/zero", "out.ckpt": "../outside.ckpt", "abs.ckpt": filepath.Join(base, "outside.ckpt"), "in.ckpt": "tiny.ckpt", "sub/up.ckpt": "../tiny.ckpt"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{ModelRoot: root, MaxModelBytes: 4096})
	runHostile(t, s, []hostileCase{
		{"device through a symlink", "POST", "/v1/models", `{"name":"m","path":"zero"}`, nil, 400, "model root"},
		{"symlink out of the root", "POST", "/v1/models", `{"name":"m","path":"out.ckpt"}`, nil, 400, "model root"},
		{"absolute symlink", "POST", "/v1/models", `{"name":"m","path":"abs.ckpt"}`, nil, 400, "model root"},
		{"dot dot", "POST", "/v1/models", `{"name":"m","path":"sub/../../outside.ckpt"}`, nil, 400, "inside the server's model root"},
		{"absolute", "POST", "/v1/models", `{"name":"m","path":"/etc/passwd"}`, nil, 400, "inside the server's model root"},
		{"fifo", "POST", "/v1/models", `{"name":"m","path":"fifo"}`, nil, 400, "not a regular file"},
		{"directory", "POST", "/v1/models", `{"name":"m","path":"sub"}`, nil, 400, "not a regular file"},
		{"too large", "POST", "/v1/models", `{"name":"m","path":"big.ckpt"}`, nil, 413, "4096"},
		{"not a checkpoint", "POST", "/v1/models", `{"name":"m","path":"environ"}`, nil, 400, "not a valid checkpoint"},
		{"symlink inside", "POST", "/v1/models", `{"name":"m","path":"in.ckpt"}`, nil, 201, ""},
		{"symlink up inside", "POST", "/v1/models", `{"name":"m2","path":"sub/up.ckpt"}`, nil, 201, ""},
	})
	code, body := do(t, s, "POST", "/v1/models", `{"name":"m","path":"environ"}`)
	if strings.Contains(string(body), "MRL_TOKE") || strings.Contains(string(body), "s3cret") || strings.Contains(string(body), "header length") {
		t.Errorf("not a checkpoint = %d %s: the message quotes the file", code, body)
	}
}
