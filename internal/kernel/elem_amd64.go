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

func normAffineReLU(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	if !useAVX2 {
		normAffineReLUGeneric(rows, c, h, y, x, mean, inv, gamma, beta)
		return
	}
	var hp *float32
	if h != nil {
		hp = &h[0]
	}
	if useAVX512 {
		normAffineReLUAVX512(rows, c, hp, &y[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
		return
	}
	normAffineReLUAVX2(rows, c, hp, &y[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
}

func normBackwardReLU(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	if !useAVX2 {
		normBackwardReLUGeneric(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
		return
	}
	if useAVX512 {
		normBackwardReLUAVX512(rows, c, &dx[0], &dy[0], &h[0], &gamma[0], &beta[0], &k[0], &m1[0], &m2[0])
		return
	}
	normBackwardReLUAVX2(rows, c, &dx[0], &dy[0], &h[0], &gamma[0], &beta[0], &k[0], &m1[0], &m2[0])
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
// reluBackward, sgdMomentum and the column sums, and of Dot, SqL2 and
// Axpy, are generated (vec_gen_amd64.s, from internal/kernel/asm).

// colSumsSpan is the bytes of a row block the column-sum kernels run down
// in one call: the kernels walk each strip of columns down the rows of
// the call, so wide rows get short blocks, which keep their next lines in
// the hardware prefetchers' reach (every row is its own sequential stream
// across the strips), and narrow rows long ones.
var colSumsSpan = 16 << 10

// colSumsProdStripsMaxC is the widest row for which the AVX2 level runs
// colSumsDot in strips: on wider rows the strips were no faster than the
// row-major colSumsProdRowsAVX2 (Zen 5, 256×512 to 256×2048: 0.83-0.97x;
// 12544×32: 1.4x), while the AVX-512 strips win at every width.
const colSumsProdStripsMaxC = 32

// colSumsBlocks calls kern on row blocks of at most colSumsSpan bytes (at
// least 4 rows) of x and o, in order.
func colSumsBlocks(rows, c int, s1, s2 []float64, x, o []float32, stepO bool, kern func(rows, c int, s1, s2 *float64, x, o *float32)) {
	per := max(4, colSumsSpan/(4*c))
	for r := 0; r < rows; r += per {
		n := min(per, rows-r)
		op := &o[0]
		if stepO {
			op = &o[r*c]
		}
		kern(n, c, &s1[0], &s2[0], &x[r*c], op)
	}
}

// colSumsProdRowsAVX2 is colSumsDotGeneric (rows, c > 0), row by row
// with the sums in memory.
//
//go:noescape
func colSumsProdRowsAVX2(rows, c int, s1, s2 *float64, x, y *float32)

func colSumsShifted(rows, c int, s1, s2 []float64, x, shift []float32) {
	switch {
	case useAVX512:
		colSumsBlocks(rows, c, s1, s2, x, shift, false, colSumsShiftAVX512)
	case useAVX2:
		colSumsBlocks(rows, c, s1, s2, x, shift, false, colSumsShiftAVX2)
	default:
		colSumsShiftedGeneric(rows, c, s1, s2, x, shift)
	}
}

func colSumsDot(rows, c int, s1, s2 []float64, x, y []float32) {
	switch {
	case useAVX512:
		colSumsBlocks(rows, c, s1, s2, x, y, true, colSumsProdAVX512)
	case useAVX2 && c <= colSumsProdStripsMaxC:
		colSumsBlocks(rows, c, s1, s2, x, y, true, colSumsProdAVX2)
	case useAVX2:
		colSumsProdRowsAVX2(rows, c, &s1[0], &s2[0], &x[0], &y[0])
	default:
		colSumsDotGeneric(rows, c, s1, s2, x, y)
	}
}

// colSumsDotReLU runs in strips at both levels, in the row blocks of
// colSumsBlocks (there is no row-major AVX2 variant of it, as there is of
// colSumsDot for wide rows).
func colSumsDotReLU(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	if !useAVX2 {
		colSumsDotReLUGeneric(rows, c, s1, s2, x, y, gamma, beta)
		return
	}
	kern := colSumsProdReLUAVX2
	if useAVX512 {
		kern = colSumsProdReLUAVX512
	}
	per := max(4, colSumsSpan/(4*c))
	for r := 0; r < rows; r += per {
		n := min(per, rows-r)
		kern(n, c, &s1[0], &s2[0], &x[r*c], &y[r*c], &gamma[0], &beta[0])
	}
}

func copyBlocksImpl(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	switch {
	case useAVX512:
		copyBlocksAVX512(n, seg, &dst[0], dstStride, &src[0], srcStride)
	case useAVX2:
		copyBlocksAVX2(n, seg, &dst[0], dstStride, &src[0], srcStride)
	default:
		copyBlocksGeneric(n, seg, dst, dstStride, src, srcStride)
	}
}

func addBlocksImpl(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	switch {
	case useAVX512:
		addBlocksAVX512(n, seg, &dst[0], dstStride, &src[0], srcStride)
	case useAVX2:
		addBlocksAVX2(n, seg, &dst[0], dstStride, &src[0], srcStride)
	default:
		addBlocksGeneric(n, seg, dst, dstStride, src, srcStride)
	}
}

func addVec(dst, x, y []float32) {
	switch {
	case useAVX512:
		addAVX512(len(x), &dst[0], &x[0], &y[0])
	case useAVX2:
		addAVX2(len(x), &dst[0], &x[0], &y[0])
	default:
		addGeneric(dst, x, y)
	}
}

func addReLU(dst, x, y []float32) {
	switch {
	case useAVX512:
		addReLUAVX512(len(x), &dst[0], &x[0], &y[0])
	case useAVX2:
		addReLUAVX2(len(x), &dst[0], &x[0], &y[0])
	default:
		addReLUGeneric(dst, x, y)
	}
}

func normAffineReLUSum(rows, c int, h, acc, x, mean, inv, gamma, beta []float32) {
	if !useAVX2 {
		normAffineReLUSumGeneric(rows, c, h, acc, x, mean, inv, gamma, beta)
		return
	}
	var hp *float32
	if h != nil {
		hp = &h[0]
	}
	if useAVX512 {
		normAffineReLUSumAVX512(rows, c, hp, &acc[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
		return
	}
	normAffineReLUSumAVX2(rows, c, hp, &acc[0], &x[0], &mean[0], &inv[0], &gamma[0], &beta[0])
}

func normBackwardReLURow(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	switch {
	case useAVX512:
		normBackwardReLURowAVX512(rows, c, &dx[0], &dy[0], &h[0], &gamma[0], &beta[0], &k[0], &m1[0], &m2[0])
	case useAVX2:
		normBackwardReLURowAVX2(rows, c, &dx[0], &dy[0], &h[0], &gamma[0], &beta[0], &k[0], &m1[0], &m2[0])
	default:
		normBackwardReLURowGeneric(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
	}
}

// colSumsDotReLURow runs in the row blocks of colSumsDotReLU, x staying
// on its one row.
func colSumsDotReLURow(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	if !useAVX2 {
		colSumsDotReLURowGeneric(rows, c, s1, s2, x, y, gamma, beta)
		return
	}
	kern := colSumsProdReLURowAVX2
	if useAVX512 {
		kern = colSumsProdReLURowAVX512
	}
	per := max(4, colSumsSpan/(4*c))
	for r := 0; r < rows; r += per {
		n := min(per, rows-r)
		kern(n, c, &s1[0], &s2[0], &x[0], &y[r*c], &gamma[0], &beta[0])
	}
}

// convTaps runs the assembly on each pair of full vectors of output
// channels, then on a last full vector, and convTapsGeneric on the rest.
func convTaps(n, outc int, y, x []float32, step int, off []int, wt []float32) {
	lanes, kern, kern2 := 0, convTapsAVX2, convTaps2AVX2
	switch {
	case useAVX512:
		lanes, kern, kern2 = 16, convTapsAVX512, convTaps2AVX512
	case useAVX2:
		lanes = 8
	}
	o := 0
	if lanes > 0 {
		for ; o+2*lanes <= outc; o += 2 * lanes {
			kern2(n, &x[0], step, &off[0], len(off), &wt[o], outc, &y[o], outc)
		}
		for ; o+lanes <= outc; o += lanes {
			kern(n, &x[0], step, &off[0], len(off), &wt[o], outc, &y[o], outc)
		}
	}
	if o < outc {
		convTapsGeneric(n, outc, o, outc, y, x, step, off, wt)
	}
}

// convTapsDW runs the assembly on each group of three taps and full
// vector of output channels, and convTapsDWGeneric on the rest.
func convTapsDW(n, outc int, dwt, x []float32, step int, off []int, dy []float32) {
	lanes, kern := 0, convTapsDW3AVX2
	switch {
	case useAVX512:
		lanes, kern = 16, convTapsDW3AVX512
	case useAVX2:
		lanes = 8
	}
	full, taps3 := 0, 0
	if lanes > 0 {
		full, taps3 = outc/lanes*lanes, len(off)/3*3
	}
	for t := 0; t < taps3; t += 3 {
		for o := 0; o < full; o += lanes {
			kern(n, &x[0], step, &off[t], &dy[o], outc, &dwt[t*outc+o], outc)
		}
	}
	if full < outc {
		convTapsDWGeneric(n, outc, 0, taps3, full, outc, dwt, x, step, off, dy)
	}
	if taps3 < len(off) {
		convTapsDWGeneric(n, outc, taps3, len(off), 0, outc, dwt, x, step, off, dy)
	}
}
