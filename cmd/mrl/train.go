package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

const trainHelp = `Usage: mrl train [flags]

Trains a model whose embedding is supervised at every prefix size of a
nesting (MRL), with tied classifiers (MRL-E), or at one size only (FF, the
fixed-feature baseline), and writes a checkpoint after every epoch.
Ctrl-C saves a checkpoint at the current step; --resume continues it with the
same batches and the same loss curve.

Examples:
  mrl train --data fashion-mnist --model cnn --heads mrl
  mrl train --data fashion-mnist --model cnn --heads ff --ff-dim 16
  mrl train --resume runs/fashion-mnist-cnn-mrl.ckpt
  mrl train --model text --loss contrastive --pairs pairs.jsonl --embed 256

Text models (--model text) embed texts with a hashed bag of words, word
bigrams and character n-grams (mean of the rows of an embedding bag) and an
MLP, and train with the contrastive Matryoshka loss (InfoNCE over in-batch
negatives at every prefix dim, summed) on pairs: --pairs FILE.jsonl holds
one {"query": "...", "doc": "..."} object a line. Every epoch reports
validation recall@10 per dim on the --val-frac share of the pairs. They
train with AdamW at lr 0.01 unless --optimizer/--lr say otherwise.
`

// trainFlags are the flags shared by train and quickstart.
type trainFlags struct {
	data, nesting, out, resume  string
	arch                        model.Arch
	heads                       model.Heads
	embed, ffDim, hidden, width int
	opts                        train.Options
	valFrac                     float64
	modelSeed                   uint64
	quiet                       bool
	text                        textFlags // --model text
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "mnist", "dataset: mnist, fashion-mnist, idx:DIR or npy:TRAIN_X,TRAIN_Y,TEST_X,TEST_Y")
	f.arch, f.heads = model.ArchMLP, model.HeadsMRL
	textVar(fs, &f.arch, "model", "backbone: mlp (784-hidden-embed), cnn (small ResNet) or text (hashed bag of words and n-grams, MLP; trains on --pairs)")
	textVar(fs, &f.heads, "heads", "heads: mrl (one classifier per dim), mrl-e (one shared, sliced), ff (one dim only)")
	fs.StringVar(&f.nesting, "nesting", "", "comma-separated dims (default powers of two from 8 to --embed)")
	fs.IntVar(&f.embed, "embed", 0, "embedding size (default 2048 for mlp, 512 for cnn)")
	fs.IntVar(&f.ffDim, "ff-dim", 0, "prefix size read by an ff head (default --embed)")
	fs.IntVar(&f.hidden, "hidden", 1024, "mlp hidden width")
	fs.IntVar(&f.width, "width", 16, "cnn base channels (stem width, residual stages 2x and 4x)")
	fs.IntVar(&f.opts.Epochs, "epochs", 5, "epochs")
	fs.IntVar(&f.opts.BatchSize, "batch", 256, "batch size")
	f.opts.Optimizer = train.SGD
	textVar(fs, &f.opts.Optimizer, "optimizer", "sgd or adamw")
	fs.Float64Var(&f.opts.LR, "lr", 0, "peak learning rate (default 0.1 for sgd, 0.001 for adamw)")
	fs.Float64Var(&f.opts.Momentum, "momentum", 0.9, "sgd momentum")
	fs.BoolVar(&f.opts.Nesterov, "nesterov", false, "sgd Nesterov momentum")
	fs.Float64Var(&f.opts.WeightDecay, "wd", 0, "weight decay (default 5e-4 for sgd, 0.01 for adamw; -1 for none)")
	f.opts.Schedule = train.OneCycle
	textVar(fs, &f.opts.Schedule, "schedule", "learning-rate schedule: constant, step, cosine, onecycle")
	fs.Float64Var(&f.opts.WarmupEpochs, "warmup", 0, "warm-up epochs (cosine, onecycle)")
	var smooth float64
	fs.Func("smoothing", "label smoothing in [0,1) (default 0)", func(s string) error {
		_, err := fmt.Sscan(s, &smooth)
		f.opts.LabelSmoothing = float32(smooth)
		return err
	})
	fs.Uint64Var(&f.opts.Seed, "seed", 1, "seed for shuffling and the validation split")
	fs.Uint64Var(&f.modelSeed, "model-seed", 1, "seed for the model's initial weights")
	fs.IntVar(&f.opts.Threads, "threads", 0, "compute threads (default all cores)")
	fs.IntVar(&f.opts.MaxSteps, "max-steps", 0, "stop after this many steps (0: no limit)")
	fs.Float64Var(&f.valFrac, "val-frac", 0.1, "fraction of the training set held out for validation (seeded split)")
	fs.StringVar(&f.out, "out", "", "checkpoint path (default runs/DATA-MODEL-HEADS.ckpt)")
	fs.StringVar(&f.resume, "resume", "", "continue training from this checkpoint (its flags win; --epochs may extend it)")
	fs.BoolVar(&f.quiet, "quiet", false, "no per-step progress")
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f trainFlags
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	f.register(fs)
	f.text.register(fs)
	if err := parseFlags(fs, trainHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go before them; see mrl train -h)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	_, _, err := trainModel(ctx, &f, set, stdout, stderr)
	return err
}

// trainedRun is the result of trainModel.
type trainedRun struct {
	model      *model.Model
	train, val *data.Dataset
	test       *data.Dataset
	path       string
}

func defaultOut(f *trainFlags) string {
	name := strings.NewReplacer("/", "_", ":", "_", ",", "_").Replace(f.data)
	base := fmt.Sprintf("%s-%s-%s", name, f.arch, f.heads)
	if f.heads == "ff" && f.ffDim > 0 {
		base += fmt.Sprintf("%d", f.ffDim)
	}
	return filepath.Join("runs", base+".ckpt")
}

// trainModel trains (or resumes) as the flags say and returns the model and
// data. set names the flags given on the command line.
func trainModel(ctx context.Context, f *trainFlags, set map[string]bool, stdout, stderr io.Writer) (*trainedRun, *train.Trainer, error) {
	var (
		tr *train.Trainer
		m  *model.Model
	)
	if f.resume != "" {
		cf, err := checkpoint.Load(f.resume)
		if err != nil {
			return nil, nil, err
		}
		_, st, err := train.FromFile(cf)
		if err != nil {
			return nil, nil, fmt.Errorf("resume %s: %w", f.resume, err)
		}
		if st == nil {
			return nil, nil, fmt.Errorf("resume %s: the checkpoint has no trainer state", f.resume)
		}
		f.data = st.Data
		f.modelSeed = st.ModelSeed
		for name := range set {
			if name != "epochs" && name != "out" && name != "resume" && name != "quiet" && name != "threads" {
				slog.Warn("flag ignored when resuming: the checkpoint's value is used", "flag", name)
			}
		}
		var mc model.Config
		if json.Unmarshal([]byte(cf.Meta[model.MetaConfig]), &mc) == nil && mc.IsText() {
			tr, err := trainText(ctx, f, set, cf, st, stderr)
			if err != nil {
				return nil, nil, err
			}
			return &trainedRun{model: tr.Model, path: f.out}, tr, nil
		}
		trainSet, val, test, err := loadData(f.data, st.Options.Seed, st.Options.ValFrac)
		if err != nil {
			return nil, nil, err
		}
		epochs := 0
		if set["epochs"] {
			epochs = f.opts.Epochs
		}
		tr, _, err = train.Resume(cf, trainSet.N, epochs)
		if err != nil {
			return nil, nil, fmt.Errorf("resume %s: %w", f.resume, err)
		}
		if set["threads"] {
			tr.Options.Threads = f.opts.Threads
		}
		m = tr.Model
		if f.out == "" {
			f.out = f.resume
		}
		slog.Info("resuming", "checkpoint", f.resume, "epoch", st.Epoch, "step_in_epoch", st.StepInEpoch, "global_step", st.GlobalStep)
		return finishTrain(ctx, f, tr, m, trainSet, val, test, stdout, stderr)
	}
	if f.isText() {
		tr, err := trainText(ctx, f, set, nil, nil, stderr)
		if err != nil {
			return nil, nil, err
		}
		return &trainedRun{model: tr.Model, path: f.out}, tr, nil
	}
	if f.text.loss != "" && f.text.loss != "classification" {
		return nil, nil, fmt.Errorf("--loss %s: image models train with --loss classification (contrastive is for --model text)", f.text.loss)
	}
	trainSet, val, test, err := loadData(f.data, f.opts.Seed, f.valFrac)
	if err != nil {
		return nil, nil, err
	}
	cfg := model.Config{Arch: f.arch, InH: trainSet.H, InW: trainSet.W, InC: trainSet.C, Hidden: f.hidden, Width: f.width,
		Embed: f.embed, Heads: f.heads, FFDim: f.ffDim, Classes: trainSet.Classes}
	if trainSet.H == 0 {
		cfg.InH, cfg.InW, cfg.InC = 1, 1, trainSet.Dim
		if f.arch == "cnn" {
			return nil, nil, fmt.Errorf("dataset %s has no image shape: use --model mlp", f.data)
		}
	}
	if f.nesting != "" {
		n, err := mrl.ParseNesting(f.nesting)
		if err != nil {
			return nil, nil, fmt.Errorf("--nesting: %w", err)
		}
		cfg.Nesting = n
	}
	m, err = model.New(cfg, f.modelSeed)
	if err != nil {
		return nil, nil, err
	}
	opts := f.opts
	opts.ValFrac = f.valFrac
	tr, err = train.New(m, opts, trainSet.N)
	if err != nil {
		return nil, nil, err
	}
	if f.out == "" {
		f.ffDim = m.Config.FFDim
		f.out = defaultOut(f)
	}
	return finishTrain(ctx, f, tr, m, trainSet, val, test, stdout, stderr)
}

func finishTrain(ctx context.Context, f *trainFlags, tr *train.Trainer, m *model.Model, trainSet, val, test *data.Dataset, stdout, stderr io.Writer) (*trainedRun, *train.Trainer, error) {
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return nil, nil, err
	}
	slog.Info("training", "model", m.Describe(), "data", f.data, "train", trainSet.N, "val", val.N,
		"steps_per_epoch", tr.StepsPerEpoch(), "kernels", kernel.CurrentLevel(), "gemm", kernel.Impl, "threads", max(tr.Options.Threads, kernel.Threads()), "checkpoint", f.out)
	pr := newProgress(stderr, tr.Options.BatchSize, f.quiet)
	tr.OnStep = pr.step
	tr.OnEpoch = func(t *train.Trainer, st train.EpochStats) error {
		return train.Save(f.out, m, t, f.data, f.modelSeed)
	}
	// Threads is the program's to set (library code never changes them).
	if n := tr.Options.Threads; n > 0 {
		defer kernel.SetThreads(kernel.SetThreads(n))
	}
	err := tr.Run(ctx, trainSet, val)
	if errors.Is(err, context.Canceled) {
		if serr := train.Save(f.out, m, tr, f.data, f.modelSeed); serr != nil {
			return nil, nil, fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		slog.Info("interrupted: checkpoint saved; continue with --resume", "checkpoint", f.out, "global_step", tr.GlobalStep)
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	if err := train.Save(f.out, m, tr, f.data, f.modelSeed); err != nil {
		return nil, nil, err
	}
	slog.Info("saved", "checkpoint", f.out)
	return &trainedRun{model: m, train: trainSet, val: val, test: test, path: f.out}, tr, nil
}

// loadData loads a dataset and carves the seeded validation split.
func loadData(spec string, seed uint64, valFrac float64) (trainSet, val, test *data.Dataset, err error) {
	full, test, err := data.Load(spec)
	if err != nil {
		return nil, nil, nil, err
	}
	if valFrac < 0 || valFrac >= 1 {
		return nil, nil, nil, fmt.Errorf("--val-frac %v: want [0, 1)", valFrac)
	}
	trainSet, val = full.Split(valFrac, seed)
	return trainSet, val, test, nil
}
