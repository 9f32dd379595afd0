package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newServer(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.DataDir == "" {
		opt.DataDir = t.TempDir()
	}
	if opt.Logger == nil {
		opt.Logger = quietLogger()
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// do sends one request to h and returns the status and body.
func do(t testing.TB, h http.Handler, method, path, body string, hdr ...string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkResponse(t, method, path, rec.Code, rec.Body.Bytes())
	return rec.Code, rec.Body.Bytes()
}

// mustDo is do that fails the test unless the status is want, and decodes
// the body into out (if not nil).
func mustDo(t testing.TB, h http.Handler, method, path string, in any, want int, out any) {
	t.Helper()
	body := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	code, got := do(t, h, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
}

func points(ids []uint64, data []float32, d int) []Point {
	p := make([]Point, len(ids))
	for i, id := range ids {
		p[i] = Point{ID: id, Vector: data[i*d : (i+1)*d]}
	}
	return p
}

// bruteForce is the exact top k of the live points at dim.
func bruteForce(metric mrl.Metric, pts map[uint64][]float32, q []float32, dim, k int) []uint64 {
	type sc struct {
		id uint64
		s  float32
	}
	var all []sc
	for id, v := range pts {
		all = append(all, sc{id, index.Score(metric, v, q, dim)})
	}
	slices.SortFunc(all, func(a, b sc) int {
		if a.s != b.s {
			if a.s > b.s {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	var ids []uint64
	for i := 0; i < k && i < len(all); i++ {
		ids = append(ids, all[i].id)
	}
	return ids
}

func hitIDs(h []Hit) []uint64 {
	ids := make([]uint64, len(h))
	for i, x := range h {
		ids[i] = x.ID
	}
	return ids
}

// TestCollectionLifecycle drives every collection and point endpoint with
// good requests and checks the answers against a model of the state.
func TestCollectionLifecycle(t *testing.T) {
	for _, kind := range []string{"flat", "hnsw", "ivf"} {
		t.Run(kind, func(t *testing.T) {
			s := newServer(t, Options{RebuildMin: 64, TuneMinRows: 200, SnapshotEvery: -1})
			const d, n = 32, 600
			spec := map[string]any{"kind": kind}
			if kind == "hnsw" {
				spec["ef_search"] = 400
			}
			if kind == "ivf" {
				spec["probe"] = 1000
			}
			var info CollectionInfo
			mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "docs", "dim": d, "metric": "cosine", "nesting": []int{8, 16, 32}, "index": spec}, 201, &info)
			if info.Dim != d || info.Count != 0 || info.Index.Kind != kind || info.Metric != "cosine" {
				t.Fatalf("created %+v", info)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			data := indextest.MatryoshkaLike(rng, n+20, d) // the last 20 rows overwrite ids 1000..1019
			live := map[uint64][]float32{}
			for lo := 0; lo < n; lo += 100 {
				var pts []Point
				for i := lo; i < lo+100; i++ {
					p := Point{ID: uint64(1000 + i), Vector: data[i*d : (i+1)*d]}
					p.Payload = map[string]any{"parity": float64(i % 2), "tag": fmt.Sprint("t", i%5)}
					pts = append(pts, p)
					live[p.ID] = p.Vector
				}
				var ur UpsertResponse
				mustDo(t, s, "POST", "/v1/collections/docs/points", UpsertRequest{Points: pts}, 200, &ur)
				if ur.Upserted != 100 {
					t.Fatalf("upserted %d, want 100", ur.Upserted)
				}
			}
			// Overwrite some, delete some.
			var ow []Point
			for i := 0; i < 20; i++ {
				id := uint64(1000 + i)
				v := data[(n+i)*d : (n+i+1)*d]
				ow = append(ow, Point{ID: id, Vector: v, Payload: map[string]any{"parity": float64(i % 2), "tag": "over"}})
				live[id] = v
			}
			mustDo(t, s, "POST", "/v1/collections/docs/points", UpsertRequest{Points: ow}, 200, nil)
			var dr DeleteResponse
			mustDo(t, s, "POST", "/v1/collections/docs/points/delete", DeleteRequest{IDs: []uint64{1030, 1031, 99999}}, 200, &dr)
			if dr.Deleted != 2 {
				t.Fatalf("deleted %d, want 2 (99999 is absent)", dr.Deleted)
			}
			mustDo(t, s, "DELETE", "/v1/collections/docs/points/1032", nil, 200, &dr)
			delete(live, 1030)
			delete(live, 1031)
			delete(live, 1032)
			mustDo(t, s, "GET", "/v1/collections/docs/points/1032", nil, 404, nil)

			var p Point
			mustDo(t, s, "GET", "/v1/collections/docs/points/1005", nil, 200, &p)
			if !slices.Equal(p.Vector, live[1005]) || p.Payload["tag"] != "over" {
				t.Fatalf("get 1005 = %+v, want vector %v tag over", p, live[1005])
			}
			mustDo(t, s, "GET", "/v1/collections/docs", nil, 200, &info)
			if info.Count != len(live) {
				t.Fatalf("count %d, want %d", info.Count, len(live))
			}

			check := func(stage string) {
				t.Helper()
				for qi := 0; qi < 5; qi++ {
					q := data[(qi*37)*d : (qi*37+1)*d]
					for _, dim := range []int{8, 32} {
						var sr SearchResponse
						mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Vector: q, K: 10, Dim: dim}, 200, &sr)
						want := bruteForce(mrl.Cosine, live, q, dim, 10)
						got := hitIDs(sr.Results[0].Hits)
						if kind == "flat" && !slices.Equal(got, want) {
							t.Fatalf("%s: search dim %d = %v, want %v", stage, dim, got, want)
						}
						if kind != "flat" && overlap(got, want) < 8 {
							t.Fatalf("%s: %s search dim %d = %v, want most of %v", stage, kind, dim, got, want)
						}
					}
					// Plan keeping every row is exact.
					var sr SearchResponse
					mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Vector: q, K: 5, Plan: "8:1000,32:5"}, 200, &sr)
					if want := bruteForce(mrl.Cosine, live, q, d, 5); !slices.Equal(hitIDs(sr.Results[0].Hits), want) {
						t.Fatalf("%s: plan search = %v, want %v", stage, hitIDs(sr.Results[0].Hits), want)
					}
					if sr.Plan != "8:1000,32:5" || len(sr.Results[0].Stages) < 2 || sr.Results[0].Stages[0].Dim != 8 {
						t.Fatalf("%s: plan %q stages %+v", stage, sr.Plan, sr.Results[0].Stages)
					}
					// Filtered search is exact over the matching points.
					mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Vector: q, K: 5, Filter: map[string]any{"tag": "over", "parity": 1.0}}, 200, &sr)
					sub := map[uint64][]float32{}
					for i := 0; i < 20; i += 2 {
						sub[uint64(1000+i+1)] = live[uint64(1000+i+1)]
					}
					if want := bruteForce(mrl.Cosine, sub, q, d, 5); !slices.Equal(hitIDs(sr.Results[0].Hits), want) {
						t.Fatalf("%s: filtered search = %v, want %v", stage, hitIDs(sr.Results[0].Hits), want)
					}
					for _, h := range sr.Results[0].Hits {
						if h.Payload["tag"] != "over" || h.Payload["parity"] != 1.0 {
							t.Fatalf("%s: filtered hit %+v does not match", stage, h)
						}
					}
				}
			}
			// A dim at or below the plan's first stage searches the index
			// at that dim (an HNSW graph on 16 dims cannot serve dim 8).
			if kind == "hnsw" {
				mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "g16", "dim": d, "index": map[string]any{"kind": "hnsw", "graph_dim": 16}}, 201, nil)
				mustDo(t, s, "POST", "/v1/collections/g16/points", UpsertRequest{Points: points([]uint64{1, 2, 3}, data, d)}, 200, nil)
				mustDo(t, s, "POST", "/v1/collections/g16/snapshot", nil, 200, nil)
				for _, dim := range []int{8, 16, 32} {
					var sr SearchResponse
					mustDo(t, s, "POST", "/v1/collections/g16/search", SearchRequest{Vector: data[:d], K: 2, Dim: dim, Plan: "16:3,32:2"}, 200, &sr)
					if got := hitIDs(sr.Results[0].Hits); len(got) != 2 || got[0] != 1 {
						t.Fatalf("g16 search at dim %d = %v, want 1 first", dim, got)
					}
				}
				mustDo(t, s, "DELETE", "/v1/collections/g16", nil, 200, nil)
			}
			check("before snapshot")
			mustDo(t, s, "POST", "/v1/collections/docs/snapshot", nil, 200, &info)
			if info.Pending != 0 || info.Count != len(live) || info.SnapshotSeq != info.Seq {
				t.Fatalf("after snapshot %+v", info)
			}
			// The graph's memory is reported beside the vectors' (an HNSW
			// keeps a prefix copy: more than 4·dim bytes a point).
			if min := int64(info.Count) * 4 * int64(d); (kind == "hnsw") != (info.IndexBytes > min) || (kind != "hnsw" && info.IndexBytes != 0) {
				t.Fatalf("%s collection of %d points: index_bytes %d", kind, info.Count, info.IndexBytes)
			}
			check("after snapshot")
			// An hnsw snapshot stores its graph, so restarts do not rebuild it.
			snapFile := filepath.Join(s.opt.DataDir, "collections", "docs", fmt.Sprintf("snapshot-%020d.idx", info.SnapshotSeq))
			if _, err := index.LoadHNSW(snapFile); (err == nil) != (kind == "hnsw") {
				t.Fatalf("LoadHNSW(snapshot of a %s collection) error %v", kind, err)
			}

			// auto and target_recall tune a plan once the collection is big enough.
			var sr SearchResponse
			mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Vectors: [][]float32{data[:d], data[d : 2*d]}, K: 10, Plan: "auto"}, 200, &sr)
			if len(sr.Results) != 2 || sr.Plan == "" || sr.Plan == "exact" || sr.TunedRecall <= 0 {
				t.Fatalf("auto search: plan %q recall %v results %d", sr.Plan, sr.TunedRecall, len(sr.Results))
			}
			mustDo(t, s, "GET", "/v1/collections/docs", nil, 200, &info)
			if info.AutoPlan == nil || info.AutoPlan.Plan != sr.Plan {
				t.Fatalf("info auto plan %+v, want %q", info.AutoPlan, sr.Plan)
			}
			mustDo(t, s, "POST", "/v1/collections/docs/search", SearchRequest{Vector: data[:d], K: 10, TargetRecall: 1}, 200, &sr)
			if sr.Plan == "" {
				t.Fatal("target_recall search ran no plan")
			}

			// Restart: the same points.
			s.Close()
			s2 := newServer(t, Options{DataDir: s.opt.DataDir, SnapshotEvery: -1})
			mustDo(t, s2, "GET", "/v1/collections/docs", nil, 200, &info)
			if info.Count != len(live) {
				t.Fatalf("after restart count %d, want %d", info.Count, len(live))
			}
			for id, v := range live {
				mustDo(t, s2, "GET", fmt.Sprintf("/v1/collections/docs/points/%d", id), nil, 200, &p)
				if !slices.Equal(p.Vector, v) {
					t.Fatalf("after restart point %d = %v, want %v", id, p.Vector, v)
				}
			}
			var list struct{ Collections []CollectionInfo }
			mustDo(t, s2, "GET", "/v1/collections", nil, 200, &list)
			if len(list.Collections) != 1 || list.Collections[0].Name != "docs" {
				t.Fatalf("list = %+v", list)
			}
			mustDo(t, s2, "DELETE", "/v1/collections/docs", nil, 200, nil)
			mustDo(t, s2, "GET", "/v1/collections/docs", nil, 404, nil)
			s2.Close()
			s3 := newServer(t, Options{DataDir: s.opt.DataDir})
			mustDo(t, s3, "GET", "/v1/collections", nil, 200, &list)
			if len(list.Collections) != 0 {
				t.Fatalf("deleted collection came back: %+v", list)
			}
		})
	}
}

func overlap(a, b []uint64) int {
	n := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			n++
		}
	}
	return n
}

// tinyModel writes a small untrained MLP checkpoint and returns its path and
// model.
func tinyModel(t testing.TB, dir string) (string, *model.Model) {
	t.Helper()
	m, err := model.New(model.Config{Arch: "mlp", InH: 2, InW: 3, InC: 1, Hidden: 16, Embed: 8, Nesting: mrl.Nesting{2, 4, 8}, Heads: "mrl", Classes: 3}, 7)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.ckpt")
	if err := train.Save(path, m, nil, "", 7); err != nil {
		t.Fatal(err)
	}
	return path, m
}

func TestModels(t *testing.T) {
	dir := t.TempDir()
	_, m := tinyModel(t, dir)
	s := newServer(t, Options{ModelRoot: dir})
	var mi ModelInfo
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 201, &mi)
	if mi.InputDim != 6 || mi.Embed != 8 || mi.Classes != 3 || !slices.Equal(mi.Nesting, []int{2, 4, 8}) {
		t.Fatalf("model info %+v", mi)
	}
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 200, nil)
	mustDo(t, s, "GET", "/v1/models/tiny", nil, 200, &mi)
	var list struct{ Models []ModelInfo }
	mustDo(t, s, "GET", "/v1/models", nil, 200, &list)
	if len(list.Models) != 1 {
		t.Fatalf("models %+v", list)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 40
	x := make([]float32, n*6)
	in := make([][]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	for i := range in {
		in[i] = x[i*6 : (i+1)*6]
	}
	var er EmbedResponse
	mustDo(t, s, "POST", "/v1/models/tiny/embed", EmbedRequest{Inputs: in, Dim: 4}, 200, &er)
	want := m.EmbedAll(x, n, 0)
	for i := range n {
		if !slices.Equal(er.Embeddings[i], want[i*8:i*8+4]) {
			t.Fatalf("embedding %d = %v, want %v", i, er.Embeddings[i], want[i*8:i*8+4])
		}
	}
	// normalize scales each truncated embedding to unit norm.
	mustDo(t, s, "POST", "/v1/models/tiny/embed", EmbedRequest{Inputs: in, Dim: 4, Normalize: true}, 200, &er)
	for i := range n {
		w := slices.Clone(want[i*8 : i*8+4])
		normalize(w)
		if !slices.Equal(er.Embeddings[i], w) {
			t.Fatalf("normalised embedding %d = %v, want %v", i, er.Embeddings[i], w)
		}
	}
	if mi.Arch != "mlp" || len(mi.SHA256) != 64 {
		t.Fatalf("model info arch %q sha256 %q", mi.Arch, mi.SHA256)
	}
	logits := m.LogitsAll(x, n, 0)
	conf, err := eval.NewConfidences(logits, n, 3, []int{2, 4, 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, thr := range [][]float64{{0.5, 0.5, 0.5}, {0.6, 0.4, 0}, {1, 1, 1}, {0, 0, 0}, {0.6, 0.4}} {
		var cr ClassifyResponse
		mustDo(t, s, "POST", "/v1/models/tiny/classify", ClassifyRequest{Inputs: in, Thresholds: thr}, 200, &cr)
		dimsUsed := map[int]int{}
		for i, r := range cr.Results {
			g := 2
			for j := range len(thr) {
				if float64(conf.Conf[j][i]) >= thr[j] {
					g = j
					break
				}
			}
			w := Classification{Label: int(conf.Pred[g][i]), Confidence: conf.Conf[g][i], Dim: []int{2, 4, 8}[g]}
			if r != w {
				t.Fatalf("thresholds %v: input %d = %+v, want %+v", thr, i, r, w)
			}
			dimsUsed[r.Dim]++
		}
		if thr[0] == 0 && dimsUsed[2] != n {
			t.Fatalf("thresholds 0 should stop at dim 2: %v", dimsUsed)
		}
		if thr[0] == 1 && dimsUsed[8] < n-1 {
			t.Fatalf("thresholds 1 should reach dim 8: %v", dimsUsed)
		}
	}
	var cr ClassifyResponse
	mustDo(t, s, "POST", "/v1/models/tiny/classify", map[string]any{"inputs": in[:1]}, 200, &cr)
	if !slices.Equal(cr.Thresholds, []float64{0.9, 0.9, 0.9}) {
		t.Fatalf("default thresholds %v, want 0.9 each", cr.Thresholds)
	}
}

// TestBadRequests sends malformed and invalid requests and checks the
// status, the error code and that the message names the problem.
func TestBadRequests(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir)
	s := newServer(t, Options{ModelRoot: dir, MaxBodyBytes: 1 << 16, MaxPoints: 5})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 4}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: 1, Vector: []float32{1, 0, 0, 0}}}}, 200, nil)
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 201, nil)
	v4 := `[1,2,3,4]`
	in6 := `[[1,2,3,4,5,6]]`
	big := `{"points":[{"id":1,"vector":[` + strings.Repeat("1,", 1<<16) + `1]}]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"empty body", "POST", "/v1/collections", "", 400, "bad_request", "empty request body"},
		{"not json", "POST", "/v1/collections", "{name:", 400, "bad_request", "invalid JSON at byte offset"},
		{"truncated json", "POST", "/v1/collections", `{"name":"x","dim":4`, 400, "bad_request", "truncated JSON"},
		{"trailing data", "POST", "/v1/collections", `{"name":"x","dim":4} {}`, 400, "bad_request", "trailing data"},
		{"unknown field", "POST", "/v1/collections", `{"name":"x","dim":4,"dims":5}`, 400, "bad_request", `unknown field "dims"`},
		{"dim as string", "POST", "/v1/collections", `{"name":"x","dim":"4"}`, 400, "bad_request", "field dim: got JSON string, want an integer"},
		{"dim zero", "POST", "/v1/collections", `{"name":"x","dim":0}`, 400, "bad_request", "dim 0: want 1..65536"},
		{"bad name", "POST", "/v1/collections", `{"name":"a/b","dim":4}`, 400, "bad_request", `name "a/b"`},
		{"bad metric", "POST", "/v1/collections", `{"name":"x","dim":4,"metric":"hamming"}`, 400, "bad_request", `metric "hamming": want cosine, ip or l2`},
		{"bad nesting", "POST", "/v1/collections", `{"name":"x","dim":4,"nesting":[2,1,4]}`, 400, "bad_request", "does not increase"},
		{"nesting not ending at dim", "POST", "/v1/collections", `{"name":"x","dim":4,"nesting":[1,2]}`, 400, "bad_request", "last dim must be the collection dim 4"},
		{"bad index kind", "POST", "/v1/collections", `{"name":"x","dim":4,"index":{"kind":"lsh"}}`, 400, "bad_request", `kind "lsh": want flat, hnsw, ivf, binary or int8`},
		{"flat with options", "POST", "/v1/collections", `{"name":"x","dim":4,"index":{"kind":"flat","m":8}}`, 400, "bad_request", "kind flat takes no options"},
		{"hnsw bad m", "POST", "/v1/collections", `{"name":"x","dim":4,"index":{"kind":"hnsw","m":1}}`, 400, "bad_request", "index: invalid options"},
		{"hnsw graph dim too big", "POST", "/v1/collections", `{"name":"x","dim":4,"index":{"kind":"hnsw","graph_dim":9}}`, 400, "bad_request", "graph_dim 9"},
		{"exists", "POST", "/v1/collections", `{"name":"c","dim":4}`, 409, "conflict", `collection "c" already exists`},
		{"unknown collection", "GET", "/v1/collections/nope", "", 404, "not_found", `collection "nope" not found`},
		{"delete unknown collection", "DELETE", "/v1/collections/nope", "", 404, "not_found", `collection "nope" not found`},
		{"upsert unknown collection", "POST", "/v1/collections/nope/points", `{"points":[{"id":1,"vector":` + v4 + `}]}`, 404, "not_found", `collection "nope"`},
		{"upsert no points", "POST", "/v1/collections/c/points", `{"points":[]}`, 400, "bad_request", "points: empty"},
		{"upsert too many points", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,2,3,4]},{"id":2,"vector":[1,2,3,4]},{"id":3,"vector":[1,2,3,4]},{"id":4,"vector":[1,2,3,4]},{"id":5,"vector":[1,2,3,4]},{"id":6,"vector":[1,2,3,4]}]}`, 400, "bad_request", "points: 6 in one request, at most 5"},
		{"upsert short vector", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,2,3]}]}`, 400, "bad_request", "points[0].vector: length 3, want 4"},
		{"upsert missing vector", "POST", "/v1/collections/c/points", `{"points":[{"id":1}]}`, 400, "bad_request", "points[0].vector: length 0, want 4"},
		{"upsert overflowing float", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,2,3,1e39]}]}`, 400, "bad_request", "field points.vector: got JSON number 1e39, want a finite number"},
		{"upsert NaN token", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,2,3,NaN]}]}`, 400, "bad_request", "invalid JSON"},
		{"upsert negative id", "POST", "/v1/collections/c/points", `{"points":[{"id":-1,"vector":` + v4 + `}]}`, 400, "bad_request", "field points.id: got JSON number -1, want an unsigned integer id"},
		{"upsert string id", "POST", "/v1/collections/c/points", `{"points":[{"id":"a","vector":` + v4 + `}]}`, 400, "bad_request", "field points.id: got JSON string"},
		{"upsert duplicate ids", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":` + v4 + `},{"id":1,"vector":` + v4 + `}]}`, 400, "bad_request", "points[1].id: 1 repeats points[0].id"},
		{"upsert nested payload", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":` + v4 + `,"payload":{"a":{"b":1}}}]}`, 400, "bad_request", "points[0].payload.a: want a string, number or boolean, got an object"},
		{"upsert null payload field", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":` + v4 + `,"payload":{"a":null}}]}`, 400, "bad_request", "points[0].payload.a: null is not allowed"},
		{"upsert unknown point field", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vec":` + v4 + `}]}`, 400, "bad_request", `unknown field "vec"`},
		{"body too large", "POST", "/v1/collections/c/points", big, 413, "payload_too_large", "exceeds the limit of 65536"},
		{"get bad id", "GET", "/v1/collections/c/points/abc", "", 400, "bad_request", `point id "abc": want an unsigned integer`},
		{"get missing point", "GET", "/v1/collections/c/points/7", "", 404, "not_found", `point 7 not found in collection "c"`},
		{"delete missing point", "DELETE", "/v1/collections/c/points/7", "", 404, "not_found", "point 7 not found"},
		{"delete no ids", "POST", "/v1/collections/c/points/delete", `{"ids":[]}`, 400, "bad_request", "ids: empty"},
		{"search no vector", "POST", "/v1/collections/c/search", `{"k":3}`, 400, "bad_request", "vector or vectors: one is required"},
		{"search both vectors", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"vectors":[` + v4 + `]}`, 400, "bad_request", "give one, not both"},
		{"search wrong dim vector", "POST", "/v1/collections/c/search", `{"vector":[1,2]}`, 400, "bad_request", "vector: length 2, want 4"},
		{"search wrong dim in batch", "POST", "/v1/collections/c/search", `{"vectors":[` + v4 + `,[1]]}`, 400, "bad_request", "vectors[1]: length 1, want 4"},
		{"search k negative", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"k":-1}`, 400, "bad_request", "k: -1, want 1..10000"},
		{"search k too big", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"k":10001}`, 400, "bad_request", "k: 10001"},
		{"search dim too big", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"dim":5}`, 400, "bad_request", "dim: 5, want 1..4"},
		{"search bad plan", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"plan":"2:x"}`, 400, "bad_request", `plan "2:x"`},
		{"search plan wrong last dim", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"plan":"2:10,8:5"}`, 400, "bad_request", "ending at the collection dim 4"},
		{"search plan and recall", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"plan":"auto","target_recall":0.9}`, 400, "bad_request", "plan and target_recall"},
		{"search bad recall", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"target_recall":1.5}`, 400, "bad_request", "target_recall: 1.5"},
		{"search empty filter", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"filter":{}}`, 400, "bad_request", "filter: empty object"},
		{"search array filter", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"filter":{"a":[1]}}`, 400, "bad_request", "filter.a: want a string, number, boolean or a condition object, got an array"},
		{"search unknown collection", "POST", "/v1/collections/zz/search", `{"vector":` + v4 + `}`, 404, "not_found", `collection "zz"`},
		{"search vector and text", "POST", "/v1/collections/c/search", `{"vector":` + v4 + `,"text":"a b"}`, 400, "bad_request", "vector and text: give one, not both"},
		{"search text without a model", "POST", "/v1/collections/c/search", `{"text":"a b"}`, 400, "bad_request", `text: collection "c" has no model attached to embed texts`},
		{"search texts not strings", "POST", "/v1/collections/c/search", `{"texts":[[1]]}`, 400, "bad_request", "field texts: got JSON array, want a string"},
		{"upsert text without a model", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"text":"a b"}]}`, 400, "bad_request", `points.text: collection "c" has no model attached`},
		{"upsert vector and text", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":` + v4 + `,"text":"a b"}]}`, 400, "bad_request", "points[0]: vector and text: give one, not both"},
		{"create with unloaded model", "POST", "/v1/collections", `{"name":"x","dim":4,"model":"zz"}`, 400, "bad_request", `model "zz": not loaded`},
		{"create with image model of another dim", "POST", "/v1/collections", `{"name":"x","dim":4,"model":"tiny"}`, 400, "bad_request", `model "tiny": embeds 8 dims but the collection's dim is 4`},
		{"no route", "GET", "/v2/nothing", "", 404, "not_found", "no route GET /v2/nothing"},
		{"wrong method", "PUT", "/v1/collections", "", 405, "method_not_allowed", "method PUT not allowed on /v1/collections"},
		{"model bad name", "POST", "/v1/models", `{"name":"a b","path":"tiny.ckpt"}`, 400, "bad_request", `name "a b"`},
		{"model escaping path", "POST", "/v1/models", `{"name":"m","path":"../x.ckpt"}`, 400, "bad_request", "inside the server's model root"},
		{"model missing file", "POST", "/v1/models", `{"name":"m","path":"none.ckpt"}`, 404, "not_found", `checkpoint "none.ckpt" not found`},
		{"model no path", "POST", "/v1/models", `{"name":"m"}`, 400, "bad_request", "path: required"},
		{"unknown model", "POST", "/v1/models/zz/embed", `{"inputs":` + in6 + `}`, 404, "not_found", `model "zz" not loaded`},
		{"embed wrong input size", "POST", "/v1/models/tiny/embed", `{"inputs":[[1,2]]}`, 400, "bad_request", "inputs[0]: length 2, want 6"},
		{"embed no inputs", "POST", "/v1/models/tiny/embed", `{"inputs":[]}`, 400, "bad_request", "inputs: empty"},
		{"embed bad dim", "POST", "/v1/models/tiny/embed", `{"inputs":` + in6 + `,"dim":9}`, 400, "bad_request", "dim: 9, want 1..8"},
		{"classify bad confidence", "POST", "/v1/models/tiny/classify", `{"inputs":` + in6 + `,"confidence":2}`, 400, "bad_request", "confidence: 2, want a probability"},
		{"classify wrong thresholds", "POST", "/v1/models/tiny/classify", `{"inputs":` + in6 + `,"thresholds":[0.5]}`, 400, "bad_request", "thresholds: 1 values, want 3"},
		{"classify both", "POST", "/v1/models/tiny/classify", `{"inputs":` + in6 + `,"thresholds":[0.5,0.5,0.5],"confidence":0.5}`, 400, "bad_request", "confidence and thresholds"},
		{"classify unknown field", "POST", "/v1/models/tiny/classify", `{"input":` + in6 + `}`, 400, "bad_request", `unknown field "input"`},
		{"embed texts to an image model", "POST", "/v1/models/tiny/embed", `{"texts":["a b"]}`, 400, "bad_request", `texts: model "tiny" is an image model`},
		{"embed normalize not a bool", "POST", "/v1/models/tiny/embed", `{"inputs":` + in6 + `,"normalize":1}`, 400, "bad_request", "field normalize: got JSON number, want true or false"},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d bad requests", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, s, tt.method, tt.path, tt.body)
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("%s %s: body %q is not an error object: %v", tt.method, tt.path, body, err)
			}
			if code != tt.status || eb.Error.Code != tt.code || !strings.Contains(eb.Error.Message, tt.msg) {
				t.Errorf("%s %s %.80s = %d %s %q, want %d %s containing %q", tt.method, tt.path, tt.body, code, eb.Error.Code, eb.Error.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
	// Nothing bad was applied.
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/c", nil, 200, &info)
	if info.Count != 1 || info.Seq != 1 {
		t.Fatalf("after bad requests: count %d seq %d, want 1 and 1", info.Count, info.Seq)
	}
}

func TestAuth(t *testing.T) {
	s := newServer(t, Options{Token: "s3cret"})
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/v1/collections", "", 401},
		{"/metrics", "", 401},
		{"/v1/collections", "Bearer wrong", 401},
		{"/v1/collections", "s3cret", 401},
		{"/v1/collections", "Bearer s3cret", 200},
		{"/metrics", "Bearer s3cret", 200},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		if code, body := do(t, s, "GET", tt.path, "", hdr...); code != tt.want {
			t.Errorf("GET %s with %q = %d %s, want %d", tt.path, tt.auth, code, body, tt.want)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "GET", "/healthz", nil, 200, nil)
	mustDo(t, s, "GET", "/readyz", nil, 200, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "m", "dim": 2}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections/m/points", UpsertRequest{Points: []Point{{ID: 1, Vector: []float32{1, 2}}, {ID: 2, Vector: []float32{3, 4}}}}, 200, nil)
	do(t, s, "GET", "/v1/collections/zz", "")
	code, body := do(t, s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("metrics = %d", code)
	}
	for _, want := range []string{
		`mrl_http_requests_total{route="POST /v1/collections/{name}/points",code="200"} 1`,
		`mrl_http_requests_total{route="GET /v1/collections/{name}",code="404"} 1`,
		`mrl_http_request_duration_seconds_count{route="POST /v1/collections"} 1`,
		`mrl_collection_points{collection="m"} 2`,
		`mrl_collection_vector_bytes{collection="m"} 16`,
		`mrl_collection_index_bytes{collection="m"} 0`,
		"# TYPE mrl_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	s.Close()
	if code, _ := do(t, s, "GET", "/readyz", ""); code != 503 {
		t.Errorf("readyz after Close = %d, want 503", code)
	}
}

// TestTimeoutAndPanic checks the middleware: a slow handler gets 503
// timeout, a panicking one a logged 500, both with error bodies.
func TestTimeoutAndPanic(t *testing.T) {
	s := newServer(t, Options{Timeout: 20 * time.Millisecond})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		time.Sleep(10 * time.Millisecond)
		w.Write([]byte("late"))
	})
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	for _, tt := range []struct {
		name string
		h    http.Handler
		code int
		ec   string
	}{
		{"slow", s.recoverer(s.readBody(s.timeout(slow))), 503, "timeout"},
		{"panic in handler", s.recoverer(s.readBody(s.timeout(boom))), 500, "internal"},
		{"panic outside timeout", s.recoverer(boom), 500, "internal"},
	} {
		code, body := do(t, tt.h, "GET", "/x", "")
		var eb errorBody
		json.Unmarshal(body, &eb)
		if code != tt.code || eb.Error.Code != tt.ec {
			t.Errorf("%s: %d %s, want %d %s", tt.name, code, body, tt.code, tt.ec)
		}
	}
}

// TestBatchesAreAtomic has writers upsert batches of 10 fresh ids while
// readers search every point: each search must return a multiple of 10,
// also across the background rebuilds that RebuildMin 16 triggers.
func TestBatchesAreAtomic(t *testing.T) {
	s := newServer(t, Options{RebuildMin: 16, SnapshotEvery: 300})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "a", "dim": 4, "metric": "l2"}, 201, nil)
	done := make(chan struct{})
	errc := make(chan error, 4)
	for w := range 2 {
		go func() {
			for b := range 40 {
				pts := make([]Point, 10)
				for i := range pts {
					id := uint64(w*100000 + b*10 + i)
					pts[i] = Point{ID: id, Vector: []float32{float32(b), float32(i), float32(w), 1}}
				}
				body, _ := json.Marshal(UpsertRequest{Points: pts})
				if code, out := do(t, s, "POST", "/v1/collections/a/points", string(body)); code != 200 {
					errc <- fmt.Errorf("upsert = %d %s", code, out)
					return
				}
			}
			errc <- nil
		}()
	}
	go func() {
		defer close(done)
		for range 300 {
			var sr SearchResponse
			code, out := do(t, s, "POST", "/v1/collections/a/search", `{"vector":[0,0,0,0],"k":10000,"no_payload":true}`)
			if code != 200 {
				errc <- fmt.Errorf("search = %d %s", code, out)
				return
			}
			json.Unmarshal(out, &sr)
			if n := len(sr.Results[0].Hits); n%10 != 0 {
				errc <- fmt.Errorf("search saw %d points, not whole batches of 10", n)
				return
			}
		}
	}()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/a", nil, 200, &info)
	if info.Count != 800 {
		t.Fatalf("count %d, want 800", info.Count)
	}
	// The searches return the exact nearest by L2.
	var sr SearchResponse
	mustDo(t, s, "POST", "/v1/collections/a/search", SearchRequest{Vector: []float32{5, 3, 1, 1}, K: 3}, 200, &sr)
	if got := hitIDs(sr.Results[0].Hits); got[0] != 100053 || sr.Results[0].Hits[0].Score != 0 {
		t.Fatalf("nearest = %v", got)
	}
}

// TestBodyLimitChunked: a body without a Content-Length is cut at the limit
// by the reader, with the same 413.
func TestBodyLimitChunked(t *testing.T) {
	s := newServer(t, Options{MaxBodyBytes: 100})
	for _, n := range []int{100, 101, 5000} {
		body := `{"name":"x","dim":4}` + strings.Repeat(" ", n-20)
		req := httptest.NewRequest("POST", "/v1/collections", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		want := 413
		if n <= 100 {
			want = 201
		}
		if rec.Code != want {
			t.Errorf("chunked body of %d bytes (limit 100) = %d %s, want %d", n, rec.Code, rec.Body, want)
		}
	}
}

// TestAccessLogAndRuntimeMetrics: every answer carries a request id (the
// client's, if usable), the access log has one line per request, and
// /metrics has the Go runtime's and the process's families.
func TestAccessLogAndRuntimeMetrics(t *testing.T) {
	var buf bytes.Buffer
	s := newServer(t, Options{AccessLog: true, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	req := httptest.NewRequest("GET", "/v1/collections", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the client's abc-123", got)
	}
	req = httptest.NewRequest("GET", "/v1/collections/nope", nil)
	req.Header.Set("X-Request-Id", "has space")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-Id"); len(got) != 16 {
		t.Errorf("X-Request-Id = %q for an unusable client id, want 16 hex digits", got)
	}
	logs := buf.String()
	for _, want := range []string{"msg=request method=GET path=/v1/collections route=\"GET /v1/collections\" status=200", "request_id=abc-123",
		"path=/v1/collections/nope", "status=404"} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %q:\n%s", want, logs)
		}
	}
	code, body := do(t, s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	for _, want := range []string{"\ngo_goroutines ", "\ngo_memstats_heap_alloc_bytes ", "\ngo_gc_cycles_total ", "go_info{version=\"go", "\nprocess_start_time_seconds "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if runtime.GOOS == "linux" && !strings.Contains(string(body), "\nprocess_resident_memory_bytes ") {
		t.Error("/metrics lacks process_resident_memory_bytes on Linux")
	}
}

// TestScroll pages through a collection with changes on top of its
// snapshot (updates, deletes, new points) and gets every live point once,
// in id order; bad parameters are refused.
func TestScroll(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "s", "dim": 2}, 201, nil)
	var pts []Point
	for i := 0; i < 50; i++ {
		pts = append(pts, Point{ID: uint64(3 * i), Vector: []float32{float32(i), 1}, Payload: map[string]any{"i": float64(i)}})
	}
	mustDo(t, s, "POST", "/v1/collections/s/points", UpsertRequest{Points: pts}, 200, nil)
	mustDo(t, s, "POST", "/v1/collections/s/snapshot", nil, 200, nil)
	// Changes since the snapshot: delete some, update one, add new ids between.
	mustDo(t, s, "POST", "/v1/collections/s/points/delete", DeleteRequest{IDs: []uint64{0, 30, 147}}, 200, nil)
	mustDo(t, s, "POST", "/v1/collections/s/points", UpsertRequest{Points: []Point{
		{ID: 3, Vector: []float32{-1, -1}}, {ID: 1, Vector: []float32{5, 5}}, {ID: 1000, Vector: []float32{6, 6}}}}, 200, nil)
	want := map[uint64][]float32{}
	for _, p := range pts {
		want[p.ID] = p.Vector
	}
	delete(want, 0)
	delete(want, 30)
	delete(want, 147)
	want[3], want[1], want[1000] = []float32{-1, -1}, []float32{5, 5}, []float32{6, 6}

	var got []uint64
	after := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("scroll does not end")
		}
		var page ScrollResponse
		mustDo(t, s, "GET", "/v1/collections/s/points?limit=7"+after, nil, 200, &page)
		for _, p := range page.Points {
			if !slices.Equal(p.Vector, want[p.ID]) {
				t.Fatalf("point %d: vector %v, want %v", p.ID, p.Vector, want[p.ID])
			}
			got = append(got, p.ID)
		}
		if page.NextAfter == nil {
			break
		}
		if len(page.Points) != 7 || *page.NextAfter != page.Points[6].ID {
			t.Fatalf("page of %d points, next_after %d", len(page.Points), *page.NextAfter)
		}
		after = "&after=" + strconv.FormatUint(*page.NextAfter, 10)
	}
	var ids []uint64
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Fatalf("scrolled %v, want %v", got, ids)
	}
	var page ScrollResponse
	mustDo(t, s, "GET", "/v1/collections/s/points?with_vector=false&limit=2&after=5", nil, 200, &page)
	if len(page.Points) != 2 || page.Points[0].Vector != nil || page.Points[0].Payload["i"] == nil || page.NextAfter == nil {
		t.Fatalf("without vectors: %+v", page)
	}
	page = ScrollResponse{}
	mustDo(t, s, "GET", "/v1/collections/s/points?after=1000", nil, 200, &page)
	if len(page.Points) != 0 || page.NextAfter != nil {
		t.Fatalf("past the end: %+v", page)
	}
	for _, q := range []string{"limit=0", "limit=10001", "limit=x", "after=-1", "with_vector=maybe", "offset=3"} {
		if code, body := do(t, s, "GET", "/v1/collections/s/points?"+q, ""); code != 400 {
			t.Errorf("?%s: %d %s, want 400", q, code, body)
		}
	}
	mustDo(t, s, "GET", "/v1/collections/nope/points", nil, 404, nil)
}

// TestQuantizedCollections: binary and int8 first stages find most of the
// exact top 10, report the codes' memory, survive a restart, and refuse
// options of other kinds.
func TestQuantizedCollections(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir})
	const n, d = 600, 32
	data := indextest.MatryoshkaLike(rand.New(rand.NewPCG(5, 6)), n, d)
	for _, kind := range []string{"binary", "int8"} {
		mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": kind, "dim": d, "index": map[string]any{"kind": kind, "rescore": 8}}, 201, nil)
		ids := make([]uint64, n)
		for i := range ids {
			ids[i] = uint64(i + 1)
		}
		mustDo(t, s, "POST", "/v1/collections/"+kind+"/points", UpsertRequest{Points: points(ids, data, d)}, 200, nil)
		var info CollectionInfo
		mustDo(t, s, "POST", "/v1/collections/"+kind+"/snapshot", nil, 200, &info)
		if info.IndexBytes <= 0 || info.Index.Kind != kind {
			t.Fatalf("%s: info %+v", kind, info)
		}
		live := map[uint64][]float32{}
		for i, id := range ids {
			live[id] = data[i*d : (i+1)*d]
		}
		good := 0
		for qi := 0; qi < 10; qi++ {
			q := data[qi*17*d : (qi*17+1)*d]
			var sr SearchResponse
			mustDo(t, s, "POST", "/v1/collections/"+kind+"/search", SearchRequest{Vector: q, K: 10}, 200, &sr)
			good += overlap(hitIDs(sr.Results[0].Hits), bruteForce(mrl.Cosine, live, q, d, 10))
		}
		if good < 80 {
			t.Errorf("%s: %d of 100 exact neighbours found, want at least 80", kind, good)
		}
	}
	for _, bad := range []map[string]any{
		{"kind": "int8", "m": 16},
		{"kind": "binary", "code_dim": 33},
		{"kind": "hnsw", "rescore": 2},
		{"kind": "flat", "code_dim": 8},
		{"kind": "pq"},
	} {
		b, _ := json.Marshal(map[string]any{"name": "bad", "dim": d, "index": bad})
		if code, body := do(t, s, "POST", "/v1/collections", string(b)); code != 400 {
			t.Errorf("index %v: %d %s, want 400", bad, code, body)
		}
	}
	s.Close()
	s2 := newServer(t, Options{DataDir: dir})
	var info CollectionInfo
	mustDo(t, s2, "GET", "/v1/collections/int8", nil, 200, &info)
	if info.Count != n || info.IndexBytes <= 0 {
		t.Fatalf("after restart: %+v", info)
	}
}

// TestScrollByteLimit: pages cut short by --max-response-bytes still
// reach every point (a page used to drop the point that did not fit when
// it was the last one).
func TestScrollByteLimit(t *testing.T) {
	s := newServer(t, Options{MaxResponseBytes: 100})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "b", "dim": 2}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections/b/points", UpsertRequest{Points: points([]uint64{1, 2, 3}, []float32{1, 0, 0, 1, 1, 1}, 2)}, 200, nil)
	var got []uint64
	path := "/v1/collections/b/points"
	for pages := 0; pages < 10; pages++ {
		var page ScrollResponse
		mustDo(t, s, "GET", path, nil, 200, &page)
		if len(page.Points) != 1 {
			t.Fatalf("page %d: %d points, want 1 (each fills the byte limit)", pages, len(page.Points))
		}
		got = append(got, page.Points[0].ID)
		if page.NextAfter == nil {
			break
		}
		path = "/v1/collections/b/points?after=" + strconv.FormatUint(*page.NextAfter, 10)
	}
	if !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("scrolled %v, want [1 2 3]", got)
	}
}
