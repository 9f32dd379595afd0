package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gomrl/mrl/eval"
)

// Table is one table of the report, rendered as markdown, HTML and CSV.
type Table struct {
	Name   string // CSV file stem: "classification"
	Title  string
	Note   string // a sentence under the title: what the numbers are
	Header []string
	Rows   [][]string
	Plot   string // the PNG shown with the table, if any
}

func p2(x float64) string { return strconv.FormatFloat(100*x, 'f', 2, 64) }

// Tables returns the report's tables, in report order.
func Tables(r *Results) []Table {
	return []Table{
		claimsTable(r), modelsTable(r), classificationTable(r), nnTable(r), interpolationTable(r),
		adaptiveTable(r), adaptiveCurveTable(r), retrievalExactTable(r), retrievalPlansTable(r), fewShotTable(r),
	}
}

func claimsTable(r *Results) Table {
	t := Table{Name: "claims", Title: "Paper claims", Header: []string{"", "Claim", "Criterion", "Measured", "Result"},
		Note: "Each claim of the paper next to the value measured here. A miss is reported as a miss, with its numbers."}
	for _, c := range r.Claims {
		v := "MISS"
		switch {
		case c.Stated:
			v = "stated"
		case c.Pass:
			v = "PASS"
		}
		t.Rows = append(t.Rows, []string{"(" + c.ID + ")", c.Claim, c.Criterion, c.Measured, v})
	}
	return t
}

func modelsTable(r *Results) Table {
	t := Table{Name: "models", Title: "Models", Header: []string{"Model", "Source", "Epochs", "Steps", "Train s", "Samples/s", "Architecture"},
		Note: "Every model is trained with the same recipe; \"cached\" models were loaded from a complete checkpoint of that recipe."}
	for _, m := range r.Models {
		src := "trained"
		if m.Cached {
			src = "cached"
		}
		t.Rows = append(t.Rows, []string{m.Label, src, strconv.Itoa(m.Epochs), strconv.Itoa(m.Steps),
			strconv.FormatFloat(m.TrainSeconds, 'f', 1, 64), strconv.FormatFloat(m.SamplesSec, 'f', 0, 64), m.Describe})
	}
	return t
}

func classificationTable(r *Results) Table {
	t := Table{Name: "classification", Title: "Linear classification top-1 (%)", Plot: "accuracy.png",
		Header: []string{"Dim", "MRL", "MRL-E", "FF", "MRL probe", "MRL-E probe", "FF probe", "SVD", "Rand. LP"},
		Note: "MRL, MRL-E and FF are the trained heads (FF: the FF-dim model). Probes are linear classifiers refitted on frozen train embeddings; " +
			"SVD is a probe on the top-dim principal components of the full-size FF embedding, Rand. LP a probe on its first dim coordinates."}
	for _, c := range r.Classification {
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Dim), p2(c.MRL), p2(c.MRLE), p2(c.FF), p2(c.MRLProbe), p2(c.MRLEProbe), p2(c.FFProbe), p2(c.SVD), p2(c.RandLP)})
	}
	return t
}

func nnTable(r *Results) Table {
	t := Table{Name: "nn", Title: "1-NN top-1 (%)", Plot: "nn.png", Header: []string{"Dim", "MRL", "MRL-E", "FF", "Rand. FS"},
		Note: "Database = train embeddings, queries = test, cosine of re-normalised prefixes. Rand. FS is the first dim coordinates of the full-size FF embedding."}
	for _, c := range r.NN {
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Dim), p2(c.MRL), p2(c.MRLE), p2(c.FF), p2(c.RandFS)})
	}
	return t
}

func interpolationTable(r *Results) Table {
	t := Table{Name: "interpolation", Title: "Interpolation: probe top-1 (%) between nesting dims", Header: []string{"Dim", "Trained", "MRL probe", "MRL-E probe"},
		Note: "Dims marked \"no\" lie between two nesting dims; no loss was ever applied there."}
	for _, c := range r.Interpolation {
		tr := "no"
		if c.Nested {
			tr = "yes"
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(c.Dim), tr, p2(c.MRL), p2(c.MRLE)})
	}
	return t
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func adaptiveTable(r *Results) Table {
	t := Table{Name: "adaptive", Title: "Adaptive classification", Plot: "adaptive.png", Header: []string{"Model", "Operating point", "Top-1 (%)", "Expected dim"},
		Note: fmt.Sprintf("Thresholds fitted on %d held-out test rows (grid 0.1..1, pairwise greedy as the official notebook), measured on the other %d. "+
			"\"Matched\" is the cheapest point reaching the best FF top-1 on the fit rows.", r.Setup.FitRows, r.Setup.EvalRows)}
	for _, a := range r.Adaptive {
		t.Rows = append(t.Rows, []string{a.Model, "cascade, fitted thresholds", p2(a.Cascade.Accuracy), f1(a.Cascade.ExpectedDim)})
		if a.Matched != nil {
			t.Rows = append(t.Rows, []string{a.Model, "matched: " + pointName(*a.Matched), p2(a.Matched.Accuracy), f1(a.Matched.ExpectedDim)})
		} else {
			t.Rows = append(t.Rows, []string{a.Model, "matched: none", "-", "-"})
		}
		t.Rows = append(t.Rows, []string{a.Model, "oracle (smallest right dim)", p2(a.Oracle.Accuracy), f1(a.Oracle.ExpectedDimAll)})
	}
	if len(r.Adaptive) > 0 {
		for _, f := range r.Adaptive[0].FF {
			t.Rows = append(t.Rows, []string{fmt.Sprintf("FF-%d", f.Dim), "fixed", p2(f.Accuracy), strconv.Itoa(f.Dim)})
		}
	}
	return t
}

func adaptiveCurveTable(r *Results) Table {
	t := Table{Name: "adaptive_curve", Title: "Adaptive classification: cascade truncated at each dim", Header: []string{"Model", "Max dim", "Top-1 (%)", "Expected dim", "Head alone (%)"},
		Note: "The fitted cascade stopped at each nesting dim, next to that dim's head on its own (eval rows)."}
	for _, a := range r.Adaptive {
		for i, p := range a.Curve {
			head := "-"
			if i < len(a.Heads) {
				head = p2(a.Heads[i].Accuracy)
			}
			t.Rows = append(t.Rows, []string{a.Model, strconv.Itoa(p.MaxDim), p2(p.Accuracy), f1(p.ExpectedDim), head})
		}
	}
	return t
}

func retrievalExactTable(r *Results) Table {
	t := Table{Name: "retrieval_exact", Title: "Retrieval, exact search at each dim (%)", Header: []string{"Dim", "k", "mAP@k", "mAP@k (official)", "P@k", "R@k", "Hit rate"},
		Note: fmt.Sprintf("%s embedding; %d test queries against %d train rows, relevant = same label (relevant counts from the data). "+
			"mAP@k divides AP by min(k, #relevant); the official code's by k.", r.Retrieval.Model, r.Setup.Queries, r.Setup.DBRows)}
	for _, d := range r.Retrieval.Exact {
		for _, m := range d.Metrics {
			t.Rows = append(t.Rows, []string{strconv.Itoa(d.Dim), strconv.Itoa(m.K), p2(m.MAP), p2(m.MAPOfficial), p2(m.Precision), p2(m.Recall), p2(m.HitRate)})
		}
	}
	return t
}

func retrievalPlansTable(r *Results) Table {
	t := Table{Name: "retrieval_plans", Title: "Retrieval plans: quality against cost", Plot: "retrieval.png",
		Header: []string{"Kind", "Plan", "mAP@10 (%)", "P@10 (%)", "MFLOPs/query", "FLOPs vs full", "ms/query"},
		Note: "Plans are dim:keep stages; cost model n·d₁ + K₁·d₂ + ... multiply-adds per query (FLOPs = 2×). " +
			"Wall-clock is measured on this machine for all queries, one batched first stage and a rerank per later stage."}
	rr := r.Retrieval
	var full int64
	if len(rr.ExactPlans) > 0 {
		full = rr.ExactPlans[len(rr.ExactPlans)-1].FLOPs
	}
	add := func(kind string, ps []eval.PlanMetrics) {
		for _, p := range ps {
			m10, _ := map10(p.Metrics)
			var prec float64
			for _, m := range p.Metrics {
				if m.K == 10 {
					prec = m.Precision
				}
			}
			ratio := "-"
			if p.FLOPs > 0 && full > 0 {
				ratio = strconv.FormatFloat(float64(full)/float64(p.FLOPs), 'f', 1, 64) + "x"
			}
			t.Rows = append(t.Rows, []string{kind, p.Plan, p2(m10), p2(prec), strconv.FormatFloat(float64(p.FLOPs)/1e6, 'f', 3, 64), ratio,
				strconv.FormatFloat(float64(p.PerQuery.Nanoseconds())/1e6, 'f', 3, 64)})
		}
	}
	add("exact", rr.ExactPlans)
	add("funnel", rr.Funnels)
	add("adaptive", rr.Adaptive)
	return t
}

func fewShotTable(r *Results) Table {
	t := Table{Name: "few_shot", Title: "Few-shot nearest-class-mean top-1 (%)", Plot: "fewshot.png", Header: []string{"Shots", "Dim", "MRL", "MRL-E", "FF", "Rand. FS"},
		Note: fmt.Sprintf("Shots per class drawn from the train rows (mean of %d seeded draws); class means of re-normalised prefixes, cosine to test rows.", r.Setup.Seeds)}
	for _, f := range r.FewShot {
		t.Rows = append(t.Rows, []string{strconv.Itoa(f.Shots), strconv.Itoa(f.Dim), p2(f.MRL), p2(f.MRLE), p2(f.FF), p2(f.RandFS)})
	}
	return t
}

// WriteMarkdownTable writes t as a GitHub-flavoured markdown table, cells
// with their pipes escaped.
func WriteMarkdownTable(w io.Writer, t Table) error {
	var b strings.Builder
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + esc.Replace(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if numericColumn(t, i) {
			b.WriteString("--:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// numericColumn reports whether every cell of column i is a number (or
// "-"), possibly followed by "x": such columns are right-aligned.
func numericColumn(t Table, i int) bool {
	for _, r := range t.Rows {
		if i >= len(r) || r[i] == "-" {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSuffix(r[i], "x"), 64); err != nil {
			return false
		}
	}
	return len(t.Rows) > 0
}

// WriteCSV writes t's header and rows as CSV.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	cw.Write(t.Header)
	cw.WriteAll(t.Rows)
	return cw.Error()
}

// setupLines describes what the report ran on, one markdown bullet each.
func setupLines(r *Results) []string {
	s := r.Setup
	mode := "full"
	if s.Quick {
		mode = "quick (CI-sized: tiny models and data subsets; not a reproduction)"
	}
	return []string{
		fmt.Sprintf("Data: %s; %d train rows (%d more held out for validation), %d test rows. Mode: %s.", s.Data, s.TrainRows, s.ValRows, s.TestRows, mode),
		fmt.Sprintf("Models: %s, embedding %d, nesting %v; recipe %s.", s.Arch, s.Embed, s.Nesting, s.Recipe),
		fmt.Sprintf("Probes: fitted on the first %d train rows, at most %d L-BFGS iterations, L2 %g.", s.ProbeRows, s.ProbeIters, s.ProbeL2),
		fmt.Sprintf("1-NN, retrieval and few-shot database: the first %d train rows; %d retrieval queries; few-shot %v shots, %d seeds.", s.DBRows, s.Queries, s.Shots, s.Seeds),
		fmt.Sprintf("Adaptive classification: thresholds fitted on %d test rows, measured on %d.", s.FitRows, s.EvalRows),
		fmt.Sprintf("Report time: %.0f s (training included).", s.Seconds),
	}
}

// WriteMarkdown writes report.md: the setup, then every table with its
// plot.
func WriteMarkdown(w io.Writer, r *Results) error {
	return writeMarkdown(w, "MRL reproduction report: "+r.Setup.Data, setupLines(r), Tables(r))
}

// writeMarkdown writes a report.md of either kind: the title, the setup
// lines as a list, then every table with its note and plot.
func writeMarkdown(w io.Writer, title string, setup []string, tables []Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	for _, l := range setup {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	for _, t := range tables {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", t.Title, t.Note)
		if t.Plot != "" {
			fmt.Fprintf(&b, "![%s](%s)\n\n", t.Title, t.Plot)
		}
		if err := WriteMarkdownTable(&b, t); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
