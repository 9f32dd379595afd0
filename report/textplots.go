package report

import (
	"github.com/gomrl/mrl/eval"

	"gonum.org/v1/plot/plotter"
)

// TextPlots renders a text report's plots: recall@10 against the dim,
// recall@10 against the FLOPs of the plans, section top-1 against the dim
// and the adaptive cascade.
func TextPlots(r *TextResults) ([]Plot, error) {
	var out []Plot
	add := func(name, title, xl, yl string, x axisKind, ss []series) error {
		png, svg, err := render(title, xl, yl, x, ss)
		if err != nil {
			return err
		}
		out = append(out, Plot{Name: name, Title: title, PNG: png, SVG: svg})
		return nil
	}
	rs := func(name string, color int, dashed bool, v func(TextRetrievalRow) float64) series {
		s := series{name: name, color: color, dashed: dashed}
		for _, row := range r.Retrieval {
			s.pts = append(s.pts, plotter.XY{X: float64(row.Dim), Y: 100 * v(row)})
		}
		return s
	}
	bm := series{name: "BM25 (no dim)", color: 1, dashed: true}
	fus := series{name: "BM25+MRL fusion", color: 6}
	for i, row := range r.Retrieval {
		bm.pts = append(bm.pts, plotter.XY{X: float64(row.Dim), Y: 100 * r.BM25.Recall10})
		if i < len(r.Fusion) {
			fus.pts = append(fus.pts, plotter.XY{X: float64(row.Dim), Y: 100 * r.Fusion[i].Recall10})
		}
	}
	if err := add("recall.png", "Synopsis→description recall@10 vs dim", "dim (log2)", "recall@10 (%)", log2X, []series{
		rs("MRL", 0, false, func(x TextRetrievalRow) float64 { return x.MRL.Recall10 }),
		rs("FF-k", 2, false, func(x TextRetrievalRow) float64 { return x.FF.Recall10 }),
		rs("truncation", 4, true, func(x TextRetrievalRow) float64 { return x.Trunc.Recall10 }),
		rs("PCA", 3, true, func(x TextRetrievalRow) float64 { return x.PCA.Recall10 }),
		bm, fus,
	}); err != nil {
		return nil, err
	}
	ps := func(name string, color int, points bool, pm []eval.PairPlanMetrics) series {
		s := series{name: name, color: color, points: points}
		for _, p := range pm {
			if p.FLOPs > 0 {
				s.pts = append(s.pts, plotter.XY{X: float64(p.FLOPs) / 1e6, Y: 100 * p.Metrics.Recall10})
			}
		}
		return s
	}
	if err := add("plans.png", "Retrieval plans: recall@10 vs cost", "MFLOPs per query (log)", "recall@10 (%)", log10X, []series{
		ps("exact at each dim", 0, false, r.Plans.Exact),
		ps("adaptive (shortlist, rerank)", 1, true, r.Plans.Adaptive),
		ps("funnel", 2, true, r.Plans.Funnels),
	}); err != nil {
		return nil, err
	}
	if len(r.Classification) > 0 {
		cs := func(name string, color int, dashed bool, v func(TextClassRow) float64) series {
			s := series{name: name, color: color, dashed: dashed}
			for _, c := range r.Classification {
				s.pts = append(s.pts, plotter.XY{X: float64(c.Dim), Y: 100 * v(c)})
			}
			return s
		}
		if err := add("classification.png", "Section classification: probe top-1 vs dim", "dim (log2)", "top-1 (%)", log2X, []series{
			cs("MRL", 0, false, func(c TextClassRow) float64 { return c.MRL }),
			cs("FF-k", 2, false, func(c TextClassRow) float64 { return c.FF }),
			cs("truncation", 4, true, func(c TextClassRow) float64 { return c.Trunc }),
		}); err != nil {
			return nil, err
		}
	}
	if a := r.Adaptive; a != nil {
		front := series{name: "MRL cascade (threshold sweep, Pareto front)", color: 0}
		for _, p := range a.Front {
			front.pts = append(front.pts, plotter.XY{X: p.ExpectedDim, Y: 100 * p.Accuracy})
		}
		curve := series{name: "MRL cascade (fitted thresholds)", color: 0, dashed: true}
		for _, p := range a.Curve {
			curve.pts = append(curve.pts, plotter.XY{X: p.ExpectedDim, Y: 100 * p.Accuracy})
		}
		ff := series{name: "FF-k probes", color: 2, points: true}
		for _, f := range a.FF {
			ff.pts = append(ff.pts, plotter.XY{X: float64(f.Dim), Y: 100 * f.Accuracy})
		}
		if err := add("adaptive.png", "Adaptive section classification", "expected dim (log2)", "top-1 (%)", log2X, []series{front, curve, ff}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
