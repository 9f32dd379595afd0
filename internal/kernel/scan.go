package kernel

import (
	"math"
	"unsafe"
)

// The scan kernels of exact search: one query against many rows, in the
// row-major layout (DotRows) or in blocks of 16 rows stored transposed
// (DotBlocks16), which turns a short prefix into one contiguous stream.
// Both return the largest score they wrote so that a caller keeping a
// top-k can skip a whole chunk whose best score cannot enter it.

//
// The implementations are chosen by direct calls (dotRows, dotBlocks16 in
// scan_amd64.go and scan_other.go), not function variables, so that a
// caller's stack buffers do not escape to the heap.

// DotRows computes the inner product of q with the first len(q) elements
// of len(dst) rows of x, ldx elements apart, and returns the largest (−Inf
// when dst is empty):
//
//	for i := range dst {
//		var s float32
//		for j := range q {
//			s += q[j] * x[i*ldx+j]
//		}
//		dst[i] = s
//	}
//
// It panics if ldx < len(q) or x is too short for the last row.
func DotRows(dst, q, x []float32, ldx int) float32 {
	if len(dst) == 0 {
		return float32(math.Inf(-1))
	}
	if ldx < len(q) || len(x) < (len(dst)-1)*ldx+len(q) {
		panic("kernel: DotRows length mismatch")
	}
	return dotRows(dst, q, x, ldx, nil)
}

// DotRowsScaled is DotRows with each row's sum multiplied by scale[i]
// (rounded once, as s*scale[i] in Go), returning the largest product: a
// cosine scan passes the rows' inverse norms and gets its keys, and the
// largest of them, in the same pass.
//
//	for i := range dst {
//		var s float32
//		for j := range q {
//			s += q[j] * x[i*ldx+j]
//		}
//		dst[i] = s * scale[i]
//	}
//
// The sums are DotRows's, bit for bit. It panics if len(scale) <
// len(dst), ldx < len(q) or x is too short for the last row.
func DotRowsScaled(dst, q, x []float32, ldx int, scale []float32) float32 {
	if len(dst) == 0 {
		return float32(math.Inf(-1))
	}
	if len(scale) < len(dst) || ldx < len(q) || len(x) < (len(dst)-1)*ldx+len(q) {
		panic("kernel: DotRowsScaled length mismatch")
	}
	return dotRows(dst, q, x, ldx, scale[:len(dst)])
}

// DotGather computes the inner product of q with the first len(q) elements
// of the rows idx[i] of x (rows ldx elements apart):
//
//	for i, r := range idx {
//		var s float32
//		for j := range q {
//			s += q[j] * x[int(r)*ldx+j]
//		}
//		dst[i] = s
//	}
//
// It reads several rows at once and prefetches the next ones, so that a
// shortlist scattered over a large matrix (a funnel's rerank) overlaps the
// rows' memory latency. A row's dot does not depend on where it comes in
// idx (every row's sum is taken in the same order), so reordering idx
// reorders dst and changes no bit of it. It panics if len(dst) !=
// len(idx), ldx < len(q) or an index is negative or past the rows of x.
func DotGather(dst, q, x []float32, ldx int, idx []int32) {
	if len(dst) != len(idx) || ldx < len(q) {
		panic("kernel: DotGather length mismatch")
	}
	if len(idx) == 0 {
		return
	}
	for _, r := range idx {
		if r < 0 || len(x) < int(r)*ldx+len(q) {
			panic("kernel: DotGather index out of range")
		}
	}
	dotGather(dst, q, x, ldx, idx)
}

// BlockRows is the number of rows in one block of the transposed layout
// DotBlocks16 reads.
const BlockRows = 16

// DotBlocks16 scores len(dst)/16 blocks of 16 rows held transposed in blk:
// block b holds element j of row l at blk[(b*len(q)+j)*16+l], so a block is
// len(q)·16 contiguous floats and dst gets one score per row, and marks in
// masks[b] the rows that score above bar:
//
//	for b := 0; b < len(dst)/16; b++ {
//		masks[b] = 0
//		for l := 0; l < 16; l++ {
//			var s float32
//			for j := range q {
//				s += q[j] * blk[(b*len(q)+j)*16+l]
//			}
//			dst[b*16+l] = s
//			if s > bar {
//				masks[b] |= 1 << l
//			}
//		}
//	}
//
// It returns the number of blocks with a mark. A caller keeping a top-k
// passes its current k-th best as bar and looks only at the marked rows.
// It panics if len(dst) is not a multiple of 16, len(masks) is not
// len(dst)/16 or blk is shorter than len(dst)·len(q).
func DotBlocks16(dst, q, blk []float32, bar float32, masks []uint16) int {
	if len(dst)%BlockRows != 0 || len(masks) != len(dst)/BlockRows || len(blk) < len(dst)*len(q) {
		panic("kernel: DotBlocks16 length mismatch")
	}
	if len(dst) == 0 {
		return 0
	}
	return dotBlocks16(dst, q, blk, bar, masks)
}

// ScanTile6x16 scores six rows of a (lda apart) against sixteen queries
// packed in b (element p of query j at b[p*16+j]) over k elements, turns
// each dot into a key with the row's scale so[i] and shift so[6+i], stores
// the 6×16 keys in c and returns the mask of the queries for which some
// key exceeds their threshold:
//
//	var mask uint32
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*16+j]
//			}
//			c[i*16+j] = so[i]*s + so[6+i]
//			if c[i*16+j] > thr[j] {
//				mask |= 1 << j
//			}
//		}
//	}
//	return mask
//
// It is the batched exact scan's inner kernel: a caller keeping a top-k per
// query passes each query's current k-th best as its threshold and looks at
// c only when the mask is not zero. It panics if a slice is too short
// (k >= 1, lda >= k).
func ScanTile6x16(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	if k < 1 || lda < k || len(a) < 5*lda+k || len(b) < 16*k || len(so) < 12 || len(thr) < 16 || len(c) < 96 {
		panic("kernel: ScanTile6x16 length mismatch")
	}
	return scanTile6x16(k, a, lda, b, so, thr, c)
}

// ScanTileShape returns the rows and queries of the tile that ScanTile
// scores at the kernel level in use: 12 × 32 with the AVX-512 kernels, 6 ×
// 16 otherwise. A caller packs its queries in panels of that many and
// takes rows in groups of that many; it must not change the level (see
// SetLevel) while it scans.
func ScanTileShape() (rows, queries int) { return scanTileShape() }

// ScanTile is ScanTile6x16 for the tile shape of the level in use
// (ScanTileShape: R rows × Q queries): it scores R rows of a (lda apart)
// against Q queries packed in b (element p of query j at b[p*Q+j]) over k
// elements, stores the keys so[i]·dot + so[R+i] in c[i*Q+j] and returns
// the mask of the queries for which some key exceeds thr[j]:
//
//	var mask uint32
//	for i := 0; i < R; i++ {
//		for j := 0; j < Q; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*Q+j]
//			}
//			c[i*Q+j] = so[i]*s + so[R+i]
//			if c[i*Q+j] > thr[j] {
//				mask |= 1 << j
//			}
//		}
//	}
//	return mask
//
// It panics if a slice is too short (k >= 1, lda >= k).
func ScanTile(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	rows, qs := scanTileShape()
	if k < 1 || lda < k || len(a) < (rows-1)*lda+k || len(b) < qs*k || len(so) < 2*rows || len(thr) < qs || len(c) < rows*qs {
		panic("kernel: ScanTile length mismatch")
	}
	if rows == 6 {
		return scanTile6x16(k, a, lda, b, so, thr, c)
	}
	return scanTile12x32(k, a, lda, b, so, thr, c)
}

// scanTileGeneric is ScanTile's loop for a rows × qs tile (qs <= 32).
func scanTileGeneric(rows, qs, k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	var mask uint32
	var buf [32]float32 // no allocation per tile
	acc := buf[:qs]
	for i := 0; i < rows; i++ {
		row := a[i*lda : i*lda+k]
		clear(acc)
		for p, x := range row {
			col := b[p*qs : p*qs+qs]
			for j := range acc {
				acc[j] += x * col[j]
			}
		}
		mask |= tileKeys(c[i*qs:i*qs+len(acc)], acc, so[i], so[rows+i], thr)
	}
	return mask
}

// tileKeys stores the keys scale·s + shift of one tile row's sums and
// returns the mask of those above their query's threshold.
func tileKeys(c, sums []float32, scale, shift float32, thr []float32) uint32 {
	var mask uint32
	for j, s := range sums {
		v := scale*s + shift
		c[j] = v
		if v > thr[j] {
			mask |= 1 << j
		}
	}
	return mask
}

func scanTile6x16Generic(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	return scanTileGeneric(6, 16, k, a, lda, b, so, thr, c)
}

func dotGatherGeneric(dst, q, x []float32, ldx int, idx []int32) {
	for i, r := range idx {
		off := int(r) * ldx
		dst[i] = dotGeneric(q, x[off:off+len(q)])
	}
}

// dotRowsGeneric is DotRows, or DotRowsScaled with a non-nil scale.
func dotRowsGeneric(dst, q, x []float32, ldx int, scale []float32) float32 {
	best := float32(math.Inf(-1))
	for i := range dst {
		s := dotGeneric(q, x[i*ldx:i*ldx+len(q)])
		if scale != nil {
			s *= scale[i]
		}
		dst[i] = s
		if s > best {
			best = s
		}
	}
	return best
}

func dotBlocks16Generic(dst, q, blk []float32, bar float32, masks []uint16) int {
	m := len(q)
	marked := 0
	var acc [BlockRows]float32
	for b := 0; b < len(dst)/BlockRows; b++ {
		acc = [BlockRows]float32{}
		base := blk[b*m*BlockRows : (b+1)*m*BlockRows]
		for j, qj := range q {
			col := base[j*BlockRows : (j+1)*BlockRows]
			for l := range acc {
				acc[l] += qj * col[l]
			}
		}
		var mask uint16
		for l, s := range acc {
			dst[b*BlockRows+l] = s
			if s > bar {
				mask |= 1 << l
			}
		}
		masks[b] = mask
		if mask != 0 {
			marked++
		}
	}
	return marked
}

// Prefetch asks the CPU to bring the cache lines of x into the caches
// without waiting for them (PREFETCHT0 on amd64, nothing elsewhere): a
// search that knows which node it expands next can overlap that node's
// memory latency with the work in between. It does not read x's values
// and never faults (an empty x does nothing).
func Prefetch(x []int32) {
	if len(x) > 0 {
		prefetch(unsafe.Pointer(&x[0]), len(x)*4)
	}
}

// PrefetchFloats is Prefetch for float32s: an embedding bag that knows
// which table rows it adds next.
func PrefetchFloats(x []float32) {
	if len(x) > 0 {
		prefetch(unsafe.Pointer(&x[0]), len(x)*4)
	}
}

// The shape of ScanTileInt8's tile: 12 rows against 32 queries.
const (
	Int8TileRows    = 12
	Int8TileQueries = 32
)

// HasScanTileInt8 reports whether ScanTileInt8 runs in assembly (the
// avx512 level on a CPU with AVX512-VNNI). Elsewhere it is its pure-Go
// loop, far slower than ScanTile: callers choose the float path then.
func HasScanTileInt8() bool { return hasScanTileInt8() }

// ScanTileInt8 is the int8 twin of ScanTile: it scores twelve rows of
// signed byte codes in a (lda bytes apart) against 32 queries packed as
// unsigned bytes in b (byte r of step p of query j at b[(p*32+j)*4+r]),
// over len(ks) blocks of dims, block l being ks[l] steps of four dims
// (the blocks follow each other in a's rows and in b). Each block's sums
// are exact int32 sums shifted by the row's h[l*12+i]; they are added in
// float32, times the query's scale t[l*32+j] of the block, to e[j]; each
// total becomes a key with the row's scale so[i] and shift so[12+i]. It
// stores the 12×32 keys in c and returns the mask of the queries for
// which some key exceeds their threshold:
//
//	var mask uint32
//	for i := 0; i < 12; i++ {
//		for j := 0; j < 32; j++ {
//			f, p0 := e[j], 0
//			for l, k := range ks {
//				s := h[l*12+i]
//				for p := 4 * p0; p < 4*(p0+k); p++ {
//					s += int32(a[i*lda+p]) * int32(b[(p/4*32+j)*4+p%4])
//				}
//				f += t[l*32+j] * float32(s)
//				p0 += k
//			}
//			c[i*32+j] = so[i]*f + so[12+i]
//			if c[i*32+j] > thr[j] {
//				mask |= 1 << j
//			}
//		}
//	}
//
// The int32 sums wrap (a caller keeps them in range: 4·k·127·255 plus
// h). The additions of the blocks and the key are fused multiply-adds at
// the avx512 level and rounded twice in the pure-Go loop. With
// AVX512-VNNI a step of four dims does four times the multiply-adds of
// ScanTile's in as many instructions; a block costs about two steps more.
// It panics if a block is empty, lda is shorter than the blocks' dims or
// a slice is too short.
func ScanTileInt8(ks []int32, a []int8, lda int, b []uint8, t, e []float32, h []int32, so, thr, c []float32) uint32 {
	const rows, qs = Int8TileRows, Int8TileQueries
	k := 0
	for _, x := range ks {
		if x < 1 {
			panic("kernel: ScanTileInt8 empty block")
		}
		k += int(x)
	}
	if k < 1 || lda < 4*k || len(a) < (rows-1)*lda+4*k || len(b) < 4*k*qs || len(t) < qs*len(ks) || len(e) < qs ||
		len(h) < rows*len(ks) || len(so) < 2*rows || len(thr) < qs || len(c) < rows*qs {
		panic("kernel: ScanTileInt8 length mismatch")
	}
	return scanTileInt8(ks, a, lda, b, t, e, h, so, thr, c)
}

// scanTileInt8Generic is ScanTileInt8's loop.
func scanTileInt8Generic(ks []int32, a []int8, lda int, b []uint8, t, e []float32, h []int32, so, thr, c []float32) uint32 {
	const rows, qs = Int8TileRows, Int8TileQueries
	var mask uint32
	var acc [qs]int32
	var f [qs]float32
	for i := 0; i < rows; i++ {
		copy(f[:], e[:qs])
		p0 := 0
		for l, k := range ks {
			for j := range acc {
				acc[j] = h[l*rows+i]
			}
			for p := p0; p < p0+int(k); p++ {
				x0, x1, x2, x3 := int32(a[i*lda+4*p]), int32(a[i*lda+4*p+1]), int32(a[i*lda+4*p+2]), int32(a[i*lda+4*p+3])
				col := b[p*4*qs : (p+1)*4*qs]
				for j := range acc {
					u := col[4*j : 4*j+4]
					acc[j] += x0*int32(u[0]) + x1*int32(u[1]) + x2*int32(u[2]) + x3*int32(u[3])
				}
			}
			for j, s := range acc {
				f[j] += t[l*qs+j] * float32(s)
			}
			p0 += int(k)
		}
		mask |= tileKeys(c[i*qs:(i+1)*qs], f[:], so[i], so[rows+i], thr)
	}
	return mask
}
