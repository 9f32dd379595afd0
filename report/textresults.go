package report

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
)

// KindText marks a text report's results.json ("kind": "text"); an image
// report's has no kind.
const KindText = "text"

// TextResults holds every number of a text report; results.json is its
// JSON. Metrics are fractions in [0, 1].
type TextResults struct {
	Kind   string      `json:"kind"` // KindText
	Setup  TextSetup   `json:"setup"`
	Models []ModelInfo `json:"models"`
	// Retrieval is synopsis→description retrieval per nesting dim.
	Retrieval []TextRetrievalRow `json:"retrieval"`
	// BM25 is the lexical baseline on the same queries and corpus.
	BM25 eval.PairMetrics `json:"bm25"`
	// Fusion is the reciprocal-rank fusion (k = 60) of BM25's ranking and
	// MRL's at each nesting dim (the top 100 of each).
	Fusion []eval.PairMetrics `json:"fusion"`
	// Plans are search plans over MRL's embedding with their cost.
	Plans TextPlans `json:"plans"`
	// Classification is label (section) top-1 of linear probes per dim.
	Classification []TextClassRow `json:"classification"`
	// Adaptive is the cascade over MRL's probes; nil without labels.
	Adaptive *AdaptiveResult   `json:"adaptive,omitempty"`
	Claims   []Claim           `json:"claims"`
	Timings  map[string]string `json:"timings,omitempty"`
}

// TextSetup records what a text report ran on.
type TextSetup struct {
	Data string `json:"data"`
	// Source, Hash and Stats are the text set's: the files read, the
	// SHA-256 of their bytes, and the reader's counts.
	Source string         `json:"source"`
	Hash   string         `json:"sha256"`
	Stats  data.TextStats `json:"stats"`
	Quick  bool           `json:"quick"`
	// Model describes MRL's model; Recipe is the training options as JSON.
	Model   string `json:"model"`
	Nesting []int  `json:"nesting"`
	// LossWeights are MRL's loss weights per nesting dim (empty: all 1).
	LossWeights []float64 `json:"loss_weights,omitempty"`
	Embed       int       `json:"embed"`
	Recipe      string    `json:"recipe"`
	TrainPairs  int       `json:"train_pairs"`
	ValPairs    int       `json:"val_pairs"`
	TestPairs   int       `json:"test_pairs"`
	Queries     int       `json:"queries"`
	Corpus      int       `json:"corpus"`
	Classes     int       `json:"classes"`
	ProbeRows   int       `json:"probe_rows"`
	ProbeIters  int       `json:"probe_iters"`
	ProbeL2     float64   `json:"probe_l2"`
	FitRows     int       `json:"adaptive_fit_rows"`
	EvalRows    int       `json:"adaptive_eval_rows"`
	// BM25 describes the BM25 parameters and analyzer.
	BM25       string              `json:"bm25"`
	Thresholds TextClaimThresholds `json:"claim_thresholds"`
	Seconds    float64             `json:"seconds"` // the whole report, training included
}

// TextRetrievalRow is exact retrieval at one dim: MRL's prefix, FF-dim's
// embedding, the first dim coordinates of the full-size FF encoder
// (truncation of a non-Matryoshka embedding) and its top-dim principal
// components.
type TextRetrievalRow struct {
	Dim   int              `json:"dim"`
	MRL   eval.PairMetrics `json:"mrl"`
	FF    eval.PairMetrics `json:"ff"`
	Trunc eval.PairMetrics `json:"trunc"`
	PCA   eval.PairMetrics `json:"pca"`
}

// TextPlans are search plans over MRL's embedding: exact search at each
// dim (one stage keeping 100), funnels, and adaptive shortlist-and-rerank
// plans.
type TextPlans struct {
	Exact    []eval.PairPlanMetrics `json:"exact"`
	Funnels  []eval.PairPlanMetrics `json:"funnels"`
	Adaptive []eval.PairPlanMetrics `json:"adaptive"`
}

// TextClassRow is label top-1 at one dim of probes fitted on the frozen
// train description embeddings.
type TextClassRow struct {
	Dim   int     `json:"dim"`
	MRL   float64 `json:"mrl"`
	FF    float64 `json:"ff"`
	Trunc float64 `json:"trunc"`
}

// ReadTextResults reads a text report's results.json.
func ReadTextResults(path string) (*TextResults, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := new(TextResults)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if r.Kind != KindText {
		return nil, fmt.Errorf("read %s: kind %q, want %q", path, r.Kind, KindText)
	}
	return r, nil
}

// Render writes the report of the results.json at path (an image or a
// text report's, told apart by its "kind") into dir, as Write or
// WriteText does, and returns the files written. A text report's claims
// are recomputed from its numbers.
func Render(path, dir string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch k.Kind {
	case "":
		r, err := ReadResults(path)
		if err != nil {
			return nil, err
		}
		return Write(dir, r)
	case KindText:
		r, err := ReadTextResults(path)
		if err != nil {
			return nil, err
		}
		// The claims are derived from the numbers: recomputed, so a
		// re-render states them as the current code does.
		r.Claims = TextClaims(r, r.Setup.Thresholds)
		return WriteText(dir, r)
	}
	return nil, fmt.Errorf("read %s: unknown report kind %q", path, k.Kind)
}
