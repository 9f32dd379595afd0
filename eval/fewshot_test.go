package eval

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNCMHandChecked(t *testing.T) {
	// 3-dim rows, evaluated on the 2-dim prefix (the third coordinate is
	// ignored). Normalised prefixes: class 0 (1, 0) and (0.8, 0.6), class 1
	// (0, 1) and (−0.6, 0.8). Prototypes ∝ (1.8, 0.6) and (−0.6, 1.8).
	// Row 1 is (8, 6) before normalising; each support row counts once,
	// whatever its norm.
	db := []float32{
		1, 0, 50,
		8, 6, -50,
		0, 1, 0,
		-0.6, 0.8, 9,
	}
	dbY := []int32{0, 0, 1, 1}
	// Query (0.5, 0.5): cosines ∝ 2.4 and 1.2 → class 0, right.
	// Query (−0.1, 1): ∝ 0.42 and 1.86 → class 1, right.
	// Query (1, 0.2) labelled 1: ∝ 1.92 and −0.24 → class 0, wrong.
	q := []float32{0.5, 0.5, -100, -0.1, 1, 0, 1, 0.2, 0}
	qY := []int32{0, 1, 1}
	all := []int{0, 1, 2, 3}
	if got := NCMAccuracy(db, dbY, 3, all, q, qY, 3, 2); !near(got, 2.0/3) {
		t.Errorf("NCMAccuracy(2 shots, dim 2) = %v, want 2/3", got)
	}
	// One shot each, rows 1 and 3: prototypes (0.8, 0.6) and (−0.6, 0.8).
	// Query (−0.1, 1): 0.52 vs 0.86 → 1; (0.5, 0.5): 0.7 vs 0.1 → 0; (1, 0.2): 0.92 vs −0.44 → 0.
	if got := NCMAccuracy(db, dbY, 3, []int{1, 3}, q, qY, 3, 2); !near(got, 2.0/3) {
		t.Errorf("NCMAccuracy(rows 1, 3) = %v, want 2/3", got)
	}
	// Dim 1: every class-0 prefix is positive, class 1's are 0 and −0.6,
	// so prototypes are (1) and (−1); queries 0.5, −0.1, 1 → 0, 1, 0.
	if got := NCMAccuracy(db, dbY, 3, all, q, qY, 3, 1); !near(got, 2.0/3) {
		t.Errorf("NCMAccuracy(dim 1) = %v, want 2/3", got)
	}
	if got := NCMAccuracy(db, dbY, 3, nil, q, qY, 3, 2); got != 0 {
		t.Errorf("NCMAccuracy(no support) = %v, want 0", got)
	}
}

func TestSampleShots(t *testing.T) {
	labels := []int32{2, 0, 0, 1, 0, 2, 0, 2, 1, 0}
	for _, tc := range []struct{ shots, want int }{{1, 3}, {2, 6}, {5, 10}, {100, 10}} {
		got := SampleShots(labels, tc.shots, rand.New(rand.NewPCG(1, 2)))
		again := SampleShots(labels, tc.shots, rand.New(rand.NewPCG(1, 2)))
		if len(got) != tc.want || !slices.Equal(got, again) || !slices.IsSorted(got) {
			t.Errorf("SampleShots(%d) = %v then %v, want %d sorted indices, the same for the same seed", tc.shots, got, again, tc.want)
		}
		per := map[int32]int{}
		for _, i := range got {
			per[labels[i]]++
		}
		counts := LabelCounts(labels)
		for y, c := range counts {
			if per[y] != min(tc.shots, c) {
				t.Errorf("SampleShots(%d) drew %d rows of label %d, want %d", tc.shots, per[y], y, min(tc.shots, c))
			}
		}
	}
}
