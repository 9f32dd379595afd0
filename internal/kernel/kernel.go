// Package kernel holds the float32 compute kernels that every heavy
// operation of the toolkit goes through: matrix multiply (Sgemm), the
// im2col/col2im transforms for convolution, vector kernels (Dot, Axpy,
// squared L2, normalisation), the retrieval scans (DotRows, DotRowsScaled,
// DotGather, DotBlocks16, ScanTile and its int8 twin ScanTileInt8, with
// int8 dot products DotInt8Rows) and the element-wise passes of the
// training layers (NormAffine, NormBackward, ColSumsShifted, ColSumsDot,
// ReLU, ReLUBackward).
//
// Conventions (as in gonum's BLAS): matrices are row-major []float32 with a
// leading dimension (stride) ld >= the number of columns; the destination of
// an in-place write comes first or is named dst/c. Shapes are checked and a
// mismatch panics with a constant message: these are programmer errors,
// not input errors.
//
// Large kernels split their work among up to Threads() goroutines: the
// caller's and pooled workers that spin for a moment between parallel
// regions instead of parking (see pool.go: waking a parked one took
// 100-170 µs on the project's VMs); the
// Serial forms (SgemmSerial, Im2colNHWCSerial, Col2imNHWCSerial) run on
// the calling goroutine only, for callers that split the work themselves.
//
// Every kernel has a plain-Go definition in its doc comment and a pure-Go
// implementation that the tests use as the reference. Faster
// implementations are chosen once at start-up by CPU feature detection, as
// a Level: Generic (pure Go), AVX2 (8-wide, a 6×16 SGEMM tile) or AVX512
// (16-wide, a 12×32 tile, opmask tails, VNNI int8). The environment
// variable MRL_KERNEL overrides the choice (see Level and EnvError),
// SetLevel switches it for tests and benchmarks, and the build tag noasm
// forces the pure-Go kernels. The kernels whose AVX2 and AVX-512 versions
// differ only in width are generated from one avo program (gen.go).
package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// Threads returns the number of goroutines large kernels may use.
func Threads() int { return int(threads.Load()) }

// SetThreads sets the number of goroutines large kernels may use and returns
// the previous value. n < 1 means runtime.GOMAXPROCS(0).
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return int(threads.Swap(int32(n)))
}

// parallelFor splits [0,n) into at most Threads() contiguous chunks whose
// sizes are multiples of grain (except the last) and runs fn on each,
// waiting for all. With one chunk it runs fn on the calling goroutine.
func parallelFor(n, grain int, fn func(lo, hi int)) { parallelForT(Threads(), n, grain, fn) }

// parallelForT is parallelFor on at most t goroutines.
func parallelForT(t, n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	if t > chunks {
		t = chunks
	}
	if t <= 1 {
		fn(0, n)
		return
	}
	per := (chunks + t - 1) / t * grain
	if runPooled(n, per, (n+per-1)/per, fn) {
		return
	}
	var wg sync.WaitGroup
	for lo := per; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(per, n))
	wg.Wait()
}

// ParallelFor runs fn over [0,n) split into at most Threads() contiguous
// chunks, each at least grain long (except the last), and waits. It is the
// one place layers get parallelism outside the kernels.
func ParallelFor(n, grain int, fn func(lo, hi int)) { parallelFor(n, grain, fn) }
