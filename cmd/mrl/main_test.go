package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{[]string{"eval", "--split", "train", garbage}, 1, "--split"},
		{[]string{"train", "--resume", garbage}, 1, "garbage.ckpt"},
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
