package index_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

func mustFunnel(v *index.Vectors, p index.Plan) index.Searcher {
	f, err := index.NewFunnel(v, p, nil)
	if err != nil {
		panic(err)
	}
	return f
}

// A funnel whose first stage keeps every row is exact.
func TestFunnelKeepAllConformance(t *testing.T) {
	indextest.Run(t, func(v *index.Vectors) index.Searcher {
		n, d := max(v.N(), 1), v.Dim()
		return mustFunnel(v, index.Plan{{1, n}, {d / 2, n}, {d, n}})
	})
}

func TestFunnelRecallConformance(t *testing.T) {
	indextest.RunRecall(t, func(v *index.Vectors) index.Searcher {
		return mustFunnel(v, index.Plan{{4, 100}, {v.Dim() / 2, 40}, {v.Dim(), 10}})
	}, 0.9) // measured: 0.958 at worst on the seeded data
}

func TestNewFunnelInvalidPlan(t *testing.T) {
	v := mustVectors(t, make([]float32, 8), 2, 4, mrl.Cosine, nil)
	if _, err := index.NewFunnel(v, index.Plan{{2, 10}, {8, 5}}, nil); !errors.Is(err, index.ErrPlan) {
		t.Errorf("NewFunnel(dim 8 > 4) error = %v, want %v", err, index.ErrPlan)
	}
}

func TestFunnelSearchStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d = 400, 32
	v := mustVectors(t, indextest.MatryoshkaLike(rng, n, d), n, d, mrl.Cosine, nil)
	f, err := index.NewFunnel(v, index.Plan{{4, 100}, {16, 30}, {32, 10}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := v.Row(7)
	tests := []struct {
		dim, k int
		want   []index.StageStat // without Elapsed
	}{
		{32, 10, []index.StageStat{{Dim: 4, In: n, Out: 100}, {Dim: 16, In: 100, Out: 30}, {Dim: 32, In: 30, Out: 10}}},
		{32, 50, []index.StageStat{{Dim: 4, In: n, Out: 100}, {Dim: 16, In: 100, Out: 50}, {Dim: 32, In: 50, Out: 50}}},
		{16, 5, []index.StageStat{{Dim: 4, In: n, Out: 100}, {Dim: 16, In: 100, Out: 5}}},
		{20, 5, []index.StageStat{{Dim: 4, In: n, Out: 100}, {Dim: 16, In: 100, Out: 30}, {Dim: 20, In: 30, Out: 5}}},
		{3, 5, []index.StageStat{{Dim: 3, In: n, Out: 5}}},
	}
	dst := make([]index.Hit, 0, 50)
	stats := make([]index.StageStat, 0, 4)
	for _, tt := range tests {
		var err error
		dst, stats, err = f.SearchStats(q, tt.dim, tt.k, dst, stats)
		if err != nil || len(dst) != tt.k {
			t.Fatalf("SearchStats(dim=%d,k=%d) = %d hits, %v", tt.dim, tt.k, len(dst), err)
		}
		if dst[0].Index != 7 {
			t.Errorf("SearchStats(dim=%d,k=%d)[0] = %+v, want row 7", tt.dim, tt.k, dst[0])
		}
		if len(stats) != len(tt.want) {
			t.Fatalf("SearchStats(dim=%d,k=%d) stats = %+v, want %+v", tt.dim, tt.k, stats, tt.want)
		}
		for i, s := range stats {
			if s.Elapsed < 0 {
				t.Errorf("SearchStats(dim=%d,k=%d) stage %d: Elapsed %v < 0", tt.dim, tt.k, i, s.Elapsed)
			}
			s.Elapsed = 0
			if s != tt.want[i] {
				t.Errorf("SearchStats(dim=%d,k=%d) stage %d = %+v, want %+v", tt.dim, tt.k, i, s, tt.want[i])
			}
		}
	}
	if raceEnabled {
		return
	}
	allocs := testing.AllocsPerRun(20, func() {
		dst, stats, _ = f.SearchStats(q, d, 10, dst, stats)
		dst, _ = f.Search(q, d, 10, dst)
	})
	if allocs != 0 {
		t.Errorf("Funnel Search and SearchStats(dim=%d,k=10) with capacity: %v allocs per query, want 0", d, allocs)
	}
}
