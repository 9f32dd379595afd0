package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// Pair retrieval: each query has its own relevant documents (qrels), as in
// text retrieval (a package's synopsis retrieves its long description),
// rather than "every row of the query's label" as in RetrievalSet.
//
// Conventions:
//
//   - ranked[i] is query i's result list, best first; Neighbor.Index is the
//     document's row.
//   - relevant[i] lists the rows relevant to query i (binary relevance). A
//     nil relevant means the diagonal: document i is the one relevant row
//     of query i, as in a data.TextSet split.
//   - Missing ranks (a list shorter than k) count as not relevant. A query
//     with no relevant row scores 0 on every metric and still counts in the
//     means.

// PairDepth is the depth of the rankings the pair metrics need: recall is
// measured up to rank 100.
const PairDepth = 100

// PairMetrics are means over queries of the pair retrieval metrics.
type PairMetrics struct {
	Dim       int     `json:"dim,omitempty"` // prefix dim of an embedding; 0 for a scorer such as BM25
	Queries   int     `json:"queries"`
	Recall1   float64 `json:"recall_at_1"`   // RecallAtRel at k = 1
	Recall10  float64 `json:"recall_at_10"`  // at k = 10
	Recall100 float64 `json:"recall_at_100"` // at k = 100
	MRR10     float64 `json:"mrr_at_10"`     // ReciprocalRank at k = 10
	NDCG10    float64 `json:"ndcg_at_10"`    // NDCGAt at k = 10
}

// RecallAtRel is |relevant in the top k| / nRel (0 when nRel = 0), for
// the relevance list rel of one query.
func RecallAtRel(rel []bool, k, nRel int) float64 { return RecallAt(rel, k, nRel) }

// ReciprocalRank is 1/r for the rank r ≤ k of the first relevant result,
// and 0 when none of the top k is relevant. Its mean is MRR@k.
func ReciprocalRank(rel []bool, k int) float64 {
	for i, r := range rel[:min(k, len(rel))] {
		if r {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// NDCGAt is the normalised discounted cumulative gain at k with binary
// gains:
//
//	DCG@k  = Σ_{i ≤ k, rel_i} 1/log2(i+1)
//	IDCG@k = Σ_{i ≤ min(k, nRel)} 1/log2(i+1)
//	nDCG@k = DCG@k / IDCG@k,
//
// with ranks i from 1; it is 0 when nRel = 0. With one relevant document
// at rank r ≤ k it is 1/log2(r+1).
func NDCGAt(rel []bool, k, nRel int) float64 {
	if nRel <= 0 || k <= 0 {
		return 0
	}
	var dcg, idcg float64
	for i, r := range rel[:min(k, len(rel))] {
		if r {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(k, nRel) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}

// MeanPairMetrics returns the pair metrics of the rankings averaged over
// the queries (see the conventions above). relevant must be nil or hold
// one list per query.
func MeanPairMetrics(ranked [][]Neighbor, relevant [][]int32) (PairMetrics, error) {
	if relevant != nil && len(relevant) != len(ranked) {
		return PairMetrics{}, fmt.Errorf("eval: pair metrics: %d relevance lists for %d queries", len(relevant), len(ranked))
	}
	m := PairMetrics{Queries: len(ranked)}
	if len(ranked) == 0 {
		return m, nil
	}
	diag := make([]int32, 1)
	for i, r := range ranked {
		rs := diag
		if relevant != nil {
			rs = relevant[i]
		} else {
			diag[0] = int32(i)
		}
		rel := make([]bool, len(r))
		for j, h := range r {
			rel[j] = slices.Contains(rs, h.Index)
		}
		m.Recall1 += RecallAtRel(rel, 1, len(rs))
		m.Recall10 += RecallAtRel(rel, 10, len(rs))
		m.Recall100 += RecallAtRel(rel, 100, len(rs))
		m.MRR10 += ReciprocalRank(rel, 10)
		m.NDCG10 += NDCGAt(rel, 10, len(rs))
	}
	n := float64(len(ranked))
	m.Recall1 /= n
	m.Recall10 /= n
	m.Recall100 /= n
	m.MRR10 /= n
	m.NDCG10 /= n
	return m, nil
}

// PairSet is a pair retrieval benchmark over embeddings: nq queries and nd
// documents, both row-major with stride d, searched by cosine of
// re-normalised prefixes with index.Flat. It is not safe for concurrent
// use.
type PairSet struct {
	Q        []float32
	NQ, ND   int
	D        int
	Relevant [][]int32 // nil: document i is query i's relevant row

	v    *index.Vectors
	flat *index.Flat
}

// NewPairSet returns a set over the given embeddings (not copied).
func NewPairSet(q []float32, nq int, docs []float32, nd, d int, relevant [][]int32) (*PairSet, error) {
	if d < 1 || nq < 0 || nd < 0 || len(q) < nq*d || len(docs) < nd*d {
		return nil, fmt.Errorf("eval: pair set: %d queries and %d docs of dim %d need %d and %d floats, got %d and %d",
			nq, nd, d, nq*d, nd*d, len(q), len(docs))
	}
	if relevant == nil && nq > nd {
		return nil, fmt.Errorf("eval: pair set: %d queries but %d docs: the diagonal relevance needs a doc per query", nq, nd)
	}
	if relevant != nil && len(relevant) != nq {
		return nil, fmt.Errorf("eval: pair set: %d relevance lists for %d queries", len(relevant), nq)
	}
	v, err := index.NewVectors(docs[:nd*d:nd*d], nd, d, mrl.Cosine, nil)
	if err != nil {
		return nil, fmt.Errorf("eval: pair set: %w", err)
	}
	return &PairSet{Q: q[:nq*d], NQ: nq, ND: nd, D: d, Relevant: relevant, v: v, flat: index.NewFlat(v)}, nil
}

// Rank returns the top depth documents of every query by cosine at dim m.
func (s *PairSet) Rank(m, depth int) ([][]Neighbor, error) {
	if m < 1 || m > s.D {
		return nil, fmt.Errorf("eval: dim %d outside 1..%d", m, s.D)
	}
	if s.NQ == 0 {
		return nil, nil
	}
	hits, err := s.flat.SearchBatch(s.Q, s.D, m, depth, nil)
	if err != nil {
		return nil, fmt.Errorf("eval: pair retrieval at dim %d: %w", m, err)
	}
	return hits, nil
}

// Exact returns the pair metrics of exact cosine search at every dim of
// dims.
func (s *PairSet) Exact(dims []int) ([]PairMetrics, error) {
	out := make([]PairMetrics, 0, len(dims))
	for _, m := range dims {
		hits, err := s.Rank(m, PairDepth)
		if err != nil {
			return nil, err
		}
		pm, err := MeanPairMetrics(hits, s.Relevant)
		if err != nil {
			return nil, err
		}
		pm.Dim, pm.Queries = m, s.NQ
		out = append(out, pm)
	}
	return out, nil
}

// PairPlanMetrics are the pair metrics of one search plan (a funnel, an
// adaptive shortlist-and-rerank plan, or exact search as one stage) with
// its cost: MulAdds and FLOPs by index.Plan's cost model over ND rows
// (see PlanMetrics), and the measured wall-clock of all queries.
type PairPlanMetrics struct {
	Plan    string      `json:"plan"`
	MulAdds int64       `json:"mul_adds"`
	FLOPs   int64       `json:"flops"`
	Metrics PairMetrics `json:"metrics"`
	// Wall is the wall-clock time of all queries through
	// index.Funnel.SearchBatch (every stage's prefix norms prepared before
	// the clock starts); PerQuery is Wall/NQ. Both depend on the machine and its load.
	Wall     time.Duration `json:"wall_ns"`
	PerQuery time.Duration `json:"per_query_ns"`
}

// Run executes plan for every query, as RetrievalSet.Run does, and returns
// its pair metrics. The last stage must keep at least 10 documents (the
// depth of recall@10, MRR@10 and nDCG@10); recall@100 counts only the
// documents the plan returns, so it is comparable with Exact's only when
// the last stage keeps 100 or more.
func (s *PairSet) Run(plan index.Plan) (PairPlanMetrics, error) {
	if len(plan) == 0 {
		return PairPlanMetrics{}, fmt.Errorf("eval: empty plan")
	}
	last := plan[len(plan)-1]
	if last.Dim < 1 || last.Dim > s.D {
		return PairPlanMetrics{}, fmt.Errorf("eval: plan %s: dim %d outside 1..%d", plan, last.Dim, s.D)
	}
	if err := plan.Validate(last.Dim, 10); err != nil {
		return PairPlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	full := slices.Clone(plan)
	if last.Dim < s.D {
		full = append(full, index.Stage{Dim: s.D, Keep: last.Keep})
	}
	f, err := index.NewFunnel(s.v, full, s.flat)
	if err != nil {
		return PairPlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	// Every stage's prefix norms are computed before the clock starts, as
	// an index would at build time.
	dims := make([]int, len(full))
	for i, st := range full {
		dims[i] = st.Dim
	}
	if err := s.v.Prepare(dims...); err != nil {
		return PairPlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	start := time.Now()
	hits, err := f.SearchBatch(s.Q, s.D, last.Dim, last.Keep, nil)
	wall := time.Since(start)
	if err != nil {
		return PairPlanMetrics{}, fmt.Errorf("eval: plan %s: %w", plan, err)
	}
	m, err := MeanPairMetrics(hits, s.Relevant)
	if err != nil {
		return PairPlanMetrics{}, err
	}
	m.Dim = last.Dim
	pm := PairPlanMetrics{Plan: plan.String(), MulAdds: plan.MulAdds(s.ND), FLOPs: plan.FLOPs(s.ND), Metrics: m, Wall: wall}
	if s.NQ > 0 {
		pm.PerQuery = wall / time.Duration(s.NQ)
	}
	return pm, nil
}

// PairRetrieval is NewPairSet followed by Exact.
func PairRetrieval(q []float32, nq int, docs []float32, nd, d int, relevant [][]int32, dims []int) ([]PairMetrics, error) {
	s, err := NewPairSet(q, nq, docs, nd, d, relevant)
	if err != nil {
		return nil, err
	}
	return s.Exact(dims)
}

// DefaultRRFK is the constant of reciprocal-rank fusion that Cormack,
// Clarke and Büttcher (SIGIR 2009) found robust.
const DefaultRRFK = 60

// ReciprocalRankFusion merges the rankings of several systems for the same
// queries: a document's fused score is Σ_s 1/(k + r_s), over the systems s
// that ranked it, at 1-based rank r_s. Each query keeps its depth best
// documents by fused score, ties broken by the smaller row index; the
// Neighbor's Score is the fused score and its ID the first system's ID for
// the row. Every element of lists must hold the same number of queries.
func ReciprocalRankFusion(k, depth int, lists ...[][]Neighbor) ([][]Neighbor, error) {
	if len(lists) == 0 {
		return nil, nil
	}
	if k < 0 || depth < 0 {
		return nil, fmt.Errorf("eval: rank fusion with k = %d and depth = %d, want both ≥ 0", k, depth)
	}
	nq := len(lists[0])
	for i, l := range lists {
		if len(l) != nq {
			return nil, fmt.Errorf("eval: rank fusion: ranking %d has %d queries, ranking 0 has %d", i, len(l), nq)
		}
	}
	out := make([][]Neighbor, nq)
	for q := range nq {
		type acc struct {
			n Neighbor
			s float64
		}
		fused := map[int32]*acc{}
		for _, l := range lists {
			for r, h := range l[q] {
				f := fused[h.Index]
				if f == nil {
					f = &acc{n: Neighbor{ID: h.ID, Index: h.Index}}
					fused[h.Index] = f
				}
				f.s += 1 / float64(k+r+1)
			}
		}
		all := make([]acc, 0, len(fused))
		for _, f := range fused {
			all = append(all, *f)
		}
		slices.SortFunc(all, func(a, b acc) int {
			if c := cmp.Compare(b.s, a.s); c != 0 {
				return c
			}
			return cmp.Compare(a.n.Index, b.n.Index)
		})
		out[q] = make([]Neighbor, min(depth, len(all)))
		for i := range out[q] {
			out[q][i] = all[i].n
			out[q][i].Score = float32(all[i].s)
		}
	}
	return out, nil
}
