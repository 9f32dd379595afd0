package nn

import (
	"fmt"
	"math"

	"github.com/gomrl/mrl/internal/kernel"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr and counts it.
	Step(lr float64)
	// ZeroGrad sets every gradient to 0.
	ZeroGrad()
	// State returns the optimizer's per-parameter slots (momentum, moments),
	// named after their parameter, for checkpoints; restoring copies into
	// their W.
	State() []*Buffer
	// Steps returns the number of Step calls so far; SetSteps restores it.
	Steps() int
	SetSteps(int)
}

// zeroGrad clears the gradients in parallel chunks (forRows): a large
// model's gradients are megabytes, and two cores clear them at nearly
// twice the bandwidth of one (the MLP of bench/train: 11.8 MB, ~4% of a
// 2-thread step cleared on one goroutine).
func zeroGrad(ps []*Param) {
	for _, p := range ps {
		forRows(p, func(lo, hi int) { clear(p.G[lo:hi]) })
		if p.Sparse {
			p.Touched = p.Touched[:0]
		}
	}
}

// forRows runs fn over the ranges of p's values an optimizer step updates:
// every value in parallel chunks, or for a Sparse parameter each touched
// row (rows split among goroutines). Each element's arithmetic is the same
// whatever the split.
func forRows(p *Param, fn func(lo, hi int)) {
	if !p.Sparse {
		kernel.ParallelFor(len(p.W), optGrain, fn)
		return
	}
	d := p.RowLen()
	rows := p.Touched
	kernel.ParallelFor(len(rows), max(1, optGrain/max(d, 1)), func(a, b int) {
		for _, r := range rows[a:b] {
			fn(int(r)*d, int(r+1)*d)
		}
	})
}

func slots(ps []*Param, suffix string) []*Buffer {
	bs := make([]*Buffer, len(ps))
	for i, p := range ps {
		bs[i] = &Buffer{Name: p.Name + "." + suffix, Shape: p.Shape, W: make([]float32, len(p.W))}
	}
	return bs
}

// SGD is stochastic gradient descent with PyTorch's semantics: with weight
// decay λ, g ← g + λw; with momentum μ, v ← μv + g (v = g at the first
// step) and the step is g + μv (Nesterov) or v; then w ← w − lr·step.
// Parameters marked NoDecay get no weight decay unless DecayAll is set.
type SGD struct {
	Params      []*Param
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	DecayAll    bool

	v     []*Buffer
	steps int
}

// NewSGD returns an SGD optimizer over ps.
func NewSGD(ps []*Param, momentum, weightDecay float64, nesterov bool) *SGD {
	return &SGD{Params: ps, Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov, v: slots(ps, "momentum")}
}

// Step applies one update. Large tensors are updated in parallel chunks;
// each element's arithmetic is the same whatever the chunking.
func (o *SGD) Step(lr float64) {
	mu, first, eta := float32(o.Momentum), o.steps == 0, float32(lr)
	for i, p := range o.Params {
		wd := float32(o.WeightDecay)
		if p.NoDecay && !o.DecayAll {
			wd = 0
		}
		v := o.v[i].W
		first := first
		if p.Sparse {
			first = false // a row's first touch starts from v = 0: v ← μ·0 + g = g, as at step 1
		}
		forRows(p, func(lo, hi int) {
			w, g, v := p.W[lo:hi], p.G[lo:hi], v[lo:hi]
			g = g[:len(w)]
			v = v[:len(w)]
			switch {
			case mu == 0:
				for j, gj := range g {
					w[j] -= eta * (gj + wd*w[j])
				}
			case first && o.Nesterov:
				for j, gj := range g {
					gj += wd * w[j]
					v[j] = gj
					w[j] -= eta * (gj + mu*gj)
				}
			case first:
				for j, gj := range g {
					gj += wd * w[j]
					v[j] = gj
					w[j] -= eta * gj
				}
			case o.Nesterov:
				for j, gj := range g {
					gj += wd * w[j]
					vj := mu*v[j] + gj
					v[j] = vj
					w[j] -= eta * (gj + mu*vj)
				}
			default:
				kernel.SGDMomentum(w, g, v, eta, mu, wd)
			}
		})
	}
	o.steps++
}

// optGrain is the number of elements per goroutine in optimizer updates.
const optGrain = 1 << 16

// ZeroGrad clears the gradients.
func (o *SGD) ZeroGrad() { zeroGrad(o.Params) }

// State returns the momentum buffers.
func (o *SGD) State() []*Buffer { return o.v }

// Steps returns the step count.
func (o *SGD) Steps() int { return o.steps }

// SetSteps restores the step count.
func (o *SGD) SetSteps(n int) { o.steps = n }

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// PyTorch's AdamW: w ← w − lr·λ·w, then the bias-corrected Adam step
// w ← w − lr·m̂/(sqrt(v̂)+ε).
type AdamW struct {
	Params            []*Param
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	DecayAll          bool

	m, v  []*Buffer
	steps int
}

// NewAdamW returns AdamW with β=(0.9, 0.999), ε=1e-8.
func NewAdamW(ps []*Param, weightDecay float64) *AdamW {
	return &AdamW{Params: ps, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		m: slots(ps, "exp_avg"), v: slots(ps, "exp_avg_sq")}
}

// Step applies one update.
func (o *AdamW) Step(lr float64) {
	o.steps++
	t := float64(o.steps)
	c1 := 1 - math.Pow(o.Beta1, t)
	c2 := 1 - math.Pow(o.Beta2, t)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	stepSize := float32(lr / c1)
	isq2 := float32(1 / math.Sqrt(c2))
	eps := float32(o.Eps)
	for i, p := range o.Params {
		decay := float32(1 - lr*o.WeightDecay)
		if p.NoDecay && !o.DecayAll {
			decay = 1
		}
		m, v := o.m[i].W, o.v[i].W
		forRows(p, func(lo, hi int) {
			w, g, m, v := p.W[lo:hi], p.G[lo:hi], m[lo:hi], v[lo:hi]
			g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
			for j, gj := range g {
				mj := b1*m[j] + (1-b1)*gj
				vj := b2*v[j] + (1-b2)*gj*gj
				m[j], v[j] = mj, vj
				denom := float32(math.Sqrt(float64(vj)))*isq2 + eps
				w[j] = w[j]*decay - stepSize*mj/denom
			}
		})
	}
}

// ZeroGrad clears the gradients.
func (o *AdamW) ZeroGrad() { zeroGrad(o.Params) }

// State returns the first and second moment buffers.
func (o *AdamW) State() []*Buffer { return append(append([]*Buffer(nil), o.m...), o.v...) }

// Steps returns the step count.
func (o *AdamW) Steps() int { return o.steps }

// SetSteps restores the step count (it enters the bias correction).
func (o *AdamW) SetSteps(n int) { o.steps = n }

// Schedule gives the learning rate for a 0-based optimizer step.
type Schedule func(step int) float64

// Constant is a fixed learning rate.
func Constant(lr float64) Schedule { return func(int) float64 { return lr } }

// StepDecay multiplies lr by gamma every `every` steps.
func StepDecay(lr float64, every int, gamma float64) Schedule {
	return func(s int) float64 { return lr * math.Pow(gamma, float64(s/max(every, 1))) }
}

// Cosine warms up linearly from 0 to lr over warmup steps, then follows a
// half cosine from lr to 0 at step total.
func Cosine(lr float64, total, warmup int) Schedule {
	return func(s int) float64 {
		if s < warmup {
			return lr * float64(s+1) / float64(warmup)
		}
		if s >= total {
			return 0
		}
		p := float64(s-warmup) / float64(max(total-warmup, 1))
		return lr * 0.5 * (1 + math.Cos(math.Pi*p))
	}
}

// OneCycle is PyTorch's OneCycleLR with cosine annealing: from maxLR/25 up
// to maxLR over the first pctStart of total steps, then down to
// maxLR/25/1e4 at the end.
func OneCycle(maxLR float64, total int, pctStart float64) Schedule {
	initial := maxLR / 25
	final := initial / 1e4
	up := pctStart*float64(total) - 1
	cos := func(a, b, p float64) float64 { return b + (a-b)/2*(1+math.Cos(math.Pi*p)) }
	return func(s int) float64 {
		x := float64(s)
		if x <= up {
			return cos(initial, maxLR, x/math.Max(up, 1))
		}
		down := float64(total-1) - up
		return cos(maxLR, final, math.Min((x-up)/math.Max(down, 1), 1))
	}
}

// ParseSchedule builds a schedule by name: "constant", "step" (×0.1 every
// total/3 steps), "cosine" (warmup steps of linear warm-up) or "onecycle"
// (pctStart 0.3 unless warmup>0 sets it to warmup/total).
func ParseSchedule(name string, lr float64, total, warmup int) (Schedule, error) {
	switch name {
	case "constant":
		return Constant(lr), nil
	case "step":
		return StepDecay(lr, max(total/3, 1), 0.1), nil
	case "cosine":
		return Cosine(lr, total, warmup), nil
	case "onecycle":
		pct := 0.3
		if warmup > 0 && total > 0 {
			pct = float64(warmup) / float64(total)
		}
		return OneCycle(lr, total, pct), nil
	}
	return nil, fmt.Errorf("nn: unknown schedule %q (want constant, step, cosine or onecycle)", name)
}
