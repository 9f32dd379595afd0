package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/nn"
)

// Metadata keys of a training checkpoint (values are JSON).
const (
	MetaModel = model.MetaConfig // model.Config
	MetaTrain = "mrl.train"      // State
)

// State is the trainer state saved in a checkpoint besides the tensors.
type State struct {
	Options     Options      `json:"options"`
	Data        string       `json:"data"` // dataset name the run trained on
	ModelSeed   uint64       `json:"model_seed"`
	Epoch       int          `json:"epoch"`
	StepInEpoch int          `json:"step_in_epoch"`
	GlobalStep  int          `json:"global_step"`
	OptSteps    int          `json:"optimizer_steps"`
	History     []EpochStats `json:"history"`
	Partial     Partial      `json:"partial"`
}

// optPrefix names optimizer slots in checkpoints.
const optPrefix = model.OptimizerPrefix

// Checkpoint captures the model's weights and buffers and, when t is not nil,
// the optimizer state and trainer state.
func Checkpoint(m *model.Model, t *Trainer, dataName string, modelSeed uint64) (*checkpoint.File, error) {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return nil, err
	}
	f := &checkpoint.File{Meta: map[string]string{MetaModel: string(cfg)}}
	for _, p := range m.Params() {
		f.Add(p.Name, p.Shape, p.W)
	}
	for _, b := range m.Buffers() {
		f.Add(b.Name, b.Shape, b.W)
	}
	if t != nil {
		st := State{Options: t.Options, Data: dataName, ModelSeed: modelSeed, Epoch: t.Epoch, StepInEpoch: t.StepInEpoch,
			GlobalStep: t.GlobalStep, OptSteps: t.Opt.Steps(), History: t.History, Partial: t.Partial}
		js, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		f.Meta[MetaTrain] = string(js)
		for _, b := range t.Opt.State() {
			f.Add(optPrefix+b.Name, b.Shape, b.W)
		}
	}
	return f, nil
}

// Save writes a checkpoint of m (and t, if not nil) to path atomically.
func Save(path string, m *model.Model, t *Trainer, dataName string, modelSeed uint64) error {
	f, err := Checkpoint(m, t, dataName, modelSeed)
	if err != nil {
		return err
	}
	return checkpoint.Save(path, f)
}

// LoadModel reads a checkpoint and rebuilds its model with the saved
// weights. The State is nil when the checkpoint holds no trainer state.
func LoadModel(path string) (*model.Model, *State, *checkpoint.File, error) {
	return LoadModelContext(context.Background(), path)
}

// LoadModelContext is LoadModel with a file read that ctx cancels.
func LoadModelContext(ctx context.Context, path string) (*model.Model, *State, *checkpoint.File, error) {
	f, err := checkpoint.LoadContext(ctx, path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, st, err := FromFile(f)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, st, f, nil
}

// ErrMismatch reports a checkpoint whose tensors do not fit its model (or
// its trainer state); it is model.ErrMismatch, which package model's
// loading wraps too.
var ErrMismatch = model.ErrMismatch

// FromFile rebuilds a model (model.FromCheckpoint) and the trainer state,
// if present, from a decoded checkpoint. Optimizer tensors are allowed only
// beside a trainer state.
func FromFile(f *checkpoint.File) (*model.Model, *State, error) {
	var st *State
	if js, ok := f.Meta[MetaTrain]; ok {
		st = new(State)
		if err := json.Unmarshal([]byte(js), st); err != nil {
			return nil, nil, fmt.Errorf("%w: metadata %q: %v", ErrMismatch, MetaTrain, err)
		}
	}
	m, err := model.FromCheckpoint(f)
	if err != nil {
		return nil, nil, err
	}
	if st == nil {
		var stray []error
		for _, t := range f.Tensors {
			if strings.HasPrefix(t.Name, optPrefix) {
				stray = append(stray, fmt.Errorf("tensor %q is not part of the model", t.Name))
			}
		}
		if len(stray) > 0 {
			return nil, nil, fmt.Errorf("%w: %w", ErrMismatch, errors.Join(stray...))
		}
	}
	return m, st, nil
}

// Resume rebuilds the trainer of a checkpoint written with trainer state,
// for a training set of n examples. epochs > 0 changes the number of
// epochs (to train longer; the schedule is stretched to the new length);
// every other option comes from the checkpoint.
func Resume(f *checkpoint.File, n int, epochs int) (*Trainer, *State, error) {
	m, st, err := FromFile(f)
	if err != nil {
		return nil, nil, err
	}
	if st == nil {
		return nil, nil, fmt.Errorf("%w: no trainer state (metadata %q): it cannot be resumed", ErrMismatch, MetaTrain)
	}
	opts := st.Options
	if epochs > 0 {
		opts.Epochs = epochs
	}
	t, err := New(m, opts, n)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, b := range t.Opt.State() {
		tn, ok := f.Get(optPrefix + b.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("optimizer tensor %q missing", optPrefix+b.Name))
			continue
		}
		if !slices.Equal(tn.Shape, b.Shape) {
			errs = append(errs, fmt.Errorf("optimizer tensor %q: shape %v, expected %v", optPrefix+b.Name, tn.Shape, b.Shape))
			continue
		}
		copy(b.W, tn.Data)
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrMismatch, errors.Join(errs...))
	}
	t.Opt.SetSteps(st.OptSteps)
	t.Epoch, t.StepInEpoch, t.GlobalStep, t.History, t.Partial = st.Epoch, st.StepInEpoch, st.GlobalStep, st.History, st.Partial
	return t, st, nil
}

var _ nn.Optimizer = (*nn.SGD)(nil)
