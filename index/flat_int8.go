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
	// Flat's int8 filter. It applies to InnerProduct and Cosine, on CPUs
	// where kernel.HasScanTileInt8 (AVX512-VNNI); elsewhere, and for L2,
	// SearchBatch runs the float scan.
	Int8Filter bool
}

// NewFlatWith returns the exact searcher over v configured by opt; with
// opt.Int8Filter it codes the rows first (one pass over them; not for
// L2, whose batches run the float scan).
func NewFlatWith(v *Vectors, opt FlatOptions) (*Flat, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: NewFlatWith: nil vectors", ErrOptions)
	}
	f := NewFlat(v)
	if opt.Int8Filter && v.metric != mrl.L2 {
		f.codes = newInt8Codes(v)
	}
	return f, nil
}

// Int8Filter reports whether f's batches take the int8 filter: f keeps
// codes (FlatOptions.Int8Filter, not L2) and the CPU runs them.
func (f *Flat) Int8Filter() bool { return f.useInt8() }

// int8Codes are the rows coded per dim: x[i][p] ≈ scale[p]·code[i*stride+p]
// with scale[p] = max_i |x[i][p]| / 127, so the coding error of each value
// is at most scale[p]/2 (no clamping: |x/scale| <= 127). Rows are stride
// = D rounded up to 4 bytes apart, the padding zero.
type int8Codes struct {
	code   []int8
	stride int
	scale  []float64
}

func newInt8Codes(v *Vectors) *int8Codes {
	n, d := v.n, v.d
	c := &int8Codes{stride: (d + 3) &^ 3, scale: make([]float64, d)}
	for i := 0; i < n; i++ {
		for p, x := range v.data[i*d : (i+1)*d] {
			c.scale[p] = max(c.scale[p], math.Abs(float64(x)))
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
	return c
}

// memBytes is the codes' memory.
func (c *int8Codes) memBytes() int64 { return int64(len(c.code)) + 8*int64(len(c.scale)) }

// The int8 filter (FlatOptions.Int8Filter) scores a batch in two steps.
//
// Codes. With s_p the per-dim scale of the rows' codes x̃ (|x_p − s_p·x̃_p|
// <= s_p/2), a query q is coded as w̃_p = round(s_p·q_p / t) with t =
// max_p |s_p·q_p| / 127 (|s_p·q_p − t·w̃_p| <= t/2), so that
//
//	x·q = t·Σ_p x̃_p·w̃_p + Σ_p x̃_p·(s_p·q_p − t·w̃_p) + Σ_p q_p·(x_p − s_p·x̃_p)
//	    <= t·(x̃·w̃ + L1(x̃)/2 + E/t),   E = Σ_p |q_p|·s_p/2,
//
// an upper bound UB(x) from integers per row (x̃·w̃ and the L1 norm of the
// row's codes) and one float per query. E is widened by the float32
// rounding of the exact scores (m·2^-23 of Σ|x_p·q_p| <= 254·E), and the
// bound by one unit of t, so that a row whose float32 score beats a
// query's current k-th best always has UB above it.
//
// Scan. kernel.ScanTileInt8 forms t·UB in its int32 sums (the query's
// bytes as w̃+128, the row's shift −128·Σx̃ + ⌈L1/2⌉, the query's start
// ⌈E/t⌉ + 1) and compares them, times the row's cosine scale 1/‖x‖, with
// the query's k-th best key over t (lowered by 2^-18 of itself and by 1,
// the float32 rounding of the keys). Only the rows it lets through are
// scored in float32 (kernel.Dot) and offered to the query's top k; as the
// k-th best rises, fewer rows pass. Every row that could enter the k best
// is scored exactly, so the results are the float scan's (up to the
// rounding of a float32 dot, which both paths share).

// useInt8 reports whether a batch takes the int8 filter.
func (f *Flat) useInt8() bool { return f.codes != nil && kernel.HasScanTileInt8() }

// int8Panel is one panel of 32 coded queries.
type int8Panel struct {
	b    []uint8   // k4·32·4 bytes: byte r of group p of query j at b[(p*32+j)*4+r]
	acc0 []int32   // ⌈E/t⌉ + 1 per query
	t    []float64 // t per query
}

// codeQueries codes the nq queries (ldq apart) at dim into panels.
func (f *Flat) codeQueries(q []float32, ldq, dim, nq int) []int8Panel {
	const qs = kernel.Int8TileQueries
	c := f.codes
	k4 := (dim + 3) / 4
	np := (nq + qs - 1) / qs
	ps := make([]int8Panel, np)
	bytes := make([]uint8, np*k4*qs*4)
	acc0 := make([]int32, np*qs)
	ts := make([]float64, np*qs)
	// The float32 rounding of an exact score, relative to 254·E.
	round := 1 + 254*float64(dim+2)*0x1p-23
	for p := range ps {
		ps[p] = int8Panel{b: bytes[p*k4*qs*4 : (p+1)*k4*qs*4], acc0: acc0[p*qs : (p+1)*qs], t: ts[p*qs : (p+1)*qs]}
		b := ps[p].b
		for i := range b {
			b[i] = 128 // w̃ = 0: padding queries and dims
		}
		for j := 0; j < qs; j++ {
			qi := p*qs + j
			if qi >= nq {
				ps[p].t[j] = 1
				continue
			}
			row := q[qi*ldq : qi*ldq+dim]
			var wmax, e float64
			for i, x := range row {
				w := math.Abs(float64(x)) * c.scale[i]
				wmax = max(wmax, w)
				e += w / 2
			}
			t := wmax / 127
			if t == 0 {
				t = 1 // every w̃ is 0 and every score 0
			}
			ps[p].t[j] = t
			ps[p].acc0[j] = int32(math.Ceil(e*round/t)) + 1
			for i, x := range row {
				w := math.RoundToEven(float64(x) * c.scale[i] / t)
				b[(i/4*qs+j)*4+i%4] = uint8(int32(max(-127, min(127, w))) + 128)
			}
		}
	}
	return ps
}

// int8Bar returns the threshold of ScanTileInt8 for a query with k-th
// best key worst and scale t: worst/t lowered by 2^-18 of itself and by 1
// (the float32 rounding of the kernel's keys), rounded down.
func int8Bar(worst float32, t float64) float32 {
	v := float64(worst) / t
	v -= math.Abs(v)*0x1p-18 + 1
	b := float32(v)
	if float64(b) > v {
		b = math.Nextafter32(b, float32(math.Inf(-1)))
	}
	return b
}

// searchBlockInt8 is searchBlock with the int8 filter.
func (f *Flat) searchBlockInt8(q []float32, ldq, dim, nq int, heaps []topK) {
	const qs = kernel.Int8TileQueries
	ps := f.codeQueries(q, ldq, dim, nq)
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
		f.scanPanelsInt8(heaps, q, ldq, ps[lo:hi], thr[lo*qs:hi*qs], lo*qs, dim, chunk)
	})
}

// scanPanelsInt8 runs the coded panels ps (thresholds thr, first query
// q0) over every row; see searchBlockInt8.
func (f *Flat) scanPanelsInt8(heaps []topK, q []float32, ldq int, ps []int8Panel, thr []float32, q0, dim, chunk int) {
	const group, qs = kernel.Int8TileRows, kernel.Int8TileQueries
	v, c := f.v, f.codes
	n, d := v.n, v.d
	k4 := (dim + 3) / 4
	norms := v.prefixNorms(dim) // Cosine: 1/‖x[:dim]‖; nil for InnerProduct
	var cbuf [group * qs]float32
	ngroups := (chunk + group - 1) / group
	h := make([]int32, ngroups*group)
	so := make([]float32, ngroups*2*group)
	var pad []int8 // the last, partial group of rows, zero-padded
	for r0 := 0; r0 < n; r0 += chunk {
		r1 := min(r0+chunk, n)
		// Each row's shift −128·Σx̃ (over the 4·k4 codes the kernel reads)
		// + ⌈L1/2⌉ (over the dim searched), and its key's scale.
		for g := r0; g < r1; g += group {
			gi := (g - r0) / group
			for i := 0; i < group; i++ {
				r := g + i
				if r >= r1 {
					h[gi*group+i] = 0
					so[gi*2*group+i], so[gi*2*group+group+i] = 0, float32(math.Inf(-1))
					continue
				}
				code := c.code[r*c.stride : r*c.stride+4*k4]
				var sum, l1 int32
				for p, x := range code {
					sum += int32(x)
					if p < dim {
						l1 += abs32(int32(x))
					}
				}
				h[gi*group+i] = -128*sum + (l1+1)/2
				sc := float32(1)
				if norms != nil {
					sc = norms[r]
				}
				so[gi*2*group+i], so[gi*2*group+group+i] = sc, 0
			}
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
				mask := kernel.ScanTileInt8(k4, a, lda, p.b, p.acc0, h[gi*group:], so[gi*2*group:], th, cbuf[:])
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
							key *= norms[r]
						}
						// Rows come in increasing index, so a tie with the worst loses.
						if t.full() && key <= t.worst() {
							continue
						}
						t.push(Hit{Score: key, Index: int32(r)})
					}
					if t.full() {
						th[j] = int8Bar(t.worst(), p.t[j])
					}
				}
			}
		}
	}
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}
