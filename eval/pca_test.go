package eval

import (
	"math"
	"testing"
)

// The eight points μ ± 3u1 ± 2u2 ± u3 for the orthonormal axes u1 = (0.6,
// 0.8, 0), u2 = (0.8, −0.6, 0), u3 = (0, 0, 1) have mean μ and covariance
// 9·u1u1ᵀ + 4·u2u2ᵀ + 1·u3u3ᵀ exactly.
func TestPCAKnownAxes(t *testing.T) {
	u := [3][3]float64{{0.6, 0.8, 0}, {0.8, -0.6, 0}, {0, 0, 1}}
	mu := [3]float64{1, -2, 3}
	var x []float32
	for _, s1 := range []float64{-1, 1} {
		for _, s2 := range []float64{-1, 1} {
			for _, s3 := range []float64{-1, 1} {
				for j := 0; j < 3; j++ {
					x = append(x, float32(mu[j]+3*s1*u[0][j]+2*s2*u[1][j]+s3*u[2][j]))
				}
			}
		}
	}
	p, err := FitPCA(x, 8, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 3; j++ {
		if math.Abs(float64(p.Mean[j])-mu[j]) > 1e-5 {
			t.Errorf("FitPCA mean = %v, want %v", p.Mean, mu)
		}
	}
	for k, want := range []float64{9, 4} {
		if math.Abs(p.Variances[k]-want) > 1e-4 {
			t.Errorf("FitPCA variance %d = %v, want %v", k, p.Variances[k], want)
		}
		for j := 0; j < 3; j++ {
			if got := float64(p.Components[k*3+j]); math.Abs(got-u[k][j]) > 1e-4 {
				t.Errorf("FitPCA component %d = %v, want %v", k, p.Components[k*3:k*3+3], u[k])
				break
			}
		}
	}
	// Row 5 (s1 = +1, s2 = −1, s3 = +1) is μ + 3u1 − 2u2 + u3 and projects
	// to (3, −2).
	got := p.Project(x[5*3:], 1, 3)
	if math.Abs(float64(got[0])-3) > 1e-4 || math.Abs(float64(got[1])+2) > 1e-4 {
		t.Errorf("Project(μ+3u1−2u2+u3) = %v, want [3 -2]", got)
	}
	if _, err := FitPCA(x, 8, 3, 4); err == nil {
		t.Errorf("FitPCA(m=4 > d=3) = nil error, want one")
	}
}

func TestLowRankWeights(t *testing.T) {
	// w = 5·(1,0)(0.6,0.8,0)ᵀ + 1·(0,1)(0,0,1)ᵀ: singular values 5 and 1.
	w := []float32{3, 4, 0, 0, 0, 1}
	for _, tc := range []struct {
		k    int
		want []float32
	}{
		{1, []float32{3, 4, 0, 0, 0, 0}},
		{2, w},
		{5, w},
	} {
		got, err := LowRankWeights(w, 2, 3, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-5 {
				t.Errorf("LowRankWeights(%v, k=%d) = %v, want %v", w, tc.k, got, tc.want)
				break
			}
		}
	}
}
