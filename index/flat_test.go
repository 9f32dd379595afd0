package index_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

func TestFlatConformance(t *testing.T) {
	indextest.Run(t, func(v *index.Vectors) index.Searcher { return index.NewFlat(v) })
}

func mustVectors(t testing.TB, data []float32, n, d int, metric mrl.Metric, ids []uint64) *index.Vectors {
	t.Helper()
	v, err := index.NewVectors(data, n, d, metric, ids)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// indexes returns the internal indexes of hits.
func indexes(h []index.Hit) []int32 {
	out := make([]int32, len(h))
	for i, x := range h {
		out[i] = x.Index
	}
	return out
}

// searchBoth runs one query through Search and SearchBatch and fails if
// they disagree on the order.
func searchBoth(t *testing.T, s index.Searcher, q []float32, dim, k int) []index.Hit {
	t.Helper()
	hits, err := s.Search(q, dim, k, nil)
	if err != nil {
		t.Fatalf("Search(dim=%d,k=%d): %v", dim, k, err)
	}
	res, err := s.SearchBatch(q, len(q), dim, k, nil)
	if err != nil {
		t.Fatalf("SearchBatch(dim=%d,k=%d): %v", dim, k, err)
	}
	if !slices.Equal(indexes(res[0]), indexes(hits)) {
		t.Errorf("SearchBatch(dim=%d,k=%d) = %v, Search = %v", dim, k, indexes(res[0]), indexes(hits))
	}
	return hits
}

// TestCosineRenormalisesPrefixes checks that a cosine index truncated to
// dim m ranks by the cosine of the m-prefixes, not by the dot product of
// the truncated unit vectors nor of the raw prefixes.
func TestCosineRenormalisesPrefixes(t *testing.T) {
	data := []float32{
		1, 1, 0, // prefix cosine at dim 2: 0.707; truncated unit vector: 0.707; raw: 1
		1, 0, 5, // 1.0; 1/sqrt(26) = 0.196; raw: 1
		2, 2, 0, // 0.707; 0.707; raw: 2 (exactly row 0's cosines)
	}
	q := []float32{1, 0, 0}
	f := index.NewFlat(mustVectors(t, data, 3, 3, mrl.Cosine, nil))
	tests := []struct {
		dim    int
		want   []int32
		scores []float32
	}{
		{2, []int32{1, 0, 2}, []float32{1, 0.70710677, 0.70710677}},
		{3, []int32{0, 2, 1}, []float32{0.70710677, 0.70710677, 0.19611613}},
		{1, []int32{0, 1, 2}, []float32{1, 1, 1}},
	}
	for _, tt := range tests {
		hits := searchBoth(t, f, q, tt.dim, 3)
		if got := indexes(hits); !slices.Equal(got, tt.want) {
			t.Errorf("Search(dim=%d,k=3) = %v, want %v", tt.dim, got, tt.want)
		}
		for i, h := range hits {
			if math.Abs(float64(h.Score-tt.scores[i])) > 1e-6 {
				t.Errorf("Search(dim=%d,k=3)[%d].Score = %v, want %v", tt.dim, i, h.Score, tt.scores[i])
			}
		}
	}
}

func TestFlatTiesByLowerIndex(t *testing.T) {
	a, b := []float32{1, 2}, []float32{1, 1}
	data := slices.Concat(b, a, b, a, a, b)
	q := []float32{1, 1}
	for _, metric := range indextest.Metrics {
		f := index.NewFlat(mustVectors(t, slices.Clone(data), 6, 2, metric, nil))
		want := []int32{0, 2, 5, 1, 3, 4} // b is the query itself
		if metric == mrl.InnerProduct {
			want = []int32{1, 3, 4, 0, 2, 5} // a·q = 3 > b·q = 2
		}
		if got := indexes(searchBoth(t, f, q, 2, 6)); !slices.Equal(got, want) {
			t.Errorf("%v: Search(dim=2,k=6) = %v, want %v", metric, got, want)
		}
		if got := indexes(searchBoth(t, f, q, 2, 4)); !slices.Equal(got, want[:4]) {
			t.Errorf("%v: Search(dim=2,k=4) = %v, want %v", metric, got, want[:4])
		}
	}
}

func TestFlatSearchAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d, k = 500, 32, 10
	for _, metric := range indextest.Metrics {
		v := mustVectors(t, indextest.MatryoshkaLike(rng, n, d), n, d, metric, nil)
		if err := v.Prepare(8); err != nil {
			t.Fatal(err)
		}
		f := index.NewFlat(v)
		q := v.Row(3)
		dst := make([]index.Hit, 0, k)
		allocs := testing.AllocsPerRun(20, func() {
			dst, _ = f.Search(q, 8, k, dst)
		})
		if allocs != 0 {
			t.Errorf("%v: Search(dim=8,k=%d) with dst of cap k: %v allocs per query, want 0", metric, k, allocs)
		}
	}
}

// TestFlatSearchBatchLargeK: from k = 64 SearchBatch selects in buffers,
// in blocks of queries bounded in memory; with k near N and enough
// queries for several blocks, every query's answer is Search's (the same
// scores rank by rank: the two kernels round differently, so near-ties
// may swap), for each metric, and a dst holding other answers is
// overwritten.
func TestFlatSearchBatchLargeK(t *testing.T) {
	const n, d, nq = 2000, 8, 700
	rng := rand.New(rand.NewPCG(7, 8))
	for _, metric := range indextest.Metrics {
		v := mustVectors(t, indextest.MatryoshkaLike(rng, n, d), n, d, metric, nil)
		f := index.NewFlat(v)
		q := indextest.MatryoshkaLike(rng, nq, d)
		for _, tt := range []struct{ dim, k int }{{3, 64}, {d, 1500}, {d, n}} {
			dst := make([][]index.Hit, nq)
			for i := range dst {
				dst[i] = []index.Hit{{Index: -1}}
			}
			res, err := f.SearchBatch(q, d, tt.dim, tt.k, dst)
			if err != nil {
				t.Fatal(err)
			}
			for i := range nq {
				want, err := f.Search(q[i*d:(i+1)*d], tt.dim, tt.k, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(res[i]) != len(want) {
					t.Fatalf("%v dim %d k %d: query %d: SearchBatch gave %d hits, Search %d", metric, tt.dim, tt.k, i, len(res[i]), len(want))
				}
				for j := range want {
					a, b := res[i][j].Score, want[j].Score
					if math.Abs(float64(a-b)) > 1e-5*(1+math.Abs(float64(b))) {
						t.Fatalf("%v dim %d k %d: query %d rank %d: SearchBatch score %v (row %d), Search %v (row %d)", metric, tt.dim, tt.k, i, j, a, res[i][j].Index, b, want[j].Index)
					}
				}
			}
		}
	}
}
