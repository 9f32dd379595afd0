//go:build amd64 && !noasm

package kernel

// The 16-wide kernels of vec512_amd64.s; callers check useAVX512 first.

// dotGatherAVX512 is dotGatherGeneric; the wrapper has checked the
// lengths, the indexes and that dst is not empty.
//
//go:noescape
func dotGatherAVX512(dst, q, x []float32, ldx int, idx []int32)
