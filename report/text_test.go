package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/text"
)

// syntheticTextSet returns pairs whose documents are 24 words, drawn
// mostly from their class's quarter of a 1,200-word vocabulary, and whose
// queries are 4 of their document's words: retrievable by words, and
// classifiable.
func syntheticTextSet(nTrain, nVal, nTest int) *data.TextSet {
	r := rand.New(rand.NewPCG(7, 8))
	const vocab, classes = 1200, 4
	word := func(i int) string { return fmt.Sprintf("w%dx%c", i, 'a'+rune(i%26)) }
	pair := func() data.TextPair {
		c := r.IntN(classes)
		var doc []string
		for range 24 {
			w := c*vocab/classes + r.IntN(vocab/classes)
			if r.IntN(4) == 0 {
				w = r.IntN(vocab)
			}
			doc = append(doc, word(w))
		}
		q := make([]string, 4)
		for i := range q {
			q[i] = doc[r.IntN(len(doc))]
		}
		return data.TextPair{Query: strings.Join(q, " "), Doc: strings.Join(doc, " "), Label: int32(c)}
	}
	mk := func(n int) []data.TextPair {
		p := make([]data.TextPair, n)
		for i := range p {
			p[i] = pair()
		}
		return p
	}
	return &data.TextSet{Name: "synthetic", Train: mk(nTrain), Val: mk(nVal), Test: mk(nTest),
		Classes: []string{"a", "b", "c", "d"}, Source: "generated", Hash: "0123456789abcdef",
		Stats: data.TextStats{Read: nTrain + nVal + nTest, Kept: nTrain + nVal + nTest}}
}

func tinyTextOptions(dir string) TextOptions {
	o := QuickTextOptions("jsonl:synthetic.jsonl")
	o.RunsDir, o.OutDir = filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	o.Model.Tokenizer = &text.Config{Buckets: 1 << 12}
	o.Model.BagDim, o.Model.Embed = 16, 32
	o.Train.Epochs, o.Train.BatchSize = 3, 64
	o.ProbeRows, o.ProbeIters = 600, 20
	o.Shortlists = []int{100}
	return o
}

// TestTextPipeline runs the text report end to end on a synthetic set,
// renders it again from results.json, and runs it once more to check that
// it reuses the checkpoints and refuses ones of another recipe.
func TestTextPipeline(t *testing.T) {
	if raceEnabled {
		t.Skip("trains four models: too slow under -race")
	}
	dir := t.TempDir()
	o := tinyTextOptions(dir)
	set := syntheticTextSet(1280, 200, 400)
	log := slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := RunTextOn(context.Background(), o, set, log)
	if err != nil {
		t.Fatal(err)
	}
	files, err := WriteText(o.OutDir, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"results.json", "report.md", "report.html", "claims.csv", "models.csv", "retrieval.csv", "retrieval_metrics.csv",
		"retrieval_plans.csv", "classification.csv", "adaptive.csv", "adaptive_curve.csv",
		"recall.png", "plans.png", "classification.png", "adaptive.png", "recall.svg", "plans.svg", "classification.svg", "adaptive.svg"}
	if len(files) != len(want) {
		t.Errorf("WriteText wrote %d files, want %d: %v", len(files), len(want), files)
	}
	for _, name := range want {
		if _, err := os.Stat(filepath.Join(o.OutDir, name)); err != nil {
			t.Error(err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(o.OutDir, "report.html"))
	if n := strings.Count(string(html), `src="data:image/png;base64,`); n != 4 {
		t.Errorf("report.html embeds %d PNGs, want 4", n)
	}
	if len(r.Models) != 4 || len(r.Retrieval) != 3 || len(r.Fusion) != 3 || len(r.Classification) != 3 || r.Adaptive == nil ||
		len(r.Claims) != 4 || len(r.Plans.Exact) != 3 || len(r.Plans.Funnels) == 0 || len(r.Plans.Adaptive) == 0 {
		t.Fatalf("results: %d models, %d dims, %d fusion, %d class rows, adaptive %v, %d claims, %d/%d/%d plans",
			len(r.Models), len(r.Retrieval), len(r.Fusion), len(r.Classification), r.Adaptive != nil, len(r.Claims),
			len(r.Plans.Exact), len(r.Plans.Funnels), len(r.Plans.Adaptive))
	}
	t.Logf("claims: %+v", r.Claims)
	// Chance is 10/400 for recall@10 and 1/4 for the sections.
	full := r.Retrieval[len(r.Retrieval)-1]
	if full.MRL.Recall10 < 0.3 || full.FF.Recall10 < 0.3 || r.BM25.Recall10 < 0.5 {
		t.Errorf("recall@10 at full size: MRL %.3f, FF %.3f, BM25 %.3f; want ≥ 0.3, 0.3, 0.5", full.MRL.Recall10, full.FF.Recall10, r.BM25.Recall10)
	}
	if full.Trunc != full.FF {
		t.Errorf("truncation at full size %+v differs from FF-%d %+v: they are the same embedding", full.Trunc, full.Dim, full.FF)
	}
	if c := r.Classification[len(r.Classification)-1]; c.MRL < 0.5 {
		t.Errorf("section top-1 of MRL's probe at full size %.3f, want ≥ 0.5", c.MRL)
	}
	if r.Setup.Hash != set.Hash || r.Setup.Corpus != 400 || r.Setup.Queries != 400 || r.Setup.Classes != 4 {
		t.Errorf("setup %+v", r.Setup)
	}

	// Rendering from results.json gives the same report.
	md1, _ := os.ReadFile(filepath.Join(o.OutDir, "report.md"))
	out2 := filepath.Join(dir, "rendered")
	if _, err := Render(filepath.Join(o.OutDir, "results.json"), out2); err != nil {
		t.Fatal(err)
	}
	if md2, _ := os.ReadFile(filepath.Join(out2, "report.md")); !bytes.Equal(md1, md2) {
		t.Error("report.md rendered from results.json differs from the one written by the run")
	}

	r2, err := RunTextOn(context.Background(), o, set, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r2.Models {
		if !m.Cached {
			t.Errorf("second run trained %s again; want it loaded from %s", m.Label, m.Path)
		}
	}
	if r2.Retrieval[0].MRL != r.Retrieval[0].MRL {
		t.Errorf("cached models give %+v, the trained ones %+v", r2.Retrieval[0].MRL, r.Retrieval[0].MRL)
	}
	o.Train.Epochs = 4
	if _, err := RunTextOn(context.Background(), o, set, log); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "epochs 3, want 4") {
		t.Errorf("run with another recipe over the cache: err = %v, want ErrStale naming the epochs", err)
	}
	set.Hash = "fedcba9876543210"
	o.Train.Epochs = 3
	if _, err := RunTextOn(context.Background(), o, set, log); !errors.Is(err, ErrStale) {
		t.Errorf("run on other data over the cache: err = %v, want ErrStale", err)
	}
}

func TestTextOptionsValidate(t *testing.T) {
	for _, o := range []TextOptions{DefaultTextOptions(data.DebianDescriptions), QuickTextOptions("jsonl:x.jsonl")} {
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(%s quick=%v) = %v, want nil", o.Data, o.Quick, err)
		}
	}
	o := DefaultTextOptions("mnist")
	o.ProbeIters, o.Shortlists, o.HeldOutFrac, o.Funnels = 0, []int{50}, 0, []string{"16:200,8:10"}
	o.Model.Arch = "mlp"
	err := o.Validate()
	if err == nil {
		t.Fatal("Validate of bad options = nil, want an error")
	}
	for _, want := range []string{"not a text set", "ProbeIters", "Shortlists", "HeldOutFrac", "does not increase", "Model.Arch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q: %v", want, err)
		}
	}
}

func TestTextFunnels(t *testing.T) {
	var got []string
	for _, p := range TextFunnels([]int{8, 16, 32, 64, 128, 256, 512}) {
		got = append(got, p.String())
	}
	want := []string{
		"8:1000,16:400,32:200,64:100,128:100,256:100,512:100",
		"16:1000,32:400,64:200,128:100,256:100,512:100",
		"32:1000,64:400,128:200,256:100,512:100",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("TextFunnels(8..512) = %v, want %v", got, want)
	}
}
