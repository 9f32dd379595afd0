package server

import (
	"slices"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
)

// A collection's input transform (Meta.Input) turns what an upsert or a
// search gives instead of vectors into the vectors the collection stores
// and scores, on the way in; the store itself only ever sees vectors.
// Today it has one step, an attached model that embeds texts (vectors,
// below). A later step that maps vectors to vectors for points and
// queries alike (issue 15's adapters) fits beside it without reshaping
// the API: a field of api.InputSpec persisted in meta.json next to the
// model, resolved with it by inputOf, and a method of inputTransform
// called where upsert and search take their vectors (after embedPoints
// and the search's text case), so that given and embedded vectors both
// pass through it.

// inputTransform is a collection's Meta.Input resolved against the
// server's loaded models.
type inputTransform struct {
	collection string
	ref        *collection.ModelRef
	model      *loadedModel // the attached model, when it is loaded and is the one pinned
	err        error        // why the attached model cannot be used now
}

// inputOf resolves c's input transform. A collection without one, or
// whose model is not loaded, still takes vectors; only texts need the
// model.
func (s *Server) inputOf(c Collection) inputTransform {
	meta := c.Meta()
	t := inputTransform{collection: meta.Name}
	if meta.Input == nil || meta.Input.Model == nil {
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

// vectors turns texts into vectors of the collection's dim: whats[i]
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

// attachModel attaches the loaded model name to the collection of shape m
// (before collection.CheckMeta fills its defaults): a dim of 0 becomes the
// model's embedding size, any other must equal it; a text model's nesting
// is the default nesting (ending at the embedding size). The model is
// pinned by its checkpoint's SHA-256.
func (s *Server) attachModel(name string, m *Meta) error {
	if !collection.ValidName(name) {
		return badRequest("model %q: want the name of a loaded model (1 to 64 of A-Z a-z 0-9 _ -)", name)
	}
	s.mu.RLock()
	lm := s.models[name]
	s.mu.RUnlock()
	if lm == nil {
		return badRequest("model %q: not loaded (load it first with POST /v1/models {\"name\": %q, \"path\": CHECKPOINT})", name, name)
	}
	e := lm.info.Embed
	if m.Dim == 0 {
		m.Dim = e
	}
	if m.Dim != e {
		return badRequest("model %q: embeds %d dims but the collection's dim is %d: want them equal (or leave dim out)", name, e, m.Dim)
	}
	if lm.m.Config.IsText() && len(m.Nesting) == 0 {
		nest := slices.Clone(lm.info.Nesting)
		if len(nest) == 0 || nest[len(nest)-1] != e {
			nest = append(nest, e)
		}
		m.Nesting = mrl.Nesting(nest)
	}
	m.Input = &collection.InputSpec{Model: &collection.ModelRef{Name: name, Path: lm.info.Path, SHA256: lm.info.SHA256, Arch: lm.info.Arch}}
	return nil
}
