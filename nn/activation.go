package nn

import (
	"math/rand/v2"

	"github.com/gomrl/mrl/internal/kernel"
)

// elemGrain is the number of elements per goroutine in element-wise loops.
const elemGrain = 1 << 15

// ReLU is y = max(x, 0).
type ReLU struct{ y, dx Tensor }

// Forward clamps negatives to 0.
func (r *ReLU) Forward(x *Tensor, train bool) *Tensor {
	y := reshape(&r.y, x.Shape...)
	kernel.ParallelFor(len(x.Data), elemGrain, func(lo, hi int) {
		kernel.ReLU(y.Data[lo:hi], x.Data[lo:hi])
	})
	return y
}

// Backward passes dy where the output was positive.
func (r *ReLU) Backward(dy *Tensor) *Tensor {
	dx := reshape(&r.dx, dy.Shape...)
	kernel.ParallelFor(len(dy.Data), elemGrain, func(lo, hi int) {
		// The output is +0 or positive, so its bits as an int32 are > 0
		// exactly where the gradient passes.
		kernel.ReLUBackward(dx.Data[lo:hi], dy.Data[lo:hi], r.y.Data[lo:hi])
	})
	return dx
}

// Params returns nil.
func (r *ReLU) Params() []*Param { return nil }

// Dropout zeroes each element with probability P in training and scales the
// rest by 1/(1−P) (inverted dropout); evaluation is the identity.
type Dropout struct {
	P    float32
	Rand *rand.Rand

	mask  []float32
	y, dx Tensor
	on    bool
}

// NewDropout returns a Dropout layer drawing from r.
func NewDropout(p float32, r *rand.Rand) *Dropout { return &Dropout{P: p, Rand: r} }

// Forward applies the random mask in training.
func (d *Dropout) Forward(x *Tensor, train bool) *Tensor {
	d.on = train && d.P > 0
	if !d.on {
		return x
	}
	y := reshape(&d.y, x.Shape...)
	d.mask = grow(d.mask, len(x.Data))
	scale := 1 / (1 - d.P)
	for i, v := range x.Data {
		if d.Rand.Float32() < d.P {
			d.mask[i] = 0
		} else {
			d.mask[i] = scale
		}
		y.Data[i] = v * d.mask[i]
	}
	return y
}

// Backward applies the same mask.
func (d *Dropout) Backward(dy *Tensor) *Tensor {
	if !d.on {
		return dy
	}
	dx := reshape(&d.dx, dy.Shape...)
	for i, v := range dy.Data {
		dx.Data[i] = v * d.mask[i]
	}
	return dx
}

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// Flatten reshapes [N, ...] to [N, prod(...)]; the data is shared.
type Flatten struct {
	in    []int
	y, dx Tensor
}

// Forward returns a [N, D] view of x.
func (f *Flatten) Forward(x *Tensor, train bool) *Tensor {
	f.in = append(f.in[:0], x.Shape...)
	f.y.Shape = append(f.y.Shape[:0], x.N(), x.RowLen())
	f.y.Data = x.Data
	return &f.y
}

// Backward restores the input shape.
func (f *Flatten) Backward(dy *Tensor) *Tensor {
	f.dx.Shape = append(f.dx.Shape[:0], f.in...)
	f.dx.Data = dy.Data
	return &f.dx
}

// Params returns nil.
func (f *Flatten) Params() []*Param { return nil }
