package index

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	mrl "github.com/gomrl/mrl"
)

// TestOpen: Open reads a file of vectors (no graph) and a file with its
// graph, and refuses a missing file.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	data := make([]float32, 200*8)
	for i := range data {
		data[i] = float32((i*37)%19) - 9
	}
	v, err := NewVectors(data, 200, 8, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	flat := filepath.Join(dir, "v.idx")
	if err := Save(flat, v); err != nil {
		t.Fatal(err)
	}
	h, err := NewHNSW(v, HNSWOptions{M: 4, Dim: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	graph := filepath.Join(dir, "h.idx")
	if err := SaveHNSW(graph, h); err != nil {
		t.Fatal(err)
	}
	gv, gh, err := Open(flat)
	if err != nil || gh != nil || gv.N() != 200 || !slices.Equal(gv.Data(), data) {
		t.Fatalf("Open(vectors): %v, graph %v", err, gh)
	}
	gv, gh, err = Open(graph)
	if err != nil || gh == nil || gh.Dim() != 4 || gv.N() != 200 {
		t.Fatalf("Open(graph): %v, graph %v", err, gh)
	}
	if _, _, err := Open(filepath.Join(dir, "missing.idx")); err == nil || errors.Is(err, ErrFormat) {
		t.Fatalf("Open(missing) = %v, want a not-found error", err)
	}
}
