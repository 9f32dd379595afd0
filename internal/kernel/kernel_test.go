package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

const guard = 7 // guard band length around outputs

func withGuard(r *rand.Rand, n int) ([]float32, []float32) {
	full := randSlice(r, n+2*guard)
	for i := 0; i < guard; i++ {
		full[i] = 12345
		full[len(full)-1-i] = 12345
	}
	return full, full[guard : guard+n]
}

func checkGuard(t *testing.T, full []float32, what string) {
	t.Helper()
	for i := 0; i < guard; i++ {
		if full[i] != 12345 || full[len(full)-1-i] != 12345 {
			t.Fatalf("%s: guard band overwritten", what)
		}
	}
}

func TestSgemm(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		sizes := [][3]int{{0, 0, 0}, {1, 1, 1}, {0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {1, 17, 15}, {17, 1, 16},
			{15, 16, 17}, {33, 31, 7}, {64, 48, 255}, {100, 70, 1}, {5, 255, 33}, {130, 129, 64},
			// Rows left after the 12-row tiles (the AVX-512 6×32 kernel):
			// 6 of them (in place or packed), and 6 after a k split.
			{18, 64, 40}, {6, 33, 9}, {42, 96, 300}}
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {0, 0.5}} {
						alpha, beta := ab[0], ab[1]
						name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%v_b%v", m, n, k, tA, tB, alpha, beta)
						lda := k + 3
						if tA {
							lda = m + 2
						}
						ldb := n + 1
						if tB {
							ldb = k + 5
						}
						ldc := n + 4
						ar, br := m, k
						if tA {
							ar = k
						}
						if tB {
							br = n
						}
						a := randSlice(r, ar*lda)
						b := randSlice(r, br*ldb)
						cFull, c := withGuard(r, m*ldc)
						want := append([]float32(nil), c...)
						SgemmRef(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
						Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						checkGuard(t, cFull, name)
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								got, w := c[i*ldc+j], want[i*ldc+j]
								tol := 1e-4 * float32(k+1)
								if j >= n {
									tol = 0 // padding between rows must be untouched
								}
								if d := float32(math.Abs(float64(got - w))); d > tol {
									t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, got, w)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		c := []float32{float32(math.NaN()), float32(math.NaN())}
		Sgemm(false, false, 1, 2, 1, 1, []float32{2}, 1, []float32{3, 4}, 2, 0, c, 2)
		if c[0] != 6 || c[1] != 8 {
			t.Fatalf("Sgemm with beta=0 over NaN = %v, want [6 8]", c)
		}
	})
}

func TestSgemmThreads(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		m, n, k := 300, 200, 150
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		c1 := make([]float32, m*n)
		c2 := make([]float32, m*n)
		old := SetThreads(1)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c1, n)
		SetThreads(4)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
		SetThreads(old)
		for i := range c1 {
			if math.Abs(float64(c1[i]-c2[i])) > 1e-3 {
				t.Fatalf("1 vs 4 threads differ at %d: %v vs %v", i, c1[i], c2[i])
			}
		}
	})
}

// SgemmSerial must give Sgemm's result at Threads() == 1 bit for bit
// whatever Threads() is, on products that Sgemm splits among goroutines
// (along n, along m, around a shared B, along k), both transposes, beta
// 0 and 1.
func TestSgemmSerial(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		defer SetThreads(SetThreads(1))
		r := rand.New(rand.NewPCG(9, 10))
		for _, sh := range []struct{ m, n, k int }{{300, 200, 150}, {700, 96, 80}, {40, 50, 3000}, {97, 1030, 61}} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, beta := range []float32{0, 1} {
					tA, tB := tr[0], tr[1]
					lda, ldb := sh.k, sh.n
					if tA {
						lda = sh.m
					}
					if tB {
						ldb = sh.k
					}
					a, b := randSlice(r, sh.m*sh.k), randSlice(r, sh.k*sh.n)
					c0 := randSlice(r, sh.m*sh.n)
					want := append([]float32(nil), c0...)
					SetThreads(1)
					Sgemm(tA, tB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, beta, want, sh.n)
					SetThreads(3)
					got := append([]float32(nil), c0...)
					SgemmSerial(tA, tB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, beta, got, sh.n)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("SgemmSerial %+v trans %v beta %v [%d] = %v, want %v (Sgemm at 1 thread)", sh, tr, beta, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

func TestVec(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 1023, 2048} {
			x, y := randSlice(r, n), randSlice(r, n+3)
			var d, l float64
			for i := 0; i < n; i++ {
				d += float64(x[i]) * float64(y[i])
				l += float64(x[i]-y[i]) * float64(x[i]-y[i])
			}
			tol := 1e-5 * float64(n+1)
			if got := Dot(x, y); math.Abs(float64(got)-d) > tol {
				t.Errorf("Dot(n=%d) = %v, want %v", n, got, d)
			}
			if got := SqL2(x, y); math.Abs(float64(got)-l) > tol {
				t.Errorf("SqL2(n=%d) = %v, want %v", n, got, l)
			}
			yFull, yy := withGuard(r, n)
			want := append([]float32(nil), yy...)
			for i := range want {
				want[i] += 0.75 * x[i]
			}
			Axpy(0.75, x, yy)
			checkGuard(t, yFull, fmt.Sprintf("Axpy n=%d", n))
			for i := range want {
				if math.Abs(float64(want[i]-yy[i])) > 1e-6 {
					t.Fatalf("Axpy(n=%d)[%d] = %v, want %v", n, i, yy[i], want[i])
				}
			}
			z := append([]float32(nil), x...)
			nrm := Normalize(z)
			if n > 0 && math.Abs(float64(Norm(z))-1) > 1e-5 {
				t.Errorf("Normalize(n=%d): norm after = %v (before %v)", n, Norm(z), nrm)
			}
		}
	})
}

// im2colRef is the definition of Im2colNHWC written as plain loops.
func im2colRef(src []float32, n, h, w, c, kh, kw, stride, pad int) []float32 {
	oh, ow := ConvOut(h, kh, stride, pad), ConvOut(w, kw, stride, pad)
	cols := kh * kw * c
	dst := make([]float32, n*oh*ow*cols)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						for ch := 0; ch < c; ch++ {
							iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
							var v float32
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								v = src[((b*h+iy)*w+ix)*c+ch]
							}
							dst[((b*oh+oy)*ow+ox)*cols+(ky*kw+kx)*c+ch] = v
						}
					}
				}
			}
		}
	}
	return dst
}

func TestIm2colCol2im(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		cases := []struct{ n, h, w, c, kh, kw, stride, pad int }{
			{1, 1, 1, 1, 1, 1, 1, 0}, {2, 5, 4, 3, 3, 3, 1, 1}, {1, 7, 7, 2, 3, 3, 2, 1},
			{3, 6, 5, 1, 2, 2, 2, 0}, {2, 8, 8, 4, 1, 1, 2, 0}, {1, 9, 7, 5, 5, 3, 1, 2},
			// Kernel rows of 51, 99 and 48 floats: the vector loops and
			// tails of copyBlocks and addBlocks.
			{2, 6, 7, 17, 3, 3, 1, 1}, {1, 7, 6, 33, 3, 3, 2, 1}, {1, 5, 5, 16, 3, 3, 1, 0},
		}
		for _, tc := range cases {
			name := fmt.Sprintf("%+v", tc)
			src := randSlice(r, tc.n*tc.h*tc.w*tc.c)
			want := im2colRef(src, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			full, got := withGuard(r, len(want))
			Im2colNHWC(got, src, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			checkGuard(t, full, name)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("Im2colNHWC %s [%d] = %v, want %v", name, i, got[i], want[i])
				}
			}
			fullS, gotS := withGuard(r, len(want))
			Im2colNHWCSerial(gotS, src, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			checkGuard(t, fullS, name)
			for i := range want {
				if gotS[i] != want[i] {
					t.Fatalf("Im2colNHWCSerial %s [%d] = %v, want %v", name, i, gotS[i], want[i])
				}
			}
			// Adjoint identity: <im2col(x), y> == <x, col2im(y)>.
			y := randSlice(r, len(want))
			back := make([]float32, len(src))
			Col2imNHWC(back, y, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			var lhs, rhs float64
			for i := range want {
				lhs += float64(want[i]) * float64(y[i])
			}
			for i := range src {
				rhs += float64(src[i]) * float64(back[i])
			}
			if math.Abs(lhs-rhs) > 1e-3 {
				t.Fatalf("Col2imNHWC %s is not the adjoint: %v vs %v", name, lhs, rhs)
			}
			// And bit for bit against the plain scatter loop, accumulating
			// into a non-zero image (the vector adds round as the loop).
			init := randSlice(r, len(src))
			fullB, gotB := withGuard(r, len(src))
			copy(gotB, init)
			Col2imNHWC(gotB, y, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			checkGuard(t, fullB, name)
			wantB := col2imRef(init, y, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			for i := range wantB {
				if math.Float32bits(gotB[i]) != math.Float32bits(wantB[i]) {
					t.Fatalf("Col2imNHWC %s [%d] = %v, want %v", name, i, gotB[i], wantB[i])
				}
			}
			copy(gotB, init)
			Col2imNHWCSerial(gotB, y, tc.n, tc.h, tc.w, tc.c, tc.kh, tc.kw, tc.stride, tc.pad)
			checkGuard(t, fullB, name)
			for i := range wantB {
				if math.Float32bits(gotB[i]) != math.Float32bits(wantB[i]) {
					t.Fatalf("Col2imNHWCSerial %s [%d] = %v, want %v", name, i, gotB[i], wantB[i])
				}
			}
		}
	})
}

// col2imRef scatters the patch matrix y into a copy of img, entry by entry
// in Col2imNHWC's order.
func col2imRef(img, y []float32, n, h, w, c, kh, kw, stride, pad int) []float32 {
	out := append([]float32(nil), img...)
	oh, ow := ConvOut(h, kh, stride, pad), ConvOut(w, kw, stride, pad)
	cols := kh * kw * c
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						for ch := 0; ch < c; ch++ {
							out[((b*h+iy)*w+ix)*c+ch] += y[((b*oh+oy)*ow+ox)*cols+(ky*kw+kx)*c+ch]
						}
					}
				}
			}
		}
	}
	return out
}

// copyBlocks and addBlocks (dispatched) against their twins, bit for bit,
// with guard bands, for blocks shorter and longer than a vector, strides
// that leave gaps and (addBlocks) blocks that overlap in dst.
func TestBlocks(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		for _, tc := range []struct{ n, seg, ds, ss int }{
			{0, 5, 5, 5}, {1, 0, 0, 0}, {1, 1, 0, 0}, {3, 7, 9, 7}, {4, 16, 20, 16}, {5, 17, 17, 40},
			{6, 48, 144, 32}, {2, 99, 99, 99}, {7, 33, 11, 33}, {3, 24, 8, 50},
		} {
			name := fmt.Sprintf("%+v", tc)
			dlen, slen := 0, 0
			if tc.n > 0 {
				dlen, slen = (tc.n-1)*tc.ds+tc.seg, (tc.n-1)*tc.ss+tc.seg
			}
			src := randSlice(r, slen)
			init := randSlice(r, dlen)
			for _, add := range []bool{false, true} {
				if !add && tc.ds < tc.seg && tc.n > 1 {
					continue // overlapping copies are not a use
				}
				full, got := withGuard(r, dlen)
				copy(got, init)
				want := append([]float32(nil), init...)
				if add {
					addBlocks(tc.n, tc.seg, got, tc.ds, src, tc.ss)
					addBlocksGeneric(tc.n, tc.seg, want, tc.ds, src, tc.ss)
				} else {
					copyBlocks(tc.n, tc.seg, got, tc.ds, src, tc.ss)
					copyBlocksGeneric(tc.n, tc.seg, want, tc.ds, src, tc.ss)
				}
				checkGuard(t, full, name)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s add %v: [%d] = %v, want %v", name, add, i, got[i], want[i])
					}
				}
			}
		}
	})
}
