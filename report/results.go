package report

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gomrl/mrl/eval"
)

// Results holds every number of a report; results.json is its JSON.
// Accuracies are fractions in [0, 1].
type Results struct {
	Setup  Setup       `json:"setup"`
	Models []ModelInfo `json:"models"`
	// Classification is the linear top-1 per nesting dim.
	Classification []ClassRow `json:"classification"`
	// NN is the 1-NN top-1 per nesting dim.
	NN []NNRow `json:"nn"`
	// Interpolation is MRL's and MRL-E's probe top-1 at the nesting dims
	// and between them.
	Interpolation []InterpRow       `json:"interpolation"`
	Adaptive      []AdaptiveResult  `json:"adaptive"`
	Retrieval     RetrievalResult   `json:"retrieval"`
	FewShot       []FewShotRow      `json:"few_shot"`
	Claims        []Claim           `json:"claims"`
	Timings       map[string]string `json:"timings,omitempty"` // wall-clock of each stage
}

// Setup records what the report ran on and the size limits it used.
type Setup struct {
	Data       string          `json:"data"`
	Quick      bool            `json:"quick"`
	Nesting    []int           `json:"nesting"`
	Embed      int             `json:"embed"`
	Arch       string          `json:"arch"`
	Recipe     string          `json:"recipe"` // the training options, as JSON
	TrainRows  int             `json:"train_rows"`
	ValRows    int             `json:"val_rows"`
	TestRows   int             `json:"test_rows"`
	ProbeRows  int             `json:"probe_rows"`
	ProbeIters int             `json:"probe_iters"`
	ProbeL2    float64         `json:"probe_l2"`
	DBRows     int             `json:"db_rows"`
	Queries    int             `json:"queries"`
	Shots      []int           `json:"shots"`
	Seeds      int             `json:"few_shot_seeds"`
	FitRows    int             `json:"adaptive_fit_rows"`
	EvalRows   int             `json:"adaptive_eval_rows"`
	Thresholds ClaimThresholds `json:"claim_thresholds"`
	Seconds    float64         `json:"seconds"` // the whole report, training included
}

// ClassRow is linear top-1 at one dim: the heads (MRL, MRL-E and FF-dim),
// probes refitted on the frozen train embeddings, and the baselines.
type ClassRow struct {
	Dim       int     `json:"dim"`
	MRL       float64 `json:"mrl"`
	MRLE      float64 `json:"mrl_e"`
	FF        float64 `json:"ff"`
	MRLProbe  float64 `json:"mrl_probe"`
	MRLEProbe float64 `json:"mrl_e_probe"`
	FFProbe   float64 `json:"ff_probe"`
	// SVD is a probe on the top-dim principal components of the full-size
	// FF embedding.
	SVD float64 `json:"svd"`
	// RandLP is a probe on the first dim coordinates of the full-size FF
	// embedding (the paper's Rand. LP).
	RandLP float64 `json:"rand_lp"`
}

// NNRow is 1-NN top-1 at one dim; RandFS is the first dim coordinates of
// the full-size FF embedding without refit (the paper's Rand. FS).
type NNRow struct {
	Dim    int     `json:"dim"`
	MRL    float64 `json:"mrl"`
	MRLE   float64 `json:"mrl_e"`
	FF     float64 `json:"ff"`
	RandFS float64 `json:"rand_fs"`
}

// InterpRow is probe top-1 at one dim; Nested says whether the dim is in
// the nesting (the models were trained there) or between two nesting dims.
type InterpRow struct {
	Dim    int     `json:"dim"`
	Nested bool    `json:"nested"`
	MRL    float64 `json:"mrl"`
	MRLE   float64 `json:"mrl_e"`
}

// DimAcc is an accuracy at one dim.
type DimAcc struct {
	Dim      int     `json:"dim"`
	Accuracy float64 `json:"accuracy"`
}

// AdaptiveResult is adaptive classification with one model's heads.
// Thresholds are fitted on FitRows test rows, everything else is measured
// on the EvalRows others.
type AdaptiveResult struct {
	Model string `json:"model"`
	// Cascade is the full cascade with the thresholds fitted greedily and
	// pairwise, as the official notebook.
	Cascade eval.CascadeResult `json:"cascade"`
	// Curve is that cascade truncated at each dim.
	Curve []eval.CurvePoint `json:"curve"`
	// Front is the Pareto front of a global threshold sweep (one threshold
	// for every dim) and of Curve.
	Front []eval.CurvePoint `json:"front"`
	// Matched is the cheapest operating point (of Curve and the sweep)
	// whose accuracy on the fit rows reaches the best FF accuracy there
	// minus the claim's tolerance, measured on the eval rows; nil when no
	// point reaches it on the fit rows.
	Matched *eval.CurvePoint  `json:"matched,omitempty"`
	Oracle  eval.OracleResult `json:"oracle"`
	// Heads are the model's own heads alone, and FF the FF-k models, on
	// the eval rows.
	Heads []DimAcc `json:"heads"`
	FF    []DimAcc `json:"ff"`
}

// RetrievalResult is retrieval with the MRL embedding: database = train,
// queries = test, relevant = same label.
type RetrievalResult struct {
	Model string `json:"model"`
	// Exact is exact search at every nesting dim, every cutoff.
	Exact []eval.DimMetrics `json:"exact"`
	// ExactPlans are exact search at each nesting dim as one-stage plans
	// (D, 10): their mAP@10, FLOPs and wall-clock.
	ExactPlans []eval.PlanMetrics `json:"exact_plans"`
	// Adaptive is the grid of shortlist-and-rerank plans.
	Adaptive []eval.PlanMetrics `json:"adaptive"`
	Funnels  []eval.PlanMetrics `json:"funnels"`
}

// FewShotRow is nearest-class-mean accuracy with Shots examples per class
// at one dim, the mean over the seeded draws.
type FewShotRow struct {
	Shots  int     `json:"shots"`
	Dim    int     `json:"dim"`
	MRL    float64 `json:"mrl"`
	MRLE   float64 `json:"mrl_e"`
	FF     float64 `json:"ff"`
	RandFS float64 `json:"rand_fs"`
}

// ReadResults reads a results.json.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := new(Results)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return r, nil
}

// map10 returns the mAP@10 (standard definition) of metrics, and false if
// there is no cutoff 10.
func map10(ms []eval.RankMetrics) (float64, bool) {
	for _, m := range ms {
		if m.K == 10 {
			return m.MAP, true
		}
	}
	return 0, false
}
