package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextReportCommand runs mrl report on a small JSONL pairs file (a
// text report end to end through the flags), renders it again from its
// results.json, and checks the flags that do not apply.
func TestTextReportCommand(t *testing.T) {
	dir := t.TempDir()
	pairs := filepath.Join(dir, "pairs.jsonl")
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := range 900 {
		c := r.IntN(3)
		var doc []string
		for range 16 {
			doc = append(doc, fmt.Sprintf("t%dw%d", c, r.IntN(300)))
		}
		q := doc[r.IntN(16)] + " " + doc[r.IntN(16)] + " " + doc[r.IntN(16)]
		line, _ := json.Marshal(map[string]string{"query": q, "doc": strings.Join(doc, " ") + fmt.Sprintf(" n%d", i), "label": fmt.Sprintf("s%d", c)})
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(pairs, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, runs := filepath.Join(dir, "out"), filepath.Join(dir, "runs")
	code, stdout, stderr := runCmd(t, "report", "--data", "jsonl:"+pairs, "--quick", "--embed", "16", "--buckets", "4096", "--bag-dim", "16",
		"--batch", "64", "--probe-iters", "10", "--runs", runs, "--out", out)
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	for _, want := range []string{"MRL text report for jsonl:", "(a) ", "(c) ", "(d) stated", "recall@10: MRL (dim 16)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "# MRL text report: jsonl:") || !strings.Contains(string(md), "Section classification") {
		t.Errorf("report.md: %v\n%.400s", err, md)
	}
	again := filepath.Join(dir, "again")
	if code, stdout, stderr := runCmd(t, "report", "--render", filepath.Join(out, "results.json"), "--out", again); code != 0 || !strings.Contains(stdout, "rendered 19 files") {
		t.Errorf("report --render: exit %d, %s %s", code, stdout, stderr)
	}
	if md2, _ := os.ReadFile(filepath.Join(again, "report.md")); string(md2) != string(md) {
		t.Error("report.md rendered from results.json differs from the run's")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--data", "jsonl:" + pairs, "--model", "cnn"}, "needs text models"},
		{[]string{"report", "--data", "mnist", "--buckets", "10"}, "apply to text sets only"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error with %q", tc.args, code, stderr, tc.want)
		}
	}
}
