package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopKSelection checks the selection mode of topK against the heap
// mode and against sorting everything, with many tied scores.
func TestTopKSelection(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 5, 63, 64, 65, 200, 1000, 5000} {
		for _, k := range []int{1, 2, 17, 64, 100, 999, 6000} {
			for _, levels := range []int{3, 1 << 20} { // heavy ties, few ties
				t.Run(fmt.Sprintf("n%d/k%d/levels%d", n, k, levels), func(t *testing.T) {
					kk := min(k, n)
					hits := make([]Hit, n)
					for i := range hits {
						hits[i] = Hit{Score: float32(r.IntN(levels)), Index: int32(i)}
					}
					want := slices.Clone(hits)
					slices.SortFunc(want, compareHits)
					want = want[:kk]

					heap := topK{h: make([]Hit, 0, kk), k: kk}
					sel := topK{h: make([]Hit, 0, 2*kk), k: kk, sel: true}
					for _, x := range hits {
						for _, tk := range []*topK{&heap, &sel} {
							// The callers' filter, as in Flat's scans.
							if tk.full() && x.Score <= tk.worst() {
								continue
							}
							tk.push(x)
						}
					}
					for name, got := range map[string][]Hit{"heap": heap.sorted(), "select": sel.sorted()} {
						if !slices.Equal(got, want) {
							t.Fatalf("%s: got %v, want %v", name, head(got), head(want))
						}
					}
				})
			}
		}
	}
}

func head(h []Hit) []Hit { return h[:min(len(h), 8)] }

func TestSelectBest(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(300)
		k := r.IntN(n + 1)
		h := make([]Hit, n)
		for i := range h {
			h[i] = Hit{Score: float32(r.IntN(1 + r.IntN(50))), Index: int32(i)}
		}
		r.Shuffle(n, func(i, j int) { h[i], h[j] = h[j], h[i] })
		all := slices.Clone(h)
		slices.SortFunc(all, compareHits)
		selectBest(h, k)
		got := slices.Clone(h[:k])
		slices.SortFunc(got, compareHits)
		if !slices.Equal(got, all[:k]) {
			t.Fatalf("selectBest(n=%d, k=%d): first k = %v, want %v", n, k, head(got), head(all[:k]))
		}
	}
}
