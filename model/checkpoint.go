package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomrl/mrl/checkpoint"
)

// MetaConfig is the checkpoint metadata key that holds the model's Config
// as JSON.
const MetaConfig = "mrl.model"

// OptimizerPrefix starts the names of a checkpoint's optimizer tensors,
// which a model ignores (package train restores them to resume).
const OptimizerPrefix = "optimizer."

// ErrMismatch reports a checkpoint whose metadata or tensors do not fit
// its model.
var ErrMismatch = errors.New("model: checkpoint does not match its model")

// Load reads the checkpoint at path (a read that ctx cancels; see
// checkpoint.LoadContext) and rebuilds its model.
func Load(ctx context.Context, path string) (*Model, error) {
	f, err := checkpoint.LoadContext(ctx, path)
	if err != nil {
		return nil, err
	}
	m, err := FromCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

// FromCheckpoint rebuilds the model of a decoded checkpoint: its Config
// from the metadata (MetaConfig), every parameter and buffer from the
// tensor of the same name and shape. Optimizer tensors (OptimizerPrefix)
// are ignored; a missing tensor, a shape that differs or any other tensor
// is an error wrapping ErrMismatch that lists every problem.
func FromCheckpoint(f *checkpoint.File) (*Model, error) {
	js, ok := f.Meta[MetaConfig]
	if !ok {
		return nil, fmt.Errorf("%w: metadata %q missing (not a model checkpoint)", ErrMismatch, MetaConfig)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		return nil, fmt.Errorf("%w: metadata %q: %v", ErrMismatch, MetaConfig, err)
	}
	// The seed only initialises the weights, which the tensors replace.
	m, err := New(cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	var errs []error
	used := map[string]bool{}
	load := func(name string, shape []int, dst []float32) {
		t, ok := f.Get(name)
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q missing", name))
			return
		}
		used[name] = true
		if !slices.Equal(t.Shape, shape) {
			errs = append(errs, fmt.Errorf("tensor %q: shape %v, model expects %v", name, t.Shape, shape))
			return
		}
		copy(dst, t.Data)
	}
	for _, p := range m.Params() {
		load(p.Name, p.Shape, p.W)
	}
	for _, b := range m.Buffers() {
		load(b.Name, b.Shape, b.W)
	}
	for _, t := range f.Tensors {
		if !used[t.Name] && !strings.HasPrefix(t.Name, OptimizerPrefix) {
			errs = append(errs, fmt.Errorf("tensor %q is not part of the model", t.Name))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrMismatch, errors.Join(errs...))
	}
	return m, nil
}
