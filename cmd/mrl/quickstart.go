package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/gomrl/mrl/eval"
)

const quickstartHelp = `Usage: mrl quickstart [flags]

The README's main job: trains a Matryoshka (MRL) MLP on MNIST for a couple of
minutes, prints the top-1 accuracy of every nested dim on the test set, then
uses the embeddings for retrieval (test queries against the training set):
1-NN accuracy at every dim, and a funnel that shortlists with a 16-dim prefix
and reranks with the full embedding, against exact full-size search.
Every training flag of "mrl train" applies.
`

func setDefault(fs *flag.FlagSet, name, value string) {
	f := fs.Lookup(name)
	f.DefValue = value
	if err := f.Value.Set(value); err != nil {
		panic(err)
	}
}

func runQuickstart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f trainFlags
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	f.register(fs)
	setDefault(fs, "epochs", "3")
	setDefault(fs, "embed", "512")
	setDefault(fs, "out", "runs/quickstart.ckpt")
	queries := fs.Int("queries", 1000, "number of test queries for the retrieval demo")
	shortlist := fs.Int("shortlist", 200, "funnel: rows kept by the 16-dim first stage")
	if err := parseFlags(fs, quickstartHelp, args, stderr); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	start := time.Now()
	r, _, err := trainModel(ctx, &f, set, stdout, stderr)
	if err != nil {
		return err
	}
	trainTime := time.Since(start)
	m := r.model
	acc, err := m.Evaluate(r.test.X, r.test.Y, r.test.N, 512)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s trained in %v\n\n", m.Describe(), trainTime.Round(time.Second))
	writeEvalTable(stdout, []EvalResult{{Heads: m.Config.Heads, Data: f.data, Split: "test", N: acc.N, Dims: acc.Dims, Top1: acc.Top1}})

	// Retrieval: database = training split, queries = the first test rows.
	nq := min(*queries, r.test.N)
	d := m.Config.Embed
	slog.Info("embedding for retrieval", "database", r.train.N, "queries", nq)
	db := m.EmbedAll(r.train.X, r.train.N, 512)
	q := m.EmbedAll(r.test.X, nq, 512)
	qLabels := r.test.Y[:nq]
	fmt.Fprintf(stdout, "\nretrieval: %d test queries against %d training rows, cosine on re-normalised prefixes\n", nq, r.train.N)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dim\t1-NN top-1 %\tsearch ms\t")
	for _, dim := range m.Head.Nesting {
		t0 := time.Now()
		a := eval.OneNNAccuracy(db, r.train.Y, r.train.N, d, q, qLabels, nq, dim)
		fmt.Fprintf(tw, "%d\t%.2f\t%.1f\t\n", dim, 100*a, float64(time.Since(t0).Microseconds())/1000)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	tw.Flush()

	// Funnel: shortlist with the 16-dim prefix, rerank with the full size.
	const k = 10
	lo := min(16, d)
	dbFull, qFull := eval.PrefixNormalized(db, r.train.N, d, d), eval.PrefixNormalized(q, nq, d, d)
	t0 := time.Now()
	exact := eval.Search(dbFull, r.train.N, d, qFull, nq, d, d, k)
	exactTime := time.Since(t0)
	dbLo, qLo := eval.PrefixNormalized(db, r.train.N, d, lo), eval.PrefixNormalized(q, nq, d, lo)
	t0 = time.Now()
	short := eval.Search(dbLo, r.train.N, lo, qLo, nq, lo, lo, *shortlist)
	funnel := eval.Rerank(dbFull, d, qFull, d, short, d, k, false)
	funnelTime := time.Since(t0)
	recall, pExact, pFunnel := 0.0, 0.0, 0.0
	for i := 0; i < nq; i++ {
		in := map[int32]bool{}
		for _, h := range exact[i] {
			in[h.Index] = true
			if r.train.Y[h.Index] == qLabels[i] {
				pExact++
			}
		}
		for _, h := range funnel[i] {
			if in[h.Index] {
				recall++
			}
			if r.train.Y[h.Index] == qLabels[i] {
				pFunnel++
			}
		}
	}
	den := float64(nq * k)
	fmt.Fprintf(stdout, "\ntop-%d search, %d queries:\n", k, nq)
	fmt.Fprintf(stdout, "  exact, %d dims:                 precision@%d %.2f%%  %v\n", d, k, 100*pExact/den, exactTime.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  funnel %d -> %d rows -> %d dims: precision@%d %.2f%%  recall@%d vs exact %.2f%%  %v (%.1fx faster)\n",
		lo, *shortlist, d, k, 100*pFunnel/den, k, 100*recall/den, funnelTime.Round(time.Millisecond), exactTime.Seconds()/funnelTime.Seconds())
	fmt.Fprintf(stdout, "\ncheckpoint: %s (mrl eval %s)\n", r.path, r.path)
	return nil
}
