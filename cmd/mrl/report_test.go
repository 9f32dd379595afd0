package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
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

// TestReportFlagsApply checks that the flags both reports share set the
// options' fields, and that unset flags keep the defaults.
func TestReportFlagsApply(t *testing.T) {
	type fields struct {
		runs, out                                 string
		retrain                                   bool
		m                                         model.Config
		tr                                        train.Options
		trainRows, testRows, queries, iters, rows int
	}
	def := fields{runs: "r0", out: "o0", m: model.Config{Embed: 64, Nesting: mrl.Nesting{8, 64}}, tr: train.Options{Epochs: 3, BatchSize: 32, Threads: 9},
		trainRows: 100, testRows: 50, queries: 20, iters: 7, rows: 30}
	for _, tt := range []struct {
		name    string
		f       reportFlags
		want    func(*fields)
		wantErr string
	}{
		{"unset", reportFlags{trainRows: -1, testRows: -1, probeRows: -1}, func(w *fields) { w.tr.Threads = 0 }, ""},
		{"all set", reportFlags{runs: "r", out: "o", retrain: true, epochs: 5, embed: 128, nesting: "16,128", batch: 64, maxSteps: 9, threads: 2,
			trainRows: 0, testRows: 10, queries: 5, probeIters: 3, probeRows: 0}, func(w *fields) {
			w.runs, w.out, w.retrain = "r", "o", true
			w.m.Embed, w.m.Nesting = 128, mrl.Nesting{16, 128}
			w.tr.Epochs, w.tr.BatchSize, w.tr.MaxSteps, w.tr.Threads = 5, 64, 9, 2
			w.trainRows, w.testRows, w.queries, w.iters, w.rows = 0, 10, 5, 3, 0
		}, ""},
		{"bad nesting", reportFlags{nesting: "8,x", trainRows: -1, testRows: -1, probeRows: -1}, nil, "--nesting"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := def
			got.m.Nesting = slices.Clone(def.m.Nesting)
			err := tt.f.apply(&got.runs, &got.out, &got.retrain, &got.m, &got.tr, &got.trainRows, &got.testRows, &got.queries, &got.iters, &got.rows)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("apply error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			want.m.Nesting = slices.Clone(def.m.Nesting)
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("apply:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
