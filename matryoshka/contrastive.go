package matryoshka

import (
	"errors"
	"fmt"
	"math"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

// DefaultTemperature is τ = 0.05, sentence-transformers'
// MultipleNegativesRankingLoss default (its scale 20 = 1/τ).
const DefaultTemperature = 0.05

// ContrastiveOptions configures a Contrastive loss. The zero value of a
// field means its default, given next to it.
type ContrastiveOptions struct {
	Nesting mrl.Nesting // the prefix dims m_g with a loss term; required
	Embed   int         // D, the embedding size; default Nesting.Max()
	// Weights are the c_g of the total Σ_g c_g·loss_g, one per dim of
	// Nesting; nil means all 1.
	Weights []float64
	// Temperature is τ (its initial value when learned); DefaultTemperature.
	Temperature float64
	// Learn makes the logit scale s = 1/τ a trainable parameter, stored as
	// its logarithm (Contrastive.LogScale, as CLIP's logit_scale).
	Learn bool
	// Symmetric averages the anchor→positive and positive→anchor
	// cross-entropies; false is the one direction of
	// MultipleNegativesRankingLoss.
	Symmetric bool
	// MaxScale caps a learned s = 1/τ (CLIP clamps at 100); default 100.
	MaxScale float64
}

// WithDefaults fills unset fields.
func (o ContrastiveOptions) WithDefaults() ContrastiveOptions {
	if o.Embed == 0 && len(o.Nesting) > 0 {
		o.Embed = o.Nesting.Max()
	}
	if o.Temperature == 0 {
		o.Temperature = DefaultTemperature
	}
	if o.MaxScale == 0 {
		o.MaxScale = 100
	}
	return o
}

// Validate reports every problem at once.
func (o ContrastiveOptions) Validate() error {
	var errs []error
	if len(o.Nesting) == 0 {
		errs = append(errs, errors.New("nesting: empty"))
	} else if err := o.Nesting.Validate(o.Embed); err != nil {
		errs = append(errs, err)
	}
	if !(o.Temperature > 0) || math.IsInf(o.Temperature, 0) {
		errs = append(errs, fmt.Errorf("temperature %v: must be positive and finite", o.Temperature))
	}
	if !(o.MaxScale > 0) || (o.Temperature > 0 && 1/o.Temperature > o.MaxScale) {
		errs = append(errs, fmt.Errorf("max scale %v: must be positive and at least 1/temperature = %v", o.MaxScale, 1/o.Temperature))
	}
	if o.Weights != nil && len(o.Weights) != len(o.Nesting) {
		errs = append(errs, fmt.Errorf("weights: %d given for %d nesting dims", len(o.Weights), len(o.Nesting)))
	}
	for i, w := range o.Weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			errs = append(errs, fmt.Errorf("weight %d = %v: want finite and >= 0", i, w))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("matryoshka: invalid contrastive options: %w", errors.Join(errs...))
	}
	return nil
}

// Contrastive is the contrastive Matryoshka loss: InfoNCE over in-batch
// negatives at every prefix dim of a nesting, summed with weights. For a
// batch of n pairs (a_i, p_i) of D-dim embeddings and each dim m_g:
//
//	â_i = a_i[:m]/‖a_i[:m]‖,  p̂_j = p_j[:m]/‖p_j[:m]‖   (‖·‖ floored at 1e-12)
//	L_ij = s·â_i·p̂_j,   s = 1/τ
//	loss_g = (1/n)·Σ_i CE(L_i·, i)                        (anchor→positive)
//	loss_g = ½[(1/n)·Σ_i CE(L_i·, i) + (1/n)·Σ_j CE(L_·j, j)]   (Symmetric)
//	total  = Σ_g c_g·loss_g
//
// The n×n similarities of each prefix are one GEMM (internal/kernel).
//
// Against sentence-transformers' MatryoshkaLoss(model,
// MultipleNegativesRankingLoss(model), matryoshka_dims) it is the same
// function when Symmetric is false and τ is fixed at 0.05: MNRL takes
// cos_sim(anchors, candidates)·scale (scale 20) and the mean cross-entropy
// with the diagonal as the target; MatryoshkaLoss truncates the embeddings
// to each dim, re-normalises them, and returns Σ weight·loss over the dims
// (weights default 1; a sum, not a mean). The differences:
//   - no hard negatives: a batch is pairs only (MNRL also accepts (anchor,
//     positive, negative...) tuples and appends the negatives as extra
//     columns);
//   - Symmetric is MultipleNegativesSymmetricRankingLoss's average of the two
//     directions (MNRL itself is one-directional);
//   - a learned τ (Learn) is CLIP's log-scale parameter, which MNRL does not
//     have (its scale is a constant), clamped at MaxScale;
//   - every dim contributes every step: MatryoshkaLoss's n_dims_per_step
//     (default -1, all dims) is fixed at "all";
//   - duplicate texts in a batch are negatives of each other, as in MNRL
//     (no de-duplication, unlike the NoDuplicatesBatchSampler one can pair
//     MNRL with).
//
// Forward keeps what Backward needs; both reuse the buffers of earlier
// calls, so a training loop allocates nothing per step once the batch size
// is steady.
type Contrastive struct {
	Options ContrastiveOptions
	// LogScale holds log s = log(1/τ), one scalar: trainable when
	// Options.Learn (add it to the optimizer's parameters), fixed at
	// log(1/Temperature) otherwise (and then not listed by Params).
	LogScale *nn.Param

	n, d  int
	scale float32
	dims  []prefixState
	res   ContrastiveLoss
	du    []float32 // Backward's scratch
	col   []float64 // infoNCE's scratch
}

// prefixState is what Backward needs of one prefix dim.
type prefixState struct {
	an, pn []float32 // normalised prefixes, [n][m]
	ia, ip []float32 // 1/‖prefix‖ per row
	sim    []float32 // cosine similarities, [n][n]
	g      []float32 // dloss_g/dlogits (unweighted), [n][n]
}

// ContrastiveLoss is the result of Contrastive.Forward.
type ContrastiveLoss struct {
	Total  float64   // Σ_g c_g·loss_g
	PerDim []float64 // loss_g
	// Correct counts, per dim, the anchors whose most similar positive is
	// their own (in-batch top-1 retrieval).
	Correct []int
}

// NewContrastive returns the loss for opts (after WithDefaults).
func NewContrastive(opts ContrastiveOptions) (*Contrastive, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.Nesting = append(mrl.Nesting(nil), opts.Nesting...)
	c := &Contrastive{Options: opts, LogScale: &nn.Param{Name: "log_scale", Shape: []int{1},
		W: []float32{float32(math.Log(1 / opts.Temperature))}, G: make([]float32, 1), NoDecay: true}}
	c.dims = make([]prefixState, len(opts.Nesting))
	return c, nil
}

// Params returns LogScale when τ is learned, else nothing.
func (c *Contrastive) Params() []*nn.Param {
	if c.Options.Learn {
		return []*nn.Param{c.LogScale}
	}
	return nil
}

// Scale returns the current logit scale s = 1/τ (capped at MaxScale).
func (c *Contrastive) Scale() float64 {
	return math.Min(math.Exp(float64(c.LogScale.W[0])), c.Options.MaxScale)
}

// Temperature returns the current τ = 1/Scale().
func (c *Contrastive) Temperature() float64 { return 1 / c.Scale() }

// ForwardTensors is Forward on two [n, Embed] tensors.
func (c *Contrastive) ForwardTensors(a, p *nn.Tensor) ContrastiveLoss {
	if a.N() != p.N() || a.RowLen() != p.RowLen() {
		panic("matryoshka: contrastive batches differ in shape")
	}
	return c.Forward(a.Data, a.RowLen(), p.Data, p.RowLen(), a.N())
}

// Forward computes the loss of n pairs: anchor i is row i of a (stride
// lda), its positive row i of p (stride ldp); rows hold at least Embed
// values. Forward keeps normalised copies of the prefixes, so a and p may
// change before Backward. The result's slices are owned by c until the next
// Forward.
func (c *Contrastive) Forward(a []float32, lda int, p []float32, ldp int, n int) ContrastiveLoss {
	d := c.Options.Embed
	if n < 1 {
		panic("matryoshka: contrastive loss of an empty batch")
	}
	if lda < d || ldp < d || len(a) < (n-1)*lda+d || len(p) < (n-1)*ldp+d {
		panic("matryoshka: contrastive inputs too short or bad stride")
	}
	c.n, c.d = n, d
	s := c.Scale()
	c.scale = float32(s)
	res := &c.res
	g := len(c.Options.Nesting)
	if len(res.PerDim) != g {
		res.PerDim, res.Correct = make([]float64, g), make([]int, g)
	}
	res.Total = 0
	for k, m := range c.Options.Nesting {
		st := &c.dims[k]
		st.an = normalizePrefix(st.an[:0], &st.ia, a, lda, n, m)
		st.pn = normalizePrefix(st.pn[:0], &st.ip, p, ldp, n, m)
		st.sim = grow(st.sim, n*n)
		kernel.Sgemm(false, true, n, n, m, 1, st.an, m, st.pn, m, 0, st.sim, n)
		st.g = grow(st.g, n*n)
		c.col = growf64(c.col, n)
		loss, correct := infoNCE(st.g, st.sim, c.col, n, s, c.Options.Symmetric)
		res.PerDim[k], res.Correct[k] = loss, correct
		res.Total += c.weight(k) * loss
	}
	return *res
}

func (c *Contrastive) weight(k int) float64 {
	if c.Options.Weights == nil {
		return 1
	}
	return c.Options.Weights[k]
}

// Backward writes dTotal/da into da and dTotal/dp into dp (same shapes and
// strides as Forward's a and p; overwritten, not added to: columns past
// the largest nesting dim get 0) for the last Forward, and, when τ is
// learned, adds dTotal/dLogScale to LogScale.G.
func (c *Contrastive) Backward(da []float32, lda int, dp []float32, ldp int) {
	n, d := c.n, c.d
	if lda < d || ldp < d || len(da) < (n-1)*lda+d || len(dp) < (n-1)*ldp+d {
		panic("matryoshka: contrastive gradients too short or bad stride")
	}
	for i := 0; i < n; i++ {
		clear(da[i*lda : i*lda+d])
		clear(dp[i*ldp : i*ldp+d])
	}
	s := c.scale
	capped := math.Exp(float64(c.LogScale.W[0])) > c.Options.MaxScale
	var dlog float64
	for k, m := range c.Options.Nesting {
		st := &c.dims[k]
		w := float32(c.weight(k))
		if w == 0 {
			continue
		}
		// dloss/dsim = s·G; dloss/dlog s = s·Σ G∘sim (d s/d log s = s).
		if c.Options.Learn && !capped {
			var t float64
			for i, gv := range st.g[:n*n] {
				t += float64(gv) * float64(st.sim[i])
			}
			dlog += float64(w) * float64(s) * t
		}
		c.du = grow(c.du, n*m)
		du := c.du
		// dâ = w·s·G·p̂, then through the normalisation into da[:, :m].
		kernel.Sgemm(false, false, n, m, n, w*s, st.g, n, st.pn, m, 0, du, m)
		normBackward(da, lda, du, st.an, st.ia, n, m)
		// dp̂ = w·s·Gᵀ·â.
		kernel.Sgemm(true, false, n, m, n, w*s, st.g, n, st.an, m, 0, du, m)
		normBackward(dp, ldp, du, st.pn, st.ip, n, m)
	}
	if c.Options.Learn {
		c.LogScale.G[0] += float32(dlog)
	}
}

// BackwardTensors is Backward into two tensors shaped as Forward's inputs.
func (c *Contrastive) BackwardTensors(da, dp *nn.Tensor) {
	c.Backward(da.Data, da.RowLen(), dp.Data, dp.RowLen())
}

// normFloor is the smallest norm divided by, as torch.nn.functional.normalize's eps.
const normFloor = 1e-12

// normalizePrefix appends the unit-length m-prefixes of n rows of x (stride
// ld) to dst and stores 1/‖prefix‖ per row in *inv.
func normalizePrefix(dst []float32, inv *[]float32, x []float32, ld, n, m int) []float32 {
	*inv = grow(*inv, n)
	for i := 0; i < n; i++ {
		row := x[i*ld : i*ld+m]
		nr := math.Sqrt(float64(kernel.Dot(row, row)))
		r := float32(1 / math.Max(nr, normFloor))
		(*inv)[i] = r
		start := len(dst)
		dst = append(dst, row...)
		kernel.Scal(r, dst[start:])
	}
	return dst
}

// normBackward adds, for u = x/‖x‖ with upstream du, dx = (du − u(u·du))/‖x‖
// into the m-prefixes of dx's rows.
func normBackward(dx []float32, ld int, du, u, inv []float32, n, m int) {
	for i := 0; i < n; i++ {
		ui, gi := u[i*m:(i+1)*m], du[i*m:(i+1)*m]
		dot := kernel.Dot(ui, gi)
		r := inv[i]
		out := dx[i*ld : i*ld+m]
		for j := range out {
			out[j] += r * (gi[j] - ui[j]*dot)
		}
	}
}

// infoNCE computes the mean cross-entropy of the n×n logits s·sim with the
// diagonal as target (rows; and columns, averaged, when symmetric), writes
// dloss/dlogits into g and returns the loss and the rows whose arg-max is
// the diagonal. col is scratch of n values.
func infoNCE(g, sim []float32, col []float64, n int, s float64, symmetric bool) (float64, int) {
	var loss float64
	correct := 0
	half := 1.0
	if symmetric {
		half = 0.5
	}
	inv := half / float64(n)
	// Rows: anchor i against every positive j. Each exponential is taken
	// once, kept in g, and scaled into the softmax.
	for i := 0; i < n; i++ {
		row, gr := sim[i*n:(i+1)*n], g[i*n:(i+1)*n]
		mx, arg := row[0], 0
		for j, v := range row {
			if v > mx {
				mx, arg = v, j
			}
		}
		if arg == i {
			correct++
		}
		var z float64
		for j, v := range row {
			e := math.Exp(s * float64(v-mx))
			gr[j] = float32(e)
			z += e
		}
		loss += half * (math.Log(z) - s*float64(row[i]-mx))
		k := float32(inv / z)
		for j := range gr {
			gr[j] *= k
		}
		gr[i] -= float32(inv)
	}
	if symmetric {
		// Columns: positive j against every anchor i, a column at a time
		// through a buffer of its exponentials.
		for j := 0; j < n; j++ {
			mx := sim[j]
			for i := 0; i < n; i++ {
				mx = max(mx, sim[i*n+j])
			}
			var z float64
			for i := range col {
				e := math.Exp(s * float64(sim[i*n+j]-mx))
				col[i] = e
				z += e
			}
			loss += half * (math.Log(z) - s*float64(sim[j*n+j]-mx))
			k := inv / z
			for i, e := range col {
				g[i*n+j] += float32(k * e)
			}
			g[j*n+j] -= float32(inv)
		}
	}
	return loss / float64(n), correct
}

func growf64(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
