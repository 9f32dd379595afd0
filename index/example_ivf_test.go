package index_test

import (
	"fmt"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// An IVF clusters on the 2-float prefix (d_c = 2) and searches at any dim:
// with Probe = Lists it scans every list and is exact.
func ExampleNewIVF() {
	data := []float32{
		1, 0, 0, 0, // id 10
		0.9, 0.1, 0, 0, // id 11
		0, 1, 0, 0, // id 12
		0.1, 0.9, 0, 1, // id 13
		1, 0.1, 5, 0, // id 14: like id 10 on the prefix, not on the whole
		0, 1, 0, 0.5, // id 15
	}
	v, err := index.NewVectors(data, 6, 4, mrl.Cosine, []uint64{10, 11, 12, 13, 14, 15})
	if err != nil {
		panic(err)
	}
	f, err := index.NewIVF(v, index.IVFOptions{ClusterDim: 2, Lists: 2, Probe: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d lists of %d and %d rows\n", f.Lists(), f.ListLen(0), f.ListLen(1))
	q := []float32{1, 0.1, 0, 0}
	for _, dim := range []int{2, 4} {
		hits, err := f.Search(q, dim, 2, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("dim %d: id %d (%.3f), id %d (%.3f)\n", dim, hits[0].ID, hits[0].Score, hits[1].ID, hits[1].Score)
	}
	_, err = f.Search(q, 5, 2, nil)
	fmt.Println(err)
	// Output:
	// 2 lists of 3 and 3 rows
	// dim 2: id 14 (1.000), id 11 (1.000)
	// dim 4: id 11 (1.000), id 10 (0.995)
	// search at dim 5 of 4: index: dimension out of range
}
