// Package eval measures Matryoshka representations on prefixes of the
// embedding: nearest-neighbour classification (OneNNAccuracy), retrieval
// metrics (ranking metrics on label lists, RetrievalSet with exact,
// adaptive and funnel plans and their cost model), adaptive classification
// over the heads' logits (Confidences), linear probes on frozen features
// (FitProbe), the PCA and low-rank baselines (FitPCA, LowRankWeights) and
// few-shot nearest-class-mean accuracy (NCMAccuracy), and pair retrieval
// for text (PairSet: recall@1/10/100, MRR@10 and nDCG@10 when each query
// has its own relevant documents; ReciprocalRankFusion of rankings).
//
// Conventions: embeddings are row-major []float32 with a row stride d, so
// the m-prefix of row i is x[i*d : i*d+m]; similarity is the cosine of
// re-normalised prefixes; relevance is "same label", and relevant counts
// are computed from the data.
package eval

import (
	"fmt"
	"math"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
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

// Neighbor is a search hit: the row's index in the database (Index) and
// its score. It is index.Hit, whose ID eval does not use.
type Neighbor = index.Hit

// OneNNAccuracy is the fraction of queries whose nearest database row by
// cosine similarity over the first m dims carries the query's label.
// It searches with index.Flat (cosine), which re-normalises the prefixes.
func OneNNAccuracy(db []float32, dbLabels []int32, n, d int, q []float32, qLabels []int32, nq, m int) (float64, error) {
	v, err := index.NewVectors(db[:n*d:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		return 0, fmt.Errorf("eval: 1-NN database: %w", err)
	}
	hits, err := index.NewFlat(v).SearchBatch(q[:nq*d], d, m, 1, nil)
	if err != nil {
		return 0, fmt.Errorf("eval: 1-NN: %w", err)
	}
	return labelHitRate(hits, dbLabels, qLabels), nil
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
