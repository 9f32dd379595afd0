package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl"
)

// hnswData returns n rows of d floats under metric: Gaussian rows with
// dims scaled by 1/(1+j), or all rows equal when same is set.
func hnswData(t testing.TB, n, d int, metric mrl.Metric, same bool) *Vectors {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64() / float64(1+i%d))
		if same {
			x[i] = float32(1 + i%d)
		}
	}
	v, err := NewVectors(x, n, d, metric, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkGraph checks the invariants of h's neighbour lists: counts within
// capacity, neighbours in range, no self loops, no duplicates, a node's
// neighbours on layer l reaching layer l, the entry point at the top
// level, and every node reachable from the entry point on layer 0.
func checkGraph(t *testing.T, h *HNSW) {
	t.Helper()
	n := h.v.n
	if n == 0 {
		if h.entry != -1 {
			t.Errorf("empty graph: entry %d, want -1", h.entry)
		}
		return
	}
	if h.entry < 0 || int(h.entry) >= n || int(h.levels[h.entry]) != h.maxLevel {
		t.Fatalf("entry %d (level %d), max level %d", h.entry, h.levels[max(h.entry, 0)], h.maxLevel)
	}
	for i := range int32(n) {
		for l := 0; l <= int(h.levels[i]); l++ {
			nb, c := h.list(i, l)
			if *c < 0 || int(*c) > len(nb) {
				t.Fatalf("node %d layer %d: %d neighbours, capacity %d", i, l, *c, len(nb))
			}
			want := h.m
			if l == 0 {
				want = h.m0
			}
			if len(nb) != want {
				t.Fatalf("node %d layer %d: capacity %d, want %d", i, l, len(nb), want)
			}
			seen := map[int32]bool{}
			for _, j := range h.neighbours(i, l) {
				switch {
				case j < 0 || int(j) >= n:
					t.Fatalf("node %d layer %d: neighbour %d out of range", i, l, j)
				case j == i:
					t.Fatalf("node %d layer %d: self loop", i, l)
				case seen[j]:
					t.Fatalf("node %d layer %d: duplicate neighbour %d", i, l, j)
				case int(h.levels[j]) < l:
					t.Fatalf("node %d layer %d: neighbour %d has level %d", i, l, j, h.levels[j])
				}
				seen[j] = true
			}
			if n > 1 && len(seen) == 0 && l == 0 {
				t.Fatalf("node %d: no neighbours on layer 0", i)
			}
		}
	}
	reached := make([]bool, n)
	reached[h.entry] = true
	queue := []int32{h.entry}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range h.neighbours(i, 0) {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	if miss := slices.Index(reached, false); miss >= 0 {
		t.Errorf("node %d not reachable from entry %d on layer 0", miss, h.entry)
	}
}

func TestHNSWGraphInvariants(t *testing.T) {
	tests := []struct {
		n, d   int
		metric mrl.Metric
		opt    HNSWOptions
		same   bool
	}{
		{0, 4, mrl.Cosine, HNSWOptions{}, false},
		{1, 4, mrl.L2, HNSWOptions{}, false},
		{2, 4, mrl.InnerProduct, HNSWOptions{}, false},
		{40, 8, mrl.L2, HNSWOptions{M: 2, EfConstruction: 4}, false},
		{300, 8, mrl.Cosine, HNSWOptions{Dim: 2, M: 3}, false},
		{1000, 16, mrl.Cosine, HNSWOptions{Dim: 8, M: 4, EfConstruction: 20, Seed: 9}, false},
		{1000, 16, mrl.InnerProduct, HNSWOptions{M: 8, EfConstruction: 32}, false},
		{1000, 16, mrl.L2, HNSWOptions{Dim: 4}, false},
		{200, 4, mrl.Cosine, HNSWOptions{M: 4}, true}, // all rows equal: every score ties
		{200, 4, mrl.L2, HNSWOptions{M: 4}, true},
	}
	for _, tt := range tests {
		v := hnswData(t, tt.n, tt.d, tt.metric, tt.same)
		h, err := NewHNSW(v, tt.opt)
		if err != nil {
			t.Fatalf("NewHNSW(n=%d, %v, %+v): %v", tt.n, tt.metric, tt.opt, err)
		}
		t.Logf("n=%d %v %+v: max level %d, %d upper lists, %d nodes repaired", tt.n, tt.metric, tt.opt, h.maxLevel, len(h.counts), h.repaired)
		checkGraph(t, h)
	}
}

// The same vectors, options and seed build the same graph; another seed
// builds another.
func TestHNSWDeterministic(t *testing.T) {
	v := hnswData(t, 800, 16, mrl.Cosine, false)
	opt := HNSWOptions{Dim: 8, M: 6, EfConstruction: 30, Seed: 5}
	a, err := NewHNSW(v, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewHNSW(v, opt)
	same := func(a, b *HNSW) bool {
		return a.entry == b.entry && a.maxLevel == b.maxLevel && slices.Equal(a.levels, b.levels) &&
			slices.Equal(a.upper, b.upper) && slices.Equal(a.nodeInts, b.nodeInts) &&
			slices.Equal(a.links, b.links) && slices.Equal(a.counts, b.counts)
	}
	if !same(a, b) {
		t.Errorf("two builds with seed %d differ", opt.Seed)
	}
	opt.Seed++
	c, _ := NewHNSW(v, opt)
	if same(a, c) {
		t.Errorf("builds with seeds %d and %d are equal", opt.Seed-1, opt.Seed)
	}
}

// A search whose visited generation wraps around (every 65535 searches
// with one scratch) clears the marks and finds what a fresh scratch finds.
func TestHNSWVisitedWrap(t *testing.T) {
	v := hnswData(t, 500, 8, mrl.Cosine, false)
	h, err := NewHNSW(v, HNSWOptions{M: 4, EfSearch: 20})
	if err != nil {
		t.Fatal(err)
	}
	q := v.data[8*7 : 8*8]
	want := h.search(h.newScratch(), q, 8, 10, h.Ef(), nil)
	s := h.newScratch()
	for i := range s.visited {
		s.visited[i] = 1 // stale marks of an earlier generation 1
	}
	s.gen = 0xffff // the next search wraps to generation 1
	got := h.search(s, q, 8, 10, h.Ef(), nil)
	if !slices.Equal(got, want) {
		t.Errorf("after the wrap: %v, want %v", got, want)
	}
	if s.gen != 1 {
		t.Errorf("generation %d after the wrap, want 1", s.gen)
	}
}

// Progress is called about every 1% and once with done = N, counting up,
// for one goroutine and for several.
func TestHNSWProgress(t *testing.T) {
	v := hnswData(t, 1000, 8, mrl.Cosine, false)
	for _, threads := range []int{1, 2} {
		var calls []int
		_, err := NewHNSW(v, HNSWOptions{M: 4, Threads: threads, Progress: func(done, total int) {
			if total != 1000 {
				t.Errorf("threads %d: total %d, want 1000", threads, total)
			}
			calls = append(calls, done) // calls do not overlap
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) < 90 || len(calls) > 101 || calls[len(calls)-1] != 1000 {
			t.Errorf("threads %d: %d calls ending at %v, want ~100 ending at 1000", threads, len(calls), calls[len(calls)-1:])
		}
		if !slices.IsSorted(calls) {
			t.Errorf("threads %d: done went down: %v", threads, calls)
		}
	}
}

// twoHeapSearch is the beam search of the HNSW paper (Algorithm 2) written
// plainly with two heaps: the reference twin of searchLayer's pool.
func twoHeapSearch(h *HNSW, q []float32, qn float32, ep int32, ef, l int) []Hit {
	visited := map[int32]bool{ep: true}
	epHit := Hit{Score: h.sim(q, qn, ep), Index: ep}
	cand := []Hit{epHit} // unordered; the best is searched for
	res := []Hit{epHit}  // unordered; the worst is searched for
	worst := func() int {
		w := 0
		for i := range res {
			if res[i].Score < res[w].Score {
				w = i
			}
		}
		return w
	}
	for len(cand) > 0 {
		b := 0
		for i := range cand {
			if cand[i].Score > cand[b].Score {
				b = i
			}
		}
		c := cand[b]
		cand = slices.Delete(cand, b, b+1)
		if len(res) == ef && c.Score < res[worst()].Score {
			break
		}
		for _, j := range h.neighbours(c.Index, l) {
			if visited[j] {
				continue
			}
			visited[j] = true
			x := Hit{Score: h.sim(q, qn, j), Index: j}
			if len(res) < ef {
				res = append(res, x)
				cand = append(cand, x)
			} else if w := worst(); x.Score > res[w].Score {
				res[w] = x
				cand = append(cand, x)
			}
		}
	}
	slices.SortFunc(res, compareHits)
	return res
}

// searchLayer's sorted pool returns what the two-heap search returns, on
// every layer, at beam widths from 1 to past N, for each metric.
func TestHNSWSearchLayerTwin(t *testing.T) {
	for _, metric := range []mrl.Metric{mrl.Cosine, mrl.InnerProduct, mrl.L2} {
		v := hnswData(t, 600, 12, metric, false)
		h, err := NewHNSW(v, HNSWOptions{Dim: 8, M: 5, EfConstruction: 40, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		s := h.newScratch()
		for qi := range 20 {
			q := v.data[qi*37%600*12:][:8]
			qn := h.queryNorm(q)
			for l := 0; l <= h.maxLevel; l++ {
				for _, ef := range []int{1, 2, 7, 32, 700} {
					want := twoHeapSearch(h, q, qn, h.entry, ef, l)
					got := h.searchLayer(s, q, qn, h.entry, h.sim(q, qn, h.entry), ef, l)
					// Indices exactly; scores to rounding (the search
					// scores rows with a gathering kernel, sim one by one).
					same := len(got) == len(want)
					for i := 0; same && i < len(got); i++ {
						same = got[i].Index == want[i].Index && math.Abs(float64(got[i].Score-want[i].Score)) < 1e-5
					}
					if !same {
						t.Fatalf("%v query %d layer %d ef %d:\n got %v\nwant %v", metric, qi, l, ef, got, want)
					}
				}
			}
		}
	}
}

// TestHNSWConcurrentBuildKeepsLinks: a concurrent build must not lose
// links. Concurrent inserts that reached a node before its lower lists
// were written used to stop there, link to it alone, and lose that link
// when the node wrote its list: about five nodes per 3000 rows with 4
// threads were left with one layer-0 neighbour, a node inserted at the
// same time (a few indexes away). The heuristic alone leaves a few nodes
// with one neighbour too (2 of these 2800, sequential or concurrent), but
// that neighbour is the most similar node, almost never one of the few
// inserted at the same moment. The test asks for no node whose only
// neighbour is within 8 indexes of it.
func TestHNSWConcurrentBuildKeepsLinks(t *testing.T) {
	for seed := range uint64(4) {
		v := hnswData(t, 3000, 32, mrl.Cosine, false)
		h, err := NewHNSW(v, HNSWOptions{Seed: seed, Threads: 4})
		if err != nil {
			t.Fatal(err)
		}
		checkGraph(t, h)
		lone := 0
		for i := int32(200); i < int32(v.n); i++ {
			if nb := h.neighbours(i, 0); len(nb) == 1 && nb[0] > i-8 && nb[0] < i+8 {
				lone++
			}
		}
		if lone > 0 {
			t.Errorf("seed %d: %d nodes whose only layer-0 neighbour was inserted at the same time, after a concurrent build (%d repaired), want 0", seed, lone, h.repaired)
		}
	}
}
