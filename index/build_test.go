package index_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

// TestKindText: every kind's text form parses back; unknown text is
// ErrOptions.
func TestKindText(t *testing.T) {
	for _, k := range []index.Kind{index.KindFlat, index.KindHNSW, index.KindIVF, index.KindBinary, index.KindInt8} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", k, err)
		}
		var got index.Kind
		if err := got.UnmarshalText(b); err != nil || got != k {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, got, err, k)
		}
	}
	var k index.Kind
	if err := k.UnmarshalText([]byte("HNSW")); !errors.Is(err, index.ErrOptions) {
		t.Errorf("UnmarshalText(HNSW) = %v, want ErrOptions", err)
	}
	if _, err := index.Kind(9).MarshalText(); err == nil {
		t.Error("Kind(9).MarshalText succeeded")
	}
	for _, q := range []index.QuantKind{index.Binary, index.Int8} {
		b, err := q.MarshalText()
		var back index.QuantKind
		if err != nil || back.UnmarshalText(b) != nil || back != q {
			t.Errorf("%v: MarshalText %q %v, back %v", q, b, err, back)
		}
	}
	var q index.QuantKind
	if err := q.UnmarshalText([]byte("pq")); !errors.Is(err, index.ErrOptions) {
		t.Errorf("QuantKind.UnmarshalText(pq) = %v, want ErrOptions", err)
	}
}

// TestBuild builds every kind with and without a plan and checks each
// against its twin built by hand: the same hits, the same description.
func TestBuild(t *testing.T) {
	const n, d = 600, 32
	v, err := index.NewVectors(indextest.MatryoshkaLike(rand.New(rand.NewPCG(1, 2)), n, d), n, d, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := index.Plan{{Dim: 8, Keep: 50}, {Dim: d, Keep: 10}}
	graph, err := index.NewHNSW(v, index.HNSWOptions{Dim: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ivf, err := index.NewIVF(v, index.IVFOptions{ClusterDim: 8, Lists: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	quant, err := index.NewQuantized(v, index.QuantOptions{Kind: index.Int8, Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		spec  index.Spec
		twin  index.Searcher // the first stage built by hand
		desc  string
		bytes int64
	}{
		{index.Spec{}, index.NewFlat(v), "flat", 0},
		{index.Spec{Kind: index.KindHNSW, Graph: graph, Ef: 7}, graph.WithEf(7), "hnsw dim 8, ef 7", graph.MemBytes()},
		{index.Spec{Kind: index.KindIVF, IVF: index.IVFOptions{ClusterDim: 8, Lists: 8, Seed: 3}, Probe: 3}, ivf.WithProbe(3), "ivf dim 8, 8 lists, probe 3", 0},
		{index.Spec{Kind: index.KindInt8, Quant: index.QuantOptions{Dim: 8}}, quant, "int8 tier dim 8", quant.MemoryBytes()},
	} {
		for _, p := range []index.Plan{nil, plan} {
			b, err := index.Build(v, tt.spec, p)
			if err != nil {
				t.Fatalf("Build(%v, %v): %v", tt.spec.Kind, p, err)
			}
			want := tt.twin
			desc := tt.desc
			if p != nil {
				f, err := index.NewFunnel(v, p, tt.twin)
				if err != nil {
					t.Fatal(err)
				}
				want, desc = f, "funnel "+p.String()+" (first stage "+tt.desc+")"
			}
			if got := b.String(); got != desc {
				t.Errorf("Build(%v, %v).String() = %q, want %q", tt.spec.Kind, p, got, desc)
			}
			if got := b.IndexBytes(); got != tt.bytes {
				t.Errorf("Build(%v).IndexBytes() = %d, want %d", tt.spec.Kind, got, tt.bytes)
			}
			for i := range 5 {
				q := v.Row(i * 97)
				got, err1 := b.Searcher().Search(q, d, 10, nil)
				exp, err2 := want.Search(q, d, 10, nil)
				if err1 != nil || err2 != nil || !slices.Equal(got, exp) {
					t.Fatalf("%s: query %d: Build's hits %v (%v), by hand %v (%v)", desc, i, got, err1, exp, err2)
				}
			}
		}
	}
}

// TestBuildAt: below an HNSW graph's dim a search (and a plan's first
// stage) falls back to the exact Flat; other kinds serve every dim.
func TestBuildAt(t *testing.T) {
	const n, d = 200, 16
	v, err := index.NewVectors(indextest.MatryoshkaLike(rand.New(rand.NewPCG(4, 5)), n, d), n, d, mrl.L2, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := index.Build(v, index.Spec{Kind: index.KindHNSW, HNSW: index.HNSWOptions{Dim: 8, Seed: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Serves(4) || !b.Serves(8) || b.At(4) != index.Searcher(b.Flat) || b.At(16) != b.First {
		t.Errorf("HNSW dim 8: Serves(4) %v Serves(8) %v, At(4) flat %v, At(16) first %v", b.Serves(4), b.Serves(8), b.At(4) == index.Searcher(b.Flat), b.At(16) == b.First)
	}
	f, err := b.Plan(index.Plan{{Dim: 4, Keep: 20}, {Dim: 16, Keep: 5}})
	if err != nil {
		t.Fatal(err)
	}
	exact, _ := index.NewFunnel(v, index.Plan{{Dim: 4, Keep: 20}, {Dim: 16, Keep: 5}}, nil)
	q := v.Row(3)
	got, _ := f.Search(q, d, 5, nil)
	want, _ := exact.Search(q, d, 5, nil)
	if !slices.Equal(got, want) {
		t.Errorf("plan below the graph dim: %v, want the exact funnel's %v", got, want)
	}
	if _, err := b.Plan(nil); !errors.Is(err, index.ErrPlan) {
		t.Errorf("Plan(nil) = %v, want ErrPlan", err)
	}
	other, _ := index.NewVectors(make([]float32, n*d), n, d, mrl.L2, nil)
	if _, err := index.Build(other, index.Spec{Kind: index.KindHNSW, Graph: b.Graph}, nil); !errors.Is(err, index.ErrOptions) {
		t.Errorf("Build with a graph of other vectors = %v, want ErrOptions", err)
	}
	if _, err := index.Build(v, index.Spec{Kind: index.Kind(42)}, nil); !errors.Is(err, index.ErrOptions) {
		t.Errorf("Build of Kind(42) = %v, want ErrOptions", err)
	}
}
