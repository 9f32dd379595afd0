// Package eval measures Matryoshka representations on prefixes of the
// embedding: nearest-neighbour classification (OneNNAccuracy), retrieval
// metrics (ranking metrics on label lists, RetrievalSet with exact,
// adaptive and funnel plans and their cost model), adaptive classification
// over the heads' logits (Confidences), linear probes on frozen features
// (FitProbe), the PCA and low-rank baselines (FitPCA, LowRankWeights) and
// few-shot nearest-class-mean accuracy (NCMAccuracy).
//
// Conventions: embeddings are row-major []float32 with a row stride d, so
// the m-prefix of row i is x[i*d : i*d+m]; similarity is the cosine of
// re-normalised prefixes; relevance is "same label", and relevant counts
// are computed from the data.
package eval

import (
	"container/heap"
	"math"

	"github.com/gomrl/mrl/internal/kernel"
)

// PrefixNormalized returns an n×m copy of the first m dims of n rows of x
// (row stride d), each re-normalised to unit Euclidean length, so that the
// inner product of two rows is the cosine similarity of the prefixes. Rows
// that are zero stay zero. Truncating without re-normalising changes the
// ranking of cosine search; this is the step other tools often miss.
func PrefixNormalized(x []float32, n, d, m int) []float32 {
	out := make([]float32, n*m)
	kernel.ParallelFor(n, 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := out[i*m : (i+1)*m]
			copy(row, x[i*d:i*d+m])
			kernel.Normalize(row)
		}
	})
	return out
}

// Neighbor is a search hit.
type Neighbor struct {
	Index int32
	Score float32
}

type minHeap []Neighbor

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].Score < h[j].Score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Neighbor)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Search returns, for each of nq query rows of q, the k rows of db (n rows)
// with the largest inner product, best first; rows have m floats with
// strides ldDB and ldQ, so a prefix of wider rows can be searched in place.
// Scores are computed with one GEMM per block of queries and database rows.
func Search(db []float32, n, ldDB int, q []float32, nq, ldQ, m, k int) [][]Neighbor {
	k = min(k, n)
	out := make([][]Neighbor, nq)
	if k <= 0 || nq == 0 {
		return out
	}
	const qb, dbb = 256, 4096
	heaps := make([]minHeap, nq)
	for i := range heaps {
		heaps[i] = make(minHeap, 0, k+1)
	}
	scores := make([]float32, qb*dbb)
	for q0 := 0; q0 < nq; q0 += qb {
		q1 := min(q0+qb, nq)
		for d0 := 0; d0 < n; d0 += dbb {
			d1 := min(d0+dbb, n)
			w := d1 - d0
			kernel.Sgemm(false, true, q1-q0, w, m, 1, q[q0*ldQ:], ldQ, db[d0*ldDB:], ldDB, 0, scores, w)
			kernel.ParallelFor(q1-q0, 16, func(lo, hi int) {
				for i := q0 + lo; i < q0+hi; i++ {
					h := &heaps[i]
					row := scores[(i-q0)*w : (i-q0+1)*w]
					for j, s := range row {
						if len(*h) < k {
							heap.Push(h, Neighbor{int32(d0 + j), s})
						} else if s > (*h)[0].Score {
							(*h)[0] = Neighbor{int32(d0 + j), s}
							heap.Fix(h, 0)
						}
					}
				}
			})
		}
	}
	for i := range heaps {
		h := heaps[i]
		res := make([]Neighbor, len(h))
		for j := len(h) - 1; j >= 0; j-- {
			res[j] = heap.Pop(&h).(Neighbor)
		}
		out[i] = res
	}
	return out
}

// Rerank re-scores each query's candidates by inner product over the first m
// dims (rows re-normalised when cosine) and keeps the best k, best first.
// db and q are full rows with strides ldDB and ldQ.
func Rerank(db []float32, ldDB int, q []float32, ldQ int, cands [][]Neighbor, m, k int, cosine bool) [][]Neighbor {
	out := make([][]Neighbor, len(cands))
	kernel.ParallelFor(len(cands), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			qr := q[i*ldQ : i*ldQ+m]
			qn := float32(1)
			if cosine {
				qn = kernel.Norm(qr)
			}
			res := make([]Neighbor, len(cands[i]))
			for j, c := range cands[i] {
				r := db[int(c.Index)*ldDB : int(c.Index)*ldDB+m]
				s := kernel.Dot(qr, r)
				if cosine {
					if d := qn * kernel.Norm(r); d > 0 {
						s /= d
					}
				}
				res[j] = Neighbor{c.Index, s}
			}
			sortNeighbors(res)
			out[i] = res[:min(k, len(res))]
		}
	})
	return out
}

func sortNeighbors(x []Neighbor) {
	// insertion sort is fine for shortlists of a few hundred
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i
		for ; j > 0 && (x[j-1].Score < v.Score || (x[j-1].Score == v.Score && x[j-1].Index > v.Index)); j-- {
			x[j] = x[j-1]
		}
		x[j] = v
	}
}

// OneNNAccuracy is the fraction of queries whose nearest database row by
// cosine similarity over the first m dims carries the query's label.
func OneNNAccuracy(db []float32, dbLabels []int32, n, d int, q []float32, qLabels []int32, nq, m int) float64 {
	dbn := PrefixNormalized(db, n, d, m)
	qn := PrefixNormalized(q, nq, d, m)
	hits := Search(dbn, n, m, qn, nq, m, m, 1)
	return labelHitRate(hits, dbLabels, qLabels)
}

func labelHitRate(hits [][]Neighbor, dbLabels, qLabels []int32) float64 {
	if len(hits) == 0 {
		return math.NaN()
	}
	ok := 0
	for i, h := range hits {
		if len(h) > 0 && dbLabels[h[0].Index] == qLabels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(hits))
}
