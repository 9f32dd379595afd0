package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl/server/api"
)

// iid is api.IntID, short for tests.
func iid(n uint64) api.PointID { return api.IntID(n) }

// num is the integer of an integer id (0 for a UUID).
func num(id api.PointID) uint64 {
	n, _ := id.Uint64()
	return n
}

// intIDs returns the integer ids ns.
func intIDs(ns ...uint64) []api.PointID {
	ids := make([]api.PointID, len(ns))
	for i, n := range ns {
		ids[i] = api.IntID(n)
	}
	return ids
}

// TestBadIDs: every malformed id is a 400 that names where it is: the
// point's index and field in an upsert, the index in a delete, the path
// or the cursor.
func TestBadIDs(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	const ok = `{"id":1,"vector":[1,0]}`
	for _, tt := range []struct {
		name, id, msg string
	}{
		{"negative", `-1`, "-1 is negative"},
		{"float", `1.5`, "1.5 is not an unsigned integer"},
		{"exponent", `1e3`, "1e3 is not an unsigned integer"},
		{"too large", `18446744073709551616`, "out of range"},
		{"decimal in a string", `"42"`, `the string "42" is not a UUID`},
		{"not a UUID", `"doc-1"`, `the string "doc-1" is not a UUID`},
		{"UUID with a bad digit", `"550e8400-e29b-41d4-a716-44665544000g"`, "is not a UUID"},
		{"UUID with misplaced hyphens", `"550e8400e-29b-41d4-a716-446655440000"`, "is not a UUID"},
		{"empty string", `""`, "an empty string"},
		{"null", `null`, "got JSON null"},
		{"bool", `true`, "got JSON true"},
		{"object", `{"uuid":"550e8400-e29b-41d4-a716-446655440000"}`, "got JSON {"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct{ path, body, where string }{
				{"/v1/collections/c/points", `{"points":[` + ok + `,{"id":` + tt.id + `,"vector":[0,1]}]}`, "points[1].id: "},
				{"/v1/collections/c/points/delete", `{"ids":[1,` + tt.id + `]}`, "ids[1]: "},
			} {
				code, body := do(t, s, "POST", c.path, c.body)
				var eb errorBody
				if err := json.Unmarshal(body, &eb); err != nil || code != 400 || !strings.Contains(eb.Error.Message, c.where+"not a point id") || !strings.Contains(eb.Error.Message, tt.msg) {
					t.Errorf("POST %s %s = %d %s, want 400 naming %q and %q", c.path, c.body, code, body, c.where, tt.msg)
				}
			}
		})
	}
	for _, p := range []string{
		"/v1/collections/c/points/-1", "/v1/collections/c/points/1.5", "/v1/collections/c/points/18446744073709551616",
		"/v1/collections/c/points/doc-1", "/v1/collections/c/points/%7B550e8400-e29b-41d4-a716-44665544000g%7D",
	} {
		code, body := do(t, s, "GET", p, "")
		if code != 400 || !strings.Contains(string(body), "point id") {
			t.Errorf("GET %s = %d %s, want 400 naming the point id", p, code, body)
		}
	}
	for _, q := range []string{"after=-1", "after=abc", "after=1.5", "after=%22%22"} {
		code, body := do(t, s, "GET", "/v1/collections/c/points?"+q, "")
		if code != 400 || !strings.Contains(string(body), "after") {
			t.Errorf("GET ?%s = %d %s, want 400 naming after", q, code, body)
		}
	}
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/c", nil, 200, &info)
	if info.Count != 0 || info.Seq != 0 {
		t.Fatalf("after bad ids: count %d seq %d, want nothing written", info.Count, info.Seq)
	}
}

// TestMixedIDsAPI: integer and UUID ids through every route, in every
// accepted UUID form (answered in the canonical one), kept across a
// restart; scroll lists integers then UUIDs with a cursor of either kind.
func TestMixedIDsAPI(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "m", "dim": 2, "metric": "l2"}, 201, nil)
	const (
		u1 = "550e8400-e29b-41d4-a716-446655440000"
		u2 = "936da01f-9abd-4d9d-80c7-02af85c822a8"
		u3 = "f9168c5e-ceb2-4faa-b6bf-329bf39fa1e4"
		u4 = "00000000-0000-0000-0000-000000000007"
	)
	code, body := do(t, s, "POST", "/v1/collections/m/points", `{"points":[
		{"id":"`+u1+`","vector":[1,0],"payload":{"k":"a"}},
		{"id":7,"vector":[0,1]},
		{"id":"936DA01F9ABD4d9d80C702AF85C822A8","vector":[2,0]},
		{"id":"urn:uuid:F9168C5E-CEB2-4faa-B6BF-329BF39FA1E4","vector":[3,0]},
		{"id":"{00000000-0000-0000-0000-000000000007}","vector":[4,0]},
		{"id":18446744073709551615,"vector":[5,0]}]}`)
	if code != 200 {
		t.Fatalf("upsert = %d %s", code, body)
	}
	// The same UUID in another form is the same id.
	if code, body := do(t, s, "POST", "/v1/collections/m/points", `{"points":[{"id":"`+u1+`","vector":[1,0]},{"id":"550E8400E29B41D4A716446655440000","vector":[1,0]}]}`); code != 400 || !strings.Contains(string(body), "points[1].id: "+u1+" repeats points[0].id") {
		t.Errorf("a UUID twice in two forms = %d %s, want 400 naming points[1].id", code, body)
	}
	check := func(s *Server, when string) {
		t.Helper()
		var p Point
		mustDo(t, s, "GET", "/v1/collections/m/points/"+strings.ToUpper(u1), nil, 200, &p)
		if p.ID.String() != u1 || p.Payload["k"] != "a" {
			t.Errorf("%s: get %s = %+v", when, u1, p)
		}
		_, raw := do(t, s, "GET", "/v1/collections/m/points/"+u1, "")
		if !strings.HasPrefix(string(raw), `{"id":"`+u1+`",`) {
			t.Errorf("%s: get body %s, want the canonical UUID string", when, raw)
		}
		_, raw = do(t, s, "GET", "/v1/collections/m/points/7", "")
		if !strings.HasPrefix(string(raw), `{"id":7,`) {
			t.Errorf("%s: get body %s, want the integer id as a number", when, raw)
		}
		var ids []string
		for after := ""; ; {
			var page ScrollResponse
			mustDo(t, s, "GET", "/v1/collections/m/points?limit=2&with_vector=false"+after, nil, 200, &page)
			for _, p := range page.Points {
				ids = append(ids, p.ID.String())
			}
			if page.NextAfter == nil {
				break
			}
			after = "&after=" + page.NextAfter.String()
		}
		if want := []string{"7", "18446744073709551615", u4, u1, u2, u3}; !slices.Equal(ids, want) {
			t.Errorf("%s: scroll %v, want %v", when, ids, want)
		}
		var sr SearchResponse
		mustDo(t, s, "POST", "/v1/collections/m/search", SearchRequest{Vector: []float32{2.9, 0}, K: 2}, 200, &sr)
		if h := sr.Results[0].Hits; len(h) != 2 || h[0].ID.String() != u3 || h[1].ID.String() != u2 {
			t.Errorf("%s: search hits %+v, want %s then %s", when, h, u3, u2)
		}
	}
	check(s, "written")
	mustDo(t, s, "POST", "/v1/collections/m/snapshot", nil, 200, nil)
	check(s, "after a snapshot")
	var dr DeleteResponse
	mustDo(t, s, "POST", "/v1/collections/m/points/delete", map[string]any{"ids": []any{"urn:uuid:" + u2, 7, 8}}, 200, &dr)
	if dr.Deleted != 2 {
		t.Errorf("deleted %d, want 2", dr.Deleted)
	}
	mustDo(t, s, "DELETE", "/v1/collections/m/points/"+u3, nil, 200, &dr)
	mustDo(t, s, "GET", "/v1/collections/m/points/"+u3, nil, 404, nil)
	mustDo(t, s, "POST", "/v1/collections/m/points", UpsertRequest{Points: []Point{{ID: api.MustUUID(u2), Vector: []float32{6, 0}}, {ID: iid(7), Vector: []float32{7, 0}}}}, 200, nil)
	s.Close()
	s2 := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
	for id, want := range map[string]float32{u1: 1, u2: 6, "7": 7, u4: 4, "18446744073709551615": 5} {
		var p Point
		mustDo(t, s2, "GET", "/v1/collections/m/points/"+id, nil, 200, &p)
		if p.ID.String() != id || p.Vector[0] != want {
			t.Errorf("after a restart: point %s = %+v, want x %v", id, p, want)
		}
	}
	mustDo(t, s2, "GET", "/v1/collections/m/points/"+u3, nil, 404, nil)
}
