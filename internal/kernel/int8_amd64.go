//go:build amd64 && !noasm

package kernel

// dotInt8RowsAVX2 is dotInt8RowsGeneric (see DotInt8Rows for the loop it
// computes); the wrapper has checked the lengths. It needs AVX2.
//
//go:noescape
func dotInt8RowsAVX2(dst []int32, a []int8, lda int, x []int8)

// dotInt8RowsVNNI is dotInt8RowsGeneric with AVX512-VNNI; bias must be
// 128·Σx (see the assembly). The wrapper has checked the lengths.
//
//go:noescape
func dotInt8RowsVNNI(dst []int32, a []int8, lda int, x []int8, bias int32)

// dotInt8RowsAVX512 runs dotInt8RowsVNNI with the bias it needs.
func dotInt8RowsAVX512(dst []int32, a []int8, lda int, x []int8) {
	var sum int32
	for _, v := range x {
		sum += int32(v)
	}
	dotInt8RowsVNNI(dst, a, lda, x, 128*sum)
}
