//go:build !amd64 || noasm

package kernel

import "unsafe"

func dotRows(dst, q, x []float32, ldx int, scale []float32) float32 {
	return dotRowsGeneric(dst, q, x, ldx, scale)
}

func dotBlocks16(dst, q, blk []float32, bar float32, masks []uint16) int {
	return dotBlocks16Generic(dst, q, blk, bar, masks)
}

func scanTile6x16(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	return scanTile6x16Generic(k, a, lda, b, so, thr, c)
}

func dotGather(dst, q, x []float32, ldx int, idx []int32) { dotGatherGeneric(dst, q, x, ldx, idx) }

func prefetch(p unsafe.Pointer, n int) {}

func scanTileShape() (rows, queries int) { return 6, 16 }

func scanTile12x32(k int, a []float32, lda int, b, so, thr, c []float32) uint32 {
	return scanTileGeneric(12, 32, k, a, lda, b, so, thr, c)
}

func scanTileInt8(ks []int32, a []int8, lda int, b []uint8, t, e []float32, h []int32, so, thr, c []float32) uint32 {
	return scanTileInt8Generic(ks, a, lda, b, t, e, h, so, thr, c)
}

func hasScanTileInt8() bool { return false }
