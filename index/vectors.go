package index

import (
	"fmt"
	"math"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// Vectors is the storage of an index: N rows of D float32 in one row-major
// slab, an external uint64 id per row and the metric every search of the
// index uses. It is immutable after NewVectors and safe for concurrent use.
//
// For Cosine and L2 it keeps per-row prefix norms for the dims it has been
// asked about (Prepare, or lazily on the first scan at a dim): 4 bytes per
// row and dim, against 4·D bytes per row for the vectors.
//
// For single-query exact scans at a dim of at most 64 (the shortlisting
// stage of a funnel) it also keeps a copy of the prefixes in blocks of 16
// rows stored transposed, ready to stream (kernel.DotBlocks16): built on
// the first such scan at that dim (or by Prepare), 4·dim bytes per row (one
// float more for L2), Cosine prefixes stored already divided by their norm.
// A strided short prefix of a long row costs one cache line and often a TLB
// miss per row; the blocked copy turns it into a sequential read. MemBytes
// reports what the copies cost.
type Vectors struct {
	data   []float32
	n, d   int
	metric mrl.Metric
	ids    []uint64
	pos    map[uint64]int32
	names  []string         // string ids (NewVectorsNamed), else nil
	byName map[string]int32 // name -> row

	norms  dimCache[float32] // dim -> per-row prefix norms
	blocks dimCache[float32] // dim -> prefixes in 16-row blocks
}

// NewVectors returns the storage of n rows of d floats held row-major in
// data (len n·d), with ids[i] the external id of row i (nil means ids
// 0..n-1). It takes ownership of data and ids: the caller must not modify
// them afterwards. It checks the shape, that ids are unique and that every
// value is finite; n may be 0 (an empty index).
func NewVectors(data []float32, n, d int, metric mrl.Metric, ids []uint64) (*Vectors, error) {
	switch {
	case d < 1:
		return nil, fmt.Errorf("%w: vector size %d", ErrDim, d)
	case n < 0 || n > math.MaxInt32:
		return nil, fmt.Errorf("%w: %d rows (want 0..%d)", ErrDimMismatch, n, math.MaxInt32)
	case n > 0 && d > math.MaxInt/n:
		return nil, fmt.Errorf("%w: %d×%d overflows", ErrDimMismatch, n, d)
	case len(data) != n*d:
		return nil, fmt.Errorf("%w: %d floats for %d rows of %d", ErrDimMismatch, len(data), n, d)
	case metric != mrl.Cosine && metric != mrl.InnerProduct && metric != mrl.L2:
		return nil, fmt.Errorf("%w: %v", ErrMetric, metric)
	}
	if ids == nil {
		ids = make([]uint64, n)
		for i := range ids {
			ids[i] = uint64(i)
		}
	} else if len(ids) != n {
		return nil, fmt.Errorf("%w: %d ids for %d rows", ErrDimMismatch, len(ids), n)
	}
	for i, x := range data {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%w: row %d, dim %d is %v", ErrNotFinite, i/d, i%d, x)
		}
	}
	pos := make(map[uint64]int32, n)
	for i, id := range ids {
		if j, ok := pos[id]; ok {
			return nil, fmt.Errorf("%w: %d (rows %d and %d)", ErrDuplicateID, id, j, i)
		}
		pos[id] = int32(i)
	}
	return &Vectors{data: data, n: n, d: d, metric: metric, ids: ids, pos: pos}, nil
}

// MaxNameLen is the longest string id NewVectorsNamed accepts, in bytes.
const MaxNameLen = 1 << 16

// NewVectorsNamed is NewVectors for rows identified by strings (say
// document keys, or the ids of a provider's embeddings): names[i] is the
// id of row i, non-empty, unique and at most MaxNameLen bytes. The rows'
// uint64 ids are then their internal indexes 0..n-1, so a Hit's ID (and
// Index) gives its name through Name. Index files keep the names.
func NewVectorsNamed(data []float32, n, d int, metric mrl.Metric, names []string) (*Vectors, error) {
	if len(names) != n {
		return nil, fmt.Errorf("%w: %d names for %d rows", ErrDimMismatch, len(names), n)
	}
	byName := make(map[string]int32, n)
	for i, s := range names {
		switch {
		case s == "":
			return nil, fmt.Errorf("%w: row %d has an empty string id", ErrInput, i)
		case len(s) > MaxNameLen:
			return nil, fmt.Errorf("%w: row %d: string id of %d bytes, more than %d", ErrInput, i, len(s), MaxNameLen)
		}
		if j, ok := byName[s]; ok {
			return nil, fmt.Errorf("%w: %q (rows %d and %d)", ErrDuplicateID, s, j, i)
		}
		byName[s] = int32(i)
	}
	v, err := NewVectors(data, n, d, metric, nil)
	if err != nil {
		return nil, err
	}
	v.names, v.byName = names, byName
	return v, nil
}

// Named reports whether the rows have string ids (NewVectorsNamed).
func (v *Vectors) Named() bool { return v.names != nil }

// Name returns the string id of internal index i, or "" when the rows
// have uint64 ids.
func (v *Vectors) Name(i int) string {
	if v.names == nil {
		return ""
	}
	return v.names[i]
}

// LookupName returns the internal index of string id name, if present.
func (v *Vectors) LookupName(name string) (int, bool) {
	i, ok := v.byName[name]
	return int(i), ok
}

// N returns the number of rows.
func (v *Vectors) N() int { return v.n }

// Dim returns D, the full vector size.
func (v *Vectors) Dim() int { return v.d }

// Metric returns the metric of the index.
func (v *Vectors) Metric() mrl.Metric { return v.metric }

// Row returns the stored vector of internal index i (not a copy; do not
// modify it). Its prefix at dim m is Row(i)[:m].
func (v *Vectors) Row(i int) []float32 { return v.data[i*v.d : (i+1)*v.d : (i+1)*v.d] }

// Data returns the N×D slab (not a copy; do not modify it).
func (v *Vectors) Data() []float32 { return v.data }

// ID returns the external id of internal index i.
func (v *Vectors) ID(i int) uint64 { return v.ids[i] }

// Lookup returns the internal index of external id, if present.
func (v *Vectors) Lookup(id uint64) (int, bool) {
	i, ok := v.pos[id]
	return int(i), ok
}

// Prepare computes the prefix norms the metric needs at each of dims (for
// example a model's mrl.Nesting), and the blocked copies of the dims up to
// 64, now rather than at the first scan.
func (v *Vectors) Prepare(dims ...int) error {
	for _, m := range dims {
		if m < 1 || m > v.d {
			return fmt.Errorf("prepare dim %d of %d: %w", m, v.d, ErrDim)
		}
	}
	for _, m := range dims {
		v.prefixNorms(m)
		if m <= blockMaxDim {
			v.prefixBlocks(m)
		}
	}
	return nil
}

// MemBytes returns the bytes v holds: the vectors, ids and the id map
// (estimated at 16 bytes an entry), string ids if any (estimated), and the
// prefix norms and blocked copies built so far.
func (v *Vectors) MemBytes() int64 {
	b := int64(len(v.data))*4 + int64(len(v.ids))*8 + int64(len(v.pos))*16
	for _, s := range v.names {
		b += int64(len(s)) + 16 + 32 // bytes, string header, map entry (estimated)
	}
	return b + 4*(v.norms.elems()+v.blocks.elems())
}

// blockMaxDim is the largest dim single-query scans read from a blocked
// copy (see Vectors); longer prefixes are streamed row by row.
const blockMaxDim = 64

// blockWidth is the number of floats per row in the blocked copy at dim.
func (v *Vectors) blockWidth(dim int) int {
	if v.metric == mrl.L2 {
		return dim + 1
	}
	return dim
}

// prefixBlocks returns the blocked copy at dim (see Vectors), building and
// caching it if needed: ⌈N/16⌉ blocks of blockWidth(dim)×16 floats laid out
// as kernel.DotBlocks16 reads them, padded with zero rows. Row i holds
// x[:dim] for InnerProduct, x[:dim]/‖x[:dim]‖ (0 for a zero prefix) for
// Cosine, and x[:dim] followed by −‖x[:dim]‖²/2 for L2, so that a scan with
// the query (q, 1) gives q·x − ‖x‖²/2, half the L2 key.
func (v *Vectors) prefixBlocks(dim int) []float32 {
	if s := v.blocks.get(dim); s != nil {
		return s
	}
	norms := v.prefixNorms(dim)
	return v.blocks.getOrCompute(dim, func() []float32 {
		m := v.blockWidth(dim)
		nb := (v.n + kernel.BlockRows - 1) / kernel.BlockRows
		s := make([]float32, nb*kernel.BlockRows*m)
		kernel.ParallelFor(nb, 256, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				blk := s[b*kernel.BlockRows*m : (b+1)*kernel.BlockRows*m]
				for l := 0; l < kernel.BlockRows; l++ {
					i := b*kernel.BlockRows + l
					if i >= v.n {
						break
					}
					row := v.data[i*v.d : i*v.d+dim]
					scale := float32(1)
					if v.metric == mrl.Cosine {
						scale = norms[i]
					}
					for j, x := range row {
						blk[j*kernel.BlockRows+l] = x * scale
					}
					if v.metric == mrl.L2 {
						blk[dim*kernel.BlockRows+l] = -norms[i] / 2
					}
				}
			}
		})
		return s
	})
}

// cachedNorms returns the prefix norms at dim if they have been computed,
// else nil: for Cosine 1/‖x[:dim]‖ (0 for a zero prefix), for L2
// ‖x[:dim]‖², for InnerProduct always nil.
func (v *Vectors) cachedNorms(dim int) []float32 { return v.norms.get(dim) }

// prefixNorms returns the prefix norms at dim (see cachedNorms), computing
// and caching them if needed. It returns nil for InnerProduct.
func (v *Vectors) prefixNorms(dim int) []float32 {
	if v.metric == mrl.InnerProduct || v.n == 0 {
		return nil
	}
	return v.norms.getOrCompute(dim, func() []float32 {
		s := make([]float32, v.n)
		kernel.ParallelFor(v.n, 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s[i] = rowNorm(v.metric, v.data[i*v.d:i*v.d+dim])
			}
		})
		return s
	})
}

// rowNorm is the per-row norm the metric keeps: 1/‖x‖ (0 for x = 0) for
// Cosine, ‖x‖² for L2.
func rowNorm(metric mrl.Metric, x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if metric == mrl.L2 {
		return float32(s)
	}
	if s == 0 {
		return 0
	}
	return float32(1 / math.Sqrt(s))
}
