package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomrl/mrl/eval"
)

// Claim is one of the paper's claims checked against the measured numbers.
type Claim struct {
	ID        string `json:"id"`        // "a", "b", ...
	Claim     string `json:"claim"`     // the paper's claim, in words
	Criterion string `json:"criterion"` // the test applied, with its threshold
	Measured  string `json:"measured"`  // the numbers the verdict rests on
	Pass      bool   `json:"pass"`
	// Stated marks a comparison reported without a threshold (the text
	// report's MRL against BM25): Pass is meaningless for it.
	Stated bool `json:"stated,omitempty"`
	// Value is the claim's key number: (a) the largest FF − MRL gap in
	// points, (b) the smallest margin over the baselines in points, (c) the
	// FF dim over the matching expected dim, (d) the largest FLOP ratio of
	// a plan within the tolerance.
	Value float64 `json:"value"`
}

// Claims checks the paper's claims (a)-(d) on r with thresholds t. A claim
// whose numbers are missing is a miss that says so.
func Claims(r *Results, t ClaimThresholds) []Claim {
	return []Claim{claimFF(r, t), claimBaselines(r, t), claimAdaptive(r, t), claimFunnel(r, t)}
}

func claimFF(r *Results, t ClaimThresholds) Claim {
	c := Claim{ID: "a", Claim: "MRL is as accurate as an FF model trained for each size",
		Criterion: fmt.Sprintf("MRL head top-1 within %.2g points of FF-k at every dim k", t.FFGap)}
	if len(r.Classification) == 0 {
		c.Measured = "no classification results"
		return c
	}
	worst := -1
	for i, row := range r.Classification {
		if worst < 0 || row.FF-row.MRL > r.Classification[worst].FF-r.Classification[worst].MRL {
			worst = i
		}
	}
	w := r.Classification[worst]
	c.Value = 100 * (w.FF - w.MRL)
	c.Pass = c.Value <= t.FFGap+1e-9
	c.Measured = fmt.Sprintf("largest FF − MRL gap %+.2f points at dim %d (MRL %.2f, FF-%d %.2f)", c.Value, w.Dim, 100*w.MRL, w.Dim, 100*w.FF)
	return c
}

func claimBaselines(r *Results, t ClaimThresholds) Claim {
	c := Claim{ID: "b", Claim: "MRL beats post-hoc compression (SVD) and random features by a wide margin at small dims",
		Criterion: fmt.Sprintf("MRL head top-1 ≥ SVD and Rand. LP + %.2g points at every dim ≤ %d", t.BaselineMargin, t.BaselineMaxDim)}
	worst := -1
	margin := func(row ClassRow) float64 { return 100 * (row.MRL - max(row.SVD, row.RandLP)) }
	for i, row := range r.Classification {
		if row.Dim <= t.BaselineMaxDim && (worst < 0 || margin(row) < margin(r.Classification[worst])) {
			worst = i
		}
	}
	if worst < 0 {
		c.Measured = fmt.Sprintf("no dim ≤ %d", t.BaselineMaxDim)
		return c
	}
	w := r.Classification[worst]
	c.Value = margin(w)
	c.Pass = c.Value >= t.BaselineMargin-1e-9
	c.Measured = fmt.Sprintf("smallest margin %+.2f points at dim %d (MRL %.2f, SVD %.2f, Rand. LP %.2f)", c.Value, w.Dim, 100*w.MRL, 100*w.SVD, 100*w.RandLP)
	return c
}

func claimAdaptive(r *Results, t ClaimThresholds) Claim {
	c := Claim{ID: "c", Claim: "adaptive classification matches the best FF model at a fraction of its size",
		Criterion: fmt.Sprintf("MRL cascade within %.2g points of the best FF top-1 at an expected dim ≥ %gx smaller than that FF model's; operating point chosen on the held-out fit rows", t.AdaptiveTol, t.AdaptiveRatio)}
	i := slices.IndexFunc(r.Adaptive, func(a AdaptiveResult) bool { return a.Model == "MRL" })
	if i < 0 || len(r.Adaptive[i].FF) == 0 {
		c.Measured = "no adaptive classification results"
		return c
	}
	a := r.Adaptive[i]
	best := slices.MaxFunc(a.FF, func(x, y DimAcc) int { return cmpFloat(x.Accuracy, y.Accuracy) })
	if a.Matched == nil {
		c.Measured = fmt.Sprintf("best FF: FF-%d %.2f; no operating point reached it within %.2g points on the fit rows (full cascade %.2f at expected dim %.1f)",
			best.Dim, 100*best.Accuracy, t.AdaptiveTol, 100*a.Cascade.Accuracy, a.Cascade.ExpectedDim)
		return c
	}
	p := a.Matched
	c.Value = float64(best.Dim) / p.ExpectedDim
	gap := 100 * (best.Accuracy - p.Accuracy)
	c.Pass = gap <= t.AdaptiveTol+1e-9 && c.Value >= t.AdaptiveRatio-1e-9
	c.Measured = fmt.Sprintf("best FF: FF-%d %.2f; cascade (%s) %.2f (%+.2f points) at expected dim %.1f, %.1fx smaller",
		best.Dim, 100*best.Accuracy, pointName(*p), 100*p.Accuracy, -gap, p.ExpectedDim, c.Value)
	return c
}

// firstStageDim returns the smallest first-stage dim of the plans, or 0.
func firstStageDim(plans []eval.PlanMetrics) int {
	d1 := 0
	for _, p := range plans {
		s, _, _ := strings.Cut(p.Plan, ":")
		if d, err := strconv.Atoi(s); err == nil && (d1 == 0 || d < d1) {
			d1 = d
		}
	}
	return d1
}

// pointName describes an operating point of the adaptive cascade.
func pointName(p eval.CurvePoint) string {
	if p.MaxDim > 0 {
		return fmt.Sprintf("fitted thresholds, up to dim %d", p.MaxDim)
	}
	return fmt.Sprintf("threshold %.3f at every dim", p.Threshold)
}

func claimFunnel(r *Results, t ClaimThresholds) Claim {
	c := Claim{ID: "d", Claim: "funnel retrieval keeps full-size quality at a fraction of the FLOPs",
		Criterion: fmt.Sprintf("a funnel or adaptive plan with mAP@10 within %.2g%% (relative) of full-size exact search at ≥ %gx fewer FLOPs", 100*t.FunnelTol, t.FunnelRatio)}
	rr := r.Retrieval
	if len(rr.ExactPlans) == 0 {
		c.Measured = "no retrieval results"
		return c
	}
	full := rr.ExactPlans[len(rr.ExactPlans)-1]
	fullMAP, ok := map10(full.Metrics)
	if !ok || full.FLOPs == 0 {
		c.Measured = "no full-size mAP@10"
		return c
	}
	plans := append(slices.Clone(rr.Funnels), rr.Adaptive...)
	if len(plans) == 0 {
		c.Measured = "no funnel or adaptive plans"
		return c
	}
	ratio := func(p eval.PlanMetrics) float64 { return float64(full.FLOPs) / float64(p.FLOPs) }
	within := func(p eval.PlanMetrics) bool {
		m, _ := map10(p.Metrics)
		return m >= fullMAP*(1-t.FunnelTol)-1e-12
	}
	rel := func(p eval.PlanMetrics) float64 {
		m, _ := map10(p.Metrics)
		return 100 * (m - fullMAP) / fullMAP
	}
	// The cheapest plan within the tolerance.
	bestIn := -1
	for i, p := range plans {
		if within(p) && (bestIn < 0 || ratio(p) > ratio(plans[bestIn])) {
			bestIn = i
		}
	}
	dim, _, _ := strings.Cut(full.Plan, ":")
	head := fmt.Sprintf("full size (dim %s): mAP@10 %.2f at %.2f MFLOPs", dim, 100*fullMAP, float64(full.FLOPs)/1e6)
	if bestIn >= 0 {
		p := plans[bestIn]
		c.Value = ratio(p)
		c.Pass = c.Value >= t.FunnelRatio-1e-9
		m, _ := map10(p.Metrics)
		c.Measured = fmt.Sprintf("%s; cheapest plan within %.2g%%: %s, mAP@10 %.2f (%+.2f%%) at %.1fx fewer FLOPs", head, 100*t.FunnelTol, p.Plan, 100*m, rel(p), c.Value)
	} else {
		c.Measured = fmt.Sprintf("%s; no plan is within %.2g%%", head, 100*t.FunnelTol)
	}
	if !c.Pass {
		// Also the best quality among the plans cheap enough.
		bestCheap := -1
		maxRatio := 0.0
		for i, p := range plans {
			maxRatio = math.Max(maxRatio, ratio(p))
			if ratio(p) >= t.FunnelRatio && (bestCheap < 0 || rel(p) > rel(plans[bestCheap])) {
				bestCheap = i
			}
		}
		if bestCheap >= 0 {
			p := plans[bestCheap]
			c.Measured += fmt.Sprintf("; best plan at ≥ %gx: %s, %+.2f%% at %.1fx", t.FunnelRatio, p.Plan, rel(p), ratio(p))
		} else {
			c.Measured += fmt.Sprintf("; no plan reaches %gx (the cheapest is %.1fx", t.FunnelRatio, maxRatio)
			if d1 := firstStageDim(plans); d1 > 0 {
				if full, err := strconv.Atoi(dim); err == nil {
					c.Measured += fmt.Sprintf("; a first stage at dim %d bounds the ratio by %d/%d = %gx before reranking", d1, full, d1, float64(full)/float64(d1))
				}
			}
			c.Measured += ")"
		}
	}
	return c
}
