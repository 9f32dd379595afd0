package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tapsCase is one ConvTaps shape: n pixels step apart, a kh×kw kernel
// over c input channels in an image row wide floats wide (the taps'
// offsets as a convolution lays them out), outc output channels.
type tapsCase struct{ n, step, kh, kw, c, wide, outc int }

func (tc tapsCase) offsets() []int {
	var off []int
	for ky := range tc.kh {
		for kx := range tc.kw {
			for ch := range tc.c {
				off = append(off, ky*tc.wide+kx*tc.c+ch)
			}
		}
	}
	return off
}

var tapsCases = []tapsCase{
	{n: 0, step: 1, kh: 3, kw: 3, c: 1, wide: 30, outc: 16},
	{n: 1, step: 1, kh: 3, kw: 3, c: 1, wide: 30, outc: 16},
	{n: 28, step: 1, kh: 3, kw: 3, c: 1, wide: 30, outc: 16},
	{n: 15, step: 2, kh: 3, kw: 3, c: 1, wide: 31, outc: 16},
	{n: 9, step: 3, kh: 3, kw: 3, c: 3, wide: 90, outc: 32},
	{n: 17, step: 3, kh: 3, kw: 3, c: 3, wide: 60, outc: 8},
	{n: 8, step: 1, kh: 5, kw: 5, c: 1, wide: 12, outc: 24},
	{n: 7, step: 2, kh: 2, kw: 2, c: 2, wide: 20, outc: 17},
	{n: 33, step: 1, kh: 1, kw: 1, c: 1, wide: 1, outc: 5},
	{n: 10, step: 4, kh: 3, kw: 3, c: 4, wide: 48, outc: 48},
	{n: 3, step: 1, kh: 0, kw: 0, c: 1, wide: 8, outc: 16},
}

// ConvTaps and ConvTapsDW (dispatched) against float64 sums and their
// plain-loop twins, at every level, with guard bands round the outputs.
func TestConvTaps(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		for _, tc := range tapsCases {
			t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
				off := tc.offsets()
				taps := len(off)
				nx := 1
				if tc.n > 0 {
					nx = (tc.n-1)*tc.step + tc.kh*tc.wide + 1
				}
				x := randSlice(r, nx)
				wt := randSlice(r, taps*tc.outc)
				yFull, y := withGuard(r, tc.n*tc.outc)
				ConvTaps(tc.n, tc.outc, y, x, tc.step, off, wt)
				checkGuard(t, yFull, "ConvTaps y")
				twin := make([]float32, tc.n*tc.outc)
				convTapsGeneric(tc.n, tc.outc, 0, tc.outc, twin, x, tc.step, off, wt)
				for p := range tc.n {
					for o := range tc.outc {
						var want float64
						for ti, of := range off {
							want += float64(x[p*tc.step+of]) * float64(wt[ti*tc.outc+o])
						}
						i := p*tc.outc + o
						if d := math.Abs(float64(y[i]) - want); d > 1e-5*(1+float64(taps)) {
							t.Fatalf("y[%d][%d] = %v, want %v", p, o, y[i], want)
						}
						if !near(y[i], twin[i]) {
							t.Fatalf("y[%d][%d] = %v, twin %v", p, o, y[i], twin[i])
						}
					}
				}

				dy := randSlice(r, tc.n*tc.outc)
				dwFull, dw := withGuard(r, taps*tc.outc)
				before := append([]float32(nil), dw...)
				ConvTapsDW(tc.n, tc.outc, dw, x, tc.step, off, dy)
				checkGuard(t, dwFull, "ConvTapsDW dw")
				dwTwin := append([]float32(nil), before...)
				convTapsDWGeneric(tc.n, tc.outc, 0, taps, 0, tc.outc, dwTwin, x, tc.step, off, dy)
				for ti, of := range off {
					for o := range tc.outc {
						want := float64(before[ti*tc.outc+o])
						for p := range tc.n {
							want += float64(x[p*tc.step+of]) * float64(dy[p*tc.outc+o])
						}
						i := ti*tc.outc + o
						if d := math.Abs(float64(dw[i]) - want); d > 1e-5*(1+float64(tc.n)) {
							t.Fatalf("dw[%d][%d] = %v, want %v", ti, o, dw[i], want)
						}
						if !near(dw[i], dwTwin[i]) {
							t.Fatalf("dw[%d][%d] = %v, twin %v", ti, o, dw[i], dwTwin[i])
						}
					}
				}
			})
		}
	})
}

func TestConvTapsChecks(t *testing.T) {
	x := make([]float32, 10)
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"offset past x", func() { ConvTaps(2, 1, make([]float32, 2), x, 5, []int{5}, make([]float32, 1)) }},
		{"negative offset", func() { ConvTaps(1, 1, make([]float32, 1), x, 1, []int{-1}, make([]float32, 1)) }},
		{"short y", func() { ConvTaps(2, 4, make([]float32, 7), x, 1, []int{0}, make([]float32, 4)) }},
		{"short wt", func() { ConvTaps(1, 4, make([]float32, 4), x, 1, []int{0, 1}, make([]float32, 7)) }},
		{"short dw", func() { ConvTapsDW(1, 4, make([]float32, 7), x, 1, []int{0, 1}, make([]float32, 4)) }},
		{"short dy", func() { ConvTapsDW(2, 4, make([]float32, 4), x, 1, []int{0}, make([]float32, 7)) }},
		{"negative step", func() { ConvTapsDW(2, 4, make([]float32, 4), x, -1, []int{0}, make([]float32, 8)) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.fn()
		}()
	}
}
