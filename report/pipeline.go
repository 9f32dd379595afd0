package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/model"
)

// Run loads o.Data, keeps the first TrainRows and TestRows rows, holds out
// the seeded validation split and calls RunOn. log may be nil
// (slog.Default()).
func Run(ctx context.Context, o Options, log *slog.Logger) (*Results, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log.Info("loading data", "data", o.Data)
	full, test, err := data.Load(o.Data)
	if err != nil {
		return nil, err
	}
	if o.TrainRows > 0 {
		full = full.Head(o.TrainRows)
	}
	if o.TestRows > 0 {
		test = test.Head(o.TestRows)
	}
	trainSet, val := full.Split(o.ValFrac, o.Train.WithDefaults().Seed)
	return RunOn(ctx, o, trainSet, val, test, log)
}

// RunOn obtains the models (see Options.RunsDir) trained on trainSet
// (validated per epoch on val, which may be empty) and evaluates them on
// test.
func RunOn(ctx context.Context, o Options, trainSet, val, test *data.Dataset, log *slog.Logger) (*Results, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	res := &Results{Timings: map[string]string{}}
	stage := func(name string, t0 time.Time) {
		res.Timings[name] = time.Since(t0).Round(time.Millisecond).String()
		log.Info("stage done", "stage", name, "seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
	}

	t0 := time.Now()
	models := map[string]*model.Model{}
	ff := map[int]*model.Model{}
	for _, s := range modelSpecs(o) {
		m, info, err := obtain(ctx, o, s, trainSet, val, log)
		if err != nil {
			return nil, err
		}
		models[s.name] = m
		if s.heads == "ff" {
			ff[s.ffDim] = m
		}
		res.Models = append(res.Models, info)
	}
	stage("models", t0)

	e := &evaluator{o: o, res: res, trainSet: trainSet, test: test, log: log,
		mrl: models["mrl"], mrle: models["mrl-e"], ff: ff, dims: o.nesting()}
	e.setup(val)
	if err := runStages(ctx, log, stage, []evalStage{
		{"embed", e.embed},
		{"classification", e.classification},
		{"nn", e.nn},
		{"interpolation", e.interpolation},
		{"adaptive", e.adaptive},
		{"retrieval", e.retrieval},
		{"few-shot", e.fewShot},
	}); err != nil {
		return nil, err
	}
	res.Claims = Claims(res, o.Claims)
	res.Setup.Seconds = time.Since(start).Seconds()
	return res, nil
}

// emb are one model's embeddings: n train rows and the test rows, stride d.
type emb struct {
	tr, te []float32
	d      int
}

type evaluator struct {
	o              Options
	res            *Results
	trainSet, test *data.Dataset
	log            *slog.Logger
	mrl, mrle      *model.Model
	ff             map[int]*model.Model
	dims           []int

	nTrain, nProbe, nDB, nNN, nQ int
	D, classes                   int

	eMRL, eMRLE, eFull emb         // eFull: the full-size FF model
	eFF                map[int]emb // FF-k's k-prefix
	probe              eval.ProbeOptions
}

func (e *evaluator) setup(val *data.Dataset) {
	o := e.o
	limit := func(n, lim int) int {
		if lim > 0 {
			return min(n, lim)
		}
		return n
	}
	e.D = e.mrl.Config.Embed
	e.classes = e.mrl.Config.Classes
	e.nProbe = limit(e.trainSet.N, o.ProbeRows)
	e.nDB = limit(e.trainSet.N, o.DBRows)
	e.nTrain = max(e.nProbe, e.nDB)
	e.nNN = limit(e.test.N, o.NNQueries)
	e.nQ = limit(e.test.N, o.Queries)
	e.probe = eval.DefaultProbeOptions()
	e.probe.MaxIter, e.probe.L2 = o.ProbeIters, o.ProbeL2
	fit, ev := eval.HeldOutSplit(e.test.N, o.HeldOutFrac, o.Seed)
	r := o.Train
	r.ValFrac = o.ValFrac
	recipe, _ := json.Marshal(recipe(r))
	e.res.Setup = Setup{Data: o.Data, Quick: o.Quick, Nesting: e.dims, Embed: e.D, Arch: e.mrl.Config.Arch.String(), Recipe: string(recipe),
		TrainRows: e.trainSet.N, ValRows: val.N, TestRows: e.test.N, ProbeRows: e.nProbe, ProbeIters: o.ProbeIters, ProbeL2: o.ProbeL2,
		DBRows: e.nDB, Queries: e.nQ, Shots: o.Shots, Seeds: o.FewShotSeeds, FitRows: len(fit), EvalRows: len(ev), Thresholds: o.Claims}
}

const batch = 512

func (e *evaluator) embedModel(m *model.Model) emb {
	return emb{tr: m.EmbedAll(e.trainSet.X, e.nTrain, batch), te: m.EmbedAll(e.test.X, e.test.N, batch), d: m.Config.Embed}
}

// prefix returns an n×k copy of the first k dims of n rows of x (stride d).
func prefix(x []float32, n, d, k int) []float32 {
	out := make([]float32, n*k)
	for i := 0; i < n; i++ {
		copy(out[i*k:(i+1)*k], x[i*d:i*d+k])
	}
	return out
}

func (e *evaluator) embed() error {
	e.eMRL = e.embedModel(e.mrl)
	e.eMRLE = e.embedModel(e.mrle)
	e.eFF = map[int]emb{}
	for _, k := range e.dims {
		x := e.embedModel(e.ff[k])
		if k == e.D {
			e.eFull = x
		}
		e.eFF[k] = emb{tr: prefix(x.tr, e.nTrain, x.d, k), te: prefix(x.te, e.test.N, x.d, k), d: k}
		e.log.Info("embedded", "model", fmt.Sprintf("FF-%d", k), "train_rows", e.nTrain, "test_rows", e.test.N)
	}
	if e.eFull.tr == nil {
		return fmt.Errorf("no FF model at the full size %d", e.D)
	}
	return nil
}

// probeAcc fits a probe on the m-prefixes of the first nProbe train rows of
// x and returns its test top-1.
func (e *evaluator) probeAcc(x emb, m int) (float64, error) {
	p, err := eval.FitProbe(x.tr, e.trainSet.Y, e.nProbe, x.d, m, e.classes, e.probe)
	if err != nil {
		return 0, err
	}
	return p.Accuracy(x.te, e.test.Y, e.test.N, x.d), nil
}

func (e *evaluator) classification() error {
	heads := func(m *model.Model) ([]float64, error) {
		a, err := m.Evaluate(e.test.X, e.test.Y, e.test.N, batch)
		return a.Top1, err
	}
	mrlTop, err := heads(e.mrl)
	if err != nil {
		return err
	}
	mrleTop, err := heads(e.mrle)
	if err != nil {
		return err
	}
	pca, err := eval.FitPCA(e.eFull.tr, e.nProbe, e.D, e.D)
	if err != nil {
		return err
	}
	svd := emb{tr: pca.Project(e.eFull.tr, e.nProbe, e.D), te: pca.Project(e.eFull.te, e.test.N, e.D), d: e.D}
	for g, m := range e.dims {
		row := ClassRow{Dim: m, MRL: mrlTop[g], MRLE: mrleTop[g]}
		ffTop, err := heads(e.ff[m])
		if err != nil {
			return err
		}
		row.FF = ffTop[0]
		for _, p := range []struct {
			dst *float64
			x   emb
		}{{&row.MRLProbe, e.eMRL}, {&row.MRLEProbe, e.eMRLE}, {&row.FFProbe, e.eFF[m]}, {&row.SVD, svd}, {&row.RandLP, e.eFull}} {
			if *p.dst, err = e.probeAcc(p.x, m); err != nil {
				return err
			}
		}
		e.log.Info("classification", "dim", m, "mrl", pct(row.MRL), "ff", pct(row.FF), "mrl_probe", pct(row.MRLProbe), "svd", pct(row.SVD), "rand_lp", pct(row.RandLP))
		e.res.Classification = append(e.res.Classification, row)
	}
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.2f", 100*x) }

func (e *evaluator) nn() error {
	var err error
	oneNN := func(x emb, m int) float64 {
		acc, e1 := eval.OneNNAccuracy(x.tr, e.trainSet.Y, e.nDB, x.d, x.te, e.test.Y, e.nNN, m)
		err = cmp.Or(err, e1)
		return acc
	}
	for _, m := range e.dims {
		row := NNRow{Dim: m, MRL: oneNN(e.eMRL, m), MRLE: oneNN(e.eMRLE, m), FF: oneNN(e.eFF[m], m), RandFS: oneNN(e.eFull, m)}
		if err != nil {
			return err
		}
		e.log.Info("1-NN", "dim", m, "mrl", pct(row.MRL), "ff", pct(row.FF), "rand_fs", pct(row.RandFS))
		e.res.NN = append(e.res.NN, row)
	}
	return nil
}

// InterpolationDims returns the nesting dims and the midpoints
// (a+b)/2 of consecutive ones (8, 12, 16, 24, 32, 48, ... for powers of
// two), sorted.
func InterpolationDims(dims []int) []int {
	var out []int
	for i, m := range dims {
		if i > 0 {
			if mid := (dims[i-1] + m) / 2; mid > dims[i-1] && mid < m {
				out = append(out, mid)
			}
		}
		out = append(out, m)
	}
	return out
}

func (e *evaluator) interpolation() error {
	for _, m := range InterpolationDims(e.dims) {
		row := InterpRow{Dim: m, Nested: slices.Contains(e.dims, m)}
		if row.Nested {
			c := e.res.Classification[slices.Index(e.dims, m)]
			row.MRL, row.MRLE = c.MRLProbe, c.MRLEProbe
		} else {
			var err error
			if row.MRL, err = e.probeAcc(e.eMRL, m); err != nil {
				return err
			}
			if row.MRLE, err = e.probeAcc(e.eMRLE, m); err != nil {
				return err
			}
			e.log.Info("interpolation", "dim", m, "mrl_probe", pct(row.MRL), "mrl_e_probe", pct(row.MRLE))
		}
		e.res.Interpolation = append(e.res.Interpolation, row)
	}
	return nil
}

// accuracyOf is the fraction of rows idx with pred[i] == labels[i].
func accuracyOf(pred, labels []int32, idx []int) float64 {
	if len(idx) == 0 {
		return 0
	}
	ok := 0
	for _, i := range idx {
		if pred[i] == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(idx))
}

func pick(y []int32, idx []int) []int32 {
	out := make([]int32, len(idx))
	for j, i := range idx {
		out[j] = y[i]
	}
	return out
}

func (e *evaluator) adaptive() error {
	n, o := e.test.N, e.o
	fit, ev := eval.HeldOutSplit(n, o.HeldOutFrac, o.Seed)
	yFit, yEv := pick(e.test.Y, fit), pick(e.test.Y, ev)
	// The FF models' predictions on both parts.
	var ffFit, ffEv []DimAcc
	for _, k := range e.dims {
		c, err := eval.NewConfidences(e.ff[k].LogitsAll(e.test.X, n, batch), n, e.classes, []int{k})
		if err != nil {
			return err
		}
		ffFit = append(ffFit, DimAcc{k, accuracyOf(c.Pred[0], e.test.Y, fit)})
		ffEv = append(ffEv, DimAcc{k, accuracyOf(c.Pred[0], e.test.Y, ev)})
	}
	bestFit := slices.MaxFunc(ffFit, func(a, b DimAcc) int { return cmpFloat(a.Accuracy, b.Accuracy) })
	grid := eval.ThresholdGrid(0.1, 1, o.ThresholdSteps)
	for _, mm := range []struct {
		label string
		m     *model.Model
	}{{"MRL", e.mrl}, {"MRL-E", e.mrle}} {
		conf, err := eval.NewConfidences(mm.m.LogitsAll(e.test.X, n, batch), n, e.classes, e.dims)
		if err != nil {
			return err
		}
		cFit, cEv := conf.Subset(fit), conf.Subset(ev)
		th := cFit.FitThresholds(yFit, grid)
		r := AdaptiveResult{Model: mm.label, Cascade: cEv.Cascade(yEv, th), Curve: cEv.Curve(yEv, th), Oracle: cEv.Oracle(yEv), FF: ffEv}
		sweep := cEv.Sweep(yEv, grid)
		r.Front = eval.ParetoFront(append(slices.Clone(sweep), r.Curve...))
		for g, m := range e.dims {
			r.Heads = append(r.Heads, DimAcc{m, accuracyOf(cEv.Pred[g], yEv, seq(len(ev)))})
		}
		// The cheapest operating point reaching the best FF on the fit rows.
		target := bestFit.Accuracy - o.Claims.AdaptiveTol/100
		fitPts := append(cFit.Curve(yFit, th), cFit.Sweep(yFit, grid)...)
		evPts := append(slices.Clone(r.Curve), sweep...)
		best := -1
		for i, p := range fitPts {
			if p.Accuracy >= target && (best < 0 || p.ExpectedDim < fitPts[best].ExpectedDim ||
				(p.ExpectedDim == fitPts[best].ExpectedDim && p.Accuracy > fitPts[best].Accuracy)) {
				best = i
			}
		}
		if best >= 0 {
			p := evPts[best]
			r.Matched = &p
		}
		e.log.Info("adaptive classification", "model", mm.label, "accuracy", pct(r.Cascade.Accuracy), "expected_dim", fmt.Sprintf("%.1f", r.Cascade.ExpectedDim),
			"oracle", pct(r.Oracle.Accuracy))
		e.res.Adaptive = append(e.res.Adaptive, r)
	}
	return nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *evaluator) retrieval() error {
	o := e.o
	x := e.eMRL
	set, err := eval.NewRetrievalSet(x.tr, e.trainSet.Y, e.nDB, x.te, e.test.Y, e.nQ, x.d)
	if err != nil {
		return err
	}
	rr := RetrievalResult{Model: "MRL"}
	if rr.Exact, err = set.Exact(e.dims, o.Ks); err != nil {
		return err
	}
	ks := []int{10}
	for _, m := range e.dims {
		pm, err := set.Run(index.Plan{{Dim: m, Keep: 10}}, ks)
		if err != nil {
			return err
		}
		rr.ExactPlans = append(rr.ExactPlans, pm)
	}
	var ds []int
	for _, m := range e.dims[:len(e.dims)-1] {
		if m <= o.MaxShortlistDim {
			ds = append(ds, m)
		}
	}
	for _, p := range eval.AdaptiveGrid(ds, o.Shortlists, e.dims, 10) {
		pm, err := set.Run(p, ks)
		if err != nil {
			return err
		}
		rr.Adaptive = append(rr.Adaptive, pm)
	}
	plans, err := o.funnelPlans()
	if err != nil {
		return err
	}
	for _, p := range plans {
		pm, err := set.Run(p, ks)
		if err != nil {
			return err
		}
		m10, _ := map10(pm.Metrics)
		e.log.Info("funnel", "plan", pm.Plan, "map@10", pct(m10), "mflops", fmt.Sprintf("%.2f", float64(pm.FLOPs)/1e6))
		rr.Funnels = append(rr.Funnels, pm)
	}
	e.res.Retrieval = rr
	return nil
}

func (e *evaluator) fewShot() error {
	o := e.o
	dbY := e.trainSet.Y[:e.nDB]
	for _, s := range o.Shots {
		draws := make([][]int, o.FewShotSeeds)
		for j := range draws {
			draws[j] = eval.SampleShots(dbY, s, rand.New(rand.NewPCG(o.Seed, uint64(j))))
		}
		ncm := func(x emb, m int) float64 {
			var sum float64
			for _, idx := range draws {
				sum += eval.NCMAccuracy(x.tr, dbY, x.d, idx, x.te, e.test.Y, e.test.N, m)
			}
			return sum / float64(len(draws))
		}
		for _, m := range e.dims {
			row := FewShotRow{Shots: s, Dim: m, MRL: ncm(e.eMRL, m), MRLE: ncm(e.eMRLE, m), FF: ncm(e.eFF[m], m), RandFS: ncm(e.eFull, m)}
			e.res.FewShot = append(e.res.FewShot, row)
		}
		e.log.Info("few-shot", "shots", s, "mrl_min_dim", pct(e.res.FewShot[len(e.res.FewShot)-len(e.dims)].MRL))
	}
	return nil
}

// evalStage is one named step of a report's evaluation.
type evalStage struct {
	name string
	f    func() error
}

// runStages runs the stages in order, logging each and reporting its time
// to stage; it stops at the first error (wrapped with the stage's name)
// or when ctx is done.
func runStages(ctx context.Context, log *slog.Logger, stage func(string, time.Time), stages []evalStage) error {
	for _, st := range stages {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		log.Info("evaluating", "stage", st.name)
		if err := st.f(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		stage(st.name, t0)
	}
	return nil
}
