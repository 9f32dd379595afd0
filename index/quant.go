package index

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// QuantKind is the code a Quantized tier stores per row.
type QuantKind uint8

const (
	// Binary stores one bit per dim: the sign of the value (see Quantized).
	Binary QuantKind = iota
	// Int8 stores one int8 per dim: the value over a per-dim scale.
	Int8
)

// String returns "binary" or "int8".
func (k QuantKind) String() string {
	switch k {
	case Binary:
		return "binary"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("QuantKind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler: "binary" or "int8".
func (k QuantKind) MarshalText() ([]byte, error) {
	if k != Binary && k != Int8 {
		return nil, fmt.Errorf("%w: %v", ErrOptions, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *QuantKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "binary":
		*k = Binary
	case "int8":
		*k = Int8
	default:
		return fmt.Errorf("%w: quantisation %q: want binary or int8", ErrOptions, b)
	}
	return nil
}

// Default oversampling factors of QuantOptions.Rescore. Sign codes lose
// far more than int8 codes, so the binary tier keeps more candidates: on
// MatryoshkaLike data (20k rows, queries from the same mixture) the int8
// codes at dim 64 hold all of the exact cosine top 10 among their best 40,
// the sign codes only about a third of it among their best 160.
const (
	DefaultBinaryRescore = 16
	DefaultInt8Rescore   = 4
)

// QuantOptions configures NewQuantized. The zero value is valid: a binary
// tier on the full vectors.
type QuantOptions struct {
	// Kind is the code stored per row. Default (zero): Binary.
	Kind QuantKind
	// Dim is the coded prefix dim, 1..D: only x[:Dim] of each row is
	// coded. Default (0): D, the full vectors.
	Dim int
	// Rescore is the oversampling factor: a search for k rows ranks every
	// row by its code, keeps the best Rescore·k and re-scores those
	// exactly. At least 1; default (0): DefaultBinaryRescore for Binary,
	// DefaultInt8Rescore for Int8.
	Rescore int
}

// Validate reports every problem of o at once, wrapping ErrOptions. It
// does not know the vectors: NewQuantized also checks Dim <= D.
func (o QuantOptions) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if o.Kind != Binary && o.Kind != Int8 {
		add("Kind %v is neither Binary nor Int8", o.Kind)
	}
	if o.Dim < 0 {
		add("Dim %d is negative", o.Dim)
	}
	if o.Rescore < 0 {
		add("Rescore %d is negative", o.Rescore)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: quantized: %s", ErrOptions, strings.Join(problems, "; "))
	}
	return nil
}

// withDefaults returns o with its zero fields set to their defaults for
// vectors of dim d.
func (o QuantOptions) withDefaults(d int) QuantOptions {
	if o.Dim == 0 {
		o.Dim = d
	}
	if o.Rescore == 0 {
		o.Rescore = DefaultBinaryRescore
		if o.Kind == Int8 {
			o.Rescore = DefaultInt8Rescore
		}
	}
	return o
}

// Quantized is an approximate searcher, a quantised first-stage tier: it
// ranks every row by a compact code of its prefix at the coded dim, then
// re-scores the best candidates exactly in float.
//
// Codes, for the coded dim c (QuantOptions.Dim):
//
//   - Binary: bit j of a row is set when x_j > 0 (InnerProduct) or x_j >
//     μ_j, μ_j the mean of dim j over the rows (L2, whose scores do not
//     change when every vector moves by −μ, and Cosine), so that the bits
//     split the data near its middle rather than at the origin: an
//     embedding after a ReLU has no negative values, and its plain sign
//     bits are all set (on the Fashion-MNIST CNN embeddings a 64-dim
//     binary first stage kept recall@10 0.11 that way). A query is coded
//     the same way and a row scores c − 2·Hamming(row bits, query bits),
//     the agreement of the signs, by math/bits.OnesCount64 per word: the
//     POPCNT instruction, about 1.5 ns a one-word row (BenchmarkHamming64).
//     AVX2 has no vector popcount instruction and one word a row leaves
//     nothing to vectorise, so there is no assembly kernel. Cosine ranks
//     rows by that agreement. InnerProduct and L2 also need norms: with
//     r = ‖x[:c] − μ‖ per row (μ = 0 for InnerProduct), ρ = ‖q[:c] − μ‖
//     and the angle between the two estimated from the signs as
//     θ ≈ π·Hamming/c (as for random hyperplanes), InnerProduct ranks by
//     r·cos θ and L2 by 2·ρ·r·cos θ − r², estimates of the keys Flat ranks
//     by. On MatryoshkaLike data (20k rows, dim 64, 160 candidates for the
//     top 10) this raised the recall of the candidates from 0.24 to 0.86
//     for InnerProduct and from 0.34 to 0.41 for L2. Signs keep far less
//     than int8 codes, so the binary tier oversamples more by default.
//   - Int8: dim j has the step s_j = max_i |x_ij| / 127 (the largest
//     magnitude over the rows, no clipping) and a row's code is
//     round(x_ij / s_j), in −127..127 (0 where s_j = 0). The query is
//     quantised too: q'_j = q_j·s_j is coded as round(q'_j / t) with
//     t = max_j |q'_j| / 127, so t·(code dot) ≈ x·q and the dot is one
//     int8×int8 kernel (kernel.DotInt8Rows). Rows rank as Flat's keys do
//     with that dot: Cosine by dot / ‖x[:c]‖, L2 by 2·dot − ‖x[:c]‖²,
//     using the exact prefix norms kept by the Vectors. Quantising the
//     query too, rather than keeping it float, cost almost nothing in
//     accuracy on MatryoshkaLike data (recall@10 of the code ranking
//     alone 0.88 against 0.91 at dim 64; both 1.0 with 4× oversampling)
//     and allows the integer kernel, four rows at a time (about 2.5 ns a
//     row of 64 codes on a Zen 3 core).
//
// Memory per vector: BytesPerVector, ⌈c/64⌉·8 bytes for Binary (plus 4
// for r under InnerProduct and L2) and c rounded up to a multiple of 16
// for Int8 (zero padding, so the kernel scores four rows at a time with no
// tail), against 4·c bytes for the float prefix: at c = 64, 8 bytes
// (Binary, Cosine) or 64 bytes (Int8) instead of 256. Add 4·c bytes per
// index (μ or s) and, for Int8 under Cosine or L2, the Vectors' prefix
// norms at c (4 bytes per row). The float vectors stay in the Vectors for
// the exact re-scoring.
//
// Search(q, dim, k) ranks the rows by their codes at c' = min(dim, c) —
// the first c' bits or int8 codes, the code of a prefix being the prefix
// of the code — keeps the best min(Rescore·k, N) (ties to the lower
// index), re-scores them exactly at dim and returns the best k with exact
// scores. So a dim above the coded dim shortlists at c and reranks at dim,
// and the tier can be a Funnel's first stage at plan[0].Dim = c. When
// Rescore·k >= N every row would be re-scored, so the search is Flat's,
// exact; else a row whose code ranks below the Rescore·k-th is not
// returned. Search does not allocate when dst has capacity k (its scratch
// comes from a sync.Pool), except that the first search at a dim below c
// computes and keeps the norms it needs there (the Vectors' prefix norms,
// or r of a binary tier); SearchBatch searches queries in parallel.
type Quantized struct {
	v       *Vectors
	flat    *Flat // searches that would re-score every row
	kind    QuantKind
	dim     int // coded dim c
	rescore int

	words  int       // Binary: uint64 words per row
	bits   []uint64  // Binary: N·words sign bits, bit j of a row in word j/64 at j%64
	center []float32 // Binary: μ under L2 and Cosine, nil otherwise

	// Binary under InnerProduct and L2: dim -> r per row (see rowNorms).
	norms dimCache[float32]

	stride int       // Int8: bytes per row, dim rounded up to a multiple of 16
	codes  []int8    // Int8: N rows of stride codes, zero past dim
	scale  []float32 // Int8: s_j per dim

	pool sync.Pool // *quantScratch
}

var _ Searcher = (*Quantized)(nil)

// quantBlock is the number of rows whose int8 dots are computed per
// kernel call.
const quantBlock = 256

// quantScratch is the per-goroutine state of searches.
type quantScratch struct {
	cand  []Hit     // topK storage for the candidates
	qbits []uint64  // Binary: the query's bits
	cos   []float32 // Binary: cos(π·h/c) for Hamming distances h = 0..c (len >= 128)
	q8    []int8    // Int8: the query's codes
	dots  []int32   // Int8: one block of code dots
}

// NewQuantized codes the prefixes of v at opt.Dim (see Quantized). For
// Int8 under Cosine or L2 it computes v's prefix norms at opt.Dim. An
// opt.Dim above v's dim is an error wrapping ErrDim, an invalid opt one
// wrapping ErrOptions.
func NewQuantized(v *Vectors, opt QuantOptions) (*Quantized, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults(v.d)
	if opt.Dim > v.d {
		return nil, fmt.Errorf("quantized tier at dim %d of %d: %w", opt.Dim, v.d, ErrDim)
	}
	x := &Quantized{v: v, flat: NewFlat(v), kind: opt.Kind, dim: opt.Dim, rescore: opt.Rescore}
	if x.kind == Binary {
		x.buildBinary()
		x.rowNorms(x.dim)
	} else {
		x.buildInt8()
		v.prefixNorms(x.dim)
	}
	return x, nil
}

func (x *Quantized) buildBinary() {
	v, c := x.v, x.dim
	x.words = (c + 63) / 64
	x.bits = make([]uint64, v.n*x.words)
	if v.metric != mrl.InnerProduct {
		sum := make([]float64, c)
		for i := range v.n {
			for j, e := range v.data[i*v.d : i*v.d+c] {
				sum[j] += float64(e)
			}
		}
		x.center = make([]float32, c)
		for j := range sum {
			if v.n > 0 {
				x.center[j] = float32(sum[j] / float64(v.n))
			}
		}
	}
	kernel.ParallelFor(v.n, 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x.signBits(x.bits[i*x.words:(i+1)*x.words], v.data[i*v.d:i*v.d+c])
		}
	})
}

// signBits sets dst (cleared, ⌈len(p)/64⌉ words) to the sign bits of the
// prefix p, relative to the center under L2 and Cosine.
func (x *Quantized) signBits(dst []uint64, p []float32) {
	clear(dst)
	for j, e := range p {
		if x.center != nil {
			e -= x.center[j]
		}
		if e > 0 {
			dst[j/64] |= 1 << (j % 64)
		}
	}
}

// rowNorms returns r = ‖x[:c] − μ[:c]‖ per row (μ = 0 for InnerProduct)
// for a binary tier under InnerProduct or L2, computing and caching it at
// the first call for c; nil otherwise.
func (x *Quantized) rowNorms(c int) []float32 {
	v := x.v
	if x.kind != Binary || v.metric == mrl.Cosine || v.n == 0 {
		return nil
	}
	return x.norms.getOrCompute(c, func() []float32 {
		r := make([]float32, v.n)
		kernel.ParallelFor(v.n, 1024, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r[i] = x.centeredNorm(v.data[i*v.d : i*v.d+c])
			}
		})
		return r
	})
}

// centeredNorm returns ‖p − μ[:len(p)]‖, μ = 0 when there is no center.
func (x *Quantized) centeredNorm(p []float32) float32 {
	var s float64
	for j, e := range p {
		if x.center != nil {
			e -= x.center[j]
		}
		s += float64(e) * float64(e)
	}
	return float32(math.Sqrt(s))
}

func (x *Quantized) buildInt8() {
	v, c := x.v, x.dim
	mx := make([]float32, c)
	for i := range v.n {
		for j, e := range v.data[i*v.d : i*v.d+c] {
			mx[j] = max(mx[j], float32(math.Abs(float64(e))))
		}
	}
	x.scale = make([]float32, c)
	inv := make([]float32, c)
	for j, m := range mx {
		if m > 0 {
			x.scale[j] = m / 127
			inv[j] = 127 / m
		}
	}
	x.stride = roundUp16(c)
	x.codes = make([]int8, v.n*x.stride)
	kernel.ParallelFor(v.n, 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x.codes[i*x.stride : i*x.stride+c]
			for j, e := range v.data[i*v.d : i*v.d+c] {
				row[j] = quantize(e * inv[j])
			}
		}
	})
}

// roundUp16 rounds c up to a multiple of 16.
func roundUp16(c int) int { return (c + 15) &^ 15 }

// quantize rounds e to the nearest integer, ties away from zero, clamped
// to −127..127.
func quantize(e float32) int8 {
	r := math.Round(float64(e))
	return int8(min(max(r, -127), 127))
}

// Vectors returns the storage x searches.
func (x *Quantized) Vectors() *Vectors { return x.v }

// Kind returns the code kind.
func (x *Quantized) Kind() QuantKind { return x.kind }

// Dim returns the coded dim.
func (x *Quantized) Dim() int { return x.dim }

// Rescore returns the oversampling factor.
func (x *Quantized) Rescore() int { return x.rescore }

// BytesPerVector returns the bytes the tier keeps per row: the code,
// ⌈Dim/64⌉·8 for Binary and Dim rounded up to a multiple of 16 for Int8,
// plus 4 for the norm r at Dim of a Binary tier under InnerProduct or L2
// (against 4·Dim for the float prefix).
func (x *Quantized) BytesPerVector() int {
	if x.kind == Int8 {
		return x.stride
	}
	if x.v.metric != mrl.Cosine {
		return 8*x.words + 4
	}
	return 8 * x.words
}

// MemoryBytes returns the bytes x holds beyond the Vectors: N rows of
// codes, 4·Dim for the per-dim centers or steps and, for Binary under
// InnerProduct or L2, 4 bytes per row for each dim whose norms r it has
// computed (Dim at build, then each lower dim searched). Int8 under
// Cosine or L2 also reads the Vectors' prefix norms at Dim, 4 bytes per
// row.
func (x *Quantized) MemoryBytes() int64 {
	n := int64(x.v.n)
	b := 4 * int64(len(x.center)+len(x.scale))
	if x.kind == Int8 {
		return b + n*int64(x.stride)
	}
	b += n * 8 * int64(x.words)
	b += 4 * x.norms.elems()
	return b
}

func (x *Quantized) getScratch() *quantScratch {
	if s, ok := x.pool.Get().(*quantScratch); ok {
		return s
	}
	s := &quantScratch{}
	if x.kind == Binary {
		s.qbits = make([]uint64, x.words)
		s.cos = make([]float32, max(x.dim+1, 128))
	} else {
		s.q8 = make([]int8, x.stride)
		s.dots = make([]int32, quantBlock)
	}
	return s
}

// Search implements Searcher; it is approximate (see Quantized).
func (x *Quantized) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	if err := checkQuery(x.v, q, dim); err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), x.v.n)
	if k == 0 {
		return dst[:0], nil
	}
	s := x.getScratch()
	dst = x.search(s, q, dim, k, dst)
	x.pool.Put(s)
	return dst, nil
}

// search finds the k best rows at dim (checked, 1 <= k <= N).
func (x *Quantized) search(s *quantScratch, q []float32, dim, k int, dst []Hit) []Hit {
	n := x.v.n
	if x.rescore > (n-1)/k { // Rescore·k >= N: every row is a candidate
		dst, _ = x.flat.Search(q, dim, k, dst) // checked: cannot fail
		return dst
	}
	m := x.rescore * k
	t := topK{h: s.cand[:0], k: m}
	if m >= selectMinK { // many candidates: Flat's selection buffer beats a heap
		if cap(s.cand) < 2*m {
			s.cand = make([]Hit, 0, 2*m)
		}
		t = topK{h: s.cand[:0], k: m, sel: true}
	}
	switch {
	case x.kind == Binary:
		x.scanBinary(s, q[:min(dim, x.dim)], &t)
	default:
		x.scanInt8(s, q[:min(dim, x.dim)], &t)
	}
	w := t.best()
	x.v.score(q[:dim], w)
	s.cand = w[:0]
	selectBest(w, k)
	w = w[:k]
	slices.SortFunc(w, compareHits)
	for i := range w {
		w[i].ID = x.v.ids[w[i].Index]
	}
	return append(dst[:0], w...)
}

// scanBinary offers every row to t, keyed by the agreement of its first
// len(q) sign bits with the query's, len(q) − 2·Hamming (Cosine), or by
// the estimates of Quantized's doc (InnerProduct, L2).
func (x *Quantized) scanBinary(s *quantScratch, q []float32, t *topK) {
	c := len(q)
	nw := (c + 63) / 64
	qb := s.qbits[:nw]
	x.signBits(qb, q)
	mask := ^uint64(0)
	if c%64 != 0 {
		mask = 1<<(c%64) - 1
	}
	if x.v.metric != mrl.Cosine {
		x.scanBinaryNorms(s, qb, mask, q, t)
		return
	}
	words, codes, n := x.words, x.bits, x.v.n
	bar := math.MinInt // t's worst agreement once full: a row must beat it
	offer := func(i, agree int) {
		t.push(Hit{Score: float32(agree), Index: int32(i)})
		if t.full() {
			bar = int(t.worst())
		}
	}
	switch {
	case words == 1: // one word per row (Dim <= 64): the hot case
		q0 := qb[0]
		for i, w := range codes[:n] {
			if a := c - 2*bits.OnesCount64((w^q0)&mask); a > bar {
				offer(i, a)
			}
		}
	default:
		for i := range n {
			if a := c - 2*hamming(codes[i*words:i*words+nw], qb, mask); a > bar {
				offer(i, a)
			}
		}
	}
}

// hamming returns the Hamming distance of the words row and qb, the last
// word masked.
func hamming(row, qb []uint64, mask uint64) int {
	last := len(qb) - 1
	h := bits.OnesCount64((row[last] ^ qb[last]) & mask)
	for w, qw := range qb[:last] {
		h += bits.OnesCount64(row[w] ^ qw)
	}
	return h
}

// scanBinaryNorms is scanBinary under InnerProduct and L2: the query's
// bits qb (last word masked by mask) are those of the prefix q.
func (x *Quantized) scanBinaryNorms(s *quantScratch, qb []uint64, mask uint64, q []float32, t *topK) {
	c := len(q)
	cos := s.cos[:c+1]
	for h := range cos {
		cos[h] = float32(math.Cos(math.Pi * float64(h) / float64(c)))
	}
	r := x.rowNorms(c)
	l2 := x.v.metric == mrl.L2
	var rho2 float32 // 2ρ
	if l2 {
		rho2 = 2 * x.centeredNorm(q)
	}
	words, codes, n := x.words, x.bits, x.v.n
	nw := len(qb)
	r = r[:n]
	bar := float32(math.Inf(-1)) // t's worst key once full
	// The hot case, Dim <= 64: one word a row, and h <= 64 indexes the
	// table without a bounds check.
	if words == 1 {
		ct := (*[128]float32)(s.cos[:128])
		q0 := qb[0]
		if l2 {
			for i, w := range codes[:n] {
				ri := r[i]
				if key := (rho2*ct[bits.OnesCount64((w^q0)&mask)&127] - ri) * ri; key > bar {
					bar = offerKey(t, key, i)
				}
			}
			return
		}
		for i, w := range codes[:n] {
			if key := r[i] * ct[bits.OnesCount64((w^q0)&mask)&127]; key > bar {
				bar = offerKey(t, key, i)
			}
		}
		return
	}
	for i := range n {
		key := r[i] * cos[hamming(codes[i*words:i*words+nw], qb, mask)]
		if l2 {
			key = rho2*key - r[i]*r[i]
		}
		if key > bar {
			bar = offerKey(t, key, i)
		}
	}
}

// scanInt8 offers every row to t, keyed as Flat keys it but with the dot
// of the int8 codes of the first len(q) dims.
func (x *Quantized) scanInt8(s *quantScratch, q []float32, t *topK) {
	c := len(q)
	c16 := roundUp16(c) // the codes past c meet zeros of q8
	q8 := s.q8[:c16]
	clear(q8[c:])
	var mx float32
	for j, e := range q {
		mx = max(mx, float32(math.Abs(float64(e*x.scale[j]))))
	}
	var f, inv float32 // f·(code dot) ≈ x·q
	if mx > 0 {
		f, inv = mx/127, 127/mx
	}
	for j, e := range q {
		q8[j] = quantize(e * x.scale[j] * inv)
	}
	metric := x.v.metric
	norms := x.v.prefixNorms(c)
	n, ld := x.v.n, x.stride
	bar := float32(math.Inf(-1)) // t's worst key once full
	for r0 := 0; r0 < n; r0 += quantBlock {
		r1 := min(r0+quantBlock, n)
		dots := s.dots[:r1-r0]
		kernel.DotInt8Rows(dots, x.codes[r0*ld:(r1-1)*ld+c16], ld, q8)
		var nrm []float32
		if norms != nil {
			nrm = norms[r0:r1]
			nrm = nrm[:len(dots)]
		}
		// The keys of Flat (scanKey) with the dot f·d; the factor f > 0
		// does not change the order under Cosine and InnerProduct. One
		// loop per metric keeps the switch out of the row loop.
		switch metric {
		case mrl.Cosine:
			for j, d := range dots {
				if key := float32(d) * nrm[j]; key > bar {
					bar = offerKey(t, key, r0+j)
				}
			}
		case mrl.L2:
			f2 := 2 * f
			for j, d := range dots {
				if key := f2*float32(d) - nrm[j]; key > bar {
					bar = offerKey(t, key, r0+j)
				}
			}
		default:
			for j, d := range dots {
				if key := float32(d); key > bar {
					bar = offerKey(t, key, r0+j)
				}
			}
		}
	}
}

// offerKey pushes row i with key onto t and returns the key a later row
// must beat: t's worst once full, else −∞.
func offerKey(t *topK, key float32, i int) float32 {
	t.push(Hit{Score: key, Index: int32(i)})
	if t.full() {
		return t.worst()
	}
	return float32(math.Inf(-1))
}

// SearchBatch implements Searcher: the queries are searched in parallel
// (kernel.ParallelFor), each as by Search.
func (x *Quantized) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	nq, err := checkBatch(x.v, q, ldq, dim)
	if err != nil {
		return dst[:0], err
	}
	dst = batchDst(dst, nq)
	k = min(max(k, 0), x.v.n)
	if k == 0 || nq == 0 {
		return dst, nil
	}
	kernel.ParallelFor(nq, 1, func(lo, hi int) {
		s := x.getScratch()
		for i := lo; i < hi; i++ {
			dst[i] = x.search(s, q[i*ldq:i*ldq+dim], dim, k, dst[i])
		}
		x.pool.Put(s)
	})
	return dst, nil
}
