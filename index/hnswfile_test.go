package index

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
)

func encodeHNSW(t testing.TB, h *HNSW) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeHNSW(&b, h); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sameGraph(a, b *HNSW) bool {
	return a.dim == b.dim && a.m == b.m && a.m0 == b.m0 && a.efc == b.efc && a.Ef() == b.Ef() &&
		a.entry == b.entry && a.maxLevel == b.maxLevel && slices.Equal(a.levels, b.levels) &&
		slices.Equal(a.upper, b.upper) && slices.Equal(a.links, b.links) && slices.Equal(a.counts, b.counts)
}

func TestHNSWEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		n, d   int
		metric mrl.Metric
		opt    HNSWOptions
	}{
		{0, 4, mrl.Cosine, HNSWOptions{}},
		{1, 3, mrl.L2, HNSWOptions{Dim: 2}},
		{3, 5, mrl.InnerProduct, HNSWOptions{M: 2}}, // 3 levels bytes: padded
		{500, 12, mrl.Cosine, HNSWOptions{Dim: 6, M: 5, EfConstruction: 30, EfSearch: 17, Seed: 2}},
		{500, 12, mrl.L2, HNSWOptions{M: 3}},
	}
	for _, tt := range tests {
		v := hnswData(t, tt.n, tt.d, tt.metric, false)
		h, err := NewHNSW(v, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		h.SetEf(23)
		b := encodeHNSW(t, h)
		got, err := DecodeHNSW(b)
		if err != nil {
			t.Fatalf("DecodeHNSW(EncodeHNSW(n=%d, %v, %+v)): %v", tt.n, tt.metric, tt.opt, err)
		}
		if !sameVectors(got.v, v) || !sameGraph(got, h) {
			t.Errorf("DecodeHNSW(EncodeHNSW(n=%d, %v, %+v)) differs from the original", tt.n, tt.metric, tt.opt)
		}
		if plain, err := Decode(b); err != nil || !sameVectors(plain, v) {
			t.Errorf("Decode(EncodeHNSW(n=%d)) = %v, want the vectors (the graph section skipped)", tt.n, err)
		}
		for i := 0; i < min(tt.n, 20); i++ {
			want, err1 := h.Search(v.Row(i), tt.d, 5, nil)
			res, err2 := got.Search(v.Row(i), tt.d, 5, nil)
			if err1 != nil || err2 != nil || !slices.Equal(res, want) {
				t.Errorf("decoded Search(row %d) = %v, %v, want %v, %v", i, res, err2, want, err1)
			}
		}
		path := filepath.Join(t.TempDir(), "g.mrl")
		if err := SaveHNSW(path, h); err != nil {
			t.Fatal(err)
		}
		if got, err := LoadHNSW(path); err != nil || !sameGraph(got, h) {
			t.Errorf("LoadHNSW(SaveHNSW(n=%d)) = %v, want the graph", tt.n, err)
		}
	}
}

func TestDecodeHNSWErrors(t *testing.T) {
	v := hnswData(t, 200, 8, mrl.Cosine, false)
	h, err := NewHNSW(v, HNSWOptions{Dim: 4, M: 4, EfConstruction: 20})
	if err != nil {
		t.Fatal(err)
	}
	good := encodeHNSW(t, h)
	// mutated returns the file of a copy of h changed by fn: a graph that
	// is impossible but has valid checksums.
	mutated := func(fn func(g *HNSW)) []byte {
		g := newHNSWGraph(h.v, h.dim, h.m)
		copy(g.nodes, h.nodes)
		g.efc, g.entry, g.maxLevel = h.efc, h.entry, h.maxLevel
		g.levels, g.upper = slices.Clone(h.levels), slices.Clone(h.upper)
		g.links, g.counts = slices.Clone(h.links), slices.Clone(h.counts)
		g.SetEf(h.Ef())
		fn(g)
		return encodeHNSW(t, g)
	}
	graphOff := len(good) - int(sectionSize(hnswPayloadSize(h))) + sectionHeader
	top := slices.Index(h.levels, 1) // a node on layer 1
	low := int32(slices.Index(h.levels, 0))
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"no graph", encode(t, v), ErrFormat},
		{"truncated", good[:len(good)-9], ErrTruncated},
		{"flipped graph byte", modified(good, func(b []byte) { b[graphOff+50] ^= 1 }), ErrCorrupt},
		{"neighbour out of range", mutated(func(g *HNSW) { g.neighbours(0, 0)[0] = 200 }), ErrCorrupt},
		{"negative neighbour", mutated(func(g *HNSW) { g.neighbours(0, 0)[0] = -1 }), ErrCorrupt},
		{"upper neighbour out of range", mutated(func(g *HNSW) { g.neighbours(int32(top), 1)[0] = 200 }), ErrCorrupt},
		{"count above capacity", mutated(func(g *HNSW) { _, c := g.list(0, 0); *c = int32(2*g.m + 1) }), ErrCorrupt},
		{"upper count above capacity", mutated(func(g *HNSW) { _, c := g.list(int32(top), 1); *c = int32(g.m + 1) }), ErrCorrupt},
		{"neighbour below the layer", mutated(func(g *HNSW) {
			nb, c := g.list(int32(top), 1)
			nb[0], *c = low, max(*c, 1)
		}), ErrCorrupt},
		{"entry not at the top", mutated(func(g *HNSW) { g.entry = low }), ErrCorrupt},
		{"graph dim above D", mutated(func(g *HNSW) { g.dim = 9 }), ErrCorrupt},
		{"M 1", mutated(func(g *HNSW) { g.m = 1 }), ErrCorrupt},
		{"level sum", mutated(func(g *HNSW) { g.levels[low]++ }), ErrCorrupt},
		{"repeated section", withSection(good, hnswTag, good[graphOff:graphOff+int(hnswPayloadSize(h))]), ErrCorrupt},
	}
	for _, tt := range tests {
		_, err := DecodeHNSW(tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: DecodeHNSW error = %v, want %v", tt.name, err, tt.want)
		}
		t.Logf("%s: %v", tt.name, err)
	}
}

func FuzzDecodeHNSW(f *testing.F) {
	for _, tt := range []struct {
		n      int
		metric mrl.Metric
		opt    HNSWOptions
	}{{0, mrl.L2, HNSWOptions{}}, {1, mrl.Cosine, HNSWOptions{}}, {30, mrl.InnerProduct, HNSWOptions{Dim: 2, M: 2}}} {
		v := hnswData(f, tt.n, 4, tt.metric, false)
		h, err := NewHNSW(v, tt.opt)
		if err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if err := EncodeHNSW(&b, h); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHNSW(b)
		if err != nil {
			return
		}
		q := make([]float32, h.v.d)
		q[0] = 1
		if _, err := h.Search(q, h.v.d, 3, nil); err != nil {
			t.Errorf("Search on a decoded graph: %v", err)
		}
	})
}
