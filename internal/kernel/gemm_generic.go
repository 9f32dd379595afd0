package kernel

// gemm accumulates C += alpha*op(A)*op(B) on at most t goroutines;
// arguments are already checked and m, n, k > 0. This is the portable implementation: op(B) is packed into a
// contiguous k×n panel when needed, then rows of C are computed as sums of
// scaled rows of B, split across goroutines by rows of C.
func gemmGeneric(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if transB {
		if !transA {
			// C[i,j] += alpha * dot(A[i,:], B[j,:]): both contiguous.
			parallelForT(t, m, max(1, 4096/(n*k+1)), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					ar := a[i*lda : i*lda+k]
					cr := c[i*ldc : i*ldc+n]
					for j := range cr {
						cr[j] += alpha * dotGeneric(ar, b[j*ldb:j*ldb+k])
					}
				}
			})
			return
		}
		// Pack B^T into a k×n panel.
		bp := make([]float32, k*n)
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				bp[p*n+j] = b[j*ldb+p]
			}
		}
		b, ldb = bp, n
	}
	const kc = 256 // rows of B kept hot per pass
	parallelForT(t, m, max(1, 4096/(n*k+1)), func(lo, hi int) {
		for p0 := 0; p0 < k; p0 += kc {
			p1 := min(p0+kc, k)
			for i := lo; i < hi; i++ {
				cr := c[i*ldc : i*ldc+n]
				for p := p0; p < p1; p++ {
					var av float32
					if transA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					if av == 0 {
						continue
					}
					axpyGeneric(alpha*av, b[p*ldb:p*ldb+n], cr)
				}
			}
		}
	})
}
