package eval

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct{ n, nq, d, m, k int }{{1, 1, 4, 4, 1}, {10, 3, 8, 3, 20}, {5000, 300, 16, 16, 10}, {4097, 257, 33, 17, 5}} {
		db := make([]float32, tc.n*tc.d)
		q := make([]float32, tc.nq*tc.d)
		for i := range db {
			db[i] = float32(r.NormFloat64())
		}
		for i := range q {
			q[i] = float32(r.NormFloat64())
		}
		got := Search(db, tc.n, tc.d, q, tc.nq, tc.d, tc.m, tc.k)
		for i := 0; i < tc.nq; i++ {
			type p struct {
				j int
				s float64
			}
			all := make([]p, tc.n)
			for j := 0; j < tc.n; j++ {
				var s float64
				for x := 0; x < tc.m; x++ {
					s += float64(q[i*tc.d+x]) * float64(db[j*tc.d+x])
				}
				all[j] = p{j, s}
			}
			sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
			k := min(tc.k, tc.n)
			if len(got[i]) != k {
				t.Fatalf("%+v: query %d got %d hits, want %d", tc, i, len(got[i]), k)
			}
			for x := 0; x < k; x++ {
				if math.Abs(float64(got[i][x].Score)-all[x].s) > 1e-3 {
					t.Fatalf("%+v: query %d hit %d score %v, want %v", tc, i, x, got[i][x].Score, all[x].s)
				}
			}
		}
	}
}

func TestPrefixNormalized(t *testing.T) {
	x := []float32{3, 4, 12, 0, 0, 5}
	got := PrefixNormalized(x, 2, 3, 2)
	want := []float32{0.6, 0.8, 0, 0}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("PrefixNormalized = %v, want %v", got, want)
		}
	}
}

func TestOneNNNeedsRenormalisation(t *testing.T) {
	// Query (1, 0, ...). db row 0 = (0.9, 0.1, 100) has the larger 2-d
	// inner product with it only without re-normalising; by cosine over the
	// 2-d prefix, row 1 = (1, 0, 0) is the nearest.
	db := []float32{2, 1.5, 100, 1, 0, 0}
	q := []float32{1, 0, 0}
	acc := OneNNAccuracy(db, []int32{0, 1}, 2, 3, q, []int32{1}, 1, 2)
	if acc != 1 {
		t.Fatalf("OneNNAccuracy = %v, want 1 (cosine on the re-normalised prefix)", acc)
	}
}
