package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/gomrl/mrl/index"
)

func TestPairMetricsHandWorked(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rel            []bool
		k, nRel        int
		recall, rr, nd float64
	}{
		// One relevant doc at rank 3: R@10 = 1, RR = 1/3, nDCG = 1/log2(4) = 1/2.
		{"rank 3", bools(0, 0, 1), 10, 1, 1, 1.0 / 3, 0.5},
		{"rank 3, k=2", bools(0, 0, 1), 2, 1, 0, 0, 0},
		// Two relevant of 2, at ranks 1 and 3: DCG = 1 + 1/2, IDCG = 1 + 1/log2(3).
		{"two relevant", bools(1, 0, 1), 10, 2, 1, 1, 1.5 / (1 + 1/math.Log2(3))},
		// Two relevant of 4 in the top 3: R = 1/2; IDCG over min(3, 4) = 3 ranks.
		{"k below nRel", bools(0, 1, 1), 3, 4, 0.5, 0.5, (1/math.Log2(3) + 0.5) / (1 + 1/math.Log2(3) + 0.5)},
		{"no relevant", bools(0, 0), 10, 0, 0, 0, 0},
		{"empty list", nil, 10, 1, 0, 0, 0},
	} {
		if got := RecallAtRel(tc.rel, tc.k, tc.nRel); !near(got, tc.recall) {
			t.Errorf("%s: RecallAtRel = %v, want %v", tc.name, got, tc.recall)
		}
		if got := ReciprocalRank(tc.rel, tc.k); !near(got, tc.rr) {
			t.Errorf("%s: ReciprocalRank = %v, want %v", tc.name, got, tc.rr)
		}
		if got := NDCGAt(tc.rel, tc.k, tc.nRel); !near(got, tc.nd) {
			t.Errorf("%s: NDCGAt = %v, want %v", tc.name, got, tc.nd)
		}
	}
}

func TestMeanPairMetrics(t *testing.T) {
	hits := func(idx ...int32) []Neighbor {
		out := make([]Neighbor, len(idx))
		for i, x := range idx {
			out[i] = Neighbor{Index: x}
		}
		return out
	}
	// Diagonal: query 0 finds doc 0 at rank 1, query 1 finds doc 1 at
	// rank 2, query 2 misses doc 2.
	ranked := [][]Neighbor{hits(0, 1), hits(0, 1), hits(0, 1)}
	got, err := MeanPairMetrics(ranked, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := PairMetrics{Queries: 3, Recall1: 1.0 / 3, Recall10: 2.0 / 3, Recall100: 2.0 / 3,
		MRR10: 1.5 / 3, NDCG10: (1 + 1/math.Log2(3)) / 3}
	if !near(got.Recall1, want.Recall1) || !near(got.Recall10, want.Recall10) || !near(got.Recall100, want.Recall100) ||
		!near(got.MRR10, want.MRR10) || !near(got.NDCG10, want.NDCG10) || got.Queries != 3 {
		t.Errorf("MeanPairMetrics = %+v, want %+v", got, want)
	}
	// Explicit qrels: query 0 has docs 1 and 0 relevant.
	got, _ = MeanPairMetrics(ranked[:1], [][]int32{{1, 0}})
	if !near(got.Recall1, 0.5) || !near(got.Recall10, 1) || !near(got.NDCG10, 1) {
		t.Errorf("two relevant docs in the top 2: %+v, want R@1 1/2, R@10 1, nDCG 1", got)
	}
	if _, err := MeanPairMetrics(ranked, [][]int32{{0}}); err == nil {
		t.Errorf("MeanPairMetrics with 1 qrel list for 3 queries: no error")
	}
}

// naivePairMetrics is the reference: full cosine scores by plain loops,
// each query's relevant doc (the diagonal) ranked by counting the docs that
// score higher, the metrics read off that rank.
func naivePairMetrics(q []float32, nq int, docs []float32, nd, d, m int) PairMetrics {
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	pm := PairMetrics{Dim: m, Queries: nq}
	for i := range nq {
		qi := q[i*d : i*d+m]
		s := cos(qi, docs[i*d:i*d+m])
		rank := 1
		for j := range nd {
			if j != i && cos(qi, docs[j*d:j*d+m]) > s {
				rank++
			}
		}
		if rank == 1 {
			pm.Recall1++
		}
		if rank <= 10 {
			pm.Recall10++
			pm.MRR10 += 1 / float64(rank)
			pm.NDCG10 += 1 / math.Log2(float64(rank+1))
		}
		if rank <= 100 {
			pm.Recall100++
		}
	}
	n := float64(nq)
	pm.Recall1, pm.Recall10, pm.Recall100, pm.MRR10, pm.NDCG10 = pm.Recall1/n, pm.Recall10/n, pm.Recall100/n, pm.MRR10/n, pm.NDCG10/n
	return pm
}

func TestPairRetrievalMatchesNaive(t *testing.T) {
	const nq, nd, d = 150, 400, 24
	r := rand.New(rand.NewPCG(1, 2))
	docs := make([]float32, nd*d)
	for i := range docs {
		docs[i] = float32(r.NormFloat64())
	}
	// Query i is a noisy copy of doc i: good but imperfect retrieval, more
	// so at small dims.
	q := make([]float32, nq*d)
	for i := range q {
		q[i] = docs[i] + 1.2*float32(r.NormFloat64())
	}
	dims := []int{2, 4, 8, 24}
	got, err := PairRetrieval(q, nq, docs, nd, d, nil, dims)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range dims {
		want := naivePairMetrics(q, nq, docs, nd, d, m)
		g := got[i]
		const tol = 1e-6
		if g.Dim != m || g.Queries != nq || math.Abs(g.Recall1-want.Recall1) > tol || math.Abs(g.Recall10-want.Recall10) > tol ||
			math.Abs(g.Recall100-want.Recall100) > tol || math.Abs(g.MRR10-want.MRR10) > tol || math.Abs(g.NDCG10-want.NDCG10) > tol {
			t.Errorf("dim %d: PairRetrieval = %+v\nnaive %+v", m, g, want)
		}
	}
	if got[0].Recall10 >= got[3].Recall10 || got[3].Recall1 == 0 {
		t.Errorf("recall@10 at dim 2 (%v) not below dim 24 (%v): the test data do not separate dims", got[0].Recall10, got[3].Recall10)
	}
	if _, err := PairRetrieval(q, nq, docs, nd, d, nil, []int{25}); err == nil {
		t.Errorf("dim 25 of 24: no error")
	}
	if _, err := NewPairSet(q, nq, docs[:100*d], 100, d, nil); err == nil {
		t.Errorf("150 queries, 100 docs, diagonal relevance: no error")
	}
}

func TestReciprocalRankFusion(t *testing.T) {
	a := [][]Neighbor{{{Index: 3}, {Index: 1}, {Index: 2}}}
	b := [][]Neighbor{{{Index: 1}, {Index: 4}}}
	got, err := ReciprocalRankFusion(60, 3, a, b)
	if err != nil {
		t.Fatal(err)
	}
	// Doc 1: 1/62 + 1/61; doc 3: 1/61; doc 4: 1/62; doc 2: 1/63.
	var idx []int32
	for _, h := range got[0] {
		idx = append(idx, h.Index)
	}
	if !slices.Equal(idx, []int32{1, 3, 4}) || !near(float64(got[0][0].Score), float64(float32(1.0/62+1.0/61))) {
		t.Errorf("fused = %+v, want docs 1, 3, 4 with doc 1 at 1/62+1/61", got[0])
	}
	// Ties (same ranks in swapped systems) go to the smaller index.
	got, _ = ReciprocalRankFusion(60, 10, [][]Neighbor{{{Index: 9}, {Index: 5}}}, [][]Neighbor{{{Index: 5}, {Index: 9}}})
	if got[0][0].Index != 5 || got[0][1].Index != 9 {
		t.Errorf("tie: %+v, want 5 before 9", got[0])
	}
	if _, err := ReciprocalRankFusion(60, 10, a, [][]Neighbor{}); err == nil {
		t.Errorf("rankings of 1 and 0 queries: no error")
	}
	// The reference: sum by hand over a random pair of permutations.
	r := rand.New(rand.NewPCG(3, 4))
	p1, p2 := r.Perm(50), r.Perm(50)
	l1, l2 := make([]Neighbor, 50), make([]Neighbor, 30)
	score := map[int]float64{}
	for i := range l1 {
		l1[i] = Neighbor{Index: int32(p1[i])}
		score[p1[i]] += 1 / float64(60+i+1)
	}
	for i := range l2 {
		l2[i] = Neighbor{Index: int32(p2[i])}
		score[p2[i]] += 1 / float64(60+i+1)
	}
	ids := make([]int, 0, 50)
	for id := range score {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if score[ids[i]] != score[ids[j]] {
			return score[ids[i]] > score[ids[j]]
		}
		return ids[i] < ids[j]
	})
	got, _ = ReciprocalRankFusion(60, 20, [][]Neighbor{l1}, [][]Neighbor{l2})
	for i, h := range got[0] {
		if int(h.Index) != ids[i] {
			t.Fatalf("fused rank %d = doc %d, want %d", i+1, h.Index, ids[i])
		}
	}
}

// TestPairSetRun: a one-stage plan keeping 100 is exact search at its dim;
// a funnel whose first stage keeps every document is exact search at its
// last dim; a funnel with a short list can only lose recall@10, and its
// cost is the plan's cost model.
func TestPairSetRun(t *testing.T) {
	const nq, nd, d = 120, 300, 16
	r := rand.New(rand.NewPCG(3, 4))
	docs := make([]float32, nd*d)
	for i := range docs {
		docs[i] = float32(r.NormFloat64())
	}
	q := make([]float32, nq*d)
	for i := range q {
		q[i] = docs[i] + 1.2*float32(r.NormFloat64())
	}
	s, err := NewPairSet(q, nq, docs, nd, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := s.Exact([]int{4, 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plan  index.Plan
		want  PairMetrics
		equal bool
	}{
		{index.Plan{{Dim: 16, Keep: 100}}, exact[1], true},
		{index.Plan{{Dim: 4, Keep: 100}}, exact[0], true},
		{index.Plan{{Dim: 4, Keep: nd}, {Dim: 16, Keep: 10}}, exact[1], true},
		{index.Plan{{Dim: 4, Keep: 20}, {Dim: 16, Keep: 10}}, exact[1], false},
	} {
		got, err := s.Run(tc.plan)
		if err != nil {
			t.Fatalf("Run(%s): %v", tc.plan, err)
		}
		if got.FLOPs != tc.plan.FLOPs(nd) || got.Plan != tc.plan.String() {
			t.Errorf("Run(%s): plan %q FLOPs %d, want %q %d", tc.plan, got.Plan, got.FLOPs, tc.plan.String(), tc.plan.FLOPs(nd))
		}
		g, w := got.Metrics, tc.want
		if tc.equal {
			if tc.plan[len(tc.plan)-1].Keep < 100 {
				g.Recall100, w.Recall100 = 0, 0 // a list of 10 cannot hold recall@100
			}
			if math.Abs(g.Recall1-w.Recall1) > 1e-9 || math.Abs(g.Recall10-w.Recall10) > 1e-9 || math.Abs(g.Recall100-w.Recall100) > 1e-9 ||
				math.Abs(g.MRR10-w.MRR10) > 1e-9 || math.Abs(g.NDCG10-w.NDCG10) > 1e-9 {
				t.Errorf("Run(%s) = %+v, want exact %+v", tc.plan, g, w)
			}
		} else if g.Recall10 > w.Recall10+1e-9 {
			t.Errorf("Run(%s) recall@10 %v above exact %v", tc.plan, g.Recall10, w.Recall10)
		}
	}
	if _, err := s.Run(index.Plan{{Dim: 17, Keep: 10}}); err == nil {
		t.Error("Run at dim 17 of 16: no error")
	}
	if _, err := s.Run(index.Plan{{Dim: 16, Keep: 5}}); err == nil {
		t.Error("Run keeping 5 (< 10): no error")
	}
}
