//go:build amd64 && !noasm

package kernel

import (
	"math"
	"unsafe"
)

// dotBlocks16AVX2 is dotBlocks16Generic; the wrapper has checked the
// lengths and that dst is not empty.
//
//go:noescape
func dotBlocks16AVX2(dst, q, blk []float32, bar float32, masks []uint16) int

// dotRows reads one row at a time: the rows of a long prefix are each
// several cache lines, which the hardware prefetcher streams best one after
// the other (reading four rows in step measured ~1.6x slower at 256 dims).
// At the avx2 level the prefix of the row eight ahead (at most 8 KiB
// ahead) is prefetched as well: with strided prefixes (and between pages)
// the hardware prefetcher alone left 10-20% of the bandwidth unused (Zen 3,
// 1M × 256 and 1M × 128 cosine, 2026-11-27). At the avx512 level the loop
// runs in one assembly call (dotRowsAVX512), which prefetches only strided
// prefixes (ldx > len(q)): on Zen 5 (256 MiB of rows, best of 7, 2026-12-02)
// contiguous rows read at 89-99% of kernel.Dot's bandwidth without software
// prefetch and 76-92% with it (the Go loop: 76-92%), while strided
// prefixes (128 of 256, 256 and 64 of 2048) read 1.03-1.75x faster with it
// than the Go loop with it.
//
// With a non-nil scale (DotRowsScaled, len(scale) == len(dst)) each sum
// is multiplied by its scale before it is stored and compared.
func dotRows(dst, q, x []float32, ldx int, scale []float32) float32 {
	if !useAVX2 {
		return dotRowsGeneric(dst, q, x, ldx, scale)
	}
	best := float32(math.Inf(-1))
	// Rows prefetched ahead of the one being read: eight, or as many as
	// make 8 KiB for long rows (a 2048-d row is 8 KiB: one ahead).
	ahead := max(1, min(8, 8192/(4*max(len(q), 1))))
	if useAVX512 {
		if len(q) == 0 {
			return dotRowsGeneric(dst, q, x, ldx, scale) // empty sums
		}
		if ldx == len(q) {
			ahead = -1
		}
		var sc *float32
		if scale != nil {
			sc = &scale[0]
		}
		// DotRows checked that x holds every row's prefix.
		return dotRowsAVX512(&dst[0], len(dst), &q[0], len(q), &x[0], ldx, ahead, sc)
	}
	for i := range dst {
		if i+ahead < len(dst) && len(q) > 0 {
			prefetch(unsafe.Pointer(&x[(i+ahead)*ldx]), len(q)*4)
		}
		s := dotAVX2(q, x[i*ldx:i*ldx+len(q)])
		if scale != nil {
			s *= scale[i]
		}
		dst[i] = s
		if s > best { // as dotRowsGeneric: a NaN never wins
			best = s
		}
	}
	return best
}

// dotRowsAVX512 is dotRows's loop at the avx512 level in one call (n > 0;
// the row ahead rows further is prefetched, none when ahead < 0; each
// sum multiplied by scale[i] unless scale is nil), returning the largest
// as dotRowsGeneric does; see scan512_amd64.s.
//
//go:noescape
func dotRowsAVX512(dst *float32, n int, q *float32, d int, x *float32, ldx int, ahead int, scale *float32) float32

// scanTile6x16AVX2 is scanTile6x16Generic on pointers; see ScanTile6x16.
//
//go:noescape
func scanTile6x16AVX2(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32

// scanTile6x16AVX512 is scanTile6x16AVX2 with zmm registers.
//
//go:noescape
func scanTile6x16AVX512(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32

// scanTile12x32AVX512 is scanTileGeneric for a 12×32 tile on pointers;
// see ScanTile.
//
//go:noescape
func scanTile12x32AVX512(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32

func scanTileShape() (rows, queries int) {
	if useAVX512 {
		return 12, 32
	}
	return 6, 16
}

func scanTile12x32(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	if useAVX512 {
		return scanTile12x32AVX512(k, &a[0], lda, &b[0], &so[0], &thr[0], &c[0])
	}
	return scanTileGeneric(12, 32, k, a, lda, b, so, thr, c)
}

// dotBlocks16AVX512 is dotBlocks16AVX2 with zmm registers.
//
//go:noescape
func dotBlocks16AVX512(dst, q, blk []float32, bar float32, masks []uint16) int

func scanTile6x16(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	if useAVX512 {
		return scanTile6x16AVX512(k, &a[0], lda, &b[0], &so[0], &thr[0], &c[0])
	}
	if useAVX2 {
		return scanTile6x16AVX2(k, &a[0], lda, &b[0], &so[0], &thr[0], &c[0])
	}
	return scanTile6x16Generic(k, a, lda, b, so, thr, c)
}

// dotGatherAVX2 is dotGatherGeneric; the wrapper has checked the lengths,
// the indexes and that dst is not empty.
//
//go:noescape
func dotGatherAVX2(dst, q, x []float32, ldx int, idx []int32)

func dotGather(dst, q, x []float32, ldx int, idx []int32) {
	if useAVX512 {
		dotGatherAVX512(dst, q, x, ldx, idx)
		return
	}
	if useAVX2 {
		dotGatherAVX2(dst, q, x, ldx, idx)
		return
	}
	dotGatherGeneric(dst, q, x, ldx, idx)
}

func dotBlocks16(dst, q, blk []float32, bar float32, masks []uint16) int {
	if useAVX512 {
		return dotBlocks16AVX512(dst, q, blk, bar, masks)
	}
	if useAVX2 {
		return dotBlocks16AVX2(dst, q, blk, bar, masks)
	}
	return dotBlocks16Generic(dst, q, blk, bar, masks)
}

// prefetch issues PREFETCHT0 for every 64-byte line of the n bytes at p.
//
//go:noescape
func prefetch(p unsafe.Pointer, n int)

// scanTileInt8AVX512 is scanTileInt8Generic on pointers with
// AVX512-VNNI; see ScanTileInt8.
//
//go:noescape
func scanTileInt8AVX512(nb int, ks *int32, a *int8, lda int, b *uint8, t, e *float32, h *int32, so, thr, c *float32) uint32

func scanTileInt8(ks []int32, a []int8, lda int, b []uint8, t, e []float32, h []int32, so, thr, c []float32) uint32 {
	if useVNNI512 {
		return scanTileInt8AVX512(len(ks), &ks[0], &a[0], lda, &b[0], &t[0], &e[0], &h[0], &so[0], &thr[0], &c[0])
	}
	return scanTileInt8Generic(ks, a, lda, b, t, e, h, so, thr, c)
}

func hasScanTileInt8() bool { return useVNNI512 }
