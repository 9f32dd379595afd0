package index_test

import (
	"fmt"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// An HNSW graph built on the 2-float prefix searches at dim 2 by the graph
// alone and at the full dim 4 by reranking its beam.
func ExampleNewHNSW() {
	data := []float32{
		1, 0, 0, 0, // id 10
		0, 1, 0, 0, // id 11
		1, 0.1, 5, 0, // id 12: like id 10 on the prefix, not on the whole
		-1, 0, 0, 1, // id 13
	}
	v, err := index.NewVectors(data, 4, 4, mrl.Cosine, []uint64{10, 11, 12, 13})
	if err != nil {
		panic(err)
	}
	h, err := index.NewHNSW(v, index.HNSWOptions{Dim: 2, M: 4, Seed: 1})
	if err != nil {
		panic(err)
	}
	q := []float32{1, 0.1, 0, 0}
	for _, dim := range []int{2, 4} {
		hits, err := h.Search(q, dim, 2, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("dim %d: id %d (%.2f), id %d (%.2f)\n", dim, hits[0].ID, hits[0].Score, hits[1].ID, hits[1].Score)
	}
	_, err = h.Search(q, 1, 2, nil)
	fmt.Println(err)
	// Output:
	// dim 2: id 12 (1.00), id 10 (1.00)
	// dim 4: id 10 (1.00), id 12 (0.20)
	// hnsw search at dim 1: the graph was built at dim 2: index: dimension out of range
}
