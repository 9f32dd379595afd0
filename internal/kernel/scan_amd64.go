//go:build amd64 && !noasm

package kernel

// dotBlocks16AVX2 is dotBlocks16Generic; the wrapper has checked the
// lengths and that dst is not empty.
//
//go:noescape
func dotBlocks16AVX2(dst, q, blk []float32, bar float32, masks []uint16) int

// dotRowsAVX2 is dotRowsGeneric, one row after the other (four rows in
// step were ~1.6x slower at 256 dims: four interleaved streams); the
// wrapper has checked the lengths and that dst is not empty.
//
//go:noescape
func dotRowsAVX2(dst, q, x []float32, ldx int) float32

func dotRows(dst, q, x []float32, ldx int) float32 {
	if hasAVX2FMA {
		return dotRowsAVX2(dst, q, x, ldx)
	}
	return dotRowsGeneric(dst, q, x, ldx)
}

// scanTile6x16AVX2 is scanTile6x16Generic on pointers; see ScanTile6x16.
//
//go:noescape
func scanTile6x16AVX2(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32

func scanTile6x16(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	if hasAVX2FMA {
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
	if hasAVX2FMA {
		dotGatherAVX2(dst, q, x, ldx, idx)
		return
	}
	dotGatherGeneric(dst, q, x, ldx, idx)
}

func dotBlocks16(dst, q, blk []float32, bar float32, masks []uint16) int {
	if hasAVX2FMA {
		return dotBlocks16AVX2(dst, q, blk, bar, masks)
	}
	return dotBlocks16Generic(dst, q, blk, bar, masks)
}
