package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// IVFOptions configures NewIVF. The zero value is valid: every field's
// zero means its default.
type IVFOptions struct {
	// ClusterDim is d_c, the prefix dim that k-means clusters on and that
	// rows and queries are assigned to lists by, 1..D. Default (0):
	// min(64, D).
	ClusterDim int
	// Lists is the number of k-means centroids, each heading one inverted
	// list. Default (0): round(√N), at least 1; a value above N is lowered
	// to N (an empty index has no lists).
	Lists int
	// Probe is the number of lists a search scans, until SetProbe changes
	// it. Default (0): max(1, Lists/16); a value above Lists is lowered to
	// Lists, which makes searches exact.
	Probe int
	// Iters is the most Lloyd iterations k-means runs; it stops earlier
	// when an assignment moves no row. Default (0): 20.
	Iters int
	// Seed seeds the PCG generator of the k-means++ initialisation and of
	// the training sample: the same vectors, options and seed build the
	// same lists. Default: 0.
	Seed uint64
	// TrainRows is the number of rows k-means runs on: a seeded uniform
	// sample when below N; every row is then assigned to the centroids it
	// found. Default (0): min(N, 256·Lists), FAISS's default too; -1: all
	// rows.
	TrainRows int
}

// Validate reports every problem of o at once, wrapping ErrOptions. It
// does not know the vectors: NewIVF also checks ClusterDim <= D.
func (o IVFOptions) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if o.ClusterDim < 0 {
		add("ClusterDim %d is negative", o.ClusterDim)
	}
	if o.Lists < 0 || o.Lists > math.MaxInt32 {
		add("Lists %d outside 0..%d", o.Lists, math.MaxInt32)
	}
	if o.Probe < 0 {
		add("Probe %d is negative", o.Probe)
	}
	if o.Iters < 0 {
		add("Iters %d is negative", o.Iters)
	}
	if o.TrainRows < -1 {
		add("TrainRows %d below -1", o.TrainRows)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: ivf: %s", ErrOptions, strings.Join(problems, "; "))
	}
	return nil
}

// withDefaults returns o with its zero fields set to their defaults, and
// Lists and Probe clamped, for n rows of dim d.
func (o IVFOptions) withDefaults(n, d int) IVFOptions {
	if o.ClusterDim == 0 {
		o.ClusterDim = min(64, d)
	}
	if o.Lists == 0 {
		o.Lists = max(1, int(math.Round(math.Sqrt(float64(n)))))
	}
	o.Lists = min(o.Lists, n)
	if o.Probe == 0 {
		o.Probe = max(1, o.Lists/16)
	}
	o.Probe = min(o.Probe, o.Lists)
	if o.Iters == 0 {
		o.Iters = 20
	}
	switch {
	case o.TrainRows == 0:
		o.TrainRows = min(n, 256*o.Lists)
	case o.TrainRows < 0 || o.TrainRows > n:
		o.TrainRows = n
	}
	return o
}

// IVF is an approximate searcher: an inverted file whose lists are the
// k-means clusters of the rows' prefixes at the cluster dim d_c, searched
// at any dim — AdANNS' split (Rege et al., NeurIPS 2023) of the
// clustering dim d_c from the search dim d_s.
//
// Build: k-means on the d_c-prefixes under the index's metric. Cosine
// runs spherical k-means: the prefixes are re-normalised, each centroid
// is the normalised mean of its members' normalised prefixes, and rows
// join the centroid of highest cosine (zero prefixes join list 0 and do
// not move centroids). L2 runs plain k-means (Lloyd): centroids are
// means, rows join the nearest centroid. InnerProduct clusters the raw
// prefixes: centroids are plain means, but rows join the centroid of
// highest inner product, the score searches probe by, so rows of large
// norm can crowd into few lists. Centroids start by k-means++ (Arthur &
// Vassilvitskii, 2007) from a PCG generator seeded by Seed: the first is
// a uniform row, each next a row drawn with probability proportional to
// its squared distance to the nearest centroid so far (between
// normalised prefixes for Cosine, raw ones otherwise); when every row
// sits on a centroid, a uniform row. Then up to Iters Lloyd iterations;
// a list left empty keeps its centroid. Both run on TrainRows rows (a
// seeded sample of 256 per list by default: the cost of k-means++ grows
// as rows × lists); the rows outside the sample then join their best
// centroid. The assignment step scores
// blocks of rows against all centroids with kernel.Sgemm; the update
// sums in float64 in row order, so the build is deterministic.
//
// Storage is flat: centroids as one Lists×d_c []float32, and the lists
// in CSR form, offsets []int32 (Lists+1) and row indexes []int32 (N, in
// increasing order within a list): 4·d_c·Lists + 4·(Lists+1) + 4·N bytes
// over the vectors.
//
// Search at dim ranks the centroids by the query's prefix at
// c = min(d_c, dim) against the centroids' c-prefixes (the metric's score,
// a cosine re-normalising both), scans the Probe best lists (ties to the
// lower list), scores their rows exactly at dim and keeps the best k
// under the package's tie rule. If those lists hold fewer than k rows it
// scans further lists in centroid order until it has k, so a search
// returns min(k, N) rows. With Probe = Lists every row is scored and the
// search is exact. Search does not allocate when dst has capacity k and
// the Probe lists hold at least k rows (its scratch comes from a
// sync.Pool); SearchBatch searches queries in parallel.
type IVF struct {
	v       *Vectors
	dc      int       // cluster dim
	nlist   int       // lists
	cent    []float32 // nlist × dc centroids
	cnorm   []float32 // per centroid at dc: Cosine 1/‖c‖ (0 for 0), L2 ‖c‖², else unused
	offsets []int32   // list j holds rows[offsets[j]:offsets[j+1]]
	rows    []int32
	iters   int // Lloyd iterations run
	probe   atomic.Int64
	pool    sync.Pool // *ivfScratch
}

var _ Searcher = (*IVF)(nil)

// NewIVF clusters v with opt and builds the inverted lists (see IVF). It
// computes v's prefix norms at opt.ClusterDim for Cosine. An
// opt.ClusterDim above v's dim is an error wrapping ErrDim, an invalid opt
// one wrapping ErrOptions.
func NewIVF(v *Vectors, opt IVFOptions) (*IVF, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults(v.n, v.d)
	if opt.ClusterDim > v.d {
		return nil, fmt.Errorf("ivf clusters at dim %d of %d: %w", opt.ClusterDim, v.d, ErrDim)
	}
	f := &IVF{v: v, dc: opt.ClusterDim, nlist: opt.Lists}
	f.probe.Store(int64(opt.Probe))
	f.offsets = make([]int32, f.nlist+1)
	if v.n == 0 {
		return f, nil
	}
	f.kmeans(opt)
	return f, nil
}

// Vectors returns the storage f searches.
func (f *IVF) Vectors() *Vectors { return f.v }

// ClusterDim returns d_c, the dim of the centroids.
func (f *IVF) ClusterDim() int { return f.dc }

// Lists returns the number of lists (0 for an empty index).
func (f *IVF) Lists() int { return f.nlist }

// ListLen returns the number of rows in list j, 0 <= j < Lists().
func (f *IVF) ListLen(j int) int { return int(f.offsets[j+1] - f.offsets[j]) }

// Iters returns the number of Lloyd iterations the build ran.
func (f *IVF) Iters() int { return f.iters }

// Probe returns the number of lists searches scan.
func (f *IVF) Probe() int { return int(f.probe.Load()) }

// SetProbe sets the default number of lists later searches scan (values
// below 1 mean 1, above Lists mean Lists). It is safe to call during
// searches, but it changes every caller's searches: to search with a
// probe of your own, use WithProbe.
func (f *IVF) SetProbe(p int) { f.probe.Store(int64(max(p, 1))) }

// WithProbe returns a view of f that scans p lists per search (values
// below 1 mean 1, above Lists mean Lists) and shares the lists with f; f's
// default (SetProbe) is untouched.
func (f *IVF) WithProbe(p int) Searcher { return ivfProbe{f: f, probe: max(p, 1)} }

// ivfProbe is IVF with a probe of its own; see WithProbe.
type ivfProbe struct {
	f     *IVF
	probe int
}

func (v ivfProbe) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	return v.f.searchOne(q, dim, k, v.probe, dst)
}

func (v ivfProbe) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	return v.f.searchBatch(q, ldq, dim, k, v.probe, dst)
}

// kmeans runs the seeding and the Lloyd iterations and builds the lists
// (n >= 1, 1 <= nlist <= n).
func (f *IVF) kmeans(opt IVFOptions) {
	v := f.v
	n, dc, nl := v.n, f.dc, f.nlist
	var assign []int32
	if opt.TrainRows < n {
		assign = make([]int32, n)
		for i := range assign {
			assign[i] = -1
		}
		rb := min(n, max(1, (1<<20)/nl)) // rows per Sgemm block
		scores := make([]float32, rb*nl)
		// k-means on a sample's prefixes, then one assignment of all rows.
		rng := rand.New(rand.NewPCG(opt.Seed, 0xbb67ae8584caa73b))
		idx := rng.Perm(n)[:opt.TrainRows]
		slices.Sort(idx)
		x := make([]float32, len(idx)*dc)
		for t, i := range idx {
			copy(x[t*dc:(t+1)*dc], v.data[i*v.d:i*v.d+dc])
		}
		sv, err := NewVectors(x, len(idx), dc, v.metric, nil)
		if err != nil {
			panic("index: ivf sample: " + err.Error()) // rows of v are valid
		}
		if v.metric == mrl.Cosine {
			v.prefixNorms(dc) // as the full build computes them (see NewIVF)
		}
		sub := &IVF{v: sv, dc: dc, nlist: nl}
		sub.cluster(opt)
		f.cent, f.cnorm, f.iters = sub.cent, sub.cnorm, sub.iters
		f.assign(assign, scores, rb)
	} else {
		assign = f.cluster(opt)
	}
	counts := make([]int, nl)
	for _, c := range assign {
		counts[c]++
	}
	for j, c := range counts {
		f.offsets[j+1] = f.offsets[j] + int32(c)
	}
	f.rows = make([]int32, n)
	next := slices.Clone(f.offsets[:nl])
	for i, c := range assign {
		f.rows[next[c]] = int32(i)
		next[c]++
	}
}

// cluster runs k-means on all of f's rows (see IVF): it sets f.cent,
// f.cnorm and f.iters and returns each row's list.
func (f *IVF) cluster(opt IVFOptions) []int32 {
	v := f.v
	n, dc, nl := v.n, f.dc, f.nlist
	var inv []float32 // Cosine: 1/‖x[:dc]‖ per row
	if v.metric == mrl.Cosine {
		inv = v.prefixNorms(dc)
	}
	f.cent = make([]float32, nl*dc)
	f.cnorm = make([]float32, nl)
	f.seed(rand.New(rand.NewPCG(opt.Seed, 0x6a09e667f3bcc909)), inv)
	assign := make([]int32, n)
	for i := range assign {
		assign[i] = -1
	}
	rb := min(n, max(1, (1<<20)/nl)) // rows per Sgemm block
	scores := make([]float32, rb*nl)
	sums := make([]float64, nl*dc)
	counts := make([]int, nl)
	for it := 0; ; it++ {
		if f.assign(assign, scores, rb) == 0 || it == opt.Iters {
			break
		}
		f.update(assign, inv, sums, counts)
		f.iters++
	}
	return assign
}

// setCentroid makes row i's prefix centroid j (normalised for Cosine).
func (f *IVF) setCentroid(j, i int, inv []float32) {
	c := f.cent[j*f.dc : (j+1)*f.dc]
	copy(c, f.v.Row(i)[:f.dc])
	if inv != nil {
		kernel.Scal(inv[i], c)
	}
	f.cnorm[j] = rowNorm(f.v.metric, c)
}

// seed picks the initial centroids by k-means++ (see IVF).
func (f *IVF) seed(rng *rand.Rand, inv []float32) {
	v := f.v
	n, dc := v.n, f.dc
	dist := make([]float64, n) // squared distance to the nearest centroid
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	pick := rng.IntN(n)
	for j := 0; j < f.nlist; j++ {
		if j > 0 {
			var total float64
			for _, x := range dist {
				total += x
			}
			if total > 0 {
				r := rng.Float64() * total
				pick = -1
				for i, x := range dist {
					if x > 0 {
						pick = i
						if r -= x; r < 0 {
							break
						}
					}
				}
			} else {
				pick = rng.IntN(n)
			}
		}
		f.setCentroid(j, pick, inv)
		c := f.cent[j*dc : (j+1)*dc]
		kernel.ParallelFor(n, 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x := v.data[i*v.d : i*v.d+dc]
				var e float64
				switch {
				case inv == nil:
					e = float64(kernel.SqL2(x, c))
				case inv[i] != 0:
					e = max(0, 2-2*float64(inv[i]*kernel.Dot(x, c)))
				}
				dist[i] = min(dist[i], e)
			}
		})
	}
}

// assign moves every row to the list of its best centroid (ties to the
// lower list), scoring blocks of rb rows with Sgemm into scores, and
// returns the number of rows that moved.
func (f *IVF) assign(assign []int32, scores []float32, rb int) int {
	v := f.v
	nl, dc := f.nlist, f.dc
	l2 := v.metric == mrl.L2
	var moved atomic.Int64
	for r0 := 0; r0 < v.n; r0 += rb {
		w := min(rb, v.n-r0)
		kernel.Sgemm(false, true, w, nl, dc, 1, v.data[r0*v.d:], v.d, f.cent, dc, 0, scores, nl)
		kernel.ParallelFor(w, 256, func(lo, hi int) {
			m := 0
			for i := lo; i < hi; i++ {
				best, bj := float32(0), int32(0)
				for j, dot := range scores[i*nl : (i+1)*nl] {
					key := dot // Cosine: centroids are unit (or zero)
					if l2 {
						key = 2*dot - f.cnorm[j]
					}
					if j == 0 || key > best {
						best, bj = key, int32(j)
					}
				}
				if assign[r0+i] != bj {
					assign[r0+i] = bj
					m++
				}
			}
			moved.Add(int64(m))
		})
	}
	return int(moved.Load())
}

// update sets every non-empty list's centroid to the mean of its rows'
// prefixes (normalised, of normalised prefixes, for Cosine).
func (f *IVF) update(assign []int32, inv []float32, sums []float64, counts []int) {
	v := f.v
	dc := f.dc
	clear(sums)
	clear(counts)
	for i, c := range assign {
		w := 1.0
		if inv != nil {
			if inv[i] == 0 {
				continue
			}
			w = float64(inv[i])
		}
		s := sums[int(c)*dc : (int(c)+1)*dc]
		for j, x := range v.data[i*v.d : i*v.d+dc] {
			s[j] += w * float64(x)
		}
		counts[c]++
	}
	for c, m := range counts {
		if m == 0 {
			continue // an empty list keeps its centroid
		}
		s := sums[c*dc : (c+1)*dc]
		cen := f.cent[c*dc : (c+1)*dc]
		if inv != nil {
			var ss float64
			for _, x := range s {
				ss += x * x
			}
			if ss == 0 {
				continue
			}
			r := 1 / math.Sqrt(ss)
			for j, x := range s {
				cen[j] = float32(x * r)
			}
		} else {
			for j, x := range s {
				cen[j] = float32(x / float64(m))
			}
		}
		f.cnorm[c] = rowNorm(v.metric, cen)
	}
}

// ivfScratch is the per-goroutine state of searches.
type ivfScratch struct {
	lists []Hit // keys of all centroids, Index the list
	probe []Hit // topK storage of the probed lists
}

func (f *IVF) getScratch() *ivfScratch {
	if s, ok := f.pool.Get().(*ivfScratch); ok {
		return s
	}
	return &ivfScratch{lists: make([]Hit, f.nlist), probe: make([]Hit, 0, f.nlist)}
}

// Search implements Searcher; it is approximate (see IVF).
func (f *IVF) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	return f.searchOne(q, dim, k, f.Probe(), dst)
}

// searchOne is Search scanning probe lists.
func (f *IVF) searchOne(q []float32, dim, k, probe int, dst []Hit) ([]Hit, error) {
	if err := checkQuery(f.v, q, dim); err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), f.v.n)
	if k == 0 {
		return dst[:0], nil
	}
	s := f.getScratch()
	dst = f.search(s, q[:dim], k, probe, dst)
	f.pool.Put(s)
	return dst, nil
}

// search finds the k best rows at dim = len(q) (checked, 1 <= k <= N),
// scanning probe lists.
func (f *IVF) search(s *ivfScratch, q []float32, k, probe int, dst []Hit) []Hit {
	v := f.v
	dim := len(q)
	c := min(f.dc, dim)
	qc := q[:c]
	probe = min(probe, f.nlist)
	lt := topK{h: s.probe[:0], k: probe}
	for j := range f.nlist {
		cj := f.cent[j*f.dc : j*f.dc+c]
		key := kernel.Dot(qc, cj)
		switch v.metric {
		case mrl.Cosine:
			nrm := f.cnorm[j]
			if c < f.dc {
				nrm = rowNorm(mrl.Cosine, cj)
			}
			key *= nrm
		case mrl.L2:
			nrm := f.cnorm[j]
			if c < f.dc {
				nrm = rowNorm(mrl.L2, cj)
			}
			key = 2*key - nrm
		}
		s.lists[j] = Hit{Score: key, Index: int32(j)}
		if lt.full() && key <= lt.worst() { // lists come in increasing index
			continue
		}
		lt.push(s.lists[j])
	}
	s.probe = lt.h
	norms := v.prefixNorms(dim)
	t := topK{h: dst[:0], k: k}
	scanned := 0
	scan := func(j int32) {
		for _, r := range f.rows[f.offsets[j]:f.offsets[j+1]] {
			off := int(r) * v.d
			key := kernel.Dot(q, v.data[off:off+dim])
			if norms != nil {
				key = scanKey(v.metric, key, norms[r])
			}
			// Lists come in any order: a tie with the worst is settled by push.
			if t.full() && key < t.worst() {
				continue
			}
			t.push(Hit{Score: key, Index: r})
		}
		scanned += int(f.offsets[j+1] - f.offsets[j])
	}
	for _, l := range lt.h {
		scan(l.Index)
	}
	if scanned < k {
		// Too few rows in the probed lists: go on in centroid order.
		slices.SortFunc(s.lists, compareHits)
		for _, l := range s.lists[probe:] {
			if scanned >= k {
				break
			}
			scan(l.Index)
		}
	}
	h := t.sorted()
	a, b := queryScale(v.metric, q)
	for i := range h {
		h[i].Score = h[i].Score*a + b
		h[i].ID = v.ids[h[i].Index]
	}
	return h
}

// SearchBatch implements Searcher: the queries are searched in parallel
// (kernel.ParallelFor), each as by Search.
func (f *IVF) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	return f.searchBatch(q, ldq, dim, k, f.Probe(), dst)
}

// searchBatch is SearchBatch scanning probe lists.
func (f *IVF) searchBatch(q []float32, ldq, dim, k, probe int, dst [][]Hit) ([][]Hit, error) {
	return searchEach(f.v, q, ldq, dim, k, dst, nil, f.getScratch, func(s *ivfScratch) { f.pool.Put(s) },
		func(s *ivfScratch, q []float32, k int, dst []Hit) []Hit { return f.search(s, q, k, probe, dst) })
}
