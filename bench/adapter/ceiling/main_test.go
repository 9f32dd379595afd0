package main

import "testing"

// TestListwiseGradient checks the ceiling's loss gradient (both sides of
// the similarities, the normalisation, W and b, with the queries' own rows
// left out) against central differences.
func TestListwiseGradient(t *testing.T) {
	if code := checkGrad(); code != 0 {
		t.Fatal("the listwise loss's gradient differs from central differences (see the output)")
	}
}
