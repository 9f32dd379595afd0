// Package nn is the training engine's layer library: tensors as row-major
// []float32, layers with explicit Forward and Backward, an EmbeddingBag with
// sparse gradients, a softmax cross-entropy loss, optimizers (SGD with
// momentum/Nesterov/weight decay, AdamW; both update a Sparse parameter's
// touched rows only), learning-rate schedules and initialisers. It knows nothing about
// Matryoshka representations; package matryoshka builds on it.
//
// Conventions:
//   - A batch of vectors is a Tensor of shape [N, D]; a batch of images is
//     NHWC, shape [N, H, W, C], so that channels are contiguous and a
//     convolution is one GEMM over N·H·W rows.
//   - Linear.W is [out][in], PyTorch's layout. Conv2d.W is
//     [outC][kh][kw][inC] ("OHWI", so that a convolution of NHWC images
//     is one GEMM); PyTorch's Conv2d weight is [outC][inC][kh][kw]: permute
//     the axes (0, 3, 1, 2) to load ours into PyTorch.
//   - Forward returns a tensor owned by the layer and valid until the next
//     Forward; Backward takes the gradient of the loss with respect to that
//     output and returns the gradient with respect to the input (owned by the
//     layer too). Backward adds into the parameters' gradients, so several
//     backward passes accumulate until the optimizer's ZeroGrad.
//   - All heavy arithmetic goes through internal/kernel.
package nn

import (
	"fmt"

	"github.com/gomrl/mrl/internal/kernel"
)

// Tensor is a dense row-major float32 array.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor allocates a zeroed tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// N returns the leading (batch) dimension.
func (t *Tensor) N() int { return t.Shape[0] }

// RowLen returns the number of elements per batch row (product of Shape[1:]).
func (t *Tensor) RowLen() int { return numel(t.Shape[1:]) }

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// reshape makes t hold shape with a buffer of at least the right length,
// reusing t's storage when large enough. t may be nil.
func reshape(t *Tensor, shape ...int) *Tensor {
	if t == nil {
		t = &Tensor{}
	}
	n := numel(shape)
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Param is a trainable tensor and its gradient.
type Param struct {
	Name    string
	Shape   []int
	W       []float32 // values
	G       []float32 // gradient, same length as W
	NoDecay bool      // excluded from weight decay (biases, normalisation scales)
	// Sparse marks a [rows][cols] parameter whose gradient is non-zero only
	// on the rows listed in Touched (each once, in no set order), such as an
	// EmbeddingBag's table: ZeroGrad clears just those rows and the
	// optimizers update just those rows (lazily: a row's momentum or Adam
	// moments change only on steps that touch it, as PyTorch's SparseAdam).
	Sparse  bool
	Touched []int32
}

// RowLen is the number of values per row of a Sparse parameter.
func (p *Param) RowLen() int { return numel(p.Shape[1:]) }

func newParam(name string, noDecay bool, shape ...int) *Param {
	n := numel(shape)
	return &Param{Name: name, Shape: append([]int(nil), shape...), W: make([]float32, n), G: make([]float32, n), NoDecay: noDecay}
}

// Buffer is non-trainable layer state that is saved with the model, such as
// BatchNorm's running statistics.
type Buffer struct {
	Name  string
	Shape []int
	W     []float32
}

// Layer is one differentiable step of a network.
type Layer interface {
	// Forward computes the output for input x. train selects training
	// behaviour (batch statistics, dropout) and makes the layer keep what
	// Backward needs.
	Forward(x *Tensor, train bool) *Tensor
	// Backward takes dL/dy for the last training Forward, adds the
	// parameter gradients and returns dL/dx.
	Backward(dy *Tensor) *Tensor
	// Params lists the trainable parameters (possibly none).
	Params() []*Param
}

// Stateful is implemented by layers with non-trainable saved state.
type Stateful interface {
	Buffers() []*Buffer
}

// ParamsOf returns every Param of the layers, in order.
func ParamsOf(layers ...Layer) []*Param {
	var ps []*Param
	for _, l := range layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// BuffersOf returns every Buffer of the layers that have some, in order.
func BuffersOf(layers ...Layer) []*Buffer {
	var bs []*Buffer
	for _, l := range layers {
		if s, ok := l.(Stateful); ok {
			bs = append(bs, s.Buffers()...)
		}
	}
	return bs
}

// Prefix renames params and buffers of a layer tree with a dotted prefix,
// giving every tensor of a model a unique checkpoint name.
func Prefix(prefix string, l Layer) {
	for _, p := range l.Params() {
		p.Name = prefix + "." + p.Name
	}
	if s, ok := l.(Stateful); ok {
		for _, b := range s.Buffers() {
			b.Name = prefix + "." + b.Name
		}
	}
}

// Sequential chains layers. A BatchNorm or a Residual directly followed by
// a ReLU runs as one fused layer (see BatchNorm and Residual), and so does
// a BatchNorm, ReLU and GlobalAvgPool (the ReLU's output is then never
// stored), with the same result; the fused ReLU's and pool's own Forward
// and Backward are not called.
type Sequential struct {
	Layers []Layer
}

// reluFuser is a layer that can apply the ReLU after it itself: forward
// with relu is Forward then ReLU, and Backward after it takes the
// gradient of the ReLU's output.
type reluFuser interface {
	Layer
	forward(x *Tensor, train, relu bool) *Tensor
}

// fusedReLU returns layers[i] if it is a reluFuser and a ReLU follows it.
func fusedReLU(layers []Layer, i int) (reluFuser, bool) {
	if i < 0 || i+1 >= len(layers) {
		return nil, false
	}
	l, ok := layers[i].(reluFuser)
	if !ok {
		return nil, false
	}
	_, ok = layers[i+1].(*ReLU)
	return l, ok
}

// bnReLUPool returns the BatchNorm at layers[i] and the GlobalAvgPool at
// layers[i+2] if a ReLU lies between them.
func bnReLUPool(layers []Layer, i int) (*BatchNorm, *GlobalAvgPool, bool) {
	if i < 0 || i+2 >= len(layers) {
		return nil, nil, false
	}
	bn, ok1 := layers[i].(*BatchNorm)
	_, ok2 := layers[i+1].(*ReLU)
	p, ok3 := layers[i+2].(*GlobalAvgPool)
	return bn, p, ok1 && ok2 && ok3
}

// Forward runs the layers in order.
func (s *Sequential) Forward(x *Tensor, train bool) *Tensor {
	for i := 0; i < len(s.Layers); i++ {
		if bn, p, ok := bnReLUPool(s.Layers, i); ok {
			x = bn.forwardPool(x, train, true, p)
			i += 2
			continue
		}
		if l, ok := fusedReLU(s.Layers, i); ok {
			x = l.forward(x, train, true)
			i++
			continue
		}
		x = s.Layers[i].Forward(x, train)
	}
	return x
}

// Backward runs the layers' Backward in reverse order. It stops early when
// a layer returns nil (a first layer with NoInputGrad).
func (s *Sequential) Backward(dy *Tensor) *Tensor { return s.backward(dy, nil) }

// BackwardAdd is Backward with the input gradient added to acc
// (InputGradAdder): by the first layer itself where it can add, else by
// a pass of sums after it. It always runs the backward and reports true;
// it panics if the input gradient and acc differ in size.
func (s *Sequential) BackwardAdd(dy, acc *Tensor) bool {
	if dx := s.backward(dy, acc); dx != nil {
		if len(dx.Data) != len(acc.Data) {
			panic(fmt.Sprintf("nn: Sequential.BackwardAdd: input gradient %v, accumulator %v", dx.Shape, acc.Shape))
		}
		kernel.ParallelFor(len(acc.Data), elemGrain, func(lo, hi int) {
			kernel.Add(acc.Data[lo:hi], acc.Data[lo:hi], dx.Data[lo:hi])
		})
	}
	return true
}

// backward is Backward; with acc, a first layer that is an InputGradAdder
// is asked to add its input gradient to acc, and nil is returned when it
// did.
func (s *Sequential) backward(dy, acc *Tensor) *Tensor {
	for i := len(s.Layers) - 1; i >= 0 && dy != nil; i-- {
		if bn, _, ok := bnReLUPool(s.Layers, i-2); ok {
			dy = bn.Backward(dy) // fused with this ReLU and pool in Forward
			i -= 2
			continue
		}
		if l, ok := fusedReLU(s.Layers, i-1); ok {
			dy = l.Backward(dy) // fused with this ReLU in Forward
			i--
			continue
		}
		if i == 0 && acc != nil {
			if a, ok := s.Layers[0].(InputGradAdder); ok && a.BackwardAdd(dy, acc) {
				return nil
			}
		}
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}

// InputGradAdder is a layer that can add its input gradient to a tensor
// (acc, of its input's shape) instead of returning it: Residual has its
// shortcut add into the body's input gradient, which saves clearing a
// gradient and a pass of sums over it (a convolution's col2im adds into
// acc). BackwardAdd is Backward with the gradient added to acc; where the
// layer cannot add it reports false having done nothing, and Backward
// must be called instead.
type InputGradAdder interface {
	BackwardAdd(dy, acc *Tensor) bool
}

// sameData reports whether a and b share their first element.
func sameData(a, b *Tensor) bool {
	return len(a.Data) > 0 && len(b.Data) > 0 && &a.Data[0] == &b.Data[0]
}

// Params returns the parameters of all layers.
func (s *Sequential) Params() []*Param { return ParamsOf(s.Layers...) }

// Buffers returns the buffers of all layers.
func (s *Sequential) Buffers() []*Buffer { return BuffersOf(s.Layers...) }

// Residual computes Body(x) + Shortcut(x); a nil Shortcut is the identity.
// A Sequential runs a Residual and the ReLU right after it as one layer:
// the sum is clamped as it is written, which saves the ReLU's forward pass.
type Residual struct {
	Body     Layer
	Shortcut Layer

	relu        bool // the last training forward was fused with a ReLU
	out, dm, dx Tensor
}

// Forward adds the body and shortcut outputs.
func (r *Residual) Forward(x *Tensor, train bool) *Tensor { return r.forward(x, train, false) }

// forward is Forward, followed by out = max(out, 0) when relu is set (as
// the ReLU layer computes it).
func (r *Residual) forward(x *Tensor, train, relu bool) *Tensor {
	y := r.Body.Forward(x, train)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(x, train)
	}
	if len(s.Data) != len(y.Data) {
		panic(fmt.Sprintf("nn: Residual shapes differ: body %v, shortcut %v", y.Shape, s.Shape))
	}
	if train {
		r.relu = relu
	}
	sum := kernel.Add
	if relu {
		sum = kernel.AddReLU
	}
	out := reshape(&r.out, y.Shape...)
	kernel.ParallelFor(len(out.Data), elemGrain, func(lo, hi int) {
		sum(out.Data[lo:hi], y.Data[lo:hi], s.Data[lo:hi])
	})
	return out
}

// Backward sends dy through both branches and sums the input gradients:
// the shortcut adds its own to the body's where it can (InputGradAdder;
// a projection's col2im then adds into the body's gradient, in the same
// order, instead of into a cleared one that is then summed with it).
// After a fused forward (forward with relu), dy is the gradient of the
// ReLU's output and is first cut to 0 where the ReLU blocked.
func (r *Residual) Backward(dy *Tensor) *Tensor {
	if r.relu {
		dm := reshape(&r.dm, dy.Shape...)
		kernel.ParallelFor(len(dm.Data), elemGrain, func(lo, hi int) {
			kernel.ReLUBackward(dm.Data[lo:hi], dy.Data[lo:hi], r.out.Data[lo:hi])
		})
		dy = dm
	}
	db := r.Body.Backward(dy)
	ds := dy
	if r.Shortcut != nil {
		// The shortcut adds its input gradient to the body's where it can
		// (a convolution's col2im adds into the body's gradient instead of
		// a cleared one), unless the body's is dy itself.
		if a, ok := r.Shortcut.(InputGradAdder); ok && db != nil && len(db.Data) > 0 && !sameData(db, dy) && a.BackwardAdd(dy, db) {
			return db
		}
		ds = r.Shortcut.Backward(dy)
	}
	dx := reshape(&r.dx, db.Shape...)
	kernel.ParallelFor(len(dx.Data), elemGrain, func(lo, hi int) {
		kernel.Add(dx.Data[lo:hi], db.Data[lo:hi], ds.Data[lo:hi])
	})
	return dx
}

// Params returns the parameters of both branches.
func (r *Residual) Params() []*Param {
	ps := r.Body.Params()
	if r.Shortcut != nil {
		ps = append(ps, r.Shortcut.Params()...)
	}
	return ps
}

// Buffers returns the buffers of both branches.
func (r *Residual) Buffers() []*Buffer {
	bs := BuffersOf(r.Body)
	if r.Shortcut != nil {
		bs = append(bs, BuffersOf(r.Shortcut)...)
	}
	return bs
}
