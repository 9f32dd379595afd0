package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index/indextest"
)

// writeVectors writes n seeded random d-dim vectors to dir as JSONL (ids
// 1000+i) and NPY, returning both paths.
func writeVectors(t *testing.T, dir, name string, n, d int, seed uint64) (jsonlPath, npyPath string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	jsonlPath = filepath.Join(dir, name+".jsonl")
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"id":` + strconv.Itoa(1000+i) + `,"vector":[`)
		for j := range d {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64(x[i*d+j]), 'g', -1, 32))
		}
		b.WriteString("]}\n")
	}
	if err := os.WriteFile(jsonlPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	npyPath = filepath.Join(dir, name+".npy")
	f, err := os.Create(npyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(f, x, []int{n, d}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return jsonlPath, npyPath
}

func wantContains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s output lacks %q:\n%s", what, w, out)
		}
	}
}

func TestIndexBuildInfoSearch(t *testing.T) {
	dir := t.TempDir()
	jsonl, npy := writeVectors(t, dir, "db", 300, 16, 1)
	_, queries := writeVectors(t, dir, "q", 50, 16, 2)
	flatIdx := filepath.Join(dir, "flat.idx")
	npyIdx := filepath.Join(dir, "npy.idx")
	hnswIdx := filepath.Join(dir, "hnsw.idx")

	code, out, stderr := runCmd(t, "index", "build", "--out", flatIdx, "--jsonl", jsonl)
	if code != 0 {
		t.Fatalf("build --jsonl: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index build --jsonl:\n%s", out)
	wantContains(t, "build --jsonl", out, "N=300 D=16 metric=cosine", "memory per vector: 72 B", "build time")

	code, out, stderr = runCmd(t, "index", "build", "--out", npyIdx, "--npy", npy, "--metric", "l2")
	if code != 0 {
		t.Fatalf("build --npy: exit %d: %s", code, stderr)
	}
	wantContains(t, "build --npy", out, "N=300 D=16 metric=l2")

	code, out, stderr = runCmd(t, "index", "build", "--out", hnswIdx, "--jsonl", jsonl, "--hnsw", "--hnsw-dim", "8", "--m", "8", "--seed", "3")
	if code != 0 {
		t.Fatalf("build --hnsw: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index build --hnsw:\n%s", out)
	wantContains(t, "build --hnsw", out, "N=300 D=16", "B HNSW graph (M=8, dim 8, with its prefix copy)", "hnsw ")

	code, out, stderr = runCmd(t, "index", "info", flatIdx)
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index info:\n%s", out)
	wantContains(t, "info flat", out, "N:      300", "D:      16", "metric: cosine", "graph:  none", "memory: 0.0 MiB")
	code, out, _ = runCmd(t, "index", "info", hnswIdx)
	wantContains(t, "info hnsw", out, "graph:  HNSW on dim 8, ef ", "bytes/vector, with its copy of the 8-dim prefixes", "ids:    uint64")
	if code != 0 {
		t.Fatalf("info hnsw: exit %d", code)
	}

	// Flat search is exact: recall 1.
	hitsPath := filepath.Join(dir, "hits.jsonl")
	code, out, stderr = runCmd(t, "index", "search", flatIdx, "--npy", queries, "--k", "5", "--exact-check", "--out", hitsPath)
	if code != 0 {
		t.Fatalf("search flat: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search (flat):\n%s", out)
	wantContains(t, "search flat", out, "50 queries, k=5, dim 16, flat", "QPS", "p99", "recall@5 vs exact flat at dim 16: 1.0000")
	f, err := os.Open(hitsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		var l struct {
			Query  int       `json:"query"`
			IDs    []uint64  `json:"ids"`
			Scores []float32 `json:"scores"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Query != lines || len(l.IDs) != 5 || len(l.Scores) != 5 || l.IDs[0] < 1000 {
			t.Fatalf("hits line %d = %s (err %v)", lines+1, sc.Bytes(), err)
		}
		lines++
	}
	if lines != 50 {
		t.Errorf("hits file has %d lines, want 50", lines)
	}

	// The int8 filter's batch gives the same hits (exact, on a graph file too).
	for _, idx := range []string{flatIdx, hnswIdx} {
		hits8 := filepath.Join(dir, "hits8.jsonl")
		code, out, stderr = runCmd(t, "index", "search", idx, "--npy", queries, "--k", "5", "--int8-filter", "--exact-check", "--out", hits8)
		if code != 0 {
			t.Fatalf("search --int8-filter: exit %d: %s", code, stderr)
		}
		t.Logf("mrl index search --int8-filter:\n%s", out)
		wantContains(t, "search --int8-filter", out, "50 queries, k=5, dim 16, flat", "one batch on", "int8 filter ", "recall@5 vs exact flat at dim 16: 1.0000")
		want, got := readHitLines(t, hitsPath), readHitLines(t, hits8)
		if len(got) != len(want) {
			t.Fatalf("%s: --int8-filter wrote %d lines, want %d", idx, len(got), len(want))
		}
		for i := range want {
			// The same rows; scores to float32 rounding (the filter's dot
			// products sum in another order than single queries').
			if !slices.Equal(got[i].IDs, want[i].IDs) {
				t.Errorf("%s: query %d: --int8-filter ids %v, the float scan's %v", idx, i, got[i].IDs, want[i].IDs)
			}
			for j, w := range want[i].Scores {
				if d := got[i].Scores[j] - w; d > 1e-5 || d < -1e-5 {
					t.Errorf("%s: query %d hit %d: --int8-filter score %v, the float scan's %v", idx, i, j, got[i].Scores[j], w)
				}
			}
		}
	}

	// A funnel whose stages keep every row is exact (here under L2).
	code, out, stderr = runCmd(t, "index", "search", "--plan", "4:300,8:300,16:10", "--exact-check", npyIdx, "--queries", queries)
	if code != 0 {
		t.Fatalf("search funnel: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search --plan:\n%s", out)
	wantContains(t, "search funnel", out, "funnel 4:300,8:300,16:10 (first stage flat)",
		"stage 1: dim 4, rows in 300, out 300", "stage 2: dim 8, rows in 300, out 300", "stage 3: dim 16, rows in 300, out 10",
		"recall@10 vs exact flat at dim 16: 1.0000")

	// Ranking by a prefix.
	code, out, stderr = runCmd(t, "index", "search", flatIdx, "--npy", queries, "--dim", "8")
	if code != 0 {
		t.Fatalf("search --dim 8: exit %d: %s", code, stderr)
	}
	wantContains(t, "search --dim 8", out, "dim 8, flat")

	// HNSW, alone and as a funnel's first stage; ef >= N makes it exact at
	// the graph dim, so the funnel keeping all rows is exact.
	code, out, stderr = runCmd(t, "index", "search", hnswIdx, "--npy", queries, "--ef", "64", "--exact-check")
	if code != 0 {
		t.Fatalf("search hnsw: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search (hnsw):\n%s", out)
	wantContains(t, "search hnsw", out, "hnsw dim 8, ef 64", "recall@10 vs exact flat at dim 16:")
	code, out, stderr = runCmd(t, "index", "search", hnswIdx, "--npy", queries, "--ef", "300", "--plan", "8:300,16:10", "--exact-check")
	if code != 0 {
		t.Fatalf("search hnsw funnel: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search (hnsw funnel):\n%s", out)
	wantContains(t, "search hnsw funnel", out, "first stage hnsw dim 8, ef 300", "stage 1: dim 8", "recall@10 vs exact flat at dim 16: 1.0000")
}

func TestIndexErrors(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := writeVectors(t, dir, "db", 20, 8, 1)
	_, queries := writeVectors(t, dir, "q", 3, 8, 2)
	_, shortQ := writeVectors(t, dir, "short", 3, 4, 2)
	_, wideQ := writeVectors(t, dir, "wide", 3, 12, 2)
	idx := filepath.Join(dir, "a.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", idx, "--jsonl", jsonl); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"id\":1,\"vector\":[1,2,3]}\n\n{\"id\":2,\"vector\":[1,2]}\n"), 0o644)
	missing := filepath.Join(dir, "missing.idx")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"index"}, 2, "Usage: mrl index"},
		{[]string{"index", "frob"}, 2, `unknown subcommand "frob"`},
		{[]string{"index", "build", "--jsonl", jsonl}, 2, "--out is required"},
		{[]string{"index", "build", "--out", idx}, 2, "exactly one of --from-ckpt, --npy, --jsonl (got 0)"},
		{[]string{"index", "build", "--out", idx, "--jsonl", bad}, 1, "bad.jsonl: line 3: index: dimension mismatch: 2 dims, want 3 as on line 1"},
		{[]string{"index", "build", "--out", idx, "--npy", filepath.Join(dir, "nope.npy")}, 1, "nope.npy"},
		{[]string{"index", "build", "--out", idx, "--jsonl", jsonl, "--metric", "hamming"}, 1, `--metric: mrl: unknown metric "hamming"`},
		{[]string{"index", "build", "--out", idx, "--jsonl", jsonl, "--hnsw", "--hnsw-dim", "9"}, 1, "--hnsw-dim 9: the vectors have 8 dims"},
		{[]string{"index", "build", "--out", idx, "--jsonl", jsonl, "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"index", "info"}, 2, "want one FILE, got 0"},
		{[]string{"index", "info", missing}, 1, "missing.idx"},
		{[]string{"index", "info", jsonl}, 1, "index: not an index file"},
		{[]string{"index", "search", idx}, 2, "exactly one query source"},
		{[]string{"index", "search", missing, "--npy", queries}, 1, "missing.idx"},
		{[]string{"index", "search", idx, "--npy", queries, "--plan", "4:x"}, 1, `--plan: index: invalid plan: stage 1: "4:x" is not dim:keep`},
		{[]string{"index", "search", idx, "--npy", queries, "--plan", "4:20,6:10"}, 1, "last dim 6 is not the full dim 8"},
		{[]string{"index", "search", idx, "--npy", queries, "--plan", "4:20,8:5"}, 1, "last keep 5 is less than k = 10"},
		{[]string{"index", "search", idx, "--npy", queries, "--dim", "9"}, 1, "--dim 9: " + idx + " has 8 dims (want 1..8)"},
		{[]string{"index", "search", idx, "--npy", shortQ}, 1, "queries have 4 dims, need 8"},
		{[]string{"index", "search", idx, "--npy", queries, "--k", "0"}, 1, "--k 0"},
		{[]string{"index", "search", idx, "--npy", queries, "--int8-filter", "--plan", "4:20,8:10"}, 1, "--int8-filter searches exactly: it takes no --plan or --tier"},
		{[]string{"index", "search", idx, "--npy", wideQ}, 1, "queries have 12 dims, index " + idx + " has D=8: a dimension mismatch"},
		{[]string{"index", "search", idx, "--npy", shortQ, "--dim", "4"}, 1, "queries have 4 dims, index " + idx + " has D=8: a dimension mismatch"},
		{[]string{"index", "search", idx, "--npy", shortQ, "--dim", "4", "--plan", "4:20,8:10", "--truncate-queries"}, 1, "queries have 4 dims, need 8"},
		{[]string{"index", "search", idx, "--npy", wideQ, "--truncate-queries"}, 0, ""},
		{[]string{"index", "search", idx, "--npy", shortQ, "--dim", "4", "--truncate-queries"}, 0, ""},
		{[]string{"index", "tune", idx, "--npy", wideQ, "--target-recall", "0.9"}, 1, "a dimension mismatch"},
	}
	for _, tc := range cases {
		code, _, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("mrl %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
	for _, sub := range []string{"build", "info", "search"} {
		code, _, stderr := runCmd(t, "index", sub, "-h")
		if code != 0 || !strings.Contains(stderr, "Usage: mrl index "+sub) || !strings.Contains(stderr, "Example") {
			t.Errorf("mrl index %s -h: exit %d, stderr %q", sub, code, stderr)
		}
	}
}

func TestIndexFromCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	ckpt, idx := filepath.Join(dir, "m.ckpt"), filepath.Join(dir, "m.idx")
	code, _, stderr := runCmd(t, "train", "--out", ckpt, "--hidden", "32", "--embed", "16", "--epochs", "1", "--max-steps", "5", "--batch", "64", "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	code, out, stderr := runCmd(t, "index", "build", "--out", idx, "--from-ckpt", ckpt, "--split", "test")
	if code != 0 {
		t.Fatalf("build --from-ckpt: exit %d: %s", code, stderr)
	}
	wantContains(t, "build --from-ckpt", out, "N=10000 D=16 metric=cosine")
	code, out, stderr = runCmd(t, "index", "search", idx, "--from-ckpt", ckpt, "--n", "100", "--plan", "8:10000,16:10", "--exact-check")
	if code != 0 {
		t.Fatalf("search --from-ckpt: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search --from-ckpt:\n%s", out)
	wantContains(t, "search --from-ckpt", out, "100 queries, k=10", "recall@10 vs exact flat at dim 16: 1.0000")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"index", "build", "--out", idx, "--from-ckpt", filepath.Join(dir, "none.ckpt")}, "none.ckpt"},
		{[]string{"index", "search", idx, "--from-ckpt", ckpt, "--split", "val"}, `--split "val": want train or test`},
	} {
		if code, _, stderr := runCmd(t, tc.args...); code != 1 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("mrl %v: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr, tc.msg)
		}
	}
}

func TestIndexTune(t *testing.T) {
	dir := t.TempDir()
	const n, d, nq = 2000, 32, 80
	rng := rand.New(rand.NewPCG(9, 3))
	x := indextest.MatryoshkaLike(rng, n+nq, d)
	writeNPY := func(name string, x []float32, rows int) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := data.WriteNPY(f, x, []int{rows, d}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	db := writeNPY("db.npy", x[:n*d], n)
	queries := writeNPY("q.npy", x[n*d:], nq)
	idx := filepath.Join(dir, "db.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", idx, "--npy", db); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}

	code, out, stderr := runCmd(t, "index", "tune", idx, "--queries", queries, "--target-recall", "0.9", "--holdout", "0.5")
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index tune:\n%s", out)
	wantContains(t, "tune", out, "N=2000 D=32 metric=cosine; first stage flat; 40 calibration + 40 held-out queries, k=10",
		"plan", "recall", "MFLOPs", "chosen plan: ", "calibration recall@10: ", "held-out recall@10:    ", "mean latency:")
	for _, line := range strings.Split(out, "\n") {
		for _, pre := range []string{"  calibration recall@10: ", "  held-out recall@10:    "} {
			if r, ok := strings.CutPrefix(line, pre); ok {
				r, _, _ = strings.Cut(r, " ")
				if f, err := strconv.ParseFloat(r, 64); err != nil || f < 0.9 {
					t.Errorf("%q: recall below the target 0.9", line)
				}
			}
		}
	}

	// An impossible budget fails; so do bad flags.
	code, _, stderr = runCmd(t, "index", "tune", idx, "--queries", queries, "--max-mflops", "0.0001")
	if code == 0 || !strings.Contains(stderr, "no plan meets the target") {
		t.Errorf("tune --max-mflops 0.0001: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "index", "tune", idx, "--queries", queries)
	if code == 0 || !strings.Contains(stderr, "no target") {
		t.Errorf("tune without a target: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ = runCmd(t, "index", "tune", idx, "--target-recall", "0.9"); code == 0 {
		t.Error("tune without queries succeeded")
	}
	code, _, stderr = runCmd(t, "index", "tune", idx, "--queries", queries, "--max-latency", "1ns")
	if code == 0 || !strings.Contains(stderr, "no plan within 1ns per query") {
		t.Errorf("tune --max-latency 1ns: exit %d, stderr %q", code, stderr)
	}

	// With an HNSW graph in the file, plans start at its dim and each is
	// tried at every --efs.
	hidx := filepath.Join(dir, "db-hnsw.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", hidx, "--npy", db, "--hnsw", "--hnsw-dim", "8", "--m", "8"); code != 0 {
		t.Fatalf("build --hnsw: exit %d: %s", code, stderr)
	}
	code, out, stderr = runCmd(t, "index", "tune", hidx, "--queries", queries, "--target-recall", "0.9", "--efs", "16,64", "--max-stages", "1")
	if code != 0 {
		t.Fatalf("tune (hnsw): exit %d: %s", code, stderr)
	}
	t.Logf("mrl index tune (hnsw):\n%s", out)
	wantContains(t, "tune (hnsw)", out, "first stage hnsw at dim 8;", "HNSW ef:", "held-out recall@10:")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "16:") || strings.HasPrefix(line, "4:") {
			t.Errorf("plan line %q does not start at the graph dim 8", line)
		}
	}
	code, _, stderr = runCmd(t, "index", "tune", hidx, "--queries", queries, "--target-recall", "0.9", "--efs", "0")
	if code == 0 || !strings.Contains(stderr, "knob 0 is not positive") {
		t.Errorf("tune --efs 0: exit %d, stderr %q", code, stderr)
	}
}

// TestIndexSearchTier runs search with a quantised first stage: alone, as
// a funnel's first stage (exact when every stage keeps all rows) and as
// the first stage of a file with an HNSW graph, whose graph it replaces.
func TestIndexSearchTier(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := writeVectors(t, dir, "db", 300, 16, 1)
	_, queries := writeVectors(t, dir, "q", 40, 16, 2)
	idx := filepath.Join(dir, "flat.idx")
	hnswIdx := filepath.Join(dir, "hnsw.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", idx, "--jsonl", jsonl); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "index", "build", "--out", hnswIdx, "--jsonl", jsonl, "--hnsw", "--hnsw-dim", "12"); code != 0 {
		t.Fatalf("build --hnsw: exit %d: %s", code, stderr)
	}

	// Alone: 60·5 >= 300 rows re-scored, so the search is exact.
	code, out, stderr := runCmd(t, "index", "search", idx, "--npy", queries, "--k", "5", "--tier", "int8", "--rescore", "60", "--exact-check")
	if code != 0 {
		t.Fatalf("search --tier int8: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search --tier int8:\n%s", out)
	wantContains(t, "search --tier int8", out, "tier int8 dim 16: 16 B per vector (float: 64 B), 0.00 MB, rescore 60·k",
		"k=5, dim 16, int8 tier dim 16", "recall@5 vs exact flat at dim 16: 1.0000")

	// First stage of a funnel keeping every row: exact.
	code, out, stderr = runCmd(t, "index", "search", idx, "--npy", queries, "--plan", "8:300,16:10", "--tier", "binary", "--exact-check")
	if code != 0 {
		t.Fatalf("search --tier binary --plan: exit %d: %s", code, stderr)
	}
	t.Logf("mrl index search --tier binary --plan:\n%s", out)
	wantContains(t, "search --tier binary --plan", out, "tier binary dim 8: 8 B per vector (float: 32 B)", "rescore 16·k",
		"funnel 8:300,16:10 (first stage binary tier dim 8)", "stage 1: dim 8, rows in 300, out 300",
		"recall@10 vs exact flat at dim 16: 1.0000")

	// The tier replaces the file's graph, so the plan may start below the
	// graph dim; --tier-dim codes more dims than the first stage reads.
	code, out, stderr = runCmd(t, "index", "search", hnswIdx, "--npy", queries, "--plan", "4:300,16:10", "--tier", "binary", "--tier-dim", "16", "--exact-check")
	if code != 0 {
		t.Fatalf("search hnsw file --tier: exit %d: %s", code, stderr)
	}
	wantContains(t, "search hnsw file --tier", out, "tier binary dim 16: 8 B per vector", "(first stage binary tier dim 16)",
		"recall@10 vs exact flat at dim 16: 1.0000")

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--tier", "int4"}, `--tier "int4": want binary or int8`},
		{[]string{"--tier-dim", "8"}, "--tier-dim and --rescore need --tier"},
		{[]string{"--tier", "int8", "--tier-dim", "17"}, "--tier-dim 17: " + idx + " has 16 dims (want 1..16)"},
		{[]string{"--tier", "int8", "--rescore", "-1"}, "--tier: index: invalid options: quantized: Rescore -1 is negative"},
	} {
		code, _, stderr := runCmd(t, append([]string{"index", "search", idx, "--npy", queries}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("mrl index search %v: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr, tc.msg)
		}
	}
}

// TestIndexStringIDs builds an index from JSONL with string ids and checks
// that info and search --out speak of the names.
func TestIndexStringIDs(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `{"id": "doc/%02d", "vector": [%d, 1, 0.5, %d]}`+"\n", i, i, 40-i)
	}
	jsonl := filepath.Join(dir, "named.jsonl")
	if err := os.WriteFile(jsonl, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "named.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", idx, "--jsonl", jsonl, "--metric", "ip"); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	code, out, _ := runCmd(t, "index", "info", idx)
	wantContains(t, "info", out, "N:      40", "ids:    strings")
	if code != 0 {
		t.Fatalf("info: exit %d", code)
	}
	q := filepath.Join(dir, "q.npy")
	f, err := os.Create(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(f, []float32{1, 0, 0, 0}, []int{1, 4}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	hits := filepath.Join(dir, "hits.jsonl")
	if code, _, stderr := runCmd(t, "index", "search", idx, "--npy", q, "--k", "2", "--out", hits); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(hits)
	if err != nil {
		t.Fatal(err)
	}
	// Inner product with (1,0,0,0) ranks by the first value: rows 39, 38.
	if !strings.Contains(string(got), `"ids":["doc/39","doc/38"]`) {
		t.Errorf("hits = %s, want ids doc/39, doc/38", got)
	}
}

// buildProgress prints every 10% of a long build and nothing for a short one.
func TestBuildProgress(t *testing.T) {
	var b strings.Builder
	p := buildProgress(&b, time.Now().Add(-4*time.Second))
	for _, done := range []int{10, 100, 150, 200, 990, 1000} {
		p(done, 1000)
	}
	want := "hnsw build: 10% (100/1000 nodes) in 4s, eta 36s\n"
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 4 || lines[0]+"\n" != want ||
		!strings.HasPrefix(lines[3], "hnsw build: 100% (1000/1000 nodes)") {
		t.Errorf("long build printed:\n%s\nwant 4 lines (10%%, 20%%, 99%%, 100%%), the first %q", b.String(), want)
	}
	b.Reset()
	p = buildProgress(&b, time.Now())
	p(100, 1000)
	p(1000, 1000)
	if b.Len() != 0 {
		t.Errorf("short build printed %q", b.String())
	}
}

// hitLine is one line of mrl index search --out.
type hitLine struct {
	Query  int       `json:"query"`
	IDs    []uint64  `json:"ids"`
	Scores []float32 `json:"scores"`
}

func readHitLines(t *testing.T, path string) []hitLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []hitLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var h hitLine
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, h)
	}
	return out
}
