package index_test

import (
	"fmt"
	"strings"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// A cosine index searched at the full dim and at a 2-dim prefix, exactly
// and through a funnel plan that shortlists on the 1-dim prefix.
func Example() {
	v, err := index.ReadJSONL(strings.NewReader(`{"id": 10, "vector": [1, 0, 0, 0]}
{"id": 20, "vector": [1, 1, 0, 0]}
{"id": 30, "vector": [1, 0, 5, 0]}
{"id": 40, "vector": [-1, 0, 0, 1]}
`), mrl.Cosine)
	if err != nil {
		fmt.Println(err)
		return
	}
	q := []float32{1, 0.5, 0, 0}
	flat := index.NewFlat(v)
	for _, dim := range []int{4, 1} {
		hits, _ := flat.Search(q, dim, 2, nil)
		fmt.Printf("dim %d:", dim)
		for _, h := range hits {
			fmt.Printf(" id %d (%.3f)", h.ID, h.Score)
		}
		fmt.Println()
	}

	plan, err := index.ParsePlan("1:3,4:2")
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := index.NewFunnel(v, plan, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	hits, _ := f.Search(q, 4, 2, nil)
	fmt.Printf("funnel %v: ids %d %d, %d multiply-adds per query\n", plan, hits[0].ID, hits[1].ID, plan.MulAdds(v.N()))

	_, err = flat.Search(q, 5, 2, nil)
	fmt.Println(err)
	// Output:
	// dim 4: id 20 (0.949) id 10 (0.894)
	// dim 1: id 10 (1.000) id 20 (1.000)
	// funnel 1:3,4:2: ids 20 10, 16 multiply-adds per query
	// search at dim 5 of 4: index: dimension out of range
}
