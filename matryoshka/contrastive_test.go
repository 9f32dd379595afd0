package matryoshka

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

// naiveContrastive is the loss written as a plain per-prefix loop in
// float64: normalise both prefixes, every logit by a scalar loop, the
// cross-entropy of each row (and column, when symmetric).
func naiveContrastive(o ContrastiveOptions, logScale float64, a, p []float64, n int) float64 {
	d := o.Embed
	s := math.Min(math.Exp(logScale), o.MaxScale)
	var total float64
	for g, m := range o.Nesting {
		unit := func(x []float64, i int) []float64 {
			var nr float64
			for k := 0; k < m; k++ {
				nr += x[i*d+k] * x[i*d+k]
			}
			nr = math.Max(math.Sqrt(nr), 1e-12)
			u := make([]float64, m)
			for k := range u {
				u[k] = x[i*d+k] / nr
			}
			return u
		}
		logits := make([][]float64, n)
		for i := range logits {
			logits[i] = make([]float64, n)
			ai := unit(a, i)
			for j := 0; j < n; j++ {
				pj := unit(p, j)
				var dot float64
				for k := range ai {
					dot += ai[k] * pj[k]
				}
				logits[i][j] = s * dot
			}
		}
		ce := func(at func(int) float64, target int) float64 {
			var z float64
			for j := 0; j < n; j++ {
				z += math.Exp(at(j))
			}
			return math.Log(z) - at(target)
		}
		var l float64
		for i := 0; i < n; i++ {
			l += ce(func(j int) float64 { return logits[i][j] }, i)
		}
		l /= float64(n)
		if o.Symmetric {
			var lc float64
			for j := 0; j < n; j++ {
				lc += ce(func(i int) float64 { return logits[i][j] }, j)
			}
			l = (l + lc/float64(n)) / 2
		}
		w := 1.0
		if o.Weights != nil {
			w = o.Weights[g]
		}
		total += w * l
	}
	return total
}

func randBatch(r *rand.Rand, n, d int) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

var contrastiveCases = []ContrastiveOptions{
	{Nesting: mrl.Nesting{2, 4, 8, 16}},
	{Nesting: mrl.Nesting{2, 4, 8, 16}, Symmetric: true},
	{Nesting: mrl.Nesting{3, 5, 16}, Weights: []float64{0.5, 2, 1}, Learn: true, Temperature: 0.1},
	{Nesting: mrl.Nesting{4, 16}, Learn: true, Symmetric: true, Temperature: 0.07},
	{Nesting: mrl.Nesting{16}, Embed: 20, Temperature: 1},
}

func TestContrastiveMatchesNaiveLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, o := range contrastiveCases {
		for _, n := range []int{1, 2, 7, 33} {
			c, err := NewContrastive(o)
			if err != nil {
				t.Fatal(err)
			}
			d := c.Options.Embed
			a, p := randBatch(r, n, d), randBatch(r, n, d)
			got := c.Forward(a, d, p, d, n)
			want := naiveContrastive(c.Options, float64(c.LogScale.W[0]), to64(a), to64(p), n)
			if math.Abs(got.Total-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("%+v n=%d: Total = %v, want %v", o, n, got.Total, want)
			}
			if len(got.PerDim) != len(o.Nesting) || len(got.Correct) != len(o.Nesting) {
				t.Errorf("%+v: PerDim %v, Correct %v: want one per dim", o, got.PerDim, got.Correct)
			}
		}
	}
}

// TestContrastiveGradients checks dTotal/da, dTotal/dp and dTotal/dlog s
// against central differences of the naive float64 loss, at every prefix
// (each case's nesting reaches every column through some prefix).
func TestContrastiveGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for ci, o := range contrastiveCases {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			c, err := NewContrastive(o)
			if err != nil {
				t.Fatal(err)
			}
			n, d := 5, c.Options.Embed
			a, p := randBatch(r, n, d), randBatch(r, n, d)
			c.Forward(a, d, p, d, n)
			da, dp := make([]float32, n*d), make([]float32, n*d)
			for i := range da {
				da[i], dp[i] = float32(math.NaN()), float32(math.NaN()) // Backward overwrites
			}
			c.LogScale.G[0] = 0
			c.Backward(da, d, dp, d)
			a64, p64 := to64(a), to64(p)
			ls := float64(c.LogScale.W[0])
			f := func() float64 { return naiveContrastive(c.Options, ls, a64, p64, n) }
			const h = 1e-5
			check := func(name string, x []float64, g []float32) {
				for i := range x {
					x0 := x[i]
					x[i] = x0 + h
					up := f()
					x[i] = x0 - h
					dn := f()
					x[i] = x0
					num := (up - dn) / (2 * h)
					if math.Abs(num-float64(g[i])) > 2e-3*math.Max(1, math.Abs(num)) {
						t.Errorf("d%s[%d] (row %d col %d) = %v, numeric %v", name, i, i/d, i%d, g[i], num)
					}
				}
			}
			check("a", a64, da)
			check("p", p64, dp)
			ls0 := ls
			ls = ls0 + h
			up := f()
			ls = ls0 - h
			dn := f()
			num := (up - dn) / (2 * h)
			want := 0.0
			if o.Learn {
				want = num
			}
			if math.Abs(want-float64(c.LogScale.G[0])) > 2e-3*math.Max(1, math.Abs(want)) {
				t.Errorf("dlog s = %v, want %v (learn %v)", c.LogScale.G[0], want, o.Learn)
			}
		})
	}
}

func TestContrastiveZeroRowAndTensors(t *testing.T) {
	c, err := NewContrastive(ContrastiveOptions{Nesting: mrl.Nesting{2, 4}})
	if err != nil {
		t.Fatal(err)
	}
	a := &nn.Tensor{Shape: []int{3, 4}, Data: []float32{0, 0, 0, 0, 1, 2, 3, 4, -1, 0, 2, 1}}
	p := &nn.Tensor{Shape: []int{3, 4}, Data: []float32{1, 1, 1, 1, 1, 2, 3, 4, 0, 0, 0, 0}}
	l := c.ForwardTensors(a, p)
	da, dp := nn.NewTensor(3, 4), nn.NewTensor(3, 4)
	c.BackwardTensors(da, dp)
	for _, v := range append(append([]float32{float32(l.Total)}, da.Data...), dp.Data...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("a zero embedding gave a non-finite loss or gradient: loss %v, da %v, dp %v", l.Total, da.Data, dp.Data)
		}
	}
}

func TestContrastiveOptionsValidate(t *testing.T) {
	bad := ContrastiveOptions{Nesting: mrl.Nesting{8, 4}, Embed: 8, Temperature: -1, Weights: []float64{1}}
	err := bad.WithDefaults().Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad nesting, temperature and weights")
	}
	for _, want := range []string{"temperature", "weights", "nesting"} {
		if !contains(err.Error(), want) {
			t.Errorf("Validate() = %v: want it to mention %q", err, want)
		}
	}
	if _, err := NewContrastive(ContrastiveOptions{}); err == nil {
		t.Error("NewContrastive accepted an empty nesting")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestContrastiveSteadyStateAllocs: once the batch size is steady a
// Forward and Backward allocate nothing.
func TestContrastiveSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := rand.New(rand.NewPCG(1, 1))
	c, _ := NewContrastive(ContrastiveOptions{Nesting: mrl.Nesting{4, 8, 16}, Symmetric: true, Learn: true})
	n, d := 8, 16
	a, p := randBatch(r, n, d), randBatch(r, n, d)
	da, dp := make([]float32, n*d), make([]float32, n*d)
	sim := make([]float32, n*n)
	if testing.AllocsPerRun(5, func() { kernel.Sgemm(false, true, n, n, 4, 1, a, d, p, d, 0, sim, n) }) > 0 {
		t.Skip("this kernel level's GEMM allocates (the pure-Go one transposes into a new buffer)")
	}
	c.Forward(a, d, p, d, n)
	c.Backward(da, d, dp, d)
	if allocs := testing.AllocsPerRun(10, func() {
		c.Forward(a, d, p, d, n)
		c.Backward(da, d, dp, d)
	}); allocs != 0 {
		t.Errorf("Forward+Backward allocate %v times per call, want 0", allocs)
	}
}

func BenchmarkContrastive(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	c, _ := NewContrastive(ContrastiveOptions{Nesting: mrl.DefaultNesting(512), Symmetric: true, Learn: true})
	n, d := 256, 512
	a, p := randBatch(r, n, d), randBatch(r, n, d)
	da, dp := make([]float32, n*d), make([]float32, n*d)
	b.ReportAllocs()
	for b.Loop() {
		c.Forward(a, d, p, d, n)
		c.Backward(da, d, dp, d)
	}
}
