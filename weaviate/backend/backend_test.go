package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

// Unit tests: no cluster needed.

func TestMetaLayout(t *testing.T) {
	tests := []struct {
		name     string
		meta     api.Meta
		prefixes []int
		full     string
		hnsw     weaviate.HNSWConfig
		bad      []string // the error names each of these
	}{
		{name: "default nesting", meta: api.Meta{Name: "docs", Dim: 64},
			prefixes: []int{8, 16, 32}, full: weaviate.Flat},
		{name: "chosen prefixes", meta: api.Meta{Name: "docs", Dim: 512, Nesting: mrl.Nesting{64, 512}},
			prefixes: []int{64}, full: weaviate.Flat},
		{name: "no prefix", meta: api.Meta{Name: "docs", Dim: 16, Nesting: mrl.Nesting{16}},
			prefixes: nil, full: weaviate.Flat},
		{name: "hnsw", meta: api.Meta{Name: "d_2", Dim: 128, Metric: "ip", Nesting: mrl.Nesting{32, 128}, Index: api.IndexSpec{Kind: "hnsw", M: 16, EfConstruction: 64, EfSearch: 100}},
			prefixes: []int{32}, full: weaviate.HNSW, hnsw: weaviate.HNSWConfig{M: 16, EfConstruction: 64, Ef: 100}},
		{name: "text model attached", meta: api.Meta{Name: "texts", Dim: 32, Nesting: mrl.Nesting{8, 32},
			Input: &api.InputSpec{Model: &api.ModelRef{Name: "txt", Path: "runs/t.ckpt", SHA256: strings.Repeat("ab", 32), Arch: "text"}}},
			prefixes: []int{8}, full: weaviate.Flat},
		{name: "refused", meta: api.Meta{Name: "9-lives", Dim: 64, Index: api.IndexSpec{Kind: "ivf"}},
			bad: []string{`name "9-lives"`, `kind "ivf"`}},
		{name: "graph dim and seed", meta: api.Meta{Name: "docs", Dim: 64, Index: api.IndexSpec{Kind: "hnsw", GraphDim: 16, Seed: 3}},
			bad: []string{"graph_dim 16", "seed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.meta
			if err := collection.CheckMeta(&m); err != nil && tt.bad == nil {
				t.Fatal(err)
			}
			l, err := MetaLayout(m)
			if tt.bad != nil {
				if !errors.Is(err, collection.ErrInvalid) {
					t.Fatalf("MetaLayout(%+v) = %v, want ErrInvalid", m, err)
				}
				for _, w := range tt.bad {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("MetaLayout error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("MetaLayout(%+v) = %v", m, err)
			}
			if !slices.Equal(l.Prefixes, tt.prefixes) || l.Full != tt.full || l.HNSW != tt.hnsw || l.Dim != m.Dim {
				t.Errorf("MetaLayout(%+v) = prefixes %v full %s hnsw %+v dim %d, want %v %s %+v %d", m, l.Prefixes, l.Full, l.HNSW, l.Dim, tt.prefixes, tt.full, tt.hnsw, m.Dim)
			}
			// The Meta round-trips through the layout the class records.
			l.Replicas = 2
			back, err := LayoutMeta(l.WithDefaults(), "Docs")
			if err != nil {
				t.Fatalf("LayoutMeta(MetaLayout(%+v)) = %v", m, err)
			}
			if !reflect.DeepEqual(back, m) {
				t.Errorf("LayoutMeta(MetaLayout(m)) = %+v, want %+v", back, m)
			}
			// Every plan over the nesting's dims runs on the layout.
			var plan index.Plan
			for _, d := range m.Nesting {
				plan = append(plan, index.Stage{Dim: d, Keep: 10})
			}
			if err := l.CheckPlan(plan); err != nil {
				t.Errorf("CheckPlan(%v) on MetaLayout(%+v): %v", plan, m, err)
			}
		})
	}
}

func TestLayoutMeta(t *testing.T) {
	// A class made by mrl index push records no Meta: one is made from
	// its layout.
	l := weaviate.Layout{Dim: 256, Metric: mrl.L2, Prefixes: []int{32, 64}, Full: weaviate.HNSW, HNSW: weaviate.HNSWConfig{M: 8}}.WithDefaults()
	m, err := LayoutMeta(l, "Fm")
	if err != nil {
		t.Fatal(err)
	}
	want := api.Meta{Name: "Fm", Dim: 256, Metric: "l2", Nesting: mrl.Nesting{32, 64, 256}, Index: api.IndexSpec{Kind: "hnsw", M: 8}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("LayoutMeta(push layout) = %+v, want %+v", m, want)
	}
	// A recorded Meta that disagrees with the class's layout is refused.
	rec, err := MetaLayout(api.Meta{Name: "docs", Dim: 64, Metric: "cosine", Nesting: mrl.Nesting{16, 64}, Index: api.IndexSpec{Kind: "flat"}})
	if err != nil {
		t.Fatal(err)
	}
	rec.Prefixes = []int{8}
	if _, err := LayoutMeta(rec.WithDefaults(), "Docs"); !errors.Is(err, weaviate.ErrLayout) || !strings.Contains(err.Error(), "prefixes") {
		t.Errorf("LayoutMeta(layout with other prefixes than its Meta) = %v, want ErrLayout naming the prefixes", err)
	}
}

func TestMapErr(t *testing.T) {
	tests := []struct {
		in   error
		want error // nil: passed as it is
	}{
		{fmt.Errorf("%w: no node of 127.0.0.1:1/2 answered", weaviate.ErrUnreachable), collection.ErrUnavailable},
		{fmt.Errorf("%w: docs", weaviate.ErrNotFound), collection.ErrNotFound},
		{fmt.Errorf("weaviate: search docs: %w: search: inconsistent consistency levels", weaviate.ErrTransient), collection.ErrUnavailable},
		{fmt.Errorf("%w: plan needs 32", weaviate.ErrLayout), collection.ErrInvalid},
		{fmt.Errorf("%w: name", weaviate.ErrName), collection.ErrInvalid},
		{fmt.Errorf("%w: field", weaviate.ErrPayload), collection.ErrInvalid},
		{fmt.Errorf("%w: $or", weaviate.ErrFilter), collection.ErrInvalid},
		{fmt.Errorf("%w: k", weaviate.ErrRequest), collection.ErrInvalid},
		{errors.New("weaviate: something else"), nil},
	}
	for _, tt := range tests {
		got := mapErr(tt.in)
		if got.Error() != tt.in.Error() {
			t.Errorf("mapErr(%v) = %q: the message changed", tt.in, got)
		}
		if !errors.Is(got, tt.in) && got != tt.in {
			t.Errorf("mapErr(%v) lost the original error", tt.in)
		}
		if tt.want == nil {
			if got != tt.in {
				t.Errorf("mapErr(%v) = %v, want it unchanged", tt.in, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("mapErr(%v) = %v, want it to be %v", tt.in, got, tt.want)
		}
		for _, other := range []error{collection.ErrUnavailable, collection.ErrNotFound, collection.ErrInvalid, collection.ErrExists} {
			if other != tt.want && errors.Is(got, other) {
				t.Errorf("mapErr(%v) is also %v", tt.in, other)
			}
		}
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}

func TestSearchOptions(t *testing.T) {
	c := &Collection{meta: api.Meta{Name: "docs", Dim: 4, Metric: "cosine", Nesting: mrl.Nesting{2, 4}}, metric: mrl.Cosine}
	plan := index.Plan{{Dim: 2, Keep: 50}, {Dim: 4, Keep: 10}}
	q := []float32{1, 0, 0, 0}
	got, err := c.searchOptions(collection.Query{Vector: q, Plan: plan, Filter: map[string]any{"c": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.K != 10 || got.Dim != 4 || !slices.Equal(got.Plan, plan) || got.Filter["c"] != "a" || got.WithPayload {
		t.Errorf("searchOptions(defaults, plan, filter) = %+v", got)
	}
	got, err = c.searchOptions(collection.Query{Vector: q, Dim: 2, K: 3, WithPayload: true})
	if err != nil || got.K != 3 || got.Dim != 2 || got.Plan != nil || got.Filter != nil || !got.WithPayload {
		t.Errorf("searchOptions(dim 2, k 3, payload) = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name string
		q    collection.Query
		want string
	}{
		{"dim", collection.Query{Vector: q, Dim: 5}, "dim: 5"},
		{"k", collection.Query{Vector: q, K: -1}, "k: -1"},
		{"vector", collection.Query{Vector: q[:3]}, "length 3"},
		{"plan", collection.Query{Vector: q, Plan: index.Plan{{Dim: 3, Keep: 5}, {Dim: 2, Keep: 1}}}, "plan"},
		{"filter", collection.Query{Vector: q, Filter: map[string]any{}}, "empty object"},
	} {
		_, err := c.searchOptions(tt.q)
		if !errors.Is(err, collection.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("searchOptions(%s) = %v, want ErrInvalid naming %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckPoints(t *testing.T) {
	ok := []api.Point{{ID: api.IntID(1), Vector: []float32{1, 0}}, {ID: api.IntID(2), Vector: []float32{0, 1}, Payload: map[string]any{"a": "x"}}}
	if err := checkPoints(ok, 2, mrl.Cosine); err != nil {
		t.Fatal(err)
	}
	if err := checkPoints([]api.Point{{ID: api.IntID(1), Vector: []float32{1, 0}}, {ID: api.MustUUID("550e8400-e29b-41d4-a716-446655440000"), Vector: []float32{0, 1}}}, 2, mrl.Cosine); err != nil {
		t.Errorf("checkPoints(an integer and a UUID id) = %v, want nil", err)
	}
	for _, tt := range []struct {
		pts  []api.Point
		want string
	}{
		{[]api.Point{{ID: api.IntID(1), Vector: []float32{1, 0}}, {ID: api.IntID(1), Vector: []float32{0, 1}}}, "repeats"},
		{[]api.Point{{ID: api.IntID(1), Vector: []float32{1}}}, "length 1"},
		{[]api.Point{{ID: api.IntID(1), Vector: []float32{1, 0}, Payload: map[string]any{"a": []any{1.0}}}}, "payload.a"},
		{[]api.Point{{ID: api.MustUUID("6d726c00-0000-0000-0000-000000000001"), Vector: []float32{1, 0}}}, "points[0].id: weaviate: invalid payload: UUID id 6d726c00-0000-0000-0000-000000000001"},
	} {
		if err := checkPoints(tt.pts, 2, mrl.Cosine); !errors.Is(err, collection.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("checkPoints(%v) = %v, want ErrInvalid naming %q", tt.pts, err, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	err := Options{Consistency: "most", Replicas: -1, Shards: -2, Timeout: -time.Second, BatchSize: 20000}.Validate()
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("Validate = %v, want ErrOptions", err)
	}
	for _, w := range []string{"addrs", "consistency", "replicas -1", "shards -2", "timeout", "batch size"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error %q does not name %q", err, w)
		}
	}
	o := Options{Addrs: weaviate.Addrs{{Host: "127.0.0.1", HTTP: 8080, GRPC: 50051}}}.WithDefaults()
	if err := o.Validate(); err != nil || o.Consistency != weaviate.Quorum || o.Replicas != 1 || o.Timeout != 30*time.Second {
		t.Errorf("defaults = %+v, %v", o, err)
	}
}

// TestOpenUnreachable opens a store on a port nothing listens on: the
// error is ErrUnavailable (503 in the server) and names the address.
func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := weaviate.Addr{Host: "127.0.0.1", HTTP: port, GRPC: port}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Open(ctx, Options{Addrs: weaviate.Addrs{addr}, Timeout: 2 * time.Second})
	if !errors.Is(err, collection.ErrUnavailable) || !strings.Contains(err.Error(), addr.String()) {
		t.Errorf("Open(%s) = %v, want ErrUnavailable naming the address", addr, err)
	}
}

// TestUnreachable serves a store whose cluster stops answering: a fake
// node answers the ready check and the schema (one collection) at Open,
// then goes away. Every call must then be 503 unavailable naming the
// node, and /readyz 503, through the real handlers.
func TestUnreachable(t *testing.T) {
	desc := `mrl layout {"dim":4,"metric":"cosine","prefixes":[2],"full":"flat","shards":0,"replicas":1,"hnsw":{},` +
		`"extra":{"name":"docs","dim":4,"metric":"cosine","nesting":[2,4],"index":{"kind":"flat"}}}`
	class := map[string]any{
		"class": "Docs", "description": desc,
		"vectorConfig": map[string]any{
			"p2":   map[string]any{"vectorIndexType": "hnsw", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
			"full": map[string]any{"vectorIndexType": "flat", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
		},
		"replicationConfig": map[string]any{"factor": 1},
	}
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/.well-known/ready":
		case "/v1/schema":
			json.NewEncoder(w).Encode(map[string]any{"classes": []any{class}})
		default:
			http.NotFound(w, r)
		}
	}))
	u, _ := url.Parse(node.URL)
	port, _ := strconv.Atoi(u.Port())
	addr := weaviate.Addr{Host: "127.0.0.1", HTTP: port, GRPC: port}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := Open(context.Background(), Options{Addrs: weaviate.Addrs{addr}, Timeout: 2 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, ok := st.Collection("docs")
	if !ok || !slices.Equal(c.Meta().Nesting, mrl.Nesting{2, 4}) {
		t.Fatalf("Collection(docs) = %v, %v; want the recorded Meta", c, ok)
	}
	node.Close()
	for _, tt := range []struct {
		method, path, body string
	}{
		{"GET", "/readyz", ""},
		{"POST", "/v1/collections", `{"name":"more","dim":4}`},
		{"POST", "/v1/collections/docs/points", `{"points":[{"id":1,"vector":[1,0,0,0]}]}`},
		{"GET", "/v1/collections/docs/points/1", ""},
		{"GET", "/v1/collections/docs/points", ""},
		{"POST", "/v1/collections/docs/points/delete", `{"ids":[1]}`},
		{"POST", "/v1/collections/docs/search", `{"vector":[1,0,0,0],"plan":"2:10,4:5"}`},
		{"DELETE", "/v1/collections/docs", ""},
	} {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		req := httptest.NewRequest(tt.method, tt.path, body)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), addr.String()) {
			t.Errorf("%s %s = %d %s, want 503 naming %s", tt.method, tt.path, rec.Code, rec.Body, addr)
		}
	}
}

// TestTransient serves a store whose cluster answers a write with
// Weaviate's transient replica error (as it did while a node rejoined
// under the CI's failure test): the server must answer 503, which a
// client retries, with Weaviate's message, not 500.
func TestTransient(t *testing.T) {
	desc := `mrl layout {"dim":4,"metric":"cosine","prefixes":[2],"full":"flat","shards":0,"replicas":2,"hnsw":{},` +
		`"extra":{"name":"docs","dim":4,"metric":"cosine","nesting":[2,4],"index":{"kind":"flat"}}}`
	class := map[string]any{
		"class": "Docs", "description": desc,
		"vectorConfig": map[string]any{
			"p2":   map[string]any{"vectorIndexType": "hnsw", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
			"full": map[string]any{"vectorIndexType": "flat", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
		},
		"replicationConfig": map[string]any{"factor": 2},
	}
	const msg = "inconsistent consistency levels: shard a resolved to 1, shard b resolved to 2"
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/.well-known/ready":
		case "/v1/schema":
			json.NewEncoder(w).Encode(map[string]any{"classes": []any{class}})
		case "/v1/schema/Docs":
			json.NewEncoder(w).Encode(class)
		case "/v1/batch/objects":
			w.WriteHeader(500)
			json.NewEncoder(w).Encode(map[string]any{"error": []any{map[string]any{"message": msg}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer node.Close()
	u, _ := url.Parse(node.URL)
	port, _ := strconv.Atoi(u.Port())
	addr := weaviate.Addr{Host: "127.0.0.1", HTTP: port, GRPC: port}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := Open(context.Background(), Options{Addrs: weaviate.Addrs{addr}, Timeout: 2 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tt := range []struct {
		method, path, body string
	}{
		// A batch delete is REST (the client's batch upsert and searches
		// are gRPC, which this fake does not serve).
		{"POST", "/v1/collections/docs/points/delete", `{"ids":[1]}`},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), "inconsistent consistency levels") {
			t.Errorf("%s %s = %d %s, want 503 with Weaviate's message", tt.method, tt.path, rec.Code, rec.Body)
		}
	}
	// A scroll cursor in the integers' object-id namespace is no id here.
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/collections/docs/points?after=6d726c00-0000-0000-0000-000000000001", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "no page of this collection ends with it") {
		t.Errorf("scroll after a reserved UUID = %d %s, want 400", rec.Code, rec.Body)
	}
}

// TestDroppedElsewhere serves a collection that another server then
// drops from the cluster: a request on it must answer 404 (Weaviate's
// "could not find class"), the store must forget it, and opening it by
// name must read the cluster again (after HealthEvery) and not find it.
func TestDroppedElsewhere(t *testing.T) {
	desc := `mrl layout {"dim":4,"metric":"cosine","prefixes":[2],"full":"flat","shards":0,"replicas":1,"hnsw":{},` +
		`"extra":{"name":"docs","dim":4,"metric":"cosine","nesting":[2,4],"index":{"kind":"flat"}}}`
	class := map[string]any{
		"class": "Docs", "description": desc,
		"vectorConfig": map[string]any{
			"p2":   map[string]any{"vectorIndexType": "hnsw", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
			"full": map[string]any{"vectorIndexType": "flat", "vectorIndexConfig": map[string]any{"distance": "cosine"}},
		},
		"replicationConfig": map[string]any{"factor": 1},
	}
	var gone atomic.Bool
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/.well-known/ready":
		case "/v1/schema":
			classes := []any{class}
			if gone.Load() {
				classes = nil
			}
			json.NewEncoder(w).Encode(map[string]any{"classes": classes})
		case "/v1/schema/Docs":
			if gone.Load() {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(class)
		case "/v1/batch/objects":
			w.WriteHeader(422)
			json.NewEncoder(w).Encode(map[string]any{"error": []any{map[string]any{"message": "could not find class Docs in schema"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer node.Close()
	u, _ := url.Parse(node.URL)
	port, _ := strconv.Atoi(u.Port())
	addr := weaviate.Addr{Host: "127.0.0.1", HTTP: port, GRPC: port}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := Open(context.Background(), Options{Addrs: weaviate.Addrs{addr}, Timeout: 2 * time.Second, HealthEvery: time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	old, ok := st.Collection("docs")
	if !ok {
		t.Fatal("Collection(docs) before the drop: not found")
	}
	gone.Store(true) // another server dropped it

	// A request on the cached collection meets the cluster's answer.
	req := httptest.NewRequest("POST", "/v1/collections/docs/points/delete", strings.NewReader(`{"ids":[1]}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("delete on a collection dropped elsewhere = %d %s, want 404", rec.Code, rec.Body)
	}
	if _, _, err := old.Delete([]api.PointID{api.IntID(1)}); !errors.Is(err, collection.ErrClosed) {
		t.Errorf("Delete on the forgotten collection = %v, want ErrClosed", err)
	}
	time.Sleep(5 * time.Millisecond)
	if c, ok := st.Collection("docs"); ok {
		t.Errorf("Collection(docs) after the drop = %v, want not found", c)
	}

	// Opened by name after HealthEvery, a collection dropped elsewhere is
	// not served from the cache even before any request fails.
	gone.Store(false)
	if _, ok := st.Collection("docs"); !ok {
		t.Fatal("Collection(docs) once the class is back: not found")
	}
	gone.Store(true)
	time.Sleep(5 * time.Millisecond)
	if c, ok := st.Collection("docs"); ok {
		t.Errorf("Collection(docs) after a second drop = %v, want not found", c)
	}
}
