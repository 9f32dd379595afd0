package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// int8Ref is the reference loop of DotInt8Rows.
func int8Ref(n int, a []int8, lda int, x []int8) []int32 {
	dst := make([]int32, n)
	for i := range dst {
		var s int32
		for j := range x {
			s += int32(a[i*lda+j]) * int32(x[j])
		}
		dst[i] = s
	}
	return dst
}

// randInt8 returns n int8 drawn over the whole range, with -128 and 127
// (the largest products) at the ends when n >= 2.
func randInt8(r *rand.Rand, n int) []int8 {
	x := make([]int8, n)
	for i := range x {
		x[i] = int8(r.IntN(256) - 128)
	}
	if n >= 2 {
		x[0], x[n-1] = -128, 127
	}
	return x
}

func TestDotInt8(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 9))
		for _, n := range []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 255, 1023} {
			for _, rows := range []int{0, 1, 2, 5} {
				lda := n + 3 // rows not aligned to 16 or 32 bytes
				x := randInt8(r, n)
				a := randInt8(r, max(0, (rows-1)*lda+n))
				want := int8Ref(rows, a, lda, x)
				full := make([]int32, rows+2*guard)
				for i := range full {
					full[i] = -777
				}
				dst := full[guard : guard+rows]
				DotInt8Rows(dst, a, lda, x)
				for i := range guard {
					if full[i] != -777 || full[len(full)-1-i] != -777 {
						t.Fatalf("DotInt8Rows(rows=%d, n=%d): guard band overwritten", rows, n)
					}
				}
				for i := range dst {
					if dst[i] != want[i] {
						t.Errorf("DotInt8Rows(rows=%d, n=%d)[%d] = %d, want %d", rows, n, i, dst[i], want[i])
					}
				}
				if rows > 0 {
					if got := DotInt8(a[:n], x); got != want[0] {
						t.Errorf("DotInt8(n=%d) = %d, want %d", n, got, want[0])
					}
				}
			}
		}
	})
}

// TestDotInt8Extremes checks the largest products, all of one sign, over
// a length whose sum still fits int32.
func TestDotInt8Extremes(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		for _, c := range []struct{ a, x int8 }{{-128, -128}, {127, 127}, {-128, 127}} {
			const n = 4099
			a, x := make([]int8, n), make([]int8, n)
			for i := range a {
				a[i], x[i] = c.a, c.x
			}
			want := int32(n) * int32(c.a) * int32(c.x)
			if got := DotInt8(a, x); got != want {
				t.Errorf("DotInt8(%d×%d, n=%d) = %d, want %d", c.a, c.x, n, got, want)
			}
		}
	})
}

func TestDotInt8Panics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"short y", func() { DotInt8(make([]int8, 3), make([]int8, 2)) }},
		{"short a", func() { DotInt8Rows(make([]int32, 2), make([]int8, 5), 3, make([]int8, 3)) }},
		{"stride", func() { DotInt8Rows(make([]int32, 2), make([]int8, 8), 2, make([]int8, 3)) }},
	} {
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

func BenchmarkDotInt8Rows(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range []int{64, 256} {
		const rows = 4096
		a, x := randInt8(r, rows*d), randInt8(r, d)
		dst := make([]int32, rows)
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			b.SetBytes(int64(rows * d))
			for b.Loop() {
				DotInt8Rows(dst, a, d, x)
			}
		})
	}
}
