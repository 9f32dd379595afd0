package index

import (
	"errors"
	"math"
	"testing"

	"github.com/gomrl/mrl"
)

func TestNewVectorsErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	tests := []struct {
		name   string
		data   []float32
		n, d   int
		metric mrl.Metric
		ids    []uint64
		want   error
	}{
		{"zero dim", nil, 0, 0, mrl.Cosine, nil, ErrDim},
		{"negative rows", nil, -1, 2, mrl.Cosine, nil, ErrDimMismatch},
		{"short data", make([]float32, 5), 3, 2, mrl.Cosine, nil, ErrDimMismatch},
		{"long data", make([]float32, 7), 3, 2, mrl.Cosine, nil, ErrDimMismatch},
		{"metric", make([]float32, 6), 3, 2, mrl.Metric(7), nil, ErrMetric},
		{"ids count", make([]float32, 6), 3, 2, mrl.L2, []uint64{1, 2}, ErrDimMismatch},
		{"duplicate id", make([]float32, 6), 3, 2, mrl.L2, []uint64{1, 2, 1}, ErrDuplicateID},
		{"NaN", []float32{0, 0, 0, nan}, 2, 2, mrl.InnerProduct, nil, ErrNotFinite},
		{"Inf", []float32{inf, 0}, 1, 2, mrl.InnerProduct, nil, ErrNotFinite},
	}
	for _, tt := range tests {
		_, err := NewVectors(tt.data, tt.n, tt.d, tt.metric, tt.ids)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: NewVectors(n=%d,d=%d) error = %v, want %v", tt.name, tt.n, tt.d, err, tt.want)
		}
	}
}

func TestVectorsAccessors(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	ids := []uint64{1 << 60, 7, 0}
	v, err := NewVectors(data, 3, 2, mrl.L2, ids)
	if err != nil {
		t.Fatal(err)
	}
	if v.N() != 3 || v.Dim() != 2 || v.Metric() != mrl.L2 {
		t.Fatalf("N, Dim, Metric = %d, %d, %v, want 3, 2, l2", v.N(), v.Dim(), v.Metric())
	}
	for i, id := range ids {
		if got := v.ID(i); got != id {
			t.Errorf("ID(%d) = %d, want %d", i, got, id)
		}
		if j, ok := v.Lookup(id); !ok || j != i {
			t.Errorf("Lookup(%d) = %d, %v, want %d, true", id, j, ok, i)
		}
		if r := v.Row(i); r[0] != data[2*i] || r[1] != data[2*i+1] || cap(r) != 2 {
			t.Errorf("Row(%d) = %v (cap %d), want %v", i, r, cap(r), data[2*i:2*i+2])
		}
	}
	if _, ok := v.Lookup(8); ok {
		t.Errorf("Lookup(8) found a row, want none")
	}
	empty, err := NewVectors(nil, 0, 4, mrl.Cosine, nil)
	if err != nil || empty.N() != 0 {
		t.Fatalf("NewVectors(empty) = %v, %v", empty, err)
	}
	if err := empty.Prepare(1, 4); err != nil {
		t.Errorf("empty.Prepare = %v", err)
	}
}

func TestPrefixNorms(t *testing.T) {
	// Row 0 is (3, 4, 12): prefix norms 3, 5, 13. Row 1 is zero.
	data := []float32{3, 4, 12, 0, 0, 0}
	for _, tt := range []struct {
		metric mrl.Metric
		want   map[int][]float32
	}{
		{mrl.Cosine, map[int][]float32{1: {1. / 3, 0}, 2: {1. / 5, 0}, 3: {1. / 13, 0}}},
		{mrl.L2, map[int][]float32{1: {9, 0}, 2: {25, 0}, 3: {169, 0}}},
		{mrl.InnerProduct, map[int][]float32{1: nil, 2: nil, 3: nil}},
	} {
		v, err := NewVectors(data, 2, 3, tt.metric, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Prepare(2); err != nil {
			t.Fatal(err)
		}
		if tt.metric != mrl.InnerProduct && v.cachedNorms(2) == nil {
			t.Errorf("%v: Prepare(2) cached nothing", tt.metric)
		}
		if v.cachedNorms(3) != nil {
			t.Errorf("%v: dim 3 cached before use", tt.metric)
		}
		for dim, want := range tt.want {
			got := v.prefixNorms(dim)
			if len(got) != len(want) {
				t.Fatalf("%v: prefixNorms(%d) = %v, want %v", tt.metric, dim, got, want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6 {
					t.Errorf("%v: prefixNorms(%d) = %v, want %v", tt.metric, dim, got, want)
				}
			}
		}
	}
	v, _ := NewVectors(data, 2, 3, mrl.Cosine, nil)
	for _, dim := range []int{0, 4} {
		if err := v.Prepare(dim); !errors.Is(err, ErrDim) {
			t.Errorf("Prepare(%d) = %v, want %v", dim, err, ErrDim)
		}
	}
}

func TestScore(t *testing.T) {
	x := []float32{3, 4, 12}
	q := []float32{4, 3, 0}
	tests := []struct {
		metric mrl.Metric
		dim    int
		want   float32
	}{
		{mrl.Cosine, 2, 24. / 25},
		{mrl.Cosine, 3, 24. / 65},
		{mrl.Cosine, 1, 1},
		{mrl.InnerProduct, 3, 24},
		{mrl.L2, 2, -2},
		{mrl.L2, 3, -146},
	}
	for _, tt := range tests {
		if got := Score(tt.metric, x, q, tt.dim); math.Abs(float64(got-tt.want)) > 1e-5 {
			t.Errorf("Score(%v, dim=%d) = %v, want %v", tt.metric, tt.dim, got, tt.want)
		}
	}
	if got := Score(mrl.Cosine, x, make([]float32, 3), 3); got != 0 {
		t.Errorf("Score(cosine, zero query) = %v, want 0", got)
	}
}
