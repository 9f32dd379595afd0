package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/kernel"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestTrainEvalQuickstart(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.ckpt")
	tiny := []string{"--hidden", "32", "--embed", "16", "--epochs", "1", "--max-steps", "20", "--schedule", "constant", "--lr", "0.05", "--batch", "64", "--quiet"}
	code, _, stderr := runCmd(t, append([]string{"train", "--out", ckpt}, tiny...)...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	jsonPath, csvPath := filepath.Join(dir, "e.json"), filepath.Join(dir, "e.csv")
	code, out, stderr := runCmd(t, "eval", "--json", jsonPath, ckpt, "--csv", csvPath) // flags on both sides
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	for _, want := range []string{"dim", "MRL", "8", "16", "top-1 % on mnist test (10000 examples)"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	var res []EvalResult
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res) != 1 || len(res[0].Dims) != 2 || res[0].Dims[1] != 16 {
		t.Fatalf("eval JSON = %s (err %v), want one result with dims [8 16]", b, err)
	}
	if res[0].Top1[1] < 0.5 {
		t.Errorf("20 steps of training gave %.3f top-1 at full size; want well above chance (0.1)", res[0].Top1[1])
	}
	c, _ := os.ReadFile(csvPath)
	if lines := strings.Count(string(c), "\n"); lines != 3 {
		t.Errorf("eval CSV has %d lines, want 3:\n%s", lines, c)
	}
	testEmbed(t, dir, ckpt)
	code, out, stderr = runCmd(t, append([]string{"quickstart", "--out", filepath.Join(dir, "q.ckpt"), "--queries", "50"}, tiny...)...)
	if code != 0 {
		t.Fatalf("quickstart exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1-NN top-1 %", "funnel 8:200,16:10:", "precision@10"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("definitely not a checkpoint"), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "Commands:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"train", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"train", "--nesting", "16,8", "--max-steps", "1"}, 1, "does not increase"},
		{[]string{"train", "--model", "rnn", "--max-steps", "1"}, 1, `arch "rnn"`},
		{[]string{"train", "--data", "nope"}, 1, "nope"},
		{[]string{"train", "--val-frac", "1.5"}, 1, "--val-frac"},
		{[]string{"train", "--heads", "ff", "--ff-dim", "4096", "--max-steps", "1"}, 1, "exceeds the embedding size"},
		{[]string{"eval"}, 2, "Usage: mrl eval"},
		{[]string{"eval", filepath.Join(dir, "missing.ckpt")}, 1, "missing.ckpt"},
		{[]string{"eval", garbage}, 1, "garbage.ckpt"},
		{[]string{"eval", dir}, 1, "not a regular file"},
		{[]string{"eval", "--split", "train", garbage}, 1, "--split"},
		{[]string{"train", "--resume", garbage}, 1, "garbage.ckpt"},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		// Read to its end, it would grow memory until the kernel kills
		// the process.
		cases = append(cases, struct {
			args []string
			code int
			msg  string
		}{[]string{"eval", "/dev/zero"}, 1, "not a regular file"})
	}
	for _, tc := range cases {
		code, _, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("mrl %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		code, _, stderr := runCmd(t, c.name, "-h")
		if code != 0 || !strings.Contains(stderr, "Usage: mrl "+c.name) {
			t.Errorf("mrl %s -h: exit %d, stderr %q", c.name, code, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "mrl ") || !strings.Contains(stdout, "\ngo: go1.") ||
			!strings.Contains(stdout, "kernels "+kernel.CurrentLevel().String()) {
			t.Errorf("mrl %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "version", "extra"); code != 2 || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("mrl version extra: exit %d, stderr %q", code, stderr)
	}
}

// testEmbed checks mrl embed on the 16-dim checkpoint ckpt: NPY and JSONL
// agree, --dim keeps a prefix, --normalize gives unit rows, --in embeds
// raw rows as the split does, and bad requests say what is wrong.
func testEmbed(t *testing.T, dir, ckpt string) {
	t.Helper()
	readNPY := func(path string) ([]float32, []int) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		x, shape, err := data.ReadNPY(f)
		if err != nil {
			t.Fatal(err)
		}
		return x, shape
	}
	embed := func(args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(t, append([]string{"embed", "--ckpt", ckpt}, args...)...)
		if code != 0 {
			t.Fatalf("mrl embed %v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	full, prefix, unit := filepath.Join(dir, "full.npy"), filepath.Join(dir, "p8.npy"), filepath.Join(dir, "u8.npy")
	jsonl := filepath.Join(dir, "full.jsonl")
	if out := embed("--n", "50", "--out", full); !strings.Contains(out, "50 rows × 16 dims") {
		t.Errorf("embed output %q", out)
	}
	embed("--n", "50", "--dim", "8", "--out", prefix)
	embed("--n", "50", "--dim", "8", "--normalize", "--out", unit)
	embed("--n", "50", "--out", jsonl)
	x, shape := readNPY(full)
	p, pshape := readNPY(prefix)
	u, _ := readNPY(unit)
	if !slices.Equal(shape, []int{50, 16}) || !slices.Equal(pshape, []int{50, 8}) {
		t.Fatalf("shapes %v and %v, want [50 16] and [50 8]", shape, pshape)
	}
	for i := 0; i < 50; i++ {
		if !slices.Equal(x[i*16:i*16+8], p[i*8:i*8+8]) {
			t.Fatalf("row %d: --dim 8 is not the first 8 dims of the full embedding", i)
		}
		var s float64
		for _, v := range u[i*8 : i*8+8] {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("row %d of --normalize has squared norm %v", i, s)
		}
	}
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	v, err := index.ReadJSONL(f, mrl.InnerProduct)
	f.Close()
	if err != nil || v.N() != 50 || v.Dim() != 16 || !slices.Equal(v.Data(), x) {
		t.Fatalf("JSONL: err %v; want the NPY's 50 × 16 values", err)
	}

	// Raw rows through --in give the split's embeddings.
	_, test, err := data.Load("mnist")
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "raw.npy")
	rf, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(rf, test.X[:3*test.Dim], []int{3, test.Dim}); err != nil {
		t.Fatal(err)
	}
	rf.Close()
	fromIn := filepath.Join(dir, "in.npy")
	embed("--in", raw, "--out", fromIn)
	if y, yshape := readNPY(fromIn); !slices.Equal(yshape, []int{3, 16}) || !slices.Equal(y, x[:48]) {
		t.Fatalf("--in: shape %v, values differ from the split's first 3 rows", yshape)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--dim", "17", "--out", filepath.Join(dir, "x.npy")}, 1, "--dim 17: the checkpoint's embedding has 16 dims"},
		{[]string{"--in", prefix, "--out", filepath.Join(dir, "x.npy")}, 1, "8 features per row, the model expects 784"},
		{[]string{"--split", "dev", "--out", filepath.Join(dir, "x.npy")}, 1, `--split "dev"`},
		{[]string{"--out", filepath.Join(dir, "x.txt")}, 2, "cannot tell the format"},
		{[]string{"--n", "5"}, 2, "--out is required"},
	} {
		code, _, stderr := runCmd(t, append([]string{"embed", "--ckpt", ckpt}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("mrl embed %v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
