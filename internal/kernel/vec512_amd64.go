//go:build amd64 && !noasm

package kernel

// The 16-wide kernels of vec512_amd64.s; callers check useAVX512 first.

// dotAVX512 is dotGeneric; len(y) >= len(x).
//
//go:noescape
func dotAVX512(x, y []float32) float32

// sqL2AVX512 is sqL2Generic; len(y) >= len(x).
//
//go:noescape
func sqL2AVX512(x, y []float32) float32

// axpyAVX512 is axpyGeneric; len(y) >= len(x).
//
//go:noescape
func axpyAVX512(alpha float32, x, y []float32)

// dotGatherAVX512 is dotGatherGeneric; the wrapper has checked the
// lengths, the indexes and that dst is not empty.
//
//go:noescape
func dotGatherAVX512(dst, q, x []float32, ldx int, idx []int32)
