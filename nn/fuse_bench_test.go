package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkFusedReLU times a training step (Forward then Backward) of the
// layer pairs and triples Sequential fuses, fused (through Sequential)
// and unfused (the same layers called one by one), on the activations of
// bench/train's CNN: the stem's BatchNorm+ReLU (256×28×28×16) and the
// embedding's BatchNorm+ReLU+GlobalAvgPool (256×7×7×512). The two forms
// alternate within one run, for an in-process A/B.
func BenchmarkFusedReLU(b *testing.B) {
	cases := []struct {
		name  string
		shape []int
		pool  bool
	}{
		{"stemBNReLU", []int{256, 28, 28, 16}, false},
		{"embedBNReLUPool", []int{256, 7, 7, 512}, true},
	}
	for _, tc := range cases {
		r := rand.New(rand.NewPCG(1, 2))
		c := tc.shape[3]
		x := randTensor(r, tc.shape...)
		seq := bnReLUSeq(c, 0.1)
		if tc.pool {
			seq.Layers = append(seq.Layers, &GlobalAvgPool{})
		}
		dy := randTensor(r, seq.Forward(x, false).Shape...)
		for _, fused := range []bool{false, true} {
			step := func() {
				if fused {
					seq.Forward(x, true)
					seq.Backward(dy)
					return
				}
				y := x
				for _, l := range seq.Layers {
					y = l.Forward(y, true)
				}
				g := dy
				for i := len(seq.Layers) - 1; i >= 0; i-- {
					g = seq.Layers[i].Backward(g)
				}
			}
			b.Run(fmt.Sprintf("%s/fused=%v", tc.name, fused), func(b *testing.B) {
				step() // the layers' buffers, untimed
				b.SetBytes(int64(4 * len(x.Data)))
				for b.Loop() {
					step()
				}
			})
		}
	}
}
