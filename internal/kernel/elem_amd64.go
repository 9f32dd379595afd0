//go:build amd64 && !noasm

package kernel

func normAffine(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	if !useAVX2 {
		normAffineGeneric(rows, c, h, y, x, mean, inv, gamma, beta)
		return
	}
	var hp *float32
	if h != nil {
		hp = &h[0]
	}
	if useAVX512 {
		normAffineAVX512(rows, c, hp, &y[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
		return
	}
	normAffineAVX2(rows, c, hp, &y[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
}

func normBackward(rows, c int, dx, dy, h, k, m1, m2 []float32) {
	if !useAVX2 {
		normBackwardGeneric(rows, c, dx, dy, h, k, m1, m2)
		return
	}
	if useAVX512 {
		normBackwardAVX512(rows, c, &dx[0], &dy[0], &h[0], &k[0], &m1[0], &m2[0])
		return
	}
	normBackwardAVX2(rows, c, &dx[0], &dy[0], &h[0], &k[0], &m1[0], &m2[0])
}

func relu(dst, x []float32) {
	if !useAVX2 {
		reluGeneric(dst, x)
		return
	}
	if useAVX512 {
		reluAVX512(len(x), &dst[0], &x[0])
		return
	}
	reluAVX2(len(x), &dst[0], &x[0])
}

func reluBackward(dx, dy, y []float32) {
	if !useAVX2 {
		reluBackwardGeneric(dx, dy, y)
		return
	}
	if useAVX512 {
		reluBackwardAVX512(len(y), &dx[0], &dy[0], &y[0])
		return
	}
	reluBackwardAVX2(len(y), &dx[0], &dy[0], &y[0])
}

func sgdMomentum(w, g, v []float32, eta, mu, wd float32) {
	switch {
	case useAVX512:
		sgdMomentumAVX512(len(w), &w[0], &g[0], &v[0], eta, mu, wd)
	case useAVX2:
		sgdMomentumAVX2(len(w), &w[0], &g[0], &v[0], eta, mu, wd)
	default:
		sgdMomentumGeneric(w, g, v, eta, mu, wd)
	}
}

// The AVX2 and AVX-512 versions of normAffine, normBackward, relu,
// reluBackward and sgdMomentum, and of Dot, SqL2 and Axpy, are generated
// (vec_gen_amd64.s, from internal/kernel/asm). The column sums below keep
// their hand-written AVX2 kernels at every level.

func colSumsShifted(rows, c int, s1, s2 []float64, x, shift []float32) {
	if !useAVX2 {
		colSumsShiftedGeneric(rows, c, s1, s2, x, shift)
		return
	}
	colSumsShiftAVX2(rows, c, &s1[0], &s2[0], &x[0], &shift[0])
}

func colSumsDot(rows, c int, s1, s2 []float64, x, y []float32) {
	if !useAVX2 {
		colSumsDotGeneric(rows, c, s1, s2, x, y)
		return
	}
	colSumsProdAVX2(rows, c, &s1[0], &s2[0], &x[0], &y[0])
}

// colSumsShiftAVX2 is colSumsShiftedGeneric (rows, c > 0).
//
//go:noescape
func colSumsShiftAVX2(rows, c int, s1, s2 *float64, x, shift *float32)

// colSumsProdAVX2 is colSumsDotGeneric (rows, c > 0).
//
//go:noescape
func colSumsProdAVX2(rows, c int, s1, s2 *float64, x, y *float32)
