package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

// textFlags are train's flags for text models (--model text).
type textFlags struct {
	loss, pairs            string
	buckets, bagDim, minN  int
	maxN                   int
	hidden                 string
	noMLP, noBigrams       bool
	temperature            float64
	learnTemp, symmetric   bool
	initVectors, initVocab string
}

func (f *textFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.loss, "loss", "", "classification (image models: Matryoshka heads) or contrastive (text models); default from --model")
	fs.StringVar(&f.pairs, "pairs", "", "text model: train on this JSONL pairs file, {\"query\": ..., \"doc\": ...} a line, or TRAIN,VAL,TEST files (sets --data jsonl:FILE)")
	fs.IntVar(&f.buckets, "buckets", 1<<17, "text model: hash buckets B of the tokenizer (rows of the embedding bag)")
	fs.IntVar(&f.bagDim, "bag-dim", 256, "text model: width of the embedding bag's rows")
	fs.StringVar(&f.hidden, "text-hidden", "", "text model: comma-separated hidden widths of the MLP after the bag (default none: one Linear to --embed)")
	fs.BoolVar(&f.noMLP, "no-mlp", false, "text model: the bag's mean is the embedding (bag dim = --embed)")
	fs.IntVar(&f.minN, "min-n", 3, "text model: shortest character n-gram of <word>")
	fs.IntVar(&f.maxN, "max-n", 5, "text model: longest character n-gram; 0 for words and bigrams only")
	fs.BoolVar(&f.noBigrams, "no-bigrams", false, "text model: no word bigrams")
	fs.Float64Var(&f.temperature, "temperature", 0.05, "text model: contrastive temperature τ (initial value with --learn-temperature)")
	fs.BoolVar(&f.learnTemp, "learn-temperature", false, "text model: learn τ as a log-scale parameter")
	fs.BoolVar(&f.symmetric, "symmetric", false, "text model: average query→doc and doc→query losses")
	fs.StringVar(&f.initVectors, "init-vectors", "", "text model: NPY matrix [words][bag-dim] of pretrained word vectors for the word rows (needs --init-vocab)")
	fs.StringVar(&f.initVocab, "init-vocab", "", "text model: the words of --init-vectors' rows, one per line")
}

// isText reports whether the flags ask for a text model: --model text,
// --pairs, or a text set as --data.
func (f *trainFlags) isText() bool {
	return f.arch == model.ArchText || f.text.pairs != "" || f.data == data.DebianDescriptions || strings.HasPrefix(f.data, "jsonl:")
}

// textConfig builds the model config of the text flags.
func (f *trainFlags) textConfig() (model.Config, error) {
	t := f.text
	tc := text.Config{Buckets: t.buckets, MinN: t.minN, MaxN: t.maxN, NoBigrams: t.noBigrams, NoCharNgrams: t.maxN == 0}
	if tc.NoCharNgrams {
		tc.MinN, tc.MaxN = 0, 0
	}
	cfg := model.Config{Arch: model.ArchText, Tokenizer: &tc, BagDim: t.bagDim, Embed: f.embed, NoMLP: t.noMLP,
		Temperature: t.temperature, LearnTemperature: t.learnTemp, Symmetric: t.symmetric}
	if t.noMLP {
		cfg.BagDim = 0 // = Embed
	}
	if t.hidden != "" {
		for _, s := range strings.Split(t.hidden, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return cfg, fmt.Errorf("--text-hidden %q: %v", t.hidden, err)
			}
			cfg.TextHidden = append(cfg.TextHidden, v)
		}
	}
	if f.nesting != "" {
		n, err := mrl.ParseNesting(f.nesting)
		if err != nil {
			return cfg, fmt.Errorf("--nesting: %w", err)
		}
		cfg.Nesting = n
	}
	return cfg, nil
}

// trainText trains (or resumes) a text model on pairs with the contrastive
// loss, as trainModel does for images.
func trainText(ctx context.Context, f *trainFlags, set map[string]bool, cf *checkpoint.File, st *train.State, stderr io.Writer) (*train.Trainer, error) {
	var (
		tr         *train.Trainer
		trainPairs []data.TextPair
		val        []data.TextPair
		err        error
	)
	if cf != nil {
		trainPairs, val, _, err = loadTextData(ctx, st.Data, st.Options.Seed, st.Options.ValFrac)
		if err != nil {
			return nil, err
		}
		epochs := 0
		if set["epochs"] {
			epochs = f.opts.Epochs
		}
		tr, _, err = train.Resume(cf, len(trainPairs), epochs)
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", f.resume, err)
		}
		if set["threads"] {
			tr.Options.Threads = f.opts.Threads
		}
		if f.out == "" {
			f.out = f.resume
		}
		slog.Info("resuming", "checkpoint", f.resume, "epoch", st.Epoch, "step_in_epoch", st.StepInEpoch, "global_step", st.GlobalStep)
	} else {
		switch {
		case f.text.pairs != "" && set["data"]:
			return nil, fmt.Errorf("give a text set (--data %s) or a pairs file (--pairs %s), not both", f.data, f.text.pairs)
		case f.text.pairs != "":
			f.data = "jsonl:" + f.text.pairs
		case !set["data"]:
			return nil, fmt.Errorf("--model text: give --pairs FILE.jsonl or --data %s", data.DebianDescriptions)
		}
		if f.text.loss != "" && f.text.loss != "contrastive" {
			return nil, fmt.Errorf("--loss %s: a text model trains with --loss contrastive", f.text.loss)
		}
		if set["heads"] {
			return nil, errors.New("--heads: a text model has no classification heads (it trains with --loss contrastive)")
		}
		trainPairs, val, _, err = loadTextData(ctx, f.data, f.opts.Seed, f.valFrac)
		if err != nil {
			return nil, err
		}
		cfg, err := f.textConfig()
		if err != nil {
			return nil, err
		}
		m, err := model.New(cfg, f.modelSeed)
		if err != nil {
			return nil, err
		}
		if err := initWordVectors(m, f.text.initVectors, f.text.initVocab); err != nil {
			return nil, err
		}
		opts := f.opts
		opts.ValFrac = f.valFrac
		// Text models train with AdamW (lazy Adam on the bag's touched
		// rows) at lr 0.01 unless told otherwise: SGD did not learn on our
		// synthetic slice (train.TestPairTrainingRaisesRecall).
		if !set["optimizer"] {
			opts.Optimizer = "adamw"
		}
		if !set["lr"] && opts.Optimizer == "adamw" {
			opts.LR = 0.01
		}
		tr, err = train.New(m, opts, len(trainPairs))
		if err != nil {
			return nil, err
		}
		if f.out == "" {
			name := strings.NewReplacer("/", "_", ":", "_", ",", "_").Replace(strings.TrimSuffix(filepath.Base(strings.TrimPrefix(f.data, "jsonl:")), filepath.Ext(f.data)))
			f.out = filepath.Join("runs", name+"-text.ckpt")
		}
	}
	m := tr.Model
	// Threads is the program's to set (library code never changes them).
	if n := tr.Options.Threads; n > 0 {
		defer kernel.SetThreads(kernel.SetThreads(n))
	}
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return nil, err
	}
	slog.Info("training", "model", m.Describe(), "data", f.data, "train_pairs", len(trainPairs), "val_pairs", len(val),
		"steps_per_epoch", tr.StepsPerEpoch(), "optimizer", tr.Options.Optimizer, "lr", tr.Options.LR, "kernels", kernel.CurrentLevel(),
		"threads", kernel.Threads(), "checkpoint", f.out)
	pr := newProgress(stderr, tr.Options.BatchSize, f.quiet)
	tr.OnStep = pr.step
	tr.OnEpoch = func(t *train.Trainer, st train.EpochStats) error {
		return train.Save(f.out, m, t, f.data, f.modelSeed)
	}
	err = tr.RunPairs(ctx, trainPairs, val)
	if errors.Is(err, context.Canceled) {
		if serr := train.Save(f.out, m, tr, f.data, f.modelSeed); serr != nil {
			return nil, fmt.Errorf("interrupted, and saving failed: %w", serr)
		}
		slog.Info("interrupted: checkpoint saved; continue with --resume", "checkpoint", f.out, "global_step", tr.GlobalStep)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := train.Save(f.out, m, tr, f.data, f.modelSeed); err != nil {
		return nil, err
	}
	if h := tr.History; len(h) > 0 && len(h[len(h)-1].ValRecall10) > 0 {
		r := h[len(h)-1].ValRecall10
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = fmt.Sprintf("%d:%.3f", m.Config.Nesting[i], v)
		}
		slog.Info("validation recall@10 per dim", "recall", strings.Join(parts, " "))
	}
	slog.Info("saved", "checkpoint", f.out)
	return tr, nil
}

// loadTextData loads the text set a spec names (data.LoadText:
// "debian-descriptions", or "jsonl:FILE" for a pairs file as --pairs FILE
// gives) with the split seed and validation fraction of the run (0: no
// validation); the test fraction is data's default (0.2), so a resumed run
// carves the same splits.
func loadTextData(ctx context.Context, spec string, seed uint64, valFrac float64) (trainPairs, val, test []data.TextPair, err error) {
	if valFrac < 0 || valFrac >= 1 {
		return nil, nil, nil, fmt.Errorf("--val-frac %v: want [0, 1)", valFrac)
	}
	if valFrac == 0 {
		valFrac = -1 // data.TextOptions: negative means none
	}
	set, err := data.LoadText(ctx, spec, data.TextOptions{Seed: seed, ValFrac: valFrac})
	if err != nil {
		return nil, nil, nil, err
	}
	slog.Info("text data", "name", set.Name, "source", set.Source, "sha256", set.Hash, "train", len(set.Train), "val", len(set.Val),
		"test", len(set.Test), "read", set.Stats.Read, "kept", set.Stats.Kept)
	if len(set.Train) == 0 {
		return nil, nil, nil, fmt.Errorf("text data %s: no training pairs", spec)
	}
	return set.Train, set.Val, set.Test, nil
}

// initWordVectors loads pretrained word vectors (an NPY matrix and a
// vocabulary file, one word a line) into a text model's bag.
func initWordVectors(m *model.Model, npyPath, vocabPath string) error {
	if npyPath == "" && vocabPath == "" {
		return nil
	}
	if npyPath == "" || vocabPath == "" {
		return errors.New("--init-vectors and --init-vocab go together")
	}
	f, err := os.Open(npyPath)
	if err != nil {
		return fmt.Errorf("--init-vectors: %w", err)
	}
	defer f.Close()
	vecs, shape, err := data.ReadNPY(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("--init-vectors %s: %w", npyPath, err)
	}
	if len(shape) != 2 {
		return fmt.Errorf("--init-vectors %s: shape %v: want 2-D (words, %d)", npyPath, shape, m.Config.BagDim)
	}
	b, err := os.ReadFile(vocabPath)
	if err != nil {
		return fmt.Errorf("--init-vocab: %w", err)
	}
	vocab := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(vocab) != shape[0] {
		return fmt.Errorf("--init-vocab %s: %d words for %d vectors in %s", vocabPath, len(vocab), shape[0], npyPath)
	}
	n, err := m.InitWordVectors(vocab, vecs, shape[1])
	if err != nil {
		return fmt.Errorf("--init-vectors %s: %w", npyPath, err)
	}
	slog.Info("word rows initialised from pretrained vectors", "words", len(vocab), "rows", n)
	return nil
}
