package kernel

// The implementations in use. Files with build tags for faster CPUs replace
// these in an init function; the noasm tag keeps the pure-Go ones.
var (
	gemm = gemmGeneric
	dot  = dotGeneric
	axpy = axpyGeneric
	sqL2 = sqL2Generic
)

// Impl names the GEMM implementation in use, e.g. "generic".
var Impl = "generic"
