package kernel

// ConvTaps computes n output pixels of a convolution directly, without
// im2col: for every pixel p and output channel o,
//
//	y[p*outc+o] = Σ_t x[p*step+off[t]] · wt[t*outc+o],  t = 0 .. len(off)-1,
//
// summed over the taps in order. off holds, for each tap (a kernel
// position and input channel), its offset in x from the pixel's first
// input, and step is the distance between consecutive pixels' first
// inputs; wt is the taps × outc weight matrix (the transpose of a
// convolution's OutC × taps W). It is the forward of a convolution with
// few input channels (a first layer's 1 or 3), where im2col would copy a
// few floats at a time and the product's k would be a handful: one output
// row of a padded image is one call. The assembly fuses each multiply
// into its add.
func ConvTaps(n, outc int, y, x []float32, step int, off []int, wt []float32) {
	checkTaps(n, outc, x, step, off, "ConvTaps")
	if len(wt) < len(off)*outc || len(y) < n*outc {
		panic("kernel: ConvTaps buffer too short")
	}
	if n == 0 || outc == 0 {
		return
	}
	if len(off) == 0 {
		clear(y[:n*outc])
		return
	}
	convTaps(n, outc, y, x, step, off, wt)
}

// ConvTapsDW adds the weight gradient of ConvTaps to dwt (taps × outc):
// for every tap t and output channel o,
//
//	dwt[t*outc+o] += e + d,  e = Σ_{p even} x[p*step+off[t]] · dy[p*outc+o],
//	                         d = Σ_{p odd}  x[p*step+off[t]] · dy[p*outc+o],
//
// each sum over the pixels in order (the two halves let the assembly keep
// two accumulators per tap in flight).
func ConvTapsDW(n, outc int, dwt, x []float32, step int, off []int, dy []float32) {
	checkTaps(n, outc, x, step, off, "ConvTapsDW")
	if len(dwt) < len(off)*outc || len(dy) < n*outc {
		panic("kernel: ConvTapsDW buffer too short")
	}
	if n == 0 || outc == 0 || len(off) == 0 {
		return
	}
	convTapsDW(n, outc, dwt, x, step, off, dy)
}

// checkTaps panics unless every input the taps read lies in x.
func checkTaps(n, outc int, x []float32, step int, off []int, msg string) {
	if n < 0 || outc < 0 || step < 0 {
		panic("kernel: " + msg + " negative size")
	}
	if n == 0 {
		return
	}
	for _, o := range off {
		if o < 0 || (n-1)*step+o >= len(x) {
			panic("kernel: " + msg + " tap offset outside x")
		}
	}
}

// convTapsGeneric is ConvTaps on output channels [o0, o1).
func convTapsGeneric(n, outc, o0, o1 int, y, x []float32, step int, off []int, wt []float32) {
	for p := range n {
		yr := y[p*outc+o0 : p*outc+o1]
		clear(yr)
		xp := x[p*step:]
		for t, o := range off {
			v := xp[o]
			for j, w := range wt[t*outc+o0 : t*outc+o1] {
				yr[j] += v * w
			}
		}
	}
}

// convTapsDWGeneric is ConvTapsDW on taps [t0, t1) and output channels
// [o0, o1).
func convTapsDWGeneric(n, outc, t0, t1, o0, o1 int, dwt, x []float32, step int, off []int, dy []float32) {
	w := o1 - o0
	e, d := make([]float32, w), make([]float32, w)
	for t := t0; t < t1; t++ {
		clear(e)
		clear(d)
		for p := range n {
			v := x[p*step+off[t]]
			acc := e
			if p%2 == 1 {
				acc = d
			}
			for j, g := range dy[p*outc+o0 : p*outc+o1] {
				acc[j] += v * g
			}
		}
		row := dwt[t*outc+o0 : t*outc+o1]
		for j := range row {
			row[j] += e[j] + d[j]
		}
	}
}
