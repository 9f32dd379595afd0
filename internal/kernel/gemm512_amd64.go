//go:build amd64 && !noasm

package kernel

// The AVX-512 kernels of gemm512_amd64.s; callers check useAVX512 first.

// sgemmKernel12x32 computes the 12×32 tile made of two 6-row panels of A
// (a, a2) and two 16-wide panels of B (b, b2):
//
//	A(i, p) = a[i*rsA+p*csA] for i < 6, a2[(i-6)*rsA+p*csA] for i >= 6
//	B(p, j) = b[p*rsB+j] for j < 16, b2[p*rsB+j-16] for j >= 16
//	for i := 0; i < 12; i++ {
//		for j := 0; j < 32; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += A(i, p) * B(p, j)
//			}
//			c[i*ldc+j] = alpha*s + c[i*ldc+j] // load != 0
//			c[i*ldc+j] = alpha * s            // load == 0: C is not read
//		}
//	}
//
// The pointers point into slices long enough for every index above.
//
//go:noescape
func sgemmKernel12x32(k int, a, a2 *float32, rsA, csA int, b, b2 *float32, rsB int, c *float32, ldc int, alpha float32, load int)

// sgemmKernel6x32 is sgemmKernel12x32 for one 6-row panel of A: the 6×32
// tile of a (i < 6) by b (j < 16) and b2 (j >= 16), for the rows left
// after a product's 12-row tiles.
//
//go:noescape
func sgemmKernel6x32(k int, a *float32, rsA, csA int, b, b2 *float32, rsB int, c *float32, ldc int, alpha float32, load int)

// sgemmKernel12x16 is sgemmKernel12x32 for one 16-wide panel of B: the
// 12×16 tile of a, a2 (two 6-row panels) by b (j < 16).
//
//go:noescape
func sgemmKernel12x16(k int, a, a2 *float32, rsA, csA int, b *float32, rsB int, c *float32, ldc int, alpha float32, load int)

// fmaPeak512 runs n iterations of 12 independent 16-wide FMA chains, 384
// flops per iteration, to measure the core's peak 512-bit FMA throughput.
func fmaPeak512(n int)
