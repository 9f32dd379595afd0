//go:build amd64 && !noasm

package kernel

// The assembly kernels of kernel_amd64.s. They need AVX2 and FMA; callers
// check useAVX2 first. Lengths are checked by the exported wrappers.

// sgemmKernel6x16 computes the 6×16 tile
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*rsA+p*csA] * b[p*rsB+j]
//			}
//			c[i*ldc+j] = alpha*s + c[i*ldc+j] // load != 0
//			c[i*ldc+j] = alpha * s            // load == 0: C is not read
//		}
//	}
//
// a, b and c point into slices long enough for every index above.
//
//go:noescape
func sgemmKernel6x16(k int, a *float32, rsA, csA int, b *float32, rsB int, c *float32, ldc int, alpha float32, load int)

// fmaPeak runs n iterations of 10 independent 8-wide FMA chains, 160
// flops per iteration, to measure the core's peak FMA throughput.
func fmaPeak(n int)

// packBT16 packs a full 16-wide panel of a transposed B, 8 rows of the
// panel at a time:
//
//	for p := 0; p < 8*n8; p++ {
//		for j := 0; j < 16; j++ {
//			dst[p*16+j] = b[j*ldb+p]
//		}
//	}
//
//go:noescape
func packBT16(n8 int, b *float32, ldb int, dst *float32)

// packBRows16 packs np full 16-wide panels of an untransposed B, row by
// row:
//
//	for p := 0; p < kc; p++ {
//		for j := 0; j < 16*np; j++ {
//			dst[(j/16)*kc*16+p*16+j%16] = b[p*ldb+j]
//		}
//	}
//
//go:noescape
func packBRows16(kc, np int, b *float32, ldb int, dst *float32)

// packA6 packs a full 6-row panel of an untransposed A, 8 columns of the
// panel at a time:
//
//	for p := 0; p < 8*n8; p++ {
//		for i := 0; i < 6; i++ {
//			dst[p*6+i] = a[i*lda+p]
//		}
//	}
//
// and writes 2 floats of garbage at dst[48*n8], dst[48*n8+1] (n8 > 0).
//
//go:noescape
func packA6(n8 int, a *float32, lda int, dst *float32)

// packA6T packs a full 6-row panel of a transposed A, whose six values
// for each p are contiguous:
//
//	for p := 0; p < kc; p++ {
//		for i := 0; i < 6; i++ {
//			dst[p*6+i] = a[p*lda+i]
//		}
//	}
//
//go:noescape
func packA6T(kc int, a *float32, lda int, dst *float32)

// packA6T8 packs eight full 6-row panels of a transposed A side by side,
// panel g at dst[g*pstride:], reading the 48 contiguous values of each p
// in one go:
//
//	for p := 0; p < kc; p++ {
//		for g := 0; g < 8; g++ {
//			for i := 0; i < 6; i++ {
//				dst[g*pstride+p*6+i] = a[p*lda+g*6+i]
//			}
//		}
//	}
//
// One panel at a time (packA6T), a row's 64-byte line holds parts of
// three panels and is read again for each; where lda is a multiple of
// 1024 floats the rows fall in one L1 set, so the line is gone by then
// (a 1024×784×256 product with transposed A spent 6% of its time packing
// A on Zen 5). A/B in one process, 21 alternating rounds on 2026-12-02:
// that product +3% in the median with the AVX-512 kernel, +2.5% with
// AVX2; the CNN's dWᵀ products (k·k·InC × OutC over a block's pixels)
// unchanged.
//
//go:noescape
func packA6T8(kc int, a *float32, lda int, dst *float32, pstride int)
