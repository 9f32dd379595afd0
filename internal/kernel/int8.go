package kernel

// DotInt8 returns the inner product of two int8 vectors over len(x)
// elements, accumulated in int32:
//
//	var s int32
//	for i := range x {
//		s += int32(x[i]) * int32(y[i])
//	}
//	return s
//
// y must be at least as long as x. The sum wraps like the loop above: it is
// exact while len(x)·128² < 2³¹, that is for len(x) < 131072.
func DotInt8(x, y []int8) int32 {
	if len(y) < len(x) {
		panic("kernel: DotInt8 length mismatch")
	}
	var s [1]int32
	dotInt8Rows(s[:], x, 0, y)
	return s[0]
}

// DotInt8Rows scores the rows of the int8 matrix a (row i at a[i*lda:],
// rows lda apart) against x, one int32 dot product per row of dst:
//
//	for i := range dst {
//		var s int32
//		for j := range x {
//			s += int32(a[i*lda+j]) * int32(x[j])
//		}
//		dst[i] = s
//	}
//
// It is DotInt8 for len(dst) rows at once, without a call per row, and
// fastest when len(x) is a multiple of 16 (the AVX2 kernel then scores
// four rows per pass over x). a must
// hold (len(dst)-1)·lda + len(x) elements when dst is not empty, and lda >=
// len(x) unless len(dst) <= 1.
func DotInt8Rows(dst []int32, a []int8, lda int, x []int8) {
	n := len(dst)
	if n == 0 {
		return
	}
	if lda < 0 || (n > 1 && lda < len(x)) {
		panic("kernel: DotInt8Rows bad stride")
	}
	if len(a) < (n-1)*lda+len(x) {
		panic("kernel: DotInt8Rows matrix too short")
	}
	dotInt8Rows(dst, a, lda, x)
}

// dotInt8Rows is the implementation in use; the AVX2
// kernel of int8_amd64.s replaces it on CPUs that have AVX2.
var dotInt8Rows = dotInt8RowsGeneric

// dotInt8RowsGeneric is DotInt8Rows without the checks, in plain Go.
func dotInt8RowsGeneric(dst []int32, a []int8, lda int, x []int8) {
	for i := range dst {
		row := a[i*lda : i*lda+len(x)]
		var s0, s1, s2, s3 int32
		j := 0
		for ; j+4 <= len(x); j += 4 {
			s0 += int32(row[j]) * int32(x[j])
			s1 += int32(row[j+1]) * int32(x[j+1])
			s2 += int32(row[j+2]) * int32(x[j+2])
			s3 += int32(row[j+3]) * int32(x[j+3])
		}
		for ; j < len(x); j++ {
			s0 += int32(row[j]) * int32(x[j])
		}
		dst[i] = (s0 + s1) + (s2 + s3)
	}
}
