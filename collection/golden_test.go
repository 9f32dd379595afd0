package collection

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// TestMetaJSONGoldenInput: a collection with an input transform (an
// attached model) writes it into meta.json as in testdata/meta_input.golden
// and reads it back after a restart; the meta.json files of
// testdata/meta.golden (collections without one) open with no input and
// stay byte for byte as they were.
func TestMetaJSONGoldenInput(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	sum := strings.Repeat("0123456789abcdef", 4)
	metas := []Meta{
		{Name: "texts", Dim: 16, Nesting: []int{4, 8, 16}, Input: &InputSpec{Model: &ModelRef{Name: "txt", Path: "runs/text.ckpt", SHA256: sum, Arch: "text"}}},
		{Name: "images", Dim: 8, Metric: "ip", Index: IndexSpec{Kind: "int8"}, Input: &InputSpec{Model: &ModelRef{Name: "mnist", Path: "mnist.ckpt", SHA256: sum, Arch: "cnn"}}},
		{Name: "adapted", Dim: 8, Nesting: []int{2, 4, 8}, Input: &InputSpec{Adapter: &AdapterRef{Path: "adapters/ff512.safetensors", SHA256: sum, InputDim: 512}}},
		{Name: "texts_adapted", Dim: 16, Input: &InputSpec{Model: &ModelRef{Name: "txt", Path: "text.ckpt", SHA256: sum, Arch: "text"}, Adapter: &AdapterRef{Path: "text.adapter", SHA256: sum, InputDim: 64}}},
	}
	var buf bytes.Buffer
	for _, m := range metas {
		mustCreate(t, s, m)
		b, err := os.ReadFile(filepath.Join(dir, "collections", m.Name, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	path := filepath.Join("testdata", "meta_input.golden")
	if *update {
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
	s.Close()
	s = openStore(t, dir, Options{})
	for _, m := range metas {
		got := mustGet(t, s, m.Name).Meta()
		if got.Input == nil || !reflect.DeepEqual(*got.Input, *m.Input) {
			t.Errorf("%s after a restart: input %+v, want %+v", m.Name, got.Input, m.Input)
		}
	}
	s.Close()

	// The files of collections without an input, as older versions wrote
	// them, open without one and are not rewritten.
	old, err := os.ReadFile(filepath.Join("testdata", "meta.golden"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	dec := json.NewDecoder(bytes.NewReader(old))
	files := map[string][]byte{}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		var m Meta
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
		if !bytes.Contains(old, b.Bytes()) {
			t.Fatalf("meta.golden does not hold %s as written", m.Name)
		}
		cd := filepath.Join(dir, "collections", m.Name)
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cd, "meta.json"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files[m.Name] = b.Bytes()
	}
	s = openStore(t, dir, Options{})
	for name := range files {
		if in := mustGet(t, s, name).Meta().Input; in != nil {
			t.Errorf("%s: input %+v, want none", name, in)
		}
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, "collections", name, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: meta.json became\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestInputChecked: a malformed input transform is refused with every
// problem named, and the store takes vectors, not texts.
func TestInputChecked(t *testing.T) {
	s := openStore(t, "", Options{})
	for _, tt := range []struct {
		in   *InputSpec
		want []string
	}{
		{&InputSpec{}, []string{"input: empty, want a model"}},
		{&InputSpec{Model: &ModelRef{Name: "a b", SHA256: "ABC"}}, []string{`input.model.name "a b"`, `input.model.sha256 "ABC": want 64 lower-case hex digits`, "input.model.arch: required"}},
		{&InputSpec{Adapter: &AdapterRef{Path: "../a.safetensors", SHA256: "", InputDim: 0}}, []string{`input.adapter.path "../a.safetensors": want a relative path inside the server's model root`, `input.adapter.sha256 "": want 64`, "input.adapter.input_dim 0: want 1..65536"}},
		{&InputSpec{Adapter: &AdapterRef{Path: "/abs/a", SHA256: strings.Repeat("ab", 32), InputDim: 2}}, []string{`input.adapter.path "/abs/a"`, "input.adapter.input_dim 2: less than the collection dim 4"}},
	} {
		_, err := s.Create(Meta{Name: "x", Dim: 4, Input: tt.in})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Create with input %+v: %v, want ErrInvalid", tt.in, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Create with input %+v: %v, want it to say %q", tt.in, err, w)
			}
		}
	}
	c := mustCreate(t, s, Meta{Name: "c", Dim: 2})
	_, err := c.Upsert([]Point{{ID: iid(1), Text: "some words"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "points[0].text: the store takes vectors") {
		t.Errorf("Upsert of a text: %v, want ErrInvalid naming points[0].text", err)
	}
}
