package index

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// FlatOptions configures NewFlatWith. The zero value is NewFlat's.
type FlatOptions struct {
	// Int8Filter keeps int8 codes of the rows (one byte per dim, a
	// quarter of the float rows' memory) and scores batches (SearchBatch)
	// on them first: a bound on each code score's error lets through
	// every row that could enter a query's k best, and only those are
	// scored in float32. The results are those of the float scan; see
	// Flat's int8 filter. It runs on CPUs where kernel.HasScanTileInt8
	// (AVX512-VNNI), at dims from 32; elsewhere SearchBatch runs the float
	// scan.
	Int8Filter bool
}

// NewFlatWith returns the exact searcher over v configured by opt; with
// opt.Int8Filter it codes the rows first (one pass over them).
func NewFlatWith(v *Vectors, opt FlatOptions) (*Flat, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: NewFlatWith: nil vectors", ErrOptions)
	}
	f := NewFlat(v)
	if opt.Int8Filter {
		if v.d > int8MaxDim {
			return nil, fmt.Errorf("%w: Int8Filter: dim %d above %d, where the filter's int32 sums could overflow", ErrOptions, v.d, int8MaxDim)
		}
		f.codes = newInt8Codes(v)
	}
	return f, nil
}

// int8MaxDim is the largest D the int8 filter takes: a block's int32 sum
// is at most (127·255 + 128·127 + 64)·D < 2^31 for D < 44,091.
const int8MaxDim = 32768

// Int8Filter reports whether f's batches at dim take the int8 filter: f
// keeps codes (FlatOptions.Int8Filter), the CPU runs them and dim is at
// least 32 (below, the float scan is faster).
func (f *Flat) Int8Filter(dim int) bool {
	return f.codes != nil && kernel.HasScanTileInt8() && dim >= int8MinDim
}

// FilterBytes returns the memory the int8 filter holds: the codes (one
// byte per dim and row), their scales and the row shifts cached per dim
// searched (4 bytes per row and block of dims); 0 without the filter.
func (f *Flat) FilterBytes() int64 {
	if f.codes == nil {
		return 0
	}
	return f.codes.memBytes()
}

// int8Codes are the rows coded per dim: x[i][p] ≈ scale[p]·code[i*stride+p]
// with scale[p] = max_i |x[i][p]| / 127, so the coding error of each value
// is at most scale[p]/2 (no clamping: |x/scale| <= 127). Rows are stride
// = D rounded up to 4 bytes apart, the padding zero. The dims are cut
// into blocks (starting at the dims in starts, multiples of 4) of similar
// magnitude, each of which a query codes with its own scale; see Flat's
// int8 filter.
type int8Codes struct {
	code   []int8
	stride int
	scale  []float64
	starts []int
	shifts dimCache[int32] // dim -> each row's shift per block (see shiftsAt)
}

// int8BlockRatio bounds the spread, largest over smallest, of the typical
// products scale[p]·rms(x[:, p]) within a block of dims (8 at a time).
// On 1M × 256 MatryoshkaLike rows (bench/scan, 2026-12-02) ratios 2, 4, 8
// and 16 let through 190-290 rows per query for k = 10, and 4 to 8 ran
// fastest at d = 256 and 2048; one block let through 1,900 at d = 256 and
// 80,000 of 200,000 at d = 2048.
const int8BlockRatio = 4

func newInt8Codes(v *Vectors) *int8Codes {
	n, d := v.n, v.d
	c := &int8Codes{stride: (d + 3) &^ 3, scale: make([]float64, d)}
	// Per dim, the largest magnitude and the sum of squares, over row
	// chunks in parallel (partials merged in chunk order).
	const rowsPer = 16384
	nch := (n + rowsPer - 1) / rowsPer
	parts := make([]float64, 2*nch*d)
	kernel.ParallelFor(nch, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mx, sq := parts[2*ch*d:(2*ch+1)*d], parts[(2*ch+1)*d:(2*ch+2)*d]
			for i := ch * rowsPer; i < min((ch+1)*rowsPer, n); i++ {
				for p, x := range v.data[i*d : (i+1)*d] {
					mx[p] = max(mx[p], math.Abs(float64(x)))
					sq[p] += float64(x) * float64(x)
				}
			}
		}
	})
	ss := make([]float64, d)
	for ch := range nch {
		for p := range d {
			c.scale[p] = max(c.scale[p], parts[2*ch*d+p])
			ss[p] += parts[(2*ch+1)*d+p]
		}
	}
	inv := make([]float64, d)
	for p := range c.scale {
		c.scale[p] /= 127
		if c.scale[p] > 0 {
			inv[p] = 1 / c.scale[p]
		}
	}
	c.code = make([]int8, n*c.stride)
	kernel.ParallelFor(n, 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c.code[i*c.stride:]
			for p, x := range v.data[i*d : (i+1)*d] {
				row[p] = int8(max(-127, min(127, math.RoundToEven(float64(x)*inv[p]))))
			}
		}
	})
	// Blocks: 8 dims at a time, a new block where the typical product of
	// a dim with a query of the rows' kind (scale·rms) leaves a spread of
	// int8BlockRatio.
	c.starts = []int{0}
	lo, hi := math.Inf(1), 0.0
	for u := 0; u < d; u += 8 {
		a := 0.0
		for p := u; p < min(u+8, d); p++ {
			a = max(a, c.scale[p]*math.Sqrt(ss[p]/float64(max(n, 1))))
		}
		if u > 0 && a > 0 && (max(hi, a) > int8BlockRatio*min(lo, a)) {
			c.starts = append(c.starts, u)
			lo, hi = math.Inf(1), 0.0
		}
		if a > 0 {
			lo, hi = min(lo, a), max(hi, a)
		}
	}
	return c
}

// steps returns the blocks' sizes in steps of four dims for a search at
// dim, and their first dims (with dim rounded up to 4 at the end).
func (c *int8Codes) steps(dim int) (ks []int32, at []int) {
	k4 := (dim + 3) / 4
	for l, s := range c.starts {
		if s >= 4*k4 {
			break
		}
		end := 4 * k4
		if l+1 < len(c.starts) {
			end = min(end, c.starts[l+1])
		}
		ks = append(ks, int32((end-s)/4))
		at = append(at, s)
	}
	return ks, append(at, 4*k4)
}

// memBytes is the codes' memory, with the shifts cached so far.
func (c *int8Codes) memBytes() int64 {
	return int64(len(c.code)) + 8*int64(len(c.scale)) + 4*c.shifts.elems()
}

// shiftsAt returns each row's shift per block for a search at dim (the
// blocks at, see steps), laid out as kernel.ScanTileInt8 reads them: the
// rows in groups of 12, group g's shifts at [g*nb*12:], row i of the
// group's for block l at [g*nb*12 + l*12 + i] (the last group padded with
// zeros). A shift is −128·Σx̃ over the codes the kernel reads (the
// queries' bytes are w̃+128) plus ⌈L1/2⌉ over the dims searched (the
// bound's term of the query's coding). Computed once per dim.
func (c *int8Codes) shiftsAt(n, dim int, at []int) []int32 {
	const group = kernel.Int8TileRows
	nb := len(at) - 1
	return c.shifts.getOrCompute(dim, func() []int32 {
		h := make([]int32, (n+group-1)/group*group*nb)
		kernel.ParallelFor(n, 4096, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				code := c.code[r*c.stride : r*c.stride+at[nb]]
				hg := h[r/group*nb*group:]
				for l := range nb {
					var sum, l1 int32
					for p := at[l]; p < at[l+1]; p++ {
						x := int32(code[p])
						sum += x
						if p < dim {
							l1 += abs32(x)
						}
					}
					hg[l*group+r%group] = -128*sum + (l1+1)/2
				}
			}
		})
		return h
	})
}

// The int8 filter (FlatOptions.Int8Filter) scores a batch in two steps.
//
// Codes. With s_p the per-dim scale of the rows' codes x̃ (|x_p − s_p·x̃_p|
// <= s_p/2), a query q is coded per block B of dims (int8Codes.starts) as
// w̃_p = round(s_p·q_p / t_B) with t_B = max_{p∈B} |s_p·q_p| / 127
// (|s_p·q_p − t_B·w̃_p| <= t_B/2), so that
//
//	x·q = Σ_B t_B·Σ_{p∈B} x̃_p·w̃_p + Σ_p x̃_p·(s_p·q_p − t_B·w̃_p) + Σ_p q_p·(x_p − s_p·x̃_p)
//	    <= E + Σ_B t_B·(x̃_B·w̃_B + L1(x̃_B)/2),   E = Σ_p |q_p|·s_p/2,
//
// an upper bound UB(x) from integers per row and block (x̃_B·w̃_B and the
// L1 norm of the row's codes in B) and floats per query. One scale per
// block rather than per query keeps the second term small where the
// dims' magnitudes fall off, as a Matryoshka embedding's do (one scale
// over 2048 such dims made it ~30x the first). E is widened by the
// float32 rounding of the exact scores (m·2^-23 of Σ|x_p·q_p| <= 254·E)
// and of the float sums over the blocks, so that a row whose float32
// score beats a query's current k-th best always has UB above it.
//
// Scan. kernel.ScanTileInt8 forms UB (the query's bytes as w̃+128, the
// row's shift per block −128·Σx̃_B + ⌈L1(x̃_B)/2⌉, the query's start E)
// and compares the row's key of it (UB/‖x‖ for Cosine, 2·UB − ‖x‖² for
// L2, as the float scan forms keys) with the query's
// k-th best key (lowered by 2^-18 of itself, the float32 rounding of the
// keys). Only the rows it lets through are scored in float32
// (kernel.Dot) and offered to the query's top k; as the k-th best rises,
// fewer rows pass. Every row that could enter the k best is scored
// exactly, so the results are the float scan's (up to the rounding of a
// float32 dot, which both paths share).

// int8MinDim is the smallest dim a batch takes the int8 filter at: at 16
// dims it ran 0.86x the float scan (1M rows, 1,000 queries, bench/scan,
// 2026-12-02), at 32 1.35x. A variable so that tests can lower it.
var int8MinDim = 32

// int8Panel is one panel of 32 coded queries.
type int8Panel struct {
	b []uint8   // steps·32·4 bytes: byte r of step p of query j at b[(p*32+j)*4+r]
	t []float32 // the blocks' scales: t[l*32+j]
	e []float32 // the bound's start per query
}

// codeQueries codes the nq queries (ldq apart) at dim into panels, for
// the blocks ks starting at dims at. It returns false if a query cannot
// be coded (see codeQuery).
func (f *Flat) codeQueries(q []float32, ldq, dim, nq int, ks []int32, at []int) ([]int8Panel, bool) {
	const qs = kernel.Int8TileQueries
	k4, nb := (dim+3)/4, len(ks)
	np := (nq + qs - 1) / qs
	ps := make([]int8Panel, np)
	bytes := make([]uint8, np*k4*qs*4)
	fl := make([]float32, np*qs*(nb+1))
	for p := range ps {
		ps[p] = int8Panel{b: bytes[p*k4*qs*4 : (p+1)*k4*qs*4], t: fl[p*qs*(nb+1) : p*qs*(nb+1)+nb*qs], e: fl[p*qs*(nb+1)+nb*qs : (p+1)*qs*(nb+1)]}
		for i := range ps[p].b {
			ps[p].b[i] = 128 // w̃ = 0: padding queries and dims
		}
		for j := 0; j < qs && p*qs+j < nq; j++ {
			qi := p*qs + j
			if !f.codes.codeQuery(q[qi*ldq:qi*ldq+dim], j, qs, ks, at, ps[p].b, ps[p].t, ps[p].e) {
				return nil, false
			}
		}
	}
	return ps, true
}

// codeQuery codes query q (len(q) = the dim searched) as query j of a
// panel of qs queries: its bytes w̃+128 into b (which holds 128 where the
// query has no dims), its scale of block l into t[l*qs+j] and the
// bound's start into e[j]. It returns false if a scale or the bound is
// not a finite normal float32 (values near the ends of float32's range),
// where the filter's rounding terms would not hold.
func (c *int8Codes) codeQuery(q []float32, j, qs int, ks []int32, at []int, b []uint8, t, e []float32) bool {
	dim, nb := len(q), len(ks)
	// The float32 rounding of an exact score, relative to 254·E, and of
	// the kernel's float sums: (2·blocks+4) roundings of at most |E| +
	// Σ_B t_B·|x̃_B·w̃_B + ⌈L1/2⌉| <= |E| + Σ_B t_B·16193·|B|.
	round := 1 + 254*float64(dim+2)*0x1p-23
	sums := float64(2*nb+4) * 0x1p-24
	var bound, worst float64
	for l := range ks {
		lo, hi := at[l], min(at[l+1], dim)
		wmax := 0.0
		for i := lo; i < hi; i++ {
			w := math.Abs(float64(q[i])) * c.scale[i]
			wmax = max(wmax, w)
			bound += w / 2
		}
		tl := float32(wmax / 127)
		t[l*qs+j] = tl
		if !normal(tl) && (tl != 0 || wmax != 0) {
			return false
		}
		if tl == 0 {
			continue // every w̃ is 0, and every product of the block
		}
		worst += float64(tl) * 16193 * float64(at[l+1]-at[l])
		for i := lo; i < hi; i++ {
			w := math.RoundToEven(float64(q[i]) * c.scale[i] / float64(tl))
			b[(i/4*qs+j)*4+i%4] = uint8(int32(max(-127, min(127, w))) + 128)
		}
	}
	bound *= round
	bound += sums * (bound + worst)
	ef := float32(bound)
	if float64(ef) < bound {
		ef = math.Nextafter32(ef, float32(math.Inf(1)))
	}
	if math.IsInf(float64(ef), 0) {
		return false
	}
	e[j] = ef
	return true
}

// normal reports whether x is a finite normal float32.
func normal(x float32) bool {
	a := math.Abs(float64(x))
	return a >= 0x1p-126 && a <= math.MaxFloat32
}

// int8Bar returns the threshold of ScanTileInt8 for a query with k-th
// best key worst: worst lowered by 2^-18 of itself (the float32 rounding
// of the kernel's keys), rounded down.
func int8Bar(worst float32) float32 {
	v := float64(worst)
	v -= math.Abs(v) * 0x1p-18
	return math.Nextafter32(float32(v), float32(math.Inf(-1)))
}

// searchBlockInt8 is searchBlock with the int8 filter; it returns false,
// having touched nothing, if the queries cannot be coded (see
// codeQueries): the caller runs the float scan then.
func (f *Flat) searchBlockInt8(q []float32, ldq, dim, nq int, heaps []topK) bool {
	const qs = kernel.Int8TileQueries
	ks, at := f.codes.steps(dim)
	ps, ok := f.codeQueries(q, ldq, dim, nq, ks, at)
	if !ok {
		return false
	}
	thr := make([]float32, len(ps)*qs)
	for j := range thr {
		if j >= nq {
			thr[j] = float32(math.Inf(1)) // padding: never a hit
		} else {
			thr[j] = float32(math.Inf(-1)) // every row is a hit until k are held
		}
	}
	k4 := (dim + 3) / 4
	// Rows per chunk: about 64 KiB of codes, a multiple of the tile.
	chunk := max(kernel.Int8TileRows, 65536/(4*k4)/kernel.Int8TileRows*kernel.Int8TileRows)
	kernel.ParallelFor(len(ps), 1, func(lo, hi int) {
		f.scanPanelsInt8(heaps, q, ldq, ps[lo:hi], thr[lo*qs:hi*qs], lo*qs, dim, chunk, ks, at)
	})
	return true
}

// scanPanelsInt8 runs the coded panels ps (thresholds thr, first query
// q0) over every row; see searchBlockInt8.
func (f *Flat) scanPanelsInt8(heaps []topK, q []float32, ldq int, ps []int8Panel, thr []float32, q0, dim, chunk int, ks []int32, at []int) {
	const group, qs = kernel.Int8TileRows, kernel.Int8TileQueries
	v, c := f.v, f.codes
	n, d := v.n, v.d
	k4, nb := (dim+3)/4, len(ks)
	norms := v.prefixNorms(dim) // Cosine: 1/‖x[:dim]‖; L2: ‖x[:dim]‖²; nil for InnerProduct
	shifts := c.shiftsAt(n, dim, at)
	var cbuf [group * qs]float32
	ngroups := (chunk + group - 1) / group
	so := make([]float32, ngroups*2*group)
	var pad []int8 // the last, partial group of rows, zero-padded
	for r0 := 0; r0 < n; r0 += chunk {
		r1 := min(r0+chunk, n)
		// Each row's key scale and shift.
		for g := r0; g < r1; g += group {
			f.tileScales(so[(g-r0)/group*2*group:][:2*group], norms, g, min(group, r1-g))
		}
		for pi := range ps {
			p := &ps[pi]
			th := thr[pi*qs : (pi+1)*qs]
			for g := r0; g < r1; g += group {
				gi := (g - r0) / group
				rows := min(group, r1-g)
				a, lda := c.code[g*c.stride:], c.stride
				if rows < group {
					if pad == nil {
						pad = make([]int8, group*4*k4)
					}
					clear(pad)
					for i := 0; i < rows; i++ {
						copy(pad[i*4*k4:(i+1)*4*k4], c.code[(g+i)*c.stride:])
					}
					a, lda = pad, 4*k4
				}
				mask := kernel.ScanTileInt8(ks, a, lda, p.b, p.t, p.e, shifts[g/group*nb*group:], so[gi*2*group:], th, cbuf[:])
				for mask != 0 {
					j := bits.TrailingZeros32(mask)
					mask &= mask - 1
					qi := q0 + pi*qs + j
					t := &heaps[qi]
					qv := q[qi*ldq : qi*ldq+dim]
					for i := 0; i < rows; i++ {
						if !(cbuf[i*qs+j] > th[j]) {
							continue
						}
						r := g + i
						key := kernel.Dot(qv, v.data[r*d:r*d+dim])
						if norms != nil {
							key = scanKey(v.metric, key, norms[r])
						}
						// Rows come in increasing index, so a tie with the worst loses.
						if t.full() && key <= t.worst() {
							continue
						}
						t.push(Hit{Score: key, Index: int32(r)})
					}
					if t.full() {
						th[j] = int8Bar(t.worst())
					}
				}
			}
		}
	}
}

// tileScales sets so (a scan tile's 2·group floats: kernel.ScanTile's or
// kernel.ScanTileInt8's) to the key scales and shifts of the rows g, g+1,
// ..., g+rows-1 (norms: the metric's prefix norms, nil for
// InnerProduct); the rows past them get scale 0 and shift −Inf, so they
// never pass.
func (f *Flat) tileScales(so, norms []float32, g, rows int) {
	group := len(so) / 2
	for i := 0; i < group; i++ {
		switch {
		case i >= rows:
			so[i], so[group+i] = 0, float32(math.Inf(-1))
		case f.v.metric == mrl.Cosine:
			so[i], so[group+i] = norms[g+i], 0
		case f.v.metric == mrl.L2:
			so[i], so[group+i] = 2, -norms[g+i]
		default:
			so[i], so[group+i] = 1, 0
		}
	}
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}
