package adapter

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
)

// randomised returns an adapter from d to out dims whose every weight,
// bias and mean is drawn at random (a trained adapter's shape), with a
// residual MLP of width hidden if hidden > 0.
func randomised(t testing.TB, d, out, hidden int, seed uint64) *Adapter {
	t.Helper()
	x, _ := synth(t, 200, d)
	a, err := New(x, 200, d, out, mrl.Nesting{out}, hidden, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 3))
	for _, p := range a.Params() {
		for i := range p.W {
			p.W[i] = float32(r.NormFloat64()) * 0.3
		}
	}
	for i := range a.Mean {
		a.Mean[i] = float32(r.NormFloat64())
	}
	return a
}

// prefixRef is the reference loop of ApplyPrefix, in float64.
func prefixRef(a *Adapter, x []float32, n, m int) []float64 {
	z := make([]float64, n*m)
	for i := 0; i < n; i++ {
		xc := make([]float64, a.In)
		for j := range xc {
			xc[j] = float64(x[i*a.In+j]) - float64(a.Mean[j])
		}
		var h []float64
		if a.G1 != nil {
			h = make([]float64, a.Hidden())
			for t := range h {
				s := float64(a.G1.B.W[t])
				for j, v := range xc {
					s += float64(a.G1.W.W[t*a.In+j]) * v
				}
				h[t] = math.Max(s, 0)
			}
		}
		for o := 0; o < m; o++ {
			s := float64(a.R.B.W[o])
			for j, v := range xc {
				s += float64(a.R.W.W[o*a.In+j]) * v
			}
			if a.G1 != nil {
				s += float64(a.G2.B.W[o])
				for t, v := range h {
					s += float64(a.G2.W.W[o*len(h)+t]) * v
				}
			}
			z[i*m+o] = s
		}
	}
	return z
}

// TestApplyPrefix checks ApplyPrefix against its reference loop and
// against Apply's first m columns, linear and with a residual MLP, for
// one row and many, and that a row's prefix does not depend on the batch.
func TestApplyPrefix(t *testing.T) {
	const d, out = 37, 29
	for _, hidden := range []int{0, 70} {
		a := randomised(t, d, out, hidden, 5)
		for _, n := range []int{1, 3, 130} {
			x, _ := synth(t, n, d)
			full, err := a.Apply(x, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []int{1, 16, out} {
				z, err := a.ApplyPrefix(nil, x, n, m)
				if err != nil {
					t.Fatal(err)
				}
				if len(z) != n*m {
					t.Fatalf("hidden %d n %d m %d: %d floats, want %d", hidden, n, m, len(z), n*m)
				}
				ref := prefixRef(a, x, n, m)
				for i := 0; i < n; i++ {
					for o := 0; o < m; o++ {
						got, want := float64(z[i*m+o]), ref[i*m+o]
						if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
							t.Fatalf("hidden %d n %d m %d: row %d dim %d = %v, reference %v", hidden, n, m, i, o, got, want)
						}
						if ap := float64(full[i*out+o]); math.Abs(got-ap) > 1e-4*(1+math.Abs(ap)) {
							t.Fatalf("hidden %d n %d m %d: row %d dim %d = %v, Apply %v", hidden, n, m, i, o, got, ap)
						}
					}
					one, err := a.ApplyPrefix(nil, x[i*d:(i+1)*d], 1, m)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(one, z[i*m:(i+1)*m]) {
						t.Fatalf("hidden %d n %d m %d: row %d alone %v, in the batch %v", hidden, n, m, i, one, z[i*m:(i+1)*m])
					}
				}
			}
		}
	}
}

// TestApplyPrefixErrors: a prefix outside 1..Out, rows of the wrong size
// and NaN values are refused with the package's errors.
func TestApplyPrefixErrors(t *testing.T) {
	a := randomised(t, 8, 6, 0, 1)
	x := make([]float32, 2*8)
	for _, c := range []struct {
		name string
		x    []float32
		n, m int
		want error
	}{
		{"m 0", x, 2, 0, ErrDim},
		{"m past Out", x, 2, 7, ErrDim},
		{"short rows", x[:14], 2, 4, ErrDim},
		{"long rows", x, 1, 4, ErrDim},
		{"NaN", append(slices.Clone(x[:15]), float32(math.NaN())), 2, 4, ErrInput},
	} {
		if _, err := a.ApplyPrefix(nil, c.x, c.n, c.m); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if z, err := a.ApplyPrefix(nil, nil, 0, 4); err != nil || len(z) != 0 {
		t.Errorf("no rows: %v, %v; want an empty result", z, err)
	}
}

// TestApplyPrefixAllocs: one query into a dst with room allocates nothing.
func TestApplyPrefixAllocs(t *testing.T) {
	for _, hidden := range []int{0, 16} {
		a := randomised(t, 32, 32, hidden, 2)
		x, _ := synth(t, 1, 32)
		dst := make([]float32, 8)
		a.ApplyPrefix(dst, x, 1, 8) // warm the scratch pool
		if n := testing.AllocsPerRun(100, func() { a.ApplyPrefix(dst, x, 1, 8) }); n != 0 {
			t.Errorf("hidden %d: %v allocations per query, want 0", hidden, n)
		}
	}
}

// TestSearcherPrefix checks a Searcher over a copy of the adapted
// prefixes (Dims): as a funnel's first stage keeping every row it gives
// exact search, single queries find what the batch finds, a first stage
// on an HNSW graph of the prefixes works the same way, and a search past
// Dims is refused.
func TestSearcherPrefix(t *testing.T) {
	const n, d, m = 400, 24, 6
	x, _ := synth(t, n, d)
	a := randomised(t, d, 12, 0, 9)
	zm, err := a.ApplyPrefix(nil, x, n, m)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := index.NewVectors(slices.Clone(x), n, d, mrl.Cosine, nil)
	zv, _ := index.NewVectors(zm, n, m, mrl.Cosine, nil)
	q := x[:30*d]
	want, _ := index.NewFlat(orig).SearchBatch(q, d, d, 10, nil)
	g, err := index.NewHNSW(zv, index.HNSWOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    index.Searcher
	}{{"flat", index.NewFlat(zv)}, {"hnsw", g.WithEf(n)}} {
		s := Searcher{A: a, S: c.s, Dims: m}
		f, err := index.NewFunnel(orig, index.Plan{{Dim: m, Keep: n}, {Dim: d, Keep: 10}}, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.SearchBatch(q, d, d, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			one, err := f.Search(q[i*d:(i+1)*d], d, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want[i] {
				if got[i][j].Index != want[i][j].Index || one[j].Index != want[i][j].Index {
					t.Fatalf("%s: query %d hit %d: batch row %d, single row %d, exact row %d", c.name, i, j, got[i][j].Index, one[j].Index, want[i][j].Index)
				}
			}
		}
		// The first stage alone: single and batched searches agree.
		b, err := s.SearchBatch(q, d, m, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			one, _ := s.Search(q[i*d:(i+1)*d], m, 5, nil)
			for j := range b[i] {
				if one[j].Index != b[i][j].Index {
					t.Fatalf("%s: first stage, query %d hit %d: single row %d, batch row %d", c.name, i, j, one[j].Index, b[i][j].Index)
				}
			}
		}
		if _, err := s.Search(q[:d], m+1, 5, nil); !errors.Is(err, ErrDim) {
			t.Errorf("%s: search past Dims: %v, want ErrDim", c.name, err)
		}
	}
	if _, err := (Searcher{A: a, S: index.NewFlat(zv), Dims: 13}).Search(q[:d], 4, 5, nil); !errors.Is(err, ErrDim) {
		t.Errorf("Dims past the adapter's Out: %v, want ErrDim", err)
	}
}

// TestSearcherAllocs: a single query through a Searcher over a flat
// prefix store allocates nothing beyond what the store's search does.
func TestSearcherAllocs(t *testing.T) {
	const n, d, m = 200, 16, 4
	x, _ := synth(t, n, d)
	a := randomised(t, d, d, 0, 4)
	zm, _ := a.ApplyPrefix(nil, x, n, m)
	zv, _ := index.NewVectors(zm, n, m, mrl.Cosine, nil)
	fl := index.NewFlat(zv)
	s := Searcher{A: a, S: fl, Dims: m}
	dst := make([]index.Hit, 0, 10)
	z, _ := a.ApplyPrefix(nil, x[:d], 1, m)
	base := testing.AllocsPerRun(50, func() { fl.Search(z, m, 10, dst) })
	s.Search(x[:d], m, 10, dst)
	if got := testing.AllocsPerRun(50, func() { s.Search(x[:d], m, 10, dst) }); got > base {
		t.Errorf("%v allocations per query, the store's search alone %v", got, base)
	}
}
