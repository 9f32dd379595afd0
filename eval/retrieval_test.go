package eval

import (
	"math"
	"testing"
)

func TestPrefixNormalized(t *testing.T) {
	x := []float32{3, 4, 12, 0, 0, 5}
	got := PrefixNormalized(x, 2, 3, 2)
	want := []float32{0.6, 0.8, 0, 0}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("PrefixNormalized = %v, want %v", got, want)
		}
	}
}

func TestOneNNNeedsRenormalisation(t *testing.T) {
	// Query (1, 0, ...). db row 0 = (0.9, 0.1, 100) has the larger 2-d
	// inner product with it only without re-normalising; by cosine over the
	// 2-d prefix, row 1 = (1, 0, 0) is the nearest.
	db := []float32{2, 1.5, 100, 1, 0, 0}
	q := []float32{1, 0, 0}
	acc, err := OneNNAccuracy(db, []int32{0, 1}, 2, 3, q, []int32{1}, 1, 2)
	if err != nil || acc != 1 {
		t.Fatalf("OneNNAccuracy = %v, want 1 (cosine on the re-normalised prefix)", acc)
	}
}
