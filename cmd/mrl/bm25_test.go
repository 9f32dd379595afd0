package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomrl/mrl/data"
)

func TestBM25Command(t *testing.T) {
	dir := t.TempDir()
	pairs := filepath.Join(dir, "pairs.jsonl")
	// Three pairs whose queries each share words with their own doc only.
	in := `{"query": "chess engine", "doc": "a strong chess engine for the console"}
{"query": "partition editor", "doc": "graphical editor of disk partitions"}
{"query": "download files", "doc": "a tool that downloads files over HTTP"}
`
	if err := os.WriteFile(pairs, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonPath, export := filepath.Join(dir, "r.json"), filepath.Join(dir, "export.jsonl")
	code, out, stderr := runCmd(t, "bm25", "--pairs", pairs, "--val-frac", "0", "--test-frac", "0", "--split", "train",
		"--json", jsonPath, "--export", export)
	if code != 0 {
		t.Fatalf("bm25 exit %d: %s", code, stderr)
	}
	for _, want := range []string{"data     pairs: train 3, val 0, test 0 pairs", "sha256   ", "k1=0.9 b=0.4 stem=true",
		"train: recall@1 1.0000  recall@10 1.0000  recall@100 1.0000  MRR@10 1.0000  nDCG@10 1.0000"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var res BM25Result
	b, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &res); err != nil || res.Metrics.Queries != 3 || res.Metrics.MRR10 != 1 || len(res.SHA256) != 64 {
		t.Errorf("JSON = %s (err %v)", b, err)
	}
	f, err := os.Open(export)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, _, err := data.ReadPairs(f)
	if err != nil || len(ps) != 3 || ps[1].Query != "partition editor" {
		t.Errorf("exported pairs = %+v, %v", ps, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bm25"}, "no text data"},
		{[]string{"bm25", "--pairs", pairs, "--split", "nope"}, `--split: data: pairs: no split "nope"`},
		{[]string{"bm25", "--pairs", pairs, "--b", "3"}, "bm25: B = 3, want [0,1]"},
		{[]string{"bm25", "--data", "debian-descriptions", "--pairs", pairs}, "not both"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestBM25CommandFusion(t *testing.T) {
	dir := t.TempDir()
	pairs := filepath.Join(dir, "pairs.jsonl")
	in := `{"query": "chess engine", "doc": "a strong chess engine for the console"}
{"query": "partition editor", "doc": "graphical editor of disk partitions"}
{"query": "download files", "doc": "a tool that downloads files over HTTP"}
`
	os.WriteFile(pairs, []byte(in), 0o644)
	// Embeddings of 4 dims: at dim 4 query i is nearest doc i; at dim 2
	// every query is (0, 1) and nearest doc 2, so only query 2 finds its
	// doc first.
	q := []float32{0, 1, 5, 0, 0, 1, 0, 5, 0, 1, 0, 0}
	d := []float32{1, 0, 5, 0, 1, 0, 0, 5, 0, 1, 0, 0}
	write := func(name string, x []float32, rows int) string {
		p := filepath.Join(dir, name)
		f, _ := os.Create(p)
		defer f.Close()
		if err := data.WriteNPY(f, x, []int{rows, 4}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	qp, dp := write("q.npy", q, 3), write("d.npy", d, 3)
	jsonPath := filepath.Join(dir, "r.json")
	code, out, stderr := runCmd(t, "bm25", "--pairs", pairs, "--val-frac", "0", "--test-frac", "0", "--split", "train",
		"--query-emb", qp, "--doc-emb", dp, "--dims", "2,4", "--json", jsonPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res BM25Result
	b, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &res); err != nil || len(res.Embedding) != 2 || len(res.Fused) != 2 || res.RRFK != 60 {
		t.Fatalf("JSON = %s (err %v); output:\n%s", b, err, out)
	}
	if e := res.Embedding; e[0].Dim != 2 || math.Abs(e[0].Recall1-1.0/3) > 1e-9 || e[1].Dim != 4 || e[1].Recall1 != 1 {
		t.Errorf("embedding metrics %+v: want recall@1 1/3 at dim 2 and 1 at dim 4\n%s", e, out)
	}
	// BM25 is perfect here, and so is its fusion with the embedding at dim 4.
	if f := res.Fused; f[1].Recall1 != 1 {
		t.Errorf("fused metrics %+v: want recall@1 1 at dim 4", f)
	}
	code, _, stderr = runCmd(t, "bm25", "--pairs", pairs, "--val-frac", "0", "--test-frac", "0", "--split", "train",
		"--query-emb", qp, "--doc-emb", write("bad.npy", q[:8], 2))
	if code != 1 || !strings.Contains(stderr, "want (3, D): one row per pair") {
		t.Errorf("bad doc embeddings: exit %d, %q", code, stderr)
	}
}
