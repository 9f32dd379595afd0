package server

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestAPIBodiesGolden: the bodies of the collection routes (without
// timings) are byte for byte those in testdata/api.golden.
func TestAPIBodiesGolden(t *testing.T) {
	s := newServer(t, Options{})
	var buf bytes.Buffer
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/collections", `{"name":"docs","dim":4,"metric":"l2","nesting":[2,4],"index":{"kind":"hnsw","m":4,"graph_dim":2}}`},
		{"POST", "/v1/collections", `{"name":"q","dim":4,"index":{"kind":"int8","code_dim":2}}`},
		{"POST", "/v1/collections/docs/points", `{"points":[{"id":1,"vector":[1,0,0,0],"payload":{"tag":"a","n":2}},{"id":2,"vector":[0,1,0,0]}]}`},
		{"GET", "/v1/collections/docs", ""},
		{"GET", "/v1/collections", ""},
		{"GET", "/v1/collections/docs/points/1", ""},
		{"GET", "/v1/collections/docs/points?limit=1", ""},
		{"POST", "/v1/collections/docs/points/delete", `{"ids":[2,3]}`},
		{"POST", "/v1/collections/docs/snapshot", ""},
		{"DELETE", "/v1/collections/q", ""},
		{"POST", "/v1/collections", `{"name":"bad","dim":4,"metric":"hamming","index":{"kind":"lsh"}}`},
	} {
		code, body := do(t, s, r.method, r.path, r.body)
		fmt.Fprintf(&buf, "%s %s %d\n", r.method, r.path, code)
		buf.Write(body)
	}
	path := filepath.Join("testdata", "api.golden")
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
		t.Errorf("API bodies differ from %s:\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}
