package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/collection"
)

// A collection's input transform (Meta.Input) turns what an upsert or a
// search gives into the vectors the collection stores and scores, on the
// way in; the store itself only ever sees vectors. It has two steps, in
// this order, either of which may be absent:
//
//  1. an attached model (ModelRef) embeds texts (vectors, below);
//  2. an attached Matryoshka adapter (AdapterRef, package adapter) maps
//     every vector, given or embedded, from its input dim to the
//     collection's dim (adapt, below), for points and queries alike.
//
// Both are pinned by the SHA-256 of their file in meta.json. A model is
// loaded by name (POST /v1/models) and a collection refuses texts while
// the model under its name is missing or another; an adapter is read
// from its path in the model root when first needed (after a restart)
// and cached by its SHA-256, and a collection refuses every upsert and
// search (409) while the file at its path is missing or holds another
// adapter, since its given vectors cannot be mapped without it. Its
// stored points are kept and still read, scrolled and deleted.
//
// The adapter lives here, in the server, rather than as an option of the
// embedded store: package collection stores and searches vectors and
// imports no model code (docs/architecture.md), and an adapter, like a
// text model, is a map applied on the way in, which a store on another
// backend (weaviate/backend) then gets for free.

// inputTransform is a collection's Meta.Input resolved against the
// server's loaded models and adapters.
type inputTransform struct {
	collection string
	dim        int // the collection's dim
	ref        *collection.ModelRef
	model      *loadedModel // the attached model, when it is loaded and is the one pinned
	err        error        // why the attached model cannot be used now
	aref       *collection.AdapterRef
	adapter    *adapter.Adapter // the attached adapter, when its file is the one pinned
	aerr       error            // why the attached adapter cannot be used now
}

// inputOf resolves c's input transform. A collection without one, or
// whose model is not loaded, still takes vectors; only texts need the
// model. A collection with an adapter needs it for every vector.
func (s *Server) inputOf(ctx context.Context, c Collection) inputTransform {
	meta := c.Meta()
	t := inputTransform{collection: meta.Name, dim: meta.Dim}
	if meta.Input == nil {
		return t
	}
	if ar := meta.Input.Adapter; ar != nil {
		t.aref = ar
		t.adapter, t.aerr = s.pinnedAdapter(ctx, meta.Name, ar)
	}
	if meta.Input.Model == nil {
		return t
	}
	ref := meta.Input.Model
	t.ref = ref
	s.mu.RLock()
	lm := s.models[ref.Name]
	s.mu.RUnlock()
	switch {
	case lm == nil:
		t.err = errf(409, "conflict", "collection %q embeds texts with model %q, which is not loaded: load its checkpoint with POST /v1/models {\"name\": %q, \"path\": %q} (sha256 %s)",
			meta.Name, ref.Name, ref.Name, ref.Path, ref.SHA256)
	case lm.info.SHA256 != ref.SHA256:
		t.err = errf(409, "conflict", "collection %q was created with model %q of sha256 %s (loaded from %q), but the model loaded as %q now is another (sha256 %s, from %q): load the collection's checkpoint under that name",
			meta.Name, ref.Name, ref.SHA256, ref.Path, ref.Name, lm.info.SHA256, lm.info.Path)
	default:
		t.model = lm
	}
	return t
}

// inputDim is the dim of the vectors the collection's points and queries
// are given as: the adapter's input dim, or the collection's dim.
func (t inputTransform) inputDim() int {
	if t.aref != nil {
		return t.aref.InputDim
	}
	return t.dim
}

// dimNote explains, in a wrong-dim error, where the expected dim comes
// from when it is not the collection's own.
func (t inputTransform) dimNote() string {
	if t.aref == nil {
		return ""
	}
	return fmt.Sprintf(" (the input dim of collection %q's adapter %q, which maps it to the collection dim %d)", t.collection, t.aref.Path, t.dim)
}

// adapt maps vectors of the adapter's input dim (checked by the caller)
// through the collection's adapter into vectors of its dim; without an
// adapter it returns vecs as they are. whats names vecs[i] in errors.
func (t inputTransform) adapt(vecs [][]float32, whats func(i int) string) ([][]float32, error) {
	if t.aref == nil || len(vecs) == 0 {
		return vecs, nil
	}
	if t.aerr != nil {
		return nil, t.aerr
	}
	a := t.adapter
	z, err := a.Apply(flatten(vecs, a.In), len(vecs))
	if err != nil {
		// The caller checked the dims and that every value is finite.
		return nil, fmt.Errorf("collection %s: adapter %s: %w", t.collection, t.aref.Path, err)
	}
	out := make([][]float32, len(vecs))
	for i := range out {
		out[i] = z[i*a.Out : (i+1)*a.Out : (i+1)*a.Out]
		for _, x := range out[i] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, badRequest("%s: the adapter's output overflows float32 (%v): the values are too large for it", whats(i), x)
			}
		}
	}
	return out, nil
}

// pinnedAdapter returns the adapter of collection name pinned by ar: from
// the cache when an adapter of ar's SHA-256 was read before, else read
// from ar.Path in the model root. A missing file, a file of another
// SHA-256 or one that is not an adapter of ar's input dim is a 409 that
// says what to put back.
func (s *Server) pinnedAdapter(ctx context.Context, name string, ar *collection.AdapterRef) (*adapter.Adapter, error) {
	s.mu.RLock()
	a := s.adapters[ar.SHA256]
	s.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	a, sum, err := s.readAdapter(ctx, ar.Path)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.code == "timeout" {
			return nil, err
		}
		msg := err.Error()
		if errors.As(err, &ae) {
			msg = ae.message
		}
		return nil, errf(409, "conflict", "collection %q maps its vectors with adapter %q (sha256 %s), which cannot be read now: %s; put that adapter file back in the server's model root (the collection's points are kept)",
			name, ar.Path, ar.SHA256, msg)
	}
	if sum != ar.SHA256 {
		return nil, errf(409, "conflict", "collection %q was created with adapter %q of sha256 %s, but the file there now has sha256 %s: put the collection's adapter file back at that path (the collection's points are kept)",
			name, ar.Path, ar.SHA256, sum)
	}
	if a.In != ar.InputDim {
		// The same bytes cannot decode to another adapter: meta.json was
		// edited by hand.
		return nil, errf(409, "conflict", "collection %q: adapter %q takes %d dims but the collection's meta says input_dim %d", name, ar.Path, a.In, ar.InputDim)
	}
	s.cacheAdapter(sum, a)
	return a, nil
}

// loadInputs loads, at start, what each collection's input transform
// pins: its model (reloadModel) and its adapter. Reading the adapters now
// puts one missing or changed since the last run in the log at start-up;
// such a collection opens (its points are kept) and refuses upserts and
// searches until the file is put back.
func (s *Server) loadInputs(ctx context.Context) {
	for _, c := range s.store.Collections() {
		meta := c.Meta()
		if meta.Input == nil {
			continue
		}
		if meta.Input.Model != nil {
			s.reloadModel(ctx, meta.Name, meta.Input.Model)
		}
		if meta.Input.Adapter != nil {
			if _, err := s.pinnedAdapter(ctx, meta.Name, meta.Input.Adapter); err != nil {
				s.log.Warn("collection adapter unusable", "collection", meta.Name, "err", err)
			}
		}
	}
}

// readAdapter reads and decodes the adapter file at path in the model
// root and returns it with the file's SHA-256 (hex).
func (s *Server) readAdapter(ctx context.Context, path string) (*adapter.Adapter, string, error) {
	b, err := s.readRootFile(ctx, "adapter", path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	a, err := adapter.Decode(b)
	if err != nil {
		s.log.Warn("adapter load failed", "path", path, "err", err)
		what := "not a valid adapter file"
		if errors.Is(err, adapter.ErrFormat) {
			what = "not a valid adapter file: " + strings.TrimPrefix(err.Error(), adapter.ErrFormat.Error()+": ")
		}
		return nil, "", badRequest("adapter %q: %s", path, what)
	}
	return a, hex.EncodeToString(sum[:]), nil
}

// cacheAdapter keeps a, whose file has SHA-256 sum, for the collections
// pinned to it.
func (s *Server) cacheAdapter(sum string, a *adapter.Adapter) {
	s.mu.Lock()
	if _, ok := s.adapters[sum]; !ok {
		s.adapters[sum] = a
	}
	s.mu.Unlock()
}

// vectors turns texts into vectors of the model's embedding size (the
// collection's dim, or its adapter's input dim, which adapt maps): whats[i]
// names texts[i] in errors. The attached text model embeds them and each
// embedding is scaled to unit L2 norm: a text model is trained on cosine
// similarities, so under metric cosine (which re-normalises every prefix
// it scores) this changes nothing, and under ip or l2 it makes the
// full-dim score the model's cosine.
func (t inputTransform) vectors(s *Server, field string, texts, whats []string) ([][]float32, error) {
	switch {
	case t.ref == nil:
		return nil, badRequest("%s: collection %q has no model attached to embed texts: give vectors, or create the collection with \"model\": NAME (a loaded text model)", field, t.collection)
	case t.err != nil:
		return nil, t.err
	case !t.model.m.Config.IsText():
		return nil, badRequest("%s: the model attached to collection %q, %q, is an image model (arch %s): it does not embed texts; give vectors", field, t.collection, t.ref.Name, t.model.info.Arch)
	}
	if err := s.checkTexts(field, texts, whats); err != nil {
		return nil, err
	}
	z, err := t.model.embedTexts(texts, whats)
	if err != nil {
		return nil, err
	}
	e := t.model.info.Embed
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = z[i*e : (i+1)*e : (i+1)*e]
		normalize(out[i])
	}
	return out, nil
}

// attachInput attaches the model and the adapter a creation request
// names to the collection of shape m (before collection.CheckMeta fills
// its defaults). With an adapter, a dim of 0 becomes its output dim (any
// other must equal it) and its nesting is the default nesting; the model,
// if any, must embed the adapter's input dim. Without one, a dim of 0
// becomes the model's embedding size (any other must equal it) and a text
// model's nesting is the default nesting. Both are pinned by the SHA-256
// of their file.
func (s *Server) attachInput(ctx context.Context, r *CreateCollectionRequest, m *Meta) error {
	in := &collection.InputSpec{}
	embedTo := 0 // the dim the model must embed, 0: set by the model
	if r.Adapter != "" {
		a, sum, err := s.readAdapter(ctx, r.Adapter)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.status == 404 {
				return badRequest("adapter %q: not found in the server's model root", r.Adapter)
			}
			return err
		}
		if m.Dim == 0 {
			m.Dim = a.Out
		}
		if m.Dim != a.Out {
			return badRequest("adapter %q: maps %d dims to %d but the collection's dim is %d: want them equal (or leave dim out)", r.Adapter, a.In, a.Out, m.Dim)
		}
		if len(m.Nesting) == 0 {
			m.Nesting = withLast(a.Nesting, a.Out)
		}
		s.cacheAdapter(sum, a)
		in.Adapter = &collection.AdapterRef{Path: r.Adapter, SHA256: sum, InputDim: a.In}
		embedTo = a.In
	}
	if r.Model != "" {
		ref, err := s.attachModel(r.Model, m, embedTo, r.Adapter)
		if err != nil {
			return err
		}
		in.Model = ref
	}
	m.Input = in
	return nil
}

// withLast returns a copy of nesting ending at last.
func withLast(nesting []int, last int) mrl.Nesting {
	nest := slices.Clone(nesting)
	if len(nest) == 0 || nest[len(nest)-1] != last {
		nest = append(nest, last)
	}
	return mrl.Nesting(nest)
}

// attachModel returns the reference of the loaded model name for the
// collection of shape m: it must embed embedTo dims (the input dim of
// the adapter at adapterPath), or, with embedTo 0, the collection's dim
// (a dim of 0 becomes its embedding size, and a text model's nesting the
// default nesting).
func (s *Server) attachModel(name string, m *Meta, embedTo int, adapterPath string) (*collection.ModelRef, error) {
	if !collection.ValidName(name) {
		return nil, badRequest("model %q: want the name of a loaded model (1 to 64 of A-Z a-z 0-9 _ -)", name)
	}
	s.mu.RLock()
	lm := s.models[name]
	s.mu.RUnlock()
	if lm == nil {
		return nil, badRequest("model %q: not loaded (load it first with POST /v1/models {\"name\": %q, \"path\": CHECKPOINT})", name, name)
	}
	e := lm.info.Embed
	switch {
	case embedTo != 0 && e != embedTo:
		return nil, badRequest("model %q: embeds %d dims but adapter %q takes %d: want them equal", name, e, adapterPath, embedTo)
	case embedTo == 0:
		if m.Dim == 0 {
			m.Dim = e
		}
		if m.Dim != e {
			return nil, badRequest("model %q: embeds %d dims but the collection's dim is %d: want them equal (or leave dim out)", name, e, m.Dim)
		}
		if lm.m.Config.IsText() && len(m.Nesting) == 0 {
			m.Nesting = withLast(lm.info.Nesting, e)
		}
	}
	return &collection.ModelRef{Name: name, Path: lm.info.Path, SHA256: lm.info.SHA256, Arch: lm.info.Arch}, nil
}
