package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hostileCase is one request and what it must answer.
type hostileCase struct {
	name, method, path, body string
	hdr                      []string // header name, value pairs
	status                   int
	msg                      string // substring of the error message ("" for 2xx)
}

func runHostile(t *testing.T, s *Server, cases []hostileCase) {
	t.Helper()
	for _, tt := range cases {
		code, body := do(t, s, tt.method, tt.path, tt.body, tt.hdr...)
		if code != tt.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, code, body, tt.status)
			continue
		}
		if tt.msg != "" && !strings.Contains(string(body), tt.msg) {
			t.Errorf("%s: %s %s = %d %s, want a message containing %q", tt.name, tt.method, tt.path, code, body, tt.msg)
		}
	}
}

// TestHugeVectors: finite vectors whose norm or squared norm overflows
// float32 are refused at the edge with 400 naming the vector and why, and
// a vector stored before the check (in the log) cannot make searches fail.
func TestHugeVectors(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir)
	s := newServer(t, Options{DataDir: t.TempDir(), ModelRoot: dir})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "l", "dim": 4, "metric": "l2"}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 4}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "i", "dim": 4, "metric": "ip"}, 201, nil)
	for _, c := range []string{"l", "c", "i"} {
		mustDo(t, s, "POST", "/v1/collections/"+c+"/points", UpsertRequest{Points: []Point{{ID: iid(1), Vector: []float32{1, 2, 3, 4}}, {ID: iid(3), Vector: []float32{6e18, 0, 0, 0}}}}, 200, nil)
	}
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 201, nil)
	runHostile(t, s, []hostileCase{
		{"l2 1e20", "POST", "/v1/collections/l/points", `{"points":[{"id":2,"vector":[1e20,0,0,0]}]}`, nil, 400, "points[0].vector: squared norm exceeds"},
		{"cosine 3.4e38", "POST", "/v1/collections/c/points", `{"points":[{"id":2,"vector":[3.4e38,0,0,0]}]}`, nil, 400, "points[0].vector: squared norm"},
		{"ip second point", "POST", "/v1/collections/i/points", `{"points":[{"id":2,"vector":[1,0,0,0]},{"id":4,"vector":[5e18,5e18,0,0]}]}`, nil, 400, "points[1].vector"},
		{"cosine tiny prefix", "POST", "/v1/collections/c/points", `{"points":[{"id":2,"vector":[1e-45,0,0,1]}]}`, nil, 400, "points[0].vector[0]"},
		{"cosine tiny later", "POST", "/v1/collections/c/points", `{"points":[{"id":2,"vector":[1,0,0,1e-45]}]}`, nil, 200, ""},
		{"search huge query", "POST", "/v1/collections/l/search", `{"vector":[1e20,0,0,0]}`, nil, 400, "vector: squared norm"},
		{"search huge queries", "POST", "/v1/collections/c/search", `{"vectors":[[1,0,0,0],[0,3e38,0,0]]}`, nil, 400, "vectors[1]: squared norm"},
		{"search the largest allowed", "POST", "/v1/collections/l/search", `{"vector":[-6e18,0,0,0],"k":3}`, nil, 200, ""},
		{"embed huge", "POST", "/v1/models/tiny/embed", `{"inputs":[[1,1,1,1,1,1],[3e38,3e38,3e38,3e38,3e38,3e38]]}`, nil, 400, "inputs[1]"},
		{"classify huge", "POST", "/v1/models/tiny/classify", `{"inputs":[[3e38,-3e38,3e38,3e38,3e38,3e38]]}`, nil, 400, "inputs[0]"},
	})
	for _, c := range []string{"l", "c", "i"} {
		var sr SearchResponse
		mustDo(t, s, "POST", "/v1/collections/"+c+"/search", SearchRequest{Vector: []float32{-6e18, 1, 0, 0}, K: 3}, 200, &sr)
		for _, h := range sr.Results[0].Hits {
			if math.IsInf(float64(h.Score), 0) || math.IsNaN(float64(h.Score)) {
				t.Errorf("collection %s: hit %+v", c, h)
			}
		}
	}
	s.Close()

	// A poisoned point already in a log (written by an older version):
	// searches that meet it answer 200 with finite scores.
	data := t.TempDir()
	cdir := filepath.Join(data, "collections", "p")
	os.MkdirAll(cdir, 0o755)
	os.WriteFile(filepath.Join(cdir, "meta.json"), []byte(`{"name":"p","dim":4,"metric":"l2"}`), 0o644)
	rec := upsertRecord(1, []Point{{ID: iid(1), Vector: []float32{1, 0, 0, 0}}, {ID: iid(2), Vector: []float32{1e20, 0, 0, 0}}})
	os.WriteFile(filepath.Join(cdir, "wal-00000000000000000001.log"), rec, 0o644)
	s2 := newServer(t, Options{DataDir: data})
	code, body := do(t, s2, "POST", "/v1/collections/p/search", `{"vector":[0,1,0,0]}`)
	var sr SearchResponse
	if code != 200 || json.Unmarshal(body, &sr) != nil || len(sr.Results[0].Hits) != 2 || sr.Results[0].Hits[0].ID != iid(1) || sr.Results[0].Hits[1].Score != -math.MaxFloat32 {
		t.Fatalf("search over a poisoned point = %d %s, want 200 with point 1 first and point 2 at the lowest score", code, body)
	}
}

// upsertRecord writes one log record of an upsert of pts without payloads,
// by the format package collection documents (wal.go, record.go), so that
// a test can plant what the store's own checks would refuse.
func upsertRecord(seq uint64, pts []Point) []byte {
	le := binary.LittleEndian
	body := le.AppendUint64(nil, seq)
	body = append(body, 1) // opUpsert
	body = le.AppendUint32(body, uint32(len(pts)))
	body = le.AppendUint32(body, uint32(len(pts[0].Vector)))
	for _, p := range pts {
		body = le.AppendUint64(body, num(p.ID))
		for _, x := range p.Vector {
			body = le.AppendUint32(body, math.Float32bits(x))
		}
		body = le.AppendUint32(body, 0)
	}
	rec := le.AppendUint32(nil, uint32(len(body)))
	rec = le.AppendUint32(rec, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return append(rec, body...)
}

// TestCrossSiteWrites: with no token, a web page on the same machine must
// not be able to write: bodies must be application/json (which a browser
// does not send cross-site without asking) and browsers' cross-origin
// requests are refused on every method but GET, HEAD and OPTIONS.
func TestCrossSiteWrites(t *testing.T) {
	s := newServer(t, Options{TrustedOrigins: []string{"https://app.example"}})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: iid(1), Vector: []float32{1, 0}}, {ID: iid(2), Vector: []float32{0, 1}}}}, 200, nil)
	del := `{"ids":[1,2]}`
	const path = "/v1/collections/c/points/delete"
	runHostile(t, s, []hostileCase{
		{"evil origin, text/plain", "POST", path, del, []string{"Origin", "http://evil.example", "Content-Type", "text/plain"}, 403, "cross-origin request refused"},
		{"evil origin, json", "POST", path, del, []string{"Origin", "http://evil.example"}, 403, "http://evil.example"},
		{"cross-site fetch", "POST", path, del, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-origin"},
		{"same-site fetch", "POST", path, del, []string{"Sec-Fetch-Site", "same-site"}, 403, "cross-origin"},
		{"evil origin, delete method", "DELETE", "/v1/collections/c/points/1", "", []string{"Origin", "http://evil.example"}, 403, "cross-origin"},
		{"evil origin, delete collection", "DELETE", "/v1/collections/c", "", []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-origin"},
		{"text/plain", "POST", path, del, []string{"Content-Type", "text/plain"}, 415, "application/json"},
		{"form", "POST", path, del, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"multipart", "POST", path, del, []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "application/json"},
		{"no type", "POST", path, del, []string{"Content-Type", ""}, 415, "application/json"},
		{"evil origin, read", "GET", "/v1/collections/c/points/1", "", []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 200, ""},
		{"json with charset, same origin", "POST", "/v1/collections/c/search", `{"vector":[1,0]}`, []string{"Content-Type", "application/json; charset=utf-8", "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}, 200, ""},
	})
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/c", nil, 200, &info)
	if info.Count != 2 {
		t.Fatalf("count %d after refused cross-site deletes, want 2", info.Count)
	}
	runHostile(t, s, []hostileCase{
		{"trusted origin", "POST", path, `{"ids":[2]}`, []string{"Origin", "https://app.example", "Sec-Fetch-Site", "cross-site"}, 200, `"deleted":1`},
		{"no browser headers (curl, Go)", "POST", path, `{"ids":[1]}`, nil, 200, `"deleted":1`},
	})
	if _, err := New(Options{DataDir: t.TempDir(), TrustedOrigins: []string{"not a url"}}); err == nil {
		t.Error("New with an invalid trusted origin succeeded")
	}
}

// TestResponseBounds: a small request cannot make a large response: the
// payload of a point, queries × k and the bytes of a response are bounded,
// and past a bound the request is refused naming it.
func TestResponseBounds(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir)
	s := newServer(t, Options{ModelRoot: dir, MaxPayloadBytes: 1000, MaxResults: 100, MaxResponseBytes: 10000})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	mustDo(t, s, "POST", "/v1/models", LoadModelRequest{Name: "tiny", Path: "tiny.ckpt"}, 201, nil)
	big := strings.Repeat("x", 900)
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: iid(1), Vector: []float32{1, 0}, Payload: map[string]any{"s": big}}}}, 200, nil)
	queries := func(n, k int, extra string) string {
		qs := strings.TrimSuffix(strings.Repeat("[1,0],", n), ",")
		return `{"vectors":[` + qs + `],"k":` + strconv.Itoa(k) + extra + `}`
	}
	inputs := strings.TrimSuffix(strings.Repeat("[1,2,3,4,5,6],", 100), ",")
	runHostile(t, s, []hostileCase{
		{"payload over the limit", "POST", "/v1/collections/c/points", `{"points":[{"id":2,"vector":[0,1],"payload":{"s":"` + strings.Repeat("y", 1000) + `"}}]}`, nil, 413, "points[0].payload: 1008 bytes of JSON, the limit is 1000 per point (--max-payload-bytes)"},
		{"queries × k", "POST", "/v1/collections/c/search", queries(11, 10, ""), nil, 400, "11 queries × k 10 = 110 hits, at most 100 per request (--max-results)"},
		{"queries × k at the bound", "POST", "/v1/collections/c/search", queries(10, 10, `,"no_payload":true`), nil, 200, ""},
		{"response over the limit", "POST", "/v1/collections/c/search", queries(16, 1, ""), nil, 413, "exceed 10000 bytes (--max-response-bytes)"},
		{"same without payloads", "POST", "/v1/collections/c/search", queries(16, 1, `,"no_payload":true`), nil, 200, ""},
		{"embed response over the limit", "POST", "/v1/models/tiny/embed", `{"inputs":[` + inputs + `]}`, nil, 413, "--max-response-bytes"},
		{"embed a smaller dim", "POST", "/v1/models/tiny/embed", `{"inputs":[` + inputs + `],"dim":2}`, nil, 200, ""},
	})
}

// TestStrictJSON: the decoding the docs call strict: field names are
// case-sensitive and a key may appear once in an object (encoding/json
// alone accepts "Vector" for "vector" and keeps the last of two "ids").
func TestStrictJSON(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	runHostile(t, s, []hostileCase{
		{"upper-case field", "POST", "/v1/collections", `{"Name":"d","dim":2}`, nil, 400, `Name\" at the top level (field names are case-sensitive)`},
		{"upper-case nested field", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"Vector":[1,0]}]}`, nil, 400, `Vector\" at points[0]`},
		{"index option case", "POST", "/v1/collections", `{"name":"d","dim":2,"index":{"Kind":"hnsw"}}`, nil, 400, `Kind\" at index`},
		{"duplicate key", "POST", "/v1/collections/c/points/delete", `{"ids":[1],"ids":[2]}`, nil, 400, "duplicate key ids"},
		{"duplicate nested key", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"id":2,"vector":[1,0]}]}`, nil, 400, "duplicate key points[0].id"},
		{"duplicate payload key", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,0],"payload":{"a":1,"a":2}}]}`, nil, 400, "duplicate key points[0].payload.a"},
		{"duplicate filter key", "POST", "/v1/collections/c/search", `{"vector":[1,0],"filter":{"a":1,"a":2}}`, nil, 400, "duplicate key filter.a"},
		{"payload keys differing in case", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,0],"payload":{"a":1,"A":2}}]}`, nil, 200, ""},
		{"syntax error still reported", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[1,0]}`, nil, 400, "truncated JSON"},
	})
}

// TestNamesDifferOnlyInCase: collections are directories, and on a
// case-insensitive file system "Docs" would be "docs".
func TestNamesDifferOnlyInCase(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "docs", "dim": 2}, 201, nil)
	runHostile(t, s, []hostileCase{
		{"case variant", "POST", "/v1/collections", `{"name":"Docs","dim":2}`, nil, 409, "only in case"},
		{"other name", "POST", "/v1/collections", `{"name":"docs2","dim":2}`, nil, 201, ""},
	})
}

func TestOptionsValidate(t *testing.T) {
	err := Options{AutoRecall: 2, TrustedOrigins: []string{"not a url", "https://ok.example"}, ModelRoot: "/nonexistent/models"}.Validate()
	for _, want := range []string{"DataDir is required", "AutoRecall 2", `TrustedOrigins "not a url"`, "ModelRoot"} {
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want ErrOptions mentioning %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.example") {
		t.Errorf("Validate() = %v: the valid origin is reported", err)
	}
	if err := (Options{DataDir: "x", MaxPoints: -1}).Validate(); err != nil {
		t.Errorf("Validate with a negative limit (the default) = %v", err)
	}
}
