package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// With λ = 1, one feature and the two rows x = +1 (class 1), x = −1
// (class 0), symmetry gives b = 0 and W = (−a, a), where the stationarity
// condition of the objective,
//
//	∂L/∂w_1 = σ(2a) − 1 + λa = 0,   i.e.   λa = σ(−2a),
//
// has the single root a ≈ 0.3375, found here by bisection.
func TestProbeKnownAnswer(t *testing.T) {
	sigma := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	lo, hi := 0.0, 1.0
	for range 60 {
		a := (lo + hi) / 2
		if a-sigma(-2*a) > 0 {
			hi = a
		} else {
			lo = a
		}
	}
	a := (lo + hi) / 2
	opt := DefaultProbeOptions()
	opt.L2 = 1
	p, err := FitProbe([]float32{1, -1}, []int32{1, 0}, 2, 1, 1, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-a, a, 0, 0}
	got := []float64{float64(p.W[0]), float64(p.W[1]), float64(p.B[0]), float64(p.B[1])}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-4 {
			t.Fatalf("FitProbe(λ=1, ±1) = W %v b %v, want W (%.5f, %.5f) b 0", p.W, p.B, -a, a)
		}
	}
	// L = −log σ(2a) + (λ/2)·2a².
	if wantLoss := -math.Log(sigma(2*a)) + a*a; math.Abs(p.Loss-wantLoss) > 1e-5 {
		t.Errorf("FitProbe(λ=1, ±1).Loss = %v, want %v", p.Loss, wantLoss)
	}
}

// separable returns n rows of 3 features: the first two place each of three
// classes in its own well-separated cluster, the third is loud noise.
func separable(n int, seed uint64) ([]float32, []int32) {
	r := rand.New(rand.NewPCG(seed, 3))
	centres := [][2]float64{{5, 0}, {-5, 5}, {-5, -5}}
	x, y := make([]float32, 3*n), make([]int32, n)
	for i := range y {
		c := r.IntN(3)
		y[i] = int32(c)
		x[3*i] = float32(centres[c][0] + 0.5*r.NormFloat64())
		x[3*i+1] = float32(centres[c][1] + 0.5*r.NormFloat64())
		x[3*i+2] = float32(50 * r.NormFloat64())
	}
	return x, y
}

func TestProbeSeparable(t *testing.T) {
	x, y := separable(300, 1)
	xt, yt := separable(200, 2)
	for _, normalize := range []bool{false, true} {
		opt := DefaultProbeOptions()
		opt.Normalize = normalize
		p, err := FitProbe(x, y, 300, 3, 2, 3, opt)
		if err != nil {
			t.Fatal(err)
		}
		if acc := p.Accuracy(x, y, 300, 3); acc != 1 {
			t.Errorf("FitProbe(normalize=%v) train accuracy = %v, want 1", normalize, acc)
		}
		if acc := p.Accuracy(xt, yt, 200, 3); acc != 1 {
			t.Errorf("FitProbe(normalize=%v) test accuracy = %v, want 1", normalize, acc)
		}
		if p.Iters < 1 || p.Loss > 0.05 {
			t.Errorf("FitProbe(normalize=%v) = %d iterations, loss %v, want a small loss", normalize, p.Iters, p.Loss)
		}
	}
	// Deterministic: a second fit gives the same weights.
	p1, _ := FitProbe(x, y, 300, 3, 2, 3, DefaultProbeOptions())
	p2, _ := FitProbe(x, y, 300, 3, 2, 3, DefaultProbeOptions())
	for i := range p1.W {
		if p1.W[i] != p2.W[i] {
			t.Fatalf("FitProbe twice: W[%d] = %v and %v, want equal", i, p1.W[i], p2.W[i])
		}
	}
}

func TestProbeErrors(t *testing.T) {
	bad := ProbeOptions{L2: -1}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "L2") || !strings.Contains(err.Error(), "MaxIter") || !strings.Contains(err.Error(), "History") {
		t.Errorf("Validate(%+v) = %v, want every problem reported", bad, err)
	}
	opt := DefaultProbeOptions()
	for _, tc := range []struct {
		name       string
		x          []float32
		y          []int32
		n, d, m, c int
	}{
		{"label out of range", []float32{1, 2}, []int32{0, 2}, 2, 1, 1, 2},
		{"m > d", []float32{1, 2}, []int32{0, 1}, 2, 1, 2, 2},
		{"short x", []float32{1}, []int32{0, 1}, 2, 1, 1, 2},
		{"one class", []float32{1, 2}, []int32{0, 0}, 2, 1, 1, 1},
	} {
		if _, err := FitProbe(tc.x, tc.y, tc.n, tc.d, tc.m, tc.c, opt); err == nil {
			t.Errorf("FitProbe(%s) = nil error, want one", tc.name)
		}
	}
}

// The probe's gradient matches central finite differences of its objective.
func TestProbeGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	n, d, m, c := 7, 5, 4, 3
	x, y := make([]float32, n*d), make([]int32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = int32(r.IntN(c))
	}
	o := &probeObjective{x: x, ld: d, y: y, n: n, m: m, c: c, l2: 0.3,
		w32: make([]float32, c*m), z: make([]float32, n*c), dz: make([]float32, n*c), g32: make([]float32, c*m)}
	theta := make([]float64, c*m+c)
	for i := range theta {
		theta[i] = 0.5 * r.NormFloat64()
	}
	g, scratch := make([]float64, len(theta)), make([]float64, len(theta))
	o.eval(theta, g)
	const h = 1e-2
	for i := range theta {
		t0 := theta[i]
		theta[i] = t0 + h
		fp := o.eval(theta, scratch)
		theta[i] = t0 - h
		fm := o.eval(theta, scratch)
		theta[i] = t0
		if fd := (fp - fm) / (2 * h); math.Abs(fd-g[i]) > 2e-3 {
			t.Errorf("probe gradient[%d] = %v, finite difference %v", i, g[i], fd)
		}
	}
}
