package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
)

// tiedHits returns n hits with scores drawn from levels values (many ties
// when levels is small; −0 and +0 both appear), indexes 0..n-1 shuffled.
func tiedHits(r *rand.Rand, n, levels int) []Hit {
	h := make([]Hit, n)
	for i := range h {
		s := float32(r.IntN(levels)) - float32(levels/2)
		if s == 0 && r.IntN(2) == 0 {
			s = float32(math.Copysign(0, -1))
		}
		h[i] = Hit{Score: s, Index: int32(i), ID: uint64(1000 + i)}
	}
	r.Shuffle(n, func(i, j int) { h[i], h[j] = h[j], h[i] })
	return h
}

func TestKthLargest(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(400)
		k := 1 + r.IntN(n)
		u := make([]uint32, n)
		levels := 1 + r.IntN(1+r.IntN(1000))
		for i := range u {
			u[i] = uint32(r.IntN(levels))
		}
		want := slices.Clone(u)
		slices.Sort(want)
		slices.Reverse(want)
		if got := kthLargest(u, k); got != want[k-1] {
			t.Fatalf("kthLargest(n=%d, k=%d, levels=%d) = %d, want %d", n, k, levels, got, want[k-1])
		}
	}
}

func TestOrderedBits(t *testing.T) {
	xs := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32, 0, math.SmallestNonzeroFloat32, 0.5, 1, math.MaxFloat32, float32(math.Inf(1))}
	for i := 1; i < len(xs); i++ {
		if a, b := orderedBits(xs[i-1]), orderedBits(xs[i]); a >= b {
			t.Errorf("orderedBits(%v) = %#x >= orderedBits(%v) = %#x", xs[i-1], a, xs[i], b)
		}
	}
	negZero := float32(math.Copysign(0, -1))
	if orderedBits(negZero) != orderedBits(0) {
		t.Errorf("orderedBits(-0) = %#x, want orderedBits(+0) = %#x", orderedBits(negZero), orderedBits(0))
	}
	for _, x := range xs {
		if got := fromOrderedBits(orderedBits(x)); got != x {
			t.Errorf("fromOrderedBits(orderedBits(%v)) = %v", x, got)
		}
	}
}

func TestSelectKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	nan := float32(math.NaN())
	for trial := 0; trial < 400; trial++ {
		n := r.IntN(3000)
		k := 1 + r.IntN(n+2)
		keys := make([]float32, n)
		levels := 1 + r.IntN(1+r.IntN(5000))
		for i := range keys {
			switch {
			case trial%7 == 3 && r.IntN(10) == 0:
				keys[i] = nan
			case trial%11 == 5 && r.IntN(50) == 0: // outside the sampled range, and overflowing x − lo
				keys[i] = []float32{3e38, -3e38, 1e30, -1e30}[r.IntN(4)]
			case trial%5 == 1:
				keys[i] = float32(r.NormFloat64()) // few ties
			default:
				keys[i] = float32(r.IntN(levels))/float32(levels) - 0.5
			}
		}
		var want []Hit
		for i, x := range keys {
			if x == x {
				want = append(want, Hit{Score: x, Index: int32(i)})
			}
		}
		slices.SortFunc(want, compareHits)
		want = want[:min(k, len(want))]
		slices.SortFunc(want, func(a, b Hit) int { return int(a.Index - b.Index) })
		got, ok := selectKeys(keys, k, nil, make([]uint32, n), make([]uint32, n))
		if !ok || !slices.Equal(got, want) {
			t.Fatalf("selectKeys(n=%d, k=%d, levels=%d) = %v, %v, want %v (%d vs %d hits)", n, k, levels, head(got), ok, head(want), len(got), len(want))
		}
	}
	if _, ok := selectKeys([]float32{1, float32(math.Inf(1)), 2}, 2, nil, make([]uint32, 3), make([]uint32, 3)); ok {
		t.Errorf("selectKeys with +Inf reported ok, want a fallback")
	}
	if got, ok := selectKeys([]float32{nan, nan}, 2, nil, make([]uint32, 2), make([]uint32, 2)); !ok || len(got) != 0 {
		t.Errorf("selectKeys(all NaN) = %v, %v, want no hits", got, ok)
	}
}

// tiedVectors returns MatryoshkaLike rows with planted ties: exact copies
// and, for Cosine, scaled copies.
func tiedVectors(t *testing.T, r *rand.Rand, n, d int, metric mrl.Metric) *Vectors {
	t.Helper()
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64() / math.Sqrt(1+float64(i%d)))
	}
	for c := 0; c < n/10; c++ {
		i, j := r.IntN(n), r.IntN(n)
		s := float32(1)
		if metric == mrl.Cosine {
			s = 2
		}
		for p := 0; p < d; p++ {
			x[j*d+p] = s * x[i*d+p]
		}
	}
	v, err := NewVectors(x, n, d, metric, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range v.ids {
		v.ids[i] = uint64(7 * i)
	}
	return v
}

// plainFunnel is the reference funnel: a heap-mode first stage sorted
// best first, each stage rescored, sorted and cut.
func plainFunnel(f *Funnel, q []float32, dim, k int) []Hit {
	v := f.v
	k = min(k, v.n)
	s := f.stages(dim)
	if s == 0 {
		h, _ := f.first.Search(q, dim, k, nil)
		return h
	}
	keep := min(max(f.plan[0].Keep, k), v.n)
	t := topK{k: keep}
	f.flat.scan(&t, q[:f.plan[0].Dim])
	h := f.flat.finish(t.sorted(), q[:f.plan[0].Dim])
	for i := 1; i < s; i++ {
		v.rescore(q[:f.plan[i].Dim], h)
		h = h[:min(len(h), max(f.plan[i].Keep, k))]
	}
	v.rescore(q[:dim], h)
	return h[:min(len(h), k)]
}

// TestFunnelTwin checks the funnel, one query at a time and batched,
// against plainFunnel with both first-stage selections (threshold and
// selection buffer), and Flat's three selections against each other.
func TestFunnelTwin(t *testing.T) {
	saved := thresholdRatio
	defer func() { thresholdRatio = saved }()
	r := rand.New(rand.NewPCG(27, 28))
	const n, d = 1500, 96
	for _, metric := range []mrl.Metric{mrl.Cosine, mrl.InnerProduct, mrl.L2} {
		v := tiedVectors(t, r, n, d, metric)
		nq := 10
		q := make([]float32, nq*d)
		for i := range q {
			q[i] = float32(r.NormFloat64())
		}
		copy(q[:d], v.Row(5)) // a query equal to a row (and to its copies)
		for _, plan := range []Plan{{{16, 400}, {64, 50}, {d, 10}}, {{8, 100}, {d, 10}}, {{72, 300}, {d, 20}}, {{4, n}, {d, 5}}} {
			f, err := NewFunnel(v, plan, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, ratio := range []int{0, 1 << 30} { // selection buffer, threshold
				thresholdRatio = ratio
				name := fmt.Sprintf("%v/%s/ratio%d", metric, plan, ratio)
				for _, k := range []int{1, 10, 30} {
					for _, dim := range []int{plan[0].Dim, plan[len(plan)-1].Dim, d} {
						var got []Hit
						for i := 0; i < nq; i++ {
							qi := q[i*d : (i+1)*d]
							want := plainFunnel(f, qi, dim, k)
							if got, err = f.Search(qi, dim, k, got); err != nil || !slices.Equal(got, want) {
								t.Fatalf("%s: Search(q%d, dim=%d, k=%d) = %v, %v, want %v", name, i, dim, k, head(got), err, head(want))
							}
						}
					}
				}
				// Batched: as Search when the first keep is large, else
				// the plain funnel over Flat's sorted batch.
				got, err := f.SearchBatch(q, d, d, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				keep := max(plan[0].Keep, 10)
				short, _ := f.flat.SearchBatch(q, d, plan[0].Dim, keep, nil)
				for i, h := range short {
					qi := q[i*d : (i+1)*d]
					if keep*thresholdRatio >= n {
						h, _ = f.Search(qi, d, 10, nil)
					} else {
						for j := 1; j < len(plan)-1; j++ {
							v.rescore(qi[:plan[j].Dim], h)
							h = h[:min(len(h), max(plan[j].Keep, 10))]
						}
						v.rescore(qi, h)
						h = h[:min(len(h), 10)]
					}
					if !slices.Equal(got[i], h) {
						t.Fatalf("%s: SearchBatch q%d = %v, want %v", name, i, head(got[i]), head(h))
					}
				}
				// Flat: threshold and selection buffer against the heap.
				fl := NewFlat(v)
				for _, dim := range []int{8, 64, d} {
					for _, k := range []int{64, 200, n} {
						qi := q[3*d : 4*d]
						got, _ := fl.Search(qi, dim, k, nil)
						ht := topK{k: k}
						fl.scan(&ht, qi[:dim])
						want := fl.finish(ht.sorted(), qi[:dim])
						if !slices.Equal(got, want) {
							t.Fatalf("%s: Flat.Search(dim=%d, k=%d) = %v, want the heap's %v", name, dim, k, head(got), head(want))
						}
					}
				}
			}
		}
	}
}

// BenchmarkFlatBest compares, in one process, the two selections of a
// funnel's first stage (Flat.best) on the text report's shape: 12,208
// rows of 512 dims, cosine, scanned at 16 dims.
func BenchmarkFlatBest(b *testing.B) {
	saved := thresholdRatio
	defer func() { thresholdRatio = saved }()
	r := rand.New(rand.NewPCG(29, 30))
	const n, d, dim = 12208, 512, 16
	x := make([]float32, (n+64)*d)
	for i := range x {
		x[i] = float32(r.NormFloat64() / math.Sqrt(1+float64(i%d)))
	}
	v, err := NewVectors(x[:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		b.Fatal(err)
	}
	qs := x[n*d:]
	fl := NewFlat(v)
	for _, k := range []int{100, 200, 400, 1000, 3000} {
		for _, mode := range []struct {
			name  string
			ratio int
		}{{"buffer", 0}, {"threshold", 1 << 30}} {
			b.Run(fmt.Sprintf("k=%d/%s", k, mode.name), func(b *testing.B) {
				thresholdRatio = mode.ratio
				var sb selBuf
				fl.best(&sb, qs[:dim], k)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					q := qs[(i%64)*d:]
					fl.best(&sb, q[:dim], k)
				}
			})
		}
	}
}
