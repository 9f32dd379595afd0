package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/kernel"
)

// funnelOptions are adapt eval's --funnel settings.
type funnelOptions struct {
	dims, keeps []int
	hnswDims    []int // adapted prefix dims with an HNSW first stage
	hnswM, ef   int   // ef 0: the plan's first keep
	k           int
	target      float64
	singleNQ    int // queries timed one at a time
}

// firstStage is one kind of funnel first stage at one dim.
type firstStage struct {
	kind  string         // adapter, adapter-hnsw, truncation
	s     index.Searcher // nil: the Flat over the originals
	extra int64          // multiply-adds of mapping a query; -1: no cost model (a graph)
	dim   int
}

// funnelRun is one timed plan.
type funnelRun struct {
	kind, plan     string
	recall         float64
	batch, single  time.Duration // batched: all queries; single: per query
	batchX, singlX float64       // speed-ups over exact search timed the same way
}

// evalFunnels times exact full-dim search on the original rows and
// two-stage funnels whose first stage scans (or walks a graph on) adapted
// or plain prefixes and whose last stage reranks with the originals, each
// batched (all queries in one call on all threads) and one query at a time
// (one thread); a speed-up compares with exact search timed the same way.
func evalFunnels(ctx context.Context, w io.Writer, a *adapter.Adapter, db []float32, n, d int, q []float32, nq int, truth [][]int32, o funnelOptions) error {
	orig, err := index.NewVectors(slices.Clone(db), n, d, mrl.Cosine, nil)
	if err != nil {
		return err
	}
	if err := orig.Prepare(d); err != nil {
		return err
	}
	k := o.k
	ns := min(max(o.singleNQ, 1), nq)
	exactFlat := index.NewFlat(orig)
	exactB, err := bestOf3(func() error { _, err := exactFlat.SearchBatch(q, d, d, k, nil); return err })
	if err != nil {
		return err
	}
	exactS, err := bestOf3(singleLoop(exactFlat, q, d, ns, k))
	if err != nil {
		return err
	}
	exactS /= time.Duration(ns)
	fmt.Fprintf(w, "\nfunnels (rerank with the original %d dims); %s\n", d, loadAverage())
	fmt.Fprintf(w, "exact flat at D=%d: batched %v for %d queries (%d threads), single %v per query (one thread, the first %d queries); best of 3; %s\n",
		d, exactB.Round(time.Microsecond), nq, kernel.Threads(), exactS.Round(100*time.Nanosecond), ns, kernel.Describe())
	fmt.Fprintf(w, "first stages: adapter = flat scan of a copy of the adapted m-prefixes (the query mapped to m dims); adapter-hnsw = HNSW (M %d) on that copy, ef %s; truncation = flat scan of the original m-prefixes\n",
		o.hnswM, efText(o.ef))
	var stages []firstStage
	mapCost := func(m int) int64 {
		return int64(a.In)*int64(m) + int64(a.In)*int64(a.Hidden()) + int64(a.Hidden())*int64(m)
	}
	for _, m := range o.dims {
		if m >= d || m > a.Out {
			continue
		}
		zm, err := a.ApplyPrefix(nil, db, n, m)
		if err != nil {
			return err
		}
		zv, err := index.NewVectors(zm, n, m, mrl.Cosine, nil)
		if err != nil {
			return err
		}
		if err := zv.Prepare(m); err != nil {
			return err
		}
		stages = append(stages, firstStage{"adapter", adapter.Searcher{A: a, S: index.NewFlat(zv), Dims: m}, mapCost(m), m})
		if slices.Contains(o.hnswDims, m) {
			t0 := time.Now()
			g, err := index.NewHNSW(zv, index.HNSWOptions{M: o.hnswM, Threads: kernel.Threads()})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "hnsw on the adapted %d-prefix: %d rows built in %v (M %d, efConstruction 100, %d threads); %.1f MiB beside the %d-dim copy\n",
				m, n, time.Since(t0).Round(time.Millisecond), o.hnswM, kernel.Threads(), float64(g.MemBytes())/(1<<20), m)
			stages = append(stages, firstStage{"adapter-hnsw", adapter.Searcher{A: a, S: hnswEf{g, o.ef}, Dims: m}, -1, m})
		}
	}
	for _, m := range o.dims {
		if m < d {
			stages = append(stages, firstStage{"truncation", nil, 0, m})
		}
	}
	fmt.Fprintf(w, "%-13s %-14s %7s %6s %11s %8s %11s %8s\n", "first", "plan", "recall", "cost", "batched", "speed-up", "single/q", "speed-up")
	exactCost := index.Plan{{Dim: d, Keep: k}}.MulAdds(n)
	var runs []funnelRun
	for _, st := range stages {
		for _, keep := range o.keeps {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if keep < k || keep >= n {
				continue
			}
			plan := index.Plan{{Dim: st.dim, Keep: keep}, {Dim: d, Keep: k}}
			f, err := index.NewFunnel(orig, plan, st.s)
			if err != nil {
				return err
			}
			var hits [][]index.Hit
			tb, err := bestOf3(func() error { var err error; hits, err = f.SearchBatch(q, d, d, k, hits); return err })
			if err != nil {
				return err
			}
			ts, err := bestOf3(singleLoop(f, q, d, ns, k))
			if err != nil {
				return err
			}
			ts /= time.Duration(ns)
			got := make([][]int32, nq)
			for i, hs := range hits {
				for _, h := range hs {
					got[i] = append(got[i], h.Index)
				}
			}
			r := funnelRun{kind: st.kind, plan: plan.String(), recall: adapter.Recall(truth, got), batch: tb, single: ts,
				batchX: exactB.Seconds() / tb.Seconds(), singlX: exactS.Seconds() / ts.Seconds()}
			runs = append(runs, r)
			cost := "-"
			if st.extra >= 0 {
				cost = fmt.Sprintf("%.1fx", float64(exactCost)/float64(plan.MulAdds(n)+st.extra))
			}
			fmt.Fprintf(w, "%-13s %-14s %7.4f %6s %11v %7.1fx %11v %7.1fx\n", r.kind, r.plan, r.recall, cost,
				tb.Round(time.Microsecond), r.batchX, ts.Round(100*time.Nanosecond), r.singlX)
			if r.recall >= o.target {
				break // larger shortlists at this dim only cost more
			}
		}
	}
	for _, kind := range []string{"adapter", "adapter-hnsw", "truncation"} {
		var wb, ws *funnelRun
		for i := range runs {
			r := &runs[i]
			if r.kind != kind || r.recall < o.target {
				continue
			}
			if wb == nil || r.batch < wb.batch {
				wb = r
			}
			if ws == nil || r.single < ws.single {
				ws = r
			}
		}
		switch {
		case wb != nil:
			fmt.Fprintf(w, "  %s: fastest with recall@%d ≥ %.2f: batched %s (recall %.4f) %.1fx faster than exact batched; single %s (recall %.4f) %.1fx faster than exact single\n",
				kind, k, o.target, wb.plan, wb.recall, wb.batchX, ws.plan, ws.recall, ws.singlX)
		case slices.ContainsFunc(runs, func(r funnelRun) bool { return r.kind == kind }):
			fmt.Fprintf(w, "  %s: no plan reached recall@%d ≥ %.2f\n", kind, k, o.target)
		}
	}
	fmt.Fprintf(w, "(%s at the end; times taken with other processes running are provisional)\n", loadAverage())
	return nil
}

// hnswEf is an HNSW first stage whose beam width is ef, or when ef is 0
// the k of each search (a funnel's first stage asks for its keep).
type hnswEf struct {
	g  *index.HNSW
	ef int
}

func (h hnswEf) view(keep int) index.Searcher {
	if h.ef > 0 {
		return h.g.WithEf(h.ef)
	}
	return h.g.WithEf(keep)
}

func (h hnswEf) Search(q []float32, dim, k int, dst []index.Hit) ([]index.Hit, error) {
	return h.view(k).Search(q, dim, k, dst)
}

func (h hnswEf) SearchBatch(q []float32, ldq, dim, k int, dst [][]index.Hit) ([][]index.Hit, error) {
	return h.view(k).SearchBatch(q, ldq, dim, k, dst)
}

func efText(ef int) string {
	if ef > 0 {
		return fmt.Sprint(ef)
	}
	return "= the first keep"
}

// bestOf3 returns the shortest of three timed runs of run.
func bestOf3(run func() error) (time.Duration, error) {
	var b time.Duration
	for r := 0; r < 3; r++ {
		t0 := time.Now()
		if err := run(); err != nil {
			return 0, err
		}
		if el := time.Since(t0); r == 0 || el < b {
			b = el
		}
	}
	return b, nil
}

// singleLoop returns a run that searches the first ns queries (stride d)
// one at a time on the calling goroutine.
func singleLoop(s index.Searcher, q []float32, d, ns, k int) func() error {
	var dst []index.Hit
	return func() error {
		for i := 0; i < ns; i++ {
			var err error
			if dst, err = s.Search(q[i*d:(i+1)*d], d, k, dst); err != nil {
				return err
			}
		}
		return nil
	}
}

// loadAverage describes the machine's load (Linux), so that a reader can
// tell a time taken on a busy machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return fmt.Sprintf("load average %s %s %s", f[0], f[1], f[2])
}
