// Package matryoshka implements the core of Matryoshka Representation
// Learning as the paper's official code defines it: nested classification
// heads over prefixes of one embedding, and the Matryoshka loss.
//
// For an embedding z of size D (a [N, D] batch) and a Nesting m_1 < ... < m_G:
//
//   - MRL: one Linear(m_g, C) per granularity, each with its own bias,
//     applied to z[:, :m_g] (official MRL_Linear_Layer);
//   - MRL-E: one shared weight W ([C][D]) and bias b, with
//     logits_g = z[:, :m_g]·W[:, :m_g]ᵀ + b, the full bias at every size
//     (official SingleHeadNestedLinear);
//   - FF-k: a single Linear(k, C) on z[:, :k] (official FixedFeatureLayer),
//     the fixed-feature baseline trained for one size only.
//
// The loss is Σ_g c_g·CE(logits_g, y) with c_g = 1 by default (official
// Matryoshka_CE_Loss: a weighted sum, not a mean, of the per-size mean
// cross-entropies).
//
// Without labels, Contrastive is the Matryoshka loss of pairs: InfoNCE over
// in-batch negatives on the re-normalised prefixes of two embedding
// batches, Σ_g c_g·loss_g (sentence-transformers' MatryoshkaLoss around
// MultipleNegativesRankingLoss; its doc lists the differences). It works on
// plain []float32 batches, independent of any encoder.
package matryoshka

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

// Kind selects the head type.
type Kind int

const (
	// MRL has one linear classifier per nesting dim.
	MRL Kind = iota
	// MRLE ties the classifiers into one weight matrix sliced by prefix.
	MRLE
	// FF is a single classifier on a fixed prefix size (the baseline).
	FF
)

// String returns "mrl", "mrl-e" or "ff".
func (k Kind) String() string {
	switch k {
	case MRL:
		return "mrl"
	case MRLE:
		return "mrl-e"
	case FF:
		return "ff"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind reads "mrl", "mrl-e" (or "mrle") or "ff".
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "mrl":
		return MRL, nil
	case "mrl-e", "mrle":
		return MRLE, nil
	case "ff":
		return FF, nil
	}
	return 0, fmt.Errorf("matryoshka: unknown head kind %q (want mrl, mrl-e or ff)", s)
}

// Head is a set of nested linear classifiers over one embedding.
type Head struct {
	Kind    Kind
	Nesting mrl.Nesting // the dims with a classifier; for FF, {k}
	Embed   int         // D, the embedding size
	Classes int
	// Weights are the relative importances c_g of the loss terms, one per
	// dim of Nesting; nil means all 1.
	Weights []float64
	W, B    []*nn.Param // MRL: one per dim; MRL-E and FF: one

	z      *nn.Tensor
	logits [][]float32 // per dim, [N][Classes]
	dl     [][]float32 // dLoss/dlogits per dim
	dz     nn.Tensor
}

// NewHead builds a head. For FF the nesting must have exactly one dim, k.
// Weights and biases start uniform in ±1/sqrt(fan_in), as nn.Linear.
func NewHead(kind Kind, nesting mrl.Nesting, embed, classes int, r *rand.Rand) (*Head, error) {
	if err := nesting.Validate(embed); err != nil {
		return nil, err
	}
	if classes < 2 {
		return nil, fmt.Errorf("matryoshka: need at least 2 classes, got %d", classes)
	}
	h := &Head{Kind: kind, Nesting: append(mrl.Nesting(nil), nesting...), Embed: embed, Classes: classes}
	lin := func(name string, in int) {
		l := nn.NewLinear(in, classes, true, r)
		l.W.Name, l.B.Name = name+".weight", name+".bias"
		h.W = append(h.W, l.W)
		h.B = append(h.B, l.B)
	}
	switch kind {
	case MRL:
		for i, m := range nesting {
			lin(fmt.Sprintf("nesting_classifier_%d", i), m)
		}
	case MRLE:
		lin("nesting_classifier_0", nesting.Max())
	case FF:
		if len(nesting) != 1 {
			return nil, fmt.Errorf("matryoshka: an FF head has one dim, got nesting %v", nesting)
		}
		lin("fixed_feature", nesting[0])
	default:
		return nil, fmt.Errorf("matryoshka: unknown head kind %d", kind)
	}
	return h, nil
}

// weight returns the classifier for nesting position g and its row stride.
func (h *Head) weight(g int) (w []float32, ld int, b []float32) {
	if h.Kind == MRLE {
		return h.W[0].W, h.W[0].Shape[1], h.B[0].W
	}
	return h.W[g].W, h.Nesting[g], h.B[g].W
}

// Forward computes the logits of every dim for z ([N, Embed] or any
// [N, ...] whose rows have Embed elements). The result, per dim [N][Classes]
// row-major, is owned by h until the next Forward.
//
// With kernel.Threads() > 1 and enough work (headGrain) the batch's rows
// are split among goroutines, each running every dim's product on its
// rows (kernel.SgemmSerial): the products are narrow (Classes columns), too
// small to split well one by one.
func (h *Head) Forward(z *nn.Tensor) [][]float32 {
	n, d, c := z.N(), h.Embed, h.Classes
	if z.RowLen() != d {
		panic("matryoshka: embedding width differs from the head's")
	}
	h.z = z
	if len(h.logits) != len(h.Nesting) {
		h.logits = make([][]float32, len(h.Nesting))
		h.dl = make([][]float32, len(h.Nesting))
	}
	for g := range h.Nesting {
		if cap(h.logits[g]) < n*c {
			h.logits[g] = make([]float32, n*c)
			h.dl[g] = make([]float32, n*c)
		}
		h.logits[g] = h.logits[g][:n*c]
	}
	h.split(n, func(_, _, lo, hi int) {
		for g, m := range h.Nesting {
			out := h.logits[g]
			w, ld, b := h.weight(g)
			kernel.SgemmSerial(false, true, hi-lo, c, m, 1, z.Data[lo*d:], d, w, ld, 0, out[lo*c:], c)
			for i := lo; i < hi; i++ {
				row := out[i*c : (i+1)*c]
				for j := range row {
					row[j] += b[j]
				}
			}
		}
	})
	return h.logits
}

// headGrain is the fewest multiply-adds of a head pass (N·Classes·Σm_g)
// per goroutine: smaller passes run on the calling goroutine. On the MLP
// of bench/train (N = 256, 10 classes, m = 8..2048: 10.5M) the head's
// products on one goroutine at 2 threads took ~10% of a step. A variable
// so that tests can split small heads.
var headGrain = 1 << 18

// split runs fn(t, w, lo, hi) for t < w on w goroutines (w = 1: the
// caller's), rows [lo, hi) of n being worker t's share: whole 12-row
// tiles of the AVX-512 SGEMM kernel but the last. w follows
// kernel.Threads() and headGrain.
func (h *Head) split(n int, fn func(t, w, lo, hi int)) {
	sum := 0
	for _, m := range h.Nesting {
		sum += m
	}
	w := min(kernel.Threads(), n*h.Classes*sum/headGrain, (n+11)/12)
	if w <= 1 {
		fn(0, 1, 0, n)
		return
	}
	per := ((n+w-1)/w + 11) / 12 * 12
	kernel.ParallelFor(w, 1, func(a, b int) {
		for t := a; t < b; t++ {
			fn(t, w, min(t*per, n), min((t+1)*per, n))
		}
	})
}

// Loss is the result of Head.Loss.
type Loss struct {
	Total   float64   // Σ_g c_g·CE_g
	PerDim  []float64 // CE_g, mean over the batch
	Correct []int     // rows whose arg-max is right, per dim
}

// Loss computes the Matryoshka loss of the last Forward against labels with
// label smoothing, and keeps dLoss/dlogits for Backward.
func (h *Head) Loss(labels []int32, smoothing float32) Loss {
	n, c := h.z.N(), h.Classes
	res := Loss{PerDim: make([]float64, len(h.Nesting)), Correct: make([]int, len(h.Nesting))}
	weight := func(g int) float64 {
		if h.Weights != nil {
			return h.Weights[g]
		}
		return 1
	}
	// Dims in parallel when each has enough logits to pay for a goroutine.
	grain := len(h.Nesting)
	if n*c >= lossGrain {
		grain = 1
	}
	kernel.ParallelFor(len(h.Nesting), grain, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			res.PerDim[g], res.Correct[g] = nn.SoftmaxCrossEntropy(h.logits[g], n, c, c, labels, smoothing, float32(weight(g)), h.dl[g][:n*c])
		}
	})
	for g, l := range res.PerDim {
		res.Total += weight(g) * l
	}
	return res
}

// lossGrain is the fewest logits (N·Classes) of one dim for Loss to take
// the dims on several goroutines (a variable for the tests).
var lossGrain = 1 << 10

// Backward adds the heads' parameter gradients and returns dLoss/dz for the
// last Forward and Loss.
//
// Split as Forward: worker t computes dz for its rows and, of every
// weight gradient, its share of the columns (for MRL-E, whose dims share
// one weight, its share of the embedding's columns, so that no two
// workers write one column), and the bias gradients of the dims g with
// g mod w = t (MRL-E: worker 0). Each element of a gradient still sums
// the dims in increasing g.
func (h *Head) Backward() *nn.Tensor {
	n, d, c := h.z.N(), h.Embed, h.Classes
	dz := &h.dz
	dz.Shape = append(dz.Shape[:0], h.z.Shape...)
	if cap(dz.Data) < n*d {
		dz.Data = make([]float32, n*d)
	}
	dz.Data = dz.Data[:n*d]
	h.split(n, func(t, nw, lo, hi int) {
		clear(dz.Data[lo*d : hi*d])
		for g, m := range h.Nesting {
			dl := h.dl[g][:n*c]
			w, ld, _ := h.weight(g)
			p, pb := h.W[0], h.B[0]
			if h.Kind != MRLE {
				p, pb = h.W[g], h.B[g]
			}
			// dz[:, :m] += dl·W[:, :m] on rows lo..hi
			kernel.SgemmSerial(false, false, hi-lo, m, c, 1, dl[lo*c:], c, w, ld, 1, dz.Data[lo*d:], d)
			// dW[:, c0:c1] += dlᵀ·z[:, c0:c1]
			span := m
			if h.Kind == MRLE {
				span = d
			}
			c0, c1 := colShare(span, t, nw), min(colShare(span, t+1, nw), m)
			if c0 < c1 {
				kernel.SgemmSerial(true, false, c, c1-c0, n, 1, dl, c, h.z.Data[c0:], d, 1, p.G[c0:], ld)
			}
			// db += Σ dl
			if (h.Kind == MRLE && t == 0) || (h.Kind != MRLE && g%nw == t) {
				for i := 0; i < n; i++ {
					for j, v := range dl[i*c : (i+1)*c] {
						pb.G[j] += v
					}
				}
			}
		}
	})
	return dz
}

// colShare is where worker t of w starts in span columns: whole 32-column
// panels of the AVX-512 SGEMM kernel, the last worker ending at span.
func colShare(span, t, w int) int {
	if t >= w {
		return span
	}
	return min(span, (span*t/w+31)/32*32)
}

// Params returns the classifiers' weights and biases.
func (h *Head) Params() []*nn.Param {
	ps := make([]*nn.Param, 0, 2*len(h.W))
	for i := range h.W {
		ps = append(ps, h.W[i], h.B[i])
	}
	return ps
}

// Predict returns the arg-max class of each row of the logits of dim
// position g from the last Forward.
func (h *Head) Predict(g int) []int32 {
	c := h.Classes
	l := h.logits[g]
	out := make([]int32, len(l)/c)
	for i := range out {
		out[i] = int32(argmax(l[i*c : (i+1)*c]))
	}
	return out
}

func argmax(x []float32) int {
	best := 0
	for j, v := range x {
		if v > x[best] {
			best = j
		}
	}
	return best
}

// Softmax writes the softmax of logits into p (same length) and returns the
// maximum probability and its index.
func Softmax(p, logits []float32) (float32, int) {
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var s float64
	for i, v := range logits {
		e := math.Exp(float64(v - mx))
		p[i] = float32(e)
		s += e
	}
	best := 0
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
		if p[i] > p[best] {
			best = i
		}
	}
	return p[best], best
}
