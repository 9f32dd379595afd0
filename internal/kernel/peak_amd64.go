//go:build amd64 && !noasm

package kernel

import (
	"runtime"
	"time"
)

// FMAPeakGFLOPS measures one core's peak fp32 FMA throughput in GFLOP/s,
// the yardstick for GEMM figures: it runs the independent 8-wide FMA
// chains of fmaPeak (as BenchmarkFMAPeak does) in short bursts for about d
// and returns the best burst, which discounts time lost to other load. It
// returns 0 when the AVX2+FMA kernels are not in use.
func FMAPeakGFLOPS(d time.Duration) float64 {
	if !hasAVX2FMA {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const iters = 1 << 16 // 160 flops each; ~0.2 ms per burst at ~50 GFLOP/s
	best := 0.0
	for start := time.Now(); ; {
		t0 := time.Now()
		fmaPeak(iters)
		if s := time.Since(t0).Seconds(); s > 0 {
			best = max(best, 160*iters/s/1e9)
		}
		if time.Since(start) >= d {
			return best
		}
	}
}
