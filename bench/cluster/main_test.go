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

// TestCheapest checks the staircase against an exhaustive search (of
// the pairs whose shortlist is at most the ef) of a model whose recall
// grows with the shortlist and the ef, and that it probes no pair twice.
func TestCheapest(t *testing.T) {
	keeps := []int{10, 20, 30, 40, 50, 60, 80, 100}
	for _, tc := range []struct {
		name   string
		efs    []int
		target float64
		// recall reaches 1 when keep*ef >= need (both saturate: a keep
		// past sat, an ef past efSat, add nothing).
		need, sat, efSat int
		cpuKeep          float64 // CPU per shortlisted point (per visited node: 1)
	}{
		{"ef helps", []int{40, 60, 100, 160, 250}, 0.95, 6000, 100, 250, 0.5},
		{"objects dear", []int{40, 60, 100, 160, 250}, 0.95, 6000, 100, 250, 20},
		{"unreachable", []int{40, 60}, 0.95, 1e6, 100, 250, 1},
		{"one ef", []int{100}, 0.9, 3000, 100, 250, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := func(keep, ef int) probeResult {
				ef = max(ef, keep)
				x := float64(min(keep, tc.sat)*min(ef, tc.efSat)) / float64(tc.need)
				return probeResult{recall: min(1, x), cpu: float64(ef) + tc.cpuKeep*float64(keep)}
			}
			probed := map[knobPair]int{}
			got, gotP, ok, err := cheapest(tc.efs, keeps, tc.target, func(keep, ef int) (probeResult, error) {
				probed[knobPair{keep, ef}]++
				return model(keep, ef), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for kp, n := range probed {
				if n > 1 {
					t.Errorf("pair %v probed %d times", kp, n)
				}
			}
			var want knobPair
			var wantP probeResult
			wantOK := false
			for _, ef := range tc.efs {
				for _, k := range keeps {
					if p := model(k, ef); k <= ef && p.recall >= tc.target && (!wantOK || p.cpu < wantP.cpu) {
						want, wantP, wantOK = knobPair{k, ef}, p, true
					}
				}
			}
			if ok != wantOK || ok && (got != want || gotP != wantP) {
				t.Errorf("cheapest = %v %+v %v, want %v %+v %v (probed %d pairs)", got, gotP, ok, want, wantP, wantOK, len(probed))
			}
		})
	}
}
