package index

import (
	"fmt"
	"math"
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

// topK keeps the k best hits seen so far, in a caller's slice (no
// allocation once the slice has the capacity). Scores are keys during the
// scan. Callers skip a hit when full() && key <= worst(): rows come in
// increasing index, so a tie with the worst loses.
//
// By default the hits are a binary heap whose root is the worst of them
// (capacity k). In selection mode (sel, for large k, capacity 2k) they are
// an unordered buffer: when it fills, a quickselect keeps the k best and
// their worst score becomes the bar, so each offered hit costs O(1)
// amortised instead of O(log k).
type topK struct {
	h   []Hit
	k   int
	sel bool    // selection mode; needs cap(h) >= 2k
	thr float32 // selection mode: the bar once set
	bar bool    // selection mode: thr is set
}

// full reports whether there is a bar to beat; then worst() returns it.
func (t *topK) full() bool {
	if t.sel {
		return t.bar
	}
	return len(t.h) == t.k
}

// worst returns the bar to beat; valid when full().
func (t *topK) worst() float32 {
	if t.sel {
		return t.thr
	}
	return t.h[0].Score
}

// push offers a hit.
func (t *topK) push(x Hit) {
	if t.sel {
		if t.k == 0 || (t.bar && !(x.Score > t.thr)) {
			return
		}
		t.h = append(t.h, x)
		if len(t.h) == 2*t.k {
			t.compact()
		}
		return
	}
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

// compact keeps the k best of the selection buffer and sets the bar to the
// worst score among them.
func (t *topK) compact() {
	selectBest(t.h, t.k)
	t.h = t.h[:t.k]
	w := t.h[0].Score
	for _, x := range t.h[1:] {
		w = min(w, x.Score)
	}
	t.thr, t.bar = w, true
}

// best returns the k best hits held, in no particular order (in place).
func (t *topK) best() []Hit {
	if t.sel && len(t.h) > t.k {
		selectBest(t.h, t.k)
		t.h = t.h[:t.k]
	}
	return t.h
}

// sorted returns the hits held best first, in place.
func (t *topK) sorted() []Hit {
	if t.sel {
		t.best()
		slices.SortFunc(t.h, compareHits)
		return t.h
	}
	h := t.h
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0] // worst to the end
		t.down(0, n)
	}
	return h
}

// orderedBits maps a score to a uint32 that orders like it: x < y gives
// orderedBits(x) < orderedBits(y), and −0 and +0 (equal scores) map to
// the same value.
func orderedBits(x float32) uint32 {
	b := math.Float32bits(x)
	if b == 1<<31 { // −0
		b = 0
	}
	// Negative scores have all their bits flipped, the others their sign
	// bit; branch-free, as the sign is often a coin toss.
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

// fromOrderedBits inverts orderedBits.
func fromOrderedBits(b uint32) float32 {
	if b>>31 != 0 {
		return math.Float32frombits(b &^ (1 << 31))
	}
	return math.Float32frombits(^b)
}

// kthLargest returns the k-th largest of u (1 <= k <= len(u)), reordering
// u: quickselect with a median-of-three pivot.
func kthLargest(u []uint32, k int) uint32 {
	lo, hi := 0, len(u) // u[k-1] of the descending order lies in u[lo:hi]
	k--
	for hi-lo > 16 {
		m := lo + (hi-lo)/2
		// Order u[lo] >= u[m] >= u[hi-1] and take the middle as the pivot.
		if u[m] > u[lo] {
			u[m], u[lo] = u[lo], u[m]
		}
		if u[hi-1] > u[m] {
			u[hi-1], u[m] = u[m], u[hi-1]
			if u[m] > u[lo] {
				u[m], u[lo] = u[lo], u[m]
			}
		}
		p := u[m]
		i, j := lo, hi-1
		for i <= j {
			for u[i] > p {
				i++
			}
			for p > u[j] {
				j--
			}
			if i <= j {
				u[i], u[j] = u[j], u[i]
				i++
				j--
			}
		}
		// u[lo:j+1] >= p, u[i:hi] <= p, u[j+1:i] == p.
		switch {
		case k <= j:
			hi = j + 1
		case k >= i:
			lo = i
		default:
			return p
		}
	}
	// Insertion sort, descending, of the small remainder.
	for a := lo + 1; a < hi; a++ {
		for b := a; b > lo && u[b] > u[b-1]; b-- {
			u[b], u[b-1] = u[b-1], u[b]
		}
	}
	return u[k]
}

// selectBest reorders h so that its k best hits (by better) come first, in
// no particular order: quickselect with a median-of-three pivot.
func selectBest(h []Hit, k int) {
	lo, hi := 0, len(h) // the k-th best lies in h[lo:hi]
	for hi-lo > 16 {
		m := lo + (hi-lo)/2
		// Order h[lo], h[m], h[hi-1] and take the middle as the pivot.
		if better(h[m], h[lo]) {
			h[m], h[lo] = h[lo], h[m]
		}
		if better(h[hi-1], h[m]) {
			h[hi-1], h[m] = h[m], h[hi-1]
			if better(h[m], h[lo]) {
				h[m], h[lo] = h[lo], h[m]
			}
		}
		p := h[m]
		i, j := lo, hi-1
		for i <= j {
			for better(h[i], p) {
				i++
			}
			for better(p, h[j]) {
				j--
			}
			if i <= j {
				h[i], h[j] = h[j], h[i]
				i++
				j--
			}
		}
		// h[lo:j+1] ranks at or before p, h[i:hi] at or after it.
		switch {
		case k <= j:
			hi = j + 1
		case k >= i:
			lo = i
		default:
			return
		}
	}
	// Insertion sort of the small remainder.
	for a := lo + 1; a < hi; a++ {
		for b := a; b > lo && better(h[b], h[b-1]); b-- {
			h[b], h[b-1] = h[b-1], h[b]
		}
	}
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

// rescore sets every hit's score to its exact score at dim = len(q) and
// sorts the hits best first (ties by lower index), in place. It is the
// exact rerank of HNSW's wider-dim searches.
func (v *Vectors) rescore(q []float32, w []Hit) {
	v.score(q, w)
	slices.SortFunc(w, compareHits)
}

// score sets every hit's score to its exact score at dim = len(q), in
// place: the exact rerank that funnel stages and rescoring tiers share.
func (v *Vectors) score(q []float32, w []Hit) {
	dim := len(q)
	metric := v.metric
	norms := v.cachedNorms(dim)
	a, b := queryScale(metric, q)
	// The rows are read by kernel.DotGather in chunks held on the stack.
	const chunk = 64
	var idx [chunk]int32
	var dots [chunk]float32
	for c0 := 0; c0 < len(w); c0 += chunk {
		ws := w[c0:min(c0+chunk, len(w))]
		for i := range ws {
			idx[i] = ws[i].Index
		}
		kernel.DotGather(dots[:len(ws)], q, v.data, v.d, idx[:len(ws)])
		for i := range ws {
			key := dots[i]
			switch {
			case metric == mrl.InnerProduct:
			case norms != nil:
				key = scanKey(metric, key, norms[ws[i].Index])
			default:
				off := int(ws[i].Index) * v.d
				key = scanKey(metric, key, rowNorm(metric, v.data[off:off+dim]))
			}
			ws[i].Score = key*a + b
		}
	}
}

// searchEach is the SearchBatch of a searcher that answers one query at a
// time (HNSW, IVF): it checks the batch (and, if not nil, check(dim)),
// then runs one(s, query, k, dst[i]) for every query on kernel.Threads()
// goroutines, each with its own scratch s from get, returned with put.
func searchEach[S any](v *Vectors, q []float32, ldq, dim, k int, dst [][]Hit, check func(dim int) error,
	get func() S, put func(S), one func(s S, q []float32, k int, dst []Hit) []Hit) ([][]Hit, error) {
	nq, err := checkBatch(v, q, ldq, dim)
	if err != nil {
		return dst[:0], err
	}
	if check != nil {
		if err := check(dim); err != nil {
			return dst[:0], err
		}
	}
	dst = batchDst(dst, nq)
	k = min(max(k, 0), v.n)
	if k == 0 || nq == 0 {
		return dst, nil
	}
	kernel.ParallelFor(nq, 1, func(lo, hi int) {
		s := get()
		for i := lo; i < hi; i++ {
			dst[i] = one(s, q[i*ldq:i*ldq+dim], k, dst[i])
		}
		put(s)
	})
	return dst, nil
}
