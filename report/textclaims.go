package report

import (
	"fmt"
	"slices"

	"github.com/gomrl/mrl/eval"
)

// TextClaims checks the text claims of issue 14 on r with thresholds t:
// (a) MRL within t.FFGap points of FF-k recall@10 at every dim, (b) MRL at
// least t.TruncMargin points above truncation at t.TruncDim, (c) a plan
// within t.FunnelTol of full-size recall@10 at ≥ t.FunnelRatio fewer
// FLOPs, and (d), stated without a threshold, MRL at full size against
// BM25 and the fusion. A claim whose numbers are missing is a miss that
// says so.
func TextClaims(r *TextResults, t TextClaimThresholds) []Claim {
	return []Claim{textClaimFF(r, t), textClaimTrunc(r, t), textClaimFunnel(r, t), textClaimBM25(r)}
}

func textClaimFF(r *TextResults, t TextClaimThresholds) Claim {
	c := Claim{ID: "a", Claim: "MRL retrieves as well as a separate encoder trained for each size",
		Criterion: fmt.Sprintf("MRL recall@10 within %.2g points of FF-k at every dim k", t.FFGap)}
	if len(r.Retrieval) == 0 {
		c.Measured = "no retrieval results"
		return c
	}
	gap := func(row TextRetrievalRow) float64 { return 100 * (row.FF.Recall10 - row.MRL.Recall10) }
	w := slices.MaxFunc(r.Retrieval, func(a, b TextRetrievalRow) int { return cmpFloat(gap(a), gap(b)) })
	c.Value = gap(w)
	c.Pass = c.Value <= t.FFGap+1e-9
	c.Measured = fmt.Sprintf("largest FF − MRL gap %+.2f points at dim %d (MRL %.2f, FF-%d %.2f)", c.Value, w.Dim, 100*w.MRL.Recall10, w.Dim, 100*w.FF.Recall10)
	return c
}

func textClaimTrunc(r *TextResults, t TextClaimThresholds) Claim {
	c := Claim{ID: "b", Claim: "MRL beats truncating a non-Matryoshka embedding by a wide margin at a small dim",
		Criterion: fmt.Sprintf("MRL recall@10 at dim %d ≥ truncated full-size FF + %.2g points", t.TruncDim, t.TruncMargin)}
	i := slices.IndexFunc(r.Retrieval, func(row TextRetrievalRow) bool { return row.Dim == t.TruncDim })
	if i < 0 {
		c.Measured = fmt.Sprintf("no dim %d in the nesting", t.TruncDim)
		return c
	}
	w := r.Retrieval[i]
	c.Value = 100 * (w.MRL.Recall10 - w.Trunc.Recall10)
	c.Pass = c.Value >= t.TruncMargin-1e-9
	c.Measured = fmt.Sprintf("margin %+.2f points at dim %d (MRL %.2f, truncation %.2f, PCA %.2f)", c.Value, w.Dim, 100*w.MRL.Recall10, 100*w.Trunc.Recall10, 100*w.PCA.Recall10)
	return c
}

func textClaimFunnel(r *TextResults, t TextClaimThresholds) Claim {
	c := Claim{ID: "c", Claim: "funnel retrieval keeps full-size quality at a fraction of the FLOPs",
		Criterion: fmt.Sprintf("a funnel or adaptive plan with recall@10 within %.2g%% (relative) of full-size exact search at ≥ %gx fewer FLOPs", 100*t.FunnelTol, t.FunnelRatio)}
	pl := r.Plans
	if len(pl.Exact) == 0 {
		c.Measured = "no plan results"
		return c
	}
	full := pl.Exact[len(pl.Exact)-1]
	if full.FLOPs == 0 || full.Metrics.Recall10 == 0 {
		c.Measured = "no full-size recall@10"
		return c
	}
	plans := append(slices.Clone(pl.Funnels), pl.Adaptive...)
	if len(plans) == 0 {
		c.Measured = "no funnel or adaptive plans"
		return c
	}
	f10 := full.Metrics.Recall10
	ratio := func(p eval.PairPlanMetrics) float64 { return float64(full.FLOPs) / float64(p.FLOPs) }
	rel := func(p eval.PairPlanMetrics) float64 { return 100 * (p.Metrics.Recall10 - f10) / f10 }
	speed := func(p eval.PairPlanMetrics) string {
		if p.Wall <= 0 || full.Wall <= 0 {
			return "no wall-clock"
		}
		x, how := float64(full.Wall)/float64(p.Wall), "faster"
		if x < 1 {
			x, how = 1/x, "slower"
		}
		return fmt.Sprintf("wall-clock %.1fx %s than exact search (%.3f vs %.3f ms/query, measured on a busy machine)", x, how,
			float64(p.PerQuery.Nanoseconds())/1e6, float64(full.PerQuery.Nanoseconds())/1e6)
	}
	best := -1
	for i, p := range plans {
		if p.Metrics.Recall10 >= f10*(1-t.FunnelTol)-1e-12 && (best < 0 || ratio(p) > ratio(plans[best])) {
			best = i
		}
	}
	head := fmt.Sprintf("full size (dim %d): recall@10 %.2f at %.2f MFLOPs", full.Metrics.Dim, 100*f10, float64(full.FLOPs)/1e6)
	if best >= 0 {
		p := plans[best]
		c.Value = ratio(p)
		c.Pass = c.Value >= t.FunnelRatio-1e-9
		c.Measured = fmt.Sprintf("%s; cheapest plan within %.2g%%: %s, recall@10 %.2f (%+.2f%%) at %.1fx fewer FLOPs, %s",
			head, 100*t.FunnelTol, p.Plan, 100*p.Metrics.Recall10, rel(p), c.Value, speed(p))
	} else {
		c.Measured = fmt.Sprintf("%s; no plan is within %.2g%%", head, 100*t.FunnelTol)
	}
	if !c.Pass {
		cheap := -1
		for i, p := range plans {
			if ratio(p) >= t.FunnelRatio && (cheap < 0 || rel(p) > rel(plans[cheap])) {
				cheap = i
			}
		}
		if cheap >= 0 {
			p := plans[cheap]
			c.Measured += fmt.Sprintf("; best plan at ≥ %gx: %s, %+.2f%% at %.1fx", t.FunnelRatio, p.Plan, rel(p), ratio(p))
		} else {
			c.Measured += fmt.Sprintf("; no plan reaches %gx", t.FunnelRatio)
		}
	}
	return c
}

func textClaimBM25(r *TextResults) Claim {
	c := Claim{ID: "d", Claim: "MRL at full size against BM25 and their reciprocal-rank fusion", Criterion: "stated, no threshold", Stated: true}
	if len(r.Retrieval) == 0 || len(r.Fusion) == 0 {
		c.Measured = "no retrieval results"
		return c
	}
	m := r.Retrieval[len(r.Retrieval)-1].MRL
	f := r.Fusion[len(r.Fusion)-1]
	b := r.BM25
	c.Value = 100 * (m.Recall10 - b.Recall10)
	c.Measured = fmt.Sprintf("recall@10: MRL (dim %d) %.2f, BM25 %.2f (MRL %+.2f points), fusion %.2f (%+.2f over BM25); MRR@10: MRL %.2f, BM25 %.2f, fusion %.2f",
		m.Dim, 100*m.Recall10, 100*b.Recall10, c.Value, 100*f.Recall10, 100*(f.Recall10-b.Recall10), 100*m.MRR10, 100*b.MRR10, 100*f.MRR10)
	return c
}
