package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
)

func TestExportCollection(t *testing.T) {
	dir := t.TempDir()
	srv, err := server.New(server.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	c := client.New(ts.URL, "")
	if _, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "c", Dim: 3}); err != nil {
		t.Fatal(err)
	}
	var pts []api.Point
	for i := 0; i < 2500; i++ { // more than one page
		pts = append(pts, api.Point{ID: api.IntID(uint64(7 * i)), Vector: []float32{float32(i), 1, -1}, Payload: map[string]any{"i": float64(i)}})
	}
	for lo := 0; lo < len(pts); lo += 1000 {
		if _, err := c.Upsert(ctx, "c", pts[lo:min(lo+1000, len(pts))]); err != nil {
			t.Fatal(err)
		}
	}
	jsonl := filepath.Join(dir, "c.jsonl")
	code, out, stderr := runCmd(t, "export", "collection", "--server", ts.URL, "--name", "c", "--out", jsonl)
	if code != 0 || !strings.Contains(out, "2500 points of dim 3") {
		t.Fatalf("export jsonl: exit %d, %q, %s", code, out, stderr)
	}
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	v, err := index.ReadJSONL(f, mrl.InnerProduct)
	f.Close()
	if err != nil || v.N() != 2500 || v.ID(1) != 7 || !slices.Equal(v.Row(2499), []float32{2499, 1, -1}) {
		t.Fatalf("JSONL read back: %v", err)
	}
	npy := filepath.Join(dir, "c.npy")
	if code, _, stderr := runCmd(t, "export", "collection", "--server", ts.URL, "--name", "c", "--out", npy); code != 0 {
		t.Fatalf("export npy: exit %d: %s", code, stderr)
	}
	nf, err := os.Open(npy)
	if err != nil {
		t.Fatal(err)
	}
	x, shape, err := data.ReadNPY(nf)
	nf.Close()
	if err != nil || !slices.Equal(shape, []int{2500, 3}) || x[3*10] != 10 {
		t.Fatalf("NPY: shape %v, err %v", shape, err)
	}
	ids, err := os.ReadFile(filepath.Join(dir, "c.ids.txt"))
	if err != nil || !strings.HasPrefix(string(ids), "0\n7\n14\n") {
		t.Fatalf("ids file: %.20q, %v", ids, err)
	}
	// Mixed ids: integers first, then UUIDs, as numbers and strings in
	// JSONL and as text in the ids file.
	if _, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "u", Dim: 1}); err != nil {
		t.Fatal(err)
	}
	u := api.MustUUID("550E8400E29B41D4A716446655440000")
	if _, err := c.Upsert(ctx, "u", []api.Point{{ID: u, Vector: []float32{1}}, {ID: api.IntID(9), Vector: []float32{2}}}); err != nil {
		t.Fatal(err)
	}
	ujsonl, unpy := filepath.Join(dir, "u.jsonl"), filepath.Join(dir, "u.npy")
	for _, out := range []string{ujsonl, unpy} {
		if code, _, stderr := runCmd(t, "export", "collection", "--server", ts.URL, "--name", "u", "--out", out); code != 0 {
			t.Fatalf("export %s: exit %d: %s", out, code, stderr)
		}
	}
	if b, err := os.ReadFile(ujsonl); err != nil || string(b) != `{"id":9,"vector":[2]}`+"\n"+`{"id":"550e8400-e29b-41d4-a716-446655440000","vector":[1]}`+"\n" {
		t.Errorf("mixed JSONL: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "u.ids.txt")); err != nil || string(b) != "9\n550e8400-e29b-41d4-a716-446655440000\n" {
		t.Errorf("mixed ids file: %q, %v", b, err)
	}
	if code, _, stderr := runCmd(t, "export", "collection", "--server", ts.URL, "--name", "nope", "--out", jsonl); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("missing collection: exit %d, %s", code, stderr)
	}
}
