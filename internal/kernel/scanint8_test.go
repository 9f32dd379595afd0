package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestScanTileInt8 checks ScanTileInt8 at every level against a plain
// loop: the int32 sums exactly (one block, scale 1, no shift: the keys
// are the sums, exact in float32 below 2^24), then, over several blocks,
// the keys against float64 and the mask, with random scales, shifts and
// thresholds.
func TestScanTileInt8(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		const rows, qs = Int8TileRows, Int8TileQueries
		r := rand.New(rand.NewPCG(23, 24))
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64} {
			for _, pad := range []int{0, 1, 6} {
				t.Run(fmt.Sprintf("k%d/pad%d", 4*k, pad), func(t *testing.T) {
					lda := 4*k + pad
					a := make([]int8, (rows-1)*lda+4*k)
					for i := range a {
						a[i] = int8(r.IntN(256) - 128)
					}
					a[0], a[1] = -128, 127 // the extremes
					b := make([]uint8, 4*k*qs)
					for i := range b {
						b[i] = uint8(r.IntN(256))
					}
					b[0], b[1] = 255, 0
					// Blocks: one, then a random split of the k steps.
					split := []int32{int32(k)}
					var ks []int32
					for rest := k; rest > 0; {
						x := 1 + r.IntN(rest)
						ks = append(ks, int32(x))
						rest -= x
					}
					h := make([]int32, rows*len(ks))
					for i := range h {
						h[i] = int32(r.IntN(200001) - 100000)
					}
					sums := func(ks []int32) [][]int64 { // per block, rows×qs
						out := make([][]int64, len(ks))
						p0 := 0
						for l, kl := range ks {
							out[l] = make([]int64, rows*qs)
							for i := 0; i < rows; i++ {
								for j := 0; j < qs; j++ {
									s := int64(h[l*rows+i])
									for p := 4 * p0; p < 4*(p0+int(kl)); p++ {
										s += int64(a[i*lda+p]) * int64(b[(p/4*qs+j)*4+p%4])
									}
									out[l][i*qs+j] = s
								}
							}
							p0 += int(kl)
						}
						return out
					}
					// Exact sums: one block, scale 1, e = 0, so = 1, every threshold -Inf.
					one := make([]float32, qs)
					for j := range one {
						one[j] = 1
					}
					so := make([]float32, 2*rows)
					for i := 0; i < rows; i++ {
						so[i] = 1
					}
					thr := make([]float32, qs)
					for j := range thr {
						thr[j] = float32(math.Inf(-1))
					}
					full, c := withGuard(r, rows*qs)
					mask := ScanTileInt8(split, a, lda, b, one, make([]float32, qs), h, so, thr, c)
					checkGuard(t, full, "ScanTileInt8")
					if mask != 1<<qs-1 {
						t.Fatalf("mask = %032b with every threshold -Inf", mask)
					}
					for i, w := range sums(split)[0] {
						if c[i] != float32(w) {
							t.Fatalf("sum[%d,%d] = %v, want %d", i/qs, i%qs, c[i], w)
						}
					}
					// Several blocks with scales, a start, shifts and thresholds.
					ts := randSlice(r, qs*len(ks))
					e := randSlice(r, qs)
					for j := range e {
						e[j] *= 1000
					}
					so = randSlice(r, 2*rows)
					for j := range thr {
						thr[j] = float32(r.NormFloat64() * 1000 * float64(k))
					}
					thr[5] = float32(math.Inf(1))
					full, c = withGuard(r, rows*qs)
					mask = ScanTileInt8(ks, a, lda, b, ts, e, h, so, thr, c)
					checkGuard(t, full, "ScanTileInt8")
					bs := sums(ks)
					var wantMask uint32
					for i := 0; i < rows; i++ {
						for j := 0; j < qs; j++ {
							f, abs := float64(e[j]), math.Abs(float64(e[j]))
							for l := range ks {
								x := float64(ts[l*qs+j]) * float64(bs[l][i*qs+j])
								f += x
								abs += math.Abs(x)
							}
							ref := float64(so[i])*f + float64(so[rows+i])
							scale := math.Abs(float64(so[i]))*abs + math.Abs(float64(so[rows+i]))
							if !closeTo(c[i*qs+j], ref, scale) {
								t.Fatalf("blocks %v: key[%d,%d] = %v, want %v", ks, i, j, c[i*qs+j], ref)
							}
							if c[i*qs+j] > thr[j] {
								wantMask |= 1 << j
							}
						}
					}
					if mask != wantMask {
						t.Fatalf("blocks %v: mask = %032b, want %032b", ks, mask, wantMask)
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
	ks, h := []int32{k / 4}, make([]int32, 12)
	ts, e := make([]float32, 32), make([]float32, 32)
	so, thr, c := make([]float32, 24), make([]float32, 32), make([]float32, 12*32)
	for j := range thr {
		thr[j] = float32(math.Inf(1))
	}
	b.SetBytes(12 * 32 * k) // one "byte" per multiply-add
	for b.Loop() {
		ScanTileInt8(ks, a, k, q, ts, e, h, so, thr, c)
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
