package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gomrl/mrl/bm25"
	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

// RunText loads o.Data with o.Split, keeps the first TrainPairs, ValPairs
// and TestPairs of its splits, and calls RunTextOn. log may be nil.
func RunText(ctx context.Context, o TextOptions, log *slog.Logger) (*TextResults, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log.Info("loading text data", "data", o.Data)
	set, err := data.LoadText(ctx, o.Data, o.Split)
	if err != nil {
		return nil, err
	}
	head := func(p []data.TextPair, n int) []data.TextPair {
		if n > 0 && n < len(p) {
			return p[:n]
		}
		return p
	}
	set.Train, set.Val, set.Test = head(set.Train, o.TrainPairs), head(set.Val, o.ValPairs), head(set.Test, o.TestPairs)
	log.Info("text data", "name", set.Name, "sha256", set.Hash, "train", len(set.Train), "val", len(set.Val), "test", len(set.Test),
		"read", set.Stats.Read, "kept", set.Stats.Kept)
	return RunTextOn(ctx, o, set, log)
}

// textSpec is a model of the text report: MRL (ffDim 0) or FF-ffDim.
type textSpec struct {
	name, label string
	ffDim       int
}

func textSpecs(o TextOptions) []textSpec {
	s := []textSpec{{"mrl", "MRL", 0}}
	for _, k := range o.nesting() {
		s = append(s, textSpec{fmt.Sprintf("ff%d", k), fmt.Sprintf("FF-%d", k), k})
	}
	return s
}

// config returns the model config of s: MRL's, or FF-k's (the same
// encoder with a k-dim output and the loss at k only).
func (o TextOptions) config(s textSpec) model.Config {
	c := o.Model
	if s.ffDim > 0 {
		c.Embed = s.ffDim
		c.Nesting = []int{s.ffDim}
		c.LossWeights = nil
		return c.WithDefaults()
	}
	c = c.WithDefaults()
	if len(o.SmallDimWeights) > 0 {
		c.LossWeights = make([]float64, len(c.Nesting))
		for g := range c.LossWeights {
			c.LossWeights[g] = 1
			if g < len(o.SmallDimWeights) {
				c.LossWeights[g] = o.SmallDimWeights[g]
			}
		}
	}
	return c
}

// recipe returns the training options as a checkpoint records them.
func (o TextOptions) recipe() train.Options {
	t := o.Train
	t.ValFrac = o.Split.WithDefaults().ValFrac
	return recipe(t)
}

// dataName is the name recorded in the checkpoints: the spec, the pair
// limits and the first 12 hex digits of the data's hash, so a checkpoint
// trained on other lists (a Debian point release) is not reused.
func (o TextOptions) dataName(set *data.TextSet) string {
	s := o.Data
	if o.TrainPairs > 0 {
		s += fmt.Sprintf("[:%d]", o.TrainPairs)
	}
	if set.Hash != "" {
		s += "@" + set.Hash[:min(12, len(set.Hash))]
	}
	return s
}

// obtainText returns the model of s, loaded, resumed or trained as obtain
// does for image models.
func obtainText(ctx context.Context, o TextOptions, s textSpec, set *data.TextSet, log *slog.Logger) (*model.Model, ModelInfo, error) {
	path := filepath.Join(o.RunsDir, s.name+".ckpt")
	want := o.config(s)
	wantOpts := o.recipe()
	dataName := o.dataName(set)
	heads := "mrl"
	if s.ffDim > 0 {
		heads = "ff"
	}
	info := ModelInfo{Name: s.name, Label: s.label, Heads: heads, FFDim: s.ffDim, Path: path}
	var tr *train.Trainer
	if _, err := os.Stat(path); err == nil && !o.Retrain {
		cf, err := checkpoint.Load(path)
		if err != nil {
			return nil, info, err
		}
		m, st, err := train.FromFile(cf)
		if err != nil {
			return nil, info, fmt.Errorf("%s: %w", path, err)
		}
		if err := checkCached(path, m.Config, st, want, wantOpts, dataName, o.ModelSeed); err != nil {
			return nil, info, err
		}
		if complete(st) {
			info.Cached = true
			fill(&info, m, st.History, st.GlobalStep)
			log.Info("loaded cached model", "model", s.label, "checkpoint", path, "epochs", st.Epoch)
			return m, info, nil
		}
		if tr, _, err = train.Resume(cf, len(set.Train), 0); err != nil {
			return nil, info, fmt.Errorf("resume %s: %w", path, err)
		}
		log.Info("resuming incomplete checkpoint", "model", s.label, "checkpoint", path, "epoch", st.Epoch, "step_in_epoch", st.StepInEpoch)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, info, err
	} else {
		m, err := model.New(want, o.ModelSeed)
		if err != nil {
			return nil, info, err
		}
		opts := o.Train
		opts.ValFrac = wantOpts.ValFrac
		if tr, err = train.New(m, opts, len(set.Train)); err != nil {
			return nil, info, err
		}
		log.Info("training", "model", s.label, "describe", m.Describe(), "train_pairs", len(set.Train), "steps_per_epoch", tr.StepsPerEpoch(), "checkpoint", path)
	}
	if o.Train.Threads > 0 {
		tr.Options.Threads = o.Train.Threads
	}
	if err := os.MkdirAll(o.RunsDir, 0o755); err != nil {
		return nil, info, err
	}
	tr.Log = log.With("model", s.label)
	return trainSaved(ctx, tr, func(ctx context.Context) error { return tr.RunPairs(ctx, set.Train, set.Val) }, path, dataName, o.ModelSeed, s.label, info, log)
}

// RunTextOn obtains the models (trained on set.Train, validated per epoch
// on set.Val) and evaluates them on set.Test.
func RunTextOn(ctx context.Context, o TextOptions, set *data.TextSet, log *slog.Logger) (*TextResults, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if len(set.Train) < o.Train.WithDefaults().BatchSize || len(set.Test) == 0 {
		return nil, fmt.Errorf("report: text set %s: %d training pairs (batch %d) and %d test pairs: too few", set.Name, len(set.Train), o.Train.WithDefaults().BatchSize, len(set.Test))
	}
	start := time.Now()
	res := &TextResults{Kind: KindText, Timings: map[string]string{}}
	stage := func(name string, t0 time.Time) {
		res.Timings[name] = time.Since(t0).Round(time.Millisecond).String()
		log.Info("stage done", "stage", name, "seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
	}
	t0 := time.Now()
	e := &textEval{o: o, set: set, res: res, log: log, dims: o.nesting(), ff: map[int]*model.Model{}}
	for _, s := range textSpecs(o) {
		m, info, err := obtainText(ctx, o, s, set, log)
		if err != nil {
			return nil, err
		}
		if s.ffDim == 0 {
			e.mrl = m
		} else {
			e.ff[s.ffDim] = m
		}
		res.Models = append(res.Models, info)
	}
	stage("models", t0)
	e.setup()
	if err := runStages(ctx, log, stage, []evalStage{
		{"embed", e.embed},
		{"retrieval", e.retrieval},
		{"plans", e.plans},
		{"classification", e.classification},
		{"adaptive", e.adaptive},
	}); err != nil {
		return nil, err
	}
	res.Claims = TextClaims(res, o.Claims)
	res.Setup.Seconds = time.Since(start).Seconds()
	return res, nil
}

// textEmb are one model's embeddings (stride d): the test queries, the
// test documents, and the first nProbe training documents and queries.
type textEmb struct {
	q, docs, trDocs, trQ []float32
	d                    int
}

type textEval struct {
	o    TextOptions
	set  *data.TextSet
	res  *TextResults
	log  *slog.Logger
	dims []int
	mrl  *model.Model
	ff   map[int]*model.Model

	nQ, nD, nProbe, D, classes int
	eMRL, eFull                textEmb         // eFull: FF-D, the non-Matryoshka encoder
	eFF                        map[int]textEmb // FF-k
	labels, trLabels           []int32         // test and probe-train documents' labels
	mrlProbes, ffProbes        map[int]*eval.Probe
}

func (e *textEval) setup() {
	o, set := e.o, e.set
	e.D = e.mrl.Config.Embed
	e.nD = len(set.Test)
	e.nQ = e.nD
	if o.Queries > 0 {
		e.nQ = min(e.nD, o.Queries)
	}
	e.nProbe = len(set.Train)
	if o.ProbeRows > 0 {
		e.nProbe = min(e.nProbe, o.ProbeRows)
	}
	e.classes = len(set.Classes)
	for _, p := range set.Test {
		e.labels = append(e.labels, p.Label)
	}
	for _, p := range set.Train[:e.nProbe] {
		e.trLabels = append(e.trLabels, p.Label)
	}
	fit, ev := eval.HeldOutSplit(e.nD, o.HeldOutFrac, o.Seed)
	r, _ := json.Marshal(o.recipe())
	e.res.Setup = TextSetup{Data: o.Data, Source: set.Source, Hash: set.Hash, Stats: set.Stats, Quick: o.Quick,
		Model: e.mrl.Describe(), Nesting: e.dims, LossWeights: e.mrl.Config.LossWeights, Embed: e.D, Recipe: string(r),
		TrainPairs: len(set.Train), ValPairs: len(set.Val), TestPairs: len(set.Test), Queries: e.nQ, Corpus: e.nD,
		Classes: e.classes, ProbeRows: e.nProbe, ProbeIters: o.ProbeIters, ProbeL2: o.ProbeL2, FitRows: len(fit), EvalRows: len(ev),
		BM25: describeBM25(o.BM25), Thresholds: o.Claims}
}

func describeBM25(b bm25.Options) string {
	b = b.WithDefaults()
	return fmt.Sprintf("k1 %g, b %g, stemming %v, stop words %v", b.K1, b.B, b.Analyzer.Stem, b.Analyzer.StopWords)
}

const textBatch = 512

func (e *textEval) embedModel(m *model.Model) (textEmb, error) {
	var qs, ds, tq, td []string
	for _, p := range e.set.Test[:e.nQ] {
		qs = append(qs, p.Query)
	}
	for _, p := range e.set.Test {
		ds = append(ds, p.Doc)
	}
	for _, p := range e.set.Train[:e.nProbe] {
		tq, td = append(tq, p.Query), append(td, p.Doc)
	}
	x := textEmb{d: m.Config.Embed}
	for _, s := range []struct {
		dst   *[]float32
		texts []string
	}{{&x.q, qs}, {&x.docs, ds}, {&x.trDocs, td}, {&x.trQ, tq}} {
		v, err := m.EmbedTexts(s.texts, textBatch)
		if err != nil {
			return x, err
		}
		*s.dst = v
	}
	return x, nil
}

func (e *textEval) embed() error {
	var err error
	if e.eMRL, err = e.embedModel(e.mrl); err != nil {
		return err
	}
	e.eFF = map[int]textEmb{}
	for _, k := range e.dims {
		if e.eFF[k], err = e.embedModel(e.ff[k]); err != nil {
			return fmt.Errorf("FF-%d: %w", k, err)
		}
		e.log.Info("embedded", "model", fmt.Sprintf("FF-%d", k), "queries", e.nQ, "docs", e.nD, "train_docs", e.nProbe)
	}
	e.eFull = e.eFF[e.D]
	if e.eFull.q == nil {
		return fmt.Errorf("no FF model at the full size %d", e.D)
	}
	return nil
}

// pcaEmb returns the full-size FF embedding projected on its principal
// components, fitted on the training queries and documents.
func (e *textEval) pcaEmb() (textEmb, error) {
	x := e.eFull
	fitRows := append(append([]float32(nil), x.trDocs...), x.trQ...)
	p, err := eval.FitPCA(fitRows, 2*e.nProbe, e.D, e.D)
	if err != nil {
		return textEmb{}, err
	}
	return textEmb{q: p.Project(x.q, e.nQ, e.D), docs: p.Project(x.docs, e.nD, e.D), trDocs: p.Project(x.trDocs, e.nProbe, e.D), d: e.D}, nil
}

func (e *textEval) pairSet(x textEmb) (*eval.PairSet, error) {
	return eval.NewPairSet(x.q, e.nQ, x.docs, e.nD, x.d, nil)
}

func (e *textEval) retrieval() error {
	mrlSet, err := e.pairSet(e.eMRL)
	if err != nil {
		return err
	}
	truncSet, err := e.pairSet(e.eFull)
	if err != nil {
		return err
	}
	trunc, err := truncSet.Exact(e.dims)
	if err != nil {
		return err
	}
	pe, err := e.pcaEmb()
	if err != nil {
		return err
	}
	pcaSet, err := e.pairSet(pe)
	if err != nil {
		return err
	}
	pca, err := pcaSet.Exact(e.dims)
	if err != nil {
		return err
	}
	// BM25 over the test descriptions.
	var docs, queries []string
	for _, p := range e.set.Test {
		docs = append(docs, p.Doc)
	}
	for _, p := range e.set.Test[:e.nQ] {
		queries = append(queries, p.Query)
	}
	bx, err := bm25.New(docs, e.o.BM25)
	if err != nil {
		return err
	}
	bhits := bx.SearchBatch(queries, eval.PairDepth)
	if e.res.BM25, err = eval.MeanPairMetrics(bhits, nil); err != nil {
		return err
	}
	e.log.Info("bm25", "recall@10", pct(e.res.BM25.Recall10), "mrr@10", pct(e.res.BM25.MRR10))
	for g, m := range e.dims {
		hits, err := mrlSet.Rank(m, eval.PairDepth)
		if err != nil {
			return err
		}
		row := TextRetrievalRow{Dim: m, Trunc: trunc[g], PCA: pca[g]}
		if row.MRL, err = eval.MeanPairMetrics(hits, nil); err != nil {
			return err
		}
		row.MRL.Dim = m
		fused, err := eval.ReciprocalRankFusion(eval.DefaultRRFK, eval.PairDepth, bhits, hits)
		if err != nil {
			return err
		}
		fm, err := eval.MeanPairMetrics(fused, nil)
		if err != nil {
			return err
		}
		fm.Dim = m
		e.res.Fusion = append(e.res.Fusion, fm)
		ffSet, err := e.pairSet(e.eFF[m])
		if err != nil {
			return err
		}
		ff, err := ffSet.Exact([]int{m})
		if err != nil {
			return err
		}
		row.FF = ff[0]
		e.log.Info("retrieval recall@10", "dim", m, "mrl", pct(row.MRL.Recall10), "ff", pct(row.FF.Recall10), "trunc", pct(row.Trunc.Recall10),
			"pca", pct(row.PCA.Recall10), "fusion", pct(fm.Recall10))
		e.res.Retrieval = append(e.res.Retrieval, row)
	}
	return nil
}

func (e *textEval) plans() error {
	s, err := e.pairSet(e.eMRL)
	if err != nil {
		return err
	}
	run := func(ps []index.Plan) ([]eval.PairPlanMetrics, error) {
		var out []eval.PairPlanMetrics
		for _, p := range ps {
			pm, err := s.Run(p)
			if err != nil {
				return nil, err
			}
			out = append(out, pm)
		}
		return out, nil
	}
	var exact []index.Plan
	for _, m := range e.dims {
		exact = append(exact, index.Plan{{Dim: m, Keep: eval.PairDepth}})
	}
	funnels, err := e.o.funnelPlans()
	if err != nil {
		return err
	}
	pl := &e.res.Plans
	if pl.Exact, err = run(exact); err != nil {
		return err
	}
	if pl.Funnels, err = run(funnels); err != nil {
		return err
	}
	for _, f := range pl.Funnels {
		e.log.Info("funnel", "plan", f.Plan, "recall@10", pct(f.Metrics.Recall10), "mflops", fmt.Sprintf("%.2f", float64(f.FLOPs)/1e6))
	}
	pl.Adaptive, err = run(eval.AdaptiveGrid(e.o.textShortlistDims(), e.o.Shortlists, e.dims, eval.PairDepth))
	return err
}

// probe fits a probe on the m-prefixes of x's training documents and
// returns it with its test top-1.
func (e *textEval) probe(x textEmb, m int) (*eval.Probe, float64, error) {
	po := eval.DefaultProbeOptions()
	po.MaxIter, po.L2 = e.o.ProbeIters, e.o.ProbeL2
	p, err := eval.FitProbe(x.trDocs, e.trLabels, e.nProbe, x.d, m, e.classes, po)
	if err != nil {
		return nil, 0, err
	}
	return p, p.Accuracy(x.docs, e.labels, e.nD, x.d), nil
}

func (e *textEval) classification() error {
	if e.classes < 2 {
		e.log.Info("classification skipped: the text set has no labels")
		return nil
	}
	e.mrlProbes, e.ffProbes = map[int]*eval.Probe{}, map[int]*eval.Probe{}
	for _, m := range e.dims {
		row := TextClassRow{Dim: m}
		var err error
		if e.mrlProbes[m], row.MRL, err = e.probe(e.eMRL, m); err != nil {
			return err
		}
		if e.ffProbes[m], row.FF, err = e.probe(e.eFF[m], m); err != nil {
			return err
		}
		if _, row.Trunc, err = e.probe(e.eFull, m); err != nil {
			return err
		}
		e.log.Info("classification", "dim", m, "mrl", pct(row.MRL), "ff", pct(row.FF), "trunc", pct(row.Trunc))
		e.res.Classification = append(e.res.Classification, row)
	}
	return nil
}

// adaptive runs the classification cascade over MRL's probes: thresholds
// fitted on the HeldOutFrac part of the test documents, measured on the
// rest, against FF-k's probes.
func (e *textEval) adaptive() error {
	if e.mrlProbes == nil {
		return nil
	}
	o, n := e.o, e.nD
	fit, ev := eval.HeldOutSplit(n, o.HeldOutFrac, o.Seed)
	yFit, yEv := pick(e.labels, fit), pick(e.labels, ev)
	logits := make([][]float32, len(e.dims))
	for g, m := range e.dims {
		logits[g] = e.mrlProbes[m].Scores(e.eMRL.docs, n, e.eMRL.d)
	}
	conf, err := eval.NewConfidences(logits, n, e.classes, e.dims)
	if err != nil {
		return err
	}
	var ffFit, ffEv []DimAcc
	for _, k := range e.dims {
		pred := e.ffProbes[k].Predict(e.eFF[k].docs, n, k)
		ffFit = append(ffFit, DimAcc{k, accuracyOf(pred, e.labels, fit)})
		ffEv = append(ffEv, DimAcc{k, accuracyOf(pred, e.labels, ev)})
	}
	bestFit := ffFit[0]
	for _, f := range ffFit {
		if f.Accuracy > bestFit.Accuracy {
			bestFit = f
		}
	}
	grid := eval.ThresholdGrid(0.1, 1, o.ThresholdSteps)
	cFit, cEv := conf.Subset(fit), conf.Subset(ev)
	th := cFit.FitThresholds(yFit, grid)
	r := AdaptiveResult{Model: "MRL", Cascade: cEv.Cascade(yEv, th), Curve: cEv.Curve(yEv, th), Oracle: cEv.Oracle(yEv), FF: ffEv}
	sweep := cEv.Sweep(yEv, grid)
	r.Front = eval.ParetoFront(append(append([]eval.CurvePoint(nil), sweep...), r.Curve...))
	for g, m := range e.dims {
		r.Heads = append(r.Heads, DimAcc{m, accuracyOf(cEv.Pred[g], yEv, seq(len(ev)))})
	}
	// The cheapest operating point reaching the best FF probe on the fit
	// rows (no tolerance: the text claims do not test it).
	fitPts := append(cFit.Curve(yFit, th), cFit.Sweep(yFit, grid)...)
	evPts := append(append([]eval.CurvePoint(nil), r.Curve...), sweep...)
	best := -1
	for i, p := range fitPts {
		if p.Accuracy >= bestFit.Accuracy && (best < 0 || p.ExpectedDim < fitPts[best].ExpectedDim ||
			(p.ExpectedDim == fitPts[best].ExpectedDim && p.Accuracy > fitPts[best].Accuracy)) {
			best = i
		}
	}
	if best >= 0 {
		p := evPts[best]
		r.Matched = &p
	}
	e.log.Info("adaptive classification", "accuracy", pct(r.Cascade.Accuracy), "expected_dim", fmt.Sprintf("%.1f", r.Cascade.ExpectedDim), "oracle", pct(r.Oracle.Accuracy))
	e.res.Adaptive = &r
	return nil
}
