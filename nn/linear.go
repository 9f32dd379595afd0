package nn

import (
	"math"
	"math/rand/v2"

	"github.com/gomrl/mrl/internal/kernel"
)

// Linear is y = x·Wᵀ + b with W of shape [Out][In] (PyTorch's layout).
type Linear struct {
	In, Out int
	W, B    *Param // B is nil without bias
	// NoInputGrad skips computing dL/dx (set on a network's first layer).
	NoInputGrad bool

	x     *Tensor
	y, dx Tensor
}

// NewLinear returns a Linear layer initialised as PyTorch's nn.Linear:
// W and b uniform in ±1/sqrt(in).
func NewLinear(in, out int, bias bool, r *rand.Rand) *Linear {
	l := &Linear{In: in, Out: out, W: newParam("weight", false, out, in)}
	bound := 1 / math.Sqrt(float64(in))
	Uniform(l.W.W, bound, r)
	if bias {
		l.B = newParam("bias", true, out)
		Uniform(l.B.W, bound, r)
	}
	return l
}

// Forward computes x·Wᵀ + b for x of shape [N, In] (or any shape whose
// trailing dims multiply to In).
func (l *Linear) Forward(x *Tensor, train bool) *Tensor {
	n := x.N()
	if x.RowLen() != l.In {
		panic("nn: Linear input width mismatch")
	}
	l.x = x
	y := reshape(&l.y, n, l.Out)
	kernel.Sgemm(false, true, n, l.Out, l.In, 1, x.Data, l.In, l.W.W, l.In, 0, y.Data, l.Out)
	if l.B != nil {
		b := l.B.W
		for i := 0; i < n; i++ {
			row := y.Data[i*l.Out : (i+1)*l.Out]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
	return y
}

// Backward adds dW = dyᵀ·x and db = Σ dy, and returns dx = dy·W.
func (l *Linear) Backward(dy *Tensor) *Tensor {
	n := dy.N()
	kernel.Sgemm(true, false, l.Out, l.In, n, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.W.G, l.In)
	if l.B != nil {
		g := l.B.G
		for i := 0; i < n; i++ {
			row := dy.Data[i*l.Out : (i+1)*l.Out]
			for j, v := range row {
				g[j] += v
			}
		}
	}
	if l.NoInputGrad {
		return nil
	}
	dx := reshape(&l.dx, l.x.Shape...)
	kernel.Sgemm(false, false, n, l.In, l.Out, 1, dy.Data, l.Out, l.W.W, l.In, 0, dx.Data, l.In)
	return dx
}

// Params returns W and, with bias, b.
func (l *Linear) Params() []*Param {
	if l.B == nil {
		return []*Param{l.W}
	}
	return []*Param{l.W, l.B}
}
