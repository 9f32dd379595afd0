package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/report"
	"github.com/gomrl/mrl/train"
)

const reportHelp = `Usage: mrl report --data fashion-mnist|mnist|debian-descriptions|jsonl:FILE [flags]

Reproduces the paper's evaluation on one dataset and writes a report folder:
results.json (every number), a CSV per table, report.md, a self-contained
report.html and PNG plots (accuracy, 1-NN, adaptive classification,
retrieval cost and few-shot against the dim), with a table of the paper's
claims next to the measured values, pass or miss.

It needs MRL, MRL-E and FF-k for every k of the nesting, all trained with
one recipe. Each is loaded from RUNS/{mrl,mrl-e,ff<k>}.ckpt when that
checkpoint was trained with the asked config and recipe (a different one is
an error: use another --runs or --retrain), resumed when it is incomplete,
and trained and saved there when it is missing. Ctrl-C saves the model in
training; the next run resumes it.

How long: the full report trains 9 CNN models (MRL, MRL-E, FF-8 ... FF-512)
for 5 epochs each. The training log prints samples/s; at ~650 samples/s on
2 cores one epoch of 54,000 images takes ~83 s, so training takes about an
hour (9 x 5 x 83 s), and the evaluations (embedding 64,000 images with each
model, ~40 linear probes, 1-NN, retrieval plans) about 10 minutes more. With
cached checkpoints only the evaluations run. --quick trains tiny MLPs (784-128-64,
nesting 8..64) for 3 epochs on 5,400 images and evaluates on subsets: well
under a minute, for CI; its numbers are not a reproduction.

Text sets (--data debian-descriptions, or jsonl:FILE of query/doc pairs)
get a text report instead: synopsis→description recall@1/10/100, MRR@10
and nDCG@10 per prefix dim for MRL, FF-k (a separate encoder per size k),
truncation and PCA of the full-size FF encoder, and BM25 with its
reciprocal-rank fusion with MRL; funnel and adaptive plans with their FLOPs
and wall-clock; section classification by linear probes per dim and the
adaptive cascade over MRL's probes; the data's counts, source and SHA-256.
It trains MRL and FF-8 ... FF-512 (8 text models, 4 epochs each: 10 minutes
on a busy 2-core machine) and evaluates them (about 1 minute more). --quick trains 64-d models on 6,000 pairs: about a minute.
--buckets, --bag-dim and --lr apply to text models only.

Examples:
  mrl report --data fashion-mnist                       # full, about an hour on 2 cores
  mrl report --data debian-descriptions                 # text, about 27 minutes on 2 busy cores
  mrl report --data fashion-mnist --runs runs/fashion   # reuse checkpoints trained by "mrl train"
  mrl report --data mnist --quick --out /tmp/r          # CI-sized, under a minute
`

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	spec := fs.String("data", "fashion-mnist", "dataset: mnist, fashion-mnist, idx:DIR or npy:...")
	quick := fs.Bool("quick", false, "CI-sized report: tiny MLPs, a few hundred steps, data subsets")
	runs := fs.String("runs", "", "checkpoint directory (default runs/report-DATA, with -quick for --quick)")
	out := fs.String("out", "", "report directory (default report-DATA, with -quick for --quick)")
	retrain := fs.Bool("retrain", false, "train every model even if a checkpoint exists, overwriting it")
	epochs := fs.Int("epochs", 0, "training epochs of every model (default 5, 3 with --quick)")
	var arch model.Arch
	textVar(fs, &arch, "model", "backbone: cnn or mlp (default cnn, mlp with --quick)")
	embed := fs.Int("embed", 0, "embedding size (default 512, 64 with --quick)")
	hidden := fs.Int("hidden", 0, "mlp hidden width (default 1024, 128 with --quick)")
	width := fs.Int("width", 0, "cnn base channels (default 16)")
	nesting := fs.String("nesting", "", "comma-separated dims (default powers of two from 8 to --embed)")
	batch := fs.Int("batch", 0, "batch size (default 256, 64 with --quick)")
	maxSteps := fs.Int("max-steps", 0, "stop each model's training after this many steps (0: no limit)")
	trainRows := fs.Int("train-rows", -1, "keep the first N training rows (default all, 6000 with --quick)")
	testRows := fs.Int("test-rows", -1, "keep the first N test rows (default all, 2000 with --quick)")
	queries := fs.Int("queries", 0, "retrieval queries (default 1000, 200 with --quick)")
	probeIters := fs.Int("probe-iters", 0, "L-BFGS iterations per linear probe (default 100, 50 with --quick)")
	probeRows := fs.Int("probe-rows", -1, "train rows the probes and PCA are fitted on (default 10000, 2000 with --quick; 0: all)")
	threads := fs.Int("threads", 0, "compute threads (default all cores)")
	buckets := fs.Int("buckets", 0, "text: hash buckets of the tokenizer (default 65536, 32768 with --quick)")
	bagDim := fs.Int("bag-dim", 0, "text: width of the embedding bag (default 64)")
	lr := fs.Float64("lr", 0, "text: peak learning rate of AdamW (default 0.01)")
	render := fs.String("render", "", "only render the report again from this results.json (tables, plots, report.md and report.html into --out, default its folder); nothing is trained or evaluated")
	if err := parseFlags(fs, reportHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see mrl report -h)", fs.Args())
	}
	common := reportFlags{runs: *runs, out: *out, retrain: *retrain, epochs: *epochs, embed: *embed, nesting: *nesting,
		batch: *batch, maxSteps: *maxSteps, threads: *threads, trainRows: *trainRows, testRows: *testRows,
		queries: *queries, probeIters: *probeIters, probeRows: *probeRows}
	if *render != "" {
		dir := *out
		if dir == "" {
			dir = filepath.Dir(*render)
		}
		files, err := report.Render(*render, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rendered %d files into %s from %s\n", len(files), dir, *render)
		return nil
	}
	if report.IsTextData(*spec) {
		o := report.DefaultTextOptions(*spec)
		if *quick {
			o = report.QuickTextOptions(*spec)
		}
		switch {
		case arch != "" && arch != model.ArchText:
			return fmt.Errorf("--model %s: a text set (--data %s) needs text models", arch, *spec)
		case *hidden > 0 || *width > 0:
			return fmt.Errorf("--hidden and --width apply to image models only")
		}
		if err := common.apply(&o.RunsDir, &o.OutDir, &o.Retrain, &o.Model, &o.Train, &o.TrainPairs, &o.TestPairs, &o.Queries, &o.ProbeIters, &o.ProbeRows); err != nil {
			return err
		}
		if *buckets > 0 {
			tc := *o.Model.Tokenizer
			tc.Buckets = *buckets
			o.Model.Tokenizer = &tc
		}
		if *bagDim > 0 {
			o.Model.BagDim = *bagDim
		}
		if *lr > 0 {
			o.Train.LR = *lr
		}
		return runTextReport(ctx, o, stdout)
	}
	if *buckets > 0 || *bagDim > 0 || *lr > 0 {
		return fmt.Errorf("--buckets, --bag-dim and --lr apply to text sets only (--data %s)", *spec)
	}
	o := report.DefaultOptions(*spec)
	if *quick {
		o = report.QuickOptions(*spec)
	}
	if err := common.apply(&o.RunsDir, &o.OutDir, &o.Retrain, &o.Model, &o.Train, &o.TrainRows, &o.TestRows, &o.Queries, &o.ProbeIters, &o.ProbeRows); err != nil {
		return err
	}
	if arch != "" {
		o.Model.Arch = arch
	}
	if *hidden > 0 {
		o.Model.Hidden = *hidden
	}
	if *width > 0 {
		o.Model.Width = *width
	}
	if err := o.Validate(); err != nil {
		return err
	}
	log := slog.Default().With("cmd", "report")
	start := time.Now()
	if o.Train.Threads > 0 {
		defer kernel.SetThreads(kernel.SetThreads(o.Train.Threads))
	}
	res, err := report.Run(ctx, o, log)
	if err != nil {
		return err
	}
	files, err := report.Write(o.OutDir, res)
	if err != nil {
		return err
	}
	printReport(stdout, log, "MRL reproduction report for "+o.Data, o.OutDir, start, res.Claims, files)
	return nil
}

// runTextReport runs and writes a text report and prints its claims.
func runTextReport(ctx context.Context, o report.TextOptions, stdout io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := slog.Default().With("cmd", "report")
	start := time.Now()
	if o.Train.Threads > 0 {
		defer kernel.SetThreads(kernel.SetThreads(o.Train.Threads))
	}
	res, err := report.RunText(ctx, o, log)
	if err != nil {
		return err
	}
	files, err := report.WriteText(o.OutDir, res)
	if err != nil {
		return err
	}
	printReport(stdout, log, "MRL text report for "+o.Data, o.OutDir, start, res.Claims, files)
	return nil
}

// printReport logs that a report was written and prints its claims (PASS,
// MISS, or "stated" for a figure given without a threshold) and its files.
func printReport(stdout io.Writer, log *slog.Logger, title, dir string, start time.Time, claims []report.Claim, files []string) {
	log.Info("report written", "dir", dir, "files", len(files), "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	fmt.Fprintf(stdout, "%s in %s (%v)\n\n", title, dir, time.Since(start).Round(time.Second))
	for _, c := range claims {
		v := "MISS"
		switch {
		case c.Stated:
			v = "stated"
		case c.Pass:
			v = "PASS"
		}
		fmt.Fprintf(stdout, "(%s) %s  %s\n    %s\n", c.ID, v, c.Claim, c.Measured)
	}
	fmt.Fprintf(stdout, "\nfiles: %s\n", strings.Join(files, " "))
}

// reportFlags are the flags the image and the text report share; their
// zero (or −1 for row counts) keeps the options' default.
type reportFlags struct {
	runs, out, nesting                                  string
	retrain                                             bool
	epochs, embed, batch, maxSteps, threads             int
	trainRows, testRows, queries, probeIters, probeRows int
}

// apply sets the options' fields the flags give: the directories, the
// model's size and nesting, the training recipe, and the row, query and
// probe counts (trainRows and testRows count pairs for text sets).
func (f reportFlags) apply(runsDir, outDir *string, retrain *bool, m *model.Config, t *train.Options, trainRows, testRows, queries, probeIters, probeRows *int) error {
	if f.runs != "" {
		*runsDir = f.runs
	}
	if f.out != "" {
		*outDir = f.out
	}
	*retrain = f.retrain
	if f.embed > 0 {
		m.Embed = f.embed
	}
	if f.nesting != "" {
		n, err := mrl.ParseNesting(f.nesting)
		if err != nil {
			return fmt.Errorf("--nesting: %w", err)
		}
		m.Nesting = n
	}
	if f.epochs > 0 {
		t.Epochs = f.epochs
	}
	if f.batch > 0 {
		t.BatchSize = f.batch
	}
	t.MaxSteps = f.maxSteps
	t.Threads = f.threads
	if f.trainRows >= 0 {
		*trainRows = f.trainRows
	}
	if f.testRows >= 0 {
		*testRows = f.testRows
	}
	if f.queries > 0 {
		*queries = f.queries
	}
	if f.probeIters > 0 {
		*probeIters = f.probeIters
	}
	if f.probeRows >= 0 {
		*probeRows = f.probeRows
	}
	return nil
}
