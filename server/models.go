package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

// loadedModel is a checkpoint's model; forward passes reuse the model's
// buffers, so they run one at a time.
type loadedModel struct {
	mu   sync.Mutex
	m    *model.Model
	info ModelInfo
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Describe  string `json:"describe"`
	InputDim  int    `json:"input_dim"`
	Embed     int    `json:"embed"`
	Nesting   []int  `json:"nesting"`
	Classes   int    `json:"classes"`
	NumParams int    `json:"num_params"`
}

func (s *Server) modelPath(p string) (string, error) {
	if p == "" {
		return "", badRequest("path: required, the checkpoint file to load")
	}
	if s.opt.ModelRoot == "" {
		return p, nil
	}
	if filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return "", badRequest("path %q: want a relative path inside the server's model root", p)
	}
	return filepath.Join(s.opt.ModelRoot, p), nil
}

func (s *Server) loadModel(w http.ResponseWriter, r *http.Request) error {
	var req LoadModelRequest
	if err := decodeJSON(requestBody(r), &req); err != nil {
		return err
	}
	if !validName(req.Name) {
		return badRequest("name %q: want 1 to 64 of A-Z a-z 0-9 _ -", req.Name)
	}
	path, err := s.modelPath(req.Path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errf(404, "not_found", "checkpoint %q not found", req.Path)
		}
		return badRequest("checkpoint %q: %v", req.Path, err)
	}
	m, _, _, err := train.LoadModel(path)
	if err != nil {
		return badRequest("checkpoint %q: %v", req.Path, err)
	}
	lm := &loadedModel{m: m, info: ModelInfo{Name: req.Name, Path: req.Path, Describe: m.Describe(), InputDim: m.InputDim(),
		Embed: m.Config.Embed, Nesting: slices.Clone(m.Head.Nesting), Classes: m.Config.Classes, NumParams: m.NumParams()}}
	s.mu.Lock()
	_, replaced := s.models[req.Name]
	s.models[req.Name] = lm
	s.mu.Unlock()
	status := 201
	if replaced {
		status = 200
	}
	return writeJSON(w, status, lm.info)
}

func (s *Server) model(r *http.Request) (*loadedModel, error) {
	name := r.PathValue("name")
	s.mu.RLock()
	m := s.models[name]
	s.mu.RUnlock()
	if m == nil {
		return nil, errf(404, "not_found", "model %q not loaded (POST /v1/models first)", name)
	}
	return m, nil
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	s.mu.RLock()
	infos := make([]ModelInfo, 0, len(s.models))
	for _, m := range s.models {
		infos = append(infos, m.info)
	}
	s.mu.RUnlock()
	slices.SortFunc(infos, func(a, b ModelInfo) int { return strings.Compare(a.Name, b.Name) })
	return writeJSON(w, 200, map[string]any{"models": infos})
}

func (s *Server) modelInfo(w http.ResponseWriter, r *http.Request) error {
	m, err := s.model(r)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, m.info)
}

func flatten(in [][]float32, d int) []float32 {
	x := make([]float32, 0, len(in)*d)
	for _, row := range in {
		x = append(x, row...)
	}
	return x
}

// EmbedResponse answers an embed request.
type EmbedResponse struct {
	Dim        int         `json:"dim"`
	Embeddings [][]float32 `json:"embeddings"`
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) error {
	lm, err := s.model(r)
	if err != nil {
		return err
	}
	var req EmbedRequest
	if err := decodeJSON(requestBody(r), &req); err != nil {
		return err
	}
	d := lm.info.InputDim
	if err := checkInputs(req.Inputs, d); err != nil {
		return err
	}
	e := lm.info.Embed
	dim := req.Dim
	if dim == 0 {
		dim = e
	}
	if dim < 1 || dim > e {
		return badRequest("dim: %d, want 1..%d (the embedding size)", req.Dim, e)
	}
	n := len(req.Inputs)
	lm.mu.Lock()
	z := lm.m.EmbedAll(flatten(req.Inputs, d), n, 256)
	lm.mu.Unlock()
	if err := checkOutputs("embedding", z, n, e); err != nil {
		return err
	}
	out := EmbedResponse{Dim: dim, Embeddings: make([][]float32, n)}
	for i := range out.Embeddings {
		out.Embeddings[i] = z[i*e : i*e+dim : i*e+dim]
	}
	return writeJSON(w, 200, out)
}

// Classification is the cascade's answer for one input.
type Classification struct {
	Label      int     `json:"label"`
	Confidence float32 `json:"confidence"`
	Dim        int     `json:"dim"`
}

// ClassifyResponse answers a classify request, with the thresholds used.
type ClassifyResponse struct {
	Results    []Classification `json:"results"`
	Nesting    []int            `json:"nesting"`
	Thresholds []float64        `json:"thresholds"`
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) error {
	lm, err := s.model(r)
	if err != nil {
		return err
	}
	var req ClassifyRequest
	if err := decodeJSON(requestBody(r), &req); err != nil {
		return err
	}
	dims := lm.info.Nesting
	thr := make([]float64, len(dims))
	switch {
	case req.Thresholds != nil && req.Confidence != nil:
		return badRequest("confidence and thresholds: give one, not both")
	case req.Thresholds != nil:
		if len(req.Thresholds) != len(dims) {
			return badRequest("thresholds: %d values, want %d (one per nesting dim %v)", len(req.Thresholds), len(dims), dims)
		}
		for i, t := range req.Thresholds {
			if math.IsNaN(t) || t < 0 || t > 1 {
				return badRequest("thresholds[%d]: %v, want a probability in [0, 1]", i, t)
			}
		}
		copy(thr, req.Thresholds)
	default:
		c := 0.9
		if req.Confidence != nil {
			c = *req.Confidence
		}
		if math.IsNaN(c) || c < 0 || c > 1 {
			return badRequest("confidence: %v, want a probability in [0, 1]", c)
		}
		for i := range thr {
			thr[i] = c
		}
	}
	if err := checkInputs(req.Inputs, lm.info.InputDim); err != nil {
		return err
	}
	n := len(req.Inputs)
	lm.mu.Lock()
	logits := lm.m.LogitsAll(flatten(req.Inputs, lm.info.InputDim), n, 256)
	lm.mu.Unlock()
	for _, l := range logits {
		if err := checkOutputs("logits", l, n, lm.info.Classes); err != nil {
			return err
		}
	}
	conf, err := eval.NewConfidences(logits, n, lm.info.Classes, dims)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	out := ClassifyResponse{Results: make([]Classification, n), Nesting: dims, Thresholds: thr}
	for i := range n {
		g := len(dims) - 1
		for j := range dims {
			if float64(conf.Conf[j][i]) >= thr[j] {
				g = j
				break
			}
		}
		out.Results[i] = Classification{Label: int(conf.Pred[g][i]), Confidence: conf.Conf[g][i], Dim: dims[g]}
	}
	return writeJSON(w, 200, out)
}

// checkOutputs reports the first of n rows of width w in out with a value
// that is not finite: inputs too large for the model's arithmetic.
func checkOutputs(what string, out []float32, n, w int) error {
	for i := range n {
		for _, x := range out[i*w : (i+1)*w] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return badRequest("inputs[%d]: the model's %s overflows float32 (%v): the input values are too large for it", i, what, x)
			}
		}
	}
	return nil
}
