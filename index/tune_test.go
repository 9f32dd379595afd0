package index_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

// tuneData returns n MatryoshkaLike rows of dim d under cosine and nq
// queries from the same distribution.
func tuneData(t *testing.T, n, d, nq int) (*index.Vectors, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 5))
	x := indextest.MatryoshkaLike(rng, n+nq, d)
	v, err := index.NewVectors(x[:n*d], n, d, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, x[n*d:]
}

func TestTuneTarget(t *testing.T) {
	const n, d, nq = 3000, 64, 200
	v, q := tuneData(t, n, d, nq)
	calib, held := q[:nq/2*d], q[nq/2*d:]
	r, err := index.Tune(v, nil, calib, nq/2, index.TuneOptions{TargetRecall: 0.9})
	if err != nil {
		t.Fatalf("Tune: %v", err)
	}
	for _, e := range r.Evaluated {
		t.Logf("%-22s recall %.3f  %8d FLOPs  %v", e.Plan, e.Recall, e.FLOPs, e.Latency)
	}
	t.Logf("chosen %s: recall %.3f, %d FLOPs (exact %d)", r.Plan, r.Recall, r.FLOPs, index.Plan{{d, 10}}.FLOPs(n))
	if r.K != 10 || r.Recall < 0.9 {
		t.Errorf("Tune = K %d recall %v, want K 10 and recall >= 0.9", r.K, r.Recall)
	}
	if err := r.Plan.Validate(d, 10); err != nil {
		t.Error(err)
	}
	if r.FLOPs >= (index.Plan{{d, 10}}).FLOPs(n) {
		t.Errorf("chosen plan %s costs %d FLOPs, no cheaper than exact", r.Plan, r.FLOPs)
	}
	last := r.Evaluated[len(r.Evaluated)-1]
	if last.Plan.String() != r.Plan.String() {
		t.Errorf("last evaluated %s, want the chosen %s", last.Plan, r.Plan)
	}
	// Measured in the order of MulAdds plus 256 per reranked row, until
	// one beats the target by the margin.
	order := func(e index.PlanEval) int64 {
		c := e.FLOPs / 2
		for i := 1; i < len(e.Plan); i++ {
			c += int64(min(e.Plan[i-1].Keep, n)) * 256
		}
		return c
	}
	if r.Margin <= 0 || r.Margin > 0.02 {
		t.Errorf("Margin = %v, want one standard error of recall 0.9 over 100 queries x 10", r.Margin)
	}
	for i, e := range r.Evaluated {
		if i > 0 && order(e) < order(r.Evaluated[i-1]) {
			t.Errorf("evaluated %s (cost %d) after %s (%d)", e.Plan, order(e), r.Evaluated[i-1].Plan, order(r.Evaluated[i-1]))
		}
		if i < len(r.Evaluated)-1 && e.Recall >= 0.9+r.Margin {
			t.Errorf("%s met the target (%v) but Tune went on", e.Plan, e.Recall)
		}
		if e.Plan[0].Dim < 8 && len(e.Plan) > 1 {
			t.Errorf("evaluated %s: default dims start at 8", e.Plan)
		}
	}
	if r.Recall < 0.9+r.Margin {
		t.Errorf("chosen recall %v below the target plus the margin %v", r.Recall, r.Margin)
	}
	got, err := r.Check(v, nil, held, nq/2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out recall %.3f", got)
	if got < 0.9 {
		t.Errorf("Check(held-out) = %v, want >= 0.9", got)
	}
}

func TestTuneExact(t *testing.T) {
	const n, d, nq = 1000, 64, 40
	v, q := tuneData(t, n, d, nq)
	r, err := index.Tune(v, nil, q, nq, index.TuneOptions{TargetRecall: 1, Keeps: []int{n, 5 * n}, MaxStages: 1})
	if err != nil {
		t.Fatalf("Tune: %v", err)
	}
	if r.Recall != 1 || !(len(r.Plan) == 1 || r.Plan[0].Keep >= n) {
		t.Errorf("Tune(target 1, keeps N) = %s recall %v, want an exact plan", r.Plan, r.Recall)
	}
	if got, err := r.Check(v, nil, q[:10*d], 10); err != nil || got != 1 {
		t.Errorf("Check = %v, %v, want 1", got, err)
	}
}

func TestTuneBudget(t *testing.T) {
	const n, d, nq = 1000, 64, 40
	v, q := tuneData(t, n, d, nq)
	budget := index.Plan{{16, 100}, {d, 10}}.FLOPs(n)
	r, err := index.Tune(v, nil, q, nq, index.TuneOptions{MaxFLOPs: budget})
	if err != nil {
		t.Fatalf("Tune: %v", err)
	}
	for _, e := range r.Evaluated {
		if e.FLOPs > budget {
			t.Errorf("evaluated %s at %d FLOPs over the budget %d", e.Plan, e.FLOPs, budget)
		}
		if e.Recall > r.Recall {
			t.Errorf("%s reached %v, more than the chosen %s's %v", e.Plan, e.Recall, r.Plan, r.Recall)
		}
	}
	if r.FLOPs > budget || len(r.Evaluated) < 2 {
		t.Errorf("Tune(budget %d) = %s at %d FLOPs after %d plans", budget, r.Plan, r.FLOPs, len(r.Evaluated))
	}

	_, err = index.Tune(v, nil, q, nq, index.TuneOptions{MaxFLOPs: 100})
	if !errors.Is(err, index.ErrNoPlan) {
		t.Errorf("Tune(MaxFLOPs 100) error = %v, want ErrNoPlan", err)
	}
	r, err = index.Tune(v, nil, q, nq, index.TuneOptions{TargetRecall: 0.999, Dims: []int{1, 2, 4, 8}, MaxFLOPs: index.Plan{{1, 50}, {d, 10}}.FLOPs(n)})
	if !errors.Is(err, index.ErrNoPlan) || !strings.Contains(err.Error(), "best") || r.Plan == nil {
		t.Errorf("Tune(unreachable target) = %s, %v; want the best plan and ErrNoPlan", r.Plan, err)
	}
	t.Logf("unreachable: %v", err)
}

func TestTuneOptionsValidate(t *testing.T) {
	err := index.TuneOptions{K: -1, TargetRecall: 1.5, MaxFLOPs: -2, Dims: []int{0}, Keeps: []int{-3}, MaxStages: 3}.Validate()
	if !errors.Is(err, index.ErrOptions) {
		t.Fatalf("Validate = %v, want ErrOptions", err)
	}
	for _, w := range []string{"K -1", "TargetRecall 1.5", "MaxFLOPs -2", "dim 0", "keep -3", "MaxStages 3"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error %q lacks %q", err, w)
		}
	}
	if err := (index.TuneOptions{}).Validate(); err == nil || !strings.Contains(err.Error(), "no target") {
		t.Errorf("Validate(zero) = %v, want a no-target error", err)
	}
	if err := (index.TuneOptions{TargetRecall: 0.9}).Validate(); err != nil {
		t.Errorf("Validate(target 0.9) = %v", err)
	}
	v, q := tuneData(t, 100, 16, 4)
	if _, err := index.Tune(v, nil, q, 4, index.TuneOptions{TargetRecall: 0.9, Dims: []int{8, 16}}); !errors.Is(err, index.ErrOptions) {
		t.Errorf("Tune(dim 16 of 16) = %v, want ErrOptions", err)
	}
	if _, err := index.Tune(v, nil, q, 3, index.TuneOptions{TargetRecall: 0.9}); !errors.Is(err, index.ErrDimMismatch) {
		t.Errorf("Tune(bad nq) = %v, want ErrDimMismatch", err)
	}
}

func TestTuneKnobs(t *testing.T) {
	const n, d, nq = 3000, 64, 100
	v, q := tuneData(t, n, d, nq)
	calib, held := q[:nq/2*d], q[nq/2*d:]
	ivf, err := index.NewIVF(v, index.IVFOptions{Lists: 32, ClusterDim: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ivf.SetProbe(3)
	h, err := index.NewHNSW(v, index.HNSWOptions{Dim: 16, M: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.SetEf(20)
	cases := []struct {
		name  string
		first index.Searcher
		knobs []int
		reset func() int
		want  int // the setting Tune must leave behind
	}{
		{"ivf", ivf, []int{1, 2, 4, 8, 16, 32}, func() int { return ivf.Probe() }, 3},
		{"hnsw", h, []int{10, 40, 160}, func() int { return h.Ef() }, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := index.Tune(v, c.first, calib, nq/2, index.TuneOptions{TargetRecall: 0.9, Knobs: c.knobs, Keeps: []int{50, 200, 800}})
			if err != nil {
				t.Fatalf("Tune: %v", err)
			}
			for _, e := range r.Evaluated {
				t.Logf("%-22s knob %3d recall %.3f %9d FLOPs %v", e.Plan, e.Knob, e.Recall, e.FLOPs, e.Latency)
			}
			if got := c.reset(); got != c.want {
				t.Errorf("setting after Tune = %d, want the original %d", got, c.want)
			}
			if !slices.Contains(c.knobs, r.Knob) || r.Recall < 0.9 {
				t.Errorf("chosen knob %d recall %v, want one of %v and >= 0.9", r.Knob, r.Recall, c.knobs)
			}
			if c.name == "hnsw" {
				for _, e := range r.Evaluated {
					if e.Plan[0].Dim != 16 && len(e.Plan) > 1 {
						t.Errorf("HNSW plan %s does not start at the graph dim 16", e.Plan)
					}
				}
			}
			knobs := map[int]bool{}
			for _, e := range r.Evaluated {
				knobs[e.Knob] = true
			}
			got, err := r.Check(v, c.first, held, nq/2)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("chosen %s knob %d: held-out recall %.3f", r.Plan, r.Knob, got)
			if got < 0.8 {
				t.Errorf("held-out recall %v, want >= 0.8", got)
			}
			if got := c.reset(); got != c.want {
				t.Errorf("setting after Check = %d, want %d", got, c.want)
			}
		})
	}
	if _, err := index.Tune(v, nil, calib, nq/2, index.TuneOptions{TargetRecall: 0.9, Knobs: []int{4}}); !errors.Is(err, index.ErrOptions) {
		t.Errorf("Tune(Flat with knobs) = %v, want ErrOptions", err)
	}
	other, _ := index.NewVectors(append([]float32(nil), v.Data()...), n, d, mrl.Cosine, nil)
	if _, err := index.Tune(other, h, calib, nq/2, index.TuneOptions{TargetRecall: 0.9}); !errors.Is(err, index.ErrOptions) {
		t.Errorf("Tune(HNSW over other vectors) = %v, want ErrOptions", err)
	}
}

func TestTuneLatency(t *testing.T) {
	const n, d, nq = 2000, 64, 40
	v, q := tuneData(t, n, d, nq)
	// A budget no plan can meet.
	r, err := index.Tune(v, nil, q, nq, index.TuneOptions{MaxLatency: time.Nanosecond})
	if !errors.Is(err, index.ErrNoPlan) || r.Plan == nil || !strings.Contains(err.Error(), "fastest") {
		t.Errorf("Tune(1ns) = %s, %v; want the fastest plan and ErrNoPlan", r.Plan, err)
	}
	// A generous one: the best recall within it, which is exact.
	r, err = index.Tune(v, nil, q, nq, index.TuneOptions{MaxLatency: time.Minute, MaxStages: 1, Keeps: []int{50, 400}})
	if err != nil {
		t.Fatalf("Tune(1 minute): %v", err)
	}
	if r.Recall != 1 {
		t.Errorf("Tune(1 minute) = %s recall %v, want recall 1", r.Plan, r.Recall)
	}
	if err := (index.TuneOptions{MaxLatency: -1, Knobs: []int{0}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "MaxLatency") || !strings.Contains(err.Error(), "knob 0") {
		t.Errorf("Validate(negative latency, knob 0) = %v", err)
	}
}
