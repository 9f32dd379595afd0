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
	// The recall term, with query anchors and a draw of negatives: its
	// value is printed; a negative draw is refused by name.
	code, out, stderr = runCmd(t, "adapt", "--in", p("d.npy"), "--query-anchors", p("q.npy"), "--recall-weight", "0.1", "--recall-negatives", "100", "--nesting", "4,32", "--epochs", "1", "--out", p("recall.st"))
	if code != 0 || !strings.Contains(out, " recall ") {
		t.Fatalf("adapt --recall-weight exit %d: %s%s", code, out, stderr)
	}
	code, _, stderr = runCmd(t, "adapt", "--in", p("d.npy"), "--recall-weight", "0.1", "--recall-negatives", "-1", "--epochs", "1", "--out", p("bad.st"))
	if code == 0 || !strings.Contains(stderr, "RecallNegatives -1 is negative") {
		t.Errorf("adapt --recall-negatives -1: exit %d: %s", code, stderr)
	}
	code, out, stderr = runCmd(t, "adapt", "apply", "--adapter", p("a.st"), "--in", p("x.npy"), "--out", p("z.jsonl"))
	if code != 0 || !strings.Contains(out, "800 rows × 32 dims") {
		t.Fatalf("apply exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--labels", p("y.npy"), "--nq", "100", "--funnel", "--keeps", "50,200", "--hnsw-dims", "4", "--single-nq", "20")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	for _, want := range []string{"700 database rows, 100 queries, D=32", "recall@10 vs exact full-dim (D=32) neighbours", "1-NN top-1", "adapter       4:50,32:10", "adapter-hnsw  4:50,32:10", "truncation    8:200,32:10",
		"hnsw on the adapted 4-prefix: 700 rows built in", "single ", "per query (one thread, the first 20 queries)", "load average", "fastest with recall@10"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	// --mrl with the original embeddings themselves: the MRL column is the
	// truncation column, value for value; with 8-dim ones it stops at 8.
	code, out, stderr = runCmd(t, "adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--labels", p("y.npy"), "--nq", "100", "--mrl", p("x.npy"))
	if code != 0 {
		t.Fatalf("eval --mrl exit %d: %s", code, stderr)
	}
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || (f[0] != "4" && f[0] != "8" && f[0] != "32") {
			continue
		}
		rows++
		// dim trunc pca adapter mrl | 1-NN top-1: trunc pca adapt mrl | ...
		if f[1] != f[4] || f[6] != f[9] || f[11] != f[14] {
			t.Errorf("eval --mrl x.npy: line %q: the mrl column differs from truncation's", line)
		}
	}
	if rows != 3 || !strings.Contains(out, "mrl: "+p("x.npy")+", D=32") {
		t.Errorf("eval --mrl output (%d dim rows):\n%s", rows, out)
	}
	x8 := make([]float32, 0, 800*8)
	xs, _, _, _, err := readEmbeddings(p("x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 800 {
		x8 = append(x8, xs[i*32:i*32+8]...)
	}
	writeNPY(t, p("x8.npy"), x8, 800, 8)
	code, out, stderr = runCmd(t, "adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--nq", "100", "--mrl", p("x8.npy"))
	if code != 0 {
		t.Fatalf("eval --mrl x8 exit %d: %s", code, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == "8" && f[4] != "1.0000" || len(f) == 5 && f[0] == "32" && f[4] != "-" {
			t.Errorf("eval --mrl x8.npy: line %q: want recall 1 at its full dim 8 and - past it", line)
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
		{[]string{"adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--nq", "100", "--mrl", p("d.npy")}, "d.npy: 300 rows, want 800 (one per row of --in, in the same order)"},
		{[]string{"adapt", "eval", "--adapter", p("a.st"), "--in", p("x.npy"), "--mrl-queries", p("d.npy")}, "--mrl-queries goes with --mrl and --queries"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", tc.args[1:], code, stderr, tc.want)
		}
	}
}
