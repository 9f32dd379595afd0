package model

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenConfigs are configs as callers write them and as WithDefaults
// fills them, including stored values WithDefaults does not normalise
// (upper-case heads, which ParseKind accepts).
func goldenConfigs() []Config {
	mlp := Config{Arch: "mlp", InH: 28, InW: 28, InC: 1, Classes: 10}
	cnn := Config{Arch: "cnn", InH: 32, InW: 32, InC: 3, Width: 8, Embed: 64, Heads: "mrl-e", LossWeights: []float64{1, 2, 1, 0.5}, Nesting: []int{8, 16, 32, 64}, Classes: 100}
	ff := Config{InH: 1, InW: 1, InC: 5, Hidden: 8, Embed: 4, Heads: "ff", Classes: 3}
	return []Config{{}, mlp, mlp.WithDefaults(), cnn, cnn.WithDefaults(), ff.WithDefaults(), {Arch: "cnn", Heads: "MRL", InH: 4, InW: 4, InC: 1, Classes: 2}}
}

// TestConfigJSONGolden: Config's JSON (what checkpoints store) is byte for
// byte the one in testdata/config.golden.json, and reads back to the same
// bytes.
func TestConfigJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range goldenConfigs() {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", c, err)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("round trip of %s = %s, %v", b, again, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	path := filepath.Join("testdata", "config.golden.json")
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
		t.Errorf("config JSON differs from %s:\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}
