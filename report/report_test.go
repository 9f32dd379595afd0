package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"gonum.org/v1/plot/plotter"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fixture(t *testing.T) *Results {
	t.Helper()
	r, err := ReadResults(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.Claims = Claims(r, r.Setup.Thresholds)
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(go test ./report -update rewrites it)", name, i+1, g, w)
			}
		}
	}
}

func TestGoldenMarkdown(t *testing.T) {
	r := fixture(t)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", b.Bytes())
}

func TestGoldenCSV(t *testing.T) {
	r := fixture(t)
	for _, tb := range Tables(r) {
		if tb.Name != "claims" && tb.Name != "retrieval_plans" {
			continue
		}
		var b bytes.Buffer
		if err := WriteCSV(&b, tb); err != nil {
			t.Fatal(err)
		}
		golden(t, tb.Name+".csv.golden", b.Bytes())
	}
}

func TestWriteFixture(t *testing.T) {
	r := fixture(t)
	dir := t.TempDir()
	files, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	checkReportDir(t, dir, files)
}

// checkReportDir checks that every output of a report is in dir, the PNGs
// decode and report.html embeds them.
func checkReportDir(t *testing.T, dir string, files []string) {
	t.Helper()
	want := []string{"results.json", "report.md", "report.html", "claims.csv", "classification.csv", "nn.csv", "interpolation.csv",
		"adaptive.csv", "adaptive_curve.csv", "retrieval_exact.csv", "retrieval_plans.csv", "few_shot.csv", "models.csv",
		"accuracy.png", "nn.png", "adaptive.png", "retrieval.png", "fewshot.png",
		"accuracy.svg", "nn.svg", "adaptive.svg", "retrieval.svg", "fewshot.svg"}
	if len(files) != len(want) {
		t.Errorf("Write returned %d files, want %d: %v", len(files), len(want), files)
	}
	for _, name := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.HasSuffix(name, ".png") {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: not a PNG: %v", name, err)
			}
		}
		if strings.HasSuffix(name, ".svg") && (!bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("</svg>"))) {
			t.Errorf("%s: not an SVG document", name)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if n := strings.Count(string(html), `src="data:image/png;base64,`); n != 5 {
		t.Errorf("report.html embeds %d PNGs, want 5", n)
	}
	if _, err := ReadResults(filepath.Join(dir, "results.json")); err != nil {
		t.Error(err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{DefaultOptions("fashion-mnist"), QuickOptions("mnist")} {
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(%s quick=%v) = %v, want nil", o.Data, o.Quick, err)
		}
	}
	o := DefaultOptions("")
	o.ProbeIters, o.Queries, o.Ks, o.HeldOutFrac, o.Funnels = 0, 0, []int{25}, 1, []string{"16:200,8:10"}
	err := o.Validate()
	if err == nil {
		t.Fatal("Validate of bad options = nil, want an error")
	}
	for _, want := range []string{"Data", "ProbeIters", "Queries", "must contain 10", "HeldOutFrac", "does not increase"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q: %v", want, err)
		}
	}
}

func TestDefaultFunnels(t *testing.T) {
	var got []string
	for _, p := range DefaultFunnels(mrl.DefaultNesting(2048)) {
		got = append(got, p.String())
	}
	want := []string{
		"8:200,16:100,32:50,64:25,128:10,256:10,512:10,1024:10,2048:10",
		"16:200,32:100,64:50,128:25,256:10,512:10,1024:10,2048:10",
		"32:200,64:100,128:50,256:25,512:10,1024:10,2048:10",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DefaultFunnels(8..2048) = %v, want %v", got, want)
	}
	for _, p := range DefaultFunnels(mrl.DefaultNesting(2048)) {
		if err := p.Validate(2048, 10); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
}

func TestInterpolationDims(t *testing.T) {
	got := InterpolationDims([]int{8, 16, 32, 64, 100})
	want := []int{8, 12, 16, 24, 32, 48, 64, 82, 100}
	if len(got) != len(want) {
		t.Fatalf("InterpolationDims = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("InterpolationDims = %v, want %v", got, want)
		}
	}
}

// TestQuickPipeline runs the --quick pipeline end to end on a slice of
// MNIST, then again to check that it reuses the checkpoints.
func TestQuickPipeline(t *testing.T) {
	if raceEnabled {
		t.Skip("trains six models: too slow under -race")
	}
	if testing.Short() {
		t.Skip("trains six models")
	}
	full, test, err := data.Load("mnist")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	o := QuickOptions("mnist")
	o.RunsDir, o.OutDir = filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	o.Train.Epochs = 2
	o.ProbeRows, o.ProbeIters, o.Queries, o.Shots, o.FewShotSeeds = 1000, 30, 100, []int{1, 5}, 2
	trainSet, val := full.Head(3000).Split(o.ValFrac, 1)
	test = test.Head(1000)
	log := slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start := time.Now()
	r, err := RunOn(context.Background(), o, trainSet, val, test, log)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Write(o.OutDir, r)
	if err != nil {
		t.Fatal(err)
	}
	checkReportDir(t, o.OutDir, files)
	t.Logf("quick report in %v", time.Since(start))
	if len(r.Models) != 6 || len(r.Classification) != 4 || len(r.Claims) != 4 || len(r.Retrieval.Funnels) == 0 {
		t.Errorf("results: %d models, %d dims, %d claims, %d funnels; want 6, 4, 4, >0", len(r.Models), len(r.Classification), len(r.Claims), len(r.Retrieval.Funnels))
	}
	last := r.Classification[len(r.Classification)-1]
	if last.MRL < 0.8 || last.FF < 0.8 || last.MRLProbe < 0.8 {
		t.Errorf("full-size top-1 MRL %.3f, FF %.3f, probe %.3f; want > 0.8 on MNIST", last.MRL, last.FF, last.MRLProbe)
	}
	r2, err := RunOn(context.Background(), o, trainSet, val, test, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r2.Models {
		if !m.Cached {
			t.Errorf("second run trained %s again; want it loaded from %s", m.Label, m.Path)
		}
	}
	if r2.Classification[0] != r.Classification[0] {
		t.Errorf("cached models give %+v, the trained ones %+v", r2.Classification[0], r.Classification[0])
	}
	o.Train.Epochs = 3
	if _, err := RunOn(context.Background(), o, trainSet, val, test, log); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "epochs 2, want 3") {
		t.Errorf("run with another recipe over the cache: err = %v, want ErrStale naming the epochs", err)
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TestNiceTicks: labels resolve a narrow range and are distinct.
func TestNiceTicks(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{86.9, 87.1}, {0, 100}, {97.8, 98.6}, {0.5, 0.51}, {-3, 12}} {
		var labels []string
		for _, tk := range niceTicks(c.lo, c.hi) {
			if tk.Label == "" {
				continue
			}
			if tk.Value < c.lo-1e-9 || tk.Value > c.hi+1e-9 {
				t.Errorf("[%v, %v]: tick %v outside", c.lo, c.hi, tk.Value)
			}
			labels = append(labels, tk.Label)
		}
		if len(labels) < 3 || len(labels) > 11 {
			t.Errorf("[%v, %v]: %d labels %v", c.lo, c.hi, len(labels), labels)
		}
		seen := map[string]bool{}
		for _, l := range labels {
			if seen[l] {
				t.Errorf("[%v, %v]: label %q repeats: %v", c.lo, c.hi, l, labels)
			}
			seen[l] = true
		}
	}
}

// TestYRangeOffScale: a series far below the others is set aside; close
// ones are not.
func TestYRangeOffScale(t *testing.T) {
	mk := func(ys ...float64) series {
		var s series
		for i, y := range ys {
			s.pts = append(s.pts, plotter.XY{X: float64(i + 1), Y: y})
		}
		return s
	}
	lo, hi, below := yRange([]series{mk(97, 98), mk(96.5, 98.2), mk(10, 40)})
	if !below[2] || below[0] || below[1] || lo != 96.5 || hi != 98.2 {
		t.Errorf("far baseline: lo %v hi %v below %v", lo, hi, below)
	}
	if _, _, below := yRange([]series{mk(97, 98), mk(96.5, 98.2), mk(95, 97)}); len(below) != 0 {
		t.Errorf("close series set aside: %v", below)
	}
}
