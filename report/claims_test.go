package report

import (
	"math"
	"strings"
	"testing"

	"github.com/gomrl/mrl/eval"
)

// claimsFixture is a result on which every claim passes by a small margin.
func claimsFixture() *Results {
	r := &Results{}
	for _, d := range []int{8, 16, 32, 64} {
		r.Classification = append(r.Classification, ClassRow{Dim: d, MRL: 0.90, FF: 0.905, SVD: 0.80, RandLP: 0.84})
	}
	r.Adaptive = []AdaptiveResult{{
		Model:   "MRL",
		FF:      []DimAcc{{8, 0.85}, {16, 0.88}, {32, 0.89}, {64, 0.90}},
		Matched: &eval.CurvePoint{Threshold: 0.9, Accuracy: 0.899, ExpectedDim: 7.5},
		Cascade: eval.CascadeResult{Accuracy: 0.899, ExpectedDim: 7.5},
	}}
	plan := func(p string, flops int64, map10 float64) eval.PlanMetrics {
		return eval.PlanMetrics{Plan: p, FLOPs: flops, Metrics: []eval.RankMetrics{{K: 10, MAP: map10}}}
	}
	r.Retrieval = RetrievalResult{
		ExactPlans: []eval.PlanMetrics{plan("8:10", 1000, 0.80), plan("64:10", 8000, 0.90)},
		Funnels:    []eval.PlanMetrics{plan("8:200,64:10", 100, 0.8960)}, // 80x, −0.44%
	}
	return r
}

func TestClaims(t *testing.T) {
	th := DefaultClaimThresholds()
	cases := []struct {
		name   string
		edit   func(r *Results)
		id     string
		pass   bool
		value  float64
		detail string
	}{
		{"a pass", nil, "a", true, 0.5, "at dim 8"},
		{"a exactly 1 point", func(r *Results) { r.Classification[2].FF = 0.91 }, "a", true, 1, "at dim 32"},
		{"a miss", func(r *Results) { r.Classification[1].MRL = 0.89 }, "a", false, 1.5, "gap +1.50 points at dim 16 (MRL 89.00, FF-16 90.50)"},
		{"a MRL above FF", func(r *Results) {
			for i := range r.Classification {
				r.Classification[i].FF = 0.88
			}
		}, "a", true, -2, "-2.00 points"},
		{"b pass", nil, "b", true, 6, "smallest margin +6.00 points"},
		{"b miss SVD close at 32", func(r *Results) { r.Classification[2].SVD = 0.88 }, "b", false, 2, "+2.00 points at dim 32"},
		{"b ignores dims above 32", func(r *Results) { r.Classification[3].SVD = 0.90 }, "b", true, 6, "smallest margin +6.00"},
		{"b miss random features", func(r *Results) { r.Classification[0].RandLP = 0.87 }, "b", false, 3, "Rand. LP 87.00"},
		{"c pass", nil, "c", true, 64 / 7.5, "FF-64 90.00; cascade (threshold 0.900 at every dim) 89.90 (-0.10 points) at expected dim 7.5, 8.5x smaller"},
		{"c miss ratio", func(r *Results) { r.Adaptive[0].Matched.ExpectedDim = 10 }, "c", false, 6.4, "6.4x smaller"},
		{"c miss accuracy", func(r *Results) { r.Adaptive[0].Matched.Accuracy = 0.897 }, "c", false, 64 / 7.5, "(-0.30 points)"},
		{"c miss no point", func(r *Results) { r.Adaptive[0].Matched = nil }, "c", false, 0, "no operating point reached it"},
		{"d pass", nil, "d", true, 80, "8:200,64:10, mAP@10 89.60 (-0.44%) at 80.0x fewer FLOPs"},
		{"d miss quality", func(r *Results) { r.Retrieval.Funnels[0].Metrics[0].MAP = 0.89 }, "d", false, 0,
			"no plan is within 0.5%; best plan at ≥ 64x: 8:200,64:10, -1.11% at 80.0x"},
		{"d miss cost", func(r *Results) { r.Retrieval.Funnels[0].FLOPs = 250 }, "d", false, 32, "at 32.0x fewer FLOPs; no plan reaches 64x (the cheapest is 32.0x; a first stage at dim 8 bounds the ratio by 64/8 = 8x before reranking)"},
		{"d cheapest within tolerance wins", func(r *Results) {
			r.Retrieval.Adaptive = []eval.PlanMetrics{{Plan: "8:100,64:10", FLOPs: 400, Metrics: []eval.RankMetrics{{K: 10, MAP: 0.90}}}}
		}, "d", true, 80, "8:200,64:10"},
		{"a no data", func(r *Results) { r.Classification = nil }, "a", false, 0, "no classification results"},
		{"c no data", func(r *Results) { r.Adaptive = nil }, "c", false, 0, "no adaptive classification results"},
		{"d no data", func(r *Results) { r.Retrieval = RetrievalResult{} }, "d", false, 0, "no retrieval results"},
	}
	for _, tc := range cases {
		r := claimsFixture()
		if tc.edit != nil {
			tc.edit(r)
		}
		var c Claim
		for _, x := range Claims(r, th) {
			if x.ID == tc.id {
				c = x
			}
		}
		if c.Pass != tc.pass || math.Abs(c.Value-tc.value) > 1e-6 || !strings.Contains(c.Measured, tc.detail) {
			t.Errorf("%s: claim (%s) = pass %v, value %v, measured %q; want pass %v, value %v, measured containing %q",
				tc.name, tc.id, c.Pass, c.Value, c.Measured, tc.pass, tc.value, tc.detail)
		}
	}
}

func TestClaimsThresholdsAreParameters(t *testing.T) {
	r := claimsFixture()
	th := DefaultClaimThresholds()
	th.FFGap, th.BaselineMargin, th.AdaptiveRatio, th.FunnelRatio = 0.25, 7, 9, 100
	for _, c := range Claims(r, th) {
		if c.Pass {
			t.Errorf("claim (%s) passes with stricter thresholds %+v: %s", c.ID, th, c.Measured)
		}
	}
}
