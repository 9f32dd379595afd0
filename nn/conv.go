package nn

import (
	"math"
	"math/rand/v2"

	"github.com/gomrl/mrl/internal/kernel"
)

// Conv2d is a 2-D convolution over NHWC images with a square kernel.
// W has shape [OutC][K][K][InC]; the product runs as im2col + one GEMM
// (a 1×1 kernel with stride 1 and no padding skips im2col).
type Conv2d struct {
	InC, OutC, K, Stride, Pad int
	W, B                      *Param // B is nil without bias
	NoInputGrad               bool

	x          *Tensor
	cols, dcol []float32
	y, dx      Tensor
}

// NewConv2d returns a convolution initialised with He (Kaiming) normal
// weights, std = sqrt(2/fan_in), fan_in = k·k·inC, as used for ReLU
// networks; the bias, if any, starts at 0.
func NewConv2d(inC, outC, k, stride, pad int, bias bool, r *rand.Rand) *Conv2d {
	c := &Conv2d{InC: inC, OutC: outC, K: k, Stride: stride, Pad: pad,
		W: newParam("weight", false, outC, k, k, inC)}
	HeNormal(c.W.W, k*k*inC, r)
	if bias {
		c.B = newParam("bias", true, outC)
	}
	return c
}

func (c *Conv2d) direct() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 }

// Forward convolves x of shape [N, H, W, InC].
func (c *Conv2d) Forward(x *Tensor, train bool) *Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != c.InC {
		panic("nn: Conv2d expects NHWC input with InC channels")
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	oh, ow := kernel.ConvOut(h, c.K, c.Stride, c.Pad), kernel.ConvOut(w, c.K, c.Stride, c.Pad)
	c.x = x
	rows, kk := n*oh*ow, c.K*c.K*c.InC
	a := x.Data
	if !c.direct() {
		c.cols = grow(c.cols, rows*kk)
		kernel.Im2colNHWC(c.cols, x.Data, n, h, w, c.InC, c.K, c.K, c.Stride, c.Pad)
		a = c.cols
	}
	y := reshape(&c.y, n, oh, ow, c.OutC)
	kernel.Sgemm(false, true, rows, c.OutC, kk, 1, a, kk, c.W.W, kk, 0, y.Data, c.OutC)
	if c.B != nil {
		addRowBias(y.Data, c.B.W)
	}
	return y
}

// Backward adds dW = dyᵀ·cols (and db) and returns dx = col2im(dy·W).
func (c *Conv2d) Backward(dy *Tensor) *Tensor {
	n, h, w := c.x.Shape[0], c.x.Shape[1], c.x.Shape[2]
	rows, kk := dy.Shape[0]*dy.Shape[1]*dy.Shape[2], c.K*c.K*c.InC
	a := c.x.Data
	if !c.direct() {
		a = c.cols
	}
	kernel.Sgemm(true, false, c.OutC, kk, rows, 1, dy.Data, c.OutC, a, kk, 1, c.W.G, kk)
	if c.B != nil {
		sumRows(c.B.G, dy.Data)
	}
	if c.NoInputGrad {
		return nil
	}
	dx := reshape(&c.dx, n, h, w, c.InC)
	if c.direct() {
		kernel.Sgemm(false, false, rows, kk, c.OutC, 1, dy.Data, c.OutC, c.W.W, kk, 0, dx.Data, kk)
		return dx
	}
	c.dcol = grow(c.dcol, rows*kk)
	kernel.Sgemm(false, false, rows, kk, c.OutC, 1, dy.Data, c.OutC, c.W.W, kk, 0, c.dcol, kk)
	clear(dx.Data)
	kernel.Col2imNHWC(dx.Data, c.dcol, n, h, w, c.InC, c.K, c.K, c.Stride, c.Pad)
	return dx
}

// Params returns W and, with bias, b.
func (c *Conv2d) Params() []*Param {
	if c.B == nil {
		return []*Param{c.W}
	}
	return []*Param{c.W, c.B}
}

// addRowBias adds b to every len(b)-long row of y.
func addRowBias(y, b []float32) {
	c := len(b)
	for i := 0; i+c <= len(y); i += c {
		row := y[i : i+c]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// sumRows adds every len(g)-long row of y into g.
func sumRows(g, y []float32) {
	c := len(g)
	for i := 0; i+c <= len(y); i += c {
		row := y[i : i+c]
		for j, v := range row {
			g[j] += v
		}
	}
}

// Uniform fills w with values uniform in [-bound, bound). A nil r leaves
// w as it is (see model.Model.Replica, whose weights are replaced).
func Uniform(w []float32, bound float64, r *rand.Rand) {
	if r == nil {
		return
	}
	for i := range w {
		w[i] = float32((r.Float64()*2 - 1) * bound)
	}
}

// HeNormal fills w with N(0, 2/fanIn) (Kaiming normal, fan-in mode, ReLU
// gain). A nil r leaves w as it is.
func HeNormal(w []float32, fanIn int, r *rand.Rand) {
	if r == nil {
		return
	}
	std := math.Sqrt(2 / float64(fanIn))
	for i := range w {
		w[i] = float32(r.NormFloat64() * std)
	}
}

// XavierUniform fills w with U(±sqrt(6/(fanIn+fanOut))) (Glorot uniform).
func XavierUniform(w []float32, fanIn, fanOut int, r *rand.Rand) {
	Uniform(w, math.Sqrt(6/float64(fanIn+fanOut)), r)
}
