package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/model"
)

const quickstartHelp = `Usage: mrl quickstart [flags]

The README's main job: trains a Matryoshka (MRL) MLP on MNIST for a couple of
minutes, prints the top-1 accuracy of every nested dim on the test set, then
uses the embeddings for retrieval (test queries against the training set)
with package index: 1-NN accuracy at every dim (batched exact search), and a
funnel plan that shortlists with a 16-dim prefix and reranks with the full
embedding, one query at a time, against exact full-size search.
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
	if f.arch == model.ArchText {
		return fmt.Errorf("--model text: the quickstart trains on MNIST; train text models with mrl train --model text --pairs FILE")
	}
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
	writeEvalTable(stdout, []EvalResult{{Heads: m.Config.Heads.String(), Data: f.data, Split: "test", N: acc.N, Dims: acc.Dims, Top1: acc.Top1}})

	// Retrieval: database = training split, queries = the first test rows.
	nq := min(*queries, r.test.N)
	d := m.Config.Embed
	slog.Info("embedding for retrieval", "database", r.train.N, "queries", nq)
	db := m.EmbedAll(r.train.X, r.train.N, 512)
	q := m.EmbedAll(r.test.X, nq, 512)
	qLabels := r.test.Y[:nq]
	vecs, err := index.NewVectors(db, r.train.N, d, mrl.Cosine, nil)
	if err != nil {
		return err
	}
	if err := vecs.Prepare(m.Head.Nesting...); err != nil {
		return err
	}
	built, err := index.Build(vecs, index.Spec{}, nil) // exact: Flat
	if err != nil {
		return err
	}
	flat := built.Flat
	fmt.Fprintf(stdout, "\nretrieval: %d test queries against %d training rows, cosine on re-normalised prefixes\n", nq, r.train.N)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dim\t1-NN top-1 %\tbatched search ms\t")
	var hits [][]index.Hit
	for _, dim := range m.Head.Nesting {
		t0 := time.Now()
		hits, err = flat.SearchBatch(q, d, dim, 1, hits)
		if err != nil {
			return err
		}
		el := time.Since(t0)
		ok := 0
		for i, h := range hits {
			if len(h) > 0 && r.train.Y[h[0].Index] == qLabels[i] {
				ok++
			}
		}
		fmt.Fprintf(tw, "%d\t%.2f\t%.1f\t\n", dim, 100*float64(ok)/float64(nq), float64(el.Microseconds())/1000)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	tw.Flush()

	// Funnel: shortlist with the 16-dim prefix, rerank with the full size,
	// one query at a time, against exact full-size search.
	const k = 10
	lo := 16
	if lo >= d {
		lo = max(d/2, 1)
	}
	plan := index.Plan{{Dim: lo, Keep: *shortlist}, {Dim: d, Keep: k}}
	if err := plan.Validate(d, k); err != nil {
		return fmt.Errorf("funnel plan %v: %w", plan, err)
	}
	funnel, err := built.Plan(plan)
	if err != nil {
		return err
	}
	exact := make([][]index.Hit, nq)
	fun := make([][]index.Hit, nq)
	t0 := time.Now()
	for i := range nq {
		if exact[i], err = flat.Search(q[i*d:(i+1)*d], d, k, nil); err != nil {
			return err
		}
	}
	exactTime := time.Since(t0)
	t0 = time.Now()
	for i := range nq {
		if fun[i], err = funnel.Search(q[i*d:(i+1)*d], d, k, nil); err != nil {
			return err
		}
	}
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
		for _, h := range fun[i] {
			if in[h.Index] {
				recall++
			}
			if r.train.Y[h.Index] == qLabels[i] {
				pFunnel++
			}
		}
	}
	den := float64(nq * k)
	fmt.Fprintf(stdout, "\ntop-%d search, one query at a time (%d queries):\n", k, nq)
	fmt.Fprintf(stdout, "  exact, %d dims:          precision@%d %.2f%%  %.3f ms/query  %.1f MFLOP/query\n",
		d, k, 100*pExact/den, exactTime.Seconds()*1000/float64(nq), float64(2*r.train.N*d)/1e6)
	fmt.Fprintf(stdout, "  funnel %-16s  precision@%d %.2f%%  %.3f ms/query  %.1f MFLOP/query  recall@%d vs exact %.2f%%  %.1fx faster\n",
		plan.String()+":", k, 100*pFunnel/den, funnelTime.Seconds()*1000/float64(nq), float64(plan.FLOPs(r.train.N))/1e6, k, 100*recall/den, exactTime.Seconds()/funnelTime.Seconds())
	fmt.Fprintf(stdout, "\ncheckpoint: %s (mrl eval %s)\n", r.path, r.path)
	return nil
}
