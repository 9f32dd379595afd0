package kernel

import "math"

// Element-wise kernels of the training layers (batch norm, ReLU) over
// rows×c matrices stored row by row, with per-column vectors of length c.
// Each has a plain-Go twin (the *Generic functions), used under the noasm
// tag and on CPUs without AVX2+FMA.

func checkRows(rows, c int, msg string, mats [][]float32, cols [][]float32) {
	if rows < 0 || c < 0 {
		panic("kernel: " + msg + " negative size")
	}
	for _, m := range mats {
		if len(m) < rows*c {
			panic("kernel: " + msg + " matrix too short")
		}
	}
	for _, v := range cols {
		if len(v) < c {
			panic("kernel: " + msg + " column vector too short")
		}
	}
}

// NormAffine normalises the rows of x and applies a per-column affine map,
// as batch norm's forward pass does: for every row i and column j,
//
//	h[i*c+j] = (x[i*c+j] - mean[j]) * inv[j]
//	y[i*c+j] = h[i*c+j]*gamma[j] + beta[j]
//
// h may be nil (then only y is written).
func NormAffine(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	mats := [][]float32{y, x}
	if h != nil {
		mats = append(mats, h)
	}
	checkRows(rows, c, "NormAffine", mats, [][]float32{mean, inv, gamma, beta})
	if rows == 0 || c == 0 {
		return
	}
	normAffine(rows, c, h, y, x, mean, inv, gamma, beta)
}

func normAffineGeneric(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	mean, inv, gamma, beta = mean[:c], inv[:c], gamma[:c], beta[:c]
	for i := range rows {
		xr, yr := x[i*c:(i+1)*c], y[i*c:(i+1)*c]
		var hr []float32
		if h != nil {
			hr = h[i*c : (i+1)*c]
		}
		for j, v := range xr {
			hv := (v - mean[j]) * inv[j]
			if hr != nil {
				hr[j] = hv
			}
			yr[j] = hv*gamma[j] + beta[j]
		}
	}
}

// NormAffineReLU is NormAffine followed by a ReLU, in one pass (batch
// norm then ReLU, as the training layers chain them): for every row i and
// column j,
//
//	h[i*c+j] = (x[i*c+j] - mean[j]) * inv[j]
//	y[i*c+j] = max(h[i*c+j]*gamma[j] + beta[j], 0)
//
// with the ReLU as ReLU takes it (a NaN passes, -0 becomes +0). h may be
// nil. NormBackwardReLU and ColSumsDotReLU find where the ReLU let the
// gradient through from h, gamma and beta alone, computing h*gamma+beta
// the same way, so y need not be kept.
func NormAffineReLU(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	mats := [][]float32{y, x}
	if h != nil {
		mats = append(mats, h)
	}
	checkRows(rows, c, "NormAffineReLU", mats, [][]float32{mean, inv, gamma, beta})
	if rows == 0 || c == 0 {
		return
	}
	normAffineReLU(rows, c, h, y, x, mean, inv, gamma, beta)
}

func normAffineReLUGeneric(rows, c int, h, y, x, mean, inv, gamma, beta []float32) {
	mean, inv, gamma, beta = mean[:c], inv[:c], gamma[:c], beta[:c]
	for i := range rows {
		xr, yr := x[i*c:(i+1)*c], y[i*c:(i+1)*c]
		var hr []float32
		if h != nil {
			hr = h[i*c : (i+1)*c]
		}
		for j, v := range xr {
			hv := (v - mean[j]) * inv[j]
			if hr != nil {
				hr[j] = hv
			}
			t := hv*gamma[j] + beta[j]
			if t <= 0 {
				t = 0
			}
			yr[j] = t
		}
	}
}

// NormAffineReLUSum is NormAffineReLU whose output rows are summed, in
// row order, into the one row acc instead of being stored (batch norm,
// ReLU and the sum of a global average pool over the rows in one pass):
// for every row i and column j,
//
//	h[i*c+j] = (x[i*c+j] - mean[j]) * inv[j]
//	acc[j] += max(h[i*c+j]*gamma[j] + beta[j], 0)
//
// h may be nil.
func NormAffineReLUSum(rows, c int, h, acc, x, mean, inv, gamma, beta []float32) {
	mats := [][]float32{x}
	if h != nil {
		mats = append(mats, h)
	}
	checkRows(rows, c, "NormAffineReLUSum", mats, [][]float32{acc, mean, inv, gamma, beta})
	if rows == 0 || c == 0 {
		return
	}
	normAffineReLUSum(rows, c, h, acc, x, mean, inv, gamma, beta)
}

func normAffineReLUSumGeneric(rows, c int, h, acc, x, mean, inv, gamma, beta []float32) {
	acc, mean, inv, gamma, beta = acc[:c], mean[:c], inv[:c], gamma[:c], beta[:c]
	for i := range rows {
		xr := x[i*c : (i+1)*c]
		var hr []float32
		if h != nil {
			hr = h[i*c : (i+1)*c]
		}
		for j, v := range xr {
			hv := (v - mean[j]) * inv[j]
			if hr != nil {
				hr[j] = hv
			}
			t := hv*gamma[j] + beta[j]
			if t <= 0 {
				t = 0
			}
			acc[j] += t
		}
	}
}

// reluPasses reports whether the ReLU after batch norm passed the
// gradient at an element whose normalised value is h: the bits of the
// ReLU's output max(h*gamma+beta, 0) as an int32 are > 0 (ReLUBackward's
// test), which is the same as those of h*gamma+beta being > 0.
func reluPasses(h, gamma, beta float32) bool {
	return int32(math.Float32bits(h*gamma+beta)) > 0
}

// NormBackward is batch norm's input gradient given the column sums
// folded into k, m1 and m2: for every row i and column j,
//
//	dx[i*c+j] = k[j] * (dy[i*c+j] - m1[j] - h[i*c+j]*m2[j])
func NormBackward(rows, c int, dx, dy, h, k, m1, m2 []float32) {
	checkRows(rows, c, "NormBackward", [][]float32{dx, dy, h}, [][]float32{k, m1, m2})
	if rows == 0 || c == 0 {
		return
	}
	normBackward(rows, c, dx, dy, h, k, m1, m2)
}

func normBackwardGeneric(rows, c int, dx, dy, h, k, m1, m2 []float32) {
	k, m1, m2 = k[:c], m1[:c], m2[:c]
	for i := range rows {
		dr, hr, xr := dy[i*c:(i+1)*c], h[i*c:(i+1)*c], dx[i*c:(i+1)*c]
		for j, v := range dr {
			xr[j] = k[j] * (v - m1[j] - hr[j]*m2[j])
		}
	}
}

// NormBackwardReLU is NormBackward through the ReLU that followed the
// batch norm (NormAffineReLU): for every row i and column j,
//
//	g = dy[i*c+j] if int32(bits(h[i*c+j]*gamma[j] + beta[j])) > 0, else 0
//	dx[i*c+j] = k[j] * (g - m1[j] - h[i*c+j]*m2[j])
//
// gamma and beta must be the values of the forward pass.
func NormBackwardReLU(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	checkRows(rows, c, "NormBackwardReLU", [][]float32{dx, dy, h}, [][]float32{gamma, beta, k, m1, m2})
	if rows == 0 || c == 0 {
		return
	}
	normBackwardReLU(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
}

func normBackwardReLUGeneric(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	gamma, beta, k, m1, m2 = gamma[:c], beta[:c], k[:c], m1[:c], m2[:c]
	for i := range rows {
		dr, hr, xr := dy[i*c:(i+1)*c], h[i*c:(i+1)*c], dx[i*c:(i+1)*c]
		for j, v := range dr {
			if !reluPasses(hr[j], gamma[j], beta[j]) {
				v = 0
			}
			xr[j] = k[j] * (v - m1[j] - hr[j]*m2[j])
		}
	}
}

// NormBackwardReLURow is NormBackwardReLU with the same gradient row dy
// (c long) for every row, as a global average pool's backward spreads it:
// for every row i and column j,
//
//	g = dy[j] if int32(bits(h[i*c+j]*gamma[j] + beta[j])) > 0, else 0
//	dx[i*c+j] = k[j] * (g - m1[j] - h[i*c+j]*m2[j])
func NormBackwardReLURow(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	checkRows(rows, c, "NormBackwardReLURow", [][]float32{dx, h}, [][]float32{dy, gamma, beta, k, m1, m2})
	if rows == 0 || c == 0 {
		return
	}
	normBackwardReLURow(rows, c, dx, dy, h, gamma, beta, k, m1, m2)
}

func normBackwardReLURowGeneric(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 []float32) {
	dy, gamma, beta, k, m1, m2 = dy[:c], gamma[:c], beta[:c], k[:c], m1[:c], m2[:c]
	for i := range rows {
		hr, xr := h[i*c:(i+1)*c], dx[i*c:(i+1)*c]
		for j, v := range dy {
			if !reluPasses(hr[j], gamma[j], beta[j]) {
				v = 0
			}
			xr[j] = k[j] * (v - m1[j] - hr[j]*m2[j])
		}
	}
}

// ReLU sets dst[i] = max(x[i], 0) over len(x) elements: a NaN passes
// unchanged and -0 becomes +0.
func ReLU(dst, x []float32) {
	if len(dst) < len(x) {
		panic("kernel: ReLU length mismatch")
	}
	if len(x) == 0 {
		return
	}
	relu(dst[:len(x)], x)
}

func reluGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v <= 0 {
			v = 0
		}
		dst[i] = v
	}
}

// Add sets dst[i] = x[i] + y[i] over len(x) elements.
func Add(dst, x, y []float32) {
	if len(dst) < len(x) || len(y) < len(x) {
		panic("kernel: Add length mismatch")
	}
	if len(x) == 0 {
		return
	}
	addVec(dst[:len(x)], x, y[:len(x)])
}

func addGeneric(dst, x, y []float32) {
	dst, y = dst[:len(x)], y[:len(x)]
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// AddReLU sets dst[i] = max(x[i] + y[i], 0) over len(x) elements, the
// ReLU as ReLU takes it (a NaN passes, -0 becomes +0): a residual sum and
// the ReLU after it in one pass.
func AddReLU(dst, x, y []float32) {
	if len(dst) < len(x) || len(y) < len(x) {
		panic("kernel: AddReLU length mismatch")
	}
	if len(x) == 0 {
		return
	}
	addReLU(dst[:len(x)], x, y[:len(x)])
}

func addReLUGeneric(dst, x, y []float32) {
	dst, y = dst[:len(x)], y[:len(x)]
	for i, v := range x {
		v += y[i]
		if v <= 0 {
			v = 0
		}
		dst[i] = v
	}
}

// ReLUBackward sets dx[i] = dy[i] where y[i], a ReLU output, is positive
// and 0 elsewhere, over len(y) elements. The test is on y's bits as an
// int32 (> 0), so ±0 and negative values block and a NaN passes unless
// its sign bit is set.
func ReLUBackward(dx, dy, y []float32) {
	if len(dx) < len(y) || len(dy) < len(y) {
		panic("kernel: ReLUBackward length mismatch")
	}
	if len(y) == 0 {
		return
	}
	reluBackward(dx[:len(y)], dy[:len(y)], y)
}

func reluBackwardGeneric(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		// Branch-free: the mask is all ones where v's bits are > 0.
		mask := uint32(-int64(int32(math.Float32bits(v))) >> 63)
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & mask)
	}
}

// ColSumsShifted adds batch norm's forward sums to s1 and s2, in float64:
// for every row i and column j, with d = x[i*c+j] - shift[j] (rounded to
// float32),
//
//	s1[j] += d;  s2[j] += d*d
func ColSumsShifted(rows, c int, s1, s2 []float64, x, shift []float32) {
	checkRows(rows, c, "ColSumsShifted", [][]float32{x}, [][]float32{shift})
	checkSums(c, "ColSumsShifted", s1, s2)
	if rows == 0 || c == 0 {
		return
	}
	colSumsShifted(rows, c, s1, s2, x, shift)
}

// ColSumsDot adds batch norm's backward sums to s1 and s2, in float64: for
// every row i and column j,
//
//	s1[j] += x[i*c+j];  s2[j] += x[i*c+j]*y[i*c+j]
func ColSumsDot(rows, c int, s1, s2 []float64, x, y []float32) {
	checkRows(rows, c, "ColSumsDot", [][]float32{x, y}, nil)
	checkSums(c, "ColSumsDot", s1, s2)
	if rows == 0 || c == 0 {
		return
	}
	colSumsDot(rows, c, s1, s2, x, y)
}

// ColSumsDotReLU is ColSumsDot through the ReLU that followed the batch
// norm (NormAffineReLU), batch norm's backward sums with x = dy and y = h:
// for every row i and column j, with g = x[i*c+j] where
// int32(bits(y[i*c+j]*gamma[j] + beta[j])) > 0 and 0 elsewhere,
//
//	s1[j] += g;  s2[j] += g*y[i*c+j]
func ColSumsDotReLU(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	checkRows(rows, c, "ColSumsDotReLU", [][]float32{x, y}, [][]float32{gamma, beta})
	checkSums(c, "ColSumsDotReLU", s1, s2)
	if rows == 0 || c == 0 {
		return
	}
	colSumsDotReLU(rows, c, s1, s2, x, y, gamma, beta)
}

// ColSumsDotReLURow is ColSumsDotReLU with the same row x (c long) for
// every row: for every row i and column j, with g = x[j] where
// int32(bits(y[i*c+j]*gamma[j] + beta[j])) > 0 and 0 elsewhere,
//
//	s1[j] += g;  s2[j] += g*y[i*c+j]
func ColSumsDotReLURow(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	checkRows(rows, c, "ColSumsDotReLURow", [][]float32{y}, [][]float32{x, gamma, beta})
	checkSums(c, "ColSumsDotReLURow", s1, s2)
	if rows == 0 || c == 0 {
		return
	}
	colSumsDotReLURow(rows, c, s1, s2, x, y, gamma, beta)
}

func colSumsDotReLURowGeneric(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	s1, s2, x, gamma, beta = s1[:c], s2[:c], x[:c], gamma[:c], beta[:c]
	for i := range rows {
		yr := y[i*c : (i+1)*c]
		for j, v := range x {
			if !reluPasses(yr[j], gamma[j], beta[j]) {
				v = 0
			}
			s1[j] += float64(v)
			s2[j] += float64(v) * float64(yr[j])
		}
	}
}

func checkSums(c int, msg string, s1, s2 []float64) {
	if len(s1) < c || len(s2) < c {
		panic("kernel: " + msg + " sums too short")
	}
}

func colSumsShiftedGeneric(rows, c int, s1, s2 []float64, x, shift []float32) {
	s1, s2, shift = s1[:c], s2[:c], shift[:c]
	for i := range rows {
		for j, v := range x[i*c : (i+1)*c] {
			d := float64(v - shift[j])
			s1[j] += d
			s2[j] += d * d
		}
	}
}

func colSumsDotGeneric(rows, c int, s1, s2 []float64, x, y []float32) {
	s1, s2 = s1[:c], s2[:c]
	for i := range rows {
		yr := y[i*c : (i+1)*c]
		for j, v := range x[i*c : (i+1)*c] {
			s1[j] += float64(v)
			s2[j] += float64(v) * float64(yr[j])
		}
	}
}

func colSumsDotReLUGeneric(rows, c int, s1, s2 []float64, x, y, gamma, beta []float32) {
	s1, s2, gamma, beta = s1[:c], s2[:c], gamma[:c], beta[:c]
	for i := range rows {
		yr := y[i*c : (i+1)*c]
		for j, v := range x[i*c : (i+1)*c] {
			if !reluPasses(yr[j], gamma[j], beta[j]) {
				v = 0
			}
			s1[j] += float64(v)
			s2[j] += float64(v) * float64(yr[j])
		}
	}
}

// SGDMomentum applies one heavy-ball SGD step with weight decay to the
// parameters w, their gradient g and momentum buffer v (PyTorch's SGD with
// momentum mu, dampening 0, not Nesterov), over len(w) elements:
//
//	for i := range w {
//		gi := g[i] + wd*w[i]
//		v[i] = mu*v[i] + gi
//		w[i] -= eta * v[i]
//	}
//
// The assembly fuses each line's multiply and add (one rounding each).
// It panics if g or v is shorter than w.
func SGDMomentum(w, g, v []float32, eta, mu, wd float32) {
	if len(g) < len(w) || len(v) < len(w) {
		panic("kernel: SGDMomentum length mismatch")
	}
	if len(w) == 0 {
		return
	}
	sgdMomentum(w, g[:len(w)], v[:len(w)], eta, mu, wd)
}

func sgdMomentumGeneric(w, g, v []float32, eta, mu, wd float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i, wi := range w {
		gi := g[i] + wd*wi
		vi := mu*v[i] + gi
		v[i] = vi
		w[i] = wi - eta*vi
	}
}
