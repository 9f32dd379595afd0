package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestScanTileInt8 checks ScanTileInt8 at every level against a plain
// loop in int64: the sums exactly (with so = 1 and no shift the keys are
// the sums, exact in float32 below 2^24), then the keys and the mask with
// random scales, shifts and thresholds.
func TestScanTileInt8(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		const rows, qs = Int8TileRows, Int8TileQueries
		r := rand.New(rand.NewPCG(23, 24))
		for _, k4 := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64} {
			for _, pad := range []int{0, 1, 6} {
				t.Run(fmt.Sprintf("k%d/pad%d", 4*k4, pad), func(t *testing.T) {
					lda := 4*k4 + pad
					a := make([]int8, (rows-1)*lda+4*k4)
					for i := range a {
						a[i] = int8(r.IntN(256) - 128)
					}
					a[0], a[1] = -128, 127 // the extremes
					b := make([]uint8, 4*k4*qs)
					for i := range b {
						b[i] = uint8(r.IntN(256))
					}
					b[0], b[1] = 255, 0
					acc0 := make([]int32, qs)
					for j := range acc0 {
						acc0[j] = int32(r.IntN(2001) - 1000)
					}
					h := make([]int32, rows)
					for i := range h {
						h[i] = int32(r.IntN(200001) - 100000)
					}
					want := make([]int64, rows*qs)
					for i := 0; i < rows; i++ {
						for j := 0; j < qs; j++ {
							s := int64(acc0[j]) + int64(h[i])
							for p := 0; p < 4*k4; p++ {
								s += int64(a[i*lda+p]) * int64(b[(p/4*qs+j)*4+p%4])
							}
							want[i*qs+j] = s
						}
					}
					// Exact sums: so = 1, no shift, every threshold -Inf.
					so := make([]float32, 2*rows)
					for i := 0; i < rows; i++ {
						so[i] = 1
					}
					thr := make([]float32, qs)
					for j := range thr {
						thr[j] = float32(math.Inf(-1))
					}
					full, c := withGuard(r, rows*qs)
					mask := ScanTileInt8(k4, a, lda, b, acc0, h, so, thr, c)
					checkGuard(t, full, "ScanTileInt8")
					if mask != 1<<qs-1 {
						t.Fatalf("mask = %032b with every threshold -Inf", mask)
					}
					for i, w := range want {
						if c[i] != float32(w) {
							t.Fatalf("sum[%d,%d] = %v, want %d", i/qs, i%qs, c[i], w)
						}
					}
					// Keys and mask with scales, shifts and thresholds.
					so = randSlice(r, 2*rows)
					for j := range thr {
						thr[j] = float32(r.NormFloat64() * 1000 * float64(k4))
					}
					thr[5] = float32(math.Inf(1))
					clear(c)
					mask = ScanTileInt8(k4, a, lda, b, acc0, h, so, thr, c)
					var wantMask uint32
					for i := 0; i < rows; i++ {
						for j := 0; j < qs; j++ {
							ref := float64(so[i])*float64(want[i*qs+j]) + float64(so[rows+i])
							scale := math.Abs(float64(so[i])*float64(want[i*qs+j])) + math.Abs(float64(so[rows+i]))
							if !closeTo(c[i*qs+j], ref, scale) {
								t.Fatalf("key[%d,%d] = %v, want %v", i, j, c[i*qs+j], ref)
							}
							if c[i*qs+j] > thr[j] {
								wantMask |= 1 << j
							}
						}
					}
					if mask != wantMask {
						t.Fatalf("mask = %032b, want %032b", mask, wantMask)
					}
				})
			}
		}
	})
}

// BenchmarkScanTileInt8 against BenchmarkScanTileFloat: the same 12 rows ×
// 32 queries × 256 dims from the L1 cache, in multiply-adds per second.
func BenchmarkScanTileInt8(b *testing.B) {
	const k = 256
	a := make([]int8, 12*k)
	q := make([]uint8, 32*k)
	acc0, h := make([]int32, 32), make([]int32, 12)
	so, thr, c := make([]float32, 24), make([]float32, 32), make([]float32, 12*32)
	for j := range thr {
		thr[j] = float32(math.Inf(1))
	}
	b.SetBytes(12 * 32 * k) // one "byte" per multiply-add
	for b.Loop() {
		ScanTileInt8(k/4, a, k, q, acc0, h, so, thr, c)
	}
}

func BenchmarkScanTileFloat(b *testing.B) {
	const k = 256
	rows, qs := ScanTileShape()
	a, q := make([]float32, rows*k), make([]float32, qs*k)
	so, thr, c := make([]float32, 2*rows), make([]float32, qs), make([]float32, rows*qs)
	for j := range thr {
		thr[j] = float32(math.Inf(1))
	}
	b.SetBytes(int64(rows * qs * k))
	for b.Loop() {
		ScanTile(k, a, k, q, so, thr, c)
	}
}
