package eval

import (
	"math/rand/v2"
	"slices"

	"github.com/gomrl/mrl/internal/kernel"
)

// SampleShots draws, for each label of labels, shots row indices of that
// label uniformly without replacement (all of them when the label has
// fewer rows), and returns them sorted. Labels are visited in increasing
// order and each label's rows in row order, so the result depends only on
// (labels, shots, the state of r). Draw once per seed and reuse the shots
// for every dim, so the dims are compared on the same examples.
func SampleShots(labels []int32, shots int, r *rand.Rand) []int {
	byLabel := map[int32][]int{}
	for i, y := range labels {
		byLabel[y] = append(byLabel[y], i)
	}
	keys := make([]int32, 0, len(byLabel))
	for y := range byLabel {
		keys = append(keys, y)
	}
	slices.Sort(keys)
	var out []int
	for _, y := range keys {
		rows := byLabel[y]
		k := min(shots, len(rows))
		for i := 0; i < k; i++ { // partial Fisher–Yates
			j := i + r.IntN(len(rows)-i)
			rows[i], rows[j] = rows[j], rows[i]
		}
		out = append(out, rows[:k]...)
	}
	slices.Sort(out)
	return out
}

// NCMAccuracy is few-shot nearest-class-mean accuracy at prefix dim m. The
// support rows idx of db (stride d, labels dbLabels) give one prototype per
// label,
//
//	μ_c = normalize( Σ_{i ∈ idx, y_i = c} normalize(x_i[:m]) ),
//
// and a query is assigned the label of the prototype with the largest
// cosine to its m-prefix (ties to the smaller label). It returns the
// fraction of the nq queries q (stride d) assigned their label qLabels[i],
// and 0 when there are no queries or no support rows.
func NCMAccuracy(db []float32, dbLabels []int32, d int, idx []int, q []float32, qLabels []int32, nq, m int) float64 {
	if nq == 0 || len(idx) == 0 {
		return 0
	}
	pos := map[int32]int{}
	var classes []int32
	for _, i := range idx {
		if _, ok := pos[dbLabels[i]]; !ok {
			pos[dbLabels[i]] = 0
			classes = append(classes, dbLabels[i])
		}
	}
	slices.Sort(classes)
	for j, c := range classes {
		pos[c] = j
	}
	nc := len(classes)
	means := make([]float32, nc*m)
	row := make([]float32, m)
	for _, i := range idx {
		copy(row, db[i*d:i*d+m])
		kernel.Normalize(row)
		kernel.Axpy(1, row, means[pos[dbLabels[i]]*m:])
	}
	for j := 0; j < nc; j++ {
		kernel.Normalize(means[j*m : (j+1)*m])
	}
	qn := PrefixNormalized(q, nq, d, m)
	scores := make([]float32, nq*nc)
	kernel.Sgemm(false, true, nq, nc, m, 1, qn, m, means, m, 0, scores, nc)
	ok := 0
	for i := 0; i < nq; i++ {
		if classes[argmax32(scores[i*nc:(i+1)*nc])] == qLabels[i] {
			ok++
		}
	}
	return float64(ok) / float64(nq)
}
