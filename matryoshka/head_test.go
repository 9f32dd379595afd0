package matryoshka

import (
	"math"
	"math/rand/v2"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

// naiveLoss is the official Matryoshka_CE_Loss written as a plain per-head
// loop: for each dim, logits from scalar loops over z[:, :m] and the head's
// (or the shared, sliced) weights, then Σ_g c_g·mean CE.
func naiveLoss(h *Head, z []float32, n int, labels []int32) float64 {
	var total float64
	for g, m := range h.Nesting {
		var wts, bias []float32
		ld := m
		switch h.Kind {
		case MRLE:
			wts, bias, ld = h.W[0].W, h.B[0].W, h.Embed
		default:
			wts, bias = h.W[g].W, h.B[g].W
		}
		var ce float64
		for i := 0; i < n; i++ {
			logits := make([]float64, h.Classes)
			for c := range logits {
				s := float64(bias[c])
				for k := 0; k < m; k++ {
					s += float64(z[i*h.Embed+k]) * float64(wts[c*ld+k])
				}
				logits[c] = s
			}
			var lse float64
			for _, v := range logits {
				lse += math.Exp(v)
			}
			ce += math.Log(lse) - logits[labels[i]]
		}
		c := 1.0
		if h.Weights != nil {
			c = h.Weights[g]
		}
		total += c * ce / float64(n)
	}
	return total
}

// TestHeadLossMatchesNaiveLoop checks the loss against the naive loop and
// every gradient against finite differences, on one goroutine and with
// the rows and gradient columns split among 2 and 3 (headGrain lowered:
// at d = 80 the workers' 32-column shares of dW are ragged).
func TestHeadLossMatchesNaiveLoop(t *testing.T) {
	defer func(hg, lg int) { headGrain, lossGrain = hg, lg }(headGrain, lossGrain)
	headGrain, lossGrain = 1, 1
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		kind    Kind
		nesting mrl.Nesting
		d       int
		weights []float64
	}{
		{MRL, mrl.Nesting{2, 4, 8, 16}, 16, nil},
		{MRL, mrl.Nesting{3, 5, 16}, 16, []float64{0.5, 2, 1}},
		{MRLE, mrl.Nesting{2, 4, 8, 16}, 16, nil},
		{MRLE, mrl.Nesting{1, 16}, 16, []float64{3, 1}},
		{FF, mrl.Nesting{4}, 16, nil},
		{FF, mrl.Nesting{16}, 16, nil},
		{MRL, mrl.Nesting{5, 40, 80}, 80, []float64{1, 2, 0.5}},
		{MRLE, mrl.Nesting{8, 50, 80}, 80, nil},
		{FF, mrl.Nesting{70}, 80, nil},
	}
	for _, threads := range []int{1, 2, 3} {
		prev := kernel.SetThreads(threads)
		for _, tc := range cases {
			testHeadAgainstNaive(t, r, threads, tc.kind, tc.nesting, tc.d, tc.weights)
		}
		kernel.SetThreads(prev)
	}
}

func testHeadAgainstNaive(t *testing.T, r *rand.Rand, threads int, kind Kind, nesting mrl.Nesting, d int, weights []float64) {
	t.Helper()
	tc := struct {
		kind    Kind
		nesting mrl.Nesting
	}{kind, nesting}
	{
		n, classes := 29, 5
		h, err := NewHead(tc.kind, tc.nesting, d, classes, r)
		if err != nil {
			t.Fatal(err)
		}
		h.Weights = weights
		z := nn.NewTensor(n, d)
		for i := range z.Data {
			z.Data[i] = float32(r.NormFloat64())
		}
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(r.IntN(classes))
		}
		h.Forward(z)
		got := h.Loss(labels, 0).Total
		want := naiveLoss(h, z.Data, n, labels)
		if math.Abs(got-want) > 1e-4*math.Max(1, want) {
			t.Errorf("%v %v, %d threads: loss = %v, want %v (naive per-head loop)", tc.kind, tc.nesting, threads, got, want)
		}
		// Gradients against finite differences of the naive loss (float64
		// arithmetic, so eps=1e-3 and a 1e-3 relative tolerance).
		for _, p := range h.Params() {
			clear(p.G)
		}
		dz := h.Backward()
		check := func(what string, w []float32, g []float32) {
			for _, i := range r.Perm(len(w))[:min(len(w), 25)] {
				old := w[i]
				w[i] = old + 1e-3
				lp := naiveLoss(h, z.Data, n, labels)
				w[i] = old - 1e-3
				lm := naiveLoss(h, z.Data, n, labels)
				w[i] = old
				num := (lp - lm) / 2e-3
				if math.Abs(num-float64(g[i])) > 1e-3*math.Max(1, math.Abs(num)) {
					t.Errorf("%v %v, %d threads: d/d%s[%d] = %v, want %v", tc.kind, tc.nesting, threads, what, i, g[i], num)
					return
				}
			}
		}
		check("z", z.Data, append([]float32(nil), dz.Data...))
		for _, p := range h.Params() {
			check(p.Name, p.W, p.G)
		}
	}
}

func TestMRLEUsesFullBiasAndSlicedWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h, _ := NewHead(MRLE, mrl.Nesting{1, 2}, 2, 2, r)
	copy(h.W[0].W, []float32{1, 10, 2, 20}) // W = [[1,10],[2,20]]
	copy(h.B[0].W, []float32{0.5, -0.5})
	l := h.Forward(&nn.Tensor{Shape: []int{1, 2}, Data: []float32{3, 1}})
	want := [][]float32{{3*1 + 0.5, 3*2 - 0.5}, {3*1 + 10 + 0.5, 3*2 + 20 - 0.5}}
	for g := range want {
		for j := range want[g] {
			if l[g][j] != want[g][j] {
				t.Fatalf("MRL-E logits = %v, want %v", l, want)
			}
		}
	}
}

func TestNewHeadErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		kind    Kind
		nesting mrl.Nesting
		embed   int
		classes int
	}{
		{MRL, mrl.Nesting{8, 4}, 8, 10},
		{MRL, mrl.Nesting{8, 16}, 8, 10},
		{MRL, nil, 8, 10},
		{FF, mrl.Nesting{4, 8}, 8, 10},
		{MRL, mrl.Nesting{4, 8}, 8, 1},
	}
	for _, tc := range cases {
		if _, err := NewHead(tc.kind, tc.nesting, tc.embed, tc.classes, r); err == nil {
			t.Errorf("NewHead(%v, %v, %d, %d) gave no error", tc.kind, tc.nesting, tc.embed, tc.classes)
		}
	}
}
