//go:build amd64 && !noasm

package kernel

// dotInt8RowsAVX2 is dotInt8RowsGeneric (see DotInt8Rows for the loop it
// computes); the wrapper has checked the lengths. It needs AVX2.
//
//go:noescape
func dotInt8RowsAVX2(dst []int32, a []int8, lda int, x []int8)
