//go:build !amd64 || noasm

package kernel

func normAffine(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	normAffineGeneric(rows, c, h, y, x, mean, inv, gamma, beta)
}

func normBackward(rows, c int, dx, dy, h, k, m1, m2 []float32) {
	normBackwardGeneric(rows, c, dx, dy, h, k, m1, m2)
}

func relu(dst, x []float32) { reluGeneric(dst, x) }

func reluBackward(dx, dy, y []float32) { reluBackwardGeneric(dx, dy, y) }

func colSumsShifted(rows, c int, s1, s2 []float64, x, shift []float32) {
	colSumsShiftedGeneric(rows, c, s1, s2, x, shift)
}

func colSumsDot(rows, c int, s1, s2 []float64, x, y []float32) {
	colSumsDotGeneric(rows, c, s1, s2, x, y)
}

func sgdMomentum(w, g, v []float32, eta, mu, wd float32) { sgdMomentumGeneric(w, g, v, eta, mu, wd) }

func normAffineReLU(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	normAffineReLUGeneric(rows, c, h, y, x, mean, inv, gamma, beta)
}

func normBackwardReLU(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	normBackwardReLUGeneric(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
}

func colSumsDotReLU(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	colSumsDotReLUGeneric(rows, c, s1, s2, x, y, gamma, beta)
}

func copyBlocksImpl(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	copyBlocksGeneric(n, seg, dst, dstStride, src, srcStride)
}

func addBlocksImpl(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	addBlocksGeneric(n, seg, dst, dstStride, src, srcStride)
}

func addVec(dst, x, y []float32) { addGeneric(dst, x, y) }

func addReLU(dst, x, y []float32) { addReLUGeneric(dst, x, y) }

func normAffineReLUSum(rows, c int, h, acc, x, mean, inv, gamma, beta []float32) {
	normAffineReLUSumGeneric(rows, c, h, acc, x, mean, inv, gamma, beta)
}

func normBackwardReLURow(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	normBackwardReLURowGeneric(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
}

func colSumsDotReLURow(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	colSumsDotReLURowGeneric(rows, c, s1, s2, x, y, gamma, beta)
}

func convTaps(n, outc int, y, x []float32, step int, off []int, wt []float32) {
	convTapsGeneric(n, outc, 0, outc, y, x, step, off, wt)
}

func convTapsDW(n, outc int, dwt, x []float32, step int, off []int, dy []float32) {
	convTapsDWGeneric(n, outc, 0, len(off), 0, outc, dwt, x, step, off, dy)
}
