package nn

import (
	"math"

	"github.com/gomrl/mrl/internal/kernel"
)

// BatchNorm normalises each channel (the last axis) over all other axes:
// y = γ·(x−μ)/sqrt(σ²+ε) + β, with batch statistics in training and running
// statistics in evaluation, as PyTorch's BatchNorm1d/2d (momentum 0.1,
// ε 1e-5, running variance unbiased). It works on [N, C] and NHWC tensors.
//
// Rows are split across goroutines in fixed chunks and the per-chunk sums
// (float64) are combined in chunk order, so results are deterministic for a
// given kernel.Threads().
//
// A Sequential runs a BatchNorm and the ReLU right after it as one layer
// (forward: kernel.NormAffineReLU; backward: kernel.ColSumsDotReLU and
// kernel.NormBackwardReLU), which saves the ReLU's two passes over the
// activations and gives the same bits as running them one after the other.
type BatchNorm struct {
	C        int
	Momentum float32
	Eps      float32
	Gamma    *Param
	Beta     *Param
	Mean     *Buffer // running mean
	Var      *Buffer // running variance

	xhat   []float32
	invStd []float32
	mean   []float32
	y, dx  Tensor
	rows   int

	// relu is set by a fused training forward (forward with relu); the
	// backward then cuts the gradient where the ReLU blocked, found from
	// xhat and the γ, β of the forward, kept in gamma and beta.
	relu        bool
	gamma, beta []float32
	k, m1, m2   []float32
	// pool is set by a training forward fused with the ReLU and the
	// GlobalAvgPool after it (Sequential's BatchNorm, ReLU,
	// GlobalAvgPool): the pool's input was never stored, and the
	// backward spreads the pool's gradient (gs: per image, divided by
	// H·W) itself.
	pool *GlobalAvgPool
	gs   []float32
}

// NewBatchNorm returns a BatchNorm over c channels with γ=1, β=0.
func NewBatchNorm(c int) *BatchNorm {
	b := &BatchNorm{C: c, Momentum: 0.1, Eps: 1e-5,
		Gamma: newParam("weight", true, c), Beta: newParam("bias", true, c),
		Mean: &Buffer{Name: "running_mean", Shape: []int{c}, W: make([]float32, c)},
		Var:  &Buffer{Name: "running_var", Shape: []int{c}, W: make([]float32, c)},
	}
	for i := range b.Gamma.W {
		b.Gamma.W[i] = 1
		b.Var.W[i] = 1
	}
	return b
}

// rowGrain is the number of rows per goroutine for c channels.
func rowGrain(c int) int { return max(1, elemGrain/c) }

// chunkSums runs fn over row chunks, each accumulating into its own pair of
// c-long float64 slices, and returns the chunk-ordered totals.
func chunkSums(rows, c int, fn func(lo, hi int, s1, s2 []float64)) (s1, s2 []float64) {
	grain := rowGrain(c)
	nChunks := (rows + grain - 1) / grain
	t := min(kernel.Threads(), max(nChunks, 1))
	per := (rows + t - 1) / t
	if per == 0 {
		per = 1
	}
	n := (rows + per - 1) / per
	parts := make([][]float64, 2*max(n, 1))
	for i := range parts {
		parts[i] = make([]float64, c)
	}
	kernel.ParallelFor(n, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			fn(ch*per, min((ch+1)*per, rows), parts[2*ch], parts[2*ch+1])
		}
	})
	s1, s2 = parts[0], parts[1]
	for ch := 1; ch < n; ch++ {
		for j := 0; j < c; j++ {
			s1[j] += parts[2*ch][j]
			s2[j] += parts[2*ch+1][j]
		}
	}
	return s1, s2
}

// Forward normalises x.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor { return b.forward(x, train, false) }

// forward is Forward, followed by y = max(y, 0) when relu is set (as the
// ReLU layer computes it).
func (b *BatchNorm) forward(x *Tensor, train, relu bool) *Tensor {
	return b.forwardPool(x, train, relu, nil)
}

// forwardPool is forward; with a pool (and relu) it is followed by the
// pool's forward too, on the NHWC x: the result is pool's [N, C] output,
// the mean over H·W of the ReLU's output, summed as GlobalAvgPool sums
// it, and the ReLU's output is never stored.
func (b *BatchNorm) forwardPool(x *Tensor, train, relu bool, pool *GlobalAvgPool) *Tensor {
	norm := kernel.NormAffine
	if relu {
		norm = kernel.NormAffineReLU
	}
	c := b.C
	if x.Shape[len(x.Shape)-1] != c {
		panic("nn: BatchNorm channel mismatch")
	}
	rows := len(x.Data) / c
	g, be := b.Gamma.W, b.Beta.W
	if !train {
		inv := make([]float32, c)
		for j := range inv {
			inv[j] = float32(1 / math.Sqrt(float64(b.Var.W[j]+b.Eps)))
		}
		if pool != nil {
			return b.normPool(x, nil, b.Mean.W, inv, pool)
		}
		y := reshape(&b.y, x.Shape...)
		kernel.ParallelFor(rows, rowGrain(c), func(lo, hi int) {
			norm(hi-lo, c, nil, y.Data[lo*c:hi*c], x.Data[lo*c:hi*c], b.Mean.W, inv, g, be)
		})
		return y
	}
	b.rows = rows
	b.relu = relu
	b.pool = pool
	if relu {
		b.gamma = append(b.gamma[:0], g...)
		b.beta = append(b.beta[:0], be...)
	}
	if len(b.invStd) != c {
		b.invStd, b.mean = make([]float32, c), make([]float32, c)
	}
	// One pass for Σx and Σx² around a shift (the running mean) keeps the
	// variance accurate without a second pass over x.
	shift := b.Mean.W
	s1, s2 := chunkSums(rows, c, func(lo, hi int, s1, s2 []float64) {
		kernel.ColSumsShifted(hi-lo, c, s1, s2, x.Data[lo*c:hi*c], shift)
	})
	for j := 0; j < c; j++ {
		md := s1[j] / float64(rows)
		v := max(s2[j]/float64(rows)-md*md, 0)
		mu := float64(shift[j]) + md
		b.mean[j] = float32(mu)
		b.invStd[j] = float32(1 / math.Sqrt(v+float64(b.Eps)))
		unbiased := v
		if rows > 1 {
			unbiased = v * float64(rows) / float64(rows-1)
		}
		b.Mean.W[j] = (1-b.Momentum)*b.Mean.W[j] + b.Momentum*float32(mu)
		b.Var.W[j] = (1-b.Momentum)*b.Var.W[j] + b.Momentum*float32(unbiased)
	}
	b.xhat = grow(b.xhat, len(x.Data))
	mean, inv := b.mean, b.invStd
	if pool != nil {
		return b.normPool(x, b.xhat, mean, inv, pool)
	}
	y := reshape(&b.y, x.Shape...)
	kernel.ParallelFor(rows, rowGrain(c), func(lo, hi int) {
		norm(hi-lo, c, b.xhat[lo*c:hi*c], y.Data[lo*c:hi*c], x.Data[lo*c:hi*c], mean, inv, g, be)
	})
	return y
}

// normPool writes x̂ (to h, unless nil) and pool's output: per image, the
// ReLU's outputs summed over its pixels in order, times 1/(H·W).
func (b *BatchNorm) normPool(x *Tensor, h, mean, inv []float32, pool *GlobalAvgPool) *Tensor {
	if len(x.Shape) != 4 {
		panic("nn: BatchNorm fused with GlobalAvgPool expects NHWC input")
	}
	c, n, hw := b.C, x.Shape[0], x.Shape[1]*x.Shape[2]
	pool.in = append(pool.in[:0], x.Shape...)
	y := reshape(&pool.y, n, c)
	clear(y.Data)
	invHW := 1 / float32(hw)
	g, be := b.Gamma.W, b.Beta.W
	kernel.ParallelFor(n, max(1, elemGrain/max(hw*c, 1)), func(lo, hi int) {
		for img := lo; img < hi; img++ {
			var hb []float32
			if h != nil {
				hb = h[img*hw*c : (img+1)*hw*c]
			}
			o := y.Data[img*c : (img+1)*c]
			kernel.NormAffineReLUSum(hw, c, hb, o, x.Data[img*hw*c:(img+1)*hw*c], mean, inv, g, be)
			for ch := range o {
				o[ch] *= invHW
			}
		}
	})
	return y
}

// imageSegments calls fn for the pieces of rows [lo, hi) that lie in one
// image of hw rows each, in order.
func imageSegments(lo, hi, hw int, fn func(img, lo, hi int)) {
	for r := lo; r < hi; {
		img := r / hw
		end := min(hi, (img+1)*hw)
		fn(img, r, end)
		r = end
	}
}

// Backward returns dx = γ·invstd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)) and adds
// dγ = Σ dy·x̂, dβ = Σ dy. After a fused forward (forward with relu), dy
// is the gradient of the ReLU's output and is first cut to 0 where the
// ReLU blocked.
func (b *BatchNorm) Backward(dy *Tensor) *Tensor {
	if b.pool != nil {
		return b.backwardPool(dy)
	}
	c, rows, relu := b.C, b.rows, b.relu
	s1, s2 := chunkSums(rows, c, func(lo, hi int, s1, s2 []float64) {
		if relu {
			kernel.ColSumsDotReLU(hi-lo, c, s1, s2, dy.Data[lo*c:hi*c], b.xhat[lo*c:hi*c], b.gamma, b.beta)
			return
		}
		kernel.ColSumsDot(hi-lo, c, s1, s2, dy.Data[lo*c:hi*c], b.xhat[lo*c:hi*c])
	})
	for j := 0; j < c; j++ {
		b.Beta.G[j] += float32(s1[j])
		b.Gamma.G[j] += float32(s2[j])
	}
	dx := reshape(&b.dx, dy.Shape...)
	m := float32(rows)
	k, m1, m2 := b.folded(s1, s2, m)
	kernel.ParallelFor(rows, rowGrain(c), func(lo, hi int) {
		if relu {
			kernel.NormBackwardReLU(hi-lo, c, dx.Data[lo*c:hi*c], dy.Data[lo*c:hi*c], b.xhat[lo*c:hi*c], b.gamma, b.beta, k, m1, m2)
			return
		}
		kernel.NormBackward(hi-lo, c, dx.Data[lo*c:hi*c], dy.Data[lo*c:hi*c], b.xhat[lo*c:hi*c], k, m1, m2)
	})
	return dx
}

// folded returns the per-channel factors of the input gradient over m
// rows from the sums s1 = Σdy and s2 = Σdy·x̂.
func (b *BatchNorm) folded(s1, s2 []float64, m float32) (k, m1, m2 []float32) {
	c := b.C
	b.k, b.m1, b.m2 = grow(b.k, c), grow(b.m1, c), grow(b.m2, c)
	k, m1, m2 = b.k, b.m1, b.m2
	for j := 0; j < c; j++ {
		k[j] = b.Gamma.W[j] * b.invStd[j]
		m1[j] = float32(s1[j]) / m
		m2[j] = float32(s2[j]) / m
	}
	return k, m1, m2
}

// backwardPool is Backward after forwardPool: dy is the pool's [N, C]
// output gradient, spread over each image's pixels as
// GlobalAvgPool.Backward spreads it (dy·(1/(H·W))) but never stored, then
// through the ReLU and the normalisation.
func (b *BatchNorm) backwardPool(dy *Tensor) *Tensor {
	c, rows, p := b.C, b.rows, b.pool
	n, hw := p.in[0], p.in[1]*p.in[2]
	dx := reshape(&b.dx, p.in...)
	if hw == 0 {
		return dx
	}
	invHW := 1 / float32(hw)
	b.gs = grow(b.gs, n*c)
	gs := b.gs
	for i, v := range dy.Data[:n*c] {
		gs[i] = v * invHW
	}
	s1, s2 := chunkSums(rows, c, func(lo, hi int, s1, s2 []float64) {
		imageSegments(lo, hi, hw, func(img, lo, hi int) {
			kernel.ColSumsDotReLURow(hi-lo, c, s1, s2, gs[img*c:(img+1)*c], b.xhat[lo*c:hi*c], b.gamma, b.beta)
		})
	})
	for j := 0; j < c; j++ {
		b.Beta.G[j] += float32(s1[j])
		b.Gamma.G[j] += float32(s2[j])
	}
	k, m1, m2 := b.folded(s1, s2, float32(rows))
	kernel.ParallelFor(rows, rowGrain(c), func(lo, hi int) {
		imageSegments(lo, hi, hw, func(img, lo, hi int) {
			kernel.NormBackwardReLURow(hi-lo, c, dx.Data[lo*c:hi*c], gs[img*c:(img+1)*c], b.xhat[lo*c:hi*c], b.gamma, b.beta, k, m1, m2)
		})
	})
	return dx
}

// Params returns γ and β.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Buffers returns the running mean and variance.
func (b *BatchNorm) Buffers() []*Buffer { return []*Buffer{b.Mean, b.Var} }
