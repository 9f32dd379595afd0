package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

// TestClient calls every method against a real server.
func TestClient(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.New(server.Options{DataDir: dir, Token: "tok", ModelRoot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c := client.New(ts.URL, "tok")

	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	var ce *client.Error
	if _, err := client.New(ts.URL, "bad").Collections(ctx); !errors.As(err, &ce) || ce.Status != 401 || ce.Code != "unauthorized" {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := c.CreateCollection(ctx, server.CreateCollectionRequest{Name: "x", Dim: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCollection(ctx, server.CreateCollectionRequest{Name: "x", Dim: 2}); !errors.As(err, &ce) || ce.Status != 409 {
		t.Fatalf("second create: %v, want 409", err)
	}
	if r, err := c.Upsert(ctx, "x", []server.Point{{ID: api.IntID(1), Vector: []float32{1, 0}}, {ID: api.IntID(2), Vector: []float32{0, 1}}}); err != nil || r.Upserted != 2 {
		t.Fatalf("upsert %+v %v", r, err)
	}
	if p, err := c.Get(ctx, "x", api.IntID(2)); err != nil || p.Vector[1] != 1 {
		t.Fatalf("get %+v %v", p, err)
	}
	if r, err := c.Delete(ctx, "x", api.IntID(1), api.IntID(5), api.MustUUID("550e8400-e29b-41d4-a716-446655440000")); err != nil || r.Deleted != 1 {
		t.Fatalf("delete %+v %v", r, err)
	}
	if info, err := c.Snapshot(ctx, "x"); err != nil || info.Count != 1 || info.Pending != 0 {
		t.Fatalf("snapshot %+v %v", info, err)
	}
	if info, err := c.Collection(ctx, "x"); err != nil || info.Count != 1 {
		t.Fatalf("collection %+v %v", info, err)
	}
	var more []server.Point
	for i := uint64(10); i < 35; i++ {
		more = append(more, server.Point{ID: api.IntID(i), Vector: []float32{float32(i), 1}})
	}
	// UUIDs come after every integer, in the order of their text.
	uuids := []api.PointID{api.MustUUID("00000000-0000-0000-0000-00000000000a"), api.MustUUID("{550E8400-E29B-41D4-A716-446655440000}")}
	for _, id := range uuids {
		more = append(more, server.Point{ID: id, Vector: []float32{1, 1}, Payload: map[string]any{"u": true}})
	}
	if _, err := c.CreateCollection(ctx, server.CreateCollectionRequest{Name: "y", Dim: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(ctx, "y", more); err != nil {
		t.Fatal(err)
	}
	var seen []api.PointID
	if err := c.All(ctx, "y", 4, func(p api.Point) error { seen = append(seen, p.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 27 || seen[0] != api.IntID(10) || seen[24] != api.IntID(34) || seen[25] != uuids[0] || seen[26] != uuids[1] {
		t.Fatalf("All visited %v, want 10..34 then %v", seen, uuids)
	}
	if page, err := c.Scroll(ctx, "y", client.ScrollOptions{Limit: 3, NoVector: true}); err != nil || len(page.Points) != 3 || page.Points[0].Vector != nil || page.NextAfter == nil || *page.NextAfter != api.IntID(12) {
		t.Fatalf("scroll %+v %v", page, err)
	}
	if page, err := c.Scroll(ctx, "y", client.ScrollOptions{After: &uuids[0]}); err != nil || len(page.Points) != 1 || page.Points[0].ID != uuids[1] || page.NextAfter != nil {
		t.Fatalf("scroll after a UUID: %+v %v", page, err)
	}
	if p, err := c.Get(ctx, "y", uuids[1]); err != nil || p.ID != uuids[1] || p.Payload["u"] != true {
		t.Fatalf("get a UUID point: %+v %v", p, err)
	}
	if r, err := c.Delete(ctx, "y", uuids[0], api.IntID(10)); err != nil || r.Deleted != 2 {
		t.Fatalf("delete a UUID and an integer: %+v %v", r, err)
	}
	if err := c.DeleteCollection(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Search(ctx, "x", server.SearchRequest{Vector: []float32{1, 1}, K: 5}); err != nil || len(res.Results[0].Hits) != 1 || res.Results[0].Hits[0].ID != api.IntID(2) {
		t.Fatalf("search %+v %v", res, err)
	}
	if cols, err := c.Collections(ctx); err != nil || len(cols) != 1 {
		t.Fatalf("collections %+v %v", cols, err)
	}
	if err := c.DeleteCollection(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collection(ctx, "x"); !errors.As(err, &ce) || ce.Status != 404 {
		t.Fatalf("deleted collection: %v", err)
	}

	m, err := model.New(model.Config{Arch: "mlp", InH: 1, InW: 4, InC: 1, Hidden: 8, Embed: 4, Nesting: mrl.Nesting{2, 4}, Heads: "mrl", Classes: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.ckpt")
	if err := train.Save(path, m, nil, "", 1); err != nil {
		t.Fatal(err)
	}
	if mi, err := c.LoadModel(ctx, "m", "m.ckpt"); err != nil || mi.InputDim != 4 {
		t.Fatalf("load model %+v %v", mi, err)
	}
	if ms, err := c.Models(ctx); err != nil || len(ms) != 1 {
		t.Fatalf("models %+v %v", ms, err)
	}
	in := [][]float32{{1, 2, 3, 4}, {0, 0, 0, 1}}
	if e, err := c.Embed(ctx, "m", server.EmbedRequest{Inputs: in}); err != nil || len(e.Embeddings) != 2 || len(e.Embeddings[0]) != 4 {
		t.Fatalf("embed %+v %v", e, err)
	}
	conf := 0.0
	if r, err := c.Classify(ctx, "m", server.ClassifyRequest{Inputs: in, Confidence: &conf}); err != nil || len(r.Results) != 2 || r.Results[0].Dim != 2 {
		t.Fatalf("classify %+v %v", r, err)
	}
}

// TestClientText embeds texts and searches a collection by text through
// the client.
func TestClientText(t *testing.T) {
	dir := t.TempDir()
	m, err := model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 256}, BagDim: 8, Embed: 8, Nesting: mrl.Nesting{4, 8}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Save(filepath.Join(dir, "text.ckpt"), m, nil, "", 1); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{DataDir: dir, ModelRoot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c := client.New(ts.URL, "")
	if mi, err := c.LoadModel(ctx, "txt", "text.ckpt"); err != nil || mi.Arch != "text" || len(mi.SHA256) != 64 {
		t.Fatalf("load %+v %v", mi, err)
	}
	docs := []string{"an extensible text editor", "a web browser", "a compiler for the C language"}
	emb, err := c.EmbedTexts(ctx, "txt", docs, 4)
	if err != nil || len(emb) != 3 || len(emb[0]) != 4 {
		t.Fatalf("embed texts: %v %v", emb, err)
	}
	info, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "docs", Model: "txt"})
	if err != nil || info.Dim != 8 || info.Input == nil || info.Input.Model.Name != "txt" {
		t.Fatalf("create %+v %v", info, err)
	}
	pts := make([]api.Point, len(docs))
	for i, d := range docs {
		pts[i] = api.Point{ID: api.IntID(uint64(i)), Text: d}
	}
	if _, err := c.Upsert(ctx, "docs", pts); err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		res, err := c.SearchText(ctx, "docs", d, api.SearchRequest{K: 1})
		if err != nil || len(res.Hits) != 1 || res.Hits[0].ID != api.IntID(uint64(i)) {
			t.Fatalf("search %q: %+v %v, want id %d", d, res, err, i)
		}
	}
	var ce *client.Error
	if _, err := c.SearchText(ctx, "docs", "?!", api.SearchRequest{}); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("search without words: %v, want a 400", err)
	}
}

// TestClientAdapter: a collection created through the client with an
// adapter takes raw vectors of the adapter's input dim, and a vector of
// another dim is a 400 naming both dims.
func TestClientAdapter(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 6*24)
	for i := range x {
		x[i] = float32(i%7) - float32(i%5)
	}
	a, err := adapter.New(x, 24, 6, 4, mrl.Nesting{2, 4}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := adapter.Save(filepath.Join(dir, "ff.adapter"), a); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{DataDir: dir, ModelRoot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c := client.New(ts.URL, "")
	info, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "docs", Adapter: "ff.adapter"})
	if err != nil || info.Dim != 4 || info.Input == nil || info.Input.Adapter == nil || info.Input.Adapter.InputDim != 6 || len(info.Input.Adapter.SHA256) != 64 {
		t.Fatalf("create %+v %v", info, err)
	}
	pts := make([]api.Point, 24)
	for i := range pts {
		pts[i] = api.Point{ID: api.IntID(uint64(i)), Vector: x[i*6 : (i+1)*6]}
	}
	if _, err := c.Upsert(ctx, "docs", pts); err != nil {
		t.Fatal(err)
	}
	want, err := a.Apply(x[18:24], 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Get(ctx, "docs", api.IntID(3))
	if err != nil || !slices.Equal(p.Vector, want) {
		t.Fatalf("get %+v %v, want the adapted vector %v", p, err, want)
	}
	res, err := c.Search(ctx, "docs", api.SearchRequest{Vector: x[18:24], K: 1})
	if err != nil || len(res.Results[0].Hits) != 1 {
		t.Fatalf("search: %+v %v", res, err)
	}
	var ce *client.Error
	if _, err := c.Search(ctx, "docs", api.SearchRequest{Vector: want}); !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(ce.Message, "length 4, want 6") {
		t.Fatalf("search with an adapted (4-dim) vector: %v, want a 400 naming 4 and 6", err)
	}
}
