package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomrl/mrl/data"
)

func writeNPY(t *testing.T, path string, x []float32, shape ...int) {
	t.Helper()
	var b bytes.Buffer
	if err := data.WriteNPY(&b, x, shape); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAdaptCommands(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	code, _, stderr := runCmd(t, "adapt", "synth", "--n", "800", "--d", "32", "--out", p("x.npy"), "--labels-out", p("y.npy"))
	if code != 0 {
		t.Fatalf("synth exit %d: %s", code, stderr)
	}
	code, out, stderr := runCmd(t, "adapt", "--in", p("x.npy"), "--labels", p("y.npy"), "--nesting", "4,8,32", "--epochs", "2", "--out", p("a.st"))
	if code != 0 {
		t.Fatalf("adapt exit %d: %s", code, stderr)
	}
	for _, want := range []string{"epoch 0 (PCA start): val recall@10 [", "epoch 2/2: loss", "sup ", "wrote " + p("a.st") + ": 32 → 32 dims, nesting 4,8,32"} {
		if !strings.Contains(out, want) {
			t.Errorf("adapt output lacks %q:\n%s", want, out)
		}
	}
	// Pairs: held-out queries from synth serve as the documents' queries
	// (any aligned rows will do for the plumbing).
	code, _, stderr = runCmd(t, "adapt", "synth", "--n", "300", "--d", "32", "--out", p("d.npy"), "--queries-out", p("q.npy"), "--nq", "300", "--query-labels-out", p("qy.npy"))
	if code != 0 {
		t.Fatalf("synth --queries-out exit %d: %s", code, stderr)
	}
	code, out, stderr = runCmd(t, "adapt", "--in", p("d.npy"), "--pair-queries", p("q.npy"), "--nesting", "4,32", "--epochs", "1", "--out", p("pairs.st"))
	if code != 0 || !strings.Contains(out, "contrastive ") {
		t.Fatalf("adapt --pair-queries exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "adapt", "apply", "--adapter", p("a.st"), "--in", p("x.npy"), "--out", p("z.jsonl"))
	if code != 0 || !strings.Contains(out, "800 rows × 32 dims") {
		t.Fatalf("apply exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--labels", p("y.npy"), "--nq", "100", "--funnel", "--keeps", "50,200")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	for _, want := range []string{"700 database rows, 100 queries, D=32", "recall@10 vs exact full-dim (D=32) neighbours", "1-NN top-1", "adapter    4:50,32:10", "truncation 8:200,32:10", "first stage:"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = runCmd(t, "index", "build", "--npy", p("x.npy"), "--adapter", p("a.st"), "--out", p("a.idx"))
	if code != 0 || !strings.Contains(out, "N=800 D=32") {
		t.Fatalf("index build --adapter exit %d: %s%s", code, out, stderr)
	}

	// Bad inputs get clear errors.
	writeNPY(t, p("wide.npy"), make([]float32, 2*40), 2, 40)
	writeNPY(t, p("empty.npy"), nil, 0, 32)
	nan := make([]float32, 3*32)
	nan[2*32+5] = float32(math.NaN())
	writeNPY(t, p("nan.npy"), nan, 3, 32)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"adapt", "apply", "--adapter", p("a.st"), "--in", p("wide.npy"), "--out", p("o.npy")}, "40 dims per row, the adapter takes 32"},
		{[]string{"index", "build", "--npy", p("wide.npy"), "--adapter", p("a.st"), "--out", p("o.idx")}, "40 dims per row, the adapter takes 32"},
		{[]string{"adapt", "apply", "--adapter", p("a.st"), "--in", p("empty.npy"), "--out", p("o.npy")}, "empty.npy: no rows"},
		{[]string{"adapt", "--in", p("empty.npy"), "--out", p("o.st")}, "empty.npy: no rows"},
		{[]string{"adapt", "--in", p("nan.npy"), "--out", p("o.st")}, "row 2, dim 5 is NaN"},
		{[]string{"adapt", "apply", "--adapter", p("x.npy"), "--in", p("x.npy"), "--out", p("o.npy")}, "adapter"},
		{[]string{"adapt", "--in", p("x.npy"), "--out", p("o.st"), "--labels", p("wide.npy")}, "wide.npy"},
		{[]string{"adapt", "--in", p("x.npy"), "--out", p("o.st"), "--pair-queries", p("q.npy")}, "300 rows of 32 dims for the 800 rows of 32 of --in"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", tc.args[1:], code, stderr, tc.want)
		}
	}
}
