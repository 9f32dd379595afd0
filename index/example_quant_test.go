package index_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// A binary tier on the 64-float prefix is the first stage of a funnel:
// it ranks the 2000 rows by sign agreement of 64 bits (8 bytes a row
// instead of 256), re-scores the best 16·50 exactly at dim 64, keeps 50
// and the funnel reranks those at the full 128 dims.
func ExampleNewQuantized() {
	const n, d = 2000, 128
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n*d)
	for i := range data {
		data[i] = float32(rng.NormFloat64() / math.Sqrt(1+float64(i%d))) // leading dims carry most
	}
	q := make([]float32, d)
	for j := range q {
		q[j] = data[7*d+j] + 0.05*float32(rng.NormFloat64()) // close to row 7
	}
	v, err := index.NewVectors(data, n, d, mrl.Cosine, nil)
	if err != nil {
		panic(err)
	}
	tier, err := index.NewQuantized(v, index.QuantOptions{Kind: index.Binary, Dim: 64})
	if err != nil {
		panic(err)
	}
	fmt.Printf("binary tier at dim %d: %d bytes per vector (float: %d), %d bytes in all\n",
		tier.Dim(), tier.BytesPerVector(), 4*tier.Dim(), tier.MemoryBytes())
	plan, err := index.ParsePlan("64:50,128:3")
	if err != nil {
		panic(err)
	}
	f, err := index.NewFunnel(v, plan, tier)
	if err != nil {
		panic(err)
	}
	hits, err := f.Search(q, d, 3, nil)
	if err != nil {
		panic(err)
	}
	exact, err := index.NewFlat(v).Search(q, d, 3, nil)
	if err != nil {
		panic(err)
	}
	for i, h := range hits {
		fmt.Printf("id %d (%.3f), exact: id %d (%.3f)\n", h.ID, h.Score, exact[i].ID, exact[i].Score)
	}
	// Output:
	// binary tier at dim 64: 8 bytes per vector (float: 256), 16256 bytes in all
	// id 7 (0.969), exact: id 7 (0.969)
	// id 383 (0.488), exact: id 383 (0.488)
	// id 645 (0.482), exact: id 645 (0.482)
}
