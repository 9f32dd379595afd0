package eval

import (
	"fmt"
	"slices"
	"time"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// RetrievalSet is a labelled retrieval benchmark: a database (in the paper,
// the training embeddings) and queries (the test embeddings), both n×d
// row-major with stride d. A query's relevant rows are the database rows
// with its label. Similarity is the cosine of re-normalised prefixes,
// searched by the index package (index.Flat, index.Funnel) over the
// database as index.Vectors, which keep per-prefix norms (and, for dims up
// to 64, a blocked copy) of the dims searched. It is not safe for
// concurrent use.
type RetrievalSet struct {
	DB       []float32
	DBLabels []int32
	N        int
	Q        []float32
	QLabels  []int32
	NQ       int
	D        int

	counts map[int32]int
	v      *index.Vectors
	built  *index.Built // exact: Flat, and funnels of plans over it
}

// NewRetrievalSet returns a set over the given embeddings (not copied).
func NewRetrievalSet(db []float32, dbLabels []int32, n int, q []float32, qLabels []int32, nq, d int) (*RetrievalSet, error) {
	if len(db) < n*d || len(dbLabels) < n || len(q) < nq*d || len(qLabels) < nq {
		return nil, fmt.Errorf("eval: retrieval set: %d db rows and %d queries of dim %d need %d+%d floats and %d+%d labels, got %d+%d and %d+%d",
			n, nq, d, n*d, nq*d, n, nq, len(db), len(q), len(dbLabels), len(qLabels))
	}
	v, err := index.NewVectors(db[:n*d:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		return nil, fmt.Errorf("eval: retrieval set: %w", err)
	}
	built, err := index.Build(v, index.Spec{}, nil)
	if err != nil {
		return nil, fmt.Errorf("eval: retrieval set: %w", err)
	}
	return &RetrievalSet{DB: db, DBLabels: dbLabels[:n], N: n, Q: q[:nq*d], QLabels: qLabels[:nq], NQ: nq, D: d,
		counts: LabelCounts(dbLabels[:n]), v: v, built: built}, nil
}

// Counts returns the number of database rows of each label.
func (s *RetrievalSet) Counts() map[int32]int { return s.counts }

func (s *RetrievalSet) checkDim(m int) error {
	if m < 1 || m > s.D {
		return fmt.Errorf("eval: dim %d outside 1..%d", m, s.D)
	}
	return nil
}

// DimMetrics are the retrieval metrics of exact search at one prefix dim,
// one entry per cutoff k.
type DimMetrics struct {
	Dim     int           `json:"dim"`
	Metrics []RankMetrics `json:"metrics"`
}

// Exact returns, for each dim of dims, the metrics at every cutoff of ks of
// exact cosine search over the re-normalised m-prefixes of database and
// queries, ranking the top max(ks) rows of each query.
func (s *RetrievalSet) Exact(dims, ks []int) ([]DimMetrics, error) {
	if len(ks) == 0 {
		return nil, fmt.Errorf("eval: retrieval: no cutoffs k")
	}
	kmax := slices.Max(ks)
	out := make([]DimMetrics, 0, len(dims))
	for _, m := range dims {
		if err := s.checkDim(m); err != nil {
			return nil, err
		}
		hits, err := s.built.Flat.SearchBatch(s.Q, s.D, m, kmax, nil)
		if err != nil {
			return nil, fmt.Errorf("eval: retrieval at dim %d: %w", m, err)
		}
		out = append(out, DimMetrics{Dim: m, Metrics: MeanMetrics(hits, s.QLabels, s.DBLabels, s.counts, ks)})
	}
	return out, nil
}

// Retrieval is NewRetrievalSet followed by Exact: per dim of dims, the
// mAP@k (both definitions), P@k, R@k and top-k hit rate of every k of ks,
// for n database rows db (labels dbLabels) and nq queries q (labels
// qLabels) of dim d.
func Retrieval(db []float32, dbLabels []int32, n int, q []float32, qLabels []int32, nq, d int, dims, ks []int) ([]DimMetrics, error) {
	s, err := NewRetrievalSet(db, dbLabels, n, q, qLabels, nq, d)
	if err != nil {
		return nil, err
	}
	return s.Exact(dims, ks)
}

// PlanMetrics are the results of running a funnel plan over a RetrievalSet.
//
// The cost model is index.Plan's: per query, a plan of stages (d_1, K_1),
// (d_2, K_2), ... over n rows costs
//
//	MulAdds = n·d_1 + K_1·d_2 + K_2·d_3 + ...
//
// multiply-adds of dot products (each shortlist capped at n), and FLOPs =
// 2·MulAdds. It leaves out what does not grow with the dims: top-k
// selection, and the norms, which a real index stores per prefix. Adaptive
// retrieval (shortlist K at D_s, rerank at D_r) is the two-stage plan
// {(D_s, K), (D_r, k)} and costs n·D_s + K·D_r; exact search at dim D is
// {(D, k)} and costs n·D.
type PlanMetrics struct {
	Plan    string        `json:"plan"` // e.g. "16:200,64:50,2048:10"
	MulAdds int64         `json:"mul_adds"`
	FLOPs   int64         `json:"flops"`
	Metrics []RankMetrics `json:"metrics"`
	// Wall is the measured wall-clock time of all queries through
	// index.Funnel.SearchBatch: one batched exact search at the first
	// stage's dim, then a cosine rerank per later stage. The prefix norms
	// are computed before the clock starts, as an index would at build
	// time. PerQuery is Wall/NQ; both depend on the machine and its load.
	Wall     time.Duration `json:"wall_ns"`
	PerQuery time.Duration `json:"per_query_ns"`
}

// Run executes plan for every query and returns its metrics at every cutoff
// of ks, which must not exceed the last stage's Keep. The plan must have
// strictly increasing dims within 1..D and non-increasing keeps (see
// index.Plan.Validate; its last dim need not be D). The first stage is an
// exact cosine search of all rows at its dim; each later stage re-scores the
// previous shortlist by cosine at its dim (index.Funnel).
func (s *RetrievalSet) Run(plan index.Plan, ks []int) (PlanMetrics, error) {
	if len(plan) == 0 || len(ks) == 0 {
		return PlanMetrics{}, fmt.Errorf("eval: plan %q with cutoffs %v: need a stage and a cutoff", plan, ks)
	}
	last := plan[len(plan)-1]
	if err := plan.Validate(min(last.Dim, s.D), slices.Max(ks)); err != nil {
		return PlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	if err := s.checkDim(last.Dim); err != nil {
		return PlanMetrics{}, err
	}
	// A plan ending below D runs as the funnel of the plan extended to D,
	// searched at the plan's last dim.
	full := slices.Clone(plan)
	if last.Dim < s.D {
		full = append(full, index.Stage{Dim: s.D, Keep: last.Keep})
	}
	f, err := s.built.Plan(full)
	if err != nil {
		return PlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	if err := s.v.Prepare(plan[0].Dim); err != nil {
		return PlanMetrics{}, fmt.Errorf("eval: %w", err)
	}
	start := time.Now()
	hits, err := f.SearchBatch(s.Q, s.D, last.Dim, last.Keep, nil)
	wall := time.Since(start)
	if err != nil {
		return PlanMetrics{}, fmt.Errorf("eval: plan %s: %w", plan, err)
	}

	pm := PlanMetrics{
		Plan:    plan.String(),
		MulAdds: plan.MulAdds(s.N),
		FLOPs:   plan.FLOPs(s.N),
		Metrics: MeanMetrics(hits, s.QLabels, s.DBLabels, s.counts, ks),
		Wall:    wall,
	}
	if s.NQ > 0 {
		pm.PerQuery = wall / time.Duration(s.NQ)
	}
	return pm, nil
}

// AdaptivePlan is adaptive retrieval: shortlist the best shortlist rows by
// the ds-prefix, then rerank them by the dr-prefix and keep k.
func AdaptivePlan(ds, shortlist, dr, k int) index.Plan {
	return index.Plan{{Dim: ds, Keep: shortlist}, {Dim: dr, Keep: k}}
}

// AdaptiveGrid returns the adaptive plans for every D_s of shortlistDims,
// shortlist size of shortlists and D_r of rerankDims with D_s < D_r, each
// keeping k; the order is D_s, then K, then D_r.
func AdaptiveGrid(shortlistDims, shortlists, rerankDims []int, k int) []index.Plan {
	var out []index.Plan
	for _, ds := range shortlistDims {
		for _, sl := range shortlists {
			for _, dr := range rerankDims {
				if ds < dr && sl >= k {
					out = append(out, AdaptivePlan(ds, sl, dr, k))
				}
			}
		}
	}
	return out
}

// FunnelPlan zips dims and keeps into a plan: stage i scores at dims[i] and
// keeps keeps[i]. FunnelPlan([16 32 64 128 256 512], [200 100 50 25 10 10])
// is the paper's funnel ending at 512 dims. It panics if the lengths differ.
func FunnelPlan(dims, keeps []int) index.Plan {
	if len(dims) != len(keeps) {
		panic("eval: FunnelPlan dims and keeps differ in length")
	}
	p := make(index.Plan, len(dims))
	for i := range dims {
		p[i] = index.Stage{Dim: dims[i], Keep: keeps[i]}
	}
	return p
}
