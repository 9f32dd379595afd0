package model

import (
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
)

func TestNewDefaultsAndNames(t *testing.T) {
	cases := []struct {
		cfg        Config
		params     int
		nesting    string
		embed      int
		firstParam string
	}{
		// 784·1024+1024 + 2·1024 (BN) + 1024·2048+2048 + 2·2048 + Σ_m (10m+10)
		{Config{Arch: "mlp", InH: 28, InW: 28, InC: 1, Classes: 10}, 2950154, "8,16,32,64,128,256,512,1024,2048", 2048, "backbone.fc1.weight"},
		{Config{Arch: "cnn", InH: 28, InW: 28, InC: 1, Classes: 10}, 116454, "8,16,32,64,128,256,512", 512, "backbone.stem.conv.weight"},
		{Config{Arch: "mlp", InH: 1, InW: 1, InC: 5, Hidden: 8, Embed: 4, Heads: "ff", Classes: 3}, 5*8 + 8 + 16 + 8*4 + 4 + 8 + 4*3 + 3, "4", 4, "backbone.fc1.weight"},
	}
	for _, tc := range cases {
		m, err := New(tc.cfg, 1)
		if err != nil {
			t.Fatalf("New(%+v): %v", tc.cfg, err)
		}
		if got := m.NumParams(); got != tc.params {
			t.Errorf("New(%+v).NumParams() = %d, want %d", tc.cfg, got, tc.params)
		}
		if got := m.Config.Nesting.String(); got != tc.nesting || m.Config.Embed != tc.embed {
			t.Errorf("New(%+v) nesting %s embed %d, want %s and %d", tc.cfg, got, m.Config.Embed, tc.nesting, tc.embed)
		}
		names, err := m.Names()
		if err != nil || names[0] != tc.firstParam {
			t.Errorf("Names() = %v, %v; want first %q", names[:1], err, tc.firstParam)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "backbone.") && !strings.HasPrefix(n, "head.") {
				t.Errorf("tensor name %q lacks a backbone./head. prefix", n)
			}
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{Arch: "rnn", InH: 0, InW: 28, InC: 1, Embed: 16, Heads: "mrl", Nesting: mrl.Nesting{8, 32}, Classes: 1, Hidden: 1, Width: 1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{`arch "rnn"`, "input shape 0x28x1", "exceeds the embedding size 16", "classes 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; missing %q", err, want)
		}
	}
}

func TestEvaluateShapes(t *testing.T) {
	m, err := New(Config{Arch: "cnn", InH: 8, InW: 8, InC: 1, Width: 2, Embed: 8, Classes: 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := 5
	x := make([]float32, n*64)
	y := []int32{0, 1, 2, 0, 1}
	acc, err := m.Evaluate(x, y, n, 2)
	if err != nil || len(acc.Top1) != len(m.Config.Nesting) || acc.N != n {
		t.Fatalf("Evaluate = %+v, %v", acc, err)
	}
	if _, err := m.Evaluate(x[:10], y, n, 2); err == nil {
		t.Fatal("Evaluate with too few features gave no error")
	}
	if emb := m.EmbedAll(x, n, 2); len(emb) != n*8 {
		t.Fatalf("EmbedAll length %d, want %d", len(emb), n*8)
	}
	if l := m.LogitsAll(x, n, 3); len(l) != len(m.Config.Nesting) || len(l[0]) != n*3 {
		t.Fatalf("LogitsAll shapes wrong")
	}
}
