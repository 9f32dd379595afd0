package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

const evalHelp = `Usage: mrl eval [flags] CHECKPOINT...

Prints the top-1 accuracy of every nesting dim of each checkpoint (MRL,
MRL-E or FF) on the test split of the data it was trained on, as one table
with a column per checkpoint, and optionally writes it as JSON and CSV.

Example:
  mrl eval runs/fashion-mnist-cnn-mrl.ckpt runs/fashion-mnist-cnn-ff16.ckpt
`

// EvalResult is one checkpoint's per-dim accuracy, as written to JSON.
type EvalResult struct {
	Checkpoint string    `json:"checkpoint"`
	Heads      string    `json:"heads"`
	Arch       string    `json:"arch"`
	Data       string    `json:"data"`
	Split      string    `json:"split"`
	N          int       `json:"n"`
	Dims       []int     `json:"dims"`
	Top1       []float64 `json:"top1"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	dataSpec := fs.String("data", "", "dataset (default: the one the checkpoint was trained on)")
	split := fs.String("split", "test", "test, or val (the checkpoint's held-out part of train)")
	jsonOut := fs.String("json", "", "write the results as JSON to this file")
	csvOut := fs.String("csv", "", "write the results as CSV (checkpoint,heads,dim,top1) to this file")
	threads := fs.Int("threads", 0, "compute threads (default all cores)")
	paths, err := parseInterspersed(fs, evalHelp, args, stderr)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		fs.Usage()
		return errUsage
	}
	if *split != "test" && *split != "val" {
		return fmt.Errorf("--split %q: want test or val", *split)
	}
	if *threads > 0 {
		defer kernel.SetThreads(kernel.SetThreads(*threads))
	}
	var results []EvalResult
	cache := map[string][3]*data.Dataset{}
	for _, path := range paths {
		m, st, _, err := train.LoadModelContext(ctx, path)
		if err != nil {
			return err
		}
		if m.Config.IsText() {
			return fmt.Errorf("%s: %w: mrl eval measures classification accuracy", path, model.ErrTextModel)
		}
		spec := *dataSpec
		seed, valFrac := uint64(1), 0.1
		if st != nil {
			if spec == "" {
				spec = st.Data
			}
			seed, valFrac = st.Options.Seed, st.Options.ValFrac
		}
		if spec == "" {
			return fmt.Errorf("%s: no dataset recorded in the checkpoint: give --data", path)
		}
		key := fmt.Sprintf("%s|%d|%v", spec, seed, valFrac)
		ds, ok := cache[key]
		if !ok {
			tr, val, test, err := loadData(spec, seed, valFrac)
			if err != nil {
				return err
			}
			ds = [3]*data.Dataset{tr, val, test}
			cache[key] = ds
		}
		set := ds[2]
		if *split == "val" {
			set = ds[1]
		}
		if set.Dim != m.InputDim() {
			return fmt.Errorf("%s: the model expects %d features per example, %s has %d", path, m.InputDim(), spec, set.Dim)
		}
		acc, err := m.Evaluate(set.X, set.Y, set.N, 512)
		if err != nil {
			return err
		}
		results = append(results, EvalResult{Checkpoint: path, Heads: m.Config.Heads.String(), Arch: m.Config.Arch.String(), Data: spec,
			Split: *split, N: set.N, Dims: acc.Dims, Top1: acc.Top1})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	writeEvalTable(stdout, results)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *csvOut != "" {
		fh, err := os.Create(*csvOut)
		if err != nil {
			return err
		}
		w := csv.NewWriter(fh)
		w.Write([]string{"checkpoint", "heads", "dim", "top1"})
		for _, r := range results {
			for i, d := range r.Dims {
				w.Write([]string{r.Checkpoint, r.Heads, strconv.Itoa(d), strconv.FormatFloat(r.Top1[i], 'f', 4, 64)})
			}
		}
		w.Flush()
		if err := w.Error(); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeEvalTable prints one row per dim and one column per result, as
// percentages; a model without a classifier at a dim shows "-".
func writeEvalTable(w io.Writer, results []EvalResult) {
	dimSet := map[int]bool{}
	for _, r := range results {
		for _, d := range r.Dims {
			dimSet[d] = true
		}
	}
	var dims []int
	for d := range dimSet {
		dims = append(dims, d)
	}
	sort.Ints(dims)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "dim\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t", label(r))
	}
	fmt.Fprintln(tw)
	for _, d := range dims {
		fmt.Fprintf(tw, "%d\t", d)
		for _, r := range results {
			v := "-"
			for i, rd := range r.Dims {
				if rd == d {
					v = fmt.Sprintf("%.2f", 100*r.Top1[i])
				}
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(results) > 0 {
		fmt.Fprintf(w, "top-1 %% on %s %s (%d examples)\n", results[0].Data, results[0].Split, results[0].N)
	}
}

func label(r EvalResult) string {
	switch r.Heads {
	case "ff":
		return fmt.Sprintf("FF-%d", r.Dims[0])
	case "mrl-e":
		return "MRL-E"
	}
	return "MRL"
}
