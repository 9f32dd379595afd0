package adapter

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/matryoshka"
	"github.com/gomrl/mrl/nn"
)

// ExtraLoss is a plug point for a further loss term on the adapted
// embeddings, such as a contrastive loss over (query, document) pairs.
// Each training step calls it with z, the batch's adapted embeddings
// ([B, Out], not to be modified), and rows, the row numbers in Train's x of
// the batch's rows; it adds its (weighted) gradient dL/dz into dz (same
// shape) and returns its loss value, which Train adds to the step's total.
type ExtraLoss func(z *nn.Tensor, rows []int, dz *nn.Tensor) float64

// Options configure Train. The zero value of a field means its default; a
// negative loss weight turns its term off.
type Options struct {
	// Out is the adapted dim D' (default: the input dim).
	Out int
	// Nesting is the list of prefix dims trained (default
	// mrl.DefaultNesting(Out): 8, 16, ..., Out).
	Nesting mrl.Nesting
	// Hidden is the width of the residual MLP g (default 0: none).
	Hidden int
	// ResidualDims, with Hidden > 0, is how many of the leading output
	// dims g writes (default 0: all Out): the rows of g's last layer past
	// it stay zero, so the prefixes past ResidualDims are R's alone, an
	// orthonormal map whose neighbourhoods g cannot bend. Without it a
	// residual MLP trained for the small prefixes costs the large ones:
	// see the README's adapter section for the figures.
	ResidualDims int
	// Epochs is the number of passes over the training rows as anchors
	// (default 10).
	Epochs int
	// Anchors is the number of anchor rows per step (default 64).
	Anchors int
	// K is the number of full-space nearest neighbours found per training
	// row (default 10), Sampled how many of them join each anchor in a
	// batch (default 3, at most K). A batch has Anchors·(1+Sampled) rows.
	K, Sampled int
	// Optimizer is "sgd" (the default: Nesterov momentum 0.9) or "adamw".
	// Adam normalises every gradient coordinate, so it turns the float32
	// noise of terms that are near their minimum (the full dim starts
	// exact) into steps of full size; SGD does not.
	Optimizer string
	// LR is the peak learning rate, reached after a linear warm-up over
	// the first 5% of the steps and followed by a half cosine to 0
	// (default 0.1 for sgd, 1e-3 for adamw).
	LR float64
	// PairWeight, TopKWeight and IsoWeight weigh the pairwise, top-k and
	// isometry terms (defaults 1, 1, 0.1).
	PairWeight, TopKWeight, IsoWeight float64
	// RankWeight weighs the listwise term (our addition; see the package
	// doc) and Temperature is its τ (defaults 1 and 0.05).
	RankWeight, Temperature float64
	// HardNegatives is how many rows sampled from each anchor's full-space
	// ranks K+1..HardRank join the batch (default 0: none; HardRank
	// default max(50, 2K)). The pairwise and listwise terms then see the rows just
	// past an anchor's top K, which a prefix most often swaps into it, and
	// the boundary term (BoundaryWeight, default 1 with hard negatives)
	// ranks the anchor's sampled top-K rows above them at every prefix,
	// with temperature BoundaryTemperature (default Temperature). See the
	// README's adapter section for what they brought.
	HardNegatives, HardRank             int
	BoundaryWeight, BoundaryTemperature float64
	// RecallWeight weighs the recall term (default 0: off; see the
	// package doc): each step's anchors rank all K of their full-space
	// neighbours above every other training row (RecallNegatives 0, the
	// default) or above RecallNegatives training rows drawn uniformly each
	// step (the sum over them scaled to estimate the sum over all), at
	// every prefix, with temperature RecallTemperature (default
	// Temperature). Every training row's adapted embedding is then
	// computed each step (the candidates' forward and backward pass), so a
	// step costs about nt/B times the batch's (nt training rows, B batch
	// rows) unless RecallNegatives bounds it. The term is stiff (a softmax
	// over thousands of rows at τ 0.05): with the default SGD at LR 0.1,
	// weight 1 made the first epochs diverge on the synthetic set and 0.1
	// did not; the README's fifth-round SGD rows used 0.1. Under "adamw"
	// weight 1 trains, and with a residual MLP (Hidden) the term lifted
	// dims 8 and 16 far above PCA on held-out queries where the linear
	// adapter could not, at the cost of the larger prefixes (README).
	RecallWeight, RecallTemperature float64
	RecallNegatives                 int
	// DimWeights are the weights c_m of the nesting's dims in the pairwise,
	// top-k and supervised terms, one per dim (default: all 1).
	DimWeights []float64
	// ValFrac is the fraction of the rows held out for validation (default
	// 0.1; negative: none), of which at most ValRows (default 2000) are
	// used: each epoch reports the recall@ValK (default 10) of every
	// nesting dim of the adapted held-out rows, as queries, against their
	// exact full-dim neighbours among the training rows (at most ValDB of
	// them, default 10000, a seeded sample), the protocol of a search of
	// new queries over the adapted database. (The held-out rows against
	// each other, as before, would see almost none of a row's true
	// neighbours when the rows hold many small clusters: on the synthetic
	// set, 1000 held-out rows of 500 clusters, that ranked settings
	// otherwise than the test queries.)
	ValFrac float64
	ValRows int
	ValDB   int
	ValK    int
	// OrthoEvery re-orthonormalises the rows of R (Gram-Schmidt in order,
	// so each prefix keeps its span) every OrthoEvery steps and after each
	// epoch (default 10; negative: never). R then stays a rotation (a
	// projection for Out < In), the isometry the package doc's term (c)
	// asks for as a hard constraint: without it the small prefixes' terms
	// pull R's first rows towards directions the later rows also carry,
	// and the full dims lose neighbours (synthetic set, D = 128: recall@10
	// at the full dim 0.963 without, 0.999 with, and no loss at the small
	// dims).
	OrthoEvery int
	// Seed seeds the split, the batches and the MLP's initial weights.
	Seed uint64

	// Labels, one per row of Train's x, add the supervised term: MRL
	// classification heads (package matryoshka) over every nesting dim of
	// f(x)/σ (σ² the mean squared norm of the centred training rows, so
	// the heads' inputs have unit RMS norm whatever the embeddings'
	// scale), trained with the adapter; the Matryoshka cross-entropy is
	// averaged over the nesting's dims (weights SupervisedWeight·c_m/G for
	// G dims, SupervisedWeight default 0.3), so that it is on the scale of
	// one cross-entropy, not G of them. Labels are 0..C−1 with C ≥ 2.
	// The default 0.3 is the better of the two weights measured on
	// Fashion-MNIST FF-512 (README): with 1, recall@10 against the full-dim
	// neighbours fell 2 to 5 points at every dim, with 0.3 by 0.3 to 2,
	// for a 1-NN top-1 gain of 0.9 or 0.5 points at dim 8.
	Labels           []int32
	SupervisedWeight float64

	// PairQueries, if set, holds one query embedding per row of Train's x
	// (n rows of the input dim, aligned: row i is a query whose relevant
	// document is row i of x) and adds the supervised contrastive term:
	// the contrastive Matryoshka loss (matryoshka.Contrastive: InfoNCE
	// over in-batch negatives at every nesting dim, query → document) on f
	// of both sides, over each step's anchors and their queries, weighted
	// by ContrastiveWeight (default 1) times DimWeights, with temperature
	// ContrastiveTemperature (default 0.05). The documents are also the
	// rows of the unsupervised terms; held-out rows' pairs are not trained
	// on.
	PairQueries            []float32
	ContrastiveWeight      float64
	ContrastiveTemperature float64

	// QueryAnchors, if set, are embeddings of queries of the kind the
	// adapted index will serve (rows of the input dim, no labels and no
	// pairing with the rows of Train's x): they join the anchors, each with
	// its K nearest training rows in the full space as its neighbours, so
	// that the prefixes keep the queries' neighbourhoods among the
	// documents, not only the documents' among themselves (the two differ
	// when queries are another kind of text, say one-line summaries of
	// long descriptions). Validation then holds out queries, not
	// documents: ValFrac of them (at most ValRows) search the training
	// rows. Not with Labels, PairQueries or Extra.
	QueryAnchors []float32

	// Extra, if set, is a further loss term on each batch (see ExtraLoss).
	Extra ExtraLoss

	// Progress, if set, is called before training (Epoch 0, validation
	// only: the PCA starting point) and after every epoch.
	Progress func(EpochStats)
}

// WithDefaults returns o with every zero field set to its default, for
// embeddings of dim in.
func (o Options) WithDefaults(in int) Options {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if o.Out == 0 {
		o.Out = in
	}
	if o.Nesting == nil {
		o.Nesting = mrl.DefaultNesting(o.Out)
	}
	if o.Epochs == 0 {
		o.Epochs = 10
	}
	if o.Anchors == 0 {
		o.Anchors = 64
	}
	if o.K == 0 {
		o.K = 10
	}
	if o.Sampled == 0 {
		o.Sampled = min(3, o.K)
	}
	if o.Optimizer == "" {
		o.Optimizer = "sgd"
	}
	if o.Optimizer == "adamw" {
		def(&o.LR, 1e-3)
	}
	def(&o.LR, 0.1)
	def(&o.PairWeight, 1)
	def(&o.TopKWeight, 1)
	def(&o.IsoWeight, 0.1)
	def(&o.RankWeight, 1)
	def(&o.Temperature, 0.05)
	if o.HardNegatives > 0 {
		if o.HardRank == 0 {
			o.HardRank = max(50, 2*o.K)
		}
		def(&o.BoundaryWeight, 1)
		def(&o.BoundaryTemperature, o.Temperature)
	}
	if o.RecallWeight > 0 {
		def(&o.RecallTemperature, o.Temperature)
	}
	def(&o.ValFrac, 0.1)
	def(&o.SupervisedWeight, 0.3)
	def(&o.ContrastiveWeight, 1)
	def(&o.ContrastiveTemperature, matryoshka.DefaultTemperature)
	if o.OrthoEvery == 0 {
		o.OrthoEvery = 10
	}
	if o.ValRows == 0 {
		o.ValRows = 2000
	}
	if o.ValDB == 0 {
		o.ValDB = 10000
	}
	if o.ValK == 0 {
		o.ValK = 10
	}
	return o
}

// Validate reports every problem of o (after WithDefaults) for n rows of
// dim in at once, wrapping ErrOptions.
func (o Options) Validate(n, in int) error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if o.Out < 1 || o.Out > in {
		add("Out %d outside 1..%d (the input dim)", o.Out, in)
	} else if err := o.Nesting.Validate(o.Out); err != nil {
		add("Nesting %v: %v", o.Nesting, err)
	}
	if o.Hidden < 0 {
		add("Hidden %d is negative", o.Hidden)
	}
	if o.ResidualDims < 0 || o.ResidualDims > o.Out {
		add("ResidualDims %d outside 0..Out (%d)", o.ResidualDims, o.Out)
	} else if o.ResidualDims > 0 && o.Hidden == 0 {
		add("ResidualDims %d without a residual MLP (Hidden 0)", o.ResidualDims)
	}
	if o.Epochs < 0 {
		add("Epochs %d is negative", o.Epochs)
	}
	if o.Anchors < 1 {
		add("Anchors %d: want at least 1", o.Anchors)
	}
	if o.K < 1 {
		add("K %d: want at least 1", o.K)
	}
	if o.Sampled < 0 || o.Sampled > o.K {
		add("Sampled %d outside 0..K (%d)", o.Sampled, o.K)
	}
	if o.HardNegatives < 0 {
		add("HardNegatives %d is negative", o.HardNegatives)
	} else if o.HardNegatives > 0 && o.HardRank < o.K+o.HardNegatives {
		add("HardRank %d: want at least K + HardNegatives (%d)", o.HardRank, o.K+o.HardNegatives)
	}
	if o.HardNegatives > 0 && (!(o.BoundaryTemperature > 0) || math.IsInf(o.BoundaryTemperature, 0)) {
		add("BoundaryTemperature %v: want a positive number", o.BoundaryTemperature)
	}
	if o.RecallNegatives < 0 {
		add("RecallNegatives %d is negative", o.RecallNegatives)
	}
	if o.RecallWeight > 0 && (!(o.RecallTemperature > 0) || math.IsInf(o.RecallTemperature, 0)) {
		add("RecallTemperature %v: want a positive number", o.RecallTemperature)
	}
	if o.Optimizer != "sgd" && o.Optimizer != "adamw" {
		add("Optimizer %q: want sgd or adamw", o.Optimizer)
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) {
		add("LR %v: want a positive number", o.LR)
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"PairWeight", o.PairWeight}, {"TopKWeight", o.TopKWeight}, {"IsoWeight", o.IsoWeight}, {"RankWeight", o.RankWeight}, {"SupervisedWeight", o.SupervisedWeight}, {"ContrastiveWeight", o.ContrastiveWeight}, {"BoundaryWeight", o.BoundaryWeight}, {"RecallWeight", o.RecallWeight}} {
		if math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			add("%s %v is not finite", w.name, w.v)
		}
	}
	if o.DimWeights != nil && len(o.DimWeights) != len(o.Nesting) {
		add("%d DimWeights for the %d dims of the nesting %v", len(o.DimWeights), len(o.Nesting), o.Nesting)
	}
	for i, w := range o.DimWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			add("DimWeights[%d] = %v: want a finite weight ≥ 0", i, w)
		}
	}
	if !(o.Temperature > 0) || math.IsInf(o.Temperature, 0) {
		add("Temperature %v: want a positive number", o.Temperature)
	}
	if o.ValFrac >= 1 {
		add("ValFrac %v: want < 1", o.ValFrac)
	}
	if o.ValRows < 1 || o.ValK < 1 || o.ValDB < 1 {
		add("ValRows %d, ValDB %d and ValK %d: want at least 1", o.ValRows, o.ValDB, o.ValK)
	}
	if !(o.ContrastiveTemperature > 0) || math.IsInf(o.ContrastiveTemperature, 0) {
		add("ContrastiveTemperature %v: want a positive number", o.ContrastiveTemperature)
	}
	if o.QueryAnchors != nil {
		if len(o.QueryAnchors) == 0 || len(o.QueryAnchors)%in != 0 {
			add("%d QueryAnchors floats: want a positive multiple of the input dim %d", len(o.QueryAnchors), in)
		}
		if o.Labels != nil || o.PairQueries != nil || o.Extra != nil {
			add("QueryAnchors with Labels, PairQueries or Extra")
		}
	}
	if o.PairQueries != nil && len(o.PairQueries) != n*in {
		add("%d PairQueries floats for %d rows of %d", len(o.PairQueries), n, in)
	}
	if o.Labels != nil {
		if len(o.Labels) != n {
			add("%d Labels for %d rows", len(o.Labels), n)
		}
		for i, y := range o.Labels {
			if y < 0 {
				add("Labels[%d] = %d is negative", i, y)
				break
			}
		}
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	return nil
}

// EpochStats report one epoch of Train.
type EpochStats struct {
	Epoch, Epochs int
	Steps         int
	// Mean per-step values of the weighted total and of the terms: Pair,
	// TopK, Rank, Boundary and RecallTerm unweighted but summed over the
	// nesting's dims with DimWeights, Iso unweighted, Supervised with its weights (the
	// Matryoshka cross-entropy, SupervisedWeight·c_m per dim), Contrastive
	// with its weights (ContrastiveWeight·c_m per dim), Extra as ExtraLoss
	// returned it.
	Loss, Pair, TopK, Rank, Boundary, RecallTerm, Iso, Supervised, Contrastive, Extra float64
	// Recall is the validation recall@ValK of each nesting dim (nil
	// without validation rows).
	Recall  []float64
	Elapsed time.Duration // the epoch's training time, without validation
}

// Result is what Train returns besides the adapter.
type Result struct {
	Epochs []EpochStats // Epoch 0 (before training) first
	// NeighborTime is the time the full-space neighbours took.
	NeighborTime time.Duration
	TrainRows    int
	ValRows      int // held-out rows (held-out query anchors with QueryAnchors)
	QueryAnchors int // query anchors trained on
}

// Train fits an adapter to the n rows of x (dim d): it holds out the
// validation rows, initialises the adapter to the PCA of the training rows
// (New), finds each training row's K nearest training rows at the full dim
// and minimises the losses of the package doc with Options.Optimizer, in
// units of σ (the package doc's "Units"). It checks the options and that
// x (and PairQueries) has n ≥ 2 finite rows. Cancelling ctx stops it
// between steps with ctx's error and the adapter as it stands.
func Train(ctx context.Context, x []float32, n, d int, opt Options) (*Adapter, *Result, error) {
	if n < 2 {
		return nil, nil, fmt.Errorf("%w: %d rows: want at least 2", ErrInput, n)
	}
	if err := checkRows(x, n, d, "embeddings"); err != nil {
		return nil, nil, err
	}
	opt = opt.WithDefaults(d)
	if err := opt.Validate(n, d); err != nil {
		return nil, nil, err
	}
	if opt.PairQueries != nil {
		if err := checkRows(opt.PairQueries, n, d, "pair queries"); err != nil {
			return nil, nil, err
		}
	}
	if opt.QueryAnchors != nil {
		if err := checkRows(opt.QueryAnchors, len(opt.QueryAnchors)/d, d, "query anchors"); err != nil {
			return nil, nil, err
		}
	}
	// Train in units of σ, the RMS norm of the centred rows, and give the
	// adapter back in the input's units (unscale): the cosine terms'
	// gradients with respect to the bias b scale as 1/σ while b itself
	// should scale as σ, so a learning rate right for embeddings of norm 5
	// (Fashion-MNIST FF-512) makes b diverge on unit-norm text embeddings
	// (centred RMS norm below 1), and one right for those leaves b frozen at
	// norm 5. In σ units every input looks alike to the optimizer.
	sigma := rmsCentred(x, n, d)
	x = scaled(x, 1/sigma)
	if opt.PairQueries != nil {
		opt.PairQueries = scaled(opt.PairQueries, 1/sigma)
	}
	if opt.QueryAnchors != nil {
		opt.QueryAnchors = scaled(opt.QueryAnchors, 1/sigma)
	}
	a, res, err := train(ctx, x, n, d, opt)
	if a != nil {
		a.unscale(sigma)
	}
	return a, res, err
}

// rmsCentred returns the RMS norm of the n rows of x (dim d) about their
// mean, or 1 if it is 0.
func rmsCentred(x []float32, n, d int) float64 {
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	var ss float64
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			c := float64(v) - mean[j]
			ss += c * c
		}
	}
	if ss == 0 {
		return 1
	}
	return math.Sqrt(ss / float64(n))
}

func scaled(x []float32, f float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(float64(v) * f)
	}
	return y
}

// unscale turns an adapter trained on inputs x/σ into one for x whose
// outputs are σ times the trained one's (the same cosines): f(x) =
// R·(x − σμ) + σb + σ·g((x − σμ)/σ), so μ and b scale by σ, g's first
// weights by 1/σ and its last layer by σ.
func (a *Adapter) unscale(sigma float64) {
	mul := func(w []float32, f float64) {
		for i, v := range w {
			w[i] = float32(float64(v) * f)
		}
	}
	mul(a.Mean, sigma)
	mul(a.R.B.W, sigma)
	if a.G1 != nil {
		mul(a.G1.W.W, 1/sigma)
		mul(a.G2.W.W, sigma)
		mul(a.G2.B.W, sigma)
	}
}

// train is Train on checked inputs in σ units.
func train(ctx context.Context, x []float32, n, d int, opt Options) (*Adapter, *Result, error) {
	var err error
	rng := rand.New(rand.NewPCG(opt.Seed, 0x747261696e))
	perm := rng.Perm(n)
	nv := 0
	if opt.ValFrac > 0 && opt.QueryAnchors == nil {
		nv = min(int(float64(n)*opt.ValFrac), opt.ValRows, n-2)
	}
	valIdx, trIdx := perm[:nv], perm[nv:]
	slices.Sort(trIdx)
	nt := len(trIdx)
	xt := gather(x, d, trIdx)
	// With query anchors, the validation queries are held-out query
	// anchors (xq the trained ones).
	var xq, xqv []float32
	if opt.QueryAnchors != nil {
		nqa := len(opt.QueryAnchors) / d
		qperm := rng.Perm(nqa)
		nqv := 0
		if opt.ValFrac > 0 {
			nqv = min(int(float64(nqa)*opt.ValFrac), opt.ValRows, nqa-1)
		}
		xqv, xq = gather(opt.QueryAnchors, d, qperm[:nqv]), gather(opt.QueryAnchors, d, qperm[nqv:])
	}
	a, err := New(xt, nt, d, opt.Out, opt.Nesting, opt.Hidden, opt.Seed)
	if err != nil {
		return nil, nil, err
	}
	res := &Result{TrainRows: nt, ValRows: nv}

	// Validation: the held-out rows as queries against (a sample of) the
	// training rows, exact full-dim neighbours.
	var xv []float32
	var valTruth [][]int32
	validate := func() ([]float64, error) { return nil, nil }
	if xqv != nil {
		xv, nv = xqv, len(xqv)/d
		res.ValRows = nv
	}
	if nv > 0 && nt > opt.ValK {
		if xqv == nil {
			xv = gather(x, d, valIdx)
		}
		ndb := min(nt, opt.ValDB)
		dbIdx := rand.New(rand.NewPCG(opt.Seed, 0x76616c6462)).Perm(nt)[:ndb]
		slices.Sort(dbIdx)
		xdb := gather(xt, d, dbIdx)
		if valTruth, err = NeighborsContext(ctx, xdb, ndb, d, xv, nv, d, d, opt.ValK, false); err != nil {
			return nil, nil, err
		}
		validate = func() ([]float64, error) {
			zv, err := a.Apply(xv, nv)
			if err != nil {
				return nil, err
			}
			zdb, err := a.Apply(xdb, ndb)
			if err != nil {
				return nil, err
			}
			return PrefixRecall(zdb, ndb, a.Out, zv, nv, a.Nesting, valTruth, false)
		}
	}
	st := EpochStats{Epochs: opt.Epochs}
	if st.Recall, err = validate(); err != nil {
		return nil, nil, err
	}
	res.Epochs = append(res.Epochs, st)
	if opt.Progress != nil {
		opt.Progress(st)
	}

	t0 := time.Now()
	k := min(opt.K, nt-1)
	if opt.HardNegatives > 0 {
		k = min(opt.HardRank, nt-1) // ranks K+1..HardRank are the hard negatives
	}
	nbrs, err := NeighborsContext(ctx, xt, nt, d, xt, nt, d, d, k, true)
	if err != nil {
		return nil, nil, err
	}
	// Query anchors are rows nt.. of the trainer's rows, whose neighbours
	// are training rows (never other queries).
	nqt := len(xq) / d
	if nqt > 0 {
		qn, err := NeighborsContext(ctx, xt, nt, d, xq, nqt, d, d, k, false)
		if err != nil {
			return nil, nil, err
		}
		nbrs = append(nbrs, qn...)
		xt = append(slices.Clip(xt), xq...)
	}
	res.NeighborTime = time.Since(t0)
	res.QueryAnchors = nqt

	tr := newTrainer(a, opt, xt, nt, trIdx, x, rng)
	tr.nbrs = nbrs
	if opt.Labels != nil {
		if err := tr.addHeads(opt.Labels); err != nil {
			return nil, nil, err
		}
	}
	if opt.PairQueries != nil && opt.ContrastiveWeight > 0 {
		if err := tr.addPairs(opt.PairQueries); err != nil {
			return nil, nil, err
		}
	}
	na := nt + nqt // anchors per epoch
	steps := (na + opt.Anchors - 1) / opt.Anchors
	total := steps * opt.Epochs
	sched := nn.Cosine(opt.LR, total, max(total/20, 1))
	for ep := 1; ep <= opt.Epochs; ep++ {
		t1 := time.Now()
		st := EpochStats{Epoch: ep, Epochs: opt.Epochs, Steps: steps}
		order := rng.Perm(na)
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return a, res, err
			}
			anchors := order[s*opt.Anchors : min((s+1)*opt.Anchors, na)]
			l := tr.step(anchors, sched(tr.opt.Steps()))
			st.Loss += l.total
			st.Pair += l.pair
			st.TopK += l.top
			st.Rank += l.rank
			st.Boundary += l.bnd
			st.RecallTerm += l.rec
			st.Iso += l.iso
			st.Supervised += l.sup
			st.Contrastive += l.con
			st.Extra += l.extra
		}
		f := 1 / float64(steps)
		st.Loss, st.Pair, st.TopK, st.Rank, st.Boundary, st.RecallTerm, st.Iso, st.Supervised, st.Contrastive, st.Extra = st.Loss*f, st.Pair*f, st.TopK*f, st.Rank*f, st.Boundary*f, st.RecallTerm*f, st.Iso*f, st.Supervised*f, st.Contrastive*f, st.Extra*f
		st.Elapsed = time.Since(t1)
		if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
			return a, res, fmt.Errorf("adapter: epoch %d: the loss is %v: lower the learning rate (Options.LR %g)", ep, st.Loss, opt.LR)
		}
		if opt.OrthoEvery > 0 {
			orthonormalize(a.R.W.W, a.Out, a.In)
		}
		if st.Recall, err = validate(); err != nil {
			return nil, nil, err
		}
		res.Epochs = append(res.Epochs, st)
		if opt.Progress != nil {
			opt.Progress(st)
		}
	}
	return a, res, nil
}

func gather(x []float32, d int, idx []int) []float32 {
	out := make([]float32, len(idx)*d)
	for i, r := range idx {
		copy(out[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	return out
}

// trainer holds one Train's state.
type trainer struct {
	a    *Adapter
	o    Options
	net  net
	xt   []float32 // training rows, then the query anchors
	xn   []float32 // the same, unit length
	nt   int       // training rows (the query anchors follow)
	rows []int     // training row -> row of Train's x
	nbrs [][]int32
	rng  *rand.Rand
	opt  nn.Optimizer
	head *matryoshka.Head
	lab  []int32 // training row -> label

	batch  []int
	orig   []int
	xb, tb []float32
	pairs  []pair
	dz     nn.Tensor
	sim    simScratch
	rank   rankTerm
	bnd    boundaryTerm
	rec    recallTerm
	// The recall term's candidates: cand the trainer's rows (every
	// training row, or the step's sample then the anchors' positives
	// outside it), candPos a training row's candidate row or −1, perm the
	// training rows for sampling.
	cand    []int32
	candPos []int32
	perm    []int32
	target  []float32
	steps   int
	iso     isoScratch
	labels  []int32
	pick    []int32
	// headScale is 1/σ of the heads' inputs f(x)/σ; headIn holds them.
	headScale float32
	headIn    nn.Tensor

	// The contrastive term: the training rows' queries, the loss, and
	// the gradient of the documents' side.
	qt  []float32
	con *matryoshka.Contrastive
	dd  []float32
}

func newTrainer(a *Adapter, o Options, xt []float32, nt int, rows []int, _ []float32, rng *rand.Rand) *trainer {
	d := a.In
	xn := slices.Clone(xt)
	kernel.ParallelFor(len(xt)/d, 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			kernel.Normalize(xn[i*d : (i+1)*d])
		}
	})
	t := &trainer{a: a, o: o, net: net{a: a}, xt: xt, xn: xn, nt: nt, rows: rows, rng: rng}
	t.opt = t.newOpt(trainable(a, o.PairQueries == nil || o.ContrastiveWeight <= 0))
	t.rank.tau = o.Temperature
	t.bnd.tau = o.BoundaryTemperature
	t.rec.tau = o.RecallTemperature
	return t
}

// addHeads sets up the supervised term's heads and optimizer.
func (t *trainer) addHeads(labels []int32) error {
	classes := int(slices.Max(labels)) + 1
	h, err := matryoshka.NewHead(matryoshka.MRL, t.a.Nesting, t.a.Out, classes, rand.New(rand.NewPCG(t.o.Seed, 0x68656164)))
	if err != nil {
		return fmt.Errorf("%w: supervised heads: %w", ErrOptions, err)
	}
	h.Weights = make([]float64, len(t.a.Nesting))
	for g := range h.Weights {
		h.Weights[g] = t.o.SupervisedWeight * t.dimWeight(g) / float64(len(t.a.Nesting))
	}
	t.head = h
	// The heads see f(x)/σ, σ² the mean squared norm of the centred
	// training rows, so their inputs have unit RMS norm. Train already
	// works in σ units, where this σ is 1 up to the split; the scaling
	// keeps the heads' inputs at unit scale should that change.
	var ss float64
	d := t.a.In
	for i := 0; i < t.nt; i++ {
		for j, v := range t.xt[i*d : (i+1)*d] {
			c := float64(v - t.a.Mean[j])
			ss += c * c
		}
	}
	t.headScale = 1
	if rms := math.Sqrt(ss / float64(t.nt)); rms > 0 {
		t.headScale = float32(1 / rms)
	}
	t.lab = make([]int32, t.nt)
	for i, r := range t.rows {
		t.lab[i] = labels[r]
	}
	t.opt = t.newOpt(append(trainable(t.a, t.o.PairQueries == nil || t.o.ContrastiveWeight <= 0), h.Params()...))
	return nil
}

// addPairs sets up the contrastive term over the queries q (aligned with
// Train's x).
func (t *trainer) addPairs(q []float32) error {
	w := make([]float64, len(t.a.Nesting))
	for g := range w {
		w[g] = t.o.ContrastiveWeight * t.dimWeight(g)
	}
	c, err := matryoshka.NewContrastive(matryoshka.ContrastiveOptions{Nesting: t.a.Nesting, Embed: t.a.Out,
		Weights: w, Temperature: t.o.ContrastiveTemperature, MaxScale: max(100, 1/t.o.ContrastiveTemperature)})
	if err != nil {
		return fmt.Errorf("%w: contrastive term: %w", ErrOptions, err)
	}
	t.con = c
	t.qt = gather(q, t.a.In, t.rows)
	return nil
}

// trainable returns the parameters Train fits: all of them, but with
// pairs (Options.PairQueries) the output biases (R's b and the MLP's last
// bias) stay fixed. The contrastive term starts from prefixes that are
// confidently wrong (its loss above log B for a batch of B pairs), and a
// common offset of every output lowers it fastest: b grows until all
// prefixes coincide and the loss sits at log B (the pairs test: loss
// 12.4 → 8.1 ≈ 2·log 64 over its two dims, query→document top-1 at
// dim 4 at chance, 0.002; with b fixed 0.98). Without pairs b trains: it
// learns back the mean that the PCA start centres away (unit-norm text
// embeddings, 2 epochs: held-out recall@10 at the full dim 0.961 with b
// trained, 0.924 with b fixed).
func trainable(a *Adapter, bias bool) []*nn.Param {
	var ps []*nn.Param
	for _, p := range a.Params() {
		if bias || p != a.R.B && (a.G2 == nil || p != a.G2.B) {
			ps = append(ps, p)
		}
	}
	return ps
}

func (t *trainer) newOpt(ps []*nn.Param) nn.Optimizer {
	if t.o.Optimizer == "adamw" {
		return nn.NewAdamW(ps, 0)
	}
	return nn.NewSGD(ps, 0.9, 0, true)
}

func (t *trainer) dimWeight(g int) float64 {
	if t.o.DimWeights == nil {
		return 1
	}
	return t.o.DimWeights[g]
}

type stepLoss struct{ total, pair, top, rank, bnd, rec, iso, sup, con, extra float64 }

// step runs one optimizer step on the anchors and their sampled
// neighbours.
func (t *trainer) step(anchors []int, lr float64) stepLoss {
	a, o := t.a, t.o
	d, out := a.In, a.Out
	var l stepLoss
	// Before any backward: the heads' Backward below adds their
	// gradients, which a ZeroGrad after it would wipe (it did: the heads
	// never learned, and R chased their random gradients).
	t.opt.ZeroGrad()
	t.batch = append(t.batch[:0], anchors...)
	t.pairs = t.pairs[:0]
	t.bnd.neg = t.bnd.neg[:0]
	// sample appends up to s rows drawn without replacement from nb to
	// the batch, each paired with anchor p in *to.
	sample := func(p int, nb []int32, s int, to *[]pair) {
		s = min(s, len(nb))
		t.pick = append(t.pick[:0], nb...)
		for j := 0; j < s; j++ {
			r := j + t.rng.IntN(len(t.pick)-j)
			t.pick[j], t.pick[r] = t.pick[r], t.pick[j]
			*to = append(*to, pair{int32(p), int32(len(t.batch))})
			t.batch = append(t.batch, int(t.pick[j]))
		}
	}
	for p, i := range anchors {
		nb := t.nbrs[i]
		sample(p, nb[:min(o.K, len(nb))], o.Sampled, &t.pairs)
		if o.HardNegatives > 0 && len(nb) > o.K {
			sample(p, nb[o.K:], o.HardNegatives, &t.bnd.neg)
		}
	}
	t.bnd.pos = t.pairs
	b := len(t.batch)
	// With pairs, the anchors' queries follow the batch's rows: one
	// forward and backward over b + na rows, of which the unsupervised
	// terms see the first b.
	nq := 0
	if t.con != nil {
		nq = len(anchors)
	}
	// With the recall term, its candidates follow: rows b+nq.. of the
	// forward and backward pass.
	nc := 0
	if o.RecallWeight > 0 {
		nc = t.candidates(anchors)
	}
	t.xb = grow(t.xb, (b+nq+nc)*d)
	xn := grow(t.tb, b*d)
	for i, r := range t.batch {
		copy(t.xb[i*d:(i+1)*d], t.xt[r*d:(r+1)*d])
		copy(xn[i*d:(i+1)*d], t.xn[r*d:(r+1)*d])
	}
	for i, r := range anchors[:nq] {
		copy(t.xb[(b+i)*d:(b+i+1)*d], t.qt[r*d:(r+1)*d])
	}
	for i, r := range t.cand[:nc] {
		copy(t.xb[(b+nq+i)*d:(b+nq+i+1)*d], t.xt[int(r)*d:(int(r)+1)*d])
	}
	t.tb = xn
	t.target = grow(t.target, b*b)
	target := t.target
	t.rank.tFor = nil // a new batch: recompute the target softmaxes
	kernel.Sgemm(false, true, b, b, d, 1, xn, d, xn, d, 0, target, b)

	zAll := t.net.forward(t.xb, b+nq+nc)
	t.dz.Shape = append(t.dz.Shape[:0], b+nq+nc, out)
	t.dz.Data = grow(t.dz.Data, (b+nq+nc)*out)
	clear(t.dz.Data)
	z, dzb := zAll, &t.dz
	if nq+nc > 0 {
		z = &nn.Tensor{Shape: []int{b, out}, Data: zAll.Data[:b*out]}
		dzb = &nn.Tensor{Shape: []int{b, out}, Data: t.dz.Data[:b*out]}
	}
	if nq > 0 {
		// Queries (rows b..b+nq) against their documents (the anchors,
		// rows 0..nq): query i's gradient goes straight into its rows
		// of dz, which no other term touches; the documents' is added.
		cl := t.con.Forward(zAll.Data[b*out:], out, zAll.Data, out, nq)
		l.con = cl.Total
		l.total += cl.Total
		t.dd = grow(t.dd, nq*out)
		t.con.Backward(t.dz.Data[b*out:], out, t.dd, out)
		for i, v := range t.dd {
			t.dz.Data[i] += v
		}
	}
	wp, wt, wr := max(o.PairWeight, 0), max(o.TopKWeight, 0), max(o.RankWeight, 0)
	wb := 0.0
	if o.HardNegatives > 0 {
		wb = max(o.BoundaryWeight, 0)
	}
	if wp > 0 || wt > 0 || wr > 0 || wb > 0 {
		for g, m := range a.Nesting {
			c := t.dimWeight(g)
			t.rank.w = c * wr
			t.bnd.w = c * wb
			pm, tm, km, bm := simLoss(&t.sim, z.Data, b, out, m, target, c*wp, t.pairs, c*wt, &t.rank, &t.bnd, t.dz.Data)
			l.pair += c * pm
			l.top += c * tm
			l.rank += c * km
			l.bnd += c * bm
		}
	}
	l.total += wp*l.pair + wt*l.top + wr*l.rank + wb*l.bnd
	if nc > 0 {
		// The anchors are the batch's first rows.
		na, off := len(anchors), (b+nq)*out
		for g, m := range a.Nesting {
			c := t.dimWeight(g)
			if c == 0 {
				continue
			}
			t.rec.w = c * o.RecallWeight
			l.rec += c * t.rec.loss(zAll.Data, na, zAll.Data[off:], nc, out, m, t.dz.Data, t.dz.Data[off:])
		}
		l.total += o.RecallWeight * l.rec
	}
	if w := max(o.IsoWeight, 0); w > 0 {
		l.iso = isoLoss(&t.iso, z.Data, out, t.net.xc.Data, d, b, w, t.dz.Data)
		l.total += w * l.iso
	}
	if t.head != nil {
		t.labels = t.labels[:0]
		for _, r := range t.batch {
			t.labels = append(t.labels, t.lab[r])
		}
		t.headIn.Shape = append(t.headIn.Shape[:0], z.Shape...)
		t.headIn.Data = grow(t.headIn.Data, len(z.Data))
		for i, v := range z.Data {
			t.headIn.Data[i] = v * t.headScale
		}
		t.head.Forward(&t.headIn)
		sl := t.head.Loss(t.labels, 0)
		l.sup = sl.Total
		l.total += sl.Total
		for i, v := range t.head.Backward().Data {
			dzb.Data[i] += v * t.headScale
		}
	}
	if o.Extra != nil {
		t.orig = t.orig[:0]
		for _, r := range t.batch {
			t.orig = append(t.orig, t.rows[r])
		}
		l.extra = o.Extra(z, t.orig, dzb)
		l.total += l.extra
	}
	t.net.backward(&t.dz)
	t.opt.Step(lr)
	if rd := o.ResidualDims; rd > 0 && a.G2 != nil {
		// g writes only the first rd dims (Options.ResidualDims).
		clear(a.G2.W.W[rd*a.G2.In:])
		clear(a.G2.B.W[rd:])
	}
	if o.OrthoEvery > 0 {
		t.steps++
		if t.steps%o.OrthoEvery == 0 {
			orthonormalize(a.R.W.W, a.Out, a.In)
		}
	}
	return l
}

// candidates sets the recall term's candidates for the step's anchors
// (t.cand, and t.rec's positives, own rows and negative weights) and
// returns their number: every training row, or RecallNegatives of them
// drawn uniformly without replacement followed by the anchors' positives
// outside the draw.
func (t *trainer) candidates(anchors []int) int {
	o, nt := t.o, t.nt
	if t.candPos == nil {
		t.candPos = make([]int32, nt)
		for i := range t.candPos {
			t.candPos[i] = -1
		}
	}
	if o.RecallNegatives == 0 || o.RecallNegatives >= nt {
		if len(t.cand) != nt {
			t.cand = t.cand[:0]
			for i := range nt {
				t.cand = append(t.cand, int32(i))
				t.candPos[i] = int32(i)
			}
		}
		t.rec.nNeg = nt
	} else {
		for _, r := range t.cand {
			t.candPos[r] = -1
		}
		t.cand = t.cand[:0]
		if t.perm == nil {
			t.perm = make([]int32, nt)
			for i := range t.perm {
				t.perm[i] = int32(i)
			}
		}
		for j := range o.RecallNegatives {
			r := j + t.rng.IntN(nt-j)
			t.perm[j], t.perm[r] = t.perm[r], t.perm[j]
			t.candPos[t.perm[j]] = int32(len(t.cand))
			t.cand = append(t.cand, t.perm[j])
		}
		t.rec.nNeg = o.RecallNegatives
		for _, i := range anchors {
			for _, p := range t.nbrs[i][:min(o.K, len(t.nbrs[i]))] {
				if t.candPos[p] < 0 {
					t.candPos[p] = int32(len(t.cand))
					t.cand = append(t.cand, p)
				}
			}
		}
	}
	na := len(anchors)
	if cap(t.rec.pos) < na {
		t.rec.pos = append(t.rec.pos[:cap(t.rec.pos)], make([][]int32, na-cap(t.rec.pos))...)
	}
	t.rec.pos = t.rec.pos[:na]
	t.rec.self = t.rec.self[:0]
	t.rec.negW = t.rec.negW[:0]
	for k, i := range anchors {
		nb := t.nbrs[i][:min(o.K, len(t.nbrs[i]))]
		pos := t.rec.pos[k][:0]
		inDraw := 0
		for _, p := range nb {
			c := t.candPos[p]
			pos = append(pos, c)
			if int(c) < t.rec.nNeg {
				inDraw++
			}
		}
		t.rec.pos[k] = pos
		self := int32(-1)
		negs := nt - len(nb) // i's negatives among the training rows
		if i < nt {
			self = t.candPos[i]
			negs--
		}
		drawn := t.rec.nNeg - inDraw // ... and among the drawn candidates
		if self >= 0 && int(self) < t.rec.nNeg {
			drawn--
		}
		w := 0.0
		if drawn > 0 {
			w = float64(negs) / float64(drawn)
		}
		t.rec.self = append(t.rec.self, self)
		t.rec.negW = append(t.rec.negW, w)
	}
	return len(t.cand)
}

// orthonormalize makes the rows of the rows×cols matrix w orthonormal by
// Gram-Schmidt in row order: row i becomes the unit part of row i
// orthogonal to rows 0..i−1, so every leading block of rows keeps its
// span. A row in the span of those before it is left as its (near zero)
// residual.
//
// It works in blocks of orthoBlock rows, as LAPACK's blocked QR does: a
// block is first made orthogonal to all the rows before it by classical
// Gram-Schmidt applied twice ("CGS2", which is as orthogonal as modified
// Gram-Schmidt), C = B·Qᵀ and B −= C·Q, two matrix products per pass on
// kernel.Sgemm's threads, then its own rows by modified Gram-Schmidt in
// float64. The reference is orthonormalizeRef (modified Gram-Schmidt row
// by row in float64).
func orthonormalize(w []float32, rows, cols int) {
	const orthoBlock = 32
	c := make([]float32, orthoBlock*rows)
	q := make([]float64, orthoBlock*cols)
	for i0 := 0; i0 < rows; i0 += orthoBlock {
		i1 := min(i0+orthoBlock, rows)
		nb := i1 - i0
		bw := w[i0*cols : i1*cols]
		if i0 > 0 {
			for range 2 {
				kernel.Sgemm(false, true, nb, i0, cols, 1, bw, cols, w[:i0*cols], cols, 0, c, i0)
				kernel.Sgemm(false, false, nb, cols, i0, -1, c, i0, w[:i0*cols], cols, 1, bw, cols)
			}
		}
		qb := q[:nb*cols]
		for i, v := range bw {
			qb[i] = float64(v)
		}
		mgs(qb, nb, cols)
		for i, v := range qb {
			bw[i] = float32(v)
		}
	}
}

// mgs orthonormalises the rows of q (rows×cols) by modified Gram-Schmidt
// in row order, leaving a row whose residual vanishes as it is.
func mgs(q []float64, rows, cols int) {
	for i := 0; i < rows; i++ {
		ri := q[i*cols : (i+1)*cols]
		for j := 0; j < i; j++ {
			rj := q[j*cols : (j+1)*cols]
			var d float64
			for k := range ri {
				d += ri[k] * rj[k]
			}
			for k := range ri {
				ri[k] -= d * rj[k]
			}
		}
		var n float64
		for _, v := range ri {
			n += v * v
		}
		if n < 1e-24 {
			continue
		}
		n = 1 / math.Sqrt(n)
		for k := range ri {
			ri[k] *= n
		}
	}
}
