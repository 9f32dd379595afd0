package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates the kernels into a temporary folder
// and compares them with the committed files of package kernel (all but
// the first line, which names the output paths).
func TestGeneratedUpToDate(t *testing.T) {
	dir := t.TempDir()
	out, stubs := filepath.Join(dir, "vec_gen_amd64.s"), filepath.Join(dir, "vec_gen_amd64.go")
	cmd := exec.Command("go", "run", ".", "-pkg", "kernel", "-out", out, "-stubs", stubs)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	for _, f := range []string{out, stubs} {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		committed := filepath.Join("..", filepath.Base(f))
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(afterFirstLine(got), afterFirstLine(want)) {
			t.Errorf("%s is not what the generator writes: run go generate in internal/kernel", committed)
		}
	}
}

func afterFirstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
