package weaviate

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestTuneOptions(t *testing.T) {
	o := TuneOptions{Target: 0.95}.WithDefaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if o.K != 10 || o.Queries != 100 || o.Window != 10000 || o.Parallel != 4 || len(o.Keeps) == 0 {
		t.Errorf("WithDefaults = %+v", o)
	}
	err := TuneOptions{Target: 1.5, K: -1, Queries: -2, Window: -3, Parallel: -4, Keeps: []int{0}}.Validate()
	if !errors.Is(err, ErrRequest) {
		t.Fatalf("Validate = %v, want ErrRequest", err)
	}
	for _, w := range []string{"target 1.5", "k -1", "queries -2", "window -3", "parallel -4", "keep 0"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error %q does not mention %q", err, w)
		}
	}
	if err := (TuneOptions{}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "target 0") {
		t.Errorf("no target: %v, want an error naming it", err)
	}
}

func TestParallel(t *testing.T) {
	var sum atomic.Int64
	if err := parallel(context.Background(), 100, 4, func(i int) error { sum.Add(int64(i)); return nil }); err != nil || sum.Load() != 4950 {
		t.Errorf("parallel over 0..99 = %v, sum %d; want nil and 4950", err, sum.Load())
	}
	boom := errors.New("boom")
	var ran atomic.Int64
	err := parallel(context.Background(), 1000, 2, func(i int) error {
		ran.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() >= 1000 {
		t.Errorf("parallel with a failure = %v after %d calls; want boom, stopping early", err, ran.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := parallel(ctx, 10, 2, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("parallel on a cancelled context = %v, want context.Canceled", err)
	}
}
