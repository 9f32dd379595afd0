package index_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl/index"
)

func TestParsePlan(t *testing.T) {
	tests := []struct {
		in      string
		want    index.Plan
		wantErr string // substrings of the error, "|"-separated
	}{
		{in: "16:200,64:50,2048:10", want: index.Plan{{16, 200}, {64, 50}, {2048, 10}}},
		{in: " 8:100 , 32 : 10 ", want: index.Plan{{8, 100}, {32, 10}}},
		{in: "2048:10", want: index.Plan{{2048, 10}}},
		{in: "", wantErr: "empty"},
		{in: "16,64:x,:3,32:10", wantErr: `stage 1: "16"|stage 2: "64:x"|stage 3: ":3"`},
	}
	for _, tt := range tests {
		got, err := index.ParsePlan(tt.in)
		if tt.wantErr != "" {
			if !errors.Is(err, index.ErrPlan) {
				t.Errorf("ParsePlan(%q) error = %v, want %v", tt.in, err, index.ErrPlan)
				continue
			}
			for _, sub := range strings.Split(tt.wantErr, "|") {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("ParsePlan(%q) error = %q, want it to mention %q", tt.in, err, sub)
				}
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePlan(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
		if s := got.String(); s != strings.ReplaceAll(strings.ReplaceAll(tt.in, " ", ""), "\t", "") {
			t.Errorf("ParsePlan(%q).String() = %q", tt.in, s)
		}
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		plan index.Plan
		d, k int
		want []string // every problem expected in the error; nil means valid
	}{
		{index.Plan{{16, 200}, {64, 50}, {2048, 10}}, 2048, 10, nil},
		{index.Plan{{16, 200}, {64, 50}, {2048, 10}}, 2048, 0, nil},
		{index.Plan{{64, 64}}, 64, 64, nil},
		{nil, 64, 10, []string{"no stages"}},
		{
			index.Plan{{0, 100}, {32, 200}, {16, 0}, {128, 5}}, 64, 10,
			[]string{
				"stage 1: dim 0 outside 1..64",
				"stage 2: keep 200 exceeds the previous stage's 100",
				"stage 3: dim 16 does not increase (previous 32)",
				"stage 3: keep 0 is not positive",
				"stage 4: dim 128 outside 1..64",
				"stage 4: keep 5 exceeds the previous stage's 0",
				"last keep 5 is less than k = 10",
			},
		},
		{index.Plan{{16, 100}, {32, 10}}, 64, 10, []string{"last dim 32 is not the full dim 64"}},
	}
	for _, tt := range tests {
		err := tt.plan.Validate(tt.d, tt.k)
		if tt.want == nil {
			if err != nil {
				t.Errorf("Plan(%v).Validate(%d, %d) = %v, want nil", tt.plan, tt.d, tt.k, err)
			}
			continue
		}
		if !errors.Is(err, index.ErrPlan) {
			t.Errorf("Plan(%v).Validate(%d, %d) = %v, want %v", tt.plan, tt.d, tt.k, err, index.ErrPlan)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Plan(%v).Validate(%d, %d) = %q, want it to report %q", tt.plan, tt.d, tt.k, err, w)
			}
		}
	}
}

func TestPlanCost(t *testing.T) {
	p := index.Plan{{16, 200}, {64, 50}, {2048, 10}}
	tests := []struct {
		n    int
		want int64
	}{
		{1_000_000, 1_000_000*16 + 200*64 + 50*2048},
		{100, 100*16 + 100*64 + 50*2048}, // shortlists capped at n
		{0, 0},
	}
	for _, tt := range tests {
		if got := p.MulAdds(tt.n); got != tt.want {
			t.Errorf("Plan(%v).MulAdds(%d) = %d, want %d", p, tt.n, got, tt.want)
		}
		if got := p.FLOPs(tt.n); got != 2*tt.want {
			t.Errorf("Plan(%v).FLOPs(%d) = %d, want %d", p, tt.n, got, 2*tt.want)
		}
	}
}
