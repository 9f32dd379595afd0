package nn

import "math"

// BatchNorm normalises each channel (the last axis) over all other axes:
// y = γ·(x−μ)/sqrt(σ²+ε) + β, with batch statistics in training and running
// statistics in evaluation, as PyTorch's BatchNorm1d/2d (momentum 0.1,
// ε 1e-5, running variance unbiased). It works on [N, C] and NHWC tensors.
type BatchNorm struct {
	C        int
	Momentum float32
	Eps      float32
	Gamma    *Param
	Beta     *Param
	Mean     *Buffer // running mean
	Var      *Buffer // running variance

	xhat          []float32
	invStd        []float32
	sum1, sum2    []float64
	y, dx         Tensor
	rows, trained int
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

// Forward normalises x.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor {
	c := b.C
	if x.Shape[len(x.Shape)-1] != c {
		panic("nn: BatchNorm channel mismatch")
	}
	rows := len(x.Data) / c
	y := reshape(&b.y, x.Shape...)
	g, be := b.Gamma.W, b.Beta.W
	if !train {
		for i := 0; i < rows; i++ {
			xr, yr := x.Data[i*c:(i+1)*c], y.Data[i*c:(i+1)*c]
			for j := range xr {
				s := g[j] / float32(math.Sqrt(float64(b.Var.W[j]+b.Eps)))
				yr[j] = (xr[j]-b.Mean.W[j])*s + be[j]
			}
		}
		return y
	}
	b.rows = rows
	if cap(b.sum1) < c {
		b.sum1, b.sum2, b.invStd = make([]float64, c), make([]float64, c), make([]float32, c)
	}
	s1, s2 := b.sum1[:c], b.sum2[:c]
	clear(s1)
	clear(s2)
	for i := 0; i < rows; i++ {
		xr := x.Data[i*c : (i+1)*c]
		for j, v := range xr {
			s1[j] += float64(v)
		}
	}
	for j := range s1 {
		s1[j] /= float64(rows)
	}
	for i := 0; i < rows; i++ {
		xr := x.Data[i*c : (i+1)*c]
		for j, v := range xr {
			d := float64(v) - s1[j]
			s2[j] += d * d
		}
	}
	mean := make([]float32, c)
	for j := 0; j < c; j++ {
		v := s2[j] / float64(rows)
		mean[j] = float32(s1[j])
		b.invStd[j] = float32(1 / math.Sqrt(v+float64(b.Eps)))
		unbiased := v
		if rows > 1 {
			unbiased = s2[j] / float64(rows-1)
		}
		b.Mean.W[j] = (1-b.Momentum)*b.Mean.W[j] + b.Momentum*float32(s1[j])
		b.Var.W[j] = (1-b.Momentum)*b.Var.W[j] + b.Momentum*float32(unbiased)
	}
	b.xhat = grow(b.xhat, len(x.Data))
	for i := 0; i < rows; i++ {
		xr, hr, yr := x.Data[i*c:(i+1)*c], b.xhat[i*c:(i+1)*c], y.Data[i*c:(i+1)*c]
		for j, v := range xr {
			h := (v - mean[j]) * b.invStd[j]
			hr[j] = h
			yr[j] = g[j]*h + be[j]
		}
	}
	return y
}

// Backward returns dx = γ·invstd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)) and adds
// dγ = Σ dy·x̂, dβ = Σ dy.
func (b *BatchNorm) Backward(dy *Tensor) *Tensor {
	c, rows := b.C, b.rows
	s1, s2 := b.sum1[:c], b.sum2[:c]
	clear(s1)
	clear(s2)
	for i := 0; i < rows; i++ {
		dr, hr := dy.Data[i*c:(i+1)*c], b.xhat[i*c:(i+1)*c]
		for j, v := range dr {
			s1[j] += float64(v)
			s2[j] += float64(v) * float64(hr[j])
		}
	}
	for j := 0; j < c; j++ {
		b.Beta.G[j] += float32(s1[j])
		b.Gamma.G[j] += float32(s2[j])
	}
	dx := reshape(&b.dx, dy.Shape...)
	m := float32(rows)
	k := make([]float32, c)
	m1 := make([]float32, c)
	m2 := make([]float32, c)
	for j := 0; j < c; j++ {
		k[j] = b.Gamma.W[j] * b.invStd[j]
		m1[j] = float32(s1[j]) / m
		m2[j] = float32(s2[j]) / m
	}
	for i := 0; i < rows; i++ {
		dr, hr, xr := dy.Data[i*c:(i+1)*c], b.xhat[i*c:(i+1)*c], dx.Data[i*c:(i+1)*c]
		for j, v := range dr {
			xr[j] = k[j] * (v - m1[j] - hr[j]*m2[j])
		}
	}
	return dx
}

// Params returns γ and β.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Buffers returns the running mean and variance.
func (b *BatchNorm) Buffers() []*Buffer { return []*Buffer{b.Mean, b.Var} }
