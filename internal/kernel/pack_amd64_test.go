//go:build amd64 && !noasm

package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packA (with its assembly for full panels, and for eight transposed
// panels at a time) lays out every
// block as the plain loop of its doc comment does, zero rows past mc, and
// writes nothing past the panels but the 2 floats of slack gemmBlocked
// allocates.
func TestPackA(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, transA := range []bool{false, true} {
			for _, mc := range []int{1, 5, 6, 7, 12, 13, 48, 53, 102, 144} {
				for _, kc := range []int{1, 7, 8, 9, 16, 23, 256} {
					t.Run(fmt.Sprintf("tA=%v/mc%d/kc%d", transA, mc, kc), func(t *testing.T) {
						const ic, pc = 3, 5
						rows, cols := ic+mc+2, pc+kc+3 // A stored as rows×cols (op(A) = A or Aᵀ)
						if transA {
							rows, cols = pc+kc+2, ic+mc+3
						}
						lda := cols + 1
						a := randSlice(r, rows*lda)
						opA := func(i, p int) float32 {
							if transA {
								return a[p*lda+i]
							}
							return a[i*lda+p]
						}
						n := roundUp(mc, gemmMR) * kc
						dst := make([]float32, n+2+guard)
						for i := range dst {
							dst[i] = 99
						}
						packA(dst, transA, a, lda, ic, pc, mc, kc)
						for ir := 0; ir < mc; ir += gemmMR {
							for p := 0; p < kc; p++ {
								for i := 0; i < gemmMR; i++ {
									want := float32(0)
									if ir+i < mc {
										want = opA(ic+ir+i, pc+p)
									}
									if got := dst[ir*kc+p*gemmMR+i]; got != want {
										t.Fatalf("panel %d p %d row %d: %v, want %v", ir/gemmMR, p, i, got, want)
									}
								}
							}
						}
						for i := n + 2; i < len(dst); i++ {
							if dst[i] != 99 {
								t.Fatalf("dst[%d] (past the panels and slack) written: %v", i, dst[i])
							}
						}
					})
				}
			}
		}
	})
}

// packB (with its assembly for full panels) lays out every block as the
// plain loop of its doc comment does, zero columns past nc, and writes
// nothing past the panels.
func TestPackB(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, transB := range []bool{false, true} {
			// nc = 150: nine full panels and a part, in two groups of
			// packBGroup when kc is a multiple of 64.
			for _, nc := range []int{1, 15, 16, 17, 32, 50, 150} {
				for _, kc := range []int{1, 7, 8, 9, 16, 23, 64, 256} {
					t.Run(fmt.Sprintf("tB=%v/nc%d/kc%d", transB, nc, kc), func(t *testing.T) {
						const pc, jc = 4, 3
						rows, cols := pc+kc+2, jc+nc+3 // B stored as rows×cols (op(B) = B or Bᵀ)
						if transB {
							rows, cols = jc+nc+2, pc+kc+3
						}
						ldb := cols + 1
						b := randSlice(r, rows*ldb)
						opB := func(p, j int) float32 {
							if transB {
								return b[j*ldb+p]
							}
							return b[p*ldb+j]
						}
						n := roundUp(nc, gemmNR) * kc
						dst := make([]float32, n+guard)
						for i := range dst {
							dst[i] = 99
						}
						packB(dst, transB, b, ldb, pc, jc, kc, nc)
						for jr := 0; jr < nc; jr += gemmNR {
							for p := 0; p < kc; p++ {
								for j := 0; j < gemmNR; j++ {
									want := float32(0)
									if jr+j < nc {
										want = opB(pc+p, jc+jr+j)
									}
									if got := dst[jr*kc+p*gemmNR+j]; got != want {
										t.Fatalf("panel %d p %d column %d: %v, want %v", jr/gemmNR, p, j, got, want)
									}
								}
							}
						}
						for i := n; i < len(dst); i++ {
							if dst[i] != 99 {
								t.Fatalf("dst[%d] (past the panels) written: %v", i, dst[i])
							}
						}
					})
				}
			}
		}
	})
}

// Products whose C reaches largeCMin take k blocks of kcLargeCAVX512 at
// the avx512 level; with the threshold lowered, small products cross
// those blocks (k above and below 384 and 683 and their multiples), on 1 and 2
// goroutines (gemmShared and the split along n), against gemmGeneric.
func TestSgemmLargeCBlocks(t *testing.T) {
	defer func(v int) { largeCMin = v }(largeCMin)
	largeCMin = 1
	defer SetThreads(SetThreads(1))
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, th := range []int{1, 2} {
			SetThreads(th)
			for _, sz := range [][3]int{{150, 40, 600}, {100, 200, 385}, {97, 530, 768}, {300, 70, 1001}, {60, 90, 684}, {50, 70, 1367}} {
				m, n, k := sz[0], sz[1], sz[2]
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						g := newGemmCase(r, tA, tB, m, n, k, 1, 0.5)
						name := fmt.Sprintf("t%d_m%d_n%d_k%d_tA%v_tB%v", th, m, n, k, tA, tB)
						want := append([]float32(nil), g.c...)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								want[i*g.ldc+j] *= g.beta
							}
						}
						gemmGeneric(1, tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, want, g.ldc)
						Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
						checkGuard(t, g.cFull, name)
						g.check(t, name, g.c, want)
					}
				}
			}
		}
	})
}

// gemmNarrow (a narrow C computed as its transpose) must give the bits of
// the plain blocked product with alpha 1 (and within rounding otherwise):
// every transpose, beta 0, 1 and another (scaled first), k split into
// blocks, on 1 and 2 goroutines (split along k), and products just
// outside its reach (n = 16, m = 15, a short k).
func TestSgemmNarrow(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		defer SetThreads(SetThreads(1))
		defer func() { narrowTransposed = true }()
		r := rand.New(rand.NewPCG(11, 12))
		for _, sh := range []struct{ m, n, k int }{{16, 9, 25088}, {17, 1, 3000}, {40, 15, 2100}, {33, 7, 5003}, {16, 16, 4000}, {15, 9, 4000}, {64, 9, 500}} {
			for _, tr := range [][2]bool{{true, false}, {false, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.7, 0.5}} {
					for _, threads := range []int{1, 2} {
						tA, tB := tr[0], tr[1]
						lda, ldb, ldc := sh.k, sh.n+3, sh.n+2
						if tA {
							lda = sh.m + 1
						}
						if tB {
							ldb = sh.k
						}
						ar, br := sh.m, sh.k // rows of A and B as stored
						if tA {
							ar = sh.k
						}
						if tB {
							br = sh.n
						}
						a, b := randSlice(r, ar*lda), randSlice(r, br*ldb)
						c0 := randSlice(r, sh.m*ldc)
						var got [2][]float32
						for i, on := range []bool{false, true} {
							narrowTransposed = on
							SetThreads(threads)
							got[i] = append([]float32(nil), c0...)
							Sgemm(tA, tB, sh.m, sh.n, sh.k, ab[0], a, lda, b, ldb, ab[1], got[i], ldc)
						}
						for i := range got[0] {
							if ab[0] != 1 {
								// alpha·s is rounded apart from the add at
								// edge tiles, fused at full ones.
								if d := math.Abs(float64(got[1][i] - got[0][i])); d > 1e-4*(1+math.Abs(float64(got[0][i]))) {
									t.Fatalf("%+v trans %v alpha, beta %v, %d threads: C[%d] = %v transposed, %v plain", sh, tr, ab, threads, i, got[1][i], got[0][i])
								}
								continue
							}
							if math.Float32bits(got[1][i]) != math.Float32bits(got[0][i]) {
								t.Fatalf("%+v trans %v alpha, beta %v, %d threads: C[%d] = %v transposed, %v plain", sh, tr, ab, threads, i, got[1][i], got[0][i])
							}
						}
					}
				}
			}
		}
	})
}
