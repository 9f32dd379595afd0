//go:build amd64 && !noasm

package kernel

import "sync"

// Blocking of the AVX2 SGEMM (Goto/BLIS loop order), tuned for Zen 3
// (32 KiB L1d, 512 KiB L2 per core, shared L3):
//
//	for jc in steps of ncMax over n:          B block kc×nc lives in L3
//	  for pc in steps of kc over k:           pack op(B)[pc:, jc:] into 16-wide panels
//	    for ic in steps of mcMax over m:      pack alpha-free op(A) into 6-high panels (L2)
//	      for jr in steps of 16 over nc:      one B micro-panel (kc×16) stays in L1
//	        for ir in steps of 6 over mc:     micro-kernel on a 6×16 tile of C
const (
	gemmMR = 6
	gemmNR = 16
	ncMax  = 3072 // kc×nc floats of B = 3 MiB
	// Below these sizes the kernel reads A (resp. B) in place, unpacked.
	directAMaxN = 64
	directBMaxM = 64
	// Products with fewer multiply-adds than this run on one goroutine.
	gemmParallelMin = 1 << 21
	// Products whose m and n are both too small to split among the
	// threads (under 64 per thread) and whose k is at least this split k
	// instead (see gemmSplitK).
	gemmSplitKMin = 2048
	// Products with at least gemmSharedMinRows rows per thread and fewer
	// than gemmSharedMaxCols columns per thread (B packed) split m among
	// the threads around a shared packed B (gemmShared): there, splitting
	// n left each thread packing all of A for a narrow slice of B (256³
	// on 2 threads: a median 117 GFLOP/s split along n, 137 shared). Wider
	// products keep the split along n, which needs no barrier (the MLP's
	// 256×2048×1024 products ran 5-10% slower with one barrier per k block
	// on this VM, whose cores stall at times).
	gemmSharedMinRows = 8 * gemmMR
	gemmSharedMaxCols = 256
)

// The k and m blocking of the level in use (useLevel sets them): at most
// kcMax rows of B and kcMax columns of A per packed block (see kcFor for
// large products), mcMax rows of A.
var kcMax, mcMax = kcAVX2, mcAVX2

const (
	kcAVX2 = 256 // kc×16 floats of B = 16 KiB, half of L1d
	mcAVX2 = 144 // mc×kc floats of A = 144 KiB, under half of L2
)

// kcAVX512 and mcAVX512 block for the 12×32 kernel: its B micro-panel is
// 32×kc floats (24 KiB at kc = 192, half of Zen 5's 48 KiB L1d).
var kcAVX512, mcAVX512 = 192, 144

// kcLargeCAVX512 is the k block of the 12×32 kernel for products whose C
// has at least largeCMin elements: every k block is one pass over C
// (each tile loaded and stored), which a C of several MiB makes cost
// more than the larger B micro-panel (87 KiB at kc = 683, streamed from
// L2) does. A/B on Zen 5 (1 thread, medians of 9 alternating rounds, against
// kc = 192): 2048³ +5-7%, 1024×784×256 (transposed A) +2%, 1024³ and
// 256×2048×1024 ±1.5% at kc = 384; below largeCMin kc = 384 cost 2-3%
// (512³) and kc = 512 6% (256×1024×2048). kc = 683 (k = 2048 in three
// blocks instead of six) against 384, three runs of 21-31 alternating
// rounds on 2026-12-02: 2048³ +2-3% in the median and +3-5% at best each
// time; 1024³ (two blocks of 512 instead of three), 256×2048×1024 and
// 1024×784×256 within the rounds' spread.
var kcLargeCAVX512 = 683

// largeCMin is the size of C (m·n) from which kcLargeCAVX512 applies
// (2 MiB of float32); a var so tests can reach it with small products.
var largeCMin = 1 << 19

// kcFor is the k block limit for an m×n product at the level in use.
func kcFor(m, n int) int {
	if useAVX512 && m*n >= largeCMin {
		return kcLargeCAVX512
	}
	return kcMax
}

// gemmBufs are the packing buffers of one goroutine, reused via gemmPool.
type gemmBufs struct {
	a, b []float32
	ct   []float32 // gemmNarrow's transposed C
}

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// gemmAVX2 accumulates C += alpha*op(A)*op(B) with the 6×16 assembly
// micro-kernel; arguments are checked and m, n, k > 0. Large products are
// split across t goroutines along n (or m when it is the larger
// side); each part runs the blocked loop on its own packing buffers.
func gemmAVX2(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmAVX2x(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, false)
}

// gemmAVX2Over is gemmAVX2 with C overwritten instead of accumulated into
// (Sgemm's beta = 0): the first pass over k stores the tiles without
// reading C, which saves clearing C and reading it back.
func gemmAVX2Over(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmAVX2x(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, true)
}

// gemmAVX2x is gemmAVX2 (over: gemmAVX2Over).
func gemmAVX2x(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, over bool) {
	if t <= 1 || m*n*k < gemmParallelMin {
		gemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, over)
		return
	}
	if k >= gemmSplitKMin && max(m, n) < t*64 {
		gemmSplitK(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, over)
		return
	}
	if m >= t*gemmSharedMinRows && n > directAMaxN && n < t*gemmSharedMaxCols {
		gemmShared(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, over)
		return
	}
	if n >= m {
		parallelForT(t, n, gemmNR*max(1, 64/gemmNR), func(lo, hi int) {
			bs := b[lo:]
			if transB {
				bs = b[lo*ldb:]
			}
			gemmBlocked(transA, transB, m, hi-lo, k, alpha, a, lda, bs, ldb, c[lo:], ldc, over)
		})
		return
	}
	parallelForT(t, m, gemmMR*8, func(lo, hi int) {
		as := a[lo:]
		if !transA {
			as = a[lo*lda:]
		}
		gemmBlocked(transA, transB, hi-lo, n, k, alpha, as, lda, b, ldb, c[lo*ldc:], ldc, over)
	})
}

// gemmSplitK is gemmAVX2 for the products of a weight gradient, such as
// dW = dyᵀ·cols of a convolution: C is small (m, n ≤ a few dozen) and k is
// every pixel of the batch, so splitting m or n leaves a thread idle. Each
// of t goroutines multiplies its share of k; the first accumulates into C,
// the others into zeroed m×n buffers that are then added to C in order
// (so the result is deterministic for a given t).
func gemmSplitK(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, over bool) {
	per := roundUp((k+t-1)/t, 8)
	parts := (k + per - 1) / per
	bufs := make([][]float32, parts)
	parallelForT(t, parts, 1, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			k0, k1 := p*per, min((p+1)*per, k)
			// op(A)'s columns and op(B)'s rows k0..k1.
			var as, bs []float32
			if transA {
				as = a[k0*lda:]
			} else {
				as = a[k0:]
			}
			if transB {
				bs = b[k0:]
			} else {
				bs = b[k0*ldb:]
			}
			if p == 0 {
				gemmBlocked(transA, transB, m, n, k1-k0, alpha, as, lda, bs, ldb, c, ldc, over)
				continue
			}
			bufs[p] = make([]float32, m*n)
			gemmBlocked(transA, transB, m, n, k1-k0, alpha, as, lda, bs, ldb, bufs[p], n, true)
		}
	})
	for _, buf := range bufs[1:] {
		for i := range m {
			axpy(1, buf[i*n:(i+1)*n], c[i*ldc:i*ldc+n])
		}
	}
}

// narrowTransposed enables gemmNarrow (a var so tests can compare both
// ways).
var narrowTransposed = true

// gemmNarrow is gemmBlocked for a C narrower than one panel of B (n < 16)
// with at least 16 rows and a long k, such as a first convolution's
// weight gradient (16 channels × 3·3 patch values, summed over every
// pixel of a block of images): it computes Cᵀ = op(B)ᵀ·op(A)ᵀ into a
// scratch n×m matrix, so C's rows fill the micro-kernel's 16- or 32-wide
// B panels instead of leaving most of each panel zero (and packed). On
// Zen 5, 16×9 from k = 25,088: 1.3-2.2x at avx2, 2-4x at avx512 (under
// load). Every element's sum runs over k in the same order and the same k
// blocks (kcFor is symmetric, and k is long enough that neither
// orientation keeps it whole), so with alpha 1 C gets the same bits;
// otherwise alpha·s may round apart from the add where the other
// orientation fused them (edge tiles round apart, full tiles fuse).
func gemmNarrow(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, over bool) {
	bufs := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(bufs)
	bufs.ct = grow(bufs.ct, n*m)
	ct := bufs.ct
	if !over {
		for i := range m {
			for j, v := range c[i*ldc : i*ldc+n] {
				ct[j*m+i] = v
			}
		}
	}
	gemmBlocked(!transB, !transA, n, m, k, alpha, b, ldb, a, lda, ct, m, over)
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] = ct[j*m+i]
		}
	}
}

// gemmBlocked is gemmAVX2 on the calling goroutine.
//
// A micro-panel of op(A) is reused by every 16-wide panel of B, so when n is
// small packing A costs more than it saves; the kernel then reads A in
// place through its strides (either transpose works). Likewise, when m is
// small and B is not transposed the kernel reads B's rows in place. Only
// ragged edge panels are packed (zero-padded) in those cases.
func gemmBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, over bool) {
	if narrowTransposed && n < gemmNR && m >= gemmNR && k*gemmNR > 1<<15 {
		gemmNarrow(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, over)
		return
	}
	bufs := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(bufs)

	directA := n <= directAMaxN
	directB := !transB && m <= directBMaxM
	rsA, csA := lda, 1
	if transA {
		rsA, csA = 1, lda
	}

	// Split k into equal blocks of at most kcFor(m, n), or keep it whole when A
	// is read in place and all of op(B) fits in half of L2.
	kcl := kcFor(m, n)
	if directA && k*roundUp(n, gemmNR) <= 1<<15 {
		kcl = k
	}
	nk := (k + kcl - 1) / kcl
	kcs := (k + nk - 1) / nk
	ncs := min(n, ncMax)
	mcs := min(m, mcMax)
	bufs.b = grow(bufs.b, kcs*roundUp(ncs, gemmNR))
	bufs.a = grow(bufs.a, kcs*roundUp(mcs, gemmMR)+2) // +2: packA6's overrun
	bp, ap := bufs.b, bufs.a

	for jc := 0; jc < n; jc += ncs {
		nc := min(ncs, n-jc)
		for pc := 0; pc < k; pc += kcs {
			kc := min(kcs, k-pc)
			if !directB {
				packB(bp, transB, b, ldb, pc, jc, kc, nc)
			} else if jr := nc &^ (gemmNR - 1); jr < nc {
				packB(bp[jr*kc:], transB, b, ldb, pc, jc+jr, kc, nc-jr)
			}
			for ic := 0; ic < m; ic += mcs {
				mc := min(mcs, m-ic)
				if !directA {
					packA(ap, transA, a, lda, ic, pc, mc, kc)
				} else if ir := mc / gemmMR * gemmMR; ir < mc {
					packA(ap[ir*kc:], transA, a, lda, ic+ir, pc, mc-ir, kc)
				}
				cb := c[ic*ldc+jc:]
				load := 1 // the micro-kernel adds to C, except on the first k block of an overwrite
				if over && pc == 0 {
					load = 0
				}
				if !directA && !directB {
					// Both packed: gemmShared's macro-kernel.
					macroTiles(ap, bp, mc, nc, kc, alpha, cb, ldc, load)
					continue
				}
				// Pointers to the 6-row panel of A at row ir (rs, cs: its
				// strides) and to the 16-wide panel of B at column jr (rsB:
				// its row stride), in place where the panel is full and
				// unpacked, else in the packing buffers.
				apan := func(ir int) (p *float32, rs, cs int) {
					if directA && mc-ir >= gemmMR {
						return &a[(ic+ir)*rsA+pc*csA], rsA, csA
					}
					return &ap[ir*kc], 1, gemmMR
				}
				bpan := func(jr int) (p *float32, rsB int) {
					if directB && nc-jr >= gemmNR {
						return &b[pc*ldb+jc+jr], ldb
					}
					return &bp[jr*kc], gemmNR
				}
				tile := func(ir, jr int) {
					b0, rsB := bpan(jr)
					a0, rs, cs := apan(ir)
					tile6(kc, a0, rs, cs, b0, rsB, cb[ir*ldc+jr:], ldc, min(gemmMR, mc-ir), min(gemmNR, nc-jr), alpha, load)
				}
				tile2 := func(ir, jr, nr int) {
					b0, rsB := bpan(jr)
					b1 := b0
					if nr > gemmNR {
						b1, _ = bpan(jr + gemmNR)
					}
					a0, rs, cs := apan(ir)
					a1, _, _ := apan(ir + gemmMR)
					tile12(kc, a0, a1, rs, cs, b0, b1, rsB, cb[ir*ldc+jr:], ldc, mc-ir, nr, alpha, load)
				}
				// directA: few B panels, so keep them all hot and stream A
				// once (rows outer). Else B is read in place: one B
				// micro-panel stays in L1 while A panels stream from L2
				// (columns outer). A partial 12-row band needs both of its
				// panels packed, which holds when all of A is.
				tile6w := func(ir, jr int) {
					b0, rsB := bpan(jr)
					b1, _ := bpan(jr + gemmNR)
					a0, rs, cs := apan(ir)
					tile6x32(kc, a0, rs, cs, b0, b1, rsB, cb[ir*ldc+jr:], ldc, min(gemmMR, mc-ir), alpha, load)
				}
				forTiles(mc, nc, !directA, !directA, tile, tile2, tile6w)
			}
		}
	}
}

// forTiles calls tile(ir, jr) on every 6×16 tile of an mc×nc block (ragged
// at the bottom and right edges), or, where the AVX-512 kernels are in
// use, tile2(ir, jr, nr) on each 12-row tile that is 32 wide (nr = 32)
// or, in a last full 16-wide panel, 16 wide (nr = 16), tile6w(ir, jr) on
// the 32-wide tiles of the rows below the last 12-row tile (at most 6
// rows each), and tile on the 6×16 tiles of the rest. With partial, a
// last band of 7 to 11 rows is run as 12-row tiles too (tile2 sees
// mc-ir < 12: see tile12); its second 6-row panel must then be packed
// like the first. With colsOuter the tiles are visited column panel by
// column panel (one B micro-panel reused by every A panel), else row
// panel by row panel.
func forTiles(mc, nc int, colsOuter, partial bool, tile func(ir, jr int), tile2 func(ir, jr, nr int), tile6w func(ir, jr int)) {
	m2, n2, n1 := 0, 0, 0 // rows of 12-row tiles; columns of 32-wide ones; of 32- and 16-wide ones
	if useAVX512 {
		m2 = mc / (2 * gemmMR) * (2 * gemmMR)
		if partial && mc-m2 > gemmMR {
			m2 = mc
		}
		n2, n1 = nc/(2*gemmNR)*(2*gemmNR), nc/gemmNR*gemmNR
	}
	width := func(jr int) int {
		if jr < n2 {
			return 2 * gemmNR
		}
		return gemmNR
	}
	// rest runs the rows from m2 on of the columns [jr, jr+nr).
	rest := func(jr, nr int) {
		for ir := m2; ir < mc; ir += gemmMR {
			if nr == 2*gemmNR {
				tile6w(ir, jr)
				continue
			}
			for j := jr; j < jr+nr; j += gemmNR {
				tile(ir, j)
			}
		}
	}
	if colsOuter {
		for jr := 0; jr < n1; jr += width(jr) {
			nr := width(jr)
			for ir := 0; ir < m2; ir += 2 * gemmMR {
				tile2(ir, jr, nr)
			}
			rest(jr, nr)
		}
		for jr := n1; jr < nc; jr += gemmNR {
			for ir := 0; ir < mc; ir += gemmMR {
				tile(ir, jr)
			}
		}
		return
	}
	for ir := 0; ir < m2; ir += 2 * gemmMR {
		for jr := 0; jr < n1; jr += width(jr) {
			tile2(ir, jr, width(jr))
		}
		for jr := n1; jr < nc; jr += gemmNR {
			tile(ir, jr)
			if ir+gemmMR < mc {
				tile(ir+gemmMR, jr)
			}
		}
	}
	for jr := 0; jr < n1; jr += width(jr) {
		rest(jr, width(jr))
	}
	for jr := n1; jr < nc; jr += gemmNR {
		for ir := m2; ir < mc; ir += gemmMR {
			tile(ir, jr)
		}
	}
}

// tile12 runs the AVX-512 kernel of width nr (16 or 32) on the 12-row
// tile of two A panels (a0, a1; strides rs, cs) and two B panels (b0, b1;
// row stride rsB) into C at c, or, when only mr < 12 of its rows are C's,
// into a buffer whose first mr rows are then stored (load == 0) or added
// to C.
func tile12(kc int, a0, a1 *float32, rs, cs int, b0, b1 *float32, rsB int, c []float32, ldc, mr, nr int, alpha float32, load int) {
	kern := func(c *float32, ldc, load int) {
		if nr == gemmNR {
			sgemmKernel12x16(kc, a0, a1, rs, cs, b0, rsB, c, ldc, alpha, load)
		} else {
			sgemmKernel12x32(kc, a0, a1, rs, cs, b0, b1, rsB, c, ldc, alpha, load)
		}
	}
	if mr >= 2*gemmMR {
		kern(&c[0], ldc, load)
		return
	}
	var t [2 * gemmMR * 2 * gemmNR]float32
	kern(&t[0], 2*gemmNR, 0)
	storeTile(c, ldc, t[:], 2*gemmNR, mr, nr, load)
}

// tile6x32 runs the AVX-512 6×32 kernel on the mr×32 tile (mr ≤ 6) of
// the A panel a (strides rs, cs) and the B panels b0, b1 (row stride rsB)
// into C at c: in place when the tile is full, else into a buffer whose
// first mr rows are then stored (load == 0) or added to C.
func tile6x32(kc int, a *float32, rs, cs int, b0, b1 *float32, rsB int, c []float32, ldc, mr int, alpha float32, load int) {
	if mr == gemmMR {
		sgemmKernel6x32(kc, a, rs, cs, b0, b1, rsB, &c[0], ldc, alpha, load)
		return
	}
	var t [gemmMR * 2 * gemmNR]float32
	sgemmKernel6x32(kc, a, rs, cs, b0, b1, rsB, &t[0], 2*gemmNR, alpha, 0)
	storeTile(c, ldc, t[:], 2*gemmNR, mr, 2*gemmNR, load)
}

// tile6 is the 6×16 micro-kernel on the mr×nr tile (mr ≤ 6, nr ≤ 16)
// of C at c: in place when the tile is full, else the full 6×16 tile goes
// to a buffer whose mr×nr corner is stored (load == 0) or added to C.
func tile6(kc int, apan *float32, rs, cs int, bpan *float32, rsB int, c []float32, ldc, mr, nr int, alpha float32, load int) {
	if mr == gemmMR && nr == gemmNR {
		sgemmKernel6x16(kc, apan, rs, cs, bpan, rsB, &c[0], ldc, alpha, load)
		return
	}
	var t [gemmMR * gemmNR]float32
	sgemmKernel6x16(kc, apan, rs, cs, bpan, rsB, &t[0], gemmNR, alpha, 0)
	storeTile(c, ldc, t[:], gemmNR, mr, nr, load)
}

// storeTile stores (load == 0) or adds the mr×nr corner of the tile t,
// rows ldt apart, into C at c.
func storeTile(c []float32, ldc int, t []float32, ldt, mr, nr, load int) {
	for i := 0; i < mr; i++ {
		cr := c[i*ldc : i*ldc+nr]
		tr := t[i*ldt : i*ldt+nr]
		if load == 0 {
			copy(cr, tr)
			continue
		}
		for j, v := range tr {
			cr[j] += v
		}
	}
}

func roundUp(x, q int) int { return (x + q - 1) / q * q }

// packBGroup is the number of B panels packBRows fills row by row at a
// time. Consecutive panels are kc·64 bytes apart, a multiple of 4 KiB when
// kc is a multiple of 64 (the AVX-512 kc of 192, the AVX2 kc of 256, any
// k of 128 or 256): filling all of a block's panels row by row then sent
// every store of a row to one L1 set, and packing ran at 7-9 GB/s
// (kc = 192, 256, 512; 21 at 128). Eight panels at a time ran at 35-50
// GB/s for every kc tried (128 to 683; Zen 5, 2026-12-02), one panel at
// a time at 15-57; for the other kc all panels at once ran at 43-55, and
// a product packed that way (256×1024×2048, kc = 187) ran ~3% faster.
const packBGroup = 8

// packBRows is packB for an untransposed B, op(B)(p, j) = b[p*ldb+j]: it
// reads B row by row (a few sequential streams for the hardware
// prefetcher) and moves 16 contiguous values at a time into each panel
// (packBRows16; a 64-byte array copy in Go is a memmove call), to all
// panels at once or, when kc is a multiple of 64, packBGroup at a time.
func packBRows(dst []float32, b []float32, ldb, pc, jc, kc, nc int) {
	full := nc &^ (gemmNR - 1)
	if full > 0 {
		// Bounds for the assembly: the last element it reads and writes.
		_ = b[(pc+kc-1)*ldb+jc+full-1]
		_ = dst[full*kc-1]
		np := full / gemmNR
		group := np
		if kc%64 == 0 {
			group = packBGroup
		}
		for p0 := 0; p0 < np; p0 += group {
			packBRows16(kc, min(group, np-p0), &b[pc*ldb+jc+p0*gemmNR], ldb, &dst[p0*gemmNR*kc])
		}
	}
	if full < nc {
		for p := 0; p < kc; p++ {
			row := b[(pc+p)*ldb+jc+full : (pc+p)*ldb+jc+nc]
			d := dst[full*kc+p*gemmNR : full*kc+p*gemmNR+gemmNR]
			n := copy(d, row)
			clear(d[n:])
		}
	}
}

// packA copies the mc×kc block of op(A) at (ic, pc) into dst as panels of
// 6 rows, each stored column by column (dst[panel*6*kc + p*6 + i]); rows
// past mc are zero.
func packA(dst []float32, transA bool, a []float32, lda, ic, pc, mc, kc int) {
	for ir := 0; ir < mc; ir += gemmMR {
		mr := min(gemmMR, mc-ir)
		pan := dst[ir*kc : (ir+gemmMR)*kc]
		if transA {
			// op(A)(i, p) = a[p*lda+i]: six contiguous values per p.
			base := pc*lda + ic + ir
			if mc-ir >= 8*gemmMR && kc > 0 {
				// Eight panels at a time; the bounds for the assembly:
				// the last element it reads and the last it writes.
				_ = a[base+(kc-1)*lda+8*gemmMR-1]
				_ = dst[(ir+8*gemmMR)*kc-1]
				packA6T8(kc, &a[base], lda, &pan[0], kc*gemmMR)
				ir += 7 * gemmMR
				continue
			}
			if mr == gemmMR {
				// Bounds for the assembly: the last element it reads and
				// the last it writes.
				_ = a[base+(kc-1)*lda+gemmMR-1]
				_ = pan[kc*gemmMR-1]
				packA6T(kc, &a[base], lda, &pan[0])
				continue
			}
			// A partial panel: mr < 6 values per p, in a plain loop (a
			// copy and a clear per p made packing the 3 rows left of a
			// 9-row A take longer than the product; see TestPackA).
			clear(pan)
			for p := 0; p < kc; p++ {
				d := pan[p*gemmMR : p*gemmMR+mr]
				for i, v := range a[base+p*lda : base+p*lda+mr] {
					d[i] = v
				}
			}
			continue
		}
		// op(A)(i, p) = a[i*lda+p]: rows are contiguous.
		if mr == gemmMR {
			base := (ic+ir)*lda + pc
			p0 := 0
			if kc >= 8 {
				// Bounds for the assembly: the last element it reads and
				// the last it writes (2 floats past the 8-column blocks:
				// the next panel's start, or the slack of gemmBlocked's
				// buffer).
				n8 := kc / 8
				_ = a[base+5*lda+8*n8-1]
				_ = dst[ir*kc+48*n8+1]
				packA6(n8, &a[base], lda, &pan[0])
				p0 = 8 * n8
			}
			r0 := a[base : base+kc]
			r1 := a[base+lda : base+lda+kc]
			r2 := a[base+2*lda : base+2*lda+kc]
			r3 := a[base+3*lda : base+3*lda+kc]
			r4 := a[base+4*lda : base+4*lda+kc]
			r5 := a[base+5*lda : base+5*lda+kc]
			for p := p0; p < kc; p++ {
				d := pan[p*gemmMR : p*gemmMR+gemmMR]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		clear(pan)
		for i := 0; i < mr; i++ {
			row := a[(ic+ir+i)*lda+pc : (ic+ir+i)*lda+pc+kc]
			for p, v := range row {
				pan[p*gemmMR+i] = v
			}
		}
	}
}

// packB copies the kc×nc block of op(B) at (pc, jc) into dst as panels of
// 16 columns, each stored row by row (dst[panel*16*kc + p*16 + j]);
// columns past nc are zero.
func packB(dst []float32, transB bool, b []float32, ldb, pc, jc, kc, nc int) {
	if !transB {
		packBRows(dst, b, ldb, pc, jc, kc, nc)
		return
	}
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		pan := dst[jr*kc : (jr+gemmNR)*kc]
		// op(B)(p, j) = b[j*ldb+p]: columns of the panel are contiguous.
		p0 := 0
		if nr == gemmNR && kc >= 8 {
			// Bounds for the assembly: the last element it reads.
			_ = b[(jc+jr+gemmNR-1)*ldb+pc+kc-1]
			packBT16(kc/8, &b[(jc+jr)*ldb+pc], ldb, &pan[0])
			p0 = kc &^ 7
		} else if nr < gemmNR {
			clear(pan)
		}
		for j := 0; j < nr; j++ {
			col := b[(jc+jr+j)*ldb+pc+p0 : (jc+jr+j)*ldb+pc+kc]
			for p, v := range col {
				pan[(p0+p)*gemmNR+j] = v
			}
		}
	}
}
