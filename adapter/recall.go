package adapter

import (
	"context"
	"fmt"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// Neighbors returns, for each of the nq queries q (stride ldq ≥ dim), the
// row numbers of its k nearest rows of db (n rows, stride d) by cosine
// similarity of the re-normalised dim-prefixes, best first, found by exact
// search (index.Flat, batched). With skipSelf the queries are db's own
// first nq rows and each query's own row is left out (it searches k+1).
func Neighbors(db []float32, n, d int, q []float32, nq, ldq, dim, k int, skipSelf bool) ([][]int32, error) {
	return NeighborsContext(context.Background(), db, n, d, q, nq, ldq, dim, k, skipSelf)
}

// neighborBlock is the queries NeighborsContext searches between checks
// of its context: about a second of a 60k × 512 search on 2 cores.
const neighborBlock = 4096

// NeighborsContext is Neighbors that stops, with ctx's error, when ctx is
// cancelled: it searches the queries in blocks and checks ctx between
// them, so that a long neighbour search (60k rows against themselves)
// does not hold off an interrupt.
func NeighborsContext(ctx context.Context, db []float32, n, d int, q []float32, nq, ldq, dim, k int, skipSelf bool) ([][]int32, error) {
	v, err := index.NewVectors(db[:n*d:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		return nil, fmt.Errorf("adapter: neighbours: %w", err)
	}
	return neighborsIn(ctx, index.NewFlat(v), q, nq, ldq, dim, k, skipSelf)
}

func neighborsIn(ctx context.Context, f *index.Flat, q []float32, nq, ldq, dim, k int, skipSelf bool) ([][]int32, error) {
	kk := k
	if skipSelf {
		kk++
	}
	out := make([][]int32, 0, nq)
	var hits [][]index.Hit
	for lo := 0; lo < nq; lo += neighborBlock {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+neighborBlock, nq)
		var err error
		hits, err = f.SearchBatch(q[lo*ldq:hi*ldq], ldq, dim, kk, hits[:0])
		if err != nil {
			return nil, fmt.Errorf("adapter: neighbours at dim %d: %w", dim, err)
		}
		for i, hs := range hits {
			row := make([]int32, 0, k)
			for _, h := range hs {
				if skipSelf && int(h.Index) == lo+i {
					continue
				}
				if len(row) < k {
					row = append(row, h.Index)
				}
			}
			out = append(out, row)
		}
	}
	return out, nil
}

// Recall is the mean over queries of |got_i ∩ truth_i| / |truth_i|, the
// fraction of the true neighbours found (recall@k for k = len(truth_i)).
// Queries without true neighbours are skipped; with none at all it is 1.
func Recall(truth, got [][]int32) float64 {
	found, total := 0, 0
	for i, tr := range truth {
		set := make(map[int32]bool, len(got[i]))
		for _, g := range got[i] {
			set[g] = true
		}
		for _, x := range tr {
			if set[x] {
				found++
			}
		}
		total += len(tr)
	}
	if total == 0 {
		return 1
	}
	return float64(found) / float64(total)
}

// PrefixRecall returns, for each dim of dims, the recall (Recall) of exact
// cosine search over the dim-prefixes of the representation x (n database
// rows, stride d) with the queries xq (nq rows, stride d) against truth:
// "does the prefix find what the full embedding finds?". With skipSelf the
// queries are the database's first nq rows and each query's own row is not
// counted (see Neighbors).
func PrefixRecall(x []float32, n, d int, xq []float32, nq int, dims []int, truth [][]int32, skipSelf bool) ([]float64, error) {
	if len(truth) != nq {
		return nil, fmt.Errorf("adapter: recall: %d true neighbour lists for %d queries", len(truth), nq)
	}
	v, err := index.NewVectors(x[:n*d:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		return nil, fmt.Errorf("adapter: recall: %w", err)
	}
	f := index.NewFlat(v)
	k := 0
	for _, t := range truth {
		k = max(k, len(t))
	}
	out := make([]float64, len(dims))
	for i, m := range dims {
		got, err := neighborsIn(context.Background(), f, xq, nq, d, m, k, skipSelf)
		if err != nil {
			return nil, err
		}
		out[i] = Recall(truth, got)
	}
	return out, nil
}
