package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/model"
)

func mnistSlice(t *testing.T, n int) *data.Dataset {
	t.Helper()
	tr, _, err := data.Load("mnist")
	if err != nil {
		t.Fatalf("load mnist: %v", err)
	}
	return tr.Head(n)
}

func TestLossFallsOnMNIST(t *testing.T) {
	for _, arch := range []string{"mlp", "cnn"} {
		ds := mnistSlice(t, 1024)
		if arch == "cnn" {
			ds = ds.Head(512) // keep the suite fast
		}
		for _, heads := range []string{"mrl", "mrl-e", "ff"} {
			cfg := model.Config{Arch: model.Arch(arch), InH: 28, InW: 28, InC: 1, Hidden: 64, Width: 4, Embed: 32, Heads: model.Heads(heads), FFDim: 16, Classes: 10}
			m, err := model.New(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := New(m, Options{Epochs: 4, BatchSize: 32, Schedule: "constant", LR: 0.2}, ds.N)
			if err != nil {
				t.Fatal(err)
			}
			var first, last float64
			tr.OnStep = func(p Progress) {
				if p.GlobalStep == 1 {
					first = p.Loss
				}
				last = p.Loss
			}
			if err := tr.Run(context.Background(), ds, nil); err != nil {
				t.Fatal(err)
			}
			h := tr.History
			if len(h) != 4 || !(h[3].Loss < 0.75*h[0].Loss) || math.IsNaN(last) {
				t.Errorf("%s/%s: epoch losses %v (first step %v, last %v): want a fall by 25%%", arch, heads, h, first, last)
			}
		}
	}
}

func TestResumeIsBitForBit(t *testing.T) {
	ds := mnistSlice(t, 512)
	cfg := model.Config{Arch: "mlp", InH: 28, InW: 28, InC: 1, Hidden: 32, Embed: 16, Heads: "mrl", Classes: 10}
	opts := Options{Epochs: 4, BatchSize: 64, Optimizer: "adamw", Schedule: "cosine"}
	var hist [][]EpochStats
	run := func(stopAt int, dir string) []float64 {
		m, _ := model.New(cfg, 7)
		tr, err := New(m, opts, ds.N)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		tr.OnStep = func(p Progress) { losses = append(losses, p.Loss) }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if stopAt > 0 {
			tr.OnStep = func(p Progress) {
				losses = append(losses, p.Loss)
				if p.GlobalStep == stopAt {
					cancel()
				}
			}
		}
		err = tr.Run(ctx, ds, nil)
		if stopAt == 0 {
			if err != nil {
				t.Fatal(err)
			}
			hist = append(hist, tr.History)
			return losses
		}
		if err != context.Canceled {
			t.Fatalf("Run after cancel = %v, want context.Canceled", err)
		}
		path := filepath.Join(dir, "run.ckpt")
		if err := Save(path, m, tr, ds.Name, 7); err != nil {
			t.Fatal(err)
		}
		_, _, f, err := LoadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		tr2, _, err := Resume(f, ds.N, 0)
		if err != nil {
			t.Fatal(err)
		}
		tr2.OnStep = func(p Progress) { losses = append(losses, p.Loss) }
		if err := tr2.Run(context.Background(), ds, nil); err != nil {
			t.Fatal(err)
		}
		hist = append(hist, tr2.History)
		return losses
	}
	want := run(0, "")
	got := run(13, t.TempDir()) // stop mid-epoch 2
	if len(got) != len(want) {
		t.Fatalf("resumed run has %d steps, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: resumed loss %v, uninterrupted %v", i+1, got[i], want[i])
		}
	}
	for e := range hist[0] {
		if hist[0][e].Loss != hist[1][e].Loss || hist[0][e].TrainTop1[0] != hist[1][e].TrainTop1[0] {
			t.Fatalf("epoch %d stats: resumed %+v, uninterrupted %+v", e+1, hist[1][e], hist[0][e])
		}
	}
}

func TestCheckpointMismatch(t *testing.T) {
	cfg := model.Config{Arch: "mlp", InH: 4, InW: 4, InC: 1, Hidden: 8, Embed: 8, Heads: "mrl", Classes: 3}
	m, _ := model.New(cfg, 1)
	f, err := Checkpoint(m, nil, "x", 1)
	if err != nil {
		t.Fatal(err)
	}
	f.Tensors[0].Shape = []int{1, 2}
	f.Tensors[0].Data = []float32{1, 2}
	if _, _, err := FromFile(f); err == nil {
		t.Fatal("FromFile accepted a tensor of the wrong shape")
	}
	path := filepath.Join(t.TempDir(), "bad.ckpt")
	os.WriteFile(path, []byte("not a checkpoint at all"), 0o644)
	if _, _, _, err := LoadModel(path); err == nil {
		t.Fatal("LoadModel accepted garbage")
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{BatchSize: 1}, {Optimizer: "rmsprop"}, {LR: math.NaN()}, {Momentum: 1.5}, {Schedule: "linear"}, {LabelSmoothing: 1}, {Epochs: 2, WarmupEpochs: 3},
	}
	for _, o := range bad {
		if err := o.WithDefaults().Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	if err := (Options{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}
