package kernel

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or its
// transpose, op(A) is m×k, op(B) is k×n and C is m×n, all row-major:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
//
// with opA(i,p) = a[i*lda+p] (or a[p*lda+i] when transA) and
// opB(p,j) = b[p*ldb+j] (or b[j*ldb+p] when transB). When beta is 0, C is
// not read (NaNs in C do not propagate). Large products use up to Threads()
// goroutines. The summation order may differ from the loop above.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// split their work among goroutines themselves (see nn.Conv2d). Its
// result is that of Sgemm with Threads() == 1, bit for bit.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm on at most t goroutines.
func sgemm(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernel: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat(a, ar, ac, lda, "kernel: A too short or bad lda")
	checkMat(b, br, bc, ldb, "kernel: B too short or bad ldb")
	checkMat(c, m, n, ldc, "kernel: C too short or bad ldc")
	if m == 0 || n == 0 {
		return
	}
	if beta == 0 && k > 0 && alpha != 0 && gemmOver != nil {
		gemmOver(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	if beta != 1 {
		scale := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := c[i*ldc : i*ldc+n]
				if beta == 0 {
					clear(row)
				} else {
					for j := range row {
						row[j] *= beta
					}
				}
			}
		}
		if m*n >= 1<<16 {
			parallelForT(t, m, max(1, (1<<14)/n), scale)
		} else {
			scale(0, m)
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	gemm(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}

func checkMat(x []float32, rows, cols, ld int, msg string) {
	if ld < max(cols, 1) {
		panic(msg)
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(msg)
	}
}

// SgemmRef is the plain triple loop of Sgemm's definition, kept as the
// reference for tests and benchmarks. It is slow.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
