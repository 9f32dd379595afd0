package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl/index"
)

// randomSet returns n database rows and nq queries of dim d drawn around
// one random centre per class, so that prefixes carry label information.
func randomSet(t *testing.T, n, nq, d, classes int, seed uint64) *RetrievalSet {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	centres := make([]float32, classes*d)
	for i := range centres {
		centres[i] = float32(r.NormFloat64())
	}
	gen := func(rows int) ([]float32, []int32) {
		x, y := make([]float32, rows*d), make([]int32, rows)
		for i := range y {
			y[i] = int32(r.IntN(classes))
			for j := 0; j < d; j++ {
				x[i*d+j] = centres[int(y[i])*d+j] + 1.5*float32(r.NormFloat64())
			}
		}
		return x, y
	}
	db, dbY := gen(n)
	q, qY := gen(nq)
	s, err := NewRetrievalSet(db, dbY, n, q, qY, nq, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRetrievalHandWorked(t *testing.T) {
	// Database rows with labels; one query (1, 0, 5) of label 0.
	// On the 2-dim prefix the cosines to the query are 1 (row 0, label 0),
	// 0.9/|(0.9,0.3)| = 0.949 (row 1, label 1), 0.6 (row 3, label 0), 0
	// (row 2, label 1): relevance 1,0,1,0 with 2 relevant rows.
	// P@2 = 1/2, AP@2 = 1/min(2,2) = 1/2, R@2 = 1/2;
	// P@3 = 2/3, AP@3 = (1 + 2/3)/2 = 5/6, official (1 + 2/3)/3 = 5/9, R@3 = 1.
	// On the 1-dim prefix rows 0, 1, 3 tie at cosine 1, so only the
	// 3-dim case is checked beyond that.
	db := []float32{
		2, 0, -9,
		0.9, 0.3, 0,
		0, 1, 0,
		0.6, 0.8, 0,
	}
	dbY := []int32{0, 1, 1, 0}
	got, err := Retrieval(db, dbY, 4, []float32{1, 0, 5}, []int32{0}, 1, 3, []int{2}, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []RankMetrics{
		{K: 2, MAP: 0.5, MAPOfficial: 0.5, Precision: 0.5, Recall: 0.5, HitRate: 1},
		{K: 3, MAP: 5.0 / 6, MAPOfficial: 5.0 / 9, Precision: 2.0 / 3, Recall: 1, HitRate: 1},
	}
	for j, w := range want {
		g := got[0].Metrics[j]
		if g.K != w.K || !near(g.MAP, w.MAP) || !near(g.MAPOfficial, w.MAPOfficial) || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || g.HitRate != w.HitRate {
			t.Errorf("Retrieval(dim 2, k=%d) = %+v, want %+v", w.K, g, w)
		}
	}
}

func TestPlanCost(t *testing.T) {
	for _, tc := range []struct {
		plan index.Plan
		n    int
		want int64
	}{
		{AdaptivePlan(16, 200, 64, 10), 1000, 1000*16 + 200*64},
		{FunnelPlan([]int{16, 32, 64, 128, 256, 512}, []int{200, 100, 50, 25, 10, 10}), 10000,
			10000*16 + 200*32 + 100*64 + 50*128 + 25*256 + 10*512},
		{index.Plan{{Dim: 64, Keep: 10}}, 500, 500 * 64},
	} {
		if got := tc.plan.MulAdds(tc.n); got != tc.want {
			t.Errorf("MulAdds(%v, n=%d) = %d, want %d", tc.plan, tc.n, got, tc.want)
		}
	}
}

// A plan whose first stage keeps every row is exact search at its last
// dim, and a one-stage plan is exact search at its dim.
func TestRunMatchesExact(t *testing.T) {
	s := randomSet(t, 400, 50, 16, 5, 1)
	ks := []int{1, 5, 10}
	exact, err := s.Exact([]int{4, 16}, ks)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plan index.Plan
		want []RankMetrics
	}{
		{index.Plan{{Dim: 16, Keep: 10}}, exact[1].Metrics},
		{index.Plan{{Dim: 4, Keep: 10}}, exact[0].Metrics},
		{AdaptivePlan(2, 400, 16, 10), exact[1].Metrics},
		{FunnelPlan([]int{2, 4, 16}, []int{400, 400, 10}), exact[1].Metrics},
	} {
		got, err := s.Run(tc.plan, ks)
		if err != nil {
			t.Fatalf("Run(%v): %v", tc.plan, err)
		}
		for j := range ks {
			g, w := got.Metrics[j], tc.want[j]
			if !near(g.MAP, w.MAP) || !near(g.Precision, w.Precision) || !near(g.MAPOfficial, w.MAPOfficial) {
				t.Errorf("Run(%v) at k=%d = %+v, want %+v", tc.plan, ks[j], g, w)
			}
		}
		if got.Wall <= 0 || got.PerQuery <= 0 || got.MulAdds != tc.plan.MulAdds(s.N) || got.FLOPs != 2*got.MulAdds {
			t.Errorf("Run(%v) cost/time = %d mul-adds, %d FLOPs, %v wall, %v per query", tc.plan, got.MulAdds, got.FLOPs, got.Wall, got.PerQuery)
		}
	}
	// A shortlist narrower than the database loses little on this easy set.
	got, err := s.Run(AdaptivePlan(4, 50, 16, 10), ks)
	if err != nil {
		t.Fatal(err)
	}
	if got.Metrics[2].MAP < exact[0].Metrics[2].MAP-0.05 {
		t.Errorf("Run(4:50,16:10) mAP@10 = %v, want at least that of exact 4-dim search %v", got.Metrics[2].MAP, exact[0].Metrics[2].MAP)
	}
}

func TestRunErrors(t *testing.T) {
	s := randomSet(t, 50, 5, 8, 3, 2)
	for _, tc := range []struct {
		plan index.Plan
		ks   []int
	}{
		{AdaptivePlan(4, 20, 8, 5), []int{10}},                       // k beyond the last keep
		{AdaptivePlan(4, 20, 16, 10), []int{10}},                     // dim beyond D
		{index.Plan{{Dim: 8, Keep: 5}, {Dim: 4, Keep: 5}}, []int{5}}, // dims decrease
		{nil, []int{5}},
		{AdaptivePlan(4, 20, 8, 5), nil},
	} {
		if _, err := s.Run(tc.plan, tc.ks); err == nil {
			t.Errorf("Run(%v, %v) = nil error, want one", tc.plan, tc.ks)
		}
	}
	if _, err := s.Exact([]int{9}, []int{1}); err == nil {
		t.Errorf("Exact(dim 9 > D 8) = nil error, want one")
	}
}

func TestAdaptiveGrid(t *testing.T) {
	got := AdaptiveGrid([]int{8, 16}, []int{5, 100}, []int{16, 32}, 10)
	want := []string{"8:100,16:10", "8:100,32:10", "16:100,32:10"}
	if len(got) != len(want) {
		t.Fatalf("AdaptiveGrid = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("AdaptiveGrid[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
