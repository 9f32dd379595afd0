package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomrl/mrl/matryoshka"
)

// Adaptive classification runs the nested heads as a cascade: an example is
// classified by the smallest dim first and answered there when the head is
// confident, else passed to the next dim. It is the paper's "MRL-AC".
//
// The implementation follows the official notebook (Cascade Performance
// Paper.ipynb) with these documented differences:
//
//   - The stopping rule is conf ≥ t; the notebook uses conf > t. Thresholds
//     above 1 (such as +Inf) never stop.
//   - The held-out split is the caller's (see [HeldOutSplit]); the notebook
//     draws 10,000 of ImageNet's 50,000 validation images per seed.
//   - Besides the cascades truncated at each dim ([Confidences.Curve]), a
//     global threshold sweep ([Confidences.Sweep]) and its Pareto front
//     ([ParetoFront]) give the accuracy-vs-expected-dim curve at finer
//     resolution.

// Confidences are, per nesting dim, each example's maximum softmax
// probability and arg-max class: Conf[g][i] and Pred[g][i] for dim Dims[g].
type Confidences struct {
	Dims []int
	N    int
	Conf [][]float32
	Pred [][]int32
}

// NewConfidences computes the softmax of each dim's [n][classes] logits
// (model.Model.LogitsAll's output, in the head's nesting order) and keeps
// the maximum probability and its class.
func NewConfidences(logits [][]float32, n, classes int, dims []int) (*Confidences, error) {
	if len(logits) != len(dims) || len(dims) == 0 {
		return nil, fmt.Errorf("eval: confidences: %d logit sets for %d dims", len(logits), len(dims))
	}
	c := &Confidences{Dims: slices.Clone(dims), N: n, Conf: make([][]float32, len(dims)), Pred: make([][]int32, len(dims))}
	p := make([]float32, classes)
	for g, l := range logits {
		if len(l) < n*classes {
			return nil, fmt.Errorf("eval: confidences: dim %d has %d logits, want %d×%d", dims[g], len(l), n, classes)
		}
		c.Conf[g], c.Pred[g] = make([]float32, n), make([]int32, n)
		for i := 0; i < n; i++ {
			mx, arg := matryoshka.Softmax(p, l[i*classes:(i+1)*classes])
			c.Conf[g][i], c.Pred[g][i] = mx, int32(arg)
		}
	}
	return c, nil
}

// Subset returns the confidences of the examples idx, in that order.
func (c *Confidences) Subset(idx []int) *Confidences {
	s := &Confidences{Dims: c.Dims, N: len(idx), Conf: make([][]float32, len(c.Dims)), Pred: make([][]int32, len(c.Dims))}
	for g := range c.Dims {
		s.Conf[g], s.Pred[g] = make([]float32, len(idx)), make([]int32, len(idx))
		for j, i := range idx {
			s.Conf[g][j], s.Pred[g][j] = c.Conf[g][i], c.Pred[g][i]
		}
	}
	return s
}

// HeldOutSplit shuffles 0..n-1 with a PCG generator seeded by seed and
// returns round(frac·n) indices to fit thresholds on and the rest to
// evaluate on, each sorted.
func HeldOutSplit(n int, frac float64, seed uint64) (fit, test []int) {
	r := rand.New(rand.NewPCG(seed, 0x63617363)) // "casc"
	perm := r.Perm(n)
	k := min(max(int(frac*float64(n)+0.5), 0), n)
	fit, test = perm[:k], perm[k:]
	slices.Sort(fit)
	slices.Sort(test)
	return fit, test
}

// CascadeResult is the outcome of a cascade on a set of examples.
type CascadeResult struct {
	Thresholds []float64 `json:"thresholds"` // one per dim but the last used
	Accuracy   float64   `json:"accuracy"`
	// ExpectedDim is the mean over examples of the dim that answered,
	// Σ_g Dims[g]·Exits[g] / N: the mean size of the embedding prefix the
	// cascade read (the heads' cost grows with it).
	ExpectedDim float64 `json:"expected_dim"`
	Exits       []int   `json:"exits"` // examples answered at each dim
}

// Cascade runs the cascade over Dims[0..len(thresholds)]: example i is
// answered by the first dim g with Conf[g][i] ≥ thresholds[g], and by
// Dims[len(thresholds)] when none is confident enough (the last dim always
// answers). With thresholds of length len(Dims)-1 it is the full cascade;
// shorter, a cascade truncated at a smaller dim. Labels are the true classes.
func (c *Confidences) Cascade(labels []int32, thresholds []float64) CascadeResult {
	if len(thresholds) >= len(c.Dims) {
		panic("eval: Cascade needs fewer thresholds than dims")
	}
	last := len(thresholds)
	res := CascadeResult{Thresholds: slices.Clone(thresholds), Exits: make([]int, last+1)}
	if c.N == 0 {
		return res
	}
	correct, dimSum := 0, 0
	for i := 0; i < c.N; i++ {
		g := matryoshka.CascadeExit(thresholds, func(g int) float32 { return c.Conf[g][i] })
		res.Exits[g]++
		dimSum += c.Dims[g]
		if c.Pred[g][i] == labels[i] {
			correct++
		}
	}
	res.Accuracy = float64(correct) / float64(c.N)
	res.ExpectedDim = float64(dimSum) / float64(c.N)
	return res
}

// ThresholdGrid returns n evenly spaced thresholds from lo to hi inclusive
// (numpy's linspace). The official notebook searches ThresholdGrid(0.1, 1,
// 100).
func ThresholdGrid(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{lo}
	}
	g := make([]float64, n)
	for i := range g {
		g[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return g
}

// FitThresholds fits one threshold per dim but the last, greedily and
// pairwise as the official notebook does: for each g, the threshold of
// Dims[g] is the smallest t of grid that maximises the accuracy on these
// examples of the two-dim cascade "answer at Dims[g] if Conf[g] ≥ t, else
// at Dims[g+1]". Each threshold is fitted independently of the others and
// of the cost; it is not the threshold set maximising the full cascade's
// accuracy. Fit on a held-out split, evaluate on another.
func (c *Confidences) FitThresholds(labels []int32, grid []float64) []float64 {
	th := make([]float64, len(c.Dims)-1)
	for g := range th {
		best, bestAcc := grid[0], -1
		for _, t := range grid {
			acc := 0
			for i := 0; i < c.N; i++ {
				p := c.Pred[g+1][i]
				if float64(c.Conf[g][i]) >= t {
					p = c.Pred[g][i]
				}
				if p == labels[i] {
					acc++
				}
			}
			if acc > bestAcc || (acc == bestAcc && t < best) {
				best, bestAcc = t, acc
			}
		}
		th[g] = best
	}
	return th
}

// CurvePoint is one point of an accuracy-vs-expected-dim curve.
type CurvePoint struct {
	Threshold   float64 `json:"threshold,omitempty"` // the global threshold of a Sweep point
	MaxDim      int     `json:"max_dim,omitempty"`   // the last dim of a Curve point's cascade
	Accuracy    float64 `json:"accuracy"`
	ExpectedDim float64 `json:"expected_dim"`
}

// Curve returns, for each dim Dims[L], the accuracy and expected dim of the
// cascade truncated there: Dims[0..L] with thresholds[:L]. The first point
// is the smallest head alone; the last is the full cascade.
func (c *Confidences) Curve(labels []int32, thresholds []float64) []CurvePoint {
	out := make([]CurvePoint, 0, len(thresholds)+1)
	for l := 0; l <= len(thresholds); l++ {
		r := c.Cascade(labels, thresholds[:l])
		out = append(out, CurvePoint{MaxDim: c.Dims[l], Accuracy: r.Accuracy, ExpectedDim: r.ExpectedDim})
	}
	return out
}

// Sweep returns the full cascade's accuracy and expected dim with every
// dim's threshold set to t, for each t of grid, in grid order.
func (c *Confidences) Sweep(labels []int32, grid []float64) []CurvePoint {
	out := make([]CurvePoint, len(grid))
	th := make([]float64, len(c.Dims)-1)
	for j, t := range grid {
		for g := range th {
			th[g] = t
		}
		r := c.Cascade(labels, th)
		out[j] = CurvePoint{Threshold: t, Accuracy: r.Accuracy, ExpectedDim: r.ExpectedDim}
	}
	return out
}

// ParetoFront returns the points not dominated by another (no other point
// has an expected dim ≤ and an accuracy ≥, one of them strictly), sorted
// by expected dim: the best accuracy reachable within each budget.
func ParetoFront(pts []CurvePoint) []CurvePoint {
	s := slices.Clone(pts)
	slices.SortStableFunc(s, func(a, b CurvePoint) int {
		if a.ExpectedDim != b.ExpectedDim {
			if a.ExpectedDim < b.ExpectedDim {
				return -1
			}
			return 1
		}
		if a.Accuracy > b.Accuracy {
			return -1
		}
		if a.Accuracy < b.Accuracy {
			return 1
		}
		return 0
	})
	var out []CurvePoint
	for _, p := range s {
		if len(out) == 0 || p.Accuracy > out[len(out)-1].Accuracy {
			out = append(out, p)
		}
	}
	return out
}

// OracleResult is the oracle upper bound of a cascade.
type OracleResult struct {
	// Accuracy is the fraction of examples that some dim classifies
	// correctly.
	Accuracy float64 `json:"accuracy"`
	// ExpectedDim is the mean, over those examples, of the smallest dim
	// that is right, and 0 when no example is right.
	ExpectedDim float64 `json:"expected_dim"`
	// ExpectedDimAll also counts the examples no dim gets right, at the
	// largest dim (where a cascade would have ended).
	ExpectedDimAll float64 `json:"expected_dim_all"`
}

// Oracle returns the oracle bound: each example is answered by the smallest
// dim whose prediction is right, if any.
func (c *Confidences) Oracle(labels []int32) OracleResult {
	var res OracleResult
	if c.N == 0 {
		return res
	}
	right, sum, sumAll := 0, 0, 0
	for i := 0; i < c.N; i++ {
		g := 0
		for g < len(c.Dims) && c.Pred[g][i] != labels[i] {
			g++
		}
		if g < len(c.Dims) {
			right++
			sum += c.Dims[g]
			sumAll += c.Dims[g]
		} else {
			sumAll += c.Dims[len(c.Dims)-1]
		}
	}
	res.Accuracy = float64(right) / float64(c.N)
	if right > 0 {
		res.ExpectedDim = float64(sum) / float64(right)
	}
	res.ExpectedDimAll = float64(sumAll) / float64(c.N)
	return res
}
