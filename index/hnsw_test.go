package index_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

func mustHNSW(t testing.TB, v *index.Vectors, opt index.HNSWOptions) *index.HNSW {
	t.Helper()
	h, err := index.NewHNSW(v, opt)
	if err != nil {
		t.Fatalf("NewHNSW(%+v): %v", opt, err)
	}
	return h
}

// The suite searches at the full dim and at half of it, so the graph is
// built at half the dim: half-dim searches use the graph alone, full-dim
// ones rerank its candidates. The floor is the operating point,
// recall@10 = 0.95; on the suite's 300 rows a beam of 64 covers a fifth of
// the rows, so a working graph clears it (a graph bounded by k, as
// coder/hnsw's, does not).
func TestHNSWConformance(t *testing.T) {
	indextest.RunRecall(t, func(v *index.Vectors) index.Searcher {
		h, err := index.NewHNSW(v, index.HNSWOptions{Dim: v.Dim() / 2, Seed: 1})
		if err != nil {
			panic(err)
		}
		return h
	}, 0.95)
}

// The concurrent build (Threads > 1) passes the same suite; its graph
// depends on timing, the recall floor does not.
func TestHNSWConformanceConcurrentBuild(t *testing.T) {
	indextest.RunRecall(t, func(v *index.Vectors) index.Searcher {
		h, err := index.NewHNSW(v, index.HNSWOptions{Dim: v.Dim() / 2, Seed: 1, Threads: 3})
		if err != nil {
			panic(err)
		}
		return h
	}, 0.95)
}

// TestHNSWConcurrentBuildRecall builds 3000 rows on 4 goroutines and
// checks the recall floor of TestHNSWRecall, and that the saved graph
// loads back and searches as built.
func TestHNSWConcurrentBuildRecall(t *testing.T) {
	const n, d, dim, nq, k = 3000, 48, 24, 100, 10
	for _, metric := range indextest.Metrics {
		v, q := recallData(t, metric, n, d, nq)
		h := mustHNSW(t, v, index.HNSWOptions{Dim: dim, Seed: 3, Threads: 4})
		r := recallAt(t, v, h, q, dim, k)
		t.Logf("%v: concurrent build: recall@%d at dim %d, ef %d: %.3f", metric, k, dim, h.Ef(), r)
		if r < 0.95 {
			t.Errorf("%v: concurrent build: recall@%d = %.3f, want >= 0.95", metric, k, r)
		}
		var b bytes.Buffer
		if err := index.EncodeHNSW(&b, h); err != nil {
			t.Fatal(err)
		}
		h2, err := index.DecodeHNSW(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if r2 := recallAt(t, h2.Vectors(), h2, q, dim, k); r2 != r {
			t.Errorf("%v: decoded graph recall %.3f, want the built graph's %.3f", metric, r2, r)
		}
	}
}

// recallAt returns the mean recall@k of s against exact search at dim
// over the nq queries of q (stride d).
func recallAt(t testing.TB, v *index.Vectors, s index.Searcher, q []float32, dim, k int) float64 {
	t.Helper()
	d := v.Dim()
	nq := len(q) / d
	exact := index.NewFlat(v)
	var sum float64
	for i := 0; i < nq; i++ {
		qi := q[i*d : (i+1)*d]
		want, err := exact.Search(qi, dim, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(qi, dim, k, nil)
		if err != nil {
			t.Fatalf("Search(dim=%d,k=%d): %v", dim, k, err)
		}
		in := make(map[int32]bool, k)
		for _, h := range want {
			in[h.Index] = true
		}
		hits := 0
		for _, h := range got {
			if in[h.Index] {
				hits++
			}
		}
		sum += float64(hits) / float64(len(want))
	}
	return sum / float64(nq)
}

// recallData returns n MatryoshkaLike rows of d floats under metric and
// nq queries drawn from the same distribution.
func recallData(t *testing.T, metric mrl.Metric, n, d, nq int) (*index.Vectors, []float32) {
	rng := rand.New(rand.NewPCG(10, 20))
	v := mustVectors(t, indextest.MatryoshkaLike(rng, n, d), n, d, metric, nil)
	return v, indextest.MatryoshkaLike(rng, nq, d)
}

// TestHNSWRecall checks recall@10 at the graph dim on 3000 seeded
// Matryoshka-like rows with the default M, EfConstruction and EfSearch.
// The floor of 0.95 is the target operating point (recall@10 =
// 0.95 at ef = 64); the seeded runs measured 0.987 (cosine) to 0.995 (L2).
func TestHNSWRecall(t *testing.T) {
	const n, d, dim, nq, k = 3000, 48, 24, 100, 10
	for _, metric := range indextest.Metrics {
		v, q := recallData(t, metric, n, d, nq)
		h := mustHNSW(t, v, index.HNSWOptions{Dim: dim, Seed: 3})
		r := recallAt(t, v, h, q, dim, k)
		t.Logf("%v: recall@%d at dim %d, ef %d: %.3f", metric, k, dim, h.Ef(), r)
		if r < 0.95 {
			t.Errorf("%v: recall@%d at dim %d, ef %d = %.3f, want >= 0.95", metric, k, dim, h.Ef(), r)
		}
		// Recall rises with the beam width.
		h.SetEf(10)
		r10 := recallAt(t, v, h, q, dim, k)
		h.SetEf(200)
		r200 := recallAt(t, v, h, q, dim, k)
		t.Logf("%v: recall@%d at ef 10: %.3f, at ef 200: %.3f", metric, k, r10, r200)
		if r200 <= r10 || r200 < 0.98 {
			t.Errorf("%v: recall@%d at ef 10 = %.3f, at ef 200 = %.3f, want a rise to >= 0.98", metric, k, r10, r200)
		}
	}
}

// An HNSW built on a short prefix serves as a funnel's first stage at a
// larger dim: it reranks its beam at the stage's dim.
func TestHNSWFunnelFirstStage(t *testing.T) {
	const n, d, nq, k = 2000, 48, 50, 10
	for _, metric := range indextest.Metrics {
		v, q := recallData(t, metric, n, d, nq)
		h := mustHNSW(t, v, index.HNSWOptions{Dim: 12, Seed: 4})
		f, err := index.NewFunnel(v, index.Plan{{24, 100}, {d, k}}, h)
		if err != nil {
			t.Fatal(err)
		}
		r := recallAt(t, v, f, q, d, k)
		t.Logf("%v: funnel hnsw@12 -> 24:100 -> %d:%d recall@%d: %.3f", metric, d, k, k, r)
		if r < 0.9 {
			t.Errorf("%v: funnel recall@%d at dim %d = %.3f, want >= 0.9", metric, k, d, r)
		}
		if _, err := f.Search(q[:d], 12, k, nil); err != nil {
			t.Errorf("%v: funnel Search at the graph dim: %v", metric, err)
		}
	}
}

func TestHNSWOptionsValidate(t *testing.T) {
	tests := []struct {
		opt  index.HNSWOptions
		want []string // substrings of the error; none means valid
	}{
		{index.HNSWOptions{}, nil},
		{index.HNSWOptions{Dim: 4, M: 2, EfConstruction: 1, EfSearch: 1}, nil},
		{index.HNSWOptions{M: index.MaxHNSWM}, nil},
		{index.HNSWOptions{M: 1}, []string{"M 1"}},
		{index.HNSWOptions{M: index.MaxHNSWM + 1}, []string{"M 4097"}},
		{index.HNSWOptions{Threads: 2}, nil},
		{index.HNSWOptions{Dim: -1, M: -2, EfConstruction: -3, EfSearch: -4, Threads: -5},
			[]string{"Dim -1", "M -2", "EfConstruction -3", "EfSearch -4", "Threads -5"}},
	}
	for _, tt := range tests {
		err := tt.opt.Validate()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%+v.Validate() = %v, want nil", tt.opt, err)
			}
			continue
		}
		if !errors.Is(err, index.ErrOptions) {
			t.Errorf("%+v.Validate() = %v, want %v", tt.opt, err, index.ErrOptions)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v.Validate() = %v, want it to mention %q", tt.opt, err, w)
			}
		}
		v := mustVectors(t, make([]float32, 8), 2, 4, mrl.Cosine, nil)
		if _, err := index.NewHNSW(v, tt.opt); !errors.Is(err, index.ErrOptions) {
			t.Errorf("NewHNSW(%+v) error = %v, want %v", tt.opt, err, index.ErrOptions)
		}
	}
}

func TestHNSWDimErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	v := mustVectors(t, indextest.MatryoshkaLike(rng, 50, 8), 50, 8, mrl.L2, nil)
	if _, err := index.NewHNSW(v, index.HNSWOptions{Dim: 9}); !errors.Is(err, index.ErrDim) {
		t.Errorf("NewHNSW(Dim 9 of 8) error = %v, want %v", err, index.ErrDim)
	}
	h := mustHNSW(t, v, index.HNSWOptions{Dim: 4})
	if h.Dim() != 4 {
		t.Errorf("Dim() = %d, want 4", h.Dim())
	}
	_, err := h.Search(v.Row(0), 3, 5, nil)
	if !errors.Is(err, index.ErrDim) || !strings.Contains(err.Error(), "built at dim 4") {
		t.Errorf("Search(dim=3) on a graph at dim 4: error = %v, want %v saying the graph was built at dim 4", err, index.ErrDim)
	}
	if _, err := h.SearchBatch(v.Row(0), 8, 3, 5, nil); !errors.Is(err, index.ErrDim) {
		t.Errorf("SearchBatch(dim=3) on a graph at dim 4: error = %v, want %v", err, index.ErrDim)
	}
	if hits, err := h.Search(v.Row(7), 8, 1, nil); err != nil || len(hits) != 1 || hits[0].Index != 7 {
		t.Errorf("Search(row 7, dim=8,k=1) = %v, %v, want row 7", hits, err)
	}
	if d := mustHNSW(t, v, index.HNSWOptions{}).Dim(); d != 8 {
		t.Errorf("default Dim() = %d, want 8", d)
	}
}

func TestHNSWTiny(t *testing.T) {
	for _, metric := range indextest.Metrics {
		empty := mustHNSW(t, mustVectors(t, nil, 0, 4, metric, nil), index.HNSWOptions{})
		q := []float32{1, 2, 3, 4}
		if hits, err := empty.Search(q, 4, 3, nil); err != nil || len(hits) != 0 {
			t.Errorf("%v: empty Search = %v, %v, want no hits", metric, hits, err)
		}
		one := mustHNSW(t, mustVectors(t, []float32{1, 0, 0, 1}, 1, 4, metric, []uint64{42}), index.HNSWOptions{Dim: 2})
		for _, dim := range []int{2, 4} {
			hits, err := one.Search(q, dim, 3, nil)
			if err != nil || len(hits) != 1 || hits[0].ID != 42 || hits[0].Index != 0 {
				t.Errorf("%v: N=1 Search(dim=%d,k=3) = %v, %v, want row 0 (id 42)", metric, dim, hits, err)
			}
			res, err := one.SearchBatch(append(q, q...), 4, dim, 3, nil)
			if err != nil || len(res) != 2 || len(res[1]) != 1 || res[1][0].ID != 42 {
				t.Errorf("%v: N=1 SearchBatch(dim=%d,k=3) = %v, %v, want row 0 twice", metric, dim, res, err)
			}
		}
	}
}

func TestHNSWSearchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	const n, d, k = 1000, 32, 10
	for _, metric := range indextest.Metrics {
		v, q := recallData(t, metric, n, d, 1)
		h := mustHNSW(t, v, index.HNSWOptions{Dim: 16, M: 8, EfConstruction: 40})
		if err := v.Prepare(d); err != nil {
			t.Fatal(err)
		}
		dst := make([]index.Hit, 0, k)
		for _, dim := range []int{16, d} {
			allocs := testing.AllocsPerRun(20, func() {
				dst, _ = h.Search(q, dim, k, dst)
			})
			if allocs != 0 {
				t.Errorf("%v: Search(dim=%d,k=%d) with dst of cap k: %v allocs per query, want 0", metric, dim, k, allocs)
			}
		}
	}
}

// TestHNSWRecallQueriesFromOtherClusters: queries drawn from clusters the
// rows do not come from (as a text query is unlike the documents it
// finds) need the graph's long links. When lists were refilled to
// capacity, later back links competed with near neighbours and those
// links were lost: on these 20k rows recall@100 at ef 200 was 0.727 (now
// 0.907) and 0.798 at ef 400 (now 0.967). The build is deterministic
// (Threads 1), so the figure is the same on every run for a kernel level.
func TestHNSWRecallQueriesFromOtherClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20k-row graph")
	}
	const n, d, nq, k = 20000, 32, 100, 100
	v, err := index.NewVectors(indextest.MatryoshkaLike(rand.New(rand.NewPCG(1, 1)), n, d), n, d, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := indextest.MatryoshkaLike(rand.New(rand.NewPCG(2, 1)), nq, d)
	h, err := index.NewHNSW(v, index.HNSWOptions{M: 16, EfConstruction: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	flat := index.NewFlat(v)
	for _, c := range []struct {
		ef    int
		floor float64
	}{{200, 0.86}, {400, 0.93}} {
		hit := 0
		for i := range nq {
			qi := q[i*d : (i+1)*d]
			want, err := flat.Search(qi, d, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			in := make(map[int32]bool, k)
			for _, w := range want {
				in[w.Index] = true
			}
			got, err := h.WithEf(c.ef).Search(qi, d, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if in[g.Index] {
					hit++
				}
			}
		}
		if r := float64(hit) / (nq * k); r < c.floor {
			t.Errorf("ef %d: recall@%d %.3f of queries from other clusters, want >= %.2f", c.ef, k, r, c.floor)
		} else {
			t.Logf("ef %d: recall@%d %.3f", c.ef, k, r)
		}
	}
}
