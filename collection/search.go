package collection

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
)

// Query is a search of one vector.
type Query struct {
	// Vector is the query, of the collection's dim (the search reads its
	// first Dim values).
	Vector []float32
	// Dim is the prefix dim searched; 0 means the collection's dim.
	Dim int
	// K is the number of hits wanted; 0 means 10.
	K int
	// Plan, if not nil, runs the search as a funnel: a first stage on a
	// short prefix, re-ranked at longer ones (index.Plan). A plan whose
	// first stage is at Dim or above is ignored: the snapshot's searcher
	// runs at Dim. AutoPlan gives a tuned one.
	Plan index.Plan
	// Filter keeps the points whose payload matches it (see
	// ValidateFilter); nil keeps every point.
	Filter map[string]any
	// WithPayload returns the hits' payloads.
	WithPayload bool
}

// Result is the answer to a Query: the hits, best first (ties by
// increasing id), and the work of each stage.
type Result struct {
	Hits   []Hit
	Stages []StageTiming
}

// Search runs q on the collection. It sees each write batch whole or not
// at all: the snapshot's searcher (or the plan's funnel) over-fetches by
// the number of its rows changed since, and an exact scan of the changes
// is merged in; with a filter it over-fetches more and falls back to an
// exact filtered scan when fewer than K hits pass. A malformed q is
// ErrInvalid (or index.ErrDim, index.ErrPlan from the searcher); ctx is
// checked before the search starts.
func (c *Collection) Search(ctx context.Context, q Query) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	d := c.meta.Dim
	r := searchReq{q: q.Vector, dim: q.Dim, k: q.K, plan: q.Plan, filter: q.Filter}
	if r.dim == 0 {
		r.dim = d
	}
	if r.k == 0 {
		r.k = 10
	}
	if r.dim < 0 || r.dim > d {
		return Result{}, invalidf("dim: %d, want 1..%d (the collection dim)", r.dim, d)
	}
	if r.k < 0 {
		return Result{}, invalidf("k: %d, want at least 1", r.k)
	}
	if err := CheckVector("vector", q.Vector, d, c.metric); err != nil {
		return Result{}, err
	}
	if r.plan != nil {
		if err := r.plan.Validate(d, 0); err != nil {
			return Result{}, invalidf("plan %v: %v", r.plan, err)
		}
	}
	if r.filter != nil {
		if err := ValidateFilter("filter", r.filter); err != nil {
			return Result{}, err
		}
	}
	hits, stages, err := c.search(r, q.WithPayload)
	return Result{Hits: hits, Stages: stages}, err
}

// searchReq is a validated search of one query.
type searchReq struct {
	q      []float32
	dim, k int
	plan   index.Plan // nil: the base searcher
	filter map[string]any
}

func hitLess(a, b Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return a.ID.Compare(b.ID)
}

// search runs r under the read lock: the snapshot's searcher (or the plan's
// funnel) over-fetching by the number of its rows changed since, minus those
// rows, merged with an exact scan of the changes. With a filter it
// over-fetches more and falls back to an exact filtered scan when fewer than
// k hits pass.
func (c *Collection) search(r searchReq, withPayload bool) ([]Hit, []StageTiming, error) {
	// The snapshot is immutable, so its scan (nearly all of a search's
	// time) runs without the lock, and writers need not wait for it; the
	// merge with the changes runs under the read lock, on the state of one
	// moment. If a rebuild swapped the snapshot meanwhile, or more of its
	// rows changed than the scan over-fetched for, the search runs again
	// with the lock held throughout.
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	base, inBase := c.base, c.inBase
	c.mu.RUnlock()
	hits, stages, ok, err := c.searchOn(r, withPayload, base, inBase, false)
	if !ok {
		hits, stages, _, err = c.searchOn(r, withPayload, nil, 0, true)
	}
	return hits, stages, err
}

// searchOn runs r on base, over-fetching for inBase changed rows, then
// takes the read lock to merge. With locked, it takes the lock first and
// reads base and inBase under it. ok is false when the state changed in
// a way the unlocked scan cannot serve (see search).
func (c *Collection) searchOn(r searchReq, withPayload bool, base *snapshot, inBase int, locked bool) ([]Hit, []StageTiming, bool, error) {
	if locked {
		c.mu.RLock()
		defer c.mu.RUnlock()
		if c.closed {
			return nil, nil, true, ErrClosed
		}
		base, inBase = c.base, c.inBase
	}
	n := base.vecs.N()
	need := r.k + inBase
	if r.filter != nil {
		need = 4*r.k + inBase
	}
	need = min(need, n)
	var stages []StageTiming
	var raw []index.Hit
	var err error
	t0 := time.Now()
	if r.plan != nil && r.dim <= r.plan[0].Dim {
		// The funnel would run only its first stage, at dim: search the
		// base at dim directly (an HNSW graph finer than dim cannot).
		r.plan = nil
	}
	if r.plan != nil {
		f, ferr := base.funnel(r.plan)
		if ferr != nil {
			return nil, nil, true, ferr
		}
		var st []index.StageStat
		raw, st, err = f.SearchStats(r.q, r.dim, need, nil, nil)
		for i, s := range st {
			name := "rerank"
			if i == 0 {
				name = "scan"
			}
			stages = append(stages, StageTiming{Stage: name, Dim: s.Dim, In: s.In, Out: s.Out, ElapsedUS: us(s.Elapsed)})
		}
	} else {
		raw, err = base.searcherFor(r.dim).Search(r.q, r.dim, need, nil)
		stages = append(stages, StageTiming{Stage: "scan", Dim: r.dim, In: n, Out: len(raw), ElapsedUS: us(time.Since(t0))})
	}
	if err != nil {
		return nil, nil, true, err
	}
	if !locked {
		c.mu.RLock()
		defer c.mu.RUnlock()
		if c.closed {
			return nil, nil, true, ErrClosed
		}
		if c.base != base || c.inBase > inBase {
			return nil, nil, false, nil
		}
	}
	hits := make([]Hit, 0, len(raw)+len(c.dirty))
	for _, h := range raw {
		id := base.keyID(h.ID)
		if _, ok := c.dirty[id]; ok {
			continue
		}
		if r.filter != nil && !matches(c.payloads[id], r.filter) {
			continue
		}
		hits = append(hits, Hit{ID: id, Score: h.Score})
	}
	t1 := time.Now()
	nd := 0
	for id, e := range c.dirty {
		if e.vec == nil || r.filter != nil && !matches(c.payloads[id], r.filter) {
			continue
		}
		nd++
		hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, e.vec, r.q, r.dim)})
	}
	if len(c.dirty) > 0 {
		stages = append(stages, StageTiming{Stage: "delta", Dim: r.dim, In: nd, Out: nd, ElapsedUS: us(time.Since(t1))})
	}
	if r.filter != nil && len(hits) < r.k && need < n {
		// Too few passed: score every matching row exactly.
		t2 := time.Now()
		hits = hits[:0]
		for i := range n {
			id := base.id(i)
			if _, ok := c.dirty[id]; ok || !matches(c.payloads[id], r.filter) {
				continue
			}
			hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, base.vecs.Row(i), r.q, r.dim)})
		}
		in := len(hits)
		for id, e := range c.dirty {
			if e.vec != nil && matches(c.payloads[id], r.filter) {
				hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, e.vec, r.q, r.dim)})
			}
		}
		stages = append(stages, StageTiming{Stage: "filter_scan", Dim: r.dim, In: in, Out: len(hits), ElapsedUS: us(time.Since(t2))})
	}
	for i := range hits {
		hits[i].Score = finite(hits[i].Score)
	}
	slices.SortFunc(hits, hitLess)
	if len(hits) > r.k {
		hits = hits[:r.k]
	}
	if withPayload {
		for i := range hits {
			hits[i].Payload = c.payloads[hits[i].ID]
		}
	}
	return hits, stages, true, nil
}

// finite clamps a score to the float32 range, NaN to the lowest, so that a
// vector stored before the norm checks (checkNorm) cannot make every search
// that meets it fail to encode.
func finite(x float32) float32 {
	switch {
	case math.IsNaN(float64(x)) || math.IsInf(float64(x), -1):
		return -math.MaxFloat32
	case math.IsInf(float64(x), 1):
		return math.MaxFloat32
	}
	return x
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// AutoPlan returns the tuned plan for target recall on the current
// snapshot, tuning (outside the collection lock) when there is none or the
// snapshot's size changed by more than a fifth since. It returns nil when
// the snapshot is smaller than Options.TuneMinRows (exact search is then
// cheap) or the collection's nesting has no dim below its dim.
func (c *Collection) AutoPlan(target float64) (*TunedPlan, error) {
	c.mu.RLock()
	base := c.base
	c.mu.RUnlock()
	n := base.vecs.N()
	if n < c.opt.TuneMinRows || n < 2 {
		return nil, nil
	}
	c.tuneMu.Lock()
	defer c.tuneMu.Unlock()
	if t, ok := c.tuned[target]; ok && math.Abs(float64(t.Rows-n)) <= 0.2*float64(t.Rows) {
		return t, nil
	}
	d := c.meta.Dim
	nq := min(100, n)
	rng := rand.New(rand.NewPCG(uint64(n), 0x6d726c))
	calib := make([]float32, nq*d)
	for i := range nq {
		row := base.vecs.Row(rng.IntN(n))
		var ss float64
		for _, x := range row {
			ss += float64(x) * float64(x)
		}
		sigma := 0.05 * math.Sqrt(ss/float64(d))
		for j, x := range row {
			calib[i*d+j] = x + float32(sigma*rng.NormFloat64())
		}
	}
	var dims []int
	for _, m := range c.meta.Nesting {
		if m < d {
			dims = append(dims, m)
		}
	}
	if len(dims) == 0 {
		return nil, nil
	}
	res, err := index.Tune(base.vecs, nil, calib, nq, index.TuneOptions{K: 10, TargetRecall: target, Dims: dims})
	if err != nil && !errors.Is(err, index.ErrNoPlan) {
		return nil, err
	}
	t := &TunedPlan{TunedPlan: api.TunedPlan{Plan: res.Plan.String(), Target: target, Recall: res.Recall, Rows: n, Met: err == nil}, Stages: res.Plan}
	if len(c.tuned) >= 16 {
		clear(c.tuned)
	}
	c.tuned[target] = t
	c.log.Info("tuned plan", "plan", t.Plan, "target", target, "recall", t.Recall, "rows", n)
	return t, nil
}
