package matryoshka_test

import (
	"fmt"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/matryoshka"
)

// A batch of two (anchor, positive) pairs of 4-dim embeddings: the loss at
// prefixes 2 and 4, and its gradients with respect to both batches.
func ExampleContrastive() {
	loss, err := matryoshka.NewContrastive(matryoshka.ContrastiveOptions{Nesting: mrl.Nesting{2, 4}, Temperature: 1})
	if err != nil {
		panic(err)
	}
	anchors := []float32{1, 0, 1, 0, 0, 1, 0, 1}
	positives := []float32{1, 0.1, 0.9, 0, 0, 1, 0, 1.2}
	l := loss.Forward(anchors, 4, positives, 4, 2)
	da, dp := make([]float32, 8), make([]float32, 8)
	loss.Backward(da, 4, dp, 4) // da, dp: dTotal/danchors, dTotal/dpositives
	fmt.Printf("total %.4f, per dim %.4f, in-batch top-1 %v\n", l.Total, l.PerDim, l.Correct)
	// Output: total 0.6494, per dim [0.3278 0.3216], in-batch top-1 [2 2]
}
