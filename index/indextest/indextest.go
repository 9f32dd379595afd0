// Package indextest is the conformance suite of index.Searcher
// implementations: every searcher's tests call Run (exact searchers) or
// RunRecall (approximate ones) with a function that builds it.
//
// The suite checks, for the three metrics and several prefix dims and k:
// results against a plain float64 loop over all rows (exact) or a recall
// floor (approximate); the contract shared by both (best first, min(k, N)
// hits, distinct rows, ids matching internal indexes, scores equal to the
// metric's score of the returned row, dst reused); an empty index; k > N
// and k <= 0; dims out of range; batched against single queries; and
// concurrent use.
package indextest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// Builder builds the searcher under test over v. It may panic on error.
type Builder func(v *index.Vectors) index.Searcher

// Metrics are the metrics the suite covers.
var Metrics = []mrl.Metric{mrl.Cosine, mrl.InnerProduct, mrl.L2}

// Run checks that the searchers build returns follow the index.Searcher
// contract and are exact: at every dim they return the best rows of a
// plain loop, up to float32 rounding (ties within 1e-4·(1+|score|) may
// come in either order).
func Run(t *testing.T, build Builder) {
	t.Helper()
	run(t, build, 1)
}

// RunRecall checks that the searchers build returns follow the
// index.Searcher contract and reach a mean recall@10 of at least floor
// against exact search, at the full dim and at half of it.
func RunRecall(t *testing.T, build Builder, floor float64) {
	t.Helper()
	run(t, build, floor)
}

// MatryoshkaLike returns n rows of d floats drawn from a seeded mixture of
// 16 Gaussian clusters whose dim j has scale 1/sqrt(1+j), so that, as in a
// Matryoshka embedding, the leading dims carry most of the signal.
func MatryoshkaLike(rng *rand.Rand, n, d int) []float32 {
	const clusters = 16
	centers := make([]float64, clusters*d)
	for i := range centers {
		centers[i] = rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(clusters)
		for j := 0; j < d; j++ {
			s := 1 / math.Sqrt(1+float64(j))
			x[i*d+j] = float32(s * (centers[c*d+j] + 0.5*rng.NormFloat64()))
		}
	}
	return x
}

// dataset builds the suite's vectors: MatryoshkaLike rows with planted
// ties (an exact copy, a scaled copy that ties under cosine) and a zero
// row, and ids far from the internal indexes.
func dataset(t *testing.T, seed uint64, n, d int, metric mrl.Metric) *index.Vectors {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	x := MatryoshkaLike(rng, n, d)
	if n >= 10 {
		copy(x[5*d:6*d], x[3*d:4*d])
		for j := 0; j < d; j++ {
			x[7*d+j] = 2 * x[2*d+j]
		}
		clear(x[(n-1)*d:])
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = 1<<40 + uint64(n-i)*1_000_003
	}
	v, err := index.NewVectors(x, n, d, metric, ids)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// queries returns nq query rows of d floats: random rows, then copies of
// database rows 2 and 3, then a zero query.
func queries(v *index.Vectors, seed uint64, nq int) []float32 {
	d := v.Dim()
	rng := rand.New(rand.NewPCG(seed, 11))
	q := MatryoshkaLike(rng, nq, d)
	if nq >= 4 && v.N() >= 4 {
		copy(q[:d], v.Row(2))
		copy(q[d:2*d], v.Row(3))
		clear(q[2*d : 3*d])
	}
	return q
}

func run(t *testing.T, build Builder, floor float64) {
	const n, d, nq = 300, 24, 24
	exact := floor >= 1
	for _, metric := range Metrics {
		t.Run(metric.String(), func(t *testing.T) {
			v := dataset(t, 1, n, d, metric)
			s := build(v)
			q := queries(v, 2, nq)
			for _, dim := range []int{1, 3, d / 2, d} {
				if !exact && dim < d/2 {
					continue
				}
				for _, k := range []int{1, 10, n, n + 5} {
					checkQueries(t, v, s, q, d, dim, k, floor)
				}
			}
			checkRanges(t, v, s)
			checkDstReuse(t, v, s, q[:d])
			checkConcurrent(t, v, s, q, d)
		})
	}
	t.Run("ids", func(t *testing.T) {
		for _, metric := range []mrl.Metric{mrl.Cosine, mrl.L2} {
			v := dataset(t, 3, n, d, metric)
			s := build(v)
			for _, i := range []int{0, 1, 2, 100, n - 2} {
				hits, err := s.Search(v.Row(i), d, 1, nil)
				if err != nil || len(hits) != 1 {
					t.Fatalf("%v: Search(row %d, dim=%d,k=1) = %v, %v", metric, i, d, hits, err)
				}
				h := hits[0]
				want := float32(1)
				if metric == mrl.L2 {
					want = 0
				}
				if math.Abs(float64(h.Score-want)) > 1e-4 || v.ID(int(h.Index)) != h.ID {
					t.Errorf("%v: Search(row %d, dim=%d,k=1) = %+v, want score %v and ID(Index) = ID", metric, i, d, h, want)
				}
				if j, ok := v.Lookup(h.ID); !ok || j != int(h.Index) {
					t.Errorf("%v: Lookup(%d) = %d, %v, want %d", metric, h.ID, j, ok, h.Index)
				}
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		for _, metric := range Metrics {
			v, err := index.NewVectors(nil, 0, d, metric, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := build(v)
			q := make([]float32, 2*d)
			q[0] = 1
			if hits, err := s.Search(q[:d], d, 10, nil); err != nil || len(hits) != 0 {
				t.Errorf("%v: empty Search(dim=%d,k=10) = %v, %v, want no hits", metric, d, hits, err)
			}
			res, err := s.SearchBatch(q, d, d/2, 10, nil)
			if err != nil || len(res) != 2 || len(res[0]) != 0 || len(res[1]) != 0 {
				t.Errorf("%v: empty SearchBatch(dim=%d,k=10) = %v, %v, want 2 empty results", metric, d/2, res, err)
			}
		}
	})
	if exact {
		t.Run("blocks", func(t *testing.T) {
			// Sizes past the usual block sizes of batched scans.
			const n, d, nq = 2100, 8, 130
			v := dataset(t, 4, n, d, mrl.L2)
			s := build(v)
			q := queries(v, 5, nq)
			checkQueries(t, v, s, q, d, 5, 7, 1)
		})
	}
}

// checkQueries searches every query of q (stride ld) one by one and as a
// batch (twice: stride ld, and stride ld+3) and checks each result.
func checkQueries(t *testing.T, v *index.Vectors, s index.Searcher, q []float32, ld, dim, k int, floor float64) {
	t.Helper()
	nq := len(q) / ld
	var recall float64
	var dst []index.Hit
	for i := 0; i < nq; i++ {
		qi := q[i*ld : i*ld+dim] // exactly dim floats: only q[:dim] may be read
		var err error
		dst, err = s.Search(qi, dim, k, dst)
		if err != nil {
			t.Fatalf("Search(dim=%d,k=%d) error %v", dim, k, err)
		}
		recall += check(t, v, qi, dim, k, dst, floor, "Search")
	}
	if floor < 1 && recall/float64(nq) < floor {
		t.Errorf("Search(dim=%d,k=%d): mean recall %.3f, want >= %.3f", dim, k, recall/float64(nq), floor)
	}
	wide := make([]float32, nq*(ld+3))
	for i := 0; i < nq; i++ {
		copy(wide[i*(ld+3):], q[i*ld:(i+1)*ld])
	}
	for _, b := range []struct {
		q  []float32
		ld int
	}{{q, ld}, {wide, ld + 3}} {
		res, err := s.SearchBatch(b.q, b.ld, dim, k, nil)
		if err != nil || len(res) != nq {
			t.Fatalf("SearchBatch(ldq=%d,dim=%d,k=%d) = %d results, %v, want %d", b.ld, dim, k, len(res), err, nq)
		}
		recall = 0
		for i, hits := range res {
			recall += check(t, v, b.q[i*b.ld:i*b.ld+dim], dim, k, hits, floor, "SearchBatch")
		}
		if floor < 1 && recall/float64(nq) < floor {
			t.Errorf("SearchBatch(dim=%d,k=%d): mean recall %.3f, want >= %.3f", dim, k, recall/float64(nq), floor)
		}
	}
}

// reference returns the float64 score of every row at dim.
func reference(v *index.Vectors, q []float32, dim int) []float64 {
	ref := make([]float64, v.N())
	var qq float64
	for _, x := range q[:dim] {
		qq += float64(x) * float64(x)
	}
	for i := range ref {
		var dot, xx, l2 float64
		for j, x := range v.Row(i)[:dim] {
			dot += float64(x) * float64(q[j])
			xx += float64(x) * float64(x)
			e := float64(x) - float64(q[j])
			l2 += e * e
		}
		switch v.Metric() {
		case mrl.Cosine:
			if xx > 0 && qq > 0 {
				ref[i] = dot / math.Sqrt(xx*qq)
			}
		case mrl.InnerProduct:
			ref[i] = dot
		case mrl.L2:
			ref[i] = -l2
		}
	}
	return ref
}

func tol(s float64) float64 { return 1e-4 * (1 + math.Abs(s)) }

// check checks one result against the plain loop and returns its recall
// (the fraction of the exact top min(k,N) it holds, ties counted as hits).
func check(t *testing.T, v *index.Vectors, q []float32, dim, k int, got []index.Hit, floor float64, op string) float64 {
	t.Helper()
	ref := reference(v, q, dim)
	order := make([]int, len(ref))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case ref[a] > ref[b]:
			return -1
		case ref[a] < ref[b]:
			return 1
		}
		return 0
	})
	n := min(max(k, 0), v.N())
	want := make([]index.Hit, n)
	for j := range want {
		want[j] = index.Hit{ID: v.ID(order[j]), Score: float32(ref[order[j]]), Index: int32(order[j])}
	}
	fail := func(why string) float64 {
		t.Errorf("%s(dim=%d,k=%d) = %v, want %v: %s", op, dim, k, head(got), head(want), why)
		return 0
	}
	if len(got) != n {
		return fail(fmt.Sprintf("%d hits, want %d", len(got), n))
	}
	seen := make(map[int32]bool, n)
	for j, h := range got {
		if h.Index < 0 || int(h.Index) >= v.N() || seen[h.Index] {
			return fail(fmt.Sprintf("hit %d: bad or repeated index %d", j, h.Index))
		}
		seen[h.Index] = true
		if h.ID != v.ID(int(h.Index)) {
			return fail(fmt.Sprintf("hit %d: ID %d, want ID(%d) = %d", j, h.ID, h.Index, v.ID(int(h.Index))))
		}
		if r := ref[h.Index]; math.Abs(float64(h.Score)-r) > tol(r) {
			return fail(fmt.Sprintf("hit %d: score %v of row %d, want %v", j, h.Score, h.Index, r))
		}
		if j > 0 && float64(h.Score) > float64(got[j-1].Score)+tol(float64(h.Score)) {
			return fail(fmt.Sprintf("hit %d: score %v after %v: not best first", j, h.Score, got[j-1].Score))
		}
	}
	if n == 0 {
		return 1
	}
	bar := ref[order[n-1]] // the k-th best score
	hits := 0
	for j, h := range got {
		r := ref[h.Index]
		if r >= bar-tol(bar) {
			hits++
		}
		if floor >= 1 && r < ref[order[j]]-tol(ref[order[j]]) {
			return fail(fmt.Sprintf("hit %d: row %d scores %v, the exact %d-th best scores %v", j, h.Index, r, j+1, ref[order[j]]))
		}
	}
	return float64(hits) / float64(n)
}

func head(h []index.Hit) []index.Hit { return h[:min(len(h), 5)] }

// checkRanges checks dims out of range, short queries, bad strides and
// k <= 0.
func checkRanges(t *testing.T, v *index.Vectors, s index.Searcher) {
	t.Helper()
	d := v.Dim()
	q := make([]float32, 2*d)
	for _, dim := range []int{-1, 0, d + 1} {
		if _, err := s.Search(q, dim, 5, nil); !errors.Is(err, index.ErrDim) {
			t.Errorf("Search(dim=%d,k=5) error = %v, want %v", dim, err, index.ErrDim)
		}
		if _, err := s.SearchBatch(q, d, dim, 5, nil); !errors.Is(err, index.ErrDim) {
			t.Errorf("SearchBatch(dim=%d,k=5) error = %v, want %v", dim, err, index.ErrDim)
		}
	}
	if _, err := s.Search(q[:d-1], d, 5, nil); !errors.Is(err, index.ErrDimMismatch) {
		t.Errorf("Search(len(q)=%d,dim=%d,k=5) error = %v, want %v", d-1, d, err, index.ErrDimMismatch)
	}
	for _, ld := range []int{0, d - 1, d + 1} { // stride below dim, or not dividing len(q)
		if _, err := s.SearchBatch(q, ld, d, 5, nil); !errors.Is(err, index.ErrDimMismatch) {
			t.Errorf("SearchBatch(len(q)=%d,ldq=%d,dim=%d,k=5) error = %v, want %v", len(q), ld, d, err, index.ErrDimMismatch)
		}
	}
	for _, k := range []int{0, -3} {
		hits, err := s.Search(q, d, k, nil)
		if err != nil || len(hits) != 0 {
			t.Errorf("Search(dim=%d,k=%d) = %v, %v, want no hits", d, k, hits, err)
		}
		res, err := s.SearchBatch(q, d, d, k, nil)
		if err != nil || len(res) != 2 || len(res[0])+len(res[1]) != 0 {
			t.Errorf("SearchBatch(dim=%d,k=%d) = %v, %v, want 2 empty results", d, k, res, err)
		}
	}
}

// checkDstReuse checks that results are appended to dst[:0].
func checkDstReuse(t *testing.T, v *index.Vectors, s index.Searcher, q []float32) {
	t.Helper()
	dst := make([]index.Hit, 3, 10)
	hits, err := s.Search(q, v.Dim(), 10, dst)
	if err != nil || len(hits) != 10 || &hits[0] != &dst[:1][0] {
		t.Errorf("Search(dim=%d,k=10, dst of cap 10) did not reuse dst (err %v)", v.Dim(), err)
	}
	bdst := [][]index.Hit{make([]index.Hit, 0, 10)}
	res, err := s.SearchBatch(q, v.Dim(), v.Dim(), 10, bdst)
	if err != nil || len(res) != 1 || &res[0] != &bdst[0] || len(res[0]) != 10 || &res[0][0] != &bdst[0][:1][0] {
		t.Errorf("SearchBatch(dim=%d,k=10, dst with capacity) did not reuse dst (err %v)", v.Dim(), err)
	}
}

// checkConcurrent searches from several goroutines at once and compares
// with sequential results.
func checkConcurrent(t *testing.T, v *index.Vectors, s index.Searcher, q []float32, ld int) {
	t.Helper()
	nq := len(q) / ld
	dim := ld/2 + 1
	want := make([][]index.Hit, nq)
	for i := range want {
		want[i], _ = s.Search(q[i*ld:(i+1)*ld], dim, 5, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, nq)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < nq; i += 4 {
				got, err := s.Search(q[i*ld:(i+1)*ld], dim, 5, nil)
				if err != nil || !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("concurrent Search(dim=%d,k=5) = %v, %v, want %v", dim, got, err, want[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
