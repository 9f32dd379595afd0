package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

// testAdapter writes an adapter file from in to out dims at dir/name and
// returns it with the file's SHA-256. Its weights are small integers and
// halves (a mean, R, b, and a residual MLP whose ReLU cuts some units),
// so that its outputs are exact in float32 whatever the kernels, and the
// golden files hold them byte for byte.
func testAdapter(t testing.TB, dir, name string, in, out int, nesting mrl.Nesting, seed uint64) (*adapter.Adapter, string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, 4*in*in)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	a, err := adapter.New(x, 4*in, in, out, nesting, 3, seed)
	if err != nil {
		t.Fatal(err)
	}
	small := func(w []float32) {
		for i := range w {
			w[i] = float32(r.IntN(5)-2) / 2
		}
	}
	small(a.Mean)
	for _, p := range a.Params() {
		small(p.W)
	}
	path := filepath.Join(dir, name)
	if err := adapter.Save(path, a); err != nil {
		t.Fatal(err)
	}
	return a, fileSHA(t, path)
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// applyOne is a.Apply of one row.
func applyOne(t testing.TB, a *adapter.Adapter, v []float32) []float32 {
	t.Helper()
	z, err := a.Apply(v, 1)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestAdapterCollection: a collection created with an adapter takes
// points and queries as raw vectors of the adapter's input dim, stores
// and searches them mapped through it, refuses a vector of another dim
// naming both dims, and after a restart refuses (409, its points kept)
// while its adapter file is missing or changed, and serves again once the
// file is back.
func TestAdapterCollection(t *testing.T) {
	modelDir, dataDir := t.TempDir(), t.TempDir()
	const in, out = 8, 4
	a, sum := testAdapter(t, modelDir, "a.adapter", in, out, mrl.Nesting{2}, 1)
	s := newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})

	var info CollectionInfo
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "docs", "adapter": "a.adapter", "metric": "l2"}, 201, &info)
	if info.Dim != out || !slices.Equal(info.Nesting, mrl.Nesting{2, 4}) || info.Input == nil || info.Input.Model != nil || info.Input.Adapter == nil ||
		*info.Input.Adapter != (AdapterRef{Path: "a.adapter", SHA256: sum, InputDim: in}) {
		t.Fatalf("collection %+v input %+v, want dim %d, nesting [2 4] and the adapter pinned by %s", info, info.Input, out, sum)
	}

	r := rand.New(rand.NewPCG(2, 2))
	raw := map[uint64][]float32{}
	stored := map[uint64][]float32{}
	var pts []Point
	for id := uint64(1); id <= 40; id++ {
		v := make([]float32, in)
		for j := range v {
			v[j] = float32(r.IntN(9) - 4)
		}
		raw[id] = v
		stored[id] = applyOne(t, a, v)
		pts = append(pts, Point{ID: iid(id), Vector: v})
	}
	mustDo(t, s, "POST", "/v1/collections/docs/points", UpsertRequest{Points: pts}, 200, nil)
	var got Point
	mustDo(t, s, "GET", "/v1/collections/docs/points/7", nil, 200, &got)
	if !slices.Equal(got.Vector, stored[7]) {
		t.Fatalf("stored point 7 = %v, want the adapter's %v of %v", got.Vector, stored[7], raw[7])
	}

	search := func(t *testing.T, h *Server) {
		t.Helper()
		for _, dim := range []int{2, 4} {
			for id := uint64(1); id <= 40; id += 7 {
				var sr SearchResponse
				mustDo(t, h, "POST", "/v1/collections/docs/search", SearchRequest{Vector: raw[id], K: 5, Dim: dim, NoPayload: true}, 200, &sr)
				want := bruteForce(mrl.L2, stored, stored[id], dim, 5)
				if g := hitIDs(sr.Results[0].Hits); overlap(g, want) < 4 || g[0] != want[0] && sr.Results[0].Hits[0].Score != sr.Results[0].Hits[1].Score {
					t.Fatalf("search of raw point %d at dim %d = %v, want the exact top 5 of the adapted points %v", id, dim, g, want)
				}
			}
		}
		var sr SearchResponse
		mustDo(t, h, "POST", "/v1/collections/docs/search", SearchRequest{Vectors: [][]float32{raw[1], raw[2]}, K: 1}, 200, &sr)
		if len(sr.Results) != 2 || sr.Results[0].Hits[0].ID != iid(1) || sr.Results[1].Hits[0].ID != iid(2) {
			t.Fatalf("batch search of raw points 1 and 2: %+v", sr.Results)
		}
	}
	search(t, s)

	note := `(the input dim of collection "docs"'s adapter "a.adapter", which maps it to the collection dim 4)`
	wantErr(t, s, "POST", "/v1/collections/docs/points", `{"points":[{"id":1,"vector":[1,2,3,4]}]}`, 400, "bad_request", "points[0].vector: length 4, want 8 "+note)
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"vector":[1,2,3,4]}`, 400, "bad_request", "vector: length 4, want 8 "+note)
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"vectors":[[1,2,3,4,5,6,7,8],[1]]}`, 400, "bad_request", "vectors[1]: length 1, want 8")
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"vector":[1,2,3,4,5,6,7,8],"dim":8}`, 400, "bad_request", "dim: 8, want 1..4")
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"text":"a b"}`, 400, "bad_request", `text: collection "docs" has no model attached`)

	// A restart with the file in place: the adapter is read again.
	s.Close()
	s = newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})
	search(t, s)

	// A restart with the file gone: the collection opens with its points
	// and refuses upserts and searches, saying what to put back.
	path := filepath.Join(modelDir, "a.adapter")
	keep, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})
	mustDo(t, s, "GET", "/v1/collections/docs", nil, 200, &info)
	if info.Count != 40 {
		t.Fatalf("after a restart without the adapter: count %d, want 40", info.Count)
	}
	mustDo(t, s, "GET", "/v1/collections/docs/points/7", nil, 200, &got)
	if !slices.Equal(got.Vector, stored[7]) {
		t.Fatalf("point 7 after a restart without the adapter = %v, want %v", got.Vector, stored[7])
	}
	missing := `collection "docs" maps its vectors with adapter "a.adapter" (sha256 ` + sum + `), which cannot be read now: adapter "a.adapter" not found; put that adapter file back`
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"vector":[1,2,3,4,5,6,7,8]}`, 409, "conflict", missing)
	wantErr(t, s, "POST", "/v1/collections/docs/points", `{"points":[{"id":99,"vector":[1,2,3,4,5,6,7,8]}]}`, 409, "conflict", missing)
	// Put back without a restart: served again.
	if err := os.WriteFile(path, keep, 0o644); err != nil {
		t.Fatal(err)
	}
	search(t, s)

	// A restart with another adapter at the path: refused, naming both
	// checksums.
	_, other := testAdapter(t, modelDir, "a.adapter", in, out, mrl.Nesting{2}, 9)
	s.Close()
	s = newServer(t, Options{DataDir: dataDir, ModelRoot: modelDir})
	wantErr(t, s, "POST", "/v1/collections/docs/search", `{"vector":[1,2,3,4,5,6,7,8]}`, 409, "conflict",
		`collection "docs" was created with adapter "a.adapter" of sha256 `+sum+`, but the file there now has sha256 `+other+`: put the collection's adapter file back`)
	wantErr(t, s, "POST", "/v1/collections/docs/points", `{"points":[{"id":99,"vector":[1,2,3,4,5,6,7,8]}]}`, 409, "conflict", "now has sha256 "+other)
	mustDo(t, s, "GET", "/v1/collections/docs", nil, 200, &info)
	if info.Count != 40 || info.Seq != 1 {
		t.Fatalf("after refused writes: count %d seq %d, want 40 and 1", info.Count, info.Seq)
	}
	if err := os.WriteFile(path, keep, 0o644); err != nil {
		t.Fatal(err)
	}
	search(t, s)
}

// TestAdapterCreateErrors: every way an adapter can be mismatched at a
// collection's creation gets a clear error, and no collection is made.
func TestAdapterCreateErrors(t *testing.T) {
	dir := t.TempDir()
	testAdapter(t, dir, "a.adapter", 8, 4, mrl.Nesting{2}, 1)
	tinyModel(t, dir) // an image model of 8 dims
	m, err := model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 64}, BagDim: 4, Embed: 6, Nesting: mrl.Nesting{3, 6}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Save(filepath.Join(dir, "text6.ckpt"), m, nil, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.adapter"), []byte("not an adapter"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{ModelRoot: dir})
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "txt6", Path: "text6.ckpt"}, 201, nil)
	noRoot := newServer(t, Options{})
	for _, tt := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"dim differs", `{"name":"x","dim":8,"adapter":"a.adapter"}`, 400, "bad_request", `adapter "a.adapter": maps 8 dims to 4 but the collection's dim is 8`},
		{"not found", `{"name":"x","adapter":"b.adapter"}`, 400, "bad_request", `adapter "b.adapter": not found in the server's model root`},
		{"outside the root", `{"name":"x","adapter":"../a.adapter"}`, 400, "bad_request", `path "../a.adapter": want a relative path inside the server's model root`},
		{"not an adapter", `{"name":"x","adapter":"junk.adapter"}`, 400, "bad_request", `adapter "junk.adapter": not a valid adapter file`},
		{"a model checkpoint", `{"name":"x","adapter":"tiny.ckpt"}`, 400, "bad_request", `adapter "tiny.ckpt": not a valid adapter file: kind "", want "mrl-adapter"`},
		{"model of another dim", `{"name":"x","adapter":"a.adapter","model":"txt6"}`, 400, "bad_request", `model "txt6": embeds 6 dims but adapter "a.adapter" takes 8: want them equal`},
		{"bad nesting", `{"name":"x","adapter":"a.adapter","nesting":[2,8]}`, 400, "bad_request", "nesting"},
		{"not a string", `{"name":"x","adapter":1}`, 400, "bad_request", "field adapter: got JSON number, want a string"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, s, "POST", "/v1/collections", tt.body, tt.status, tt.code, tt.msg) })
	}
	wantErr(t, noRoot, "POST", "/v1/collections", `{"name":"x","adapter":"a.adapter"}`, 403, "forbidden", "loading adapters over HTTP is off: start the server with --model-root DIR")
	var list struct{ Collections []CollectionInfo }
	mustDo(t, s, "GET", "/v1/collections", nil, 200, &list)
	if len(list.Collections) != 0 {
		t.Errorf("after refused creations: %d collections", len(list.Collections))
	}
}

// TestAdapterWithTextModel: a collection with a text model and an adapter
// embeds texts with the model (unit norm, as without an adapter) and maps
// them through the adapter, as it maps given vectors of the model's size.
func TestAdapterWithTextModel(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 256}, BagDim: 8, Embed: 8, Nesting: mrl.Nesting{4, 8}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Save(filepath.Join(dir, "text.ckpt"), m, nil, "", 3); err != nil {
		t.Fatal(err)
	}
	a, sum := testAdapter(t, dir, "t.adapter", 8, 4, mrl.Nesting{2}, 5)
	s := newServer(t, Options{ModelRoot: dir})
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "txt", Path: "text.ckpt"}, 201, nil)
	var info CollectionInfo
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "docs", "model": "txt", "adapter": "t.adapter"}, 201, &info)
	if info.Dim != 4 || !slices.Equal(info.Nesting, mrl.Nesting{2, 4}) || info.Input.Model == nil || info.Input.Model.Name != "txt" ||
		info.Input.Adapter == nil || info.Input.Adapter.SHA256 != sum || info.Input.Adapter.InputDim != 8 {
		t.Fatalf("collection %+v input %+v %+v", info, info.Input.Model, info.Input.Adapter)
	}
	texts := []string{"an extensible text editor", "a command line web browser", "the GNU compiler collection"}
	pts := []Point{{ID: iid(9), Vector: []float32{1, 0, 0, 0, 0, 0, 0, 1}}}
	for i, tx := range texts {
		pts = append(pts, Point{ID: iid(uint64(i + 1)), Text: tx})
	}
	mustDo(t, s, "POST", "/v1/collections/docs/points", UpsertRequest{Points: pts}, 200, nil)
	for i, tx := range texts {
		e, err := m.EmbedTexts([]string{tx}, 0)
		if err != nil {
			t.Fatal(err)
		}
		normalize(e)
		want := applyOne(t, a, e)
		var got Point
		mustDo(t, s, "GET", fmt.Sprintf("/v1/collections/docs/points/%d", i+1), nil, 200, &got)
		if !slices.Equal(got.Vector, want) {
			t.Fatalf("text %d stored as %v, want the adapter's %v of its unit embedding", i, got.Vector, want)
		}
		var sr SearchResponse
		mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Text: tx, K: 1}, 200, &sr)
		if h := sr.Results[0].Hits; len(h) != 1 || h[0].ID != iid(uint64(i+1)) {
			t.Fatalf("search of text %d: %+v", i, h)
		}
	}
	var got Point
	mustDo(t, s, "GET", "/v1/collections/docs/points/9", nil, 200, &got)
	if want := applyOne(t, a, pts[0].Vector); !slices.Equal(got.Vector, want) {
		t.Fatalf("vector point stored as %v, want %v", got.Vector, want)
	}
}

// TestAPIBodiesGoldenAdapter: the bodies of creating a collection with an
// adapter, upserting raw vectors, reading a point back (mapped) and
// searching are byte for byte those in testdata/api_adapter.golden (with
// the adapter file's SHA-256 written as SHA256).
func TestAPIBodiesGoldenAdapter(t *testing.T) {
	dir := t.TempDir()
	_, sum := testAdapter(t, dir, "ff.adapter", 6, 4, mrl.Nesting{2}, 4)
	s := newServer(t, Options{ModelRoot: dir})
	var buf bytes.Buffer
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/collections", `{"name":"docs","adapter":"ff.adapter","metric":"ip"}`},
		{"POST", "/v1/collections/docs/points", `{"points":[{"id":1,"vector":[1,0,0,0,0,2],"payload":{"tag":"a"}},{"id":2,"vector":[0,1,-1,0,1,0]}]}`},
		{"GET", "/v1/collections/docs", ""},
		{"GET", "/v1/collections/docs/points/1", ""},
		{"GET", "/v1/collections/docs/points?limit=2", ""},
		{"POST", "/v1/collections/docs/search", `{"vector":[0,1,-1,0,1,0],"k":2,"dim":2}`},
		{"POST", "/v1/collections/docs/search", `{"vector":[0,1,-1,0]}`},
		{"POST", "/v1/collections", `{"name":"other","dim":6,"adapter":"ff.adapter"}`},
	} {
		code, body := do(t, s, r.method, r.path, r.body)
		fmt.Fprintf(&buf, "%s %s %d\n", r.method, r.path, code)
		body = bytes.ReplaceAll(body, []byte(sum), []byte("SHA256"))
		if strings.HasSuffix(r.path, "/search") && code == 200 {
			var sr SearchResponse
			if err := json.Unmarshal(body, &sr); err != nil {
				t.Fatal(err)
			}
			sr.TookUS = 0
			for i := range sr.Results {
				for j := range sr.Results[i].Stages {
					sr.Results[i].Stages[j].ElapsedUS = 0
				}
			}
			b, err := json.Marshal(sr)
			if err != nil {
				t.Fatal(err)
			}
			body = append(b, '\n')
		}
		buf.Write(body)
	}
	checkGolden(t, "api_adapter.golden", buf.Bytes())
}
