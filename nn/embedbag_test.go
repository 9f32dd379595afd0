package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bagLoss is Σ_i Σ_k proj[i][k]·mean_{id∈bag i} W[id][k], in float64 by a
// plain loop.
func bagLoss(w []float32, d int, ids, offsets []int32, proj []float32) float64 {
	var s float64
	for i := 0; i+1 < len(offsets); i++ {
		a, b := offsets[i], offsets[i+1]
		for k := 0; k < d; k++ {
			var m float64
			for _, id := range ids[a:b] {
				m += float64(w[int(id)*d+k])
			}
			if b > a {
				m /= float64(b - a)
			}
			s += m * float64(proj[i*d+k])
		}
	}
	return s
}

func TestEmbeddingBagGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const num, d = 11, 5
	e := NewEmbeddingBag(num, d, r)
	// Repeated ids inside one bag (3 three times in bag 0, 7 twice in bag
	// 2), an id shared by two bags (3), and an empty bag (1).
	ids := []int32{3, 3, 0, 3, 7, 2, 7, 3}
	offsets := []int32{0, 4, 4, 8}
	y := e.Forward(ids, offsets)
	proj := make([]float32, len(y.Data))
	for i := range proj {
		proj[i] = float32(r.NormFloat64())
	}
	if got, want := float64(0), bagLoss(e.W.W, d, ids, offsets, proj); true {
		for i, v := range y.Data {
			got += float64(v) * float64(proj[i])
		}
		if math.Abs(got-want) > 1e-5 {
			t.Fatalf("forward: Σ y·proj = %v, plain loop %v", got, want)
		}
	}
	if e.Backward(&Tensor{Shape: y.Shape, Data: proj}) != nil {
		t.Error("Backward returned an input gradient; ids have none")
	}
	touched := slices.Sorted(slices.Values(e.W.Touched))
	if !slices.Equal(touched, []int32{0, 2, 3, 7}) {
		t.Errorf("Touched = %v, want rows 0, 2, 3, 7 once each", touched)
	}
	const h = 1e-2
	for i := range e.W.W {
		w0 := e.W.W[i]
		e.W.W[i] = w0 + h
		up := bagLoss(e.W.W, d, ids, offsets, proj)
		e.W.W[i] = w0 - h
		dn := bagLoss(e.W.W, d, ids, offsets, proj)
		e.W.W[i] = w0
		num := (up - dn) / (2 * h)
		if math.Abs(num-float64(e.W.G[i])) > 1e-3 {
			t.Errorf("dW[%d][%d] = %v, numeric %v", i/d, i%d, e.W.G[i], num)
		}
	}
	// A second Backward before ZeroGrad accumulates without listing a row twice.
	e.Forward([]int32{3, 9}, []int32{0, 2})
	e.Backward(&Tensor{Shape: []int{1, d}, Data: proj[:d]})
	touched = slices.Sorted(slices.Values(e.W.Touched))
	if !slices.Equal(touched, []int32{0, 2, 3, 7, 9}) {
		t.Errorf("after a second Backward, Touched = %v, want 0, 2, 3, 7, 9", touched)
	}
	opt := NewSGD(e.Params(), 0, 0, false)
	opt.ZeroGrad()
	if len(e.W.Touched) != 0 || slices.ContainsFunc(e.W.G, func(v float32) bool { return v != 0 }) {
		t.Errorf("ZeroGrad left Touched %v or a non-zero gradient", e.W.Touched)
	}
}

// TestEmbeddingBagParallelMatchesSerial runs a batch large enough for the
// column split and compares against the plain loop's gradient.
func TestEmbeddingBagParallelMatchesSerial(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const num, d, bags = 300, 64, 200
	e := NewEmbeddingBag(num, d, r)
	var ids, offsets []int32
	offsets = append(offsets, 0)
	for range bags {
		for range 5 + r.IntN(40) {
			ids = append(ids, int32(r.IntN(num)))
		}
		offsets = append(offsets, int32(len(ids)))
	}
	y := e.Forward(ids, offsets)
	dy := randTensor(r, bags, d)
	e.Backward(dy)
	want := make([]float64, num*d)
	for i := 0; i < bags; i++ {
		a, b := offsets[i], offsets[i+1]
		for _, id := range ids[a:b] {
			for k := 0; k < d; k++ {
				want[int(id)*d+k] += float64(dy.Data[i*d+k]) / float64(b-a)
			}
		}
	}
	for i, w := range want {
		if math.Abs(w-float64(e.W.G[i])) > 1e-4 {
			t.Fatalf("dW[%d][%d] = %v, want %v", i/d, i%d, e.W.G[i], w)
		}
	}
	_ = y
}

// TestSparseOptimizers checks that a step over a Sparse parameter changes
// only the touched rows and, on them, equals the dense step.
func TestSparseOptimizers(t *testing.T) {
	for _, kind := range []string{"sgd", "sgd-nesterov", "adamw"} {
		r := rand.New(rand.NewPCG(1, 3))
		const rows, d = 6, 4
		dense := &Param{Name: "w", Shape: []int{rows, d}, W: make([]float32, rows*d), G: make([]float32, rows*d)}
		for i := range dense.W {
			dense.W[i] = float32(r.NormFloat64())
		}
		sparse := &Param{Name: "w", Shape: []int{rows, d}, W: slices.Clone(dense.W), G: make([]float32, rows*d), Sparse: true}
		mk := func(p *Param) Optimizer {
			switch kind {
			case "sgd":
				return NewSGD([]*Param{p}, 0.9, 0.01, false)
			case "sgd-nesterov":
				return NewSGD([]*Param{p}, 0.9, 0.01, true)
			}
			return NewAdamW([]*Param{p}, 0.01)
		}
		od, os := mk(dense), mk(sparse)
		for step := 0; step < 3; step++ {
			od.ZeroGrad()
			os.ZeroGrad()
			// Every step touches rows 1 and 4: on them the two agree.
			for _, row := range []int32{4, 1} {
				for k := 0; k < d; k++ {
					g := float32(r.NormFloat64())
					dense.G[int(row)*d+k] = g
					sparse.G[int(row)*d+k] = g
				}
				sparse.Touched = append(sparse.Touched, row)
			}
			before := slices.Clone(sparse.W)
			od.Step(0.1)
			os.Step(0.1)
			for i := range sparse.W {
				row := i / d
				if row == 1 || row == 4 {
					if math.Abs(float64(sparse.W[i]-dense.W[i])) > 1e-6 {
						t.Errorf("%s step %d: touched w[%d] = %v, dense %v", kind, step, i, sparse.W[i], dense.W[i])
					}
				} else if sparse.W[i] != before[i] {
					t.Errorf("%s step %d: untouched w[%d] moved", kind, step, i)
				}
			}
		}
	}
}
