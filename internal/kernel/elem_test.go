package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guarded returns a slice of n random values inside guard bands of a
// sentinel, and the full backing slice to check the bands with.
func guarded(r *rand.Rand, n int) (x, full []float32) {
	full = make([]float32, n+2*guard)
	for i := range full {
		full[i] = 1234.5
	}
	x = full[guard : guard+n]
	for i := range x {
		x[i] = r.Float32()*4 - 2
	}
	return x, full
}

func checkBands(t *testing.T, name string, full []float32) {
	t.Helper()
	for i := range guard {
		if full[i] != 1234.5 || full[len(full)-1-i] != 1234.5 {
			t.Fatalf("%s: guard band overwritten", name)
		}
	}
}

func near(a, b float32) bool {
	return math.Abs(float64(a-b)) <= 1e-5*(1+math.Abs(float64(b)))
}

// NormAffine and NormBackward (dispatched) against their plain-loop twins
// over odd row lengths, with and without h.
func TestNormKernels(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, rows := range []int{0, 1, 3} {
			for _, c := range []int{0, 1, 7, 8, 9, 16, 17, 33, 1024} {
				t.Run(fmt.Sprintf("rows%d/c%d", rows, c), func(t *testing.T) {
					n := rows * c
					x, _ := guarded(r, n)
					cols := make([][]float32, 4)
					for i := range cols {
						cols[i], _ = guarded(r, c)
					}
					for _, withH := range []bool{true, false} {
						h, hFull := guarded(r, n)
						y, yFull := guarded(r, n)
						hw, yw := make([]float32, n), make([]float32, n)
						hArg, hwArg := h, hw
						if !withH {
							hArg, hwArg = nil, nil
						}
						NormAffine(rows, c, hArg, y, x, cols[0], cols[1], cols[2], cols[3])
						normAffineGeneric(rows, c, hwArg, yw, x, cols[0], cols[1], cols[2], cols[3])
						for i := range n {
							if withH && !near(h[i], hw[i]) {
								t.Fatalf("h[%d] = %v, want %v", i, h[i], hw[i])
							}
							if !near(y[i], yw[i]) {
								t.Fatalf("y[%d] = %v, want %v (h %v)", i, y[i], yw[i], withH)
							}
						}
						checkBands(t, "NormAffine h", hFull)
						checkBands(t, "NormAffine y", yFull)
					}
					dy, _ := guarded(r, n)
					h, _ := guarded(r, n)
					dx, dxFull := guarded(r, n)
					want := make([]float32, n)
					NormBackward(rows, c, dx, dy, h, cols[0], cols[1], cols[2])
					normBackwardGeneric(rows, c, want, dy, h, cols[0], cols[1], cols[2])
					for i := range n {
						if !near(dx[i], want[i]) {
							t.Fatalf("dx[%d] = %v, want %v", i, dx[i], want[i])
						}
					}
					checkBands(t, "NormBackward", dxFull)
				})
			}
		}
	})
}

// ReLU and ReLUBackward (dispatched) match their twins bit for bit,
// including ±0, NaNs of either sign and infinities, at every length from 0
// to 70 (the assembly's 32-, 8- and 1-wide paths).
func TestReLUKernels(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()),
			math.Float32frombits(0xffc00000), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45}
		for n := range 71 {
			x, _ := guarded(r, n)
			for i := range x {
				if r.IntN(3) == 0 {
					x[i] = special[r.IntN(len(special))]
				}
			}
			y, yFull := guarded(r, n)
			want, wantB := make([]float32, n), make([]float32, n)
			ReLU(y, x)
			reluGeneric(want, x)
			for i := range n {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n %d: ReLU(%v) = %v, want %v", n, x[i], y[i], want[i])
				}
			}
			checkBands(t, "ReLU", yFull)
			dy, _ := guarded(r, n)
			dx, dxFull := guarded(r, n)
			ReLUBackward(dx, dy, x) // x holds every kind of value a y could
			reluBackwardGeneric(wantB, dy, x)
			for i := range n {
				if math.Float32bits(dx[i]) != math.Float32bits(wantB[i]) {
					t.Fatalf("n %d: ReLUBackward(dy %v, y %v) = %v, want %v", n, dy[i], x[i], dx[i], wantB[i])
				}
				w := float32(0)
				if int32(math.Float32bits(x[i])) > 0 {
					w = dy[i]
				}
				if math.Float32bits(wantB[i]) != math.Float32bits(w) {
					t.Fatalf("twin: ReLUBackward(dy %v, y %v) = %v, want %v", dy[i], x[i], wantB[i], w)
				}
			}
			checkBands(t, "ReLUBackward", dxFull)
			for i, v := range x {
				w := float32(0)
				if v > 0 || v != v {
					w = v
				}
				if math.Float32bits(want[i]) != math.Float32bits(w) {
					t.Fatalf("twin: ReLU(%v) = %v, want %v", v, want[i], w)
				}
			}
		}
	})
}

// ColSumsShifted and ColSumsDot (dispatched) against their twins over odd
// row lengths (every strip width and tail of the kernels) and enough rows
// for several row blocks; they add to what s1 and s2 hold.
func TestColSums(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, rows := range []int{0, 1, 5, 300} {
			for _, c := range []int{0, 1, 3, 4, 5, 8, 13, 16, 17, 24, 31, 32, 33, 47, 61, 64, 1024} {
				for _, prod := range []bool{false, true} {
					x, _ := guarded(r, rows*c)
					var y, shift []float32
					if prod {
						y, _ = guarded(r, rows*c)
					} else {
						shift, _ = guarded(r, c)
					}
					s1, s2 := make([]float64, c+1), make([]float64, c+1)
					w1, w2 := make([]float64, c+1), make([]float64, c+1)
					for j := range s1 {
						s1[j], s2[j] = float64(j), -float64(j)
						w1[j], w2[j] = s1[j], s2[j]
					}
					if prod {
						ColSumsDot(rows, c, s1, s2, x, y)
						colSumsDotGeneric(rows, c, w1, w2, x, y)
					} else {
						ColSumsShifted(rows, c, s1, s2, x, shift)
						colSumsShiftedGeneric(rows, c, w1, w2, x, shift)
					}
					for j := range s1 {
						if math.Abs(s1[j]-w1[j]) > 1e-9*(1+math.Abs(w1[j])) || math.Abs(s2[j]-w2[j]) > 1e-9*(1+math.Abs(w2[j])) {
							t.Fatalf("rows %d c %d prod %v col %d: (%v, %v), want (%v, %v)", rows, c, prod, j, s1[j], s2[j], w1[j], w2[j])
						}
					}
				}
			}
		}
	})
}

func TestSGDMomentum(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000} {
			wFull, w := withGuard(r, n)
			gFull, g := withGuard(r, n)
			vFull, v := withGuard(r, n)
			wantW, wantV := append([]float32(nil), w...), append([]float32(nil), v...)
			const eta, mu, wd = 0.05, 0.9, 5e-4
			for i := range wantW {
				gi := float64(g[i]) + wd*float64(wantW[i])
				vi := mu*float64(wantV[i]) + gi
				wantV[i] = float32(vi)
				wantW[i] = float32(float64(wantW[i]) - eta*vi)
			}
			SGDMomentum(w, g, v, eta, mu, wd)
			checkGuard(t, wFull, "SGDMomentum w")
			checkGuard(t, gFull, "SGDMomentum g")
			checkGuard(t, vFull, "SGDMomentum v")
			for i := range w {
				if !closeTo(w[i], float64(wantW[i]), 4) || !closeTo(v[i], float64(wantV[i]), 4) {
					t.Fatalf("n=%d i=%d: w, v = %v, %v; want %v, %v", n, i, w[i], v[i], wantW[i], wantV[i])
				}
			}
		}
	})
}

// The fused batch-norm-then-ReLU kernels (NormAffineReLU, ColSumsDotReLU,
// NormBackwardReLU) match their twins, and at every level they give the
// same bits as the unfused chain they replace: NormAffine then ReLU
// forward; ReLUBackward, ColSumsDot and NormBackward backward.
func TestNormReLUKernels(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, rows := range []int{0, 1, 3, 70} {
			for _, c := range []int{0, 1, 7, 8, 9, 16, 17, 33, 47, 64, 1024} {
				t.Run(fmt.Sprintf("rows%d/c%d", rows, c), func(t *testing.T) {
					n := rows * c
					x, _ := guarded(r, n)
					cols := make([][]float32, 7) // mean, inv, gamma, beta, k, m1, m2
					for i := range cols {
						cols[i], _ = guarded(r, c)
					}
					mean, inv, gamma, beta, k, m1, m2 := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]

					// Forward: fused vs twin vs NormAffine+ReLU.
					h, hFull := guarded(r, n)
					y, yFull := guarded(r, n)
					NormAffineReLU(rows, c, h, y, x, mean, inv, gamma, beta)
					checkBands(t, "NormAffineReLU h", hFull)
					checkBands(t, "NormAffineReLU y", yFull)
					hw, yw := make([]float32, n), make([]float32, n)
					normAffineReLUGeneric(rows, c, hw, yw, x, mean, inv, gamma, beta)
					hu, yu := make([]float32, n), make([]float32, n)
					NormAffine(rows, c, hu, yu, x, mean, inv, gamma, beta)
					ReLU(yu, yu)
					for i := range n {
						if !near(h[i], hw[i]) || !near(y[i], yw[i]) {
							t.Fatalf("NormAffineReLU [%d] = (%v, %v), twin (%v, %v)", i, h[i], y[i], hw[i], yw[i])
						}
						if math.Float32bits(h[i]) != math.Float32bits(hu[i]) || math.Float32bits(y[i]) != math.Float32bits(yu[i]) {
							t.Fatalf("NormAffineReLU [%d] = (%v, %v), unfused (%v, %v)", i, h[i], y[i], hu[i], yu[i])
						}
					}
					yOnly, _ := guarded(r, n)
					NormAffineReLU(rows, c, nil, yOnly, x, mean, inv, gamma, beta)
					for i := range n {
						if math.Float32bits(yOnly[i]) != math.Float32bits(y[i]) {
							t.Fatalf("NormAffineReLU without h: y[%d] = %v, want %v", i, yOnly[i], y[i])
						}
					}

					// Backward sums: fused vs twin vs ReLUBackward+ColSumsDot.
					dy, _ := guarded(r, n)
					s1, s2 := make([]float64, c+1), make([]float64, c+1)
					w1, w2 := make([]float64, c+1), make([]float64, c+1)
					u1, u2 := make([]float64, c+1), make([]float64, c+1)
					for j := range s1 {
						s1[j], s2[j] = float64(j), -float64(j)
						w1[j], w2[j], u1[j], u2[j] = s1[j], s2[j], s1[j], s2[j]
					}
					ColSumsDotReLU(rows, c, s1, s2, dy, h, gamma, beta)
					colSumsDotReLUGeneric(rows, c, w1, w2, dy, h, gamma, beta)
					g := make([]float32, n)
					ReLUBackward(g, dy, y)
					ColSumsDot(rows, c, u1, u2, g, h)
					for j := range s1 {
						if math.Abs(s1[j]-w1[j]) > 1e-9*(1+math.Abs(w1[j])) || math.Abs(s2[j]-w2[j]) > 1e-9*(1+math.Abs(w2[j])) {
							t.Fatalf("ColSumsDotReLU col %d: (%v, %v), twin (%v, %v)", j, s1[j], s2[j], w1[j], w2[j])
						}
						if s1[j] != u1[j] || s2[j] != u2[j] {
							t.Fatalf("ColSumsDotReLU col %d: (%v, %v), unfused (%v, %v)", j, s1[j], s2[j], u1[j], u2[j])
						}
					}

					// Backward input gradient: fused vs twin vs NormBackward
					// of the masked gradient.
					dx, dxFull := guarded(r, n)
					NormBackwardReLU(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
					checkBands(t, "NormBackwardReLU", dxFull)
					want := make([]float32, n)
					normBackwardReLUGeneric(rows, c, want, dy, h, gamma, beta, k, m1, m2)
					unfused := make([]float32, n)
					NormBackward(rows, c, unfused, g, h, k, m1, m2)
					for i := range n {
						if !near(dx[i], want[i]) {
							t.Fatalf("NormBackwardReLU dx[%d] = %v, twin %v", i, dx[i], want[i])
						}
						if math.Float32bits(dx[i]) != math.Float32bits(unfused[i]) {
							t.Fatalf("NormBackwardReLU dx[%d] = %v, unfused %v", i, dx[i], unfused[i])
						}
					}
				})
			}
		}
	})
}

// Add and AddReLU (dispatched) match their twins bit for bit at every
// length from 0 to 70, with special values, and AddReLU is Add then ReLU.
func TestAddKernels(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45}
		for n := range 71 {
			x, _ := guarded(r, n)
			y, _ := guarded(r, n)
			for i := range x {
				if r.IntN(4) == 0 {
					x[i] = special[r.IntN(len(special))]
				}
				if r.IntN(4) == 0 {
					y[i] = special[r.IntN(len(special))]
				}
			}
			for _, relu := range []bool{false, true} {
				got, full := guarded(r, n)
				want, chain := make([]float32, n), make([]float32, n)
				if relu {
					AddReLU(got, x, y)
					addReLUGeneric(want, x, y)
					addGeneric(chain, x, y)
					reluGeneric(chain, chain)
				} else {
					Add(got, x, y)
					addGeneric(want, x, y)
					for i := range chain {
						chain[i] = x[i] + y[i]
					}
				}
				checkBands(t, "Add", full)
				for i := range n {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(want[i]) != math.Float32bits(chain[i]) {
						t.Fatalf("n %d relu %v: %v+%v = %v, twin %v, chain %v", n, relu, x[i], y[i], got[i], want[i], chain[i])
					}
				}
			}
		}
	})
}

// The pooled variants (NormAffineReLUSum, ColSumsDotReLURow,
// NormBackwardReLURow) match their twins and give the same bits as the
// matrix kernels on the stored output, respectively on the row repeated.
func TestNormReLURowKernels(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, rows := range []int{0, 1, 3, 49} {
			for _, c := range []int{0, 1, 7, 8, 9, 16, 17, 33, 64, 513} {
				n := rows * c
				x, _ := guarded(r, n)
				cols := make([][]float32, 8) // mean, inv, gamma, beta, k, m1, m2, dy row
				for i := range cols {
					cols[i], _ = guarded(r, c)
				}
				mean, inv, gamma, beta, k, m1, m2, g := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]
				name := fmt.Sprintf("rows %d c %d", rows, c)

				h, hFull := guarded(r, n)
				acc, accFull := guarded(r, c)
				want := append([]float32(nil), acc...)
				twin := append([]float32(nil), acc...)
				NormAffineReLUSum(rows, c, h, acc, x, mean, inv, gamma, beta)
				checkBands(t, name+" h", hFull)
				checkBands(t, name+" acc", accFull)
				normAffineReLUSumGeneric(rows, c, nil, twin, x, mean, inv, gamma, beta)
				y, hy := make([]float32, n), make([]float32, n)
				NormAffineReLU(rows, c, hy, y, x, mean, inv, gamma, beta)
				for i := range rows {
					for j := range c {
						want[j] += y[i*c+j]
					}
				}
				sameBitsK(t, name+": NormAffineReLUSum h", h, hy)
				sameBitsK(t, name+": NormAffineReLUSum acc", acc, want)
				for j := range acc {
					if !near(acc[j], twin[j]) {
						t.Fatalf("%s: acc[%d] = %v, twin %v", name, j, acc[j], twin[j])
					}
				}

				dy := make([]float32, n) // g on every row
				for i := range rows {
					copy(dy[i*c:], g)
				}
				s1, s2 := make([]float64, c), make([]float64, c)
				w1, w2 := make([]float64, c), make([]float64, c)
				u1, u2 := make([]float64, c), make([]float64, c)
				ColSumsDotReLURow(rows, c, s1, s2, g, h, gamma, beta)
				colSumsDotReLURowGeneric(rows, c, w1, w2, g, h, gamma, beta)
				ColSumsDotReLU(rows, c, u1, u2, dy, h, gamma, beta)
				for j := range s1 {
					if s1[j] != u1[j] || s2[j] != u2[j] {
						t.Fatalf("%s: ColSumsDotReLURow col %d = (%v, %v), matrix (%v, %v)", name, j, s1[j], s2[j], u1[j], u2[j])
					}
					if math.Abs(s1[j]-w1[j]) > 1e-9*(1+math.Abs(w1[j])) || math.Abs(s2[j]-w2[j]) > 1e-9*(1+math.Abs(w2[j])) {
						t.Fatalf("%s: ColSumsDotReLURow col %d = (%v, %v), twin (%v, %v)", name, j, s1[j], s2[j], w1[j], w2[j])
					}
				}

				dx, dxFull := guarded(r, n)
				NormBackwardReLURow(rows, c, dx, g, h, gamma, beta, k, m1, m2)
				checkBands(t, name+" dx", dxFull)
				mat, tw := make([]float32, n), make([]float32, n)
				NormBackwardReLU(rows, c, mat, dy, h, gamma, beta, k, m1, m2)
				normBackwardReLURowGeneric(rows, c, tw, g, h, gamma, beta, k, m1, m2)
				sameBitsK(t, name+": NormBackwardReLURow", dx, mat)
				for i := range dx {
					if !near(dx[i], tw[i]) {
						t.Fatalf("%s: dx[%d] = %v, twin %v", name, i, dx[i], tw[i])
					}
				}
			}
		}
	})
}

func sameBitsK(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
