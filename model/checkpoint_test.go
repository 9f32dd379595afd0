package model_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

// TestLoad: a model written by train.Save loads with model.Load, tensor
// for tensor; damaged metadata and tensors are refused with ErrMismatch.
func TestLoad(t *testing.T) {
	cfg := model.Config{Arch: "mlp", InH: 28, InW: 28, InC: 1, Hidden: 16, Embed: 8, Nesting: []int{4, 8}, Heads: "mrl", Classes: 10}
	m, err := model.New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := train.Save(path, m, nil, "mnist", 7); err != nil {
		t.Fatal(err)
	}
	got, err := model.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got.Params() {
		if q := m.Params()[i]; p.Name != q.Name || !slices.Equal(p.W, q.W) {
			t.Fatalf("param %s differs after loading", q.Name)
		}
	}
	f, err := train.Checkpoint(m, nil, "mnist", 7)
	if err != nil {
		t.Fatal(err)
	}
	f.Add("optimizer.x.momentum", []int{1}, []float32{0}) // ignored by model
	if _, err := model.FromCheckpoint(f); err != nil {
		t.Errorf("an optimizer tensor: %v", err)
	}
	f.Add("backbone.extra", []int{1}, []float32{0})
	if _, err := model.FromCheckpoint(f); !errors.Is(err, model.ErrMismatch) {
		t.Errorf("an extra tensor: err = %v, want ErrMismatch", err)
	}
	if _, err := model.FromCheckpoint(&checkpoint.File{Meta: map[string]string{}}); !errors.Is(err, model.ErrMismatch) {
		t.Errorf("no config: err = %v, want ErrMismatch", err)
	}
	if _, err := model.FromCheckpoint(&checkpoint.File{Meta: map[string]string{model.MetaConfig: `{"arch":"mlp"`}}); !errors.Is(err, model.ErrMismatch) {
		t.Errorf("broken config: err = %v, want ErrMismatch", err)
	}
}
