package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Conv2d runs im2col, the products and col2im a block of images at a
// time (convBlockBytes); one image a block must give what the whole batch
// in one block gives: the output, dW, db and dx, within float32 rounding
// (dW's sum over the pixels is split at the blocks).
func TestConvBlocks(t *testing.T) {
	defer func(b int) { convBlockBytes = b }(convBlockBytes)
	for _, tc := range []struct{ n, h, w, inC, outC, k, stride, pad int }{
		{3, 5, 4, 3, 4, 3, 1, 1}, {4, 7, 7, 2, 5, 3, 2, 1}, {2, 6, 5, 1, 3, 2, 2, 0}, {3, 4, 4, 3, 2, 1, 2, 0},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			run := func(block int) (y, dw, db, dx []float32) {
				convBlockBytes = block
				r := rand.New(rand.NewPCG(3, 4))
				c := NewConv2d(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, true, r)
				x := randTensor(r, tc.n, tc.h, tc.w, tc.inC)
				out := c.Forward(x, true)
				dy := randTensor(r, out.Shape...)
				g := c.Backward(dy)
				return append([]float32(nil), out.Data...), c.W.G, c.B.G, g.Data
			}
			y1, dw1, db1, dx1 := run(1) // one image a block
			y0, dw0, db0, dx0 := run(1 << 40)
			for _, v := range []struct {
				name      string
				got, want []float32
			}{{"y", y1, y0}, {"dW", dw1, dw0}, {"db", db1, db0}, {"dx", dx1, dx0}} {
				if len(v.got) != len(v.want) {
					t.Fatalf("%s: %d values, want %d", v.name, len(v.got), len(v.want))
				}
				for i := range v.got {
					if d := math.Abs(float64(v.got[i] - v.want[i])); d > 1e-5*(1+math.Abs(float64(v.want[i]))) {
						t.Fatalf("%s[%d] = %v with one image a block, %v in one block", v.name, i, v.got[i], v.want[i])
					}
				}
			}
		})
	}
}
