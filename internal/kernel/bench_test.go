package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGemm times Sgemm on one shape with the given number of goroutines
// and reports GFLOP/s (2·m·n·k flops per call).
func benchGemm(b *testing.B, tA, tB bool, m, n, k, threads int) {
	r := rand.New(rand.NewPCG(1, 1))
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	defer SetThreads(SetThreads(threads))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Sgemm(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemmSquare(b *testing.B) {
	for _, s := range []int{64, 128, 256, 512, 1024, 2048} {
		for _, t := range []int{1, 2} {
			b.Run(fmt.Sprintf("n%d/t%d", s, t), func(b *testing.B) { benchGemm(b, false, false, s, s, s, t) })
		}
	}
}

// BenchmarkSgemmTraining covers the shapes of the MLP 784-1024-2048 at
// batch 256 (forward, and both gradients) and of a small CNN's im2col
// products (256·196 rows, 3×3×32 columns, 32 or 64 output channels).
func BenchmarkSgemmTraining(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"fwd_256x784x1024", false, false, 256, 1024, 784},
		{"fwd_256x1024x2048", false, false, 256, 2048, 1024},
		{"fwdWt_256x1024x2048", false, true, 256, 2048, 1024},
		{"dW_AtB_1024x2048x256", true, false, 1024, 2048, 256},
		{"dW_AtB_784x1024x256", true, false, 784, 1024, 256},
		{"dX_ABt_256x1024x2048", false, true, 256, 1024, 2048},
		{"dX_AB_256x1024x2048", false, false, 256, 1024, 2048},
		{"conv16_200704x16x144", false, true, 256 * 784, 16, 144},
		{"conv_50176x32x288", false, true, 256 * 196, 32, 288},
		{"conv_50176x64x288", false, false, 256 * 196, 64, 288},
		{"convdW_AtB_32x288x50176", true, false, 32, 288, 256 * 196},
		{"convdX_ABt_50176x288x32", false, false, 256 * 196, 288, 32},
	}
	for _, s := range shapes {
		for _, t := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, t), func(b *testing.B) { benchGemm(b, s.tA, s.tB, s.m, s.n, s.k, t) })
		}
	}
}

func BenchmarkVec(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{16, 256, 4096} {
		x, y := randSlice(r, n), randSlice(r, n)
		b.Run(fmt.Sprintf("Dot/%d", n), func(b *testing.B) {
			b.SetBytes(int64(8 * n))
			for b.Loop() {
				Dot(x, y)
			}
		})
		b.Run(fmt.Sprintf("SqL2/%d", n), func(b *testing.B) {
			b.SetBytes(int64(8 * n))
			for b.Loop() {
				SqL2(x, y)
			}
		})
		b.Run(fmt.Sprintf("Axpy/%d", n), func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for b.Loop() {
				Axpy(0.5, x, y)
			}
		})
	}
}

// BenchmarkParallelFor times one fork-join region of parallelFor at 1 and
// 2 goroutines around a given amount of work per chunk (a sum over a
// per-chunk slice), after a serial gap of work on the calling goroutine
// (during which the other thread may go to sleep, as it does between a
// training step's regions). A CNN training step (bench/train at 2
// threads) runs some 55 regions, an MLP step some 20. Run it with -cpu 2
// on an idle machine: ideally the 2-thread time is the 1-thread time
// minus half the work; what is left over is the cost of a region, wake-up
// included. On the 2-core AMD EPYC (2026-12-02), with a goroutine started
// per chunk, two chunks of ~90 µs took 177 µs (1 thread: 190); with the
// pooled workers of pool.go, 102 µs.
func BenchmarkParallelFor(b *testing.B) {
	sum := func(x []float32) float32 {
		var s float32
		for _, v := range x {
			s += v
		}
		return s
	}
	for _, gap := range []int{0, 1 << 16} {
		for _, work := range []int{0, 1 << 14, 1 << 17} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("gap%d/work%d/threads%d", gap, work, threads), func(b *testing.B) {
					defer SetThreads(SetThreads(threads))
					x := make([]float32, 2*work+32)
					g := make([]float32, gap)
					var sink [3]float32
					b.ReportAllocs()
					for b.Loop() {
						sink[2] = sum(g)
						parallelFor(2, 1, func(lo, hi int) {
							for c := lo; c < hi; c++ {
								sink[c] = sum(x[c*(work+16) : c*(work+16)+work])
							}
						})
					}
					_ = sink
				})
			}
		}
	}
}
