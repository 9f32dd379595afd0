// Package report runs the paper's evaluation suite on a set of models (MRL,
// MRL-E and FF-k for every k of the nesting, trained or loaded from cached
// checkpoints) and writes a reproduction report: results.json with every
// number, a CSV per table, report.md, a self-contained report.html and PNG
// plots, with a table of the paper's claims next to the measured values.
//
// Conventions: accuracies and metrics are fractions in [0, 1] in the
// Results (and results.json) and percentages with two decimals in the
// tables and CSVs; "points" are percentage points. Every evaluation is on
// the test split; probes and the SVD baseline are fitted on the (frozen)
// embeddings of the training split; 1-NN and retrieval search the training
// split's embeddings with test queries, by the cosine of re-normalised
// prefixes.
package report

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

// Options configure a report. Start from DefaultOptions or QuickOptions;
// the default of each field is given next to it (quick mode's in
// brackets).
type Options struct {
	// Data is the dataset spec read by data.Load ("fashion-mnist").
	Data string
	// RunsDir holds the checkpoints DIR/mrl.ckpt, DIR/mrl-e.ckpt and
	// DIR/ff<k>.ckpt ("runs/report-DATA" ["runs/report-DATA-quick"]). A
	// checkpoint present there is used when its model config and training
	// recipe are the ones asked for, and is an error otherwise (unless
	// Retrain); a missing one is trained and saved there.
	RunsDir string
	// OutDir receives the report ("report-DATA" ["report-DATA-quick"]).
	OutDir string
	// Retrain trains every model even when a checkpoint exists, and
	// overwrites it (false).
	Retrain bool

	// Model is the template of every model: Arch, Hidden, Width, Embed and
	// Nesting are used; Heads, FFDim and Classes are set per model and from
	// the data (the CNN with width 16, embed 512 and nesting 8..512 [an MLP
	// 784-128-64 with nesting 8..64]).
	Model model.Config
	// ModelSeed seeds every model's initial weights (1).
	ModelSeed uint64
	// Train is the training recipe, the same for every model (train
	// defaults: 5 epochs of SGD with one-cycle, batch 256 [3 epochs of
	// batch 64]). Threads is not part of the recipe.
	Train train.Options
	// ValFrac is the seeded fraction of the training rows held out for
	// per-epoch validation, as "mrl train --val-frac" (0.1).
	ValFrac float64
	// TrainRows and TestRows keep only the first rows of the training and
	// test files (0: all [6000, 2000]).
	TrainRows, TestRows int

	// ProbeRows is the number of training rows (the first ones) the linear
	// probes and the PCA are fitted on (10000 [2000]; 0: all).
	ProbeRows int
	// ProbeIters bounds the L-BFGS iterations of every probe (100 [50]).
	ProbeIters int
	// ProbeL2 is the probes' L2 penalty (1e-4).
	ProbeL2 float64
	// DBRows is the number of training rows (the first ones) in the
	// database of 1-NN, retrieval and few-shot support (0: all).
	DBRows int
	// NNQueries is the number of test rows (the first ones) classified by
	// 1-NN (5000 [0]; 0: all).
	NNQueries int
	// Queries is the number of test rows (the first ones) used as
	// retrieval queries (1000 [200]).
	Queries int
	// Ks are the retrieval cutoffs (10, 25, 50, 100).
	Ks []int
	// Shortlists are the adaptive-retrieval shortlist sizes K (100, 200,
	// 400); the grid pairs every nesting dim D_s ≤ MaxShortlistDim with
	// every larger nesting dim D_r, reranking to 10.
	Shortlists []int
	// MaxShortlistDim bounds D_s in the adaptive grid (64 [32]).
	MaxShortlistDim int
	// Funnels are the funnel plans ("dim:keep,..."); empty means
	// DefaultFunnels of the nesting (the paper's 16→32→64→128→256→full
	// with shortlists 200→100→50→25→10, and the same from the other dims
	// ≤ 32).
	Funnels []string
	// Shots are the few-shot sizes per class (1, 5, 10).
	Shots []int
	// FewShotSeeds is the number of seeded shot draws averaged (5 [3]).
	FewShotSeeds int
	// HeldOutFrac is the fraction of the test rows on which the adaptive
	// classification thresholds are fitted; the rest evaluates (0.5).
	HeldOutFrac float64
	// ThresholdSteps is the size of the threshold grid 0.1..1 (100, as the
	// official notebook).
	ThresholdSteps int
	// Seed seeds the held-out split and the few-shot draws (1).
	Seed uint64

	// Claims are the thresholds of the paper-claims table.
	Claims ClaimThresholds
	// Quick marks a CI-sized report (tiny models, data subsets); it is
	// printed in the report.
	Quick bool
}

// ClaimThresholds are the pass/miss thresholds of the paper's claims.
type ClaimThresholds struct {
	// FFGap: MRL's head top-1 within this many points of FF-k at every
	// dim k (1).
	FFGap float64 `json:"ff_gap_points"`
	// BaselineMargin: MRL's head top-1 at least this many points above
	// both the SVD and the random-features (Rand. LP) baselines (5) at
	// every dim ≤ BaselineMaxDim (32).
	BaselineMargin float64 `json:"baseline_margin_points"`
	BaselineMaxDim int     `json:"baseline_max_dim"`
	// AdaptiveTol: adaptive classification within this many points of the
	// best FF accuracy (0.2) at an expected dim at least AdaptiveRatio (8)
	// times smaller than that FF model's dim.
	AdaptiveTol   float64 `json:"adaptive_tol_points"`
	AdaptiveRatio float64 `json:"adaptive_ratio"`
	// FunnelTol: a funnel or adaptive retrieval plan whose mAP@10 is
	// within this relative fraction (0.005, i.e. 0.5%) of full-size exact
	// search at FunnelRatio (64) times fewer FLOPs.
	FunnelTol   float64 `json:"funnel_tol"`
	FunnelRatio float64 `json:"funnel_ratio"`
}

// DefaultClaimThresholds are the thresholds the issue states.
func DefaultClaimThresholds() ClaimThresholds {
	return ClaimThresholds{FFGap: 1, BaselineMargin: 5, BaselineMaxDim: 32, AdaptiveTol: 0.2, AdaptiveRatio: 8, FunnelTol: 0.005, FunnelRatio: 64}
}

// DefaultOptions returns the full-size report of dataset spec: the CNN
// recipe of "mrl train --model cnn" (its defaults), every row.
func DefaultOptions(spec string) Options {
	return Options{
		Data:            spec,
		RunsDir:         filepath.Join("runs", "report-"+safeName(spec)),
		OutDir:          "report-" + safeName(spec),
		Model:           model.Config{Arch: "cnn", Width: 16, Hidden: 1024, Embed: 512},
		ModelSeed:       1,
		Train:           train.Options{Epochs: 5, BatchSize: 256, Optimizer: "sgd", Momentum: 0.9, Schedule: "onecycle", Seed: 1},
		ValFrac:         0.1,
		ProbeRows:       10000,
		ProbeIters:      100,
		ProbeL2:         1e-4,
		NNQueries:       5000,
		Queries:         1000,
		Ks:              []int{10, 25, 50, 100},
		Shortlists:      []int{100, 200, 400},
		MaxShortlistDim: 64,
		Shots:           []int{1, 5, 10},
		FewShotSeeds:    5,
		HeldOutFrac:     0.5,
		ThresholdSteps:  100,
		Seed:            1,
		Claims:          DefaultClaimThresholds(),
	}
}

// QuickOptions returns a CI-sized report of dataset spec: an MLP
// 784-128-64 with nesting 8..64 trained for 3 epochs on 5400 rows, and
// evaluations on subsets. It runs in well under a minute on 2 cores.
func QuickOptions(spec string) Options {
	o := DefaultOptions(spec)
	o.Quick = true
	o.RunsDir += "-quick"
	o.OutDir += "-quick"
	o.Model = model.Config{Arch: "mlp", Hidden: 128, Width: 16, Embed: 64}
	o.Train.Epochs, o.Train.BatchSize = 3, 64
	o.TrainRows, o.TestRows = 6000, 2000
	o.ProbeRows, o.ProbeIters = 2000, 50
	o.NNQueries, o.Queries = 0, 200
	o.MaxShortlistDim = 32
	o.FewShotSeeds = 3
	return o
}

func safeName(spec string) string {
	return strings.NewReplacer("/", "_", ":", "_", ",", "_").Replace(spec)
}

// nesting returns the nesting the models use.
func (o Options) nesting() mrl.Nesting {
	return o.Model.WithDefaults().Nesting
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Data == "" {
		add("Data: empty dataset spec")
	}
	if o.RunsDir == "" || o.OutDir == "" {
		add("RunsDir %q / OutDir %q: must be set", o.RunsDir, o.OutDir)
	}
	cfg := o.Model.WithDefaults()
	cfg.InH, cfg.InW, cfg.InC, cfg.Classes = 28, 28, 1, 10 // checked against the data later
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(cfg.Nesting) < 2 {
		add("nesting %v: a report needs at least two dims", cfg.Nesting)
	}
	if err := o.Train.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(o.ValFrac >= 0 && o.ValFrac < 1) {
		add("ValFrac %v: want [0, 1)", o.ValFrac)
	}
	if o.TrainRows < 0 || o.TestRows < 0 || o.ProbeRows < 0 || o.DBRows < 0 || o.NNQueries < 0 {
		add("TrainRows %d, TestRows %d, ProbeRows %d, DBRows %d, NNQueries %d: must be ≥ 0", o.TrainRows, o.TestRows, o.ProbeRows, o.DBRows, o.NNQueries)
	}
	if o.ProbeIters < 1 {
		add("ProbeIters %d: must be ≥ 1", o.ProbeIters)
	}
	if o.ProbeL2 < 0 {
		add("ProbeL2 %v: must be ≥ 0", o.ProbeL2)
	}
	if o.Queries < 1 {
		add("Queries %d: must be ≥ 1", o.Queries)
	}
	if len(o.Ks) == 0 || slices.Min(o.Ks) < 1 {
		add("Ks %v: need at least one cutoff, each ≥ 1", o.Ks)
	} else if !slices.Contains(o.Ks, 10) {
		add("Ks %v: must contain 10 (the claims use mAP@10)", o.Ks)
	}
	for _, k := range o.Shortlists {
		if k < 10 {
			add("Shortlists %v: each must be ≥ 10, the rerank depth", o.Shortlists)
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
	if len(o.Shots) == 0 || slices.Min(o.Shots) < 1 {
		add("Shots %v: need at least one, each ≥ 1", o.Shots)
	}
	if o.FewShotSeeds < 1 {
		add("FewShotSeeds %d: must be ≥ 1", o.FewShotSeeds)
	}
	if !(o.HeldOutFrac > 0 && o.HeldOutFrac < 1) {
		add("HeldOutFrac %v: want (0, 1)", o.HeldOutFrac)
	}
	if o.ThresholdSteps < 2 {
		add("ThresholdSteps %d: must be ≥ 2", o.ThresholdSteps)
	}
	c := o.Claims
	if c.FFGap < 0 || c.BaselineMargin < 0 || c.BaselineMaxDim < 1 || c.AdaptiveTol < 0 || c.AdaptiveRatio <= 0 || c.FunnelTol < 0 || c.FunnelRatio <= 0 {
		add("Claims %+v: thresholds must be non-negative and the ratios and max dim positive", c)
	}
	if len(errs) > 0 {
		return fmt.Errorf("report: invalid options: %w", errors.Join(errs...))
	}
	return nil
}

// funnelPlans returns the funnel plans to run: o.Funnels, or the defaults
// derived from the nesting.
func (o Options) funnelPlans() ([]index.Plan, error) {
	var out []index.Plan
	if len(o.Funnels) > 0 {
		for _, s := range o.Funnels {
			p, err := index.ParsePlan(s) // Validate has checked it
			if err != nil {
				return nil, fmt.Errorf("report: funnel %q: %w", s, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	return DefaultFunnels(o.nesting()), nil
}

// funnelKeeps are the paper's funnel shortlists, 200→100→50→25, then 10.
var funnelKeeps = []int{200, 100, 50, 25}

// DefaultFunnels returns one funnel per nesting dim s ≤ 32 (but the last):
// stages at every nesting dim from s to the largest, keeping 200, 100, 50,
// 25 and then 10. For the nesting 8..2048 the one from 16 is the paper's
// 16:200,32:100,64:50,128:25,256:10,512:10,1024:10,2048:10.
func DefaultFunnels(n mrl.Nesting) []index.Plan { return funnels(n, funnelKeeps, 10) }

// funnels returns one funnel per nesting dim s ≤ 32 but the last: stages
// at every nesting dim from s to the largest, keeping keeps[0], keeps[1],
// ... and then last.
func funnels(n mrl.Nesting, keeps []int, last int) []index.Plan {
	var out []index.Plan
	for i, s := range n[:len(n)-1] {
		if s > 32 {
			break
		}
		var p index.Plan
		for j, d := range n[i:] {
			k := last
			if j < len(keeps) && i+j < len(n)-1 {
				k = keeps[j]
			}
			p = append(p, index.Stage{Dim: d, Keep: k})
		}
		out = append(out, p)
	}
	return out
}
