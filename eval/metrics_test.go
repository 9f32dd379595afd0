package eval

import (
	"math"
	"testing"
)

func bools(xs ...int) []bool {
	b := make([]bool, len(xs))
	for i, x := range xs {
		b[i] = x != 0
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRankMetricsHandWorked(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		rel                       []bool
		k, nRel                   int
		p, ap, apOfficial, r, hit float64
	}{
		// Ranks 1 and 3 relevant of 3 in the database: P@1 = 1, P@3 = 2/3.
		// AP@5 = (1 + 2/3)/min(5,3) = 5/9; official (1 + 2/3)/5 = 1/3.
		{"worked k=5", bools(1, 0, 1, 0, 0), 5, 3, 0.4, 5.0 / 9, 1.0 / 3, 2.0 / 3, 1},
		{"worked k=3", bools(1, 0, 1, 0, 0), 3, 3, 2.0 / 3, 5.0 / 9, 5.0 / 9, 2.0 / 3, 1},
		{"worked k=1", bools(1, 0, 1, 0, 0), 1, 3, 1, 1, 1, 1.0 / 3, 1},
		// First hit at rank 2 of 4 relevant: AP@2 = (1/2)/2.
		{"late hit", bools(0, 1), 2, 4, 0.5, 0.25, 0.25, 0.25, 1},
		// Only 2 results for k = 5, both relevant, 2 relevant in all:
		// standard AP is perfect, the official one is capped at 2/5.
		{"k beyond results", bools(1, 1), 5, 2, 0.4, 1, 0.4, 1, 1},
		{"no relevant rows", bools(0, 0, 0), 3, 0, 0, 0, 0, 0, 0},
		{"relevant rows not retrieved", bools(0, 0, 0), 3, 7, 0, 0, 0, 0, 0},
		{"empty list", nil, 3, 1, 0, 0, 0, 0, 0},
		{"k=0", bools(1), 0, 1, 0, 0, 0, 0, 0},
	} {
		if got := PrecisionAt(tc.rel, tc.k); !near(got, tc.p) {
			t.Errorf("%s: PrecisionAt(%v, %d) = %v, want %v", tc.name, tc.rel, tc.k, got, tc.p)
		}
		if got := APAt(tc.rel, tc.k, tc.nRel); !near(got, tc.ap) {
			t.Errorf("%s: APAt(%v, %d, %d) = %v, want %v", tc.name, tc.rel, tc.k, tc.nRel, got, tc.ap)
		}
		if got := APAtOfficial(tc.rel, tc.k); !near(got, tc.apOfficial) {
			t.Errorf("%s: APAtOfficial(%v, %d) = %v, want %v", tc.name, tc.rel, tc.k, got, tc.apOfficial)
		}
		if got := RecallAt(tc.rel, tc.k, tc.nRel); !near(got, tc.r) {
			t.Errorf("%s: RecallAt(%v, %d, %d) = %v, want %v", tc.name, tc.rel, tc.k, tc.nRel, got, tc.r)
		}
		if got := HitAt(tc.rel, tc.k); got != tc.hit {
			t.Errorf("%s: HitAt(%v, %d) = %v, want %v", tc.name, tc.rel, tc.k, got, tc.hit)
		}
	}
}

func TestMeanMetrics(t *testing.T) {
	// Database labels: three rows of label 0, two of label 1, one of label 2.
	dbLabels := []int32{0, 1, 0, 1, 0, 2}
	counts := LabelCounts(dbLabels)
	if counts[0] != 3 || counts[1] != 2 || counts[2] != 1 {
		t.Fatalf("LabelCounts(%v) = %v, want map[0:3 1:2 2:1]", dbLabels, counts)
	}
	ranked := [][]Neighbor{
		// query label 0: relevance 1,0,1 → P@3 2/3, AP@3 (1+2/3)/3, R@3 2/3.
		{{Index: 0, Score: 0.9}, {Index: 1, Score: 0.8}, {Index: 2, Score: 0.7}},
		// query label 1: relevance 0,1,0 → P@3 1/3, AP@3 (1/2)/2,
		// official (1/2)/3, R@3 1/2.
		{{Index: 5, Score: 0.9}, {Index: 3, Score: 0.8}, {Index: 4, Score: 0.1}},
	}
	got := MeanMetrics(ranked, []int32{0, 1}, dbLabels, counts, []int{1, 3})
	want := []RankMetrics{
		{K: 1, MAP: 0.5, MAPOfficial: 0.5, Precision: 0.5, Recall: (1.0/3 + 0) / 2, HitRate: 0.5},
		{K: 3, MAP: (5.0/9 + 0.25) / 2, MAPOfficial: (5.0/9 + 1.0/6) / 2, Precision: 0.5, Recall: (2.0/3 + 0.5) / 2, HitRate: 1},
	}
	for j := range want {
		g, w := got[j], want[j]
		if g.K != w.K || !near(g.MAP, w.MAP) || !near(g.MAPOfficial, w.MAPOfficial) || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.HitRate, w.HitRate) {
			t.Errorf("MeanMetrics(k=%d) = %+v, want %+v", w.K, g, w)
		}
	}
	if got := MeanMetrics(nil, nil, dbLabels, counts, []int{10}); got[0] != (RankMetrics{K: 10}) {
		t.Errorf("MeanMetrics(no queries) = %+v, want zeros", got[0])
	}
}
