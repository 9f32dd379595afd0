package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// closeTo reports whether got is within a relative-and-absolute tolerance
// of the float64 reference.
func closeTo(got float32, want float64, scale float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*scale+1e-6
}

func TestDotRows(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, m := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 255, 1023} {
			for _, pad := range []int{0, 1, 5, 64} {
				for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33} {
					t.Run(fmt.Sprintf("m%d/pad%d/n%d", m, pad, n), func(t *testing.T) {
						ldx := m + pad
						q := randSlice(r, m)
						// x holds exactly the bytes the rows may read: the
						// last row ends at its prefix.
						x := randSlice(r, (n-1)*ldx+m)
						full, dst := withGuard(r, n)
						best := DotRows(dst, q, x, ldx)
						checkGuard(t, full, "DotRows")
						wantBest := math.Inf(-1)
						for i := 0; i < n; i++ {
							var s, a float64
							for j := 0; j < m; j++ {
								s += float64(q[j]) * float64(x[i*ldx+j])
								a += math.Abs(float64(q[j]) * float64(x[i*ldx+j]))
							}
							if !closeTo(dst[i], s, a) {
								t.Fatalf("row %d = %v, want %v", i, dst[i], s)
							}
							wantBest = math.Max(wantBest, float64(dst[i]))
						}
						if float64(best) != wantBest {
							t.Fatalf("max = %v, want %v", best, wantBest)
						}
					})
				}
			}
		}
	})
}

// DotRows's largest score is found as dotRowsGeneric finds it at every
// level: a NaN row never wins, and of two zeros the first stays.
func TestDotRowsBest(t *testing.T) {
	nan, negZero := float32(math.NaN()), float32(math.Copysign(0, -1))
	for _, tc := range []struct {
		name string
		x    []float32 // one-float rows; q = [1]
	}{
		{"nan first", []float32{nan, -3, -2}},
		{"nan last", []float32{-3, -2, nan}},
		{"all nan", []float32{nan, nan}},
		{"-0 then +0", []float32{-1, negZero, 0}},
		{"+0 then -0", []float32{0, negZero}},
		{"-inf", []float32{float32(math.Inf(-1))}},
	} {
		for _, n := range []int{0, 20} { // and after 20 rows of -5 (one assembly call)
			x := make([]float32, 0, n+len(tc.x))
			for range n {
				x = append(x, -5)
			}
			x = append(x, tc.x...)
			want := dotRowsGeneric(make([]float32, len(x)), []float32{1}, x, 1, nil)
			forLevels(t, func(t *testing.T) {
				got := DotRows(make([]float32, len(x)), []float32{1}, x, 1)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s after %d rows: DotRows best = %v (%#x), want %v (%#x)", tc.name, n, got, math.Float32bits(got), want, math.Float32bits(want))
				}
			})
		}
	}
}

// DotRowsScaled stores DotRows's sums times the scales, bit for bit (the
// same sums, one rounding), at every level, odd sizes and strides, and
// returns the largest as DotRows would (NaN scales never win).
func TestDotRowsScaled(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, m := range []int{0, 1, 7, 16, 17, 64, 129, 255} {
			for _, pad := range []int{0, 3} {
				for _, n := range []int{1, 2, 5, 33} {
					ldx := m + pad
					q := randSlice(r, m)
					x := randSlice(r, (n-1)*ldx+m)
					scale := randSlice(r, n+1) // longer than dst is fine
					if n > 2 {
						scale[1] = float32(math.NaN())
					}
					plain := make([]float32, n)
					DotRows(plain, q, x, ldx)
					full, dst := withGuard(r, n)
					best := DotRowsScaled(dst, q, x, ldx, scale)
					checkGuard(t, full, "DotRowsScaled")
					want := float32(math.Inf(-1))
					for i := range n {
						w := plain[i] * scale[i]
						if math.Float32bits(dst[i]) != math.Float32bits(w) {
							t.Fatalf("m%d pad%d n%d: row %d = %v, want DotRows's %v × %v = %v", m, pad, n, i, dst[i], plain[i], scale[i], w)
						}
						if w > want {
							want = w
						}
					}
					if math.Float32bits(best) != math.Float32bits(want) {
						t.Fatalf("m%d pad%d n%d: best = %v, want %v", m, pad, n, best, want)
					}
				}
			}
		}
		if got := DotRowsScaled(nil, []float32{1}, nil, 1, nil); !math.IsInf(float64(got), -1) {
			t.Fatalf("DotRowsScaled(empty) = %v, want -Inf", got)
		}
		defer func() {
			if recover() == nil {
				t.Fatal("DotRowsScaled with a short scale did not panic")
			}
		}()
		DotRowsScaled(make([]float32, 3), []float32{1}, []float32{1, 2, 3}, 1, []float32{1, 2})
	})
}

func TestDotRowsEmpty(t *testing.T) {
	if got := DotRows(nil, []float32{1}, nil, 1); !math.IsInf(float64(got), -1) {
		t.Fatalf("DotRows(empty) = %v, want -Inf", got)
	}
}

func TestDotBlocks16(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, m := range []int{0, 1, 2, 3, 8, 15, 16, 17, 64, 65, 257} {
			for _, n := range []int{1, 15, 16, 17, 48, 100} {
				t.Run(fmt.Sprintf("m%d/n%d", m, n), func(t *testing.T) {
					ld := m + 3
					x := randSlice(r, n*ld)
					nb := (n + BlockRows - 1) / BlockRows
					blk := make([]float32, nb*BlockRows*m)
					for i := 0; i < n; i++ {
						for j := 0; j < m; j++ {
							blk[((i/BlockRows)*m+j)*BlockRows+i%BlockRows] = x[i*ld+j]
						}
					}
					q := randSlice(r, m)
					for _, bar := range []float32{float32(math.Inf(-1)), 0, 0.5, float32(math.Inf(1))} {
						full, dst := withGuard(r, nb*BlockRows)
						masks := make([]uint16, nb+2)
						masks[0], masks[nb+1] = 0xdead, 0xbeef
						marked := DotBlocks16(dst, q, blk, bar, masks[1:nb+1])
						checkGuard(t, full, "DotBlocks16")
						if masks[0] != 0xdead || masks[nb+1] != 0xbeef {
							t.Fatalf("DotBlocks16 wrote outside masks")
						}
						wantMarked := 0
						for b := 0; b < nb; b++ {
							var want uint16
							for l := 0; l < BlockRows; l++ {
								if dst[b*BlockRows+l] > bar {
									want |= 1 << l
								}
							}
							if masks[1+b] != want {
								t.Fatalf("bar %v: masks[%d] = %016b, want %016b", bar, b, masks[1+b], want)
							}
							if want != 0 {
								wantMarked++
							}
						}
						if marked != wantMarked {
							t.Fatalf("bar %v: %d blocks marked, want %d", bar, marked, wantMarked)
						}
						for i := 0; i < nb*BlockRows; i++ {
							var s, a float64
							if i < n {
								for j := 0; j < m; j++ {
									s += float64(q[j]) * float64(x[i*ld+j])
									a += math.Abs(float64(q[j]) * float64(x[i*ld+j]))
								}
							}
							if !closeTo(dst[i], s, a) {
								t.Fatalf("row %d = %v, want %v", i, dst[i], s)
							}
						}
					}
				})
			}
		}
	})
}

func TestScanPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"DotRows ldx < len(q)", func() { DotRows(make([]float32, 2), make([]float32, 4), make([]float32, 8), 3) }},
		{"DotRows short x", func() { DotRows(make([]float32, 3), make([]float32, 4), make([]float32, 11), 4) }},
		{"DotBlocks16 partial block", func() {
			DotBlocks16(make([]float32, 15), make([]float32, 2), make([]float32, 64), 0, make([]uint16, 1))
		}},
		{"DotBlocks16 short masks", func() {
			DotBlocks16(make([]float32, 32), make([]float32, 2), make([]float32, 64), 0, make([]uint16, 1))
		}},
		{"ScanTile6x16 short a", func() {
			ScanTile6x16(4, make([]float32, 23), 4, make([]float32, 64), make([]float32, 12), make([]float32, 16), make([]float32, 96))
		}},
		{"ScanTile6x16 lda < k", func() {
			ScanTile6x16(4, make([]float32, 99), 3, make([]float32, 64), make([]float32, 12), make([]float32, 16), make([]float32, 96))
		}},
		{"DotBlocks16 short blk", func() {
			DotBlocks16(make([]float32, 16), make([]float32, 2), make([]float32, 31), 0, make([]uint16, 1))
		}},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

func BenchmarkDotRows(b *testing.B) {
	for _, m := range []int{16, 64, 256} {
		b.Run(fmt.Sprint(m), func(b *testing.B) {
			n := 4096
			r := rand.New(rand.NewPCG(1, 1))
			x := randSlice(r, n*m)
			q := randSlice(r, m)
			dst := make([]float32, n)
			b.SetBytes(int64(n * m * 4))
			for b.Loop() {
				DotRows(dst, q, x, m)
			}
		})
	}
}

func BenchmarkDotBlocks16(b *testing.B) {
	for _, m := range []int{16, 64, 256} {
		b.Run(fmt.Sprint(m), func(b *testing.B) {
			n := 4096
			r := rand.New(rand.NewPCG(1, 1))
			blk := randSlice(r, n*m)
			q := randSlice(r, m)
			dst := make([]float32, n)
			masks := make([]uint16, n/BlockRows)
			b.SetBytes(int64(n * m * 4))
			for b.Loop() {
				DotBlocks16(dst, q, blk, 0, masks)
			}
		})
	}
}

func TestScanTile6x16(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 64, 255} {
			for _, pad := range []int{0, 3} {
				t.Run(fmt.Sprintf("k%d/pad%d", k, pad), func(t *testing.T) {
					lda := k + pad
					a := randSlice(r, 5*lda+k)
					b := randSlice(r, 16*k)
					so := randSlice(r, 12)
					thr := randSlice(r, 16)
					for j := range thr {
						thr[j] *= float32(k) / 4 // some above, some below
					}
					thr[3] = float32(math.Inf(-1))
					thr[9] = float32(math.Inf(1))
					full, c := withGuard(r, 96)
					mask := ScanTile6x16(k, a, lda, b, so, thr, c)
					checkGuard(t, full, "ScanTile6x16")
					var want uint32
					for i := 0; i < 6; i++ {
						for j := 0; j < 16; j++ {
							var s, abs float64
							for p := 0; p < k; p++ {
								s += float64(a[i*lda+p]) * float64(b[p*16+j])
								abs += math.Abs(float64(a[i*lda+p]) * float64(b[p*16+j]))
							}
							ref := float64(so[i])*s + float64(so[6+i])
							scale := math.Abs(float64(so[i]))*abs + math.Abs(float64(so[6+i]))
							if !closeTo(c[i*16+j], ref, scale) {
								t.Fatalf("c[%d,%d] = %v, want %v", i, j, c[i*16+j], ref)
							}
							if c[i*16+j] > thr[j] {
								want |= 1 << j
							}
						}
					}
					if mask != want {
						t.Fatalf("mask = %016b, want %016b", mask, want)
					}
					if mask&(1<<3) == 0 || mask&(1<<9) != 0 {
						t.Fatalf("mask = %016b: a -Inf threshold must always hit, +Inf never", mask)
					}
				})
			}
		}
	})
}

// TestDotGatherPosition checks that a row's dot is the same, bit for bit,
// wherever it comes in idx: in a group of four or alone in the tail.
func TestDotGatherPosition(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(19, 20))
		for _, m := range []int{1, 7, 8, 9, 16, 17, 64, 100, 513} {
			const rows = 12
			x := randSlice(r, rows*m)
			q := randSlice(r, m)
			all := make([]int32, rows)
			for i := range all {
				all[i] = int32(i)
			}
			want := make([]float32, rows)
			DotGather(want, q, x, m, all)
			for n := 1; n <= rows; n++ { // rows 0..n-1, then reversed: every row in every slot kind
				for _, rev := range []bool{false, true} {
					idx := slices.Clone(all[:n])
					if rev {
						slices.Reverse(idx)
					}
					got := make([]float32, n)
					DotGather(got, q, x, m, idx)
					for i, row := range idx {
						if math.Float32bits(got[i]) != math.Float32bits(want[row]) {
							t.Fatalf("m=%d: row %d at position %d of %d = %v, at position %d of %d = %v", m, row, i, n, got[i], row, rows, want[row])
						}
					}
				}
			}
		}
	})
}

func TestDotGather(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, m := range []int{0, 1, 7, 8, 9, 31, 64, 255, 513} {
			for _, n := range []int{1, 3, 4, 5, 8, 9, 13} {
				t.Run(fmt.Sprintf("m%d/n%d", m, n), func(t *testing.T) {
					rows, ldx := 40, m+3
					x := randSlice(r, (rows-1)*ldx+m)
					q := randSlice(r, m)
					idx := make([]int32, n)
					for i := range idx {
						idx[i] = int32(r.IntN(rows))
					}
					idx[0] = int32(rows - 1) // the last row ends at its prefix
					full, dst := withGuard(r, n)
					DotGather(dst, q, x, ldx, idx)
					checkGuard(t, full, "DotGather")
					for i, row := range idx {
						var s, a float64
						for j := 0; j < m; j++ {
							p := float64(q[j]) * float64(x[int(row)*ldx+j])
							s += p
							a += math.Abs(p)
						}
						if !closeTo(dst[i], s, a) {
							t.Fatalf("row %d (x row %d) = %v, want %v", i, row, dst[i], s)
						}
					}
				})
			}
		}
		for name, f := range map[string]func(){
			"len mismatch": func() { DotGather(make([]float32, 2), make([]float32, 2), make([]float32, 8), 2, []int32{0}) },
			"negative":     func() { DotGather(make([]float32, 1), make([]float32, 2), make([]float32, 8), 2, []int32{-1}) },
			"past the end": func() { DotGather(make([]float32, 1), make([]float32, 2), make([]float32, 8), 2, []int32{4}) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("DotGather %s: no panic", name)
					}
				}()
				f()
			}()
		}
	})
}

// Prefetch reads nothing and changes nothing, at any length and offset
// (including the last bytes of an allocation).
func TestPrefetch(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		x := make([]int32, 1000)
		for i := range x {
			x[i] = int32(i)
		}
		for _, tt := range []struct{ lo, hi int }{{0, 0}, {0, 1}, {3, 18}, {0, 16}, {1, 17}, {999, 1000}, {500, 1000}, {0, 1000}} {
			Prefetch(x[tt.lo:tt.hi])
		}
		Prefetch(nil)
		PrefetchFloats(nil)
		f := make([]float32, 100)
		PrefetchFloats(f[3:90])
		for i := range x {
			if x[i] != int32(i) {
				t.Fatalf("x[%d] = %d after Prefetch", i, x[i])
			}
		}
	})
}

func TestScanTile(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rows, qs := ScanTileShape()
		r := rand.New(rand.NewPCG(17, 18))
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 64, 255} {
			for _, pad := range []int{0, 3} {
				t.Run(fmt.Sprintf("%dx%d/k%d/pad%d", rows, qs, k, pad), func(t *testing.T) {
					lda := k + pad
					a := randSlice(r, (rows-1)*lda+k)
					b := randSlice(r, qs*k)
					so := randSlice(r, 2*rows)
					thr := randSlice(r, qs)
					for j := range thr {
						thr[j] *= float32(k) / 4 // some above, some below
					}
					thr[3] = float32(math.Inf(-1))
					thr[qs-2] = float32(math.Inf(1))
					full, c := withGuard(r, rows*qs)
					mask := ScanTile(k, a, lda, b, so, thr, c)
					checkGuard(t, full, "ScanTile")
					var want uint32
					for i := 0; i < rows; i++ {
						for j := 0; j < qs; j++ {
							var s, abs float64
							for p := 0; p < k; p++ {
								s += float64(a[i*lda+p]) * float64(b[p*qs+j])
								abs += math.Abs(float64(a[i*lda+p]) * float64(b[p*qs+j]))
							}
							ref := float64(so[i])*s + float64(so[rows+i])
							scale := math.Abs(float64(so[i]))*abs + math.Abs(float64(so[rows+i]))
							if !closeTo(c[i*qs+j], ref, scale) {
								t.Fatalf("c[%d,%d] = %v, want %v", i, j, c[i*qs+j], ref)
							}
							if c[i*qs+j] > thr[j] {
								want |= 1 << j
							}
						}
					}
					if mask != want {
						t.Fatalf("mask = %032b, want %032b", mask, want)
					}
				})
			}
		}
		// The wide tile's generic twin against the narrow one's, for the
		// levels whose shape is 6×16.
		if rows == 6 {
			a, b := randSlice(r, 12*40), randSlice(r, 32*40)
			so, thr := randSlice(r, 24), randSlice(r, 32)
			c := make([]float32, 12*32)
			if m := scanTile12x32(40, a, 40, b, so, thr, c); m != scanTileGeneric(12, 32, 40, a, 40, b, so, thr, make([]float32, 12*32)) {
				t.Fatalf("scanTile12x32 mask %b differs from its generic loop", m)
			}
		}
	})
}
