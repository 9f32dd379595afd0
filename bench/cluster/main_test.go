package main

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestInts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"64", []int{64}, true},
		{" 64, 96 ,128", []int{64, 96, 128}, true},
		{"", nil, true},
		{"64,,128", []int{64, 128}, true},
		{"64,x", nil, false},
		{"0", nil, false},
		{"-3", nil, false},
	} {
		got, err := ints("-prefix", tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ints(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestCPUSeconds checks that this process's CPU time reads as positive
// and grows with work, and that a missing process reads as 0.
func TestCPUSeconds(t *testing.T) {
	a := cpuSeconds(os.Getpid())
	if a <= 0 {
		t.Fatalf("cpuSeconds(self) = %v, want > 0", a)
	}
	// Work until the clock ticks (1/100 s) or 5 s pass.
	x, deadline := 0.0, time.Now().Add(5*time.Second)
	for cpuSeconds(os.Getpid()) <= a && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += float64(i % 7)
		}
	}
	if b := cpuSeconds(os.Getpid()); b <= a {
		t.Errorf("cpuSeconds after 5 s of work = %v, before %v (x %v): want it to grow", b, a, x)
	}
	if got := cpuSeconds(1 << 30); got != 0 {
		t.Errorf("cpuSeconds(no such pid) = %v, want 0", got)
	}
}
