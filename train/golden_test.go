package train

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomrl/mrl/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestCheckpointMetaGolden: the JSON a checkpoint's metadata holds (the
// model config, the trainer state with its Options) and the JSON of
// Options as callers write them are byte for byte those in
// testdata/checkpoint_meta.golden, and Options read back to the same bytes.
func TestCheckpointMetaGolden(t *testing.T) {
	m, err := model.New(model.Config{Arch: "mlp", InH: 2, InW: 2, InC: 1, Hidden: 4, Embed: 4, Nesting: []int{2, 4}, Heads: "mrl", Classes: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, o := range []Options{
		{},
		{Epochs: 2, BatchSize: 8, Optimizer: "adamw", Schedule: "cosine", WarmupEpochs: 1, Seed: 3, Threads: 2, ValFrac: 0.1},
		{Epochs: 1, BatchSize: 4, Optimizer: "sgd", Schedule: "step", Nesterov: true, LabelSmoothing: 0.1},
		{Optimizer: "sgd", Schedule: "constant"},
	} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back Options
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if again, err := json.Marshal(back); err != nil || !bytes.Equal(again, b) {
			t.Errorf("round trip of %s = %s, %v", b, again, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		if o.Epochs == 0 {
			continue // not a runnable configuration: its JSON only
		}
		tr, err := New(m, o, 16)
		if err != nil {
			t.Fatalf("New(%+v): %v", o, err)
		}
		f, err := Checkpoint(m, tr, "tiny", 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range f.Meta {
				if !yield(k) {
					return
				}
			}
		}) {
			buf.WriteString(k + ": " + f.Meta[k] + "\n")
		}
	}
	path := filepath.Join("testdata", "checkpoint_meta.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("checkpoint metadata differs from %s:\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}
