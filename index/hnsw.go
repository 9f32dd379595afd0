package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// HNSWOptions configures NewHNSW. The zero value is valid: every field's
// zero means its default.
type HNSWOptions struct {
	// Dim is the prefix dim the graph is built and searched on, 1..D.
	// Default (0): D, the full vectors.
	Dim int
	// M is the most neighbours a node keeps on each layer above 0; layer 0
	// keeps up to 2·M. A new node links to M neighbours on each of its
	// layers. 2..MaxHNSWM; default (0): 16.
	M int
	// EfConstruction is the beam width of the search that finds a new
	// node's neighbours while building. At least 1; default (0): 100.
	EfConstruction int
	// EfSearch is the beam width of searches, until SetEf changes it; a
	// search for k rows uses max(EfSearch, k). At least 1; default (0): 64.
	EfSearch int
	// Seed seeds the PCG generator that draws the node levels: the same
	// vectors, options and seed build the same graph (with Threads 1).
	// Default: 0.
	Seed uint64
	// Threads is the number of goroutines inserting nodes. Default (0): 1,
	// a deterministic build. With more, inserts run concurrently, each
	// node's neighbour list guarded by its own lock (as hnswlib does), and
	// the graph depends on their timing: same recall, not the same graph.
	Threads int
	// Progress, if set, is called with the number of nodes inserted so far
	// and N, about every 1% of the build and at the end, with done
	// increasing; calls do not overlap (a concurrent build serialises them)
	// and should return quickly.
	Progress func(done, total int)
}

// MaxHNSWM is the largest HNSWOptions.M.
const MaxHNSWM = 4096

// maxHNSWLevel caps the drawn levels (a level above it has probability
// about M^-32).
const maxHNSWLevel = 32

// Validate reports every problem of o at once, wrapping ErrOptions. It
// does not know the vectors: NewHNSW also checks Dim <= D.
func (o HNSWOptions) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if o.Dim < 0 {
		add("Dim %d is negative", o.Dim)
	}
	if o.M != 0 && (o.M < 2 || o.M > MaxHNSWM) {
		add("M %d outside 2..%d", o.M, MaxHNSWM)
	}
	if o.EfConstruction < 0 {
		add("EfConstruction %d is negative", o.EfConstruction)
	}
	if o.EfSearch < 0 {
		add("EfSearch %d is negative", o.EfSearch)
	}
	if o.Threads < 0 {
		add("Threads %d is negative", o.Threads)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: hnsw: %s", ErrOptions, strings.Join(problems, "; "))
	}
	return nil
}

// withDefaults returns o with its zero fields set to their defaults for
// vectors of dim d.
func (o HNSWOptions) withDefaults(d int) HNSWOptions {
	if o.Dim == 0 {
		o.Dim = d
	}
	if o.M == 0 {
		o.M = 16
	}
	if o.EfConstruction == 0 {
		o.EfConstruction = 100
	}
	if o.EfSearch == 0 {
		o.EfSearch = 64
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	return o
}

// HNSW is an approximate searcher: a hierarchical navigable small world
// graph (Malkov & Yashunin, 2016) built on the prefixes of one dim.
//
// Build: node i gets level ⌊−ln(U)·mL⌋, mL = 1/ln(M), U uniform in (0,1]
// from a PCG generator seeded by Seed; nodes are inserted in index order,
// on one goroutine (the build is deterministic), or by Threads goroutines
// taking the next node in turn, each neighbour list under its node's lock. An insert descends
// greedily from the entry point through the layers above the node's
// level, then on each of its layers runs a beam search of width
// EfConstruction and links to M of the results chosen by the paper's
// neighbour-selection heuristic (Algorithm 4): a candidate, taken best
// first, is kept if it is more similar to the new node than to every
// neighbour kept so far (fewer than M candidates are all kept). Each new
// neighbour links back; a list that overflows (M above layer 0, 2·M on
// layer 0) is re-chosen by the same heuristic among its members and the
// new node, so it may shrink and keep free slots for later back links.
// This is hnswlib's construction: given the node levels of an hnswlib
// index (M 16, efConstruction 100) of 100k rows, our inserts rebuilt its
// layer 0 but for 68 of the 100,000 lists (ties and rounding), and
// searched it at the same recall at every ef. Until 2026-12 the
// slots the heuristic left were refilled with the skipped candidates,
// best first (the paper's keepPrunedConnections), for new and pruned lists
// alike. That kept every list full, so each later back link competed with
// near neighbours and long links were lost: on 100k MatryoshkaLike rows at
// a 64-dim prefix (M 16, seeds 3 and 4) with queries drawn from clusters
// the rows do not come from, recall@100 was 0.63–0.68 at ef 100 and
// 0.89–0.90 at ef 1600; without the refill it is 0.65–0.69 and 0.95, at
// 4–9% fewer scored rows per query, and queries from the rows' own
// clusters are unchanged (0.97–0.98 at ef 100, 0.999 from ef 300).
// Pruning can leave nodes unreachable on layer 0: a handful per
// thousand rows for Cosine and L2 in the tests, but under InnerProduct
// rows of small norm, crowded out of every list by rows of large norm,
// were 28% of one test's rows. After the inserts each is linked from a
// similar reachable node with a free slot (see repair), so every node is
// reachable from the entry point.
//
// Storage is flat. Layer 0, which searches spend nearly all their time
// on, is one slab with a fixed-size block per node, as hnswlib lays it out:
// the node's prefix at the graph dim (L2-normalised for Cosine, so a score
// needs no norm lookup), then its neighbour count and 2·M int32 slots, the
// block padded to a multiple of 64 bytes so that every prefix starts a
// cache line. Expanding a node then reads one block, and scoring a
// neighbour reads only its prefix, instead of a list, a count, a norm and
// a row of the full-dim matrix in four places. That copy costs 4·dim
// bytes per node (the shared vectors are not searched by the graph); the
// upper layers keep M slots per list in a separate []int32 with their
// counts, 4·M/(M−1) more bytes per node on average (a node reaches layer l
// with probability M^−l). MemBytes reports the total.
//
// Scores are the index's metric at the graph dim: the cosine of the
// re-normalised prefixes, the inner product, or the negated squared L2
// distance.
//
// Search at dim equal to the graph dim returns the best k of a beam search
// of width max(ef, k) on layer 0; at a larger dim it reranks those
// max(ef, k) candidates exactly at dim (so an HNSW can be a Funnel's first
// stage); a dim below the graph dim is an error wrapping ErrDim. Results
// are approximate: a row the beam misses is not returned; since every row
// is reachable, a search with max(ef, k) >= N returns min(k, N) rows and
// is exact at the graph dim. Search does not allocate when dst has
// capacity k (its scratch comes from a sync.Pool); SearchBatch searches
// queries in parallel.
type HNSW struct {
	v        *Vectors
	dim      int // graph dim
	m, m0    int // max neighbours above layer 0, on layer 0
	efc      int
	ef       atomic.Int64
	cosine   bool      // nodes hold normalised prefixes
	stride   int       // floats per node block in nodes
	count0   int       // offset of the layer-0 count in a block (the graph dim)
	nodes    []float32 // per node: prefix, layer-0 count, m0 slots, padding
	nodeInts []int32   // nodes viewed as int32 (the count and slots)
	levels   []uint8   // level of each node
	upper    []int32   // upper[i]: index of node i's level-1 list among the upper lists
	links    []int32   // m slots per upper list
	counts   []int32   // neighbours held per upper list
	entry    int32     // entry point; -1 when empty
	maxLevel int       // level of the entry point
	repaired int       // nodes repair linked
	pool     sync.Pool // *hnswScratch

	// During a concurrent build only (nil/unused afterwards): one lock per
	// node guarding its neighbour lists and counts, and one for the entry
	// point and top level.
	locks []sync.Mutex
	top   sync.Mutex
}

// newHNSWGraph returns an HNSW over v with its layer-0 slab holding the
// prefixes at dim and empty lists, and no upper layers.
func newHNSWGraph(v *Vectors, dim, m int) *HNSW {
	h := &HNSW{v: v, dim: dim, m: m, m0: 2 * m, entry: -1, cosine: v.metric == mrl.Cosine}
	h.count0 = dim
	h.stride = (dim + 1 + h.m0 + 15) &^ 15
	h.nodes = make([]float32, v.n*h.stride)
	if len(h.nodes) > 0 {
		h.nodeInts = unsafe.Slice((*int32)(unsafe.Pointer(&h.nodes[0])), len(h.nodes))
	}
	for i := range v.n {
		x := h.nodes[i*h.stride : i*h.stride+dim]
		copy(x, v.data[i*v.d:i*v.d+dim])
		if h.cosine {
			f := rowNorm(mrl.Cosine, x)
			for j := range x {
				x[j] *= f
			}
		}
	}
	return h
}

// MemBytes returns the bytes h holds besides the Vectors it was built
// over: the layer-0 slab with the prefix copies, the upper layers and the
// per-node levels.
func (h *HNSW) MemBytes() int64 {
	return int64(4*len(h.nodes) + 4*len(h.links) + 4*len(h.counts) + 4*len(h.upper) + len(h.levels))
}

var _ Searcher = (*HNSW)(nil)

// NewHNSW builds the graph over v with opt (see HNSW). It copies v's
// prefixes at opt.Dim into the graph's blocks (normalised for Cosine). An
// opt.Dim above v's dim is an error
// wrapping ErrDim, an invalid opt one wrapping ErrOptions.
func NewHNSW(v *Vectors, opt HNSWOptions) (*HNSW, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults(v.d)
	if opt.Dim > v.d {
		return nil, fmt.Errorf("hnsw graph at dim %d of %d: %w", opt.Dim, v.d, ErrDim)
	}
	n := v.n
	h := newHNSWGraph(v, opt.Dim, opt.M)
	h.efc = opt.EfConstruction
	h.ef.Store(int64(opt.EfSearch))
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	mL := 1 / math.Log(float64(opt.M))
	h.levels = make([]uint8, n)
	h.upper = make([]int32, n)
	total := 0
	for i := range n {
		l := min(int(-math.Log(1-rng.Float64())*mL), maxHNSWLevel)
		h.levels[i] = uint8(l)
		h.upper[i] = int32(total)
		total += l
	}
	h.links = make([]int32, total*h.m)
	h.counts = make([]int32, total)
	s := h.newScratch()
	var progressMu sync.Mutex
	every, reported := max(1, n/100), 0
	report := func(done int) { // once done nodes are inserted
		if opt.Progress != nil && (done%every == 0 || done == n) {
			progressMu.Lock()
			if done > reported { // a later count may have got the lock first
				reported = done
				opt.Progress(done, n)
			}
			progressMu.Unlock()
		}
	}
	if opt.Threads <= 1 || n < 2*opt.Threads {
		for i := range n {
			h.insert(s, int32(i))
			report(i + 1)
		}
	} else {
		h.insert(s, 0) // the entry point
		h.locks = make([]sync.Mutex, n)
		var next, done atomic.Int64
		next.Store(1)
		done.Store(1)
		var wg sync.WaitGroup
		for t := 0; t < opt.Threads; t++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := h.newScratch()
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					h.insert(st, int32(i))
					report(int(done.Add(1)))
				}
			}()
		}
		wg.Wait()
		h.locks = nil
	}
	h.repair(s)
	h.pool.Put(s)
	return h, nil
}

// Vectors returns the storage h searches.
func (h *HNSW) Vectors() *Vectors { return h.v }

// Dim returns the graph dim.
func (h *HNSW) Dim() int { return h.dim }

// Ef returns the beam width searches use (at least k).
func (h *HNSW) Ef() int { return int(h.ef.Load()) }

// SetEf sets the default beam width of later searches (values below 1
// mean 1). It is safe to call during searches, but it changes every
// caller's searches: to search with a width of your own, use WithEf.
func (h *HNSW) SetEf(ef int) { h.ef.Store(int64(max(ef, 1))) }

// WithEf returns a view of h that searches with beam width ef (values
// below 1 mean 1) and shares the graph with h. The width travels with the
// view, so searches with different widths can run at the same time and h's
// default (SetEf) is untouched.
func (h *HNSW) WithEf(ef int) Searcher { return hnswEf{h: h, ef: max(ef, 1)} }

// hnswEf is HNSW with a beam width of its own; see WithEf.
type hnswEf struct {
	h  *HNSW
	ef int
}

func (v hnswEf) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	return v.h.searchOne(q, dim, k, v.ef, dst)
}

func (v hnswEf) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	return v.h.searchBatch(q, ldq, dim, k, v.ef, dst)
}

// list returns the neighbour slots of node i on layer l (full capacity)
// and its count.
func (h *HNSW) list(i int32, l int) ([]int32, *int32) {
	if l == 0 {
		b := int(i)*h.stride + h.count0
		return h.nodeInts[b+1 : b+1+h.m0], &h.nodeInts[b]
	}
	u := int(h.upper[i]) + l - 1
	return h.links[u*h.m : (u+1)*h.m], &h.counts[u]
}

// neighbours returns the neighbours of node i on layer l.
func (h *HNSW) neighbours(i int32, l int) []int32 {
	nb, c := h.list(i, l)
	return nb[:*c]
}

// neighboursOf is neighbours for code that also runs during a concurrent
// build: there it copies the list into s.nb under the node's lock.
func (h *HNSW) neighboursOf(s *hnswScratch, i int32, l int) []int32 {
	if h.locks == nil {
		return h.neighbours(i, l)
	}
	h.locks[i].Lock()
	s.nb = append(s.nb[:0], h.neighbours(i, l)...)
	h.locks[i].Unlock()
	return s.nb
}

// prefix returns node i's prefix at the graph dim (normalised for Cosine)
// and the norm factor sim needs for it.
func (h *HNSW) prefix(i int32) ([]float32, float32) {
	off := int(i) * h.stride
	return h.nodes[off : off+h.dim], 1
}

// queryNorm returns the norm factor sim needs for a query prefix: 1/‖q‖
// for Cosine (0 for a zero prefix), else 1 (unused).
func (h *HNSW) queryNorm(q []float32) float32 {
	if h.cosine {
		return rowNorm(mrl.Cosine, q)
	}
	return 1
}

// sim returns the score of node j against q (len = graph dim), whose norm
// factor is qn.
func (h *HNSW) sim(q []float32, qn float32, j int32) float32 {
	off := int(j) * h.stride
	x := h.nodes[off : off+len(q)]
	switch h.v.metric {
	case mrl.Cosine:
		return kernel.Dot(q, x) * qn
	case mrl.L2:
		return -kernel.SqL2(q, x)
	}
	return kernel.Dot(q, x)
}

// simBatch sets dst[t] = sim(q, qn, ids[t]) and returns dst. The prefixes
// are read together (kernel.DotGather: several in flight, the next ones
// prefetched), which is what a beam search waits on: each neighbour list
// points to nodes scattered over the whole slab.
func (h *HNSW) simBatch(q []float32, qn float32, ids []int32, dst []float32) []float32 {
	switch h.v.metric {
	case mrl.L2:
		for t, j := range ids {
			dst[t] = h.sim(q, qn, j)
		}
	case mrl.Cosine:
		kernel.DotGather(dst, q, h.nodes, h.stride, ids)
		for t := range dst {
			dst[t] *= qn
		}
	default:
		kernel.DotGather(dst, q, h.nodes, h.stride, ids)
	}
	return dst
}

// b2i is 1 for true and 0 for false (compiled without a branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hnswCand is an entry of a beam search's pool (see searchLayer).
type hnswCand struct {
	s  float32
	id int32
}

// hnswScratch is the per-goroutine state of searches and inserts.
type hnswScratch struct {
	visited []uint16 // visited[i] == gen: node i seen in this search (2 bytes: half the cache footprint of 4)
	gen     uint16
	top     []hnswCand                // beam search pool, best first
	res     []Hit                     // the results as hits, best first
	sel     [maxHNSWLevel + 1][]int32 // neighbours chosen for a new node, per layer
	prune   []Hit                     // candidates of an overflowing list
	keep    []int32                   // neighbours chosen for an overflowing list
	batch   []int32                   // unvisited neighbours scored together (simBatch)
	sims    []float32                 // their similarities
	nb      []int32                   // a neighbour list copied under its lock (neighboursOf)
}

func (h *HNSW) newScratch() *hnswScratch {
	return &hnswScratch{visited: make([]uint16, h.v.n), batch: make([]int32, 0, h.m0), sims: make([]float32, h.m0)}
}

func (h *HNSW) getScratch() *hnswScratch {
	if s, ok := h.pool.Get().(*hnswScratch); ok {
		return s
	}
	return h.newScratch()
}

// nextGen starts a new visited set.
func (s *hnswScratch) nextGen() {
	s.gen++
	if s.gen == 0 {
		clear(s.visited)
		s.gen = 1
	}
}

// greedy moves from ep to its best neighbour on layer l until none is
// better, and returns the node reached and its score.
func (h *HNSW) greedy(s *hnswScratch, q []float32, qn float32, ep int32, epSim float32, l int) (int32, float32) {
	for {
		// Score the whole list at once (simBatch keeps several rows in
		// flight); the first best one that beats ep is the move, as a
		// one-by-one scan would choose.
		nb := h.neighboursOf(s, ep, l)
		best := ep
		for t, sj := range h.simBatch(q, qn, nb, s.sims[:len(nb)]) {
			if sj > epSim {
				best, epSim = nb[t], sj
			}
		}
		if best == ep {
			return ep, epSim
		}
		ep = best
	}
}

// searchLayer runs a beam search of width ef on layer l from ep and
// returns the best ef nodes found, best first, in s.res (Score is sim).
//
// The search keeps one pool: the best ef nodes seen so far as (score, id)
// pairs sorted best first, an expanded node's id marked by its sign bit.
// It expands the best unexpanded node of the pool until none is left.
// That is the two-heap search of the HNSW paper (a candidate max-heap, a
// result min-heap, stop when the best candidate is worse than the worst
// result): a candidate that has dropped out of the best ef would end that
// search when popped, so only candidates inside the pool are ever
// expanded. At the beam widths searches use, inserting into a sorted
// array of 8-byte pairs (a binary search and a short move) costs less
// than pushing onto two heaps.
func (h *HNSW) searchLayer(s *hnswScratch, q []float32, qn float32, ep int32, epSim float32, ef, l int) []Hit {
	const done = -1 << 31 // sign bit of an id: the node was expanded
	s.nextGen()
	s.visited[ep] = s.gen
	pool := append(s.top[:0], hnswCand{epSim, ep})
	for cur := 0; cur < len(pool); {
		c := pool[cur].id
		pool[cur].id |= done
		// Keep the unvisited neighbours without a branch on the visited
		// test (about half of them go each way, unpredictably): every one
		// is written and only the new ones advance the count.
		nb := h.neighboursOf(s, c, l)
		ids, n, gen := s.batch[:len(nb)], 0, s.gen
		for _, j := range nb {
			ids[n] = j
			seen := s.visited[j] == gen
			s.visited[j] = gen
			n += b2i(!seen)
		}
		ids = ids[:n]
		next := cur + 1 // lowest position that may be unexpanded
		for t, sj := range h.simBatch(q, qn, ids, s.sims[:len(ids)]) {
			full := len(pool) == ef
			if full && !(sj > pool[ef-1].s) {
				continue
			}
			// After the last entry scoring at least sj: ties keep their
			// order of arrival.
			lo, hi := 0, len(pool)
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				if pool[m].s >= sj {
					lo = m + 1
				} else {
					hi = m
				}
			}
			if !full {
				pool = append(pool, hnswCand{})
			}
			copy(pool[lo+1:], pool[lo:len(pool)-1])
			pool[lo] = hnswCand{sj, ids[t]}
			next = min(next, lo)
		}
		for cur = next; cur < len(pool) && pool[cur].id < 0; cur++ {
		}
		if l == 0 && cur < len(pool) {
			// The next node to expand is known: fetch its count and
			// slots while this loop's bookkeeping finishes.
			b := int(pool[cur].id)*h.stride + h.count0
			kernel.Prefetch(h.nodeInts[b : b+1+h.m0])
		}
	}
	s.top = pool
	res := s.res[:0]
	for _, x := range pool {
		res = append(res, Hit{Score: x.s, Index: x.id &^ done})
	}
	// Order equal scores by index (insertion sort: the pool is sorted by
	// score already).
	for a := 1; a < len(res); a++ {
		for b := a; b > 0 && compareHits(res[b], res[b-1]) < 0; b-- {
			res[b], res[b-1] = res[b-1], res[b]
		}
	}
	s.res = res
	return res
}

// selectNeighbours chooses up to limit of cands (best first, Score the
// similarity to the node being linked) by the heuristic (see HNSW) and
// appends them to out[:0]; fewer candidates than limit are all kept.
func (h *HNSW) selectNeighbours(cands []Hit, limit int, out []int32) []int32 {
	out = out[:0]
	if len(cands) < limit {
		for _, c := range cands {
			out = append(out, c.Index)
		}
		return out
	}
	for _, c := range cands {
		if len(out) == limit {
			break
		}
		x, xn := h.prefix(c.Index)
		good := true
		for _, r := range out {
			if h.sim(x, xn, r) > c.Score {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.Index)
		}
	}
	return out
}

// insert links node i into the graph. During a concurrent build it takes
// the top lock for the whole insert of a node above the current top level
// (so that one such insert at a time can move the entry point), and each
// node's lock while reading or writing its lists.
func (h *HNSW) insert(s *hnswScratch, i int32) {
	l := int(h.levels[i])
	if h.locks != nil {
		h.top.Lock()
	}
	entry, maxLevel := h.entry, h.maxLevel
	if h.locks != nil {
		if l <= maxLevel {
			h.top.Unlock()
		} else {
			defer h.top.Unlock()
		}
	}
	if entry < 0 {
		h.entry, h.maxLevel = i, l
		return
	}
	q, qn := h.prefix(i)
	ep := entry
	epSim := h.sim(q, qn, ep)
	for lc := maxLevel; lc > l; lc-- {
		ep, epSim = h.greedy(s, q, qn, ep, epSim, lc)
	}
	top := min(l, maxLevel)
	for lc := top; lc >= 0; lc-- {
		w := h.searchLayer(s, q, qn, ep, epSim, h.efc, lc)
		ep, epSim = w[0].Index, w[0].Score
		s.sel[lc] = h.selectNeighbours(w, h.m, s.sel[lc])
		if h.locks != nil {
			h.locks[i].Lock()
		}
		nb, c := h.list(i, lc)
		*c = int32(copy(nb, s.sel[lc]))
		if h.locks != nil {
			h.locks[i].Unlock()
		}
	}
	// Link back only once i's lists on all its layers are written: the
	// back links are what make i reachable. Linking back layer by layer
	// (as the paper's sequential loop does; the graph is the same, since
	// a layer's search reads only that layer's lists) let a concurrent
	// insert reach i on an upper layer, descend from it, find i's lower
	// lists still empty, stop there and link to i alone; i's own write of
	// its list then dropped that insert's link back to i. Under
	// contention that left nodes with one neighbour or unreachable, and
	// the conformance recall of a 3-thread build below its bar.
	for lc := top; lc >= 0; lc-- {
		for _, j := range s.sel[lc] {
			h.linkBack(s, j, i, lc)
		}
	}
	if l > maxLevel {
		h.entry, h.maxLevel = i, l
	}
}

// linkBack adds i to j's neighbours on layer l, re-choosing j's list by
// the heuristic if it is full.
func (h *HNSW) linkBack(s *hnswScratch, j, i int32, l int) {
	if h.locks != nil {
		h.locks[j].Lock()
		defer h.locks[j].Unlock()
	}
	nb, c := h.list(j, l)
	n := int(*c)
	if n < len(nb) {
		nb[n] = i
		*c++
		return
	}
	x, xn := h.prefix(j)
	p := s.prune[:0]
	for _, r := range nb {
		p = append(p, Hit{Score: h.sim(x, xn, r), Index: r})
	}
	p = append(p, Hit{Score: h.sim(x, xn, i), Index: i})
	slices.SortFunc(p, compareHits)
	s.keep = h.selectNeighbours(p, len(nb), s.keep)
	*c = int32(copy(nb, s.keep))
	s.prune = p[:0]
}

// repair links every node that the pruning left unreachable from the
// entry point on layer 0: from the most similar node with a free layer-0
// slot among the results of a beam search of width EfConstruction from
// the entry point (all reachable), else from the first reachable node in
// index order with a free slot. A node whose island it joins brings the
// island along. Only if no reachable node has a free slot (never seen in
// practice: a new node fills M of its 2·M slots) does a node stay
// unreachable.
func (h *HNSW) repair(s *hnswScratch) {
	n := h.v.n
	if n < 2 {
		return
	}
	reached := make([]bool, n)
	var queue []int32
	mark := func(i int32) {
		reached[i] = true
		queue = append(queue[:0], i)
		for len(queue) > 0 {
			j := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			for _, x := range h.neighbours(j, 0) {
				if !reached[x] {
					reached[x] = true
					queue = append(queue, x)
				}
			}
		}
	}
	mark(h.entry)
	full := int32(0) // nodes below full have full layer-0 lists
	for u := range int32(n) {
		if reached[u] {
			continue
		}
		q, qn := h.prefix(u)
		from := int32(-1)
		for _, r := range h.searchLayer(s, q, qn, h.entry, h.sim(q, qn, h.entry), h.efc, 0) {
			if len(h.neighbours(r.Index, 0)) < h.m0 {
				from = r.Index
				break
			}
		}
		for int(full) < n && len(h.neighbours(full, 0)) == h.m0 {
			full++ // lists only grow here: a full node stays full
		}
		for r := full; from < 0 && int(r) < n; r++ {
			if reached[r] && len(h.neighbours(r, 0)) < h.m0 {
				from = r
			}
		}
		if from < 0 {
			continue
		}
		nb, c := h.list(from, 0)
		nb[*c] = u
		*c++
		h.repaired++
		mark(u)
	}
}

// checkDim reports a search dim below the graph dim.
func (h *HNSW) checkDim(dim int) error {
	if dim < h.dim {
		return fmt.Errorf("hnsw search at dim %d: the graph was built at dim %d: %w", dim, h.dim, ErrDim)
	}
	return nil
}

// Search implements Searcher; it is approximate (see HNSW).
func (h *HNSW) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	return h.searchOne(q, dim, k, h.Ef(), dst)
}

// searchOne is Search with beam width ef.
func (h *HNSW) searchOne(q []float32, dim, k, ef int, dst []Hit) ([]Hit, error) {
	if err := checkQuery(h.v, q, dim); err != nil {
		return dst[:0], err
	}
	if err := h.checkDim(dim); err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), h.v.n)
	if k == 0 {
		return dst[:0], nil
	}
	s := h.getScratch()
	dst = h.search(s, q, dim, k, ef, dst)
	h.pool.Put(s)
	return dst, nil
}

// search finds the k best rows at dim (checked, k >= 1, N >= 1) with beam
// width ef.
func (h *HNSW) search(s *hnswScratch, q []float32, dim, k, ef int, dst []Hit) []Hit {
	gq := q[:h.dim]
	qn := h.queryNorm(gq)
	ep := h.entry
	epSim := h.sim(gq, qn, ep)
	for l := h.maxLevel; l > 0; l-- {
		ep, epSim = h.greedy(s, gq, qn, ep, epSim, l)
	}
	w := h.searchLayer(s, gq, qn, ep, epSim, max(ef, k), 0)
	if dim > h.dim {
		h.v.rescore(q[:dim], w)
	}
	w = w[:min(k, len(w))]
	for i := range w {
		w[i].ID = h.v.ids[w[i].Index]
	}
	return append(dst[:0], w...)
}

// SearchBatch implements Searcher: the queries are searched in parallel
// (kernel.ParallelFor), each as by Search.
func (h *HNSW) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	return h.searchBatch(q, ldq, dim, k, h.Ef(), dst)
}

// searchBatch is SearchBatch with beam width ef.
func (h *HNSW) searchBatch(q []float32, ldq, dim, k, ef int, dst [][]Hit) ([][]Hit, error) {
	return searchEach(h.v, q, ldq, dim, k, dst, h.checkDim, h.getScratch, func(s *hnswScratch) { h.pool.Put(s) },
		func(s *hnswScratch, q []float32, k int, dst []Hit) []Hit { return h.search(s, q, len(q), k, ef, dst) })
}
