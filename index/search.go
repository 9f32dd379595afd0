package index

import (
	"fmt"
	"slices"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// Hit is one search result.
type Hit struct {
	ID    uint64  // external id of the row
	Score float32 // similarity at the searched dim; higher is better
	Index int32   // internal index of the row, 0..N-1
}

// Searcher finds the rows most similar to a query at a prefix dim.
//
// Search returns the min(k, N) rows with the best scores at dim (see the
// package doc for the scores), best first, appended to dst[:0]; k <= 0
// returns none. Only q[:dim] is read. A dim outside 1..D is an error
// wrapping ErrDim, a query shorter than dim one wrapping ErrDimMismatch.
// Exact searchers return exactly the best rows, ties broken by the lower
// internal index; approximate ones document what they guarantee.
//
// SearchBatch does the same for the nq = len(q)/ldq queries held row-major
// in q with stride ldq >= dim (len(q) a multiple of ldq), reusing dst[i]
// and dst itself when they have capacity. It may use several goroutines
// (kernel.Threads()).
//
// Implementations are safe for concurrent use.
type Searcher interface {
	Search(q []float32, dim, k int, dst []Hit) ([]Hit, error)
	SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error)
}

// checkQuery validates a single query against v.
func checkQuery(v *Vectors, q []float32, dim int) error {
	if dim < 1 || dim > v.d {
		return fmt.Errorf("search at dim %d of %d: %w", dim, v.d, ErrDim)
	}
	if len(q) < dim {
		return fmt.Errorf("search at dim %d with a query of %d floats: %w", dim, len(q), ErrDimMismatch)
	}
	return nil
}

// checkBatch validates a batch of queries against v and returns nq.
func checkBatch(v *Vectors, q []float32, ldq, dim int) (int, error) {
	if dim < 1 || dim > v.d {
		return 0, fmt.Errorf("search at dim %d of %d: %w", dim, v.d, ErrDim)
	}
	if ldq < dim || len(q)%ldq != 0 {
		return 0, fmt.Errorf("search at dim %d with %d query floats of stride %d: %w", dim, len(q), ldq, ErrDimMismatch)
	}
	return len(q) / ldq, nil
}

// batchDst returns dst resized to nq result slices, keeping capacity.
func batchDst(dst [][]Hit, nq int) [][]Hit {
	if cap(dst) < nq {
		dst = append(dst[:cap(dst)], make([][]Hit, nq-cap(dst))...)
	}
	dst = dst[:nq]
	for i := range dst {
		dst[i] = dst[i][:0]
	}
	return dst
}

// queryScale returns the factor and offset that turn a scan key into the
// metric's score for query prefix q (see scanKey): score = key·a + b.
func queryScale(metric mrl.Metric, q []float32) (a, b float32) {
	switch metric {
	case mrl.Cosine:
		return rowNorm(mrl.Cosine, q), 0
	case mrl.L2:
		return 1, -rowNorm(mrl.L2, q)
	}
	return 1, 0
}

// scanKey turns the dot product of a row prefix and a query prefix into a
// key that ranks like the score, given the row's prefix norm nrm (see
// cachedNorms): dot/‖x‖ for Cosine, 2·dot − ‖x‖² for L2, dot otherwise.
func scanKey(metric mrl.Metric, dot, nrm float32) float32 {
	switch metric {
	case mrl.Cosine:
		return dot * nrm
	case mrl.L2:
		return 2*dot - nrm
	}
	return dot
}

// Score returns the similarity of x[:dim] and q[:dim] under metric, as
// searches report it: the cosine of the prefixes (each re-normalised; 0 if
// either is zero), their inner product, or their negated squared L2
// distance.
func Score(metric mrl.Metric, x, q []float32, dim int) float32 {
	x, q = x[:dim], q[:dim]
	switch metric {
	case mrl.Cosine:
		return kernel.Dot(x, q) * rowNorm(mrl.Cosine, x) * rowNorm(mrl.Cosine, q)
	case mrl.L2:
		return -kernel.SqL2(x, q)
	}
	return kernel.Dot(x, q)
}

// better reports whether a ranks before b: higher score, then lower index.
func better(a, b Hit) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Index < b.Index)
}

// topK keeps the k best hits seen so far in a binary heap whose root is
// the worst of them, stored in a caller's slice (no allocation once the
// slice has capacity k). Scores are keys during the scan.
type topK struct {
	h []Hit
	k int
}

// full reports whether k hits are held; then worst() is the bar to beat.
func (t *topK) full() bool { return len(t.h) == t.k }

// worst returns the score of the worst hit held; valid when len(t.h) > 0.
func (t *topK) worst() float32 { return t.h[0].Score }

// push offers a hit.
func (t *topK) push(x Hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if t.k == 0 || !better(x, t.h[0]) {
		return
	}
	t.h[0] = x
	t.down(0, len(t.h))
}

func (t *topK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) { // parent is already the worse one
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *topK) down(i, n int) {
	h := t.h
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && better(h[c], h[c+1]) {
			c++ // the worse child
		}
		if !better(h[i], h[c]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// sorted empties the heap into best-first order in place and returns it.
func (t *topK) sorted() []Hit {
	h := t.h
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0] // worst to the end
		t.down(0, n)
	}
	return h
}

// rescore sets every hit's score to its exact score at dim = len(q) and
// sorts the hits best first (ties by lower index), in place. It is the
// exact rerank that funnel stages and HNSW's wider-dim searches share.
func (v *Vectors) rescore(q []float32, w []Hit) {
	dim := len(q)
	metric := v.metric
	norms := v.cachedNorms(dim)
	a, b := queryScale(metric, q)
	for i := range w {
		off := int(w[i].Index) * v.d
		x := v.data[off : off+dim]
		key := kernel.Dot(q, x)
		switch {
		case metric == mrl.InnerProduct:
		case norms != nil:
			key = scanKey(metric, key, norms[w[i].Index])
		default:
			key = scanKey(metric, key, rowNorm(metric, x))
		}
		w[i].Score = key*a + b
	}
	slices.SortFunc(w, compareHits)
}
