package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

// ErrStale reports a cached checkpoint that was not trained as the report
// asks (another config, recipe, dataset or seed).
var ErrStale = errors.New("report: cached checkpoint does not match the report")

// ModelInfo describes one model of the report.
type ModelInfo struct {
	Name     string `json:"name"`  // file stem: "mrl", "mrl-e", "ff16"
	Label    string `json:"label"` // "MRL", "MRL-E", "FF-16"
	Heads    string `json:"heads"`
	FFDim    int    `json:"ff_dim,omitempty"`
	Path     string `json:"path"`
	Cached   bool   `json:"cached"` // loaded from a complete checkpoint, not trained by this run
	Describe string `json:"describe"`
	Epochs   int    `json:"epochs"`
	Steps    int    `json:"steps"`
	// TrainSeconds is the training time recorded in the checkpoint's
	// history (all epochs, without validation); SamplesSec its mean speed.
	TrainSeconds float64 `json:"train_seconds"`
	SamplesSec   float64 `json:"samples_per_sec"`
}

// spec is a model the report needs.
type spec struct {
	name, label, heads string
	ffDim              int
}

func modelSpecs(o Options) []spec {
	s := []spec{{"mrl", "MRL", "mrl", 0}, {"mrl-e", "MRL-E", "mrl-e", 0}}
	for _, k := range o.nesting() {
		s = append(s, spec{fmt.Sprintf("ff%d", k), fmt.Sprintf("FF-%d", k), "ff", k})
	}
	return s
}

// config returns the model config of s for data ds.
func (o Options) config(s spec, ds *data.Dataset) model.Config {
	c := o.Model
	c.Heads, c.FFDim, c.Classes = model.Heads(s.heads), s.ffDim, ds.Classes
	c.InH, c.InW, c.InC = ds.H, ds.W, ds.C
	if ds.H == 0 {
		c.InH, c.InW, c.InC = 1, 1, ds.Dim
	}
	if s.heads == "ff" {
		c.Nesting = nil // {FFDim}
	}
	return c.WithDefaults()
}

// recipe returns the training options as a checkpoint records them, with
// the run-time-only fields cleared.
func recipe(t train.Options) train.Options {
	t = t.WithDefaults()
	t.Threads, t.EvalBatch = 0, 0
	return t
}

// dataName is the dataset name recorded in the checkpoints: the spec, with
// the row limit when there is one ("mnist[:6000]").
func (o Options) dataName() string {
	if o.TrainRows > 0 {
		return fmt.Sprintf("%s[:%d]", o.Data, o.TrainRows)
	}
	return o.Data
}

// checkCached compares a checkpoint's model and trainer state with what
// the report asks for and returns every difference.
func checkCached(path string, have model.Config, st *train.State, want model.Config, wantOpts train.Options, dataName string, seed uint64) error {
	var diffs []error
	for _, d := range fieldDiffs(have, want) {
		diffs = append(diffs, fmt.Errorf("model config %s", d))
	}
	if st == nil {
		diffs = append(diffs, fmt.Errorf("no trainer state: its recipe is unknown"))
	} else {
		for _, d := range fieldDiffs(recipe(st.Options), wantOpts) {
			diffs = append(diffs, fmt.Errorf("training recipe %s", d))
		}
		if st.Data != dataName {
			diffs = append(diffs, fmt.Errorf("trained on %q, want %q", st.Data, dataName))
		}
		if st.ModelSeed != seed {
			diffs = append(diffs, fmt.Errorf("model seed %d, want %d", st.ModelSeed, seed))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s: %w (use another runs directory, or retrain)", ErrStale, path, errors.Join(diffs...))
	}
	return nil
}

// fieldDiffs compares the JSON fields of have and want and returns
// "field have, want want" for each that differs, sorted by field.
func fieldDiffs(have, want any) []string {
	var h, w map[string]any
	hj, _ := json.Marshal(have)
	wj, _ := json.Marshal(want)
	json.Unmarshal(hj, &h)
	json.Unmarshal(wj, &w)
	keys := map[string]bool{}
	for k := range h {
		keys[k] = true
	}
	for k := range w {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, _ := json.Marshal(h[k])
		b, _ := json.Marshal(w[k])
		if string(a) != string(b) {
			out = append(out, fmt.Sprintf("%s %s, want %s", k, a, b))
		}
	}
	return out
}

// complete reports whether a trainer state has finished its recipe.
func complete(st *train.State) bool {
	o := st.Options
	return st.Epoch >= o.Epochs || (o.MaxSteps > 0 && st.GlobalStep >= o.MaxSteps)
}

// obtain returns the model of s: loaded from DIR/NAME.ckpt when that is a
// complete checkpoint of the asked config and recipe, resumed when it is
// an incomplete one, trained from scratch when it is missing (or
// o.Retrain). Checkpoints are saved after every epoch.
func obtain(ctx context.Context, o Options, s spec, trainSet, val *data.Dataset, log *slog.Logger) (*model.Model, ModelInfo, error) {
	path := filepath.Join(o.RunsDir, s.name+".ckpt")
	want := o.config(s, trainSet)
	wantOpts := o.Train
	wantOpts.ValFrac = o.ValFrac
	wantOpts = recipe(wantOpts)
	info := ModelInfo{Name: s.name, Label: s.label, Heads: s.heads, FFDim: s.ffDim, Path: path}

	var tr *train.Trainer
	if _, err := os.Stat(path); err == nil && !o.Retrain {
		cf, err := checkpoint.Load(path)
		if err != nil {
			return nil, info, err
		}
		m, st, err := train.FromFile(cf)
		if err != nil {
			return nil, info, fmt.Errorf("%s: %w", path, err)
		}
		if err := checkCached(path, m.Config, st, want, wantOpts, o.dataName(), o.ModelSeed); err != nil {
			return nil, info, err
		}
		if complete(st) {
			info.Cached = true
			fill(&info, m, st.History, st.GlobalStep)
			log.Info("loaded cached model", "model", s.label, "checkpoint", path, "epochs", st.Epoch)
			return m, info, nil
		}
		tr, _, err = train.Resume(cf, trainSet.N, 0)
		if err != nil {
			return nil, info, fmt.Errorf("resume %s: %w", path, err)
		}
		log.Info("resuming incomplete checkpoint", "model", s.label, "checkpoint", path, "epoch", st.Epoch, "step_in_epoch", st.StepInEpoch)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, info, err
	} else {
		m, err := model.New(want, o.ModelSeed)
		if err != nil {
			return nil, info, err
		}
		opts := o.Train
		opts.ValFrac = o.ValFrac
		if tr, err = train.New(m, opts, trainSet.N); err != nil {
			return nil, info, err
		}
		log.Info("training", "model", s.label, "describe", m.Describe(), "train_rows", trainSet.N, "steps_per_epoch", tr.StepsPerEpoch(), "checkpoint", path)
	}
	if o.Train.Threads > 0 {
		tr.Options.Threads = o.Train.Threads
	}
	if err := os.MkdirAll(o.RunsDir, 0o755); err != nil {
		return nil, info, err
	}
	tr.Log = log.With("model", s.label)
	return trainSaved(ctx, tr, func(ctx context.Context) error { return tr.Run(ctx, trainSet, val) }, path, o.dataName(), o.ModelSeed, s.label, info, log)
}

func fill(info *ModelInfo, m *model.Model, hist []train.EpochStats, steps int) {
	info.Describe = m.Describe()
	info.Epochs, info.Steps = len(hist), steps
	for _, h := range hist {
		info.TrainSeconds += h.Seconds
	}
	if info.TrainSeconds > 0 {
		var samples float64
		for _, h := range hist {
			samples += h.SamplesSec * h.Seconds
		}
		info.SamplesSec = samples / info.TrainSeconds
	}
}

// trainSaved trains tr with run (its Run or RunPairs), saving a checkpoint
// to path after every epoch and at the end, and when interrupted, so that
// the next report resumes it; info gets the model's training figures.
func trainSaved(ctx context.Context, tr *train.Trainer, run func(context.Context) error, path, dataName string, seed uint64, label string, info ModelInfo, log *slog.Logger) (*model.Model, ModelInfo, error) {
	save := func(t *train.Trainer) error { return train.Save(path, t.Model, t, dataName, seed) }
	tr.OnEpoch = func(t *train.Trainer, _ train.EpochStats) error { return save(t) }
	start := time.Now()
	if err := run(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			if serr := save(tr); serr == nil {
				log.Info("interrupted: checkpoint saved; the next report resumes it", "checkpoint", path)
			}
		}
		return nil, info, fmt.Errorf("train %s: %w", label, err)
	}
	if err := save(tr); err != nil {
		return nil, info, err
	}
	fill(&info, tr.Model, tr.History, tr.GlobalStep)
	log.Info("trained", "model", label, "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "samples/s", fmt.Sprintf("%.0f", info.SamplesSec))
	return tr.Model, info, nil
}
