package eval

// Ranking metrics on one query's ranked result list.
//
// Conventions shared by every function here:
//
//   - rel is the relevance of the ranked results, best first: rel[i] is true
//     when the result at rank i+1 carries the query's label. The list may be
//     shorter than k (fewer rows were retrieved); missing ranks count as not
//     relevant, so P@k still divides by k.
//   - nRel is the number of relevant rows in the whole database (the rows
//     sharing the query's label), counted from the data with [LabelCounts];
//     it is never a dataset constant. (The official MRL notebooks hard-code
//     ImageNet's 1300 images per class in recall.)
//   - A query with no relevant row (nRel = 0) has AP = R = 0; it still
//     counts in the means, so a dataset whose queries all have relevant rows
//     is unaffected.

// LabelCounts returns how many rows carry each label: the relevant count of
// a query with label y is LabelCounts(dbLabels)[y].
func LabelCounts(labels []int32) map[int32]int {
	c := make(map[int32]int)
	for _, y := range labels {
		c[y]++
	}
	return c
}

// Relevance returns rel[i] = (labels[ranked[i].Index] == y), the relevance
// list of one query's ranked neighbours.
func Relevance(ranked []Neighbor, labels []int32, y int32) []bool {
	rel := make([]bool, len(ranked))
	for i, h := range ranked {
		rel[i] = labels[h.Index] == y
	}
	return rel
}

// hitsAt returns the number of relevant results in the top k.
func hitsAt(rel []bool, k int) int {
	h := 0
	for _, r := range rel[:min(k, len(rel))] {
		if r {
			h++
		}
	}
	return h
}

// PrecisionAt is P@k = |relevant in top k| / k.
func PrecisionAt(rel []bool, k int) float64 {
	if k <= 0 {
		return 0
	}
	return float64(hitsAt(rel, k)) / float64(k)
}

// RecallAt is R@k = |relevant in top k| / nRel, and 0 when nRel = 0.
func RecallAt(rel []bool, k, nRel int) float64 {
	if nRel <= 0 {
		return 0
	}
	return float64(hitsAt(rel, k)) / float64(nRel)
}

// HitAt is the top-k hit indicator: 1 if any of the top k results is
// relevant, else 0. Its mean over queries is the top-k hit rate (for k = 1,
// the 1-NN accuracy).
func HitAt(rel []bool, k int) float64 {
	if hitsAt(rel, k) > 0 {
		return 1
	}
	return 0
}

// apSum is Σ_{i ≤ k, rel_i} P@i, the sum of the precisions at the relevant
// ranks within the top k.
func apSum(rel []bool, k int) float64 {
	var s float64
	h := 0
	for i, r := range rel[:min(k, len(rel))] {
		if r {
			h++
			s += float64(h) / float64(i+1)
		}
	}
	return s
}

// APAt is the standard average precision at k:
//
//	AP@k = Σ_{i ≤ k, rel_i} P@i / min(k, nRel),
//
// so a list whose first min(k, nRel) results are relevant scores 1. It is 0
// when nRel = 0.
func APAt(rel []bool, k, nRel int) float64 {
	if nRel <= 0 || k <= 0 {
		return 0
	}
	return apSum(rel, k) / float64(min(k, nRel))
}

// APAtOfficial is average precision at k as the official MRL retrieval code
// computes it:
//
//	AP@k = Σ_{i ≤ k, rel_i} P@i / k,
//
// dividing by k whatever the number of relevant rows. It equals [APAt] when
// nRel ≥ k and is smaller otherwise; a perfect list with fewer than k
// relevant rows scores nRel/k, not 1.
func APAtOfficial(rel []bool, k int) float64 {
	if k <= 0 {
		return 0
	}
	return apSum(rel, k) / float64(k)
}

// RankMetrics are means over queries of the metrics at one cutoff K.
type RankMetrics struct {
	K           int     `json:"k"`
	MAP         float64 `json:"map"`          // mean APAt (divided by min(k, #relevant))
	MAPOfficial float64 `json:"map_official"` // mean APAtOfficial (divided by k)
	Precision   float64 `json:"precision"`    // mean P@k
	Recall      float64 `json:"recall"`       // mean R@k
	HitRate     float64 `json:"hit_rate"`     // fraction of queries with a relevant result in the top k
}

// MeanMetrics returns the metrics at each cutoff of ks, averaged over the
// queries: ranked[i] is query i's result list, best first, qLabels[i] its
// label, dbLabels the labels of the database rows the results index, and
// counts the per-label number of database rows (see [LabelCounts]). With
// no queries every mean is 0.
func MeanMetrics(ranked [][]Neighbor, qLabels, dbLabels []int32, counts map[int32]int, ks []int) []RankMetrics {
	out := make([]RankMetrics, len(ks))
	for j, k := range ks {
		out[j].K = k
	}
	if len(ranked) == 0 {
		return out
	}
	for i, r := range ranked {
		rel := Relevance(r, dbLabels, qLabels[i])
		nRel := counts[qLabels[i]]
		for j, k := range ks {
			m := &out[j]
			m.MAP += APAt(rel, k, nRel)
			m.MAPOfficial += APAtOfficial(rel, k)
			m.Precision += PrecisionAt(rel, k)
			m.Recall += RecallAt(rel, k, nRel)
			m.HitRate += HitAt(rel, k)
		}
	}
	nq := float64(len(ranked))
	for j := range out {
		m := &out[j]
		m.MAP /= nq
		m.MAPOfficial /= nq
		m.Precision /= nq
		m.Recall /= nq
		m.HitRate /= nq
	}
	return out
}
