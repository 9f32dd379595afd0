package index

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gomrl/mrl/internal/kernel"
)

// Funnel searches by a Plan: a first Searcher shortlists at the first
// stage's dim, and each later stage reranks the shortlist exactly at its
// dim (re-normalising the prefixes for Cosine).
//
// Search(q, dim, k) ranks by dim: it runs the plan's stages whose Dim is
// below dim, each keeping max(Keep, k) rows, then reranks the last
// shortlist at dim and returns the best k. With the plan
// "16:200,64:50,2048:10", Search at dim 2048 runs the plan as written,
// Search at dim 64 scans at 16 and reranks 200 rows at 64, and Search at
// dim <= 16 is the first searcher's search at dim. Results are exact when
// the first stage keeps every row and the first searcher is exact.
type Funnel struct {
	v     *Vectors
	plan  Plan
	first Searcher
	flat  *Flat     // first, when it is the exact Flat over v
	pool  sync.Pool // *selBuf: shortlists
}

var _ Searcher = (*Funnel)(nil)

// NewFunnel returns a funnel over v running plan, whose first stage is
// searched by first (nil means NewFlat(v)); first must search v. The plan
// must be valid for v's dim (see Plan.Validate with k = 0). NewFunnel
// computes the prefix norms of the plan's dims (see Vectors.Prepare).
//
// With a Flat first searcher the first stage selects its shortlist
// without sorting it (Flat.best), and every stage keeps its best rows by a
// quickselect; only the final k are sorted. The results are those of the
// plain funnel that sorts every shortlist.
func NewFunnel(v *Vectors, plan Plan, first Searcher) (*Funnel, error) {
	if err := plan.Validate(v.d, 0); err != nil {
		return nil, err
	}
	if first == nil {
		first = NewFlat(v)
	}
	for _, s := range plan {
		v.prefixNorms(s.Dim)
	}
	f := &Funnel{v: v, plan: slices.Clone(plan), first: first}
	if fl, ok := first.(*Flat); ok && fl.v == v {
		f.flat = fl
	}
	return f, nil
}

// Plan returns a copy of the funnel's plan.
func (f *Funnel) Plan() Plan { return slices.Clone(f.plan) }

// StageStat is the work of one stage of one funnel search.
type StageStat struct {
	Dim     int           // prefix dim scored
	In      int           // rows scored: N for the first stage (less for an ANN searcher)
	Out     int           // rows kept
	Elapsed time.Duration // wall-clock time of the stage
}

// Search implements Searcher.
func (f *Funnel) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	dst, _, err := f.search(q, dim, k, dst, nil, false)
	return dst, err
}

// SearchStats is Search that also reports, in stats[:0], one StageStat per
// stage it ran; it does not allocate when dst and stats have capacity.
func (f *Funnel) SearchStats(q []float32, dim, k int, dst []Hit, stats []StageStat) ([]Hit, []StageStat, error) {
	return f.search(q, dim, k, dst, stats[:0], true)
}

// stages returns how many plan stages shortlist for a search at dim.
func (f *Funnel) stages(dim int) int {
	s := 0
	for s < len(f.plan) && f.plan[s].Dim < dim {
		s++
	}
	return s
}

func (f *Funnel) search(q []float32, dim, k int, dst []Hit, stats []StageStat, timed bool) ([]Hit, []StageStat, error) {
	v := f.v
	if err := checkQuery(v, q, dim); err != nil {
		return dst[:0], stats, err
	}
	k = min(max(k, 0), v.n)
	if k == 0 {
		return dst[:0], stats, nil
	}
	var t0 time.Time
	lap := func(dim, in, out int) {
		if timed {
			t1 := time.Now()
			stats = append(stats, StageStat{Dim: dim, In: in, Out: out, Elapsed: t1.Sub(t0)})
			t0 = t1
		}
	}
	if timed {
		t0 = time.Now()
	}
	s := f.stages(dim)
	if s == 0 {
		dst, err := f.first.Search(q, dim, k, dst)
		lap(dim, v.n, len(dst))
		return dst, stats, err
	}
	sb, _ := f.pool.Get().(*selBuf)
	if sb == nil {
		sb = new(selBuf)
	}
	keep := min(max(f.plan[0].Keep, k), v.n)
	var buf []Hit
	if f.flat != nil {
		buf = f.flat.best(sb, q[:f.plan[0].Dim], keep)
	} else {
		var err error
		if buf, err = f.first.Search(q, f.plan[0].Dim, keep, sb.h); err != nil {
			return dst[:0], stats, err
		}
		sb.h = buf
	}
	lap(f.plan[0].Dim, v.n, len(buf))
	for i := 1; i < s; i++ {
		in := len(buf)
		buf = f.rerank(q, f.plan[i].Dim, max(f.plan[i].Keep, k), buf)
		lap(f.plan[i].Dim, in, len(buf))
	}
	in := len(buf)
	dst = f.final(q, dim, k, buf, dst)
	lap(dim, in, len(dst))
	f.pool.Put(sb)
	return dst, stats, nil
}

// rerank rescores the hits h exactly at dim and keeps the best keep, in
// place and in no particular order.
func (f *Funnel) rerank(q []float32, dim, keep int, h []Hit) []Hit {
	f.v.score(q[:dim], h)
	if len(h) > keep {
		selectBest(h, keep)
		h = h[:keep]
	}
	return h
}

// final is the last rerank: it keeps the best k of h at dim, sorts them
// best first, fills in their ids and appends them to dst[:0].
func (f *Funnel) final(q []float32, dim, k int, h []Hit, dst []Hit) []Hit {
	h = f.rerank(q, dim, k, h)
	slices.SortFunc(h, compareHits)
	for i := range h {
		h[i].ID = f.v.ids[h[i].Index]
	}
	return append(dst[:0], h...)
}

// compareHits orders hits best first, ties by lower index.
func compareHits(a, b Hit) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// SearchBatch implements Searcher: the first stage is one batched search
// of the first searcher, the reranks run in parallel over queries. With a
// Flat first searcher and a first keep of at least N/64 rows each query
// runs as Search does instead, in parallel over queries, with the same
// results as Search.
func (f *Funnel) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	v := f.v
	nq, err := checkBatch(v, q, ldq, dim)
	if err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), v.n)
	s := f.stages(dim)
	if s == 0 || k == 0 || nq == 0 {
		if k == 0 || nq == 0 {
			return batchDst(dst, nq), nil
		}
		return f.first.SearchBatch(q, ldq, dim, k, dst)
	}
	dst = batchDst(dst, nq)
	keep := min(max(f.plan[0].Keep, k), v.n)
	if f.flat != nil && keep*thresholdRatio >= v.n {
		// A keep this large fills the batched scan's selection buffers
		// with nearly every row; one query at a time picks its shortlist
		// by a threshold instead (Flat.best), the queries spread over
		// kernel.Threads() goroutines.
		kernel.ParallelFor(nq, 4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i], _, _ = f.search(q[i*ldq:i*ldq+dim], dim, k, dst[i], nil, false) // checked: cannot fail
			}
		})
		return dst, nil
	}
	var short [][]Hit
	if f.flat != nil {
		short, err = f.flat.searchBatch(q, ldq, f.plan[0].Dim, keep, nil, false)
	} else {
		short, err = f.first.SearchBatch(q, ldq, f.plan[0].Dim, keep, nil)
	}
	if err != nil {
		return dst[:0], fmt.Errorf("funnel first stage: %w", err)
	}
	kernel.ParallelFor(nq, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			qi := q[i*ldq : i*ldq+dim]
			buf := short[i]
			for j := 1; j < s; j++ {
				buf = f.rerank(qi, f.plan[j].Dim, max(f.plan[j].Keep, k), buf)
			}
			dst[i] = f.final(qi, dim, k, buf, dst[i])
		}
	})
	return dst, nil
}
