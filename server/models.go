package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/matryoshka"
	"github.com/gomrl/mrl/model"
)

// loadedModel is a checkpoint's model; forward passes reuse the model's
// buffers, so they run one at a time.
type loadedModel struct {
	m    *model.Model
	info ModelInfo
	// replicas are models sharing m's weights with buffers of their own,
	// so that requests run their forward passes at the same time.
	replicas replicaList
}

// replica returns a model to run one request's forward pass on; put it
// back with lm.replicas.Put.
func (lm *loadedModel) replica() *model.Model {
	if r := lm.replicas.Get(); r != nil {
		return r
	}
	return lm.m.Replica()
}

// replicaList keeps the replicas of a model that are not in use, up to
// maxIdleReplicas. Unlike a sync.Pool it keeps them across garbage
// collections: a text model's replica holds activation buffers as large
// as its batches, and rebuilding it after every collection made the first
// concurrent requests after each one pay for it again.
type replicaList struct {
	mu   sync.Mutex
	idle []*model.Model
}

// maxIdleReplicas bounds the replicas kept per model: more than the
// requests that can run forward passes at once on a machine of this size
// would only hold memory.
var maxIdleReplicas = max(4, 2*runtime.GOMAXPROCS(0))

// Get returns an idle replica, or nil if none is.
func (l *replicaList) Get() *model.Model {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.idle)
	if n == 0 {
		return nil
	}
	r := l.idle[n-1]
	l.idle[n-1] = nil
	l.idle = l.idle[:n-1]
	return r
}

// Put returns r to the idle list; past maxIdleReplicas it is dropped.
func (l *replicaList) Put(r *model.Model) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.idle) < maxIdleReplicas {
		l.idle = append(l.idle, r)
	}
}

// loadModel reads a checkpoint inside the model root (readModel) and
// loads it under the request's name, replacing a model of that name.
func (s *Server) loadModel(w http.ResponseWriter, r *http.Request) error {
	var req LoadModelRequest
	if err := decodeJSON(requestBody(r), &req); err != nil {
		return err
	}
	if s.modelRoot == nil {
		return errf(403, "forbidden", "loading models over HTTP is off: start the server with --model-root DIR (Options.ModelRoot) to load checkpoints from DIR")
	}
	if !collection.ValidName(req.Name) {
		return badRequest("name %q: want 1 to 64 of A-Z a-z 0-9 _ -", req.Name)
	}
	lm, err := s.readModel(r.Context(), req.Name, req.Path)
	if err != nil {
		return err
	}
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

// readModel reads the checkpoint at path inside the model root
// (readRootFile) as the model name. Errors are *apiError.
func (s *Server) readModel(ctx context.Context, name, path string) (*loadedModel, error) {
	if path == "" {
		return nil, badRequest("path: required, the checkpoint file to load")
	}
	b, err := s.readRootFile(ctx, "checkpoint", path)
	if err != nil {
		return nil, err
	}
	cf, err := checkpoint.Decode(b)
	var m *model.Model
	if err == nil {
		m, err = model.FromCheckpoint(cf)
	}
	if err != nil {
		s.log.Warn("model load failed", "path", path, "err", err)
		what := "not a valid checkpoint"
		switch {
		case errors.Is(err, checkpoint.ErrVersion):
			what = "written by a newer version of mrl"
		case errors.Is(err, model.ErrMismatch):
			what = "its tensors do not match its model"
		}
		return nil, badRequest("checkpoint %q: %s (details in the server log)", path, what)
	}
	nesting := m.Config.Nesting // a text model has no head
	if m.Head != nil {
		nesting = m.Head.Nesting
	}
	sum := sha256.Sum256(b)
	lm := &loadedModel{m: m, info: ModelInfo{Name: name, Path: path, Describe: m.Describe(), InputDim: m.InputDim(),
		Embed: m.Config.Embed, Nesting: slices.Clone(nesting), Classes: m.Config.Classes, NumParams: m.NumParams(),
		Arch: m.Config.Arch.String(), SHA256: hex.EncodeToString(sum[:])}}
	lm.replicas.Put(m) // the first request needs no replica of its own (a text model's costs a bag's worth of memory to build)
	return lm, nil
}

// readRootFile reads the file at path inside the model root, for a
// request: what ("checkpoint", "adapter") names it in errors. The root is
// an os.Root, so neither ".." nor a symlink can leave it; only a regular
// file is opened (a FIFO would block, a device read without end), its
// read is bounded by its size and MaxModelBytes and cancelled with ctx,
// and errors never quote the file's bytes (they go to the server's log).
// Its errors are API errors: 403 without a model root, 404 for a missing
// file, 413, 400 or 503 (cancelled).
func (s *Server) readRootFile(ctx context.Context, what, path string) ([]byte, error) {
	if s.modelRoot == nil {
		return nil, errf(403, "forbidden", "loading %ss over HTTP is off: start the server with --model-root DIR (Options.ModelRoot) to load them from DIR", what)
	}
	if filepath.IsAbs(path) || !filepath.IsLocal(path) {
		return nil, badRequest("path %q: want a relative path inside the server's model root", path)
	}
	st, err := s.modelRoot.Stat(path) // follows symlinks, inside the root only
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errf(404, "not_found", "%s %q not found", what, path)
		}
		s.log.Warn(what+" path refused", "path", path, "err", err)
		return nil, badRequest("%s %q: cannot be opened inside the model root (a symlink out of it, or no permission)", what, path)
	}
	if !st.Mode().IsRegular() {
		return nil, badRequest("%s %q: not a regular file (%v)", what, path, st.Mode().Type())
	}
	if st.Size() > s.opt.MaxModelBytes {
		return nil, errf(413, "payload_too_large", "%s %q: %d bytes, the limit is %d (--max-model-bytes)", what, path, st.Size(), s.opt.MaxModelBytes)
	}
	f, err := s.modelRoot.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) // a FIFO swapped in after the Stat does not block
	if err != nil {
		s.log.Warn(what+" open failed", "path", path, "err", err)
		return nil, badRequest("%s %q: cannot be opened", what, path)
	}
	b, err := checkpoint.Read(ctx, f, s.opt.MaxModelBytes)
	f.Close()
	if err != nil {
		if ctx.Err() != nil {
			return nil, errf(503, "timeout", "loading %s %q cancelled: %v", what, path, ctx.Err())
		}
		s.log.Warn(what+" read failed", "path", path, "err", err)
		if errors.Is(err, checkpoint.ErrTooLarge) {
			return nil, errf(413, "payload_too_large", "%s %q: larger than the limit of %d bytes (--max-model-bytes)", what, path, s.opt.MaxModelBytes)
		}
		return nil, badRequest("%s %q: cannot be read (see the server log)", what, path)
	}
	return b, nil
}

// reloadModel loads, at start, the model ref that collection col pins,
// from the path recorded in its meta, inside the model root, so that a
// restarted server embeds texts for its collections as before. The model
// is loaded under its recorded name only if its checkpoint still has the
// pinned SHA-256; one that is missing, unreadable or changed is left
// unloaded with a warning (the collection still takes vectors, and its
// texts get the 409 that says which checkpoint to load). Two collections
// pinning different checkpoints under one name: the first in name order
// wins, the other gets that 409. Without a model root nothing is loaded.
func (s *Server) reloadModel(ctx context.Context, col string, ref *collection.ModelRef) {
	if s.modelRoot == nil {
		return
	}
	s.mu.RLock()
	lm := s.models[ref.Name]
	s.mu.RUnlock()
	if lm != nil {
		return // loaded for an earlier collection (inputOf checks its hash)
	}
	lm, err := s.readModel(ctx, ref.Name, ref.Path)
	switch {
	case err != nil:
		s.log.Warn("model of a collection not reloaded", "collection", col, "model", ref.Name, "path", ref.Path, "err", err)
		return
	case lm.info.SHA256 != ref.SHA256:
		s.log.Warn("model of a collection not reloaded: its checkpoint changed since the collection was created", "collection", col, "model", ref.Name, "path", ref.Path,
			"sha256", lm.info.SHA256, "pinned", ref.SHA256)
		return
	}
	s.mu.Lock()
	s.models[ref.Name] = lm
	s.mu.Unlock()
	s.log.Info("model of a collection reloaded", "collection", col, "model", ref.Name, "path", ref.Path)
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

func (s *Server) embed(w http.ResponseWriter, r *http.Request) error {
	lm, err := s.model(r)
	if err != nil {
		return err
	}
	var req EmbedRequest
	if err := decodeJSON(requestBody(r), &req); err != nil {
		return err
	}
	text := lm.m.Config.IsText()
	what := "inputs"
	switch {
	case text && req.Inputs != nil:
		return badRequest("inputs: model %q is a text model: give texts (an array of strings), not inputs", lm.info.Name)
	case !text && req.Texts != nil:
		return badRequest("texts: model %q is an image model (arch %s): give inputs (flattened images of %d values), not texts", lm.info.Name, lm.info.Arch, lm.info.InputDim)
	case text:
		what = "texts"
		if err := s.checkTexts("texts", req.Texts, nil); err != nil {
			return err
		}
	default:
		if err := checkInputs(req.Inputs, lm.info.InputDim); err != nil {
			return err
		}
	}
	e := lm.info.Embed
	dim := req.Dim
	if dim == 0 {
		dim = e
	}
	if dim < 1 || dim > e {
		return badRequest("dim: %d, want 1..%d (the embedding size)", req.Dim, e)
	}
	n := len(req.Inputs) + len(req.Texts)
	// A float32 in JSON takes at most 16 bytes ("-1.2345678e-38,").
	if size := n * dim * 16; size > s.opt.MaxResponseBytes {
		return errf(413, "payload_too_large", "%d %s × dim %d could take %d bytes, more than the response limit of %d (--max-response-bytes): send fewer %s or ask for a smaller dim", n, what, dim, size, s.opt.MaxResponseBytes, what)
	}
	var z []float32
	if text {
		var err error
		if z, err = lm.embedTexts(req.Texts, nil); err != nil {
			return err
		}
	} else {
		rm := lm.replica()
		z = rm.EmbedAll(flatten(req.Inputs, lm.info.InputDim), n, 256)
		lm.replicas.Put(rm)
		if err := checkOutputs("embedding", z, n, e); err != nil {
			return err
		}
	}
	out := EmbedResponse{Dim: dim, Embeddings: make([][]float32, n)}
	for i := range out.Embeddings {
		out.Embeddings[i] = z[i*e : i*e+dim : i*e+dim]
		if req.Normalize {
			normalize(out.Embeddings[i])
		}
	}
	return writeJSON(w, 200, out)
}

// embedTexts embeds texts with a text model into [len(texts), Embed]
// rows. A text without words is a 400 naming it: whats[i] names texts[i]
// (nil: "texts[i]").
func (lm *loadedModel) embedTexts(texts []string, whats []string) ([]float32, error) {
	rm := lm.replica()
	z, err := rm.EmbedTexts(texts, 0)
	lm.replicas.Put(rm)
	var nw *model.NoWordsError
	if errors.As(err, &nw) {
		return nil, badRequest("%s: no words to embed (want a letter, digit, CJK character or emoji)", nameOf("texts", whats, nw.Index))
	}
	if err != nil {
		return nil, fmt.Errorf("embed texts with model %s: %w", lm.info.Name, err)
	}
	n, e := len(texts), lm.info.Embed
	for i := range n {
		for _, x := range z[i*e : (i+1)*e] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, badRequest("%s: the model's embedding is not finite (%v)", nameOf("texts", whats, i), x)
			}
		}
	}
	return z, nil
}

// nameOf names item i of a request's field: whats[i], or field[i].
func nameOf(field string, whats []string, i int) string {
	if whats != nil {
		return whats[i]
	}
	return fmt.Sprintf("%s[%d]", field, i)
}

// checkTexts checks the texts a request gives a text model against
// Options.MaxTexts and MaxTextBytes: whats[i] names texts[i] (nil:
// field[i]).
func (s *Server) checkTexts(field string, texts, whats []string) error {
	if len(texts) == 0 {
		return badRequest("%s: empty, want at least 1 text", field)
	}
	if len(texts) > s.opt.MaxTexts {
		return badRequest("%s: %d texts in one request, at most %d (--max-texts)", field, len(texts), s.opt.MaxTexts)
	}
	for i, t := range texts {
		if len(t) > s.opt.MaxTextBytes {
			return errf(413, "payload_too_large", "%s: %d bytes, the limit is %d per text (--max-text-bytes)", nameOf(field, whats, i), len(t), s.opt.MaxTextBytes)
		}
	}
	return nil
}

// normalize scales v to unit L2 norm (a zero v stays zero).
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
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
	if lm.m.Config.IsText() {
		return badRequest("model %q is a text model: it has no classification heads to classify with (embed its texts instead)", lm.info.Name)
	}
	dims := lm.info.Nesting
	thr := make([]float64, len(dims))
	switch {
	case req.Thresholds != nil && req.Confidence != nil:
		return badRequest("confidence and thresholds: give one, not both")
	case req.Thresholds != nil:
		// One per nesting dim; the last dim answers whatever its
		// confidence, so its threshold may be left out (as eval's).
		if len(req.Thresholds) != len(dims) && len(req.Thresholds) != len(dims)-1 {
			return badRequest("thresholds: %d values, want %d (one per nesting dim %v; the last may be left out)", len(req.Thresholds), len(dims), dims)
		}
		for i, t := range req.Thresholds {
			if math.IsNaN(t) || t < 0 || t > 1 {
				return badRequest("thresholds[%d]: %v, want a probability in [0, 1]", i, t)
			}
		}
		thr = append(thr[:0], req.Thresholds...)
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
	rm := lm.replica()
	logits := rm.LogitsAll(flatten(req.Inputs, lm.info.InputDim), n, 256)
	lm.replicas.Put(rm)
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
		g := matryoshka.CascadeExit(thr[:len(dims)-1], func(g int) float32 { return conf.Conf[g][i] })
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
