package index

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrNoPlan reports that no candidate plan meets a tuner's target.
var ErrNoPlan = errors.New("index: no plan meets the target")

// TuneOptions configures Tune. At least one target, TargetRecall or
// MaxFLOPs, must be set.
type TuneOptions struct {
	// K is the number of results the plan is for; recall is recall@K
	// against exact Flat search at the full dim D. Default 10 (capped at N).
	K int
	// TargetRecall is the mean recall@K the plan must reach on the
	// calibration queries, in (0, 1]; 0 means not used.
	TargetRecall float64
	// MaxFLOPs is the per-query budget in the cost model of Plan.FLOPs;
	// 0 means not used. With TargetRecall, the plan must meet both; alone,
	// Tune returns the plan of highest recall within it.
	MaxFLOPs int64
	// Dims are the candidate shortlisting dims, each in 1..D-1. Default:
	// the powers of two from 8 below D (from 1 when D <= 8): a shorter
	// prefix needs shortlists so long that their rerank costs more than
	// the scan saved.
	Dims []int
	// Keeps are the candidate shortlist sizes, capped at N; sizes below K
	// are dropped. Default 50, 100, 200, 400, 800, 1600.
	Keeps []int
	// MaxStages is the number of shortlisting stages before the full-dim
	// rerank, 1 or 2. Default 2.
	MaxStages int
	// MaxLatency is a per-query budget in mean wall-clock time of one
	// Funnel.Search on the calibration queries, measured on this machine
	// as Tune runs; 0 means not used. Combined with the other targets as
	// MaxFLOPs is.
	MaxLatency time.Duration
	// Knobs are the settings Tune tries for an approximate first searcher:
	// HNSW's ef or IVF's probe, each plan measured at each value through a
	// view (HNSW.WithEf, IVF.WithProbe), so the searcher itself is never
	// changed and may serve other searches meanwhile. nil keeps the
	// searcher's current setting. The chosen value is TuneResult.Knob: search
	// with first.WithEf(Knob) (or WithProbe) to get the measured recall.
	Knobs []int
}

// Validate reports every problem of o at once, wrapping ErrOptions. It
// does not know the vectors: Tune also checks the dims against D.
func (o TuneOptions) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if o.K < 0 {
		add("K %d is negative", o.K)
	}
	if o.TargetRecall < 0 || o.TargetRecall > 1 {
		add("TargetRecall %g outside 0..1", o.TargetRecall)
	}
	if o.MaxFLOPs < 0 {
		add("MaxFLOPs %d is negative", o.MaxFLOPs)
	}
	if o.MaxLatency < 0 {
		add("MaxLatency %v is negative", o.MaxLatency)
	}
	if o.TargetRecall == 0 && o.MaxFLOPs == 0 && o.MaxLatency == 0 {
		add("no target: set TargetRecall, MaxFLOPs or MaxLatency")
	}
	for _, x := range o.Knobs {
		if x < 1 {
			add("knob %d is not positive", x)
		}
	}
	for _, d := range o.Dims {
		if d < 1 {
			add("dim %d is not positive", d)
		}
	}
	for _, k := range o.Keeps {
		if k < 1 {
			add("keep %d is not positive", k)
		}
	}
	if o.MaxStages < 0 || o.MaxStages > 2 {
		add("MaxStages %d outside 1..2", o.MaxStages)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: tune: %s", ErrOptions, strings.Join(problems, "; "))
	}
	return nil
}

// PlanEval is one plan the tuner measured on the calibration queries.
type PlanEval struct {
	Plan    Plan
	Recall  float64       // mean recall@K against exact full-dim search
	FLOPs   int64         // per query, estimated (see Tune)
	Latency time.Duration // mean wall-clock time of one Funnel.Search
	Knob    int           // HNSW ef or IVF probe of the first stage; 0 for Flat
}

// TuneResult is the plan Tune chose, with its measurements, and every plan
// it evaluated in the order it evaluated them (cheapest first).
type TuneResult struct {
	PlanEval
	K int
	// Margin is how far above TargetRecall a plan's calibration recall had
	// to be to meet it: one standard error, √(t(1−t)/(nq·K)).
	Margin    float64
	Evaluated []PlanEval
}

// Tune picks a funnel plan for v from calibration queries: nq rows of calib
// with stride len(calib)/nq >= D. first searches the first stage (nil means
// NewFlat(v)); Tune varies the setting of an HNSW or IVF over v (see
// Knobs) and costs any other searcher as Flat.
//
// It computes the exact full-dim top-K of the queries once, then
// enumerates the exact plan "D:K", the one-stage plans "d:K',D:K" and
// (MaxStages 2) the two-stage plans "d1:K1,d2:K2,D:K" with d1 < d2 < D and
// K1 > K2, over opt.Dims and opt.Keeps, each at every opt.Knobs value, and
// measures them cheapest first by the cost model: Plan.FLOPs for a Flat
// first stage; for IVF the first term n·d_1 becomes
// Lists·min(d_c, d_1) + probe·⌈n/Lists⌉·d_1, and for HNSW
// max(ef, K_1)·2M·d_1 (about the distances a layer-0 beam computes); an
// HNSW first stage runs only at its graph dim, so d_1 is fixed to it.
//
// With TargetRecall it stops at the first plan that meets it (within
// MaxFLOPs and MaxLatency if set), the cheapest one. With budgets alone it
// measures every plan within MaxFLOPs, skipping the dearer plans of a
// family (same dims) once one reaches recall 1 or exceeds MaxLatency, and
// returns the one of highest recall within the budgets (the cheaper on
// ties).
//
// Each plan's first query is not timed: it builds the prefix norms and
// blocked copies its dims need, which v keeps (see Vectors.MemBytes).
//
// If no plan meets the target, Tune returns the best plan it measured and
// an error wrapping ErrNoPlan that gives the best recall reached.
func Tune(v *Vectors, first Searcher, calib []float32, nq int, opt TuneOptions) (TuneResult, error) {
	if err := opt.Validate(); err != nil {
		return TuneResult{}, err
	}
	n, D := v.N(), v.Dim()
	if n == 0 {
		return TuneResult{}, fmt.Errorf("tune: no rows: %w", ErrOptions)
	}
	ld, err := queryStride(calib, nq, D)
	if err != nil {
		return TuneResult{}, fmt.Errorf("tune: %w", err)
	}
	if first == nil {
		first = NewFlat(v)
	}
	fk, err := firstKnob(first, v, opt.Knobs)
	if err != nil {
		return TuneResult{}, err
	}
	k := opt.K
	if k == 0 {
		k = 10
	}
	k = min(k, n)
	dims, keeps, err := tuneGrid(opt, n, D, k)
	if err != nil {
		return TuneResult{}, err
	}
	if fk.graphDim > 0 && fk.graphDim < D {
		// An HNSW first stage runs at its graph dim; later stages at the
		// candidate dims above it.
		above := slices.DeleteFunc(dims, func(d int) bool { return d <= fk.graphDim })
		dims = append([]int{fk.graphDim}, above...)
	}
	truth, err := exactTruth(v, calib, ld, k)
	if err != nil {
		return TuneResult{}, err
	}

	type cand struct {
		plan   Plan
		knob   int
		family string
		flops  int64 // the reported cost model
		cost   int64 // the order of measurement (timeModel)
	}
	var cands []cand
	addPlan := func(p Plan) {
		if fk.graphDim > 0 && p[0].Dim != fk.graphDim {
			return
		}
		fam := make([]string, len(p))
		for i, s := range p {
			fam[i] = fmt.Sprint(s.Dim)
		}
		for _, x := range fk.values {
			fl := fk.flops(p, x, n)
			cands = append(cands, cand{plan: p, knob: x, family: fmt.Sprint(strings.Join(fam, ","), "@", x), flops: fl, cost: fl/2 + timeModel(p, n)})
		}
	}
	addPlan(Plan{{D, k}})
	for _, d := range dims {
		for _, kp := range keeps {
			addPlan(Plan{{d, kp}, {D, k}})
		}
	}
	if opt.MaxStages != 1 {
		for i, d1 := range dims {
			for _, d2 := range dims[i+1:] {
				for a, k1 := range keeps {
					for _, k2 := range keeps[:a] {
						addPlan(Plan{{d1, k1}, {d2, k2}, {D, k}})
					}
				}
			}
		}
	}
	if len(cands) == 0 {
		return TuneResult{}, fmt.Errorf("%w: tune: no candidate plan starts at the HNSW graph dim %d", ErrOptions, fk.graphDim)
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.cost != b.cost {
			return cmp.Compare(a.cost, b.cost)
		}
		return len(a.plan) - len(b.plan)
	})

	res := TuneResult{K: k}
	// A plan meets TargetRecall when its calibration recall exceeds it by
	// one standard error of a recall measured on nq·k hits, so that the
	// chosen plan's recall on other queries tends to land at or above it.
	var margin float64
	if t := opt.TargetRecall; t > 0 && t < 1 {
		margin = math.Sqrt(t * (1 - t) / float64(nq*k))
	}
	res.Margin = margin
	best := -1
	done := map[string]bool{} // families that reached recall 1 or the latency budget
	met := false
	within := func(e PlanEval) bool { return opt.MaxLatency == 0 || e.Latency <= opt.MaxLatency }
	for _, c := range cands {
		if opt.MaxFLOPs > 0 && c.flops > opt.MaxFLOPs {
			continue
		}
		if opt.TargetRecall == 0 && done[c.family] {
			continue
		}
		f, err := NewFunnel(v, c.plan, fk.at(c.knob))
		if err != nil {
			return res, fmt.Errorf("tune: %w", err)
		}
		rec, lat, err := measure(f, calib, ld, D, k, truth)
		if err != nil {
			return res, fmt.Errorf("tune: plan %s: %w", c.plan, err)
		}
		e := PlanEval{Plan: c.plan, Recall: rec, FLOPs: c.flops, Latency: lat, Knob: c.knob}
		res.Evaluated = append(res.Evaluated, e)
		i := len(res.Evaluated) - 1
		if within(e) && (best < 0 || rec > res.Evaluated[best].Recall) {
			best = i
		}
		if rec >= 1 || !within(e) {
			done[c.family] = true
		}
		if opt.TargetRecall > 0 && rec >= opt.TargetRecall+margin && within(e) {
			best, met = i, true
			break
		}
	}
	if best < 0 {
		if len(res.Evaluated) == 0 {
			cheapest := slices.MinFunc(cands, func(a, b cand) int { return cmp.Compare(a.flops, b.flops) })
			return res, fmt.Errorf("%w: no plan within %d FLOPs (the cheapest, %s, needs %d)",
				ErrNoPlan, opt.MaxFLOPs, cheapest.plan, cheapest.flops)
		}
		fastest := slices.MinFunc(res.Evaluated, func(a, b PlanEval) int { return cmp.Compare(a.Latency, b.Latency) })
		res.PlanEval = fastest
		return res, fmt.Errorf("%w: no plan within %v per query (the fastest, %s, took %v)",
			ErrNoPlan, opt.MaxLatency, fastest.Plan, fastest.Latency)
	}
	res.PlanEval = res.Evaluated[best]
	if opt.TargetRecall > 0 && !met {
		var budget []string
		if opt.MaxFLOPs > 0 {
			budget = append(budget, fmt.Sprintf("%d FLOPs", opt.MaxFLOPs))
		}
		if opt.MaxLatency > 0 {
			budget = append(budget, fmt.Sprintf("%v", opt.MaxLatency))
		}
		within := ""
		if len(budget) > 0 {
			within = " within " + strings.Join(budget, " and ")
		}
		return res, fmt.Errorf("%w: recall@%d %g wanted, best %.4f reached by %s%s (%d plans measured)",
			ErrNoPlan, k, opt.TargetRecall, res.Recall, res.Plan, within, len(res.Evaluated))
	}
	return res, nil
}

// knobbed is the first searcher of a tuning run with the setting it varies.
type knobbed struct {
	values []int // settings to try; {0} means none
	// at returns the first searcher with setting x: a view (HNSW.WithEf,
	// IVF.WithProbe), so tuning never changes the searcher it was given.
	at       func(x int) Searcher
	graphDim int // HNSW: the dim every plan must start at; else 0
	// first-stage multiply-adds at dim d keeping keep rows with setting x
	firstCost func(d, keep, x, n int) int64
}

// flops is the cost model of Tune (see its doc) for plan p at setting x.
func (fk knobbed) flops(p Plan, x, n int) int64 {
	if fk.firstCost == nil {
		return p.FLOPs(n)
	}
	rest := p.MulAdds(n) - int64(n)*int64(p[0].Dim)
	return 2 * (rest + fk.firstCost(p[0].Dim, p[0].Keep, x, n))
}

// firstKnob describes first for Tune: HNSW varies ef and IVF probe over
// knobs (their current setting when knobs is nil); Flat and other
// searchers have no setting and are costed as Flat.
func firstKnob(first Searcher, v *Vectors, knobs []int) (knobbed, error) {
	none := knobbed{values: []int{0}, at: func(int) Searcher { return first }}
	switch s := first.(type) {
	case *Flat:
		if s.Vectors() != v {
			return none, fmt.Errorf("%w: tune: the first searcher searches other vectors", ErrOptions)
		}
		if knobs != nil {
			return none, fmt.Errorf("%w: tune: Knobs given but the first searcher is Flat, which has none", ErrOptions)
		}
		return none, nil
	case *HNSW:
		if s.Vectors() != v {
			return none, fmt.Errorf("%w: tune: the first searcher searches other vectors", ErrOptions)
		}
		if knobs == nil {
			knobs = []int{s.Ef()}
		}
		m0 := int64(s.m0)
		return knobbed{values: slices.Sorted(slices.Values(knobs)), at: s.WithEf,
			graphDim: s.Dim(),
			firstCost: func(d, keep, x, n int) int64 {
				return int64(max(x, keep)) * m0 * int64(d)
			}}, nil
	case *IVF:
		if s.Vectors() != v {
			return none, fmt.Errorf("%w: tune: the first searcher searches other vectors", ErrOptions)
		}
		if knobs == nil {
			knobs = []int{s.Probe()}
		}
		lists, dc := s.Lists(), s.ClusterDim()
		return knobbed{values: slices.Sorted(slices.Values(knobs)), at: s.WithProbe,
			firstCost: func(d, keep, x, n int) int64 {
				per := int64((n + lists - 1) / max(lists, 1))
				return int64(lists)*int64(min(dc, d)) + int64(min(x, lists))*per*int64(d)
			}}, nil
	}
	if knobs != nil {
		return none, fmt.Errorf("%w: tune: Knobs given but the first searcher %T has no setting Tune knows (HNSW ef, IVF probe)", ErrOptions, first)
	}
	return none, nil // costed as Flat
}

// Check measures the recall@K of r's plan against exact full-dim search on
// nq other queries (rows of q, stride len(q)/nq >= D), such as a held-out
// half of the calibration sample; first is as for Tune, set to r.Knob for
// the measurement.
func (r TuneResult) Check(v *Vectors, first Searcher, q []float32, nq int) (float64, error) {
	ld, err := queryStride(q, nq, v.Dim())
	if err != nil {
		return 0, fmt.Errorf("tune check: %w", err)
	}
	truth, err := exactTruth(v, q, ld, r.K)
	if err != nil {
		return 0, err
	}
	if first != nil && r.Knob > 0 {
		fk, err := firstKnob(first, v, []int{r.Knob})
		if err != nil {
			return 0, fmt.Errorf("tune check: %w", err)
		}
		first = fk.at(r.Knob)
	}
	f, err := NewFunnel(v, r.Plan, first)
	if err != nil {
		return 0, fmt.Errorf("tune check: %w", err)
	}
	rec, _, err := measure(f, q, ld, v.Dim(), r.K, truth)
	if err != nil {
		return 0, fmt.Errorf("tune check: plan %s: %w", r.Plan, err)
	}
	return rec, nil
}

// queryStride returns the stride of nq >= 1 query rows in q, at least d.
func queryStride(q []float32, nq, d int) (int, error) {
	if nq < 1 || len(q)%nq != 0 || len(q)/nq < d {
		return 0, fmt.Errorf("%d queries in %d floats for dim %d: %w", nq, len(q), d, ErrDimMismatch)
	}
	return len(q) / nq, nil
}

// tuneGrid returns the sorted, deduplicated candidate dims (in 1..D-1) and
// keeps (in k..n) of opt.
func tuneGrid(opt TuneOptions, n, D, k int) (dims, keeps []int, err error) {
	if opt.Dims == nil {
		for d := minTuneDim(D); d < D; d *= 2 {
			dims = append(dims, d)
		}
	} else {
		var bad []string
		for _, d := range opt.Dims {
			if d >= D {
				bad = append(bad, fmt.Sprint(d))
			}
			dims = append(dims, d)
		}
		if len(bad) > 0 {
			return nil, nil, fmt.Errorf("%w: tune: dims %s not below the full dim %d", ErrOptions, strings.Join(bad, ", "), D)
		}
	}
	src := opt.Keeps
	if src == nil {
		src = []int{50, 100, 200, 400, 800, 1600}
	}
	for _, kp := range src {
		if kp = min(kp, n); kp >= k {
			keeps = append(keeps, kp)
		}
	}
	slices.Sort(dims)
	slices.Sort(keeps)
	return slices.Compact(dims), slices.Compact(keeps), nil
}

// exactTruth returns the exact full-dim top-k indexes of each query.
func exactTruth(v *Vectors, q []float32, ld, k int) ([][]int32, error) {
	hits, err := NewFlat(v).SearchBatch(q, ld, v.Dim(), k, nil)
	if err != nil {
		return nil, fmt.Errorf("tune: exact search: %w", err)
	}
	truth := make([][]int32, len(hits))
	for i, h := range hits {
		truth[i] = make([]int32, len(h))
		for j := range h {
			truth[i][j] = h[j].Index
		}
	}
	return truth, nil
}

// measure runs the queries one at a time through f at dim and returns the
// mean recall@k against truth and the mean latency per query.
func measure(f *Funnel, q []float32, ld, dim, k int, truth [][]int32) (float64, time.Duration, error) {
	found, total := 0, 0
	dst := make([]Hit, 0, k)
	if len(truth) > 0 {
		// Untimed: the first scan at a dim builds its prefix norms and
		// blocked copy (see Vectors).
		if _, err := f.Search(q[:ld], dim, k, dst); err != nil {
			return 0, 0, fmt.Errorf("query 0: %w", err)
		}
	}
	var elapsed time.Duration
	for i, want := range truth {
		t0 := time.Now()
		var err error
		dst, err = f.Search(q[i*ld:(i+1)*ld], dim, k, dst)
		elapsed += time.Since(t0)
		if err != nil {
			return 0, 0, fmt.Errorf("query %d: %w", i, err)
		}
		for _, w := range want {
			for _, h := range dst {
				if h.Index == w {
					found++
					break
				}
			}
		}
		total += len(want)
	}
	rec := 1.0
	if total > 0 {
		rec = float64(found) / float64(total)
	}
	return rec, elapsed / time.Duration(max(len(truth), 1)), nil
}

// minTuneDim is the smallest default candidate dim for vectors of dim D.
func minTuneDim(D int) int {
	if D <= 8 {
		return 1
	}
	return 8
}

// randomRowCost is the cost, in multiply-adds of a sequential scan, of
// fetching one scattered row for a rerank: a cache miss (~100 ns) is about
// the time a scan takes to stream a few hundred floats.
const randomRowCost = 256

// timeModel is the part of a plan's cost that FLOPs leave out: each row a
// later stage reranks is a scattered fetch (randomRowCost). Tune measures
// candidates in the order of MulAdds + timeModel, so that a plan with a
// tiny first stage and a huge shortlist does not come first.
func timeModel(p Plan, n int) int64 {
	var c int64
	for i := 1; i < len(p); i++ {
		c += int64(min(p[i-1].Keep, n)) * randomRowCost
	}
	return c
}
