package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl/internal/kernel"
)

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// lossOf returns Σ y·proj in float64 after a training Forward.
func lossOf(l Layer, x *Tensor, proj []float32) float64 {
	y := l.Forward(x, true)
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(proj[i])
	}
	return s
}

// gradCheck compares Backward against central finite differences of
// L = Σ y·proj, for the input and for every parameter, on up to 40 sampled
// coordinates each. With float32 layers, eps=1e-2 balances truncation error
// (O(eps²)) against rounding error (~1e-7·|L|/eps); the tolerance 2e-2
// relative (absolute below 1) is justified by that balance.
func gradCheck(t *testing.T, name string, l Layer, x *Tensor, r *rand.Rand, checkInput bool) {
	t.Helper()
	y := l.Forward(x, true)
	proj := make([]float32, len(y.Data))
	for i := range proj {
		proj[i] = float32(r.NormFloat64())
	}
	for _, p := range l.Params() {
		clear(p.G)
	}
	l.Forward(x, true)
	dx := l.Backward(&Tensor{Shape: append([]int(nil), y.Shape...), Data: proj})
	var dxCopy []float32
	if dx != nil {
		dxCopy = append([]float32(nil), dx.Data...)
	}
	grads := make([][]float32, len(l.Params()))
	for i, p := range l.Params() {
		grads[i] = append([]float32(nil), p.G...)
	}
	const eps = 1e-2
	check := func(what string, w []float32, analytic []float32) {
		idx := r.Perm(len(w))
		if len(idx) > 40 {
			idx = idx[:40]
		}
		for _, i := range idx {
			old := w[i]
			w[i] = old + eps
			lp := lossOf(l, x, proj)
			w[i] = old - eps
			lm := lossOf(l, x, proj)
			w[i] = old
			num := (lp - lm) / (2 * eps)
			a := float64(analytic[i])
			if d := math.Abs(num - a); d > 2e-2*math.Max(1, math.Max(math.Abs(num), math.Abs(a))) {
				t.Errorf("%s: d/d%s[%d] = %v (backward), want %v (finite difference)", name, what, i, a, num)
				return
			}
		}
	}
	if checkInput {
		check("x", x.Data, dxCopy)
	}
	for i, p := range l.Params() {
		check(p.Name, p.W, grads[i])
	}
}

func TestLayerGradients(t *testing.T) {
	r, r2 := rand.New(rand.NewPCG(1, 1)), rand.New(rand.NewPCG(2, 1))
	// distinct values so no max-pool tie or ReLU kink lies within eps.
	spread := func(shape ...int) *Tensor {
		x := NewTensor(shape...)
		perm := r.Perm(len(x.Data))
		for i, p := range perm {
			v := float32(p)*0.1 - float32(len(perm))*0.05
			if math.Abs(float64(v)) < 0.04 {
				v = 0.05
			}
			x.Data[i] = v
		}
		return x
	}
	cases := []struct {
		name  string
		layer Layer
		x     *Tensor
	}{
		{"Linear", NewLinear(7, 5, true, r), randTensor(r, 3, 7)},
		{"LinearNoBias", NewLinear(4, 6, false, r), randTensor(r, 5, 4)},
		{"Conv3x3s1p1", NewConv2d(3, 4, 3, 1, 1, true, r), randTensor(r, 2, 5, 5, 3)},
		{"Conv3x3s2p1", NewConv2d(2, 3, 3, 2, 1, false, r), randTensor(r, 2, 6, 7, 2)},
		{"Conv1x1", NewConv2d(3, 5, 1, 1, 0, true, r), randTensor(r, 2, 3, 3, 3)},
		{"Conv1x1s2", NewConv2d(3, 2, 1, 2, 0, false, r), randTensor(r, 1, 5, 5, 3)},
		{"BatchNorm1d", NewBatchNorm(4), randTensor(r, 6, 4)},
		{"BatchNorm2d", NewBatchNorm(3), randTensor(r, 2, 3, 3, 3)},
		{"ReLU", &ReLU{}, spread(4, 6)},
		{"MaxPool", &MaxPool2d{K: 2, Stride: 2}, spread(2, 4, 4, 3)},
		{"AvgPool", &AvgPool2d{K: 2, Stride: 2}, randTensor(r, 2, 4, 6, 2)},
		{"GlobalAvgPool", &GlobalAvgPool{}, randTensor(r, 3, 2, 3, 4)},
		{"Flatten", &Flatten{}, randTensor(r, 2, 2, 3, 2)},
		{"ResidualIdentity", &Residual{Body: &Sequential{Layers: []Layer{NewConv2d(2, 2, 3, 1, 1, false, r), NewBatchNorm(2)}}}, randTensor(r, 2, 4, 4, 2)},
		{"ResidualProjection", &Residual{
			Body:     &Sequential{Layers: []Layer{NewConv2d(2, 3, 3, 2, 1, false, r), NewBatchNorm(3)}},
			Shortcut: &Sequential{Layers: []Layer{NewConv2d(2, 3, 1, 2, 0, false, r), NewBatchNorm(3)}},
		}, randTensor(r, 2, 4, 4, 2)},
		{"MLP", &Sequential{Layers: []Layer{NewLinear(5, 8, true, r), NewBatchNorm(8), &ReLU{}, NewLinear(8, 3, true, r)}}, randTensor(r, 6, 5)},
		// dW itself (k·k·InC ≤ OutC, see transposedDW); the convolutions
		// above form dWᵀ. Their own source leaves the draws above as they
		// were.
		{"Conv1x1s2Wide", NewConv2d(2, 5, 1, 2, 0, true, r2), randTensor(r2, 2, 5, 5, 2)},
		{"Conv3x3s1Wide", NewConv2d(1, 11, 3, 1, 1, false, r2), randTensor(r2, 2, 4, 5, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { gradCheck(t, tc.name, tc.layer, tc.x, r, true) })
	}
}

// TestSoftmaxCrossEntropy checks the loss against its definition and the
// gradient against finite differences, with up to 64 classes (the row's
// exps kept on the stack) and more (kept in a buffer), and with a row
// whose softmax is nearly one-hot (the target's gradient then cancels).
func TestSoftmaxCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		n, c   int
		smooth float32
		peak   float32 // added to logit (0, 0)
	}{
		{4, 5, 0, 0}, {4, 5, 0.1, 0}, {3, 64, 0, 0}, {3, 100, 0.1, 0}, {2, 7, 0, 12},
	} {
		n, c, smooth := tc.n, tc.c, tc.smooth
		logits := randTensor(r, n, c).Data
		logits[0] += tc.peak
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32((3 * i) % c)
		}
		grad := make([]float32, n*c)
		loss, _ := SoftmaxCrossEntropy(logits, n, c, c, labels, smooth, 1, grad)
		// Plain definitions in float64: the loss mean_i Σ_j −t_ij log
		// softmax_ij and its gradient (softmax − target)/n.
		var want float64
		for i := 0; i < n; i++ {
			var z float64
			for j := 0; j < c; j++ {
				z += math.Exp(float64(logits[i*c+j]))
			}
			for j := 0; j < c; j++ {
				tgt := float64(smooth) / float64(c)
				if int32(j) == labels[i] {
					tgt += 1 - float64(smooth)
				}
				want -= tgt * (float64(logits[i*c+j]) - math.Log(z))
				g := (math.Exp(float64(logits[i*c+j]))/z - tgt) / float64(n)
				if d := math.Abs(float64(grad[i*c+j]) - g); d > 1e-6*math.Max(math.Abs(g), 1e-3) {
					t.Errorf("%+v: grad[%d][%d] = %v, want %v", tc, i, j, grad[i*c+j], g)
				}
			}
		}
		want /= float64(n)
		if math.Abs(loss-want) > 1e-5 {
			t.Errorf("SoftmaxCrossEntropy(%+v) = %v, want %v", tc, loss, want)
		}
		const eps = 1e-2
		for i := range logits {
			old := logits[i]
			logits[i] = old + eps
			lp, _ := SoftmaxCrossEntropy(logits, n, c, c, labels, smooth, 1, nil)
			logits[i] = old - eps
			lm, _ := SoftmaxCrossEntropy(logits, n, c, c, labels, smooth, 1, nil)
			logits[i] = old
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-float64(grad[i])) > 1e-3 {
				t.Fatalf("%+v: dL/dlogit[%d] = %v, want %v", tc, i, grad[i], num)
			}
		}
	}
}

func TestBatchNormEvalUsesRunningStats(t *testing.T) {
	b := NewBatchNorm(2)
	x := &Tensor{Shape: []int{4, 2}, Data: []float32{1, 10, 2, 20, 3, 30, 4, 40}}
	for i := 0; i < 200; i++ {
		b.Forward(x, true)
	}
	// Running mean converges to (2.5, 25), running var to the unbiased
	// variance (5/3, 500/3).
	want := []float32{2.5, 25, 5.0 / 3, 500.0 / 3}
	got := []float32{b.Mean.W[0], b.Mean.W[1], b.Var.W[0], b.Var.W[1]}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-3*math.Abs(float64(want[i])) {
			t.Fatalf("running stats = %v, want %v", got, want)
		}
	}
	y := b.Forward(x, false)
	if math.Abs(float64(y.Data[0]-(1-2.5)/float32(math.Sqrt(5.0/3+1e-5)))) > 1e-4 {
		t.Fatalf("eval output %v", y.Data)
	}
}

func TestDropout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	d := NewDropout(0.5, r)
	x := NewTensor(1, 10000)
	for i := range x.Data {
		x.Data[i] = 1
	}
	y := d.Forward(x, true)
	var sum float64
	zeros := 0
	for _, v := range y.Data {
		sum += float64(v)
		if v == 0 {
			zeros++
		}
	}
	if zeros < 4500 || zeros > 5500 || math.Abs(sum/10000-1) > 0.05 {
		t.Fatalf("Dropout(0.5): %d zeros, mean %v; want ~5000 and ~1", zeros, sum/10000)
	}
	dx := d.Backward(y)
	for i := range dx.Data {
		if (dx.Data[i] == 0) != (y.Data[i] == 0) {
			t.Fatal("Dropout backward mask differs from forward mask")
		}
	}
	if d.Forward(x, false) != x {
		t.Fatal("Dropout in eval must be the identity")
	}
}

func TestOptimizers(t *testing.T) {
	// Minimise f(w) = ½‖w − 3‖² from w = 0: every optimizer must converge.
	cases := []struct {
		name string
		make func(ps []*Param) Optimizer
		lr   float64
	}{
		{"SGD", func(ps []*Param) Optimizer { return NewSGD(ps, 0, 0, false) }, 0.1},
		{"SGDMomentum", func(ps []*Param) Optimizer { return NewSGD(ps, 0.9, 0, false) }, 0.05},
		{"SGDNesterov", func(ps []*Param) Optimizer { return NewSGD(ps, 0.9, 0, true) }, 0.05},
		{"AdamW", func(ps []*Param) Optimizer { return NewAdamW(ps, 0) }, 0.1},
	}
	for _, tc := range cases {
		p := newParam("w", false, 3)
		o := tc.make([]*Param{p})
		for s := 0; s < 500; s++ {
			o.ZeroGrad()
			for i := range p.W {
				p.G[i] = p.W[i] - 3
			}
			o.Step(tc.lr)
		}
		for _, v := range p.W {
			if math.Abs(float64(v)-3) > 1e-2 {
				t.Errorf("%s: w = %v, want 3", tc.name, p.W)
				break
			}
		}
		if o.Steps() != 500 {
			t.Errorf("%s: Steps() = %d, want 500", tc.name, o.Steps())
		}
	}
}

func TestSGDMatchesPyTorchFormula(t *testing.T) {
	// Two steps by hand: PyTorch SGD(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True).
	p := newParam("w", false, 1)
	p.W[0] = 1
	o := NewSGD([]*Param{p}, 0.9, 0.01, true)
	grads := []float32{0.5, -0.25}
	w, v := 1.0, 0.0
	for s, g := range grads {
		p.G[0] = g
		o.Step(0.1)
		gg := float64(g) + 0.01*w
		if s == 0 {
			v = gg
		} else {
			v = 0.9*v + gg
		}
		w -= 0.1 * (gg + 0.9*v)
	}
	if math.Abs(float64(p.W[0])-w) > 1e-6 {
		t.Fatalf("SGD nesterov w = %v, want %v", p.W[0], w)
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Constant(0.1), 50, 0.1},
		{StepDecay(1, 10, 0.1), 9, 1},
		{StepDecay(1, 10, 0.1), 10, 0.1},
		{Cosine(1, 100, 0), 0, 1},
		{Cosine(1, 100, 0), 50, 0.5},
		{Cosine(1, 110, 10), 4, 0.5},
		{Cosine(1, 100, 0), 100, 0},
		{OneCycle(1, 100, 0.3), 0, 0.04},
		{OneCycle(1, 101, 0.3), 0, 0.04},
		{OneCycle(1, 100, 0.3), 99, 0.04 / 1e4},
	}
	for i, tc := range cases {
		if got := tc.s(tc.step); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("case %d: schedule(%d) = %v, want %v", i, tc.step, got, tc.want)
		}
	}
	// OneCycle peaks at maxLR near pctStart·total.
	oc := OneCycle(2, 1000, 0.25)
	if got := oc(249); math.Abs(got-2) > 1e-3 {
		t.Errorf("OneCycle peak = %v, want 2", got)
	}
	if _, err := ParseSchedule("nope", 1, 1, 0); err == nil {
		t.Error("ParseSchedule(nope) gave no error")
	}
}

func ExampleLinear() {
	r := rand.New(rand.NewPCG(1, 2))
	l := NewLinear(3, 2, true, r)
	copy(l.W.W, []float32{1, 0, 0, 0, 1, 1})
	copy(l.B.W, []float32{0.5, -1})
	y := l.Forward(&Tensor{Shape: []int{1, 3}, Data: []float32{2, 3, 4}}, false)
	fmt.Println(y.Shape, y.Data)
	// Output: [1 2] [2.5 6]
}

// The fused BatchNorm+ReLU of Sequential against finite differences. Each
// channel's β puts the ReLU's kink in the middle of the widest gap between
// the values γ·x̂ of the batch, so that the steps of ±eps in x, γ and β
// cross it nowhere and both sides of it are exercised.
func TestBatchNormReLUGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][]int{{9, 17}, {2, 3, 3, 3}, {2, 3, 4, 5}} {
		c := shape[len(shape)-1]
		x := randTensor(r, shape...)
		seq := bnReLUSeq(c, 0)
		name := "BatchNorm+ReLU"
		if len(shape) == 4 && shape[2] == 4 { // and the fused GlobalAvgPool
			seq.Layers = append(seq.Layers, &GlobalAvgPool{})
			name += "+GlobalAvgPool"
		}
		bn := seq.Layers[0].(*BatchNorm)
		bn.Forward(x, true)
		rows := len(x.Data) / c
		for j := range c {
			v := make([]float64, rows)
			for i := range v {
				v[i] = float64(bn.Gamma.W[j] * bn.xhat[i*c+j])
			}
			slices.Sort(v)
			best := 1 // the gap between v[best-1] and v[best]
			for i := 2; i < rows; i++ {
				if v[i]-v[i-1] > v[best]-v[best-1] {
					best = i
				}
			}
			bn.Beta.W[j] = -float32(v[best]+v[best-1]) / 2
		}
		t.Run(fmt.Sprint(shape), func(t *testing.T) { gradCheck(t, name, seq, x, r, true) })
	}
}

// bnReLUSeq is Sequential{BatchNorm(c), ReLU} with β = beta and distinct γ.
func bnReLUSeq(c int, beta float32) *Sequential {
	bn := NewBatchNorm(c)
	for j := range c {
		bn.Gamma.W[j] = 0.5 + 0.1*float32(j)
		bn.Beta.W[j] = beta
	}
	return &Sequential{Layers: []Layer{bn, &ReLU{}}}
}

// Sequential's fused BatchNorm+ReLU and Residual+ReLU give the same bits
// as the two layers run one after the other: output, input gradient,
// parameter gradients and running statistics, in training and evaluation,
// at every kernel level this machine runs.
func TestSequentialFusesReLU(t *testing.T) {
	// Each case builds Sequential{layer, ReLU[, GlobalAvgPool]} from a
	// seed, twice.
	cases := []struct {
		name  string
		build func(seed uint64) *Sequential
		shape []int
	}{
		{"BatchNorm1d", func(uint64) *Sequential { return bnReLUSeq(1, 0.1) }, []int{5, 1}},
		{"BatchNorm1d", func(uint64) *Sequential { return bnReLUSeq(17, 0.1) }, []int{33, 17}},
		{"BatchNorm2d", func(uint64) *Sequential { return bnReLUSeq(40, 0.1) }, []int{4, 5, 6, 40}},
		{"ResidualIdentity", func(seed uint64) *Sequential {
			r := rand.New(rand.NewPCG(seed, 1))
			res := &Residual{Body: &Sequential{Layers: []Layer{NewConv2d(3, 3, 3, 1, 1, false, r), NewBatchNorm(3)}}}
			return &Sequential{Layers: []Layer{res, &ReLU{}}}
		}, []int{2, 5, 5, 3}},
		{"ResidualProjection", func(seed uint64) *Sequential {
			r := rand.New(rand.NewPCG(seed, 1))
			res := &Residual{
				Body:     &Sequential{Layers: []Layer{NewConv2d(3, 20, 3, 2, 1, false, r), NewBatchNorm(20), &ReLU{}, NewConv2d(20, 20, 3, 1, 1, false, r), NewBatchNorm(20)}},
				Shortcut: &Sequential{Layers: []Layer{NewConv2d(3, 20, 1, 2, 0, false, r), NewBatchNorm(20)}},
			}
			return &Sequential{Layers: []Layer{res, &ReLU{}}}
		}, []int{3, 7, 6, 3}},
		{"BatchNormPool", func(uint64) *Sequential {
			s := bnReLUSeq(40, 0.1)
			s.Layers = append(s.Layers, &GlobalAvgPool{})
			return s
		}, []int{3, 7, 5, 40}},
		{"BatchNormPool", func(uint64) *Sequential {
			s := bnReLUSeq(17, -0.1)
			s.Layers = append(s.Layers, &GlobalAvgPool{})
			return s
		}, []int{2, 1, 3, 17}},
	}
	forLevels(t, func(t *testing.T) {
		for _, tc := range cases {
			what := fmt.Sprintf("%s%v", tc.name, tc.shape)
			r := rand.New(rand.NewPCG(3, uint64(len(tc.shape))))
			x, dy := randTensor(r, tc.shape...), randTensor(r, tc.shape...)
			// dy has the output's shape: run once to learn it.
			fused, ref := tc.build(9), tc.build(9)
			outShape := fused.Forward(x, false).Shape
			dy = randTensor(r, outShape...)
			// The reference runs the layers one by one.
			fwd := func(x *Tensor, train bool) *Tensor {
				for _, l := range ref.Layers {
					x = l.Forward(x, train)
				}
				return x
			}
			bwd := func(dy *Tensor) *Tensor {
				for i := len(ref.Layers) - 1; i >= 0; i-- {
					dy = ref.Layers[i].Backward(dy)
				}
				return dy
			}
			for step := range 2 { // the second step runs on updated running stats
				yf := fused.Forward(x, true)
				yr := fwd(x, true)
				sameBits(t, fmt.Sprintf("%s step %d: y", what, step), yf.Data, yr.Data)
				dxf := fused.Backward(dy)
				dxr := bwd(dy)
				sameBits(t, fmt.Sprintf("%s step %d: dx", what, step), dxf.Data, dxr.Data)
			}
			fp, rp := fused.Params(), ref.Params()
			for i := range fp {
				sameBits(t, what+" "+fp[i].Name+" grad", fp[i].G, rp[i].G)
			}
			fb, rb := fused.Buffers(), ref.Buffers()
			for i := range fb {
				sameBits(t, what+" "+fb[i].Name, fb[i].W, rb[i].W)
			}
			ye := fused.Forward(x, false)
			yre := fwd(x, false)
			sameBits(t, what+" eval: y", ye.Data, yre.Data)
		}
	})
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// forLevels runs f once for every kernel level this machine runs
// (kernel.Levels) as a subtest named after it, switching the kernels with
// kernel.SetLevel. Tests that use it must not run in parallel.
func forLevels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, lv := range kernel.Levels() {
		t.Run(lv.String(), func(t *testing.T) {
			prev, err := kernel.SetLevel(lv)
			if err != nil {
				t.Fatal(err)
			}
			defer kernel.SetLevel(prev)
			f(t)
		})
	}
}

// A Residual's shortcut adds its input gradient to the body's
// (InputGradAdder) instead of the two being summed after: against the
// branches' Backward run apart and summed, the same bits where each input
// receives one term of the shortcut's col2im (1×1 projections with
// stride 2), within float32 rounding where the terms are summed in
// another order (a 3×3 projection; a 1×1 one with stride 1, whose
// product accumulates into the body's gradient); parameter gradients the same bits,
// at every kernel level and on 1 and 2 goroutines.
func TestResidualShortcutAdds(t *testing.T) {
	defer kernel.SetThreads(kernel.SetThreads(1))
	forLevels(t, func(t *testing.T) {
		for _, tc := range []struct {
			name                         string
			inC, k, stride, pad, threads int
			exact                        bool
		}{
			{"1x1 stride 2", 6, 1, 2, 0, 1, true},
			{"1x1 stride 2, 2 goroutines", 6, 1, 2, 0, 2, true},
			{"1x1 stride 1", 6, 1, 1, 0, 1, false}, // a product with beta 1: the generic kernel adds each term to dx
			{"1x1 stride 2, 3 channels", 3, 1, 2, 0, 1, true},
			{"3x3 stride 2", 5, 3, 2, 1, 2, false},
			// A first layer that cannot add: Sequential sums after it.
			{"opaque 1x1 stride 2", 6, 1, 2, 0, 1, true},
			{"batch norm", 8, 0, 1, 0, 1, true},
		} {
			kernel.SetThreads(tc.threads)
			build := func() *Residual {
				r := rand.New(rand.NewPCG(11, 12))
				body := &Sequential{Layers: []Layer{NewConv2d(tc.inC, 8, 3, tc.stride, 1, false, r), NewBatchNorm(8), &ReLU{}, NewConv2d(8, 8, 3, 1, 1, false, r), NewBatchNorm(8)}}
				var first Layer
				switch {
				case tc.k == 0:
					first = NewBatchNorm(tc.inC)
				case strings.HasPrefix(tc.name, "opaque"):
					first = opaqueLayer{NewConv2d(tc.inC, 8, tc.k, tc.stride, tc.pad, false, r)}
				default:
					first = NewConv2d(tc.inC, 8, tc.k, tc.stride, tc.pad, false, r)
				}
				sc := &Sequential{Layers: []Layer{first}}
				if tc.k > 0 {
					sc.Layers = append(sc.Layers, NewBatchNorm(8))
				}
				return &Residual{Body: body, Shortcut: sc}
			}
			got, ref := build(), build()
			r := rand.New(rand.NewPCG(13, 14))
			x := randTensor(r, 5, 9, 8, tc.inC)
			y := got.Forward(x, true)
			ref.Forward(x, true)
			dy := randTensor(r, y.Shape...)
			dx := got.Backward(dy)
			if sameData(dx, &got.dx) {
				t.Fatalf("%s: the shortcut's gradient was summed in Residual's own pass, not added into the body's", tc.name)
			}
			db := ref.Body.Backward(dy)
			want := append([]float32(nil), db.Data...)
			ds := ref.Shortcut.Backward(dy)
			for i, v := range ds.Data {
				want[i] += v
			}
			if tc.exact {
				sameBits(t, tc.name+": dx", dx.Data, want)
			} else {
				checkNear(t, tc.name+": dx", dx.Data, want, 1e-5)
			}
			gp, rp := got.Params(), ref.Params()
			for i := range gp {
				sameBits(t, tc.name+": "+gp[i].Name+" grad", gp[i].G, rp[i].G)
			}
		}
	})
}

// opaqueLayer hides its layer's other methods (such as BackwardAdd).
type opaqueLayer struct{ l Layer }

func (o opaqueLayer) Forward(x *Tensor, train bool) *Tensor { return o.l.Forward(x, train) }
func (o opaqueLayer) Backward(dy *Tensor) *Tensor           { return o.l.Backward(dy) }
func (o opaqueLayer) Params() []*Param                      { return o.l.Params() }
