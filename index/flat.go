package index

import "github.com/gomrl/mrl/internal/kernel"

// Flat is the exact searcher: it scores every row at the searched dim.
//
// A single query is scanned on the calling goroutine, one kernel.Dot per
// row prefix, without allocating when dst has capacity k. A batch is scored
// in blocks of queries × rows by kernel.Sgemm on the prefixes in place
// (multi-core), and each score is compared with the query's current k-th
// best before it touches the heap.
//
// Cosine and L2 use per-row prefix norms (see Vectors.Prepare): Cosine
// ranks by x·q/‖x‖ and L2 by 2·x·q − ‖x‖², the scores being recovered as
// key/‖q‖ and key − ‖q‖² (so an L2 score may round to slightly above 0).
type Flat struct {
	v *Vectors
}

var _ Searcher = (*Flat)(nil)

// NewFlat returns the exact searcher over v.
func NewFlat(v *Vectors) *Flat { return &Flat{v: v} }

// Vectors returns the storage f searches.
func (f *Flat) Vectors() *Vectors { return f.v }

// Search implements Searcher; it is exact.
func (f *Flat) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	v := f.v
	if err := checkQuery(v, q, dim); err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), v.n)
	t := topK{h: dst[:0], k: k}
	if k == 0 {
		return t.h, nil
	}
	q = q[:dim]
	norms := v.prefixNorms(dim)
	metric, d, data := v.metric, v.d, v.data
	for i := 0; i < v.n; i++ {
		dot := kernel.Dot(q, data[i*d:i*d+dim])
		key := dot
		if norms != nil {
			key = scanKey(metric, dot, norms[i])
		}
		// Rows come in increasing index, so a tie with the worst loses.
		if t.full() && key <= t.worst() {
			continue
		}
		t.push(Hit{Score: key, Index: int32(i)})
	}
	return f.finish(t.sorted(), q), nil
}

// finish turns keys into scores and fills in ids.
func (f *Flat) finish(h []Hit, q []float32) []Hit {
	a, b := queryScale(f.v.metric, q)
	for i := range h {
		h[i].Score = h[i].Score*a + b
		h[i].ID = f.v.ids[h[i].Index]
	}
	return h
}

// Block sizes of the batched scan: queries × rows scored per Sgemm call.
const (
	batchQueries = 128
	batchRows    = 2048
)

// SearchBatch implements Searcher; it is exact.
func (f *Flat) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	v := f.v
	nq, err := checkBatch(v, q, ldq, dim)
	if err != nil {
		return dst[:0], err
	}
	dst = batchDst(dst, nq)
	k = min(max(k, 0), v.n)
	if k == 0 || nq == 0 {
		return dst, nil
	}
	norms := v.prefixNorms(dim)
	metric := v.metric
	heaps := make([]topK, nq)
	for i := range heaps {
		heaps[i] = topK{h: dst[i][:0], k: k}
	}
	qb := min(batchQueries, nq)
	rb := min(batchRows, v.n)
	scores := make([]float32, qb*rb)
	for q0 := 0; q0 < nq; q0 += qb {
		q1 := min(q0+qb, nq)
		for r0 := 0; r0 < v.n; r0 += rb {
			r1 := min(r0+rb, v.n)
			w := r1 - r0
			kernel.Sgemm(false, true, q1-q0, w, dim, 1, q[q0*ldq:], ldq, v.data[r0*v.d:], v.d, 0, scores, w)
			kernel.ParallelFor(q1-q0, 8, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					t := &heaps[q0+i]
					row := scores[i*w : (i+1)*w]
					for j, dot := range row {
						key := dot
						if norms != nil {
							key = scanKey(metric, dot, norms[r0+j])
						}
						if t.full() && key <= t.worst() {
							continue
						}
						t.push(Hit{Score: key, Index: int32(r0 + j)})
					}
				}
			})
		}
	}
	kernel.ParallelFor(nq, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = f.finish(heaps[i].sorted(), q[i*ldq:i*ldq+dim])
		}
	})
	return dst, nil
}
