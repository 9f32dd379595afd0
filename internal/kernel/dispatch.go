package kernel

// The implementations in use. Files with build tags for faster CPUs replace
// these in an init function; the noasm tag keeps the pure-Go ones.
//
// On amd64 (dispatch_amd64.go) CPUs with AVX2 and FMA get the assembly
// kernels of kernel_amd64.s: a 6×16 SGEMM micro-kernel and its packing
// routines under a cache-blocked driver (gemm_amd64.go; on several threads
// split along n or m, or along m around a shared packed B in
// gemm_shared_amd64.go, or along k) and 8-wide Dot, Axpy and SqL2. The
// scans (scan_amd64.s) and the element-wise kernels (elem_amd64.s) check
// the same features where they are called.
// There is deliberately no AVX-512 kernel: the machines it was developed
// on (AMD Zen 3) have no AVX-512, so such a kernel could not be tested.
var (
	gemm = gemmGeneric
	// gemmOver, if set, is gemm overwriting C (Sgemm's beta = 0) instead
	// of accumulating into a cleared C.
	gemmOver func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
	dot      = dotGeneric
	axpy     = axpyGeneric
	sqL2     = sqL2Generic
)

// Impl names the GEMM implementation in use, e.g. "generic" or
// "avx2-fma 6x16".
var Impl = "generic"
