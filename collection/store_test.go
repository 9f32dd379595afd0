package collection

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomrl/mrl/index"
)

// TestStoreLifecycle: Create refuses a taken name (also in another case),
// Drop removes the directory and the name, and calls on a dropped
// collection fail with ErrClosed.
func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	c := mustCreate(t, s, Meta{Name: "docs", Dim: 2})
	mustCreate(t, s, Meta{Name: "a", Dim: 2})
	for _, name := range []string{"docs", "Docs"} {
		if _, err := s.Create(Meta{Name: name, Dim: 2}); !errors.Is(err, ErrExists) {
			t.Errorf("Create(%s) = %v, want ErrExists", name, err)
		}
	}
	if _, err := s.Create(Meta{Name: "bad name", Dim: 0}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "dim 0") {
		t.Errorf("Create(bad) = %v, want ErrInvalid naming every problem", err)
	}
	if got := s.Collections(); len(got) != 2 || got[0].Meta().Name != "a" || got[1].Meta().Name != "docs" {
		t.Errorf("Collections() = %d collections, want a and docs in order", len(got))
	}
	mustUpsert(t, s, "docs", Point{ID: iid(1), Vector: []float32{1, 0}})
	if err := s.Drop("docs"); err != nil {
		t.Fatal(err)
	}
	if err := s.Drop("docs"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Drop twice = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "collections", "docs")); !os.IsNotExist(err) {
		t.Errorf("the dropped collection's directory: %v", err)
	}
	if _, err := c.Upsert([]Point{{ID: iid(2), Vector: []float32{0, 1}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Upsert on a dropped collection = %v, want ErrClosed", err)
	}
	if _, err := c.Search(context.Background(), Query{Vector: []float32{0, 1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Search on a dropped collection = %v, want ErrClosed", err)
	}
}

// TestInvalidArguments: malformed points and queries are ErrInvalid, and a
// refused batch writes nothing.
func TestInvalidArguments(t *testing.T) {
	s := openStore(t, "", Options{})
	c := mustCreate(t, s, Meta{Name: "c", Dim: 3, Nesting: []int{1, 3}})
	nan := float32(math.NaN())
	for _, tt := range []struct {
		name string
		pts  []Point
		want string
	}{
		{"short vector", []Point{{ID: iid(1), Vector: []float32{1, 2}}}, "points[0].vector: length 2, want 3"},
		{"NaN", []Point{{ID: iid(1), Vector: []float32{1, nan, 0}}}, "points[0].vector[1]"},
		{"huge", []Point{{ID: iid(1), Vector: []float32{3e38, 0, 0}}}, "squared norm"},
		{"repeated id", []Point{{ID: iid(1), Vector: []float32{1, 0, 0}}, {ID: iid(1), Vector: []float32{0, 1, 0}}}, "repeats"},
		{"payload object", []Point{{ID: iid(1), Vector: []float32{1, 0, 0}, Payload: map[string]any{"a": map[string]any{}}}}, "points[0].payload.a"},
	} {
		_, err := c.Upsert(tt.pts)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Upsert = %v, want ErrInvalid containing %q", tt.name, err, tt.want)
		}
	}
	if in := c.Info(); in.Seq != 0 || in.Count != 0 {
		t.Errorf("after refused writes: %+v, want nothing written", in)
	}
	mustUpsert(t, s, "c", Point{ID: iid(1), Vector: []float32{1, 0, 0}})
	for _, tt := range []struct {
		name string
		q    Query
		want string
	}{
		{"short query", Query{Vector: []float32{1}}, "length 1, want 3"},
		{"dim above D", Query{Vector: []float32{1, 0, 0}, Dim: 4}, "dim: 4"},
		{"bad filter", Query{Vector: []float32{1, 0, 0}, Filter: map[string]any{"$xor": []any{}}}, "unknown operator"},
		{"bad plan", Query{Vector: []float32{1, 0, 0}, Plan: index.Plan{{Dim: 2, Keep: 5}, {Dim: 2, Keep: 1}}}, "plan"},
	} {
		_, err := c.Search(context.Background(), tt.q)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Search = %v, want ErrInvalid containing %q", tt.name, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Search(ctx, Query{Vector: []float32{1, 0, 0}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Search with a cancelled context = %v", err)
	}
}

// TestOptionsValidate reports every problem and leaves defaults to
// WithDefaults.
func TestOptionsValidate(t *testing.T) {
	if err := (Options{AutoRecall: 1.5}).Validate(); !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "AutoRecall 1.5") {
		t.Errorf("Validate(AutoRecall 1.5) = %v", err)
	}
	if err := (Options{RebuildMin: -3, SnapshotEvery: -1}).Validate(); err != nil {
		t.Errorf("Validate with negative limits = %v", err)
	}
	o := Options{SnapshotEvery: -1}.WithDefaults()
	if o.SnapshotEvery != -1 || o.RebuildMin != 1024 || o.TuneMinRows != 1000 || o.AutoRecall != 0.95 || o.Logger == nil {
		t.Errorf("WithDefaults = %+v", o)
	}
	if _, err := Open(t.TempDir(), Options{AutoRecall: -1}); !errors.Is(err, ErrOptions) {
		t.Errorf("Open with bad options = %v, want ErrOptions", err)
	}
}

// TestScrollPages pages through a collection with changes since its
// snapshot, by the default page size and by a byte bound.
func TestScrollPages(t *testing.T) {
	s := openStore(t, "", Options{SnapshotEvery: -1})
	c := mustCreate(t, s, Meta{Name: "c", Dim: 1})
	var pts []Point
	for i := range 250 {
		pts = append(pts, Point{ID: iid(uint64(3 * i)), Vector: []float32{float32(i)}})
	}
	mustUpsert(t, s, "c", pts...)
	if err := c.Snapshot(); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "c", Point{ID: iid(1), Vector: []float32{1}}) // after the snapshot
	mustDelete(t, s, "c", 0)
	var got []uint64
	o := ScrollOptions{First: true}
	for pages := 0; ; pages++ {
		page, more := c.Scroll(o)
		if pages == 0 && len(page) != 100 {
			t.Fatalf("first page of the default size: %d points", len(page))
		}
		for _, p := range page {
			n, _ := p.ID.Uint64()
			got = append(got, n)
		}
		if !more {
			break
		}
		o = ScrollOptions{After: page[len(page)-1].ID}
	}
	if len(got) != 250 || got[0] != 1 || got[1] != 3 {
		t.Errorf("scrolled %d ids starting %v, want 250 starting 1, 3", len(got), got[:min(3, len(got))])
	}
	page, more := c.Scroll(ScrollOptions{First: true, Limit: 1000, WithVector: true, MaxBytes: 1})
	if len(page) != 1 || !more || page[0].Vector == nil {
		t.Errorf("a byte bound below one point: %d points, more %v; want the first point alone", len(page), more)
	}
}
