package kernel

import "math"

// Dot returns sum_i x[i]*y[i] over len(x) elements; y must be at least as long.
func Dot(x, y []float32) float32 {
	if len(y) < len(x) {
		panic("kernel: Dot length mismatch")
	}
	return dot(x, y[:len(x)])
}

// Axpy computes y[i] += alpha*x[i] over len(x) elements.
func Axpy(alpha float32, x, y []float32) {
	if len(y) < len(x) {
		panic("kernel: Axpy length mismatch")
	}
	axpy(alpha, x, y[:len(x)])
}

// SqL2 returns sum_i (x[i]-y[i])^2 over len(x) elements.
func SqL2(x, y []float32) float32 {
	if len(y) < len(x) {
		panic("kernel: SqL2 length mismatch")
	}
	return sqL2(x, y[:len(x)])
}

// Scal computes x[i] *= alpha.
func Scal(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// Norm returns the Euclidean norm sqrt(sum_i x[i]^2), accumulated in float64.
func Norm(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}

// Normalize scales x to unit Euclidean norm and returns the original norm.
// A zero vector is left unchanged.
func Normalize(x []float32) float32 {
	n := Norm(x)
	if n > 0 {
		Scal(1/n, x)
	}
	return n
}

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

func sqL2Generic(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0 := x[i] - y[i]
		d1 := x[i+1] - y[i+1]
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		s0 += d * d
	}
	return s0 + s1
}
