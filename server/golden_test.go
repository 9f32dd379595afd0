package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
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
	checkGolden(t, "api.golden", buf.Bytes())
}

// checkGolden compares got with testdata/NAME, which -update rewrites
// first.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("API bodies differ from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestAPIBodiesGoldenText: the bodies of loading a text model, creating a
// collection with it and upserting texts are byte for byte those in
// testdata/api_text.golden (with the checkpoint's SHA-256, which depends
// on the model's initialisation, written as SHA256).
func TestAPIBodiesGoldenText(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 64}, BagDim: 4, Embed: 4, Nesting: mrl.Nesting{2, 4}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Save(filepath.Join(dir, "text.ckpt"), m, nil, "", 1); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{ModelRoot: dir})
	var buf bytes.Buffer
	var sum string
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/models", `{"name":"txt","path":"text.ckpt"}`},
		{"POST", "/v1/collections", `{"name":"docs","model":"txt"}`},
		{"POST", "/v1/collections/docs/points", `{"points":[{"id":1,"text":"an extensible text editor","payload":{"pkg":"emacs"}},{"id":2,"vector":[1,0,0,0]}]}`},
		{"GET", "/v1/collections/docs", ""},
		{"GET", "/v1/collections", ""},
		{"POST", "/v1/collections/docs/search", `{"text":"?!"}`},
		{"POST", "/v1/collections", `{"name":"other","dim":8,"model":"txt"}`},
	} {
		code, body := do(t, s, r.method, r.path, r.body)
		if sum == "" {
			var mi ModelInfo
			if err := json.Unmarshal(body, &mi); err != nil || len(mi.SHA256) != 64 {
				t.Fatalf("load model: %d %s", code, body)
			}
			sum = mi.SHA256
		}
		fmt.Fprintf(&buf, "%s %s %d\n", r.method, r.path, code)
		buf.Write(bytes.ReplaceAll(body, []byte(sum), []byte("SHA256")))
	}
	checkGolden(t, "api_text.golden", buf.Bytes())
}
