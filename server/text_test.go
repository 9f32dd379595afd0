package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

// textPairs are n synthetic (query, document) pairs: a query names 3 of
// its item's 5 concepts in one alphabet, its document all 5 in another,
// so that only a trained model matches them (see train's synthPairs).
// Every document is distinct.
func textPairs(n int, seed uint64) []data.TextPair {
	r := rand.New(rand.NewPCG(seed, 7))
	word := func(alphabet string, c int) string {
		rr := rand.New(rand.NewPCG(uint64(c), uint64(len(alphabet))))
		b := make([]byte, 5+rr.IntN(3))
		for i := range b {
			b[i] = alphabet[rr.IntN(len(alphabet))]
		}
		return string(b)
	}
	seen := map[string]bool{}
	var pairs []data.TextPair
	for len(pairs) < n {
		item := r.Perm(200)[:5]
		var q, d []string
		for j, c := range item {
			if j < 3 {
				q = append(q, word("abcdefghijklm", c))
			}
			d = append(d, word("nopqrstuvwxyz", c))
		}
		doc := strings.Join(d, " ")
		if seen[doc] {
			continue
		}
		seen[doc] = true
		pairs = append(pairs, data.TextPair{Query: strings.Join(q, " "), Doc: doc, Label: -1})
	}
	return pairs
}

// textModel trains a small text model (4096 buckets, 16-d bag, 16-d
// embedding nested 4, 8, 16) for a few epochs on pairs, saves it as
// dir/name and returns it with the checkpoint's SHA-256. It takes well
// under a second.
func textModel(t testing.TB, dir, name string, seed uint64, pairs []data.TextPair) (*model.Model, string) {
	t.Helper()
	m, err := model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 1 << 12},
		BagDim: 16, Embed: 16, Nesting: mrl.Nesting{4, 8, 16}}, seed)
	if err != nil {
		t.Fatal(err)
	}
	trn, err := train.New(m, train.Options{Epochs: 3, BatchSize: 32, Optimizer: "adamw", Schedule: "constant", LR: 0.01, WeightDecay: -1, Seed: seed}, len(pairs))
	if err != nil {
		t.Fatal(err)
	}
	trn.Log = quietLogger()
	if err := trn.RunPairs(context.Background(), pairs, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := train.Save(path, m, nil, "", seed); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return m, hex.EncodeToString(sum[:])
}

// TestTextEndToEnd: a text model trained in the test serves embed over
// HTTP; a collection created with it takes texts in upserts and searches,
// the top hit of each document's own text is that document. After a
// restart from the data directory the server reloads the pinned model
// from the model root; without a model root, or with the checkpoint
// changed on disk, the collection asks for its model, refuses another
// model loaded under its name, and searches the same once the right one
// is loaded.
func TestTextEndToEnd(t *testing.T) {
	modelDir, dataDir := t.TempDir(), t.TempDir()
	pairs := textPairs(320, 1)
	m, sum := textModel(t, modelDir, "text.ckpt", 1, pairs)
	_, otherSum := textModel(t, modelDir, "other.ckpt", 2, pairs)
	if sum == otherSum {
		t.Fatal("two models with one checksum")
	}
	s := newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})

	var mi ModelInfo
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "text.ckpt"}, 201, &mi)
	if mi.Arch != "text" || mi.SHA256 != sum || mi.Embed != 16 || !slices.Equal(mi.Nesting, []int{4, 8, 16}) || mi.Classes != 0 {
		t.Fatalf("model info %+v, want arch text, sha256 %s, embed 16, nesting [4 8 16]", mi, sum)
	}

	// Embed: the model's own embeddings, truncated, and normalised on request.
	texts := []string{pairs[0].Doc, pairs[1].Query, "Unicode: Grüße, 日本語 😀"}
	want, err := m.EmbedTexts(texts, 0)
	if err != nil {
		t.Fatal(err)
	}
	var er EmbedResponse
	mustDo(t, s, "POST", "/v1/models/txt/embed", EmbedRequest{Texts: texts, Dim: 8}, 200, &er)
	if er.Dim != 8 || len(er.Embeddings) != len(texts) {
		t.Fatalf("embed answered dim %d with %d embeddings", er.Dim, len(er.Embeddings))
	}
	for i := range texts {
		if !slices.Equal(er.Embeddings[i], want[i*16:i*16+8]) {
			t.Fatalf("embedding %d = %v, want %v", i, er.Embeddings[i], want[i*16:i*16+8])
		}
	}
	mustDo(t, s, "POST", "/v1/models/txt/embed", EmbedRequest{Texts: texts, Normalize: true}, 200, &er)
	for i, e := range er.Embeddings {
		var ss float64
		for _, x := range e {
			ss += float64(x) * float64(x)
		}
		if len(e) != 16 || math.Abs(ss-1) > 1e-5 {
			t.Fatalf("normalised embedding %d: length %d, squared norm %v", i, len(e), ss)
		}
	}

	// A collection with the model: dim and nesting come from it.
	var info CollectionInfo
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "docs", "model": "txt"}, 201, &info)
	if info.Dim != 16 || !slices.Equal(info.Nesting, mrl.Nesting{4, 8, 16}) || info.Metric != "cosine" || info.Input == nil || info.Input.Model == nil ||
		*info.Input.Model != (ModelRef{Name: "txt", Path: "text.ckpt", SHA256: sum, Arch: "text"}) {
		t.Fatalf("collection %+v input %+v", info, info.Input)
	}
	docs := pairs[:60]
	pts := make([]Point, len(docs))
	for i, p := range docs {
		pts[i] = Point{ID: iid(uint64(100 + i)), Text: p.Doc, Payload: map[string]any{"doc": p.Doc}}
	}
	// One point given as a vector beside the texts.
	pts = append(pts, Point{ID: iid(1), Vector: slices.Repeat([]float32{0.25}, 16)})
	mustDo(t, s, "POST", "/v1/collections/docs/points", UpsertRequest{Points: pts}, 200, nil)
	// The stored vector of a text is its embedding at unit norm.
	var got Point
	mustDo(t, s, "GET", "/v1/collections/docs/points/100", nil, 200, &got)
	emb, err := m.EmbedTexts([]string{docs[0].Doc}, 0)
	if err != nil {
		t.Fatal(err)
	}
	normalize(emb)
	if !slices.Equal(got.Vector, emb) || got.Text != "" {
		t.Fatalf("stored point %+v, want vector %v and no text", got, emb)
	}

	searchTexts := func(t *testing.T, h *Server) {
		t.Helper()
		for i, p := range docs {
			var sr SearchResponse
			mustDo(t, h, "POST", "/v1/collections/docs/search", SearchRequest{Text: p.Doc, K: 3}, 200, &sr)
			if hits := sr.Results[0].Hits; len(hits) == 0 || hits[0].ID != iid(uint64(100+i)) || hits[0].Payload["doc"] != p.Doc {
				t.Fatalf("search of document %d's text: hits %+v, want %d first", i, hits, 100+i)
			}
		}
		qs := make([]string, 10)
		for i := range qs {
			qs[i] = docs[i].Doc
		}
		var sr SearchResponse
		mustDo(t, h, "POST", "/v1/collections/docs/search", SearchRequest{Texts: qs, K: 1, Dim: 8, NoPayload: true}, 200, &sr)
		if len(sr.Results) != len(qs) || sr.Dim != 8 {
			t.Fatalf("batch of texts: %d results at dim %d", len(sr.Results), sr.Dim)
		}
	}
	searchTexts(t, s)
	// Queries (the other half of each pair) find their documents better
	// than chance (1 in 60 at k 10): the model was trained, not just
	// plumbed through.
	found := 0
	for i, p := range docs {
		var sr SearchResponse
		mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Text: p.Query, K: 10, NoPayload: true}, 200, &sr)
		for _, h := range sr.Results[0].Hits {
			if h.ID == iid(uint64(100+i)) {
				found++
			}
		}
	}
	t.Logf("queries whose document is in the top 10 of 61: %d of %d", found, len(docs))
	if found < len(docs)/3 {
		t.Errorf("only %d of %d queries find their document in the top 10", found, len(docs))
	}

	// Restart from the data directory with the model root: the attachment
	// is in meta.json, and the server reloads the pinned checkpoint.
	s.Close()
	s2 := newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})
	mustDo(t, s2, "GET", "/v1/collections/docs", nil, 200, &info)
	if info.Input == nil || info.Input.Model == nil || info.Input.Model.SHA256 != sum || info.Count != len(docs)+1 {
		t.Fatalf("after restart: %+v input %+v", info, info.Input)
	}
	searchTexts(t, s2)
	s2.Close()

	// Without a model root nothing is loaded: texts get the 409 naming the
	// checkpoint, vectors need no model.
	s3 := newServer(t, Options{DataDir: dataDir})
	wantErr(t, s3, "POST", "/v1/collections/docs/search", `{"text":"x y"}`, 409, "conflict",
		`collection "docs" embeds texts with model "txt", which is not loaded: load its checkpoint with POST /v1/models {"name": "txt", "path": "text.ckpt"}`)
	mustDo(t, s3, "POST", "/v1/collections/docs/search", SearchRequest{Vector: slices.Repeat([]float32{0.25}, 16), K: 1}, 200, nil)
	s3.Close()

	// The checkpoint changed on disk since the collection was created: it
	// is not reloaded, and nothing else is lost.
	ckpt := filepath.Join(modelDir, "text.ckpt")
	orig, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join(modelDir, "other.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ckpt, other, 0o644); err != nil {
		t.Fatal(err)
	}
	s4 := newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})
	wantErr(t, s4, "POST", "/v1/collections/docs/search", `{"text":"x y"}`, 409, "conflict", `model "txt", which is not loaded`)
	mustDo(t, s4, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "other.ckpt"}, 201, nil)
	wantErr(t, s4, "POST", "/v1/collections/docs/search", `{"text":"x y"}`, 409, "conflict", "the model loaded as \"txt\" now is another (sha256 "+otherSum)
	wantErr(t, s4, "POST", "/v1/collections/docs/points", `{"points":[{"id":5,"text":"x y"}]}`, 409, "conflict", "now is another")
	if err := os.WriteFile(ckpt, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	mustDo(t, s4, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "text.ckpt"}, 200, nil)
	mustDo(t, s4, "GET", "/v1/collections/docs", nil, 200, &info)
	if info.Count != len(docs)+1 {
		t.Errorf("after the changed checkpoint: %d points, want %d", info.Count, len(docs)+1)
	}
	searchTexts(t, s4)
}

// wantErr sends a request and checks its error answer.
func wantErr(t *testing.T, h *Server, method, path, body string, status int, code, msg string) {
	t.Helper()
	got, b := do(t, h, method, path, body)
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("%s %s: body %q is not an error object: %v", method, path, b, err)
	}
	if got != status || eb.Error.Code != code || !strings.Contains(eb.Error.Message, msg) {
		t.Errorf("%s %s %.80s = %d %s %q, want %d %s containing %q", method, path, body, got, eb.Error.Code, eb.Error.Message, status, code, msg)
	}
}

// TestTextErrors: every way texts and models can be mismatched gets a
// clear error naming the field, and nothing is written.
func TestTextErrors(t *testing.T) {
	dir := t.TempDir()
	pairs := textPairs(64, 3)
	textModel(t, dir, "text.ckpt", 3, pairs)
	tinyModel(t, dir) // an image model: 6 inputs, 8 dims nested 2, 4, 8
	s := newServer(t, Options{ModelRoot: dir, MaxTexts: 3, MaxTextBytes: 40})
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "text.ckpt"}, 201, nil)
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "t", "model": "txt"}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "plain", "dim": 16}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "img", "model": "tiny"}, 201, nil)
	v16 := `[` + strings.TrimSuffix(strings.Repeat("1,", 16), ",") + `]`
	long := strings.Repeat("word ", 9) // 45 bytes
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"embed inputs to a text model", "POST", "/v1/models/txt/embed", `{"inputs":[[1,2]]}`, 400, "bad_request", `inputs: model "txt" is a text model: give texts`},
		{"embed texts to an image model", "POST", "/v1/models/tiny/embed", `{"texts":["a b"]}`, 400, "bad_request", `texts: model "tiny" is an image model (arch mlp): give inputs (flattened images of 6 values)`},
		{"embed no texts", "POST", "/v1/models/txt/embed", `{"texts":[]}`, 400, "bad_request", "texts: empty, want at least 1 text"},
		{"embed neither", "POST", "/v1/models/txt/embed", `{"dim":4}`, 400, "bad_request", "texts: empty"},
		{"embed text without words", "POST", "/v1/models/txt/embed", `{"texts":["fine words","  ... !? "]}`, 400, "bad_request", "texts[1]: no words to embed"},
		{"embed too many texts", "POST", "/v1/models/txt/embed", `{"texts":["a","b","c","d"]}`, 400, "bad_request", "texts: 4 texts in one request, at most 3 (--max-texts)"},
		{"embed text too long", "POST", "/v1/models/txt/embed", `{"texts":["a","` + long + `"]}`, 413, "payload_too_large", "texts[1]: 45 bytes, the limit is 40 per text (--max-text-bytes)"},
		{"embed text bad dim", "POST", "/v1/models/txt/embed", `{"texts":["a"],"dim":17}`, 400, "bad_request", "dim: 17, want 1..16"},
		{"embed text not a string", "POST", "/v1/models/txt/embed", `{"texts":[1]}`, 400, "bad_request", "field texts: got JSON number, want a string"},
		{"classify a text model", "POST", "/v1/models/txt/classify", `{"inputs":[[1]]}`, 400, "bad_request", `model "txt" is a text model: it has no classification heads`},
		{"create with unknown model", "POST", "/v1/collections", `{"name":"x","model":"nope"}`, 400, "bad_request", `model "nope": not loaded (load it first with POST /v1/models`},
		{"create with bad model name", "POST", "/v1/collections", `{"name":"x","model":"a/b"}`, 400, "bad_request", `model "a/b": want the name of a loaded model`},
		{"create with model of another dim", "POST", "/v1/collections", `{"name":"x","dim":8,"model":"txt"}`, 400, "bad_request", `model "txt": embeds 16 dims but the collection's dim is 8`},
		{"create with model, bad nesting", "POST", "/v1/collections", `{"name":"x","model":"txt","nesting":[4,8]}`, 400, "bad_request", "last dim must be the collection dim 16"},
		{"upsert text without a model", "POST", "/v1/collections/plain/points", `{"points":[{"id":1,"text":"some words"}]}`, 400, "bad_request", `points.text: collection "plain" has no model attached to embed texts`},
		{"search text without a model", "POST", "/v1/collections/plain/search", `{"text":"some words"}`, 400, "bad_request", `text: collection "plain" has no model attached`},
		{"search texts without a model", "POST", "/v1/collections/plain/search", `{"texts":["some words"]}`, 400, "bad_request", `texts: collection "plain" has no model attached`},
		{"upsert text to an image model", "POST", "/v1/collections/img/points", `{"points":[{"id":1,"text":"some words"}]}`, 400, "bad_request", `points.text: the model attached to collection "img", "tiny", is an image model (arch mlp): it does not embed texts`},
		{"search text with an image model", "POST", "/v1/collections/img/search", `{"text":"some words"}`, 400, "bad_request", "is an image model (arch mlp)"},
		{"upsert vector and text", "POST", "/v1/collections/t/points", `{"points":[{"id":1,"text":"a b","vector":` + v16 + `}]}`, 400, "bad_request", "points[0]: vector and text: give one, not both"},
		{"search vector and text", "POST", "/v1/collections/t/search", `{"text":"a b","vector":` + v16 + `}`, 400, "bad_request", "vector and text: give one, not both"},
		{"search vectors and texts", "POST", "/v1/collections/t/search", `{"texts":["a b"],"vectors":[` + v16 + `]}`, 400, "bad_request", "vectors and texts: give one, not both"},
		{"search text and texts", "POST", "/v1/collections/t/search", `{"text":"a","texts":["a b"]}`, 400, "bad_request", "text and texts: give one, not both"},
		{"search empty texts", "POST", "/v1/collections/t/search", `{"texts":[]}`, 400, "bad_request", "texts: empty, want at least 1 query"},
		{"search empty text", "POST", "/v1/collections/t/search", `{"text":""}`, 400, "bad_request", "vector or vectors: one is required (or text or texts"},
		{"upsert empty text", "POST", "/v1/collections/t/points", `{"points":[{"id":1,"text":""}]}`, 400, "bad_request", "points[0].vector: length 0, want 16"},
		{"upsert text without words", "POST", "/v1/collections/t/points", `{"points":[{"id":1,"text":"a b"},{"id":2,"vector":` + v16 + `},{"id":3,"text":"--"}]}`, 400, "bad_request", "points[2].text: no words to embed"},
		{"search text without words", "POST", "/v1/collections/t/search", `{"texts":["a","?!"]}`, 400, "bad_request", "texts[1]: no words to embed"},
		{"search text too long", "POST", "/v1/collections/t/search", `{"text":"` + long + `"}`, 413, "payload_too_large", "text: 45 bytes, the limit is 40 per text"},
		{"upsert too many texts", "POST", "/v1/collections/t/points", `{"points":[{"id":1,"text":"a"},{"id":2,"text":"b"},{"id":3,"text":"c"},{"id":4,"text":"d"}]}`, 400, "bad_request", "points.text: 4 texts in one request, at most 3 (--max-texts)"},
		{"search too many texts", "POST", "/v1/collections/t/search", `{"texts":["a","b","c","d"]}`, 400, "bad_request", "texts: 4 texts in one request, at most 3"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, s, tt.method, tt.path, tt.body, tt.status, tt.code, tt.msg) })
	}
	for _, name := range []string{"t", "plain", "img"} {
		var info CollectionInfo
		mustDo(t, s, "GET", "/v1/collections/"+name, nil, 200, &info)
		if info.Count != 0 || info.Seq != 0 {
			t.Errorf("collection %s after bad requests: count %d seq %d, want 0", name, info.Count, info.Seq)
		}
	}
}

// TestTextConcurrent: concurrent embeds and text searches (each on a
// replica of the model, the first on the model itself) answer as one at
// a time would.
func TestTextConcurrent(t *testing.T) {
	dir := t.TempDir()
	pairs := textPairs(64, 5)
	m, _ := textModel(t, dir, "text.ckpt", 5, pairs)
	s := newServer(t, Options{ModelRoot: dir})
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "text.ckpt"}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "t", "model": "txt"}, 201, nil)
	pts := make([]Point, 16)
	for i := range pts {
		pts[i] = Point{ID: iid(uint64(i)), Text: pairs[i].Doc}
	}
	mustDo(t, s, "POST", "/v1/collections/t/points", UpsertRequest{Points: pts}, 200, nil)
	docs := make([]string, 16)
	for i := range docs {
		docs[i] = pairs[i].Doc
	}
	want, err := m.EmbedTexts(docs, 0)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for j := range 4 {
				i := (g*4 + j) % 16
				code, b := do(t, s, "POST", "/v1/models/txt/embed", fmt.Sprintf(`{"texts":[%q]}`, docs[i]))
				var er EmbedResponse
				if code != 200 || json.Unmarshal(b, &er) != nil || !slices.Equal(er.Embeddings[0], want[i*16:(i+1)*16]) {
					errs <- fmt.Errorf("embed of text %d: %d %s", i, code, b)
					return
				}
				code, b = do(t, s, "POST", "/v1/collections/t/search", fmt.Sprintf(`{"text":%q,"k":1,"no_payload":true}`, docs[i]))
				var sr SearchResponse
				if code != 200 || json.Unmarshal(b, &sr) != nil || sr.Results[0].Hits[0].ID != iid(uint64(i)) {
					errs <- fmt.Errorf("search of text %d: %d %s", i, code, b)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
