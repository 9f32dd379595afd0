package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl/internal/kernel"
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

// With several goroutines and at least two images each, Conv2d splits the
// batch among them (forwardWorkers, backwardWorkers). Against one
// goroutine (the block loop) at every kernel level: y and dx within
// float32 rounding (a block's product may take other k blocks), dW and
// db too (dW's sum is split at the shares), including uneven shares
// (7 images on 3 goroutines), blocks within a share (convBlockBytes), no
// input gradient, and a second run giving the same bits (the shares of
// dW are added in a fixed order).
func TestConvWorkers(t *testing.T) {
	defer func(b int) { convBlockBytes = b }(convBlockBytes)
	defer kernel.SetThreads(kernel.SetThreads(1))
	type result struct{ y, dw, db, dx []float32 }
	forLevels(t, func(t *testing.T) {
		for _, tc := range []struct {
			n, h, w, inC, outC, k, stride, pad, threads, block int
			noInputGrad                                        bool
		}{
			{7, 6, 5, 3, 4, 3, 1, 1, 3, 1 << 20, false},
			{8, 7, 7, 2, 5, 3, 2, 1, 2, 1, false}, // one image a block
			{6, 6, 6, 5, 3, 3, 1, 1, 2, 2000, true},
			{9, 8, 8, 16, 33, 3, 2, 1, 4, 1 << 20, false},
			{5, 6, 5, 4, 7, 1, 2, 0, 2, 1 << 20, false},
			{3, 6, 5, 3, 4, 3, 1, 1, 2, 1 << 20, false}, // under two images a goroutine: the block loop
		} {
			name := fmt.Sprintf("%+v", tc)
			run := func(threads int) result {
				kernel.SetThreads(threads)
				convBlockBytes = tc.block
				r := rand.New(rand.NewPCG(5, 6))
				c := NewConv2d(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, true, r)
				c.NoInputGrad = tc.noInputGrad
				for i := range c.W.G {
					c.W.G[i] = float32(r.NormFloat64()) // Backward adds to it
				}
				x := randTensor(r, tc.n, tc.h, tc.w, tc.inC)
				y := c.Forward(x, true)
				dy := randTensor(r, y.Shape...)
				res := result{y: append([]float32(nil), y.Data...), dw: c.W.G, db: c.B.G}
				if dx := c.Backward(dy); dx != nil {
					res.dx = dx.Data
				} else if !tc.noInputGrad {
					t.Fatalf("%s: Backward returned no dx", name)
				}
				return res
			}
			want := run(1)
			got := run(tc.threads)
			again := run(tc.threads)
			for _, v := range []struct {
				name            string
				got, again, ref []float32
			}{{"y", got.y, again.y, want.y}, {"dW", got.dw, again.dw, want.dw}, {"db", got.db, again.db, want.db}, {"dx", got.dx, again.dx, want.dx}} {
				sameBits(t, name+" "+v.name+" twice", v.again, v.got)
				checkNear(t, fmt.Sprintf("%s %s on %d goroutines against one", name, v.name, tc.threads), v.got, v.ref, 1e-5)
			}
		}
	})
}

// An empty batch leaves the gradients as they were, after a batch that
// was not empty, whichever form the weight gradient takes (transposedDW
// or not): the dWᵀ buffer still holds the last batch's sums then.
func TestConvEmptyBatch(t *testing.T) {
	for _, tc := range []struct{ inC, outC, k, stride, pad int }{
		{1, 4, 3, 1, 1}, // k·k·InC = 9 > 4: dWᵀ
		{2, 5, 1, 2, 0}, // 2 <= 5: dW
	} {
		r := rand.New(rand.NewPCG(1, 2))
		c := NewConv2d(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, true, r)
		y := c.Forward(randTensor(r, 2, 5, 5, tc.inC), true)
		c.Backward(randTensor(r, y.Shape...))
		dw, db := append([]float32(nil), c.W.G...), append([]float32(nil), c.B.G...)
		y0 := c.Forward(NewTensor(0, 5, 5, tc.inC), true)
		if dx := c.Backward(NewTensor(y0.Shape...)); len(dx.Data) != 0 {
			t.Fatalf("%+v: dx of an empty batch has %d values", tc, len(dx.Data))
		}
		sameBits(t, fmt.Sprintf("%+v: dW after an empty batch", tc), c.W.G, dw)
		sameBits(t, fmt.Sprintf("%+v: db after an empty batch", tc), c.B.G, db)
	}
}

// A convolution with few input channels runs directly (directTaps:
// kernel.ConvTaps, and kernel.ConvTapsDW without an input gradient).
// Against the im2col path on the same layer and data, at every kernel
// level and on 1 to 3 goroutines: y, dW, db and dx within float32
// rounding (dW and db sum thousands of pixels in another order: 1e-4),
// the same bits from a second run, and an empty batch leaving the
// gradients as they were.
func TestConvTapsPath(t *testing.T) {
	defer func(m int) { directTapsMaxC = m }(directTapsMaxC)
	defer kernel.SetThreads(kernel.SetThreads(1))
	type result struct{ y, dw0, dw, db, dx []float32 }
	forLevels(t, func(t *testing.T) {
		for _, tc := range []struct {
			n, h, w, inC, outC, k, stride, pad, threads int
			noInputGrad                                 bool
		}{
			{5, 28, 28, 1, 16, 3, 1, 1, 1, true}, // the benchmark CNN's stem
			{4, 9, 7, 3, 32, 3, 2, 1, 2, true},
			{3, 8, 8, 1, 17, 5, 1, 2, 3, true},
			{6, 7, 6, 2, 8, 3, 1, 0, 2, true},
			{5, 6, 6, 4, 9, 1, 2, 0, 2, true},
			{3, 6, 5, 3, 24, 2, 2, 1, 1, true},
			{4, 9, 7, 3, 16, 3, 1, 1, 2, false}, // dx: the im2col backward after a direct forward
		} {
			name := fmt.Sprintf("%+v", tc)
			run := func(maxC, threads, n int) result {
				directTapsMaxC = maxC
				kernel.SetThreads(threads)
				r := rand.New(rand.NewPCG(7, 8))
				c := NewConv2d(tc.inC, tc.outC, tc.k, tc.stride, tc.pad, true, r)
				c.NoInputGrad = tc.noInputGrad
				for i := range c.W.G {
					c.W.G[i] = float32(r.NormFloat64()) // Backward adds to it
				}
				if (maxC >= tc.inC) != c.directTaps() {
					t.Fatalf("%s: directTaps() = %v with directTapsMaxC %d", name, c.directTaps(), maxC)
				}
				x := randTensor(r, n, tc.h, tc.w, tc.inC)
				y := c.Forward(x, true)
				dy := randTensor(r, y.Shape...)
				res := result{y: append([]float32(nil), y.Data...), dw0: append([]float32(nil), c.W.G...), dw: c.W.G, db: c.B.G}
				dx := c.Backward(dy)
				if tc.noInputGrad != (dx == nil) {
					t.Fatalf("%s: Backward returned dx %v", name, dx != nil)
				}
				if dx != nil {
					res.dx = dx.Data
				}
				return res
			}
			want := run(0, 1, tc.n)
			got := run(4, tc.threads, tc.n)
			again := run(4, tc.threads, tc.n)
			for _, v := range []struct {
				name            string
				got, again, ref []float32
			}{{"y", got.y, again.y, want.y}, {"dW", got.dw, again.dw, want.dw}, {"db", got.db, again.db, want.db}, {"dx", got.dx, again.dx, want.dx}} {
				sameBits(t, name+" "+v.name+" twice", v.again, v.got)
				tol := 1e-5
				if v.name == "dW" || v.name == "db" {
					tol = 1e-4
				}
				checkNear(t, name+" "+v.name+" direct against im2col", v.got, v.ref, tol)
			}
			// An empty batch: no rows, W.G as the random start left it.
			empty := run(4, tc.threads, 0)
			sameBits(t, name+" dW after an empty batch", empty.dw, empty.dw0)
			if len(empty.y) != 0 {
				t.Fatalf("%s: %d outputs for an empty batch", name, len(empty.y))
			}
		}
	})
}

// checkNear fails unless got and want have the same length and every
// value of got is within tol·(1+|want|) of want's.
func checkNear(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
