package nn

import "github.com/gomrl/mrl/internal/kernel"

// MaxPool2d takes the maximum over K×K windows of NHWC input with the given
// stride (no padding).
type MaxPool2d struct {
	K, Stride int

	arg   []int32
	in    []int
	y, dx Tensor
}

// Forward pools x.
func (p *MaxPool2d) Forward(x *Tensor, train bool) *Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := kernel.ConvOut(h, p.K, p.Stride, 0), kernel.ConvOut(w, p.K, p.Stride, 0)
	p.in = append(p.in[:0], x.Shape...)
	y := reshape(&p.y, n, oh, ow, c)
	if cap(p.arg) < len(y.Data) {
		p.arg = make([]int32, len(y.Data))
	}
	p.arg = p.arg[:len(y.Data)]
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				o := ((b*oh+oy)*ow + ox) * c
				for ch := 0; ch < c; ch++ {
					best := -1
					var bv float32
					for ky := 0; ky < p.K; ky++ {
						for kx := 0; kx < p.K; kx++ {
							i := ((b*h+oy*p.Stride+ky)*w+ox*p.Stride+kx)*c + ch
							if best < 0 || x.Data[i] > bv {
								best, bv = i, x.Data[i]
							}
						}
					}
					y.Data[o+ch], p.arg[o+ch] = bv, int32(best)
				}
			}
		}
	}
	return y
}

// Backward routes each gradient to the input that was the maximum.
func (p *MaxPool2d) Backward(dy *Tensor) *Tensor {
	dx := reshape(&p.dx, p.in...)
	clear(dx.Data)
	for i, v := range dy.Data {
		dx.Data[p.arg[i]] += v
	}
	return dx
}

// Params returns nil.
func (p *MaxPool2d) Params() []*Param { return nil }

// AvgPool2d averages over K×K windows of NHWC input with the given stride
// (no padding).
type AvgPool2d struct {
	K, Stride int

	in    []int
	y, dx Tensor
}

// Forward pools x.
func (p *AvgPool2d) Forward(x *Tensor, train bool) *Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := kernel.ConvOut(h, p.K, p.Stride, 0), kernel.ConvOut(w, p.K, p.Stride, 0)
	p.in = append(p.in[:0], x.Shape...)
	y := reshape(&p.y, n, oh, ow, c)
	clear(y.Data)
	inv := 1 / float32(p.K*p.K)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				o := y.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for ky := 0; ky < p.K; ky++ {
					for kx := 0; kx < p.K; kx++ {
						in := x.Data[((b*h+oy*p.Stride+ky)*w+ox*p.Stride+kx)*c:][:c]
						for ch, v := range in {
							o[ch] += v * inv
						}
					}
				}
			}
		}
	}
	return y
}

// Backward spreads each gradient evenly over its window.
func (p *AvgPool2d) Backward(dy *Tensor) *Tensor {
	n, h, w, c := p.in[0], p.in[1], p.in[2], p.in[3]
	oh, ow := dy.Shape[1], dy.Shape[2]
	dx := reshape(&p.dx, p.in...)
	clear(dx.Data)
	inv := 1 / float32(p.K*p.K)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				g := dy.Data[((b*oh+oy)*ow+ox)*c:][:c]
				for ky := 0; ky < p.K; ky++ {
					for kx := 0; kx < p.K; kx++ {
						d := dx.Data[((b*h+oy*p.Stride+ky)*w+ox*p.Stride+kx)*c:][:c]
						for ch, v := range g {
							d[ch] += v * inv
						}
					}
				}
			}
		}
	}
	return dx
}

// Params returns nil.
func (p *AvgPool2d) Params() []*Param { return nil }

// GlobalAvgPool averages NHWC input over H and W, giving [N, C].
type GlobalAvgPool struct {
	in    []int
	y, dx Tensor
}

// Forward averages over the spatial axes.
func (p *GlobalAvgPool) Forward(x *Tensor, train bool) *Tensor {
	n, hw, c := x.Shape[0], x.Shape[1]*x.Shape[2], x.Shape[3]
	p.in = append(p.in[:0], x.Shape...)
	y := reshape(&p.y, n, c)
	clear(y.Data)
	inv := 1 / float32(hw)
	kernel.ParallelFor(n, max(1, elemGrain/(hw*c)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			o := y.Data[b*c : (b+1)*c]
			for s := 0; s < hw; s++ {
				// o += 1·in: the vector Axpy, each sum rounded once as by +=.
				kernel.Axpy(1, x.Data[(b*hw+s)*c:][:c], o)
			}
			for ch := range o {
				o[ch] *= inv
			}
		}
	})
	return y
}

// Backward spreads each gradient evenly over H×W.
func (p *GlobalAvgPool) Backward(dy *Tensor) *Tensor {
	n, hw, c := p.in[0], p.in[1]*p.in[2], p.in[3]
	dx := reshape(&p.dx, p.in...)
	if hw == 0 {
		return dx
	}
	inv := 1 / float32(hw)
	kernel.ParallelFor(n, max(1, elemGrain/(hw*c)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			// The first pixel's row is g·inv; the others copy it.
			g := dy.Data[b*c : (b+1)*c]
			first := dx.Data[b*hw*c:][:c]
			for ch, v := range g {
				first[ch] = v * inv
			}
			for s := 1; s < hw; s++ {
				copy(dx.Data[(b*hw+s)*c:][:c], first)
			}
		}
	})
	return dx
}

// Params returns nil.
func (p *GlobalAvgPool) Params() []*Param { return nil }
