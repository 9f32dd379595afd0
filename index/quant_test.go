package index_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

func mustQuantized(t testing.TB, v *index.Vectors, opt index.QuantOptions) *index.Quantized {
	t.Helper()
	x, err := index.NewQuantized(v, opt)
	if err != nil {
		t.Fatalf("NewQuantized(%+v): %v", opt, err)
	}
	return x
}

// quantData returns n MatryoshkaLike rows of d floats under metric and nq
// queries from the same mixture (the rows are drawn together and split, so
// queries fall in the rows' clusters, as held-out embeddings do).
func quantData(t testing.TB, metric mrl.Metric, n, d, nq int) (*index.Vectors, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(30, 40))
	all := indextest.MatryoshkaLike(rng, n+nq, d)
	v, err := index.NewVectors(all[:n*d:n*d], n, d, metric, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, all[n*d:]
}

// The suite's 300 rows of 24 dims, coded at the full dim, searched at 24
// and 12 dims (the first 12 codes); its queries come from other clusters
// than the rows, a hard case for sign codes. Measured mean recall (the
// floor holds for every k, and k = 1 is the weakest): int8 with the
// default 4·k candidates 1.0, with k candidates (codes alone) 0.96-1.0 at
// k = 1 and 0.98-1.0 at k = 10; binary with the default 16·k candidates
// 0.42-0.67 at k = 1 and 0.88-0.91 at k = 10, with 40·k 0.58-0.83 and 1.0.
// The floors sit below the lowest measured value by a margin.
func TestQuantizedConformance(t *testing.T) {
	for _, c := range []struct {
		opt   index.QuantOptions
		floor float64
	}{
		{index.QuantOptions{Kind: index.Int8}, 0.95},
		{index.QuantOptions{Kind: index.Int8, Rescore: 1}, 0.9},
		{index.QuantOptions{Kind: index.Binary}, 0.35},
		{index.QuantOptions{Kind: index.Binary, Rescore: 40}, 0.5},
	} {
		t.Run(fmt.Sprintf("%v-rescore%d", c.opt.Kind, c.opt.Rescore), func(t *testing.T) {
			indextest.RunRecall(t, func(v *index.Vectors) index.Searcher {
				return mustQuantized(t, v, c.opt)
			}, c.floor)
		})
	}
}

func TestQuantOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		opt  index.QuantOptions
		want []string // substrings of the error; nil: valid
	}{
		{index.QuantOptions{}, nil},
		{index.QuantOptions{Kind: index.Int8, Dim: 64, Rescore: 10}, nil},
		{index.QuantOptions{Kind: 7}, []string{"Kind QuantKind(7)"}},
		{index.QuantOptions{Dim: -1}, []string{"Dim -1"}},
		{index.QuantOptions{Rescore: -2}, []string{"Rescore -2"}},
		{index.QuantOptions{Kind: 2, Dim: -3, Rescore: -4}, []string{"Kind", "Dim -3", "Rescore -4"}},
	} {
		err := c.opt.Validate()
		if c.want == nil {
			if err != nil {
				t.Errorf("%+v.Validate() = %v, want nil", c.opt, err)
			}
			continue
		}
		if !errors.Is(err, index.ErrOptions) {
			t.Errorf("%+v.Validate() = %v, want %v", c.opt, err, index.ErrOptions)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v.Validate() = %v, want it to mention %q", c.opt, err, w)
			}
		}
		v := mustQuantVectors(t, 4, 8, mrl.Cosine)
		if _, err := index.NewQuantized(v, c.opt); !errors.Is(err, index.ErrOptions) {
			t.Errorf("NewQuantized(%+v) error = %v, want %v", c.opt, err, index.ErrOptions)
		}
	}
}

func mustQuantVectors(t testing.TB, n, d int, metric mrl.Metric) *index.Vectors {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	v, err := index.NewVectors(indextest.MatryoshkaLike(rng, n, d), n, d, metric, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestQuantizedShape(t *testing.T) {
	v := mustQuantVectors(t, 50, 130, mrl.L2)
	if _, err := index.NewQuantized(v, index.QuantOptions{Dim: 131}); !errors.Is(err, index.ErrDim) {
		t.Errorf("NewQuantized(Dim 131 of 130) error = %v, want %v", err, index.ErrDim)
	}
	for _, c := range []struct {
		opt           index.QuantOptions
		dim, rescore  int
		bytes         int
		memory        int64
		kind          string
		memoryComment string
	}{
		{index.QuantOptions{Dim: 64}, 64, index.DefaultBinaryRescore, 8 + 4, 50*12 + 4*64, "binary", "one word and r, L2 centers"},
		{index.QuantOptions{Dim: 65}, 65, index.DefaultBinaryRescore, 16 + 4, 50*20 + 4*65, "binary", "two words and r"},
		{index.QuantOptions{}, 130, index.DefaultBinaryRescore, 24 + 4, 50*28 + 4*130, "binary", "default: full dim"},
		{index.QuantOptions{Kind: index.Int8, Dim: 64, Rescore: 3}, 64, 3, 64, 50*64 + 4*64, "int8", "steps"},
		{index.QuantOptions{Kind: index.Int8, Dim: 65}, 65, index.DefaultInt8Rescore, 80, 50*80 + 4*65, "int8", "rows padded to 16 bytes"},
	} {
		x := mustQuantized(t, v, c.opt)
		if x.Dim() != c.dim || x.Rescore() != c.rescore || x.BytesPerVector() != c.bytes ||
			x.MemoryBytes() != c.memory || x.Kind().String() != c.kind || x.Vectors() != v {
			t.Errorf("NewQuantized(%+v): Dim %d, Rescore %d, BytesPerVector %d, MemoryBytes %d, Kind %v; want %d, %d, %d, %d, %s (%s)",
				c.opt, x.Dim(), x.Rescore(), x.BytesPerVector(), x.MemoryBytes(), x.Kind(), c.dim, c.rescore, c.bytes, c.memory, c.kind, c.memoryComment)
		}
	}
	// Cosine has no norms: the binary tier is its bits and the centers.
	x := mustQuantized(t, mustQuantVectors(t, 50, 130, mrl.Cosine), index.QuantOptions{Dim: 64})
	if x.MemoryBytes() != 50*8+4*64 || x.BytesPerVector() != 8 {
		t.Errorf("Cosine binary tier at dim 64: MemoryBytes %d, BytesPerVector %d, want %d, 8", x.MemoryBytes(), x.BytesPerVector(), 50*8+4*64)
	}
	// A search below the coded dim under InnerProduct computes the norms
	// at its dim once.
	v = mustQuantVectors(t, 50, 130, mrl.InnerProduct)
	x = mustQuantized(t, v, index.QuantOptions{Dim: 64})
	for range 2 {
		if _, err := x.Search(v.Row(3), 20, 2, nil); err != nil {
			t.Fatal(err)
		}
	}
	if x.MemoryBytes() != 50*(8+4+4) {
		t.Errorf("InnerProduct binary tier at dim 64 after a search at 20: MemoryBytes %d, want %d", x.MemoryBytes(), 50*(8+4+4))
	}
}

// quantCandidates returns the internal indexes of the best m rows by key
// (higher first, ties to the lower index), in increasing index order.
func quantCandidates(key []float64, m int) []int32 {
	order := make([]int32, len(key))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		switch {
		case key[a] > key[b]:
			return -1
		case key[a] < key[b]:
			return 1
		}
		return 0
	})
	order = order[:m]
	slices.Sort(order)
	return order
}

// quantSorted returns the internal indexes of hits in increasing order.
func quantSorted(h []index.Hit) []int32 {
	out := make([]int32, len(h))
	for i, x := range h {
		out[i] = x.Index
	}
	slices.Sort(out)
	return out
}

// TestQuantizedBinaryCodes checks the code ranking against the documented
// definition, written out as plain loops in float64: with oversampling 1 a
// search for k returns the k rows of best key among the first
// c = min(dim, Dim) sign bits (relative to the per-dim mean under L2):
// the agreement of the bits under Cosine (exactly those rows, ties to the
// lower index), r·cos(π·h/c) under InnerProduct and 2ρ·r·cos(π·h/c) − r²
// under L2, h the Hamming distance (rows whose key is within rounding of
// the k-th best). The coded dim 100 takes two words; the search dims cover
// a part word, one full word, both words and a dim above the coded one;
// k = 70 takes the selection buffer rather than the heap.
func TestQuantizedBinaryCodes(t *testing.T) {
	const n, d, coded = 400, 120, 100
	for _, k := range []int{15, 70} {
		testBinaryCodes(t, n, d, coded, k)
	}
}

func testBinaryCodes(t *testing.T, n, d, coded, k int) {
	for _, metric := range indextest.Metrics {
		v, q := quantData(t, metric, n, d, 8)
		x := mustQuantized(t, v, index.QuantOptions{Kind: index.Binary, Dim: coded, Rescore: 1})
		mean := make([]float64, d)
		if metric != mrl.InnerProduct {
			for i := range n {
				for j, e := range v.Row(i) {
					mean[j] += float64(e) / float64(n)
				}
			}
		}
		for _, dim := range []int{30, 64, 100, 120} {
			c := min(dim, coded)
			for qi := range len(q) / d {
				qv := q[qi*d : (qi+1)*d]
				var rho float64
				for j := range c {
					e := float64(qv[j] - float32(mean[j]))
					rho += e * e
				}
				rho = math.Sqrt(rho)
				key := make([]float64, n)
				for i := range n {
					agree := 0
					var r float64
					for j := range c {
						// L2 and Cosine center in float32, as the rows are stored.
						xs := v.Row(i)[j] - float32(mean[j])
						qs := qv[j] - float32(mean[j])
						if (xs > 0) == (qs > 0) {
							agree++
						}
						r += float64(xs) * float64(xs)
					}
					r = math.Sqrt(r)
					cos := math.Cos(math.Pi * float64(c-agree) / float64(c))
					switch metric {
					case mrl.Cosine:
						key[i] = float64(agree)
					case mrl.InnerProduct:
						key[i] = r * cos
					case mrl.L2:
						key[i] = 2*rho*r*cos - r*r
					}
				}
				got, err := x.Search(qv, dim, k, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := quantCandidates(key, k)
				g := quantSorted(got)
				if metric == mrl.Cosine {
					if !slices.Equal(g, want) {
						t.Fatalf("%v: binary Search(dim=%d,k=%d) rows %v, want the best by sign agreement %v", metric, dim, k, g, want)
					}
					continue
				}
				bar := slices.MinFunc(want, func(a, b int32) int { return cmp.Compare(key[a], key[b]) })
				for _, i := range g {
					if key[i] < key[bar]-1e-4*(1+math.Abs(key[bar])) {
						t.Fatalf("%v: binary Search(dim=%d,k=%d) rows %v hold row %d of key %v, below the %d-th best key %v (rows %v)", metric, dim, k, g, i, key[i], k, key[bar], want)
					}
				}
			}
		}
	}
}

// TestQuantizedInt8Codes checks the int8 ranking against its definition
// under InnerProduct, where the key is the integer code dot itself: steps
// max|x_j|/127, codes rounded, the query scaled by the steps and coded
// with its own step. k = 70 takes the selection buffer.
func TestQuantizedInt8Codes(t *testing.T) {
	for _, k := range []int{12, 70} {
		testInt8Codes(t, k)
	}
}

func testInt8Codes(t *testing.T, k int) {
	const n, d, coded = 400, 40, 33
	v, q := quantData(t, mrl.InnerProduct, n, d, 8)
	x := mustQuantized(t, v, index.QuantOptions{Kind: index.Int8, Dim: coded, Rescore: 1})
	mx := make([]float32, coded)
	for i := range n {
		for j := range coded {
			mx[j] = max(mx[j], float32(math.Abs(float64(v.Row(i)[j]))))
		}
	}
	round := func(e float32) int64 { return int64(math.Round(float64(e))) }
	for _, dim := range []int{17, 33, 40} {
		c := min(dim, coded)
		for qi := range len(q) / d {
			qv := q[qi*d : (qi+1)*d]
			var qm float32
			for j := range c {
				qm = max(qm, float32(math.Abs(float64(qv[j]*(mx[j]/127)))))
			}
			q8 := make([]int64, c)
			for j := range q8 {
				q8[j] = round(qv[j] * (mx[j] / 127) * (127 / qm))
			}
			key := make([]float64, n)
			for i := range n {
				var dot int64
				for j := range c {
					dot += round(v.Row(i)[j]*(127/mx[j])) * q8[j]
				}
				key[i] = float64(dot)
			}
			got, err := x.Search(qv, dim, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := quantCandidates(key, k)
			if g := quantSorted(got); !slices.Equal(g, want) {
				t.Fatalf("int8 Search(dim=%d,k=%d) rows %v, want the best by code dot %v", dim, k, g, want)
			}
		}
	}
}

// TestQuantizedExactWhenAllRescored checks that a search whose Rescore·k
// covers every row returns what exact Flat returns, and that k > N
// returns all N rows.
func TestQuantizedExactWhenAllRescored(t *testing.T) {
	const n, d = 60, 16
	for _, metric := range indextest.Metrics {
		v, q := quantData(t, metric, n, d, 3)
		flat := index.NewFlat(v)
		for _, kind := range []index.QuantKind{index.Binary, index.Int8} {
			x := mustQuantized(t, v, index.QuantOptions{Kind: kind, Dim: 8, Rescore: 6})
			for _, k := range []int{10, n, n + 7} {
				for _, dim := range []int{4, 8, 16} {
					got, err := x.Search(q[:d], dim, k, nil)
					if err != nil {
						t.Fatal(err)
					}
					want, _ := flat.Search(q[:d], dim, k, nil)
					if len(got) != min(k, n) || !sameScores(got, want) {
						t.Errorf("%v %v: Search(dim=%d,k=%d) = %d rows %v, want Flat's %d rows %v", metric, kind, dim, k, len(got), quantHead(got), len(want), quantHead(want))
					}
				}
			}
		}
	}
}

// sameScores reports whether got and want have the same length and, place
// by place, the same scores up to float32 rounding (so rows that tie may
// come in either order).
func sameScores(got, want []index.Hit) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := float64(got[i].Score), float64(want[i].Score)
		if math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
			return false
		}
	}
	return true
}

func quantHead(h []index.Hit) []index.Hit { return h[:min(5, len(h))] }

func TestQuantizedEmpty(t *testing.T) {
	for _, kind := range []index.QuantKind{index.Binary, index.Int8} {
		v, err := index.NewVectors(nil, 0, 8, mrl.L2, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := mustQuantized(t, v, index.QuantOptions{Kind: kind, Dim: 4})
		q := []float32{1, 2, 3, 4, 5, 6, 7, 8}
		if hits, err := x.Search(q, 8, 5, nil); err != nil || len(hits) != 0 {
			t.Errorf("%v: empty Search = %v, %v, want no hits", kind, hits, err)
		}
		if x.MemoryBytes() != 16 {
			t.Errorf("%v: empty MemoryBytes = %d, want 16 (4 dims of centers or steps)", kind, x.MemoryBytes())
		}
	}
}

// TestQuantizedFunnelRecall runs the tier as the first stage of a funnel
// on 8000 MatryoshkaLike rows of 128 dims (queries from the same mixture)
// and measures recall@10 against exact Flat at 128 dims. Measured, for
// Cosine, InnerProduct and L2: binary at dim 64 keeping 50 with the
// default 16× oversampling (800 candidates) 1.0, as with a Flat first
// stage, but with 4× (200 candidates) 0.69 (Cosine, L2) and 0.97
// (InnerProduct, whose estimate weighs the sign agreement by norms); int8
// keeping 20 with 4× equals the Flat first stage exactly: 0.91-0.94 at
// dim 32, 0.99-1.0 at dim 64. The floors sit a margin below.
func TestQuantizedFunnelRecall(t *testing.T) {
	const n, d, nq, k = 8000, 128, 60, 10
	for _, metric := range indextest.Metrics {
		v, q := quantData(t, metric, n, d, nq)
		for _, c := range []struct {
			opt   index.QuantOptions
			plan  string
			floor float64
		}{
			{index.QuantOptions{Kind: index.Binary, Dim: 64}, "64:50,128:10", 0.95},
			{index.QuantOptions{Kind: index.Binary, Dim: 64, Rescore: 4}, "64:50,128:10", 0.6},
			{index.QuantOptions{Kind: index.Int8, Dim: 32}, "32:20,128:10", 0.87},
			{index.QuantOptions{Kind: index.Int8, Dim: 64}, "64:20,128:10", 0.95},
		} {
			x := mustQuantized(t, v, c.opt)
			plan, err := index.ParsePlan(c.plan)
			if err != nil {
				t.Fatal(err)
			}
			f, err := index.NewFunnel(v, plan, x)
			if err != nil {
				t.Fatal(err)
			}
			got := recallAt(t, v, f, q, d, k)
			ref, _ := index.NewFunnel(v, plan, nil)
			flat := recallAt(t, v, ref, q, d, k)
			t.Logf("%v %v first stage, plan %s: recall@%d %.3f (Flat first stage %.3f)", metric, c.opt.Kind, c.plan, k, got, flat)
			if got < c.floor {
				t.Errorf("%v %v first stage, plan %s: recall@%d %.3f, want >= %.2f", metric, c.opt.Kind, c.plan, k, got, c.floor)
			}
		}
	}
}

func TestQuantizedZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	const n, d, k = 2000, 64, 10
	for _, metric := range indextest.Metrics {
		v, q := quantData(t, metric, n, d, 1)
		for _, kind := range []index.QuantKind{index.Binary, index.Int8} {
			x := mustQuantized(t, v, index.QuantOptions{Kind: kind, Dim: 32})
			dst := make([]index.Hit, 0, k)
			for _, dim := range []int{32, 64} {
				if _, err := x.Search(q, dim, k, dst); err != nil { // warm the pool and norms
					t.Fatal(err)
				}
				allocs := testing.AllocsPerRun(20, func() {
					dst, _ = x.Search(q, dim, k, dst)
				})
				if allocs != 0 {
					t.Errorf("%v %v: Search(dim=%d,k=%d) allocates %.1f times per query, want 0", metric, kind, dim, k, allocs)
				}
			}
		}
	}
}

// The benchmarks compare one query's scan of 100k rows at dim 64, per
// metric: the two tiers (codes at 64 dims, then 16·k or 4·k rows
// re-scored in float) and exact Flat. BenchmarkHamming64 is the binary
// scan's inner loop alone.
func BenchmarkQuantized(b *testing.B) {
	const n, d, k = 100_000, 64, 10
	for _, metric := range indextest.Metrics {
		v, q := quantData(b, metric, n, d, 64)
		searchers := []struct {
			name string
			s    index.Searcher
		}{
			{"flat", index.NewFlat(v)},
			{"binary", mustQuantized(b, v, index.QuantOptions{Kind: index.Binary, Dim: d})},
			{"int8", mustQuantized(b, v, index.QuantOptions{Kind: index.Int8, Dim: d})},
		}
		for _, s := range searchers {
			b.Run(fmt.Sprintf("%v/%s/N=%d/dim=%d", metric, s.name, n, d), func(b *testing.B) {
				dst := make([]index.Hit, 0, k)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					dst, _ = s.s.Search(q[i%64*d:(i%64+1)*d], d, k, dst)
					i++
				}
			})
		}
	}
}

var quantSink int

func BenchmarkHamming64(b *testing.B) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]uint64, n)
	for i := range codes {
		codes[i] = rng.Uint64()
	}
	q := rng.Uint64()
	b.SetBytes(8 * n)
	for b.Loop() {
		s := 0
		for _, w := range codes {
			s += bits.OnesCount64(w ^ q)
		}
		quantSink += s
	}
}
