package collection

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestMetaJSONGolden: the meta.json Create writes, for each index kind
// and with defaults filled, is byte for byte the one in
// testdata/meta.golden (the files of existing data directories must keep
// reading and writing the same).
func TestMetaJSONGolden(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	var buf bytes.Buffer
	for _, m := range []Meta{
		{Name: "plain", Dim: 8},
		{Name: "l2-hnsw", Dim: 16, Metric: "l2", Nesting: []int{4, 16}, Index: IndexSpec{Kind: "hnsw", M: 8, GraphDim: 4, Seed: 2}},
		{Name: "ip-ivf", Dim: 8, Metric: "ip", Index: IndexSpec{Kind: "ivf", Lists: 4, Probe: 2, ClusterDim: 4}},
		{Name: "bin", Dim: 8, Index: IndexSpec{Kind: "binary", CodeDim: 4, Rescore: 8}},
		{Name: "i8", Dim: 8, Metric: "cosine", Index: IndexSpec{Kind: "int8"}},
	} {
		mustCreate(t, s, m)
		b, err := os.ReadFile(filepath.Join(dir, "collections", m.Name, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	path := filepath.Join("testdata", "meta.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("meta.json differs from %s:\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}
