package report

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/bm25"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

// The text report evaluates Matryoshka text embeddings on a text set
// (debian-descriptions, or JSONL pairs): synopsis→description retrieval
// with all test descriptions as the corpus, per prefix dim, for MRL, FF-k
// (a separate encoder trained at each size k), truncation of the
// non-Matryoshka full-size encoder (FF-D's first k dims), PCA of FF-D's
// embedding (fitted on train) and BM25 with its reciprocal-rank fusion
// with MRL; funnel and adaptive plans with their FLOPs; and label
// (section) classification by linear probes per dim with the adaptive
// cascade over MRL's probes.

// IsTextData reports whether a dataset spec names a text set, which
// RunText reports on ("debian-descriptions", "jsonl:FILE").
func IsTextData(spec string) bool {
	return spec == data.DebianDescriptions || strings.HasPrefix(spec, "jsonl:")
}

// TextOptions configure a text report. Start from DefaultTextOptions or
// QuickTextOptions; each field's default is given next to it (quick mode's
// in brackets).
type TextOptions struct {
	// Data is the text set read by data.LoadText ("debian-descriptions").
	Data string
	// Split chooses the train/validation/test split of the text set (data's
	// defaults: seed 1, 10% validation, 20% test).
	Split data.TextOptions
	// RunsDir holds the checkpoints DIR/mrl.ckpt and DIR/ff<k>.ckpt
	// ("runs/report-DATA" ["runs/report-DATA-quick"]), reused when they
	// were trained as asked (see Options.RunsDir).
	RunsDir string
	// OutDir receives the report ("report-DATA" ["report-DATA-quick"]).
	OutDir string
	// Retrain trains every model even when a checkpoint exists (false).
	Retrain bool

	// Model is the text model of MRL; FF-k is the same with Embed k and
	// nesting {k} (65,536 buckets, words, bigrams and character 3-5-grams,
	// a 64-wide bag, one Linear to 512 dims, nesting 8..512, τ 0.05 fixed
	// [32,768 buckets, embed 64, nesting 8..64]).
	Model model.Config
	// SmallDimWeights are MRL's loss weights c_m of the first nesting dims,
	// in order; the others weigh 1 ({4, 2}: dim 8 weighs 4, dim 16 weighs 2).
	// They override Model.LossWeights. Chosen on the validation split: with
	// equal weights MRL's smallest dim fell short of FF-8.
	SmallDimWeights []float64
	// ModelSeed seeds every model's initial weights (1).
	ModelSeed uint64
	// Train is the recipe of every model (AdamW at lr 0.01, one-cycle,
	// batch 128, 4 epochs [2]).
	Train train.Options
	// TrainPairs, ValPairs and TestPairs keep only the first pairs of each
	// split (0: all [6000, 1000, 2000]).
	TrainPairs, ValPairs, TestPairs int
	// Queries is the number of test synopses (the first ones) used as
	// queries (0: all); the corpus is every test description.
	Queries int

	// ProbeRows is the number of training descriptions (the first ones)
	// the probes and the PCA are fitted on (10000 [2000]; 0: all).
	ProbeRows int
	// ProbeIters bounds the L-BFGS iterations of every probe (60 [30]).
	ProbeIters int
	// ProbeL2 is the probes' L2 penalty (1e-4).
	ProbeL2 float64
	// Funnels are the funnel plans ("dim:keep,..."); empty means
	// TextFunnels of the nesting.
	Funnels []string
	// Shortlists are the adaptive-retrieval shortlist sizes (1000 [200]),
	// with every nesting dim ≤ MaxShortlistDim (16) as D_s and every larger
	// one as D_r, keeping 100. (Each plan searches every test query: a
	// wider grid costs minutes on the full test split.)
	Shortlists      []int
	MaxShortlistDim int
	// HeldOutFrac is the fraction of the test descriptions on which the
	// cascade's thresholds are fitted (0.5); ThresholdSteps the size of
	// the threshold grid 0.1..1 (100); Seed seeds that split (1).
	HeldOutFrac    float64
	ThresholdSteps int
	Seed           uint64
	// BM25 configures the lexical baseline (k1 0.9, b 0.4, Snowball
	// English stemming, no stop words: mrl bm25's defaults).
	BM25 bm25.Options

	// Claims are the thresholds of the claims table.
	Claims TextClaimThresholds
	// Quick marks a CI-sized report, printed in the report.
	Quick bool
}

// TextClaimThresholds are the pass/miss thresholds of the text claims.
type TextClaimThresholds struct {
	// FFGap: MRL's recall@10 within this many points of FF-k at every
	// dim k (1).
	FFGap float64 `json:"ff_gap_points"`
	// TruncMargin: MRL's recall@10 at dim TruncDim at least this many
	// points above the truncated non-Matryoshka encoder's (10 at 32).
	TruncMargin float64 `json:"trunc_margin_points"`
	TruncDim    int     `json:"trunc_dim"`
	// FunnelTol: a funnel or adaptive plan whose recall@10 is within this
	// relative fraction (0.005) of full-size exact search at FunnelRatio
	// (16) times fewer FLOPs.
	FunnelTol   float64 `json:"funnel_tol"`
	FunnelRatio float64 `json:"funnel_ratio"`
}

// DefaultTextClaimThresholds are the thresholds issue 14 states.
func DefaultTextClaimThresholds() TextClaimThresholds {
	return TextClaimThresholds{FFGap: 1, TruncMargin: 10, TruncDim: 32, FunnelTol: 0.005, FunnelRatio: 16}
}

// DefaultTextOptions returns the full text report of spec. The recipe was
// chosen on the validation split (see docs/debian-descriptions/README.md).
func DefaultTextOptions(spec string) TextOptions {
	return TextOptions{
		Data:    spec,
		RunsDir: filepath.Join("runs", "report-"+safeName(spec)),
		OutDir:  "report-" + safeName(spec),
		Model: model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 1 << 16}, BagDim: 64, Embed: 512,
			Temperature: 0.05},
		SmallDimWeights: []float64{4, 2},
		ModelSeed:       1,
		Train:           train.Options{Epochs: 4, BatchSize: 128, Optimizer: "adamw", LR: 0.01, Seed: 1},
		ProbeRows:       10000,
		ProbeIters:      60,
		ProbeL2:         1e-4,
		Shortlists:      []int{1000},
		MaxShortlistDim: 16,
		HeldOutFrac:     0.5,
		ThresholdSteps:  100,
		Seed:            1,
		BM25:            bm25.Options{Analyzer: bm25.Analyzer{Stem: true}},
		Claims:          DefaultTextClaimThresholds(),
	}
}

// QuickTextOptions returns a CI-sized text report of spec: 64-d models
// on 32,768 buckets trained for 2 epochs on 6,000 pairs, evaluated on
// 2,000 test pairs. Its numbers are not the report's.
func QuickTextOptions(spec string) TextOptions {
	o := DefaultTextOptions(spec)
	o.Quick = true
	o.RunsDir += "-quick"
	o.OutDir += "-quick"
	o.Model.Tokenizer = &text.Config{Buckets: 1 << 15}
	o.Model.Embed = 64
	o.Train.Epochs = 2
	o.TrainPairs, o.ValPairs, o.TestPairs = 6000, 1000, 2000
	o.ProbeRows, o.ProbeIters = 2000, 30
	o.Shortlists = []int{200}
	return o
}

func (o TextOptions) nesting() mrl.Nesting { return o.Model.WithDefaults().Nesting }

// Validate reports every problem with o at once.
func (o TextOptions) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !IsTextData(o.Data) {
		add("Data %q: not a text set (want %s or jsonl:FILE)", o.Data, data.DebianDescriptions)
	}
	if o.RunsDir == "" || o.OutDir == "" {
		add("RunsDir %q / OutDir %q: must be set", o.RunsDir, o.OutDir)
	}
	if err := o.Split.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	cfg := o.Model.WithDefaults()
	if !cfg.IsText() {
		add("Model.Arch %q: a text report needs %q", cfg.Arch, model.ArchText)
	} else if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(cfg.Nesting) < 2 {
		add("nesting %v: a report needs at least two dims", cfg.Nesting)
	}
	for _, w := range o.SmallDimWeights {
		if !(w > 0) {
			add("SmallDimWeights %v: each must be positive", o.SmallDimWeights)
			break
		}
	}
	if err := o.Train.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.TrainPairs < 0 || o.ValPairs < 0 || o.TestPairs < 0 || o.Queries < 0 || o.ProbeRows < 0 {
		add("TrainPairs %d, ValPairs %d, TestPairs %d, Queries %d, ProbeRows %d: must be ≥ 0", o.TrainPairs, o.ValPairs, o.TestPairs, o.Queries, o.ProbeRows)
	}
	if o.ProbeIters < 1 {
		add("ProbeIters %d: must be ≥ 1", o.ProbeIters)
	}
	if o.ProbeL2 < 0 {
		add("ProbeL2 %v: must be ≥ 0", o.ProbeL2)
	}
	for _, k := range o.Shortlists {
		if k < 100 {
			add("Shortlists %v: each must be ≥ 100, the depth of recall@100", o.Shortlists)
			break
		}
	}
	for _, s := range o.Funnels {
		p, err := index.ParsePlan(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := p.Validate(cfg.Embed, 10); err != nil {
			add("funnel %q: %v", s, err)
		}
	}
	if !(o.HeldOutFrac > 0 && o.HeldOutFrac < 1) {
		add("HeldOutFrac %v: want (0, 1)", o.HeldOutFrac)
	}
	if o.ThresholdSteps < 2 {
		add("ThresholdSteps %d: must be ≥ 2", o.ThresholdSteps)
	}
	if err := o.BM25.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	c := o.Claims
	if c.FFGap < 0 || c.TruncMargin < 0 || c.TruncDim < 1 || c.FunnelTol < 0 || c.FunnelRatio <= 0 {
		add("Claims %+v: thresholds must be non-negative, the dim and ratio positive", c)
	}
	if len(errs) > 0 {
		return fmt.Errorf("report: invalid text options: %w", errors.Join(errs...))
	}
	return nil
}

// textFunnelKeeps are the shortlists of the text funnels: wider than the
// image report's (a synopsis has one relevant description among thousands,
// so the small dims must keep it in a long list), then 100 for recall@100.
var textFunnelKeeps = []int{1000, 400, 200}

// TextFunnels returns one funnel per nesting dim s ≤ 32 but the last:
// stages at every nesting dim from s to the largest, keeping 1000, 400,
// 200 and then 100 (the depth of recall@100). For 8..512 the one from 16 is
// 16:1000,32:400,64:200,128:100,256:100,512:100.
func TextFunnels(n mrl.Nesting) []index.Plan { return funnels(n, textFunnelKeeps, 100) }

func (o TextOptions) funnelPlans() ([]index.Plan, error) {
	if len(o.Funnels) == 0 {
		return TextFunnels(o.nesting()), nil
	}
	var out []index.Plan
	for _, s := range o.Funnels {
		p, err := index.ParsePlan(s)
		if err != nil {
			return nil, fmt.Errorf("report: funnel %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// textShortlistDims are the nesting dims usable as adaptive D_s.
func (o TextOptions) textShortlistDims() []int {
	var ds []int
	n := o.nesting()
	for _, m := range n[:len(n)-1] {
		if m <= o.MaxShortlistDim {
			ds = append(ds, m)
		}
	}
	return slices.Clip(ds)
}
