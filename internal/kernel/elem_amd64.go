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
	normAffineAVX2(rows, c, hp, &y[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
}

func normBackward(rows, c int, dx, dy, h, k, m1, m2 []float32) {
	if !useAVX2 {
		normBackwardGeneric(rows, c, dx, dy, h, k, m1, m2)
		return
	}
	normBackwardAVX2(rows, c, &dx[0], &dy[0], &h[0], &k[0], &m1[0], &m2[0])
}

func relu(dst, x []float32) {
	if !useAVX2 {
		reluGeneric(dst, x)
		return
	}
	reluAVX2(len(x), &dst[0], &x[0])
}

func reluBackward(dx, dy, y []float32) {
	if !useAVX2 {
		reluBackwardGeneric(dx, dy, y)
		return
	}
	reluBackwardAVX2(len(y), &dx[0], &dy[0], &y[0])
}

// normAffineAVX2 is normAffineGeneric (rows, c > 0; h nil: not written)
// on pointers to the first elements.
//
//go:noescape
func normAffineAVX2(rows, c int, h, y, x, mean, inv, gamma, beta *float32)

// normBackwardAVX2 is normBackwardGeneric (rows, c > 0) on pointers to the
// first elements.
//
//go:noescape
func normBackwardAVX2(rows, c int, dx, dy, h, k, m1, m2 *float32)

// reluAVX2 is reluGeneric over n > 0 elements.
//
//go:noescape
func reluAVX2(n int, dst, x *float32)

// reluBackwardAVX2 is reluBackwardGeneric over n > 0 elements.
//
//go:noescape
func reluBackwardAVX2(n int, dx, dy, y *float32)

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
