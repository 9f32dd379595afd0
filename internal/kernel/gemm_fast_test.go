package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmCase fills A, B and a guarded C for one Sgemm call with padded
// strides and returns everything needed to run and check it.
type gemmCase struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	a, b          []float32
	lda, ldb, ldc int
	cFull, c      []float32
}

func newGemmCase(r *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32) *gemmCase {
	g := &gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	g.lda, g.ldb, g.ldc = k+1, n+3, n+2
	ar, br := m, k
	if tA {
		g.lda, ar = m+5, k
	}
	if tB {
		g.ldb, br = k+2, n
	}
	g.a = randSlice(r, ar*g.lda)
	g.b = randSlice(r, br*g.ldb)
	g.cFull, g.c = withGuard(r, m*g.ldc)
	return g
}

// check compares got with want over the m×n part of C (tolerance scaled by
// k) and requires the padding between rows to be bit-identical.
func (g *gemmCase) check(t *testing.T, name string, got, want []float32) {
	t.Helper()
	tol := 2e-5 * float64(g.k+2)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.ldc; j++ {
			x, w := got[i*g.ldc+j], want[i*g.ldc+j]
			if j >= g.n {
				if math.Float32bits(x) != math.Float32bits(w) {
					t.Fatalf("%s: padding C[%d,%d] = %v, want %v", name, i, j, x, w)
				}
				continue
			}
			if d := math.Abs(float64(x - w)); !(d <= tol) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, x, w)
			}
		}
	}
}

// TestSgemmOddSizes runs Sgemm (whatever implementation is dispatched) over
// sizes around the micro-tile and blocking edges, all transposes, several
// alpha/beta, and compares against SgemmRef and against gemmGeneric called
// directly.
func TestSgemmOddSizes(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		dims := []int{0, 1, 5, 6, 7, 15, 16, 17, 23, 24, 25, 32, 37, 64, 255, 257, 1023}
		ks := []int{1, 7, 16, 255, 257, 513}
		if testing.Short() {
			dims = []int{0, 1, 5, 7, 16, 17, 25, 37, 257}
			ks = []int{1, 17, 257}
		}
		abs := [][2]float32{{1, 0}, {-0.5, 1}, {2, -0.25}}
		count := 0
		for _, m := range dims {
			for _, n := range dims {
				for _, k := range ks {
					// Keep the reference's triple loop affordable.
					if m*n*k > 1<<24 {
						continue
					}
					tA, tB := count&1 == 1, count&2 == 2
					ab := abs[count%len(abs)]
					count++
					g := newGemmCase(r, tA, tB, m, n, k, ab[0], ab[1])
					name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%v_b%v", m, n, k, tA, tB, ab[0], ab[1])
					want := append([]float32(nil), g.c...)
					SgemmRef(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, want, g.ldc)
					Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
					checkGuard(t, g.cFull, name)
					g.check(t, name, g.c, want)
				}
			}
		}
	})
}

// TestSgemmAllTransposes covers every transpose pair and alpha/beta on a
// few sizes that cross the kc, mc and nc blocking, against gemmGeneric.
func TestSgemmAllTransposes(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		sizes := [][3]int{{6, 16, 256}, {7, 17, 257}, {150, 40, 600}, {145, 3100, 9}, {300, 35, 520}, {1, 1000, 300}, {1000, 1, 300}}
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}} {
						g := newGemmCase(r, tA, tB, m, n, k, ab[0], ab[1])
						name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%v_b%v", m, n, k, tA, tB, ab[0], ab[1])
						// gemmGeneric directly, with beta applied by hand as Sgemm does.
						want := append([]float32(nil), g.c...)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								if g.beta == 0 {
									want[i*g.ldc+j] = 0
								} else {
									want[i*g.ldc+j] *= g.beta
								}
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

// TestSgemmThreadsTransposed checks that 1 and 2 goroutines agree on large
// products split along n, along m and (small m and n, long k: weight
// gradients) along k, for all transposes.
func TestSgemmThreadsTransposed(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		defer SetThreads(SetThreads(1))
		for _, sz := range [][3]int{{130, 700, 100}, {900, 50, 120}, {16, 9, 20000}, {32, 100, 3001}, {7, 5, 70001}} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					m, n, k := sz[0], sz[1], sz[2]
					g := newGemmCase(r, tA, tB, m, n, k, 1.5, 0.5)
					c1 := append([]float32(nil), g.c...)
					SetThreads(1)
					Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c1, g.ldc)
					SetThreads(2)
					Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
					checkGuard(t, g.cFull, "threads")
					g.check(t, fmt.Sprintf("threads m%d_n%d_k%d_tA%v_tB%v", m, n, k, tA, tB), g.c, c1)
				}
			}
		}
	})
}

// Products that split m around a shared packed B (gemmShared: several
// blocks of k, k whole at 256 with the AVX-512 kernel, ragged edges) and
// one too wide for it, on 2 and 3 goroutines, accumulating and
// overwriting, against one goroutine.
func TestSgemmSharedB(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		defer SetThreads(SetThreads(1))
		for _, sz := range [][3]int{{97, 65, 257}, {301, 3100, 40}, {250, 130, 700}, {250, 130, 256}} {
			for _, beta := range []float32{0, 0.5} {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						m, n, k := sz[0], sz[1], sz[2]
						g := newGemmCase(r, tA, tB, m, n, k, 1.5, beta)
						want := append([]float32(nil), g.c...)
						SetThreads(1)
						Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, want, g.ldc)
						for _, th := range []int{2, 3} {
							got := append([]float32(nil), g.cFull...)
							SetThreads(th)
							Sgemm(tA, tB, m, n, k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, got[guard:guard+len(g.c)], g.ldc)
							checkGuard(t, got, "shared B")
							g.check(t, fmt.Sprintf("shared m%d_n%d_k%d_tA%v_tB%v_beta%v_t%d", m, n, k, tA, tB, beta, th), got[guard:guard+len(g.c)], want)
						}
					}
				}
			}
		}
	})
}

// TestVecGeneric compares the dispatched vector kernels with the pure-Go
// ones on odd lengths and unaligned starts.
func TestVecGeneric(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for n := 0; n <= 70; n++ {
			for _, off := range []int{0, 1, 3} {
				x := randSlice(r, n+off)[off:]
				y := randSlice(r, n+off+2)[off:]
				tol := 1e-5 * float64(n+1)
				if got, want := Dot(x, y), dotGeneric(x, y[:n]); math.Abs(float64(got-want)) > tol {
					t.Fatalf("Dot(n=%d, off=%d) = %v, want %v", n, off, got, want)
				}
				if got, want := SqL2(x, y), sqL2Generic(x, y[:n]); math.Abs(float64(got-want)) > tol {
					t.Fatalf("SqL2(n=%d, off=%d) = %v, want %v", n, off, got, want)
				}
				yFull, yy := withGuard(r, n)
				want := append([]float32(nil), yy...)
				axpyGeneric(-1.25, x, want)
				Axpy(-1.25, x, yy)
				checkGuard(t, yFull, fmt.Sprintf("Axpy n=%d", n))
				for i := range want {
					if math.Abs(float64(want[i]-yy[i])) > 1e-6 {
						t.Fatalf("Axpy(n=%d, off=%d)[%d] = %v, want %v", n, off, i, yy[i], want[i])
					}
				}
			}
		}
	})
}
