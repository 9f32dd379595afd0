package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomrl/mrl/internal/kernel"
)

// ProbeOptions configure FitProbe. The zero value is not useful; start from
// DefaultProbeOptions.
type ProbeOptions struct {
	// L2 is λ in the objective (default 1e-4; 0 means no regularisation).
	L2 float64
	// MaxIter bounds the L-BFGS iterations (default 200).
	MaxIter int
	// Tol stops when the largest gradient component is below it
	// (default 1e-5).
	Tol float64
	// History is the number of L-BFGS correction pairs kept (default 10).
	History int
	// Normalize re-normalises each feature prefix to unit length before
	// fitting and predicting (default false).
	Normalize bool
}

// DefaultProbeOptions returns the defaults listed on ProbeOptions.
func DefaultProbeOptions() ProbeOptions {
	return ProbeOptions{L2: 1e-4, MaxIter: 200, Tol: 1e-5, History: 10}
}

// Validate reports every problem with o at once.
func (o ProbeOptions) Validate() error {
	var errs []error
	if o.L2 < 0 || math.IsNaN(o.L2) {
		errs = append(errs, fmt.Errorf("L2 %v: must be ≥ 0", o.L2))
	}
	if o.MaxIter < 1 {
		errs = append(errs, fmt.Errorf("MaxIter %d: must be ≥ 1", o.MaxIter))
	}
	if !(o.Tol >= 0) {
		errs = append(errs, fmt.Errorf("Tol %v: must be ≥ 0", o.Tol))
	}
	if o.History < 1 {
		errs = append(errs, fmt.Errorf("History %d: must be ≥ 1", o.History))
	}
	if len(errs) > 0 {
		return fmt.Errorf("eval: invalid probe options: %w", errors.Join(errs...))
	}
	return nil
}

// Probe is a multinomial logistic regression on the first Dim features of
// frozen embeddings: class scores W·x[:Dim] + B, W row-major [Classes][Dim].
type Probe struct {
	Dim, Classes int
	W, B         []float32
	Normalize    bool    // prefixes are re-normalised before scoring
	Iters        int     // L-BFGS iterations run
	Loss         float64 // final value of the objective
}

// FitProbe fits a probe on the first m features of n rows of x (stride d)
// with labels y in [0, classes), minimising
//
//	L(W, b) = (1/n) Σ_i −log softmax(W·x_i + b)[y_i] + (λ/2)·‖W‖²
//
// (the bias is not regularised) by full-batch L-BFGS from W = b = 0 with a
// backtracking Armijo line search. Logits and gradients are GEMMs
// (kernel.Sgemm) in float32; the optimiser state is float64. The objective
// is strictly convex for λ > 0, and the fit is deterministic: it draws no
// random numbers, so it needs no seed.
func FitProbe(x []float32, y []int32, n, d, m, classes int, opt ProbeOptions) (*Probe, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if n < 1 || m < 1 || m > d || classes < 2 || len(x) < (n-1)*d+m || len(y) < n {
		return nil, fmt.Errorf("eval: probe: %d rows of %d/%d features, %d classes, %d floats and %d labels do not fit", n, m, d, classes, len(x), len(y))
	}
	for i, c := range y[:n] {
		if c < 0 || int(c) >= classes {
			return nil, fmt.Errorf("eval: probe: label %d of row %d outside [0, %d)", c, i, classes)
		}
	}
	feats, ld := x, d
	if opt.Normalize {
		feats, ld = PrefixNormalized(x, n, d, m), m
	}
	obj := &probeObjective{x: feats, ld: ld, y: y[:n], n: n, m: m, c: classes, l2: opt.L2,
		w32: make([]float32, classes*m), z: make([]float32, n*classes), dz: make([]float32, n*classes), g32: make([]float32, classes*m)}
	theta := make([]float64, classes*m+classes)
	loss, iters := lbfgs(obj.eval, theta, opt)
	p := &Probe{Dim: m, Classes: classes, W: make([]float32, classes*m), B: make([]float32, classes), Normalize: opt.Normalize, Iters: iters, Loss: loss}
	for i := range p.W {
		p.W[i] = float32(theta[i])
	}
	for j := range p.B {
		p.B[j] = float32(theta[classes*m+j])
	}
	return p, nil
}

// probeObjective evaluates L and ∇L at θ = (W row-major, b).
type probeObjective struct {
	x        []float32
	ld       int
	y        []int32
	n, m, c  int
	l2       float64
	w32, g32 []float32
	z, dz    []float32
}

func (o *probeObjective) eval(theta, grad []float64) float64 {
	n, m, c := o.n, o.m, o.c
	for i := range o.w32 {
		o.w32[i] = float32(theta[i])
	}
	b := theta[c*m:]
	kernel.Sgemm(false, true, n, c, m, 1, o.x, o.ld, o.w32, m, 0, o.z, c)
	var loss float64
	gb := grad[c*m:]
	clear(gb)
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		z := o.z[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for j := range z {
			mx = max(mx, float64(z[j])+b[j])
		}
		var s float64
		for j := range z {
			s += math.Exp(float64(z[j]) + b[j] - mx)
		}
		lse := mx + math.Log(s)
		yi := int(o.y[i])
		loss += lse - (float64(z[yi]) + b[yi])
		dz := o.dz[i*c : (i+1)*c]
		for j := range z {
			p := math.Exp(float64(z[j]) + b[j] - lse)
			if j == yi {
				p--
			}
			dz[j] = float32(p * inv)
			gb[j] += p * inv
		}
	}
	loss *= inv
	// ∇W = dzᵀ·X + λW
	kernel.Sgemm(true, false, c, m, n, 1, o.dz, c, o.x, o.ld, 0, o.g32, m)
	var reg float64
	for i := range o.g32 {
		w := theta[i]
		reg += w * w
		grad[i] = float64(o.g32[i]) + o.l2*w
	}
	return loss + 0.5*o.l2*reg
}

// lbfgs minimises f from theta (updated in place) and returns the final
// value and the iterations run. f writes the gradient into its second
// argument.
func lbfgs(f func(theta, grad []float64) float64, theta []float64, opt ProbeOptions) (float64, int) {
	k := len(theta)
	g := make([]float64, k)
	fx := f(theta, g)
	var sHist, yHist [][]float64
	var rho []float64
	dir, alpha := make([]float64, k), make([]float64, opt.History)
	trial, gTrial := make([]float64, k), make([]float64, k)
	iter := 0
	for ; iter < opt.MaxIter; iter++ {
		if infNorm(g) <= opt.Tol {
			break
		}
		// Two-loop recursion: dir = −H·g.
		copy(dir, g)
		for j := len(sHist) - 1; j >= 0; j-- {
			alpha[j] = rho[j] * dot64(sHist[j], dir)
			axpy64(-alpha[j], yHist[j], dir)
		}
		gamma := 1.0
		if len(sHist) > 0 {
			last := len(sHist) - 1
			gamma = dot64(sHist[last], yHist[last]) / dot64(yHist[last], yHist[last])
		} else {
			gamma = 1 / math.Max(math.Sqrt(dot64(g, g)), 1)
		}
		for i := range dir {
			dir[i] *= gamma
		}
		for j := range sHist {
			beta := rho[j] * dot64(yHist[j], dir)
			axpy64(alpha[j]-beta, sHist[j], dir)
		}
		for i := range dir {
			dir[i] = -dir[i]
		}
		slope := dot64(g, dir)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			sHist, yHist, rho = nil, nil, nil
			for i := range dir {
				dir[i] = -g[i]
			}
			slope = -dot64(g, g)
		}
		// Backtracking line search with the Armijo condition.
		step, ft := 1.0, 0.0
		ok := false
		for ls := 0; ls < 40; ls++ {
			for i := range trial {
				trial[i] = theta[i] + step*dir[i]
			}
			ft = f(trial, gTrial)
			if ft <= fx+1e-4*step*slope {
				ok = true
				break
			}
			step /= 2
		}
		if !ok {
			break // no decrease possible at float32 precision
		}
		s, yv := make([]float64, k), make([]float64, k)
		for i := range s {
			s[i] = trial[i] - theta[i]
			yv[i] = gTrial[i] - g[i]
		}
		copy(theta, trial)
		copy(g, gTrial)
		improved := fx - ft
		fx = ft
		if sy := dot64(s, yv); sy > 1e-12 {
			if len(sHist) == opt.History {
				sHist, yHist, rho = sHist[1:], yHist[1:], rho[1:]
			}
			sHist, yHist, rho = append(sHist, s), append(yHist, yv), append(rho, 1/sy)
		}
		if improved <= 1e-12*math.Max(1, math.Abs(fx)) {
			iter++
			break
		}
	}
	return fx, iter
}

func dot64(x, y []float64) float64 {
	var s float64
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func axpy64(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}

func infNorm(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// Scores returns the [n][Classes] class scores of n rows of x (stride d).
func (p *Probe) Scores(x []float32, n, d int) []float32 {
	feats, ld := x, d
	if p.Normalize {
		feats, ld = PrefixNormalized(x, n, d, p.Dim), p.Dim
	}
	z := make([]float32, n*p.Classes)
	if n == 0 {
		return z
	}
	kernel.Sgemm(false, true, n, p.Classes, p.Dim, 1, feats, ld, p.W, p.Dim, 0, z, p.Classes)
	for i := 0; i < n; i++ {
		row := z[i*p.Classes : (i+1)*p.Classes]
		for j := range row {
			row[j] += p.B[j]
		}
	}
	return z
}

// Predict returns the arg-max class of each of n rows of x (stride d).
func (p *Probe) Predict(x []float32, n, d int) []int32 {
	z := p.Scores(x, n, d)
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(argmax32(z[i*p.Classes : (i+1)*p.Classes]))
	}
	return out
}

// Accuracy is the fraction of n rows of x (stride d) whose predicted class
// is y's; NaN when n = 0.
func (p *Probe) Accuracy(x []float32, y []int32, n, d int) float64 {
	if n == 0 {
		return math.NaN()
	}
	ok := 0
	for i, c := range p.Predict(x, n, d) {
		if c == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(n)
}

func argmax32(x []float32) int {
	best := 0
	for j, v := range x {
		if v > x[best] {
			best = j
		}
	}
	return best
}
