package report

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/gomrl/mrl/eval"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// series is one curve of a plot.
type series struct {
	name   string
	pts    plotter.XYs
	points bool // markers only, no line
	dashed bool
	color  int // index into plotutil's palette
}

// axisKind is the x axis of a plot.
type axisKind int

const (
	linearX axisKind = iota
	log2X            // ticks at powers of two
	log10X           // ticks at powers of ten
)

// pow2Ticks labels the powers of two in [lo, hi].
func pow2Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for v := math.Exp2(math.Floor(math.Log2(lo))); v <= hi*1.0001; v *= 2 {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ts
}

// logTicks labels 1, 2 and 5 times the powers of ten in [lo, hi], with
// unlabelled minor ticks at the other integer multiples.
func logTicks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi; p *= 10 {
		for i := 1; i < 10; i++ {
			v := float64(i) * p
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if i == 1 || i == 2 || i == 5 {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// niceTicks labels about five evenly spaced values of [lo, hi] at a
// "nice" step (1, 2, 2.5 or 5 times a power of ten), with as many decimals
// as the step needs, so that a narrow range (86.9-87.1) gets distinct
// labels; unlabelled minor ticks halve the steps.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}}
	}
	raw := (hi - lo) / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	decimals := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	if d := step / math.Pow(10, -float64(decimals)); math.Abs(d-math.Round(d)) > 1e-9 {
		decimals++ // 2.5 × 10^k needs one more
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		if m := v + step/2; m <= hi {
			ts = append(ts, plot.Tick{Value: m})
		}
	}
	return ts
}

// yRange returns the y range that the plot shows: all the series', except
// that series lying far below the others (a baseline such as random
// features) do not stretch it; those are returned in below, to be drawn
// at the bottom edge and labelled as off-scale.
func yRange(ss []series) (lo, hi float64, below map[int]bool) {
	type span struct {
		i      int
		lo, hi float64
	}
	var spans []span
	for i, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		sp := span{i, math.Inf(1), math.Inf(-1)}
		for _, q := range s.pts {
			sp.lo, sp.hi = math.Min(sp.lo, q.Y), math.Max(sp.hi, q.Y)
		}
		spans = append(spans, sp)
	}
	below = map[int]bool{}
	for {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, sp := range spans {
			if !below[sp.i] {
				lo, hi = math.Min(lo, sp.lo), math.Max(hi, sp.hi)
			}
		}
		// The lowest remaining series is off-scale if its highest point is
		// below the rest by more than the rest's whole range (and the rest
		// is more than one series).
		low := -1
		restLo := math.Inf(1)
		for k, sp := range spans {
			if below[sp.i] {
				continue
			}
			if low < 0 || sp.hi < spans[low].hi {
				low = k
			}
		}
		if low < 0 {
			return lo, hi, below
		}
		n := 0
		restHi := math.Inf(-1)
		for k, sp := range spans {
			if k != low && !below[sp.i] {
				restLo, restHi = math.Min(restLo, sp.lo), math.Max(restHi, sp.hi)
				n++
			}
		}
		if n < 2 || !(restLo-spans[low].hi > math.Max(restHi-restLo, 1e-9)) {
			return lo, hi, below
		}
		below[spans[low].i] = true
	}
}

// legendCorner picks the corner of the plot area whose legend box (about
// 42% of the width, 7% of the height per entry) covers the fewest data
// points, preferring top right, top left, bottom right, bottom left.
func legendCorner(ss []series, xlo, xhi, ylo, yhi float64, logX bool) (top, left bool, covered int) {
	fx := func(x float64) float64 {
		if logX {
			return (math.Log(x) - math.Log(xlo)) / (math.Log(xhi) - math.Log(xlo))
		}
		return (x - xlo) / (xhi - xlo)
	}
	h := legendHeight(len(ss))
	best, bestN := 0, math.MaxInt
	corners := []struct{ top, left bool }{{true, false}, {true, true}, {false, false}, {false, true}}
	for c, k := range corners {
		n := 0
		for _, s := range ss {
			for _, q := range s.pts {
				x, y := fx(q.X), (q.Y-ylo)/(yhi-ylo)
				inX := x >= 0.58
				if k.left {
					inX = x <= 0.42
				}
				inY := y <= h
				if k.top {
					inY = y >= 1-h
				}
				if inX && inY {
					n++
				}
			}
		}
		if n < bestN {
			best, bestN = c, n
		}
	}
	return corners[best].top, corners[best].left, bestN
}

// legendHeight is the fraction of the plot's height legendCorner assumes a
// legend of n entries takes.
func legendHeight(n int) float64 { return 0.04 + 0.07*float64(n) }

// render draws the series and returns the plot as PNG and as SVG.
func render(title, xLabel, yLabel string, x axisKind, ss []series) (pngB, svgB []byte, err error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	ylo, yhi, below := yRange(ss)
	pad := (yhi - ylo) * 0.08
	if pad == 0 {
		pad = math.Max(math.Abs(yhi)*0.01, 0.5)
	}
	ymin, ymax := ylo-pad, yhi+pad
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		pts, name := s.pts, s.name
		if below[i] {
			// Off-scale: drawn on the bottom edge, its values in the legend.
			minY, maxY := math.Inf(1), math.Inf(-1)
			pts = make(plotter.XYs, len(s.pts))
			for j, q := range s.pts {
				minY, maxY = math.Min(minY, q.Y), math.Max(maxY, q.Y)
				pts[j] = plotter.XY{X: q.X, Y: ymin}
			}
			name = fmt.Sprintf("%s (below the axis: %.3g-%.3g)", s.name, minY, maxY)
		}
		for _, q := range pts {
			lo, hi = math.Min(lo, q.X), math.Max(hi, q.X)
		}
		col := plotutil.Color(s.color)
		if s.points {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, nil, fmt.Errorf("plot %q: %w", title, err)
			}
			sc.GlyphStyle.Color = col
			sc.GlyphStyle.Shape = plotutil.Shape(s.color)
			sc.GlyphStyle.Radius = vg.Points(3)
			p.Add(sc)
			p.Legend.Add(name, sc)
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, nil, fmt.Errorf("plot %q: %w", title, err)
		}
		l.Color, sc.Color = col, col
		l.Width = vg.Points(1.5)
		sc.Shape = plotutil.Shape(s.color)
		if s.dashed || below[i] {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l, sc)
		p.Legend.Add(name, l, sc)
	}
	p.Y.Min, p.Y.Max = ymin, ymax
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	logX := false
	if lo > 0 && hi >= lo {
		switch x {
		case log2X:
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.ConstantTicks(pow2Ticks(lo, hi))
			p.X.Min, p.X.Max = lo/1.15, hi*1.15
			logX = true
		case log10X:
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.TickerFunc(logTicks)
			p.X.Min, p.X.Max = lo/1.3, hi*1.3
			logX = true
		}
	}
	var covered int
	p.Legend.Top, p.Legend.Left, covered = legendCorner(ss, p.X.Min, p.X.Max, ymin, ymax, logX)
	if covered > 0 {
		// Every corner would hide data: raise the top of the y axis so
		// that the legend sits above all of it.
		h := math.Min(legendHeight(len(ss)), 0.6)
		ymax = ymin + (ymax-ymin)/(1-h)
		p.Y.Max = ymax
		p.Legend.Top, p.Legend.Left = true, false
	}
	p.Legend.XOffs = -vg.Points(12)
	if p.Legend.Left {
		p.Legend.XOffs = vg.Points(48)
	}
	p.Legend.YOffs = vg.Points(8)
	if p.Legend.Top {
		p.Legend.YOffs = -vg.Points(8)
	}
	out := make([][]byte, 2)
	for i, format := range []string{"png", "svg"} {
		wt, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, format)
		if err != nil {
			return nil, nil, err
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return nil, nil, err
		}
		out[i] = buf.Bytes()
	}
	return out[0], out[1], nil
}

// Plot is a rendered plot of the report.
type Plot struct {
	Name  string // file name, e.g. "accuracy.png"; the SVG is beside it ("accuracy.svg")
	Title string
	PNG   []byte
	SVG   []byte
}

// Plots renders the report's plots.
func Plots(r *Results) ([]Plot, error) {
	var out []Plot
	add := func(name, title, xl, yl string, x axisKind, ss []series) error {
		png, svg, err := render(title, xl, yl, x, ss)
		if err != nil {
			return err
		}
		out = append(out, Plot{Name: name, Title: title, PNG: png, SVG: svg})
		return nil
	}
	dimSeries := func(name string, color int, dashed bool, n int, f func(i int) (float64, float64)) series {
		s := series{name: name, color: color, dashed: dashed}
		for i := 0; i < n; i++ {
			x, y := f(i)
			s.pts = append(s.pts, plotter.XY{X: x, Y: y})
		}
		return s
	}
	c := r.Classification
	cs := func(name string, color int, dashed bool, v func(ClassRow) float64) series {
		return dimSeries(name, color, dashed, len(c), func(i int) (float64, float64) { return float64(c[i].Dim), 100 * v(c[i]) })
	}
	if err := add("accuracy.png", "Top-1 accuracy vs representation size", "dim (log2)", "top-1 (%)", log2X, []series{
		cs("MRL", 0, false, func(r ClassRow) float64 { return r.MRL }),
		cs("MRL-E", 1, false, func(r ClassRow) float64 { return r.MRLE }),
		cs("FF", 2, false, func(r ClassRow) float64 { return r.FF }),
		cs("SVD", 3, true, func(r ClassRow) float64 { return r.SVD }),
		cs("Rand. LP", 4, true, func(r ClassRow) float64 { return r.RandLP }),
	}); err != nil {
		return nil, err
	}
	nn := r.NN
	ns := func(name string, color int, dashed bool, v func(NNRow) float64) series {
		return dimSeries(name, color, dashed, len(nn), func(i int) (float64, float64) { return float64(nn[i].Dim), 100 * v(nn[i]) })
	}
	if err := add("nn.png", "1-NN accuracy vs representation size", "dim (log2)", "1-NN top-1 (%)", log2X, []series{
		ns("MRL", 0, false, func(r NNRow) float64 { return r.MRL }),
		ns("MRL-E", 1, false, func(r NNRow) float64 { return r.MRLE }),
		ns("FF", 2, false, func(r NNRow) float64 { return r.FF }),
		ns("Rand. FS", 4, true, func(r NNRow) float64 { return r.RandFS }),
	}); err != nil {
		return nil, err
	}
	var ad []series
	for j, a := range r.Adaptive {
		front := series{name: a.Model + " cascade (threshold sweep, Pareto front)", color: j}
		for _, p := range a.Front {
			front.pts = append(front.pts, plotter.XY{X: p.ExpectedDim, Y: 100 * p.Accuracy})
		}
		curve := series{name: a.Model + " cascade (fitted thresholds)", color: j, dashed: true}
		for _, p := range a.Curve {
			curve.pts = append(curve.pts, plotter.XY{X: p.ExpectedDim, Y: 100 * p.Accuracy})
		}
		ad = append(ad, front, curve)
	}
	if len(r.Adaptive) > 0 {
		ff := series{name: "FF-k", color: 2, points: true}
		for _, f := range r.Adaptive[0].FF {
			ff.pts = append(ff.pts, plotter.XY{X: float64(f.Dim), Y: 100 * f.Accuracy})
		}
		ad = append(ad, ff)
	}
	if err := add("adaptive.png", "Adaptive classification", "expected dim (log2)", "top-1 (%)", log2X, ad); err != nil {
		return nil, err
	}
	rr := r.Retrieval
	ps := func(name string, color int, points bool, pm []planPoint) series {
		s := series{name: name, color: color, points: points}
		for _, p := range pm {
			s.pts = append(s.pts, plotter.XY{X: p.mflops, Y: 100 * p.map10})
		}
		return s
	}
	if err := add("retrieval.png", "Retrieval: mAP@10 vs cost", "MFLOPs per query (log)", "mAP@10 (%)", log10X, []series{
		ps("exact at each dim", 0, false, planPoints(rr.ExactPlans)),
		ps("adaptive (shortlist, rerank)", 1, true, planPoints(rr.Adaptive)),
		ps("funnel", 2, true, planPoints(rr.Funnels)),
	}); err != nil {
		return nil, err
	}
	var fs []series
	shots := map[int]int{}
	for _, f := range r.FewShot {
		if _, ok := shots[f.Shots]; !ok {
			shots[f.Shots] = len(shots)
		}
	}
	for _, s := range r.Setup.Shots {
		j, ok := shots[s]
		if !ok {
			continue
		}
		mrlS := series{name: fmt.Sprintf("MRL %d-shot", s), color: j}
		ffS := series{name: fmt.Sprintf("FF %d-shot", s), color: j, dashed: true}
		for _, f := range r.FewShot {
			if f.Shots == s {
				mrlS.pts = append(mrlS.pts, plotter.XY{X: float64(f.Dim), Y: 100 * f.MRL})
				ffS.pts = append(ffS.pts, plotter.XY{X: float64(f.Dim), Y: 100 * f.FF})
			}
		}
		fs = append(fs, mrlS, ffS)
	}
	if err := add("fewshot.png", "Few-shot nearest-class-mean accuracy", "dim (log2)", "top-1 (%)", log2X, fs); err != nil {
		return nil, err
	}
	return out, nil
}

type planPoint struct{ mflops, map10 float64 }

func planPoints(ps []eval.PlanMetrics) []planPoint {
	var out []planPoint
	for _, p := range ps {
		m, ok := map10(p.Metrics)
		if ok && p.FLOPs > 0 {
			out = append(out, planPoint{float64(p.FLOPs) / 1e6, m})
		}
	}
	return out
}
