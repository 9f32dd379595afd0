package adapter

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

// Errors returned by the package, wrapped with context.
var (
	// ErrDim reports embeddings or queries of the wrong size.
	ErrDim = errors.New("adapter: dimension mismatch")
	// ErrInput reports unusable input: no rows, NaN or infinite values.
	ErrInput = errors.New("adapter: bad input")
	// ErrOptions reports invalid options (see Options.Validate).
	ErrOptions = errors.New("adapter: invalid options")
	// ErrFormat reports an adapter file this package cannot read.
	ErrFormat = errors.New("adapter: bad adapter file")
)

// Adapter is the map f(e) = R·(e − μ) + b + g(e − μ) of the package doc.
// Apply is safe for concurrent use; training (Train) is not, and must not
// run concurrently with Apply.
type Adapter struct {
	In, Out int
	// Nesting is the list of prefix dims the adapter was trained for; its
	// last dim is at most Out.
	Nesting mrl.Nesting
	// Mean is μ, In floats, subtracted before R and g.
	Mean []float32
	// R is the Out×In linear map and its bias b.
	R *nn.Linear
	// G is the residual MLP (nil without one): G1 is Linear(In, Hidden),
	// G2 Linear(Hidden, Out), with a ReLU between.
	G1, G2 *nn.Linear
}

// Hidden returns the residual MLP's width, 0 without one.
func (a *Adapter) Hidden() int {
	if a.G1 == nil {
		return 0
	}
	return a.G1.Out
}

// New returns an adapter from In = d to Out = out dims for the nesting,
// initialised to the PCA of the n rows of x (stride d): μ the mean, R the
// top out principal directions (eval.FitPCA), b = 0; with hidden > 0, a
// residual MLP of that width whose first layer is initialised as
// nn.NewLinear (seeded) and whose last layer is zero. Rows must be finite;
// out must be in 1..d and the nesting valid for out.
func New(x []float32, n, d, out int, nesting mrl.Nesting, hidden int, seed uint64) (*Adapter, error) {
	if err := checkRows(x, n, d, "training embeddings"); err != nil {
		return nil, err
	}
	if out < 1 || out > d {
		return nil, fmt.Errorf("%w: output dim %d outside 1..%d (the input dim)", ErrOptions, out, d)
	}
	if err := nesting.Validate(out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if hidden < 0 {
		return nil, fmt.Errorf("%w: hidden width %d is negative", ErrOptions, hidden)
	}
	p, err := eval.FitPCA(x, n, d, out)
	if err != nil {
		return nil, fmt.Errorf("adapter: pca: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, 0x61646170))
	a := &Adapter{In: d, Out: out, Nesting: append(mrl.Nesting(nil), nesting...), Mean: p.Mean,
		R: nn.NewLinear(d, out, true, r)}
	copy(a.R.W.W, p.Components)
	clear(a.R.B.W)
	if hidden > 0 {
		a.G1 = nn.NewLinear(d, hidden, true, r)
		a.G2 = nn.NewLinear(hidden, out, true, r)
		clear(a.G2.W.W)
		clear(a.G2.B.W)
	}
	a.name()
	return a, nil
}

// name gives the parameters their file names.
func (a *Adapter) name() {
	a.R.W.Name, a.R.B.Name = "r.weight", "r.bias"
	a.R.NoInputGrad = true
	if a.G1 != nil {
		a.G1.W.Name, a.G1.B.Name = "g.0.weight", "g.0.bias"
		a.G2.W.Name, a.G2.B.Name = "g.2.weight", "g.2.bias"
		a.G1.NoInputGrad = true
	}
}

// Params returns the trainable parameters: R, b and the MLP's.
func (a *Adapter) Params() []*nn.Param {
	ps := a.R.Params()
	if a.G1 != nil {
		ps = append(ps, a.G1.Params()...)
		ps = append(ps, a.G2.Params()...)
	}
	return ps
}

// checkRows checks that x holds n ≥ 1 finite rows of d floats.
func checkRows(x []float32, n, d int, what string) error {
	switch {
	case n < 1:
		return fmt.Errorf("%w: %s: no rows", ErrInput, what)
	case d < 1:
		return fmt.Errorf("%w: %s: dim %d", ErrInput, what, d)
	case len(x) < n*d:
		return fmt.Errorf("%w: %s: %d floats for %d rows of %d", ErrDim, what, len(x), n, d)
	}
	for i, v := range x[:n*d] {
		// v − v is 0 for every finite v and NaN for NaN and ±Inf: one
		// test per value instead of two (a single query's check costs
		// as much as mapping it to a short prefix otherwise).
		if v-v != 0 {
			return fmt.Errorf("%w: %s: row %d, dim %d is %v: want finite values", ErrInput, what, i/d, i%d, v)
		}
	}
	return nil
}

// applyChunk is the number of rows Apply maps per GEMM.
const applyChunk = 4096

// Apply maps n rows of x, each of exactly In floats (len(x) = n·In), to
// n×Out adapted embeddings. A row of another size is an error wrapping
// ErrDim that names both sizes, a NaN or infinite value one wrapping
// ErrInput that names its row and dim.
func (a *Adapter) Apply(x []float32, n int) ([]float32, error) {
	if n < 0 || len(x) != n*a.In {
		if n > 0 && len(x)%n == 0 {
			return nil, fmt.Errorf("%w: rows of %d floats, the adapter takes %d", ErrDim, len(x)/n, a.In)
		}
		return nil, fmt.Errorf("%w: %d floats for %d rows of %d", ErrDim, len(x), n, a.In)
	}
	if n == 0 {
		return []float32{}, nil
	}
	if err := checkRows(x, n, a.In, "input"); err != nil {
		return nil, err
	}
	out := make([]float32, n*a.Out)
	a.apply(out, x, n)
	return out, nil
}

// apply maps n rows of x (stride In) into dst (stride Out), in chunks of
// applyChunk rows; it allocates its scratch, so it is safe for concurrent
// use.
func (a *Adapter) apply(dst, x []float32, n int) {
	d, o := a.In, a.Out
	c := min(n, applyChunk)
	xc := make([]float32, c*d)
	var hid []float32
	if a.G1 != nil {
		hid = make([]float32, c*a.Hidden())
	}
	for r0 := 0; r0 < n; r0 += applyChunk {
		rows := min(applyChunk, n-r0)
		xs, ys := xc[:rows*d], dst[r0*o:(r0+rows)*o]
		// The same float32 arithmetic as eval.PCA.Project.
		for i := 0; i < rows; i++ {
			for j, v := range x[(r0+i)*d : (r0+i+1)*d] {
				xs[i*d+j] = v - a.Mean[j]
			}
		}
		kernel.Sgemm(false, true, rows, o, d, 1, xs, d, a.R.W.W, d, 0, ys, o)
		addBias(ys, rows, o, a.R.B.W)
		if a.G1 != nil {
			h := a.Hidden()
			hs := hid[:rows*h]
			kernel.Sgemm(false, true, rows, h, d, 1, xs, d, a.G1.W.W, d, 0, hs, h)
			addBias(hs, rows, h, a.G1.B.W)
			kernel.ReLU(hs, hs)
			kernel.Sgemm(false, true, rows, o, h, 1, hs, h, a.G2.W.W, h, 1, ys, o)
			addBias(ys, rows, o, a.G2.B.W)
		}
	}
}

func addBias(y []float32, n, d int, b []float32) {
	for i := 0; i < n; i++ {
		row := y[i*d : (i+1)*d]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// net is the adapter's training forward and backward pass over a batch.
type net struct {
	a   *Adapter
	act nn.ReLU
	xc  nn.Tensor // the centred batch
	z   nn.Tensor // f(x)
}

// forward centres the batch x (B rows of In) and returns f(x) ([B, Out]),
// owned by n until the next forward.
func (n *net) forward(x []float32, b int) *nn.Tensor {
	a := n.a
	d := a.In
	n.xc.Shape = append(n.xc.Shape[:0], b, d)
	n.xc.Data = grow(n.xc.Data, b*d)
	for i := 0; i < b; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			n.xc.Data[i*d+j] = v - a.Mean[j]
		}
	}
	y := a.R.Forward(&n.xc, true)
	n.z.Shape = append(n.z.Shape[:0], b, a.Out)
	n.z.Data = grow(n.z.Data, b*a.Out)
	copy(n.z.Data, y.Data)
	if a.G1 != nil {
		h := n.act.Forward(a.G1.Forward(&n.xc, true), true)
		g := a.G2.Forward(h, true)
		for i, v := range g.Data {
			n.z.Data[i] += v
		}
	}
	return &n.z
}

// backward adds the parameters' gradients for dL/dz of the last forward.
func (n *net) backward(dz *nn.Tensor) {
	a := n.a
	a.R.Backward(dz)
	if a.G1 != nil {
		a.G1.Backward(n.act.Backward(a.G2.Backward(dz)))
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}
