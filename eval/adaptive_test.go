package eval

import (
	"math"
	"testing"
)

// twoClass returns the logits (ln(p/(1-p)), 0) or (0, ln(p/(1-p))) whose
// softmax gives probability p to class cls.
func twoClass(cls int, p float64) []float32 {
	a := float32(math.Log(p / (1 - p)))
	if cls == 0 {
		return []float32{a, 0}
	}
	return []float32{0, a}
}

func cat(xs ...[]float32) []float32 {
	var out []float32
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

// handConfidences is a two-dim cascade (8, 16) over four examples:
//
//	example  label  dim 8: conf, pred  dim 16: pred
//	e0       0      0.90, 0 (right)    0 (right)
//	e1       1      0.75, 0 (wrong)    1 (right)
//	e2       1      0.60, 1 (right)    0 (wrong)
//	e3       0      0.80, 0 (right)    1 (wrong)
func handConfidences(t *testing.T) (*Confidences, []int32) {
	t.Helper()
	l8 := cat(twoClass(0, 0.9), twoClass(0, 0.75), twoClass(1, 0.6), twoClass(0, 0.8))
	l16 := cat(twoClass(0, 0.7), twoClass(1, 0.7), twoClass(0, 0.7), twoClass(1, 0.7))
	c, err := NewConfidences([][]float32{l8, l16}, 4, 2, []int{8, 16})
	if err != nil {
		t.Fatal(err)
	}
	return c, []int32{0, 1, 1, 0}
}

func TestCascadeHandWorked(t *testing.T) {
	c, y := handConfidences(t)
	if math.Abs(float64(c.Conf[0][1])-0.75) > 1e-6 || c.Pred[0][2] != 1 {
		t.Fatalf("NewConfidences: conf %v pred %v, want e1 at 0.75 and e2 predicted 1", c.Conf[0], c.Pred[0])
	}
	for _, tc := range []struct {
		t        float64
		acc, dim float64
		exits    []int
	}{
		{0.5, 3.0 / 4, 8, []int{4, 0}},                   // all answer at 8: e0, e2, e3 right
		{0.7, 2.0 / 4, (3*8 + 16) / 4.0, []int{3, 1}},    // e2 goes on and is wrong at 16
		{0.78, 3.0 / 4, (2*8 + 2*16) / 4.0, []int{2, 2}}, // e1 right at 16, e2 wrong
		{0.85, 2.0 / 4, (8 + 3*16) / 4.0, []int{1, 3}},
		{0.95, 2.0 / 4, 16, []int{0, 4}}, // dim 16 alone: e0, e1 right
		{math.Inf(1), 2.0 / 4, 16, []int{0, 4}},
	} {
		r := c.Cascade(y, []float64{tc.t})
		if !near(r.Accuracy, tc.acc) || !near(r.ExpectedDim, tc.dim) || r.Exits[0] != tc.exits[0] || r.Exits[1] != tc.exits[1] {
			t.Errorf("Cascade(t=%v) = %+v, want accuracy %v, expected dim %v, exits %v", tc.t, r, tc.acc, tc.dim, tc.exits)
		}
	}
	// Fitting: 3/4 is reached at 0.5 and 0.78; the smallest wins.
	grid := []float64{0.5, 0.7, 0.78, 0.85, 0.95}
	if got := c.FitThresholds(y, grid); len(got) != 1 || got[0] != 0.5 {
		t.Errorf("FitThresholds(%v) = %v, want [0.5]", grid, got)
	}
	if got := c.FitThresholds(y, grid[1:]); got[0] != 0.78 {
		t.Errorf("FitThresholds(%v) = %v, want [0.78]", grid[1:], got)
	}
	curve := c.Curve(y, []float64{0.78})
	wantCurve := []CurvePoint{{MaxDim: 8, Accuracy: 0.75, ExpectedDim: 8}, {MaxDim: 16, Accuracy: 0.75, ExpectedDim: 12}}
	for i := range wantCurve {
		if curve[i] != wantCurve[i] {
			t.Errorf("Curve[%d] = %+v, want %+v", i, curve[i], wantCurve[i])
		}
	}
	sweep := c.Sweep(y, grid)
	front := ParetoFront(sweep)
	if len(sweep) != len(grid) || sweep[3].Accuracy != 0.5 || len(front) != 1 || front[0].Threshold != 0.5 {
		t.Errorf("Sweep = %+v, ParetoFront = %+v, want 5 points and a front of the single point t=0.5", sweep, front)
	}
	if r := c.Subset([]int{1, 2}).Cascade([]int32{1, 1}, []float64{0.5}); r.Accuracy != 0.5 || r.ExpectedDim != 8 {
		t.Errorf("Subset(e1, e2).Cascade(t=0.5) = %+v, want accuracy 0.5 at dim 8", r)
	}
	o := c.Oracle(y)
	// Every example is right somewhere: e0, e2, e3 at 8, e1 at 16.
	if want := (OracleResult{Accuracy: 1, ExpectedDim: 10, ExpectedDimAll: 10}); o != want {
		t.Errorf("Oracle = %+v, want %+v", o, want)
	}
}

func TestOracleNobodyRight(t *testing.T) {
	c := &Confidences{Dims: []int{8, 16, 32}, N: 2,
		Conf: [][]float32{{1, 1}, {1, 1}, {1, 1}},
		Pred: [][]int32{{1, 0}, {1, 1}, {1, 0}}}
	// Example 0 (label 0) is never right; example 1 (label 1) is right first at 16.
	got := c.Oracle([]int32{0, 1})
	want := OracleResult{Accuracy: 0.5, ExpectedDim: 16, ExpectedDimAll: 24}
	if got != want {
		t.Errorf("Oracle = %+v, want %+v", got, want)
	}
	if got := c.Oracle([]int32{2, 2}); got != (OracleResult{ExpectedDimAll: 32}) {
		t.Errorf("Oracle(no right) = %+v, want accuracy 0 and expected dim 0", got)
	}
}

func TestParetoFront(t *testing.T) {
	pts := []CurvePoint{{ExpectedDim: 16, Accuracy: 0.8}, {ExpectedDim: 8, Accuracy: 0.7}, {ExpectedDim: 12, Accuracy: 0.65}, {ExpectedDim: 16, Accuracy: 0.9}, {ExpectedDim: 32, Accuracy: 0.9}}
	got := ParetoFront(pts)
	want := []CurvePoint{{ExpectedDim: 8, Accuracy: 0.7}, {ExpectedDim: 16, Accuracy: 0.9}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParetoFront(%v) = %v, want %v", pts, got, want)
	}
}

func TestThresholdGridAndSplit(t *testing.T) {
	g := ThresholdGrid(0.1, 1, 100)
	if len(g) != 100 || g[0] != 0.1 || !near(g[99], 1) || !near(g[1], 0.1+0.9/99) {
		t.Errorf("ThresholdGrid(0.1, 1, 100) = [%v %v ... %v], want linspace", g[0], g[1], g[99])
	}
	fit, test := HeldOutSplit(10, 0.3, 7)
	fit2, _ := HeldOutSplit(10, 0.3, 7)
	seen := map[int]bool{}
	for _, i := range append(append([]int(nil), fit...), test...) {
		seen[i] = true
	}
	if len(fit) != 3 || len(test) != 7 || len(seen) != 10 || fit[0] != fit2[0] || fit[2] != fit2[2] {
		t.Errorf("HeldOutSplit(10, 0.3, 7) = %v, %v, want a seeded 3/7 partition of 0..9", fit, test)
	}
}
