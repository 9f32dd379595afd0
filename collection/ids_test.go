package collection

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl/server/api"
)

// copyDir copies the tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// contents returns every collection's points in scroll order, as JSON.
func contents(t *testing.T, s *Store) []byte {
	t.Helper()
	all := map[string][]Point{}
	for _, c := range s.Collections() {
		pts, more := c.Scroll(ScrollOptions{First: true, Limit: 10000, WithVector: true})
		if more {
			t.Fatalf("collection %s: more than one page", c.Meta().Name)
		}
		all[c.Meta().Name] = pts
	}
	b, err := json.MarshalIndent(all, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestDataDirFromMain: testdata/datadir-main is a data directory written
// by the store before UUID ids (main at 3dfa44e: a flat and an hnsw
// collection, each with a snapshot, payloads, deletes and log records
// after the snapshot), and datadir-main.golden.json what that store read
// back from it. This build must open it and find exactly that, without
// rewriting any of its files; then take writes of both id kinds, keep
// them across a crash and a snapshot, and write a snapshot of integer ids
// in the old format.
func TestDataDirFromMain(t *testing.T) {
	src := filepath.Join("testdata", "datadir-main")
	dir := t.TempDir()
	copyDir(t, src, dir)
	want, err := os.ReadFile(filepath.Join("testdata", "datadir-main.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir, Options{SnapshotEvery: -1})
	if got := contents(t, s); !bytes.Equal(got, want) {
		t.Fatalf("the data directory written by main reads differently:\ngot:\n%s\nwant:\n%s", got, want)
	}
	// Searches see the snapshot's rows and the log's.
	res, err := mustGet(t, s, "graph").Search(t.Context(), Query{Vector: []float32{50, 1, 0.5, -12.5}, K: 1})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].ID != iid(7) {
		t.Fatalf("search of the log's point 7: %+v, %v", res.Hits, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		a, _ := os.ReadFile(path)
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s changed by opening and closing (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// New writes of both kinds, then a crash: the directory is copied
	// while the store is open, after the writes were acknowledged.
	s = openStore(t, dir, Options{SnapshotEvery: -1})
	u1, u2 := api.MustUUID("550e8400-e29b-41d4-a716-446655440000"), api.MustUUID("urn:uuid:F9168C5E-CEB2-4FAA-B6BF-329BF39FA1E4")
	for _, name := range []string{"flat", "graph"} {
		mustUpsert(t, s, name, Point{ID: u1, Vector: []float32{1, 2, 3, 4}, Payload: map[string]any{"k": "uuid"}},
			Point{ID: iid(8), Vector: []float32{4, 3, 2, 1}}, Point{ID: u2, Vector: []float32{0, 1, 0, 1}})
		if _, _, err := mustGet(t, s, name).Delete([]PointID{u2, iid(35)}); err != nil {
			t.Fatal(err)
		}
	}
	wantAfter := contents(t, s)
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	s2 := openStore(t, crashed, Options{SnapshotEvery: -1})
	if got := contents(t, s2); !bytes.Equal(got, wantAfter) {
		t.Fatalf("after a crash:\ngot:\n%s\nwant:\n%s", got, wantAfter)
	}
	for _, name := range []string{"flat", "graph"} {
		c := mustGet(t, s2, name)
		if p, ok := c.Get(u1); !ok || p.Payload["k"] != "uuid" || !slices.Equal(p.Vector, []float32{1, 2, 3, 4}) {
			t.Errorf("%s: UUID point after a crash: %+v %v", name, p, ok)
		}
		if _, ok := c.Get(u2); ok {
			t.Errorf("%s: deleted UUID point present after a crash", name)
		}
	}
	// A snapshot holding UUIDs is format 3 with named rows, and reads back.
	if err := s2.Snapshot(); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	side, err := readSidecar(onlyFile(t, filepath.Join(crashed, "collections", "flat"), "snapshot-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if side.Format != sidecarFormatUUID {
		t.Fatalf("snapshot with UUIDs: side file format %d, want %d", side.Format, sidecarFormatUUID)
	}
	s3 := openStore(t, crashed, Options{SnapshotEvery: -1})
	if got := contents(t, s3); !bytes.Equal(got, wantAfter) {
		t.Fatalf("after a snapshot with UUIDs:\ngot:\n%s\nwant:\n%s", got, wantAfter)
	}
	// Once the UUIDs are deleted the next snapshot is format 2 again,
	// with integer row ids, as builds from before UUIDs write it.
	if _, _, err := mustGet(t, s3, "flat").Delete([]PointID{u1}); err != nil {
		t.Fatal(err)
	}
	if err := mustGet(t, s3, "flat").Snapshot(); err != nil {
		t.Fatal(err)
	}
	side, err = readSidecar(onlyFile(t, filepath.Join(crashed, "collections", "flat"), "snapshot-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if side.Format != sidecarFormat {
		t.Fatalf("snapshot of integer ids: side file format %d, want %d", side.Format, sidecarFormat)
	}
}

// TestMixedIDs: integers and UUIDs live side by side through upsert, get,
// delete, search (from the delta and from a snapshot) and scroll, whose
// order is every integer, then every UUID, and whose cursor may be either.
func TestMixedIDs(t *testing.T) {
	s := openStore(t, "", Options{SnapshotEvery: -1})
	c := mustCreate(t, s, Meta{Name: "m", Dim: 2, Metric: "l2"})
	ua, ub := api.MustUUID("00000000-0000-0000-0000-000000000001"), api.MustUUID("ffffffff-ffff-ffff-ffff-ffffffffffff")
	pts := []Point{
		{ID: ub, Vector: []float32{5, 5}}, {ID: iid(1<<64 - 1), Vector: []float32{3, 3}},
		{ID: ua, Vector: []float32{4, 4}, Payload: map[string]any{"a": "b"}}, {ID: iid(0), Vector: []float32{1, 1}},
	}
	want := []PointID{iid(0), iid(1<<64 - 1), ua, ub}
	for _, snap := range []bool{false, true} {
		if snap {
			if err := c.Snapshot(); err != nil {
				t.Fatal(err)
			}
		} else {
			mustUpsert(t, s, "m", pts...)
		}
		var got []PointID
		for o := (ScrollOptions{First: true, Limit: 1}); ; {
			page, more := c.Scroll(o)
			for _, p := range page {
				got = append(got, p.ID)
			}
			if !more {
				break
			}
			o = ScrollOptions{After: page[len(page)-1].ID, Limit: 1}
		}
		if !slices.Equal(got, want) {
			t.Errorf("snapshot %v: scroll order %v, want %v", snap, got, want)
		}
		// A cursor that is not an id present: after 5 come the larger
		// integers then the UUIDs; after a UUID, the larger UUIDs only.
		if page, _ := c.Scroll(ScrollOptions{After: iid(5), Limit: 10}); len(page) != 3 || page[1].ID != ua {
			t.Errorf("snapshot %v: after 5: %v", snap, page)
		}
		if page, _ := c.Scroll(ScrollOptions{After: api.MustUUID("80000000-0000-0000-0000-000000000000"), Limit: 10}); len(page) != 1 || page[0].ID != ub {
			t.Errorf("snapshot %v: after a UUID: %v", snap, page)
		}
		res, err := c.Search(t.Context(), Query{Vector: []float32{4, 4}, K: 2, WithPayload: true})
		if err != nil || len(res.Hits) != 2 || res.Hits[0].ID != ua || res.Hits[0].Payload["a"] != "b" {
			t.Errorf("snapshot %v: search = %+v, %v", snap, res.Hits, err)
		}
		if p, ok := c.Get(ua); !ok || !slices.Equal(p.Vector, []float32{4, 4}) {
			t.Errorf("snapshot %v: Get(%v) = %+v %v", snap, ua, p, ok)
		}
		// The integer 1 and the UUID ...0001 are different ids.
		if _, ok := c.Get(iid(1)); ok {
			t.Errorf("snapshot %v: Get(1) found a point", snap)
		}
	}
	n, _, err := c.Delete([]PointID{ua, iid(0), api.MustUUID("12345678123456781234567812345678")})
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v; want 2 present", n, err)
	}
	if info := c.Info(); info.Count != 2 {
		t.Errorf("count %d, want 2", info.Count)
	}
	if err := checkPoints([]Point{{ID: ua, Vector: []float32{1, 1}}, {ID: ua, Vector: []float32{1, 1}}}, 2, c.Metric()); err == nil ||
		!strings.Contains(err.Error(), "points[1].id: "+ua.String()+" repeats points[0].id") {
		t.Errorf("a repeated UUID: %v", err)
	}
}

// TestCorruptIDRecords: damage to records of the typed-id format follows
// the recovery rules: a torn final record is cut, a bad record followed by
// a valid one (of either format) and a record whose checksum is right but
// whose body is not a valid typed-id batch are ErrCorrupt, never cut.
func TestCorruptIDRecords(t *testing.T) {
	u := api.MustUUID("550e8400-e29b-41d4-a716-446655440000")
	upOp, upBody := encodeUpsert(nil, []Point{{ID: u, Vector: []float32{1}}, {ID: iid(2), Vector: []float32{2}}}, 1)
	delOp, delB := encodeDelete(nil, []PointID{u})
	if upOp != opUpsertIDs || delOp != opDeleteIDs {
		t.Fatalf("ops %d, %d for batches with a UUID, want %d, %d", upOp, delOp, opUpsertIDs, opDeleteIDs)
	}
	good := appendRecord(nil, 1, upOp, upBody)
	badKind := slices.Clone(upBody)
	badKind[8] = 7 // the first point's id kind
	for _, tt := range []struct {
		name    string
		log     []byte
		corrupt bool
		count   int // points after Open
	}{
		{"intact", appendRecord(good, 2, delOp, delB), false, 1},
		{"torn final typed record", appendRecord(good, 2, delOp, delB)[:len(good)+walHeader+5], false, 2},
		{"flipped final typed record", flip(appendRecord(good, 2, delOp, delB), len(good)+walHeader+9), false, 2},
		{"bad record before a valid typed one", appendRecord(flip(slices.Clone(good), 20), 2, delOp, delB), true, 0},
		{"bad typed record before a valid old one", appendRecord(flip(slices.Clone(good), 20), 2, opDelete, delBody(2)), true, 0},
		{"valid checksum, bad id kind", appendRecord(nil, 1, opUpsertIDs, badKind), true, 0},
		{"valid checksum, typed delete with trailing bytes", appendRecord(good, 2, opDeleteIDs, append(slices.Clone(delB), 0)), true, 0},
		{"valid checksum, unknown op", appendRecord(good, 2, 9, delB), true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cdir := filepath.Join(dir, "collections", "k")
			if err := os.MkdirAll(cdir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writeJSONFile(filepath.Join(cdir, "meta.json"), Meta{Name: "k", Dim: 1}); err != nil {
				t.Fatal(err)
			}
			walPath := filepath.Join(cdir, walName(1))
			if err := os.WriteFile(walPath, tt.log, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{Logger: quietLogger()})
			if tt.corrupt {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open = %v, want ErrCorrupt", err)
				}
				if b, _ := os.ReadFile(walPath); !bytes.Equal(b, tt.log) {
					t.Fatal("the refused log was changed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if n := mustGet(t, s, "k").Info().Count; n != tt.count {
				t.Errorf("count %d, want %d", n, tt.count)
			}
		})
	}
}

func flip(b []byte, i int) []byte { b[i] ^= 0x40; return b }

// TestSidecarFormatMismatch: a side file whose format disagrees with its
// index file (format 2 over named rows, format 3 over integer rows) is
// damage, not something to guess about.
func TestSidecarFormatMismatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		id     PointID
		format int
	}{
		{"format 2 over UUID rows", api.MustUUID("550e8400-e29b-41d4-a716-446655440000"), sidecarFormat},
		{"format 3 over integer rows", iid(5), sidecarFormatUUID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{SnapshotEvery: -1})
			mustCreate(t, s, Meta{Name: "c", Dim: 1})
			mustUpsert(t, s, "c", Point{ID: tt.id, Vector: []float32{1}})
			if err := mustGet(t, s, "c").Snapshot(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			path := onlyFile(t, filepath.Join(dir, "collections", "c"), "snapshot-*.json")
			side, err := readSidecar(path)
			if err != nil {
				t.Fatal(err)
			}
			side.Format = tt.format
			if err := writeSidecar(path, *side); err != nil {
				t.Fatal(err)
			}
			if s, err := Open(dir, Options{Logger: quietLogger()}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "named rows") {
				if err == nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want ErrCorrupt naming the rows", err)
			}
		})
	}
}

// TestLostSidecarWithUUIDs: the vectors of a snapshot whose side file was
// lost are served with Recover, and a snapshot with UUIDs names its rows
// in its index file, so they keep their ids.
func TestLostSidecarWithUUIDs(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{SnapshotEvery: -1})
	mustCreate(t, s, Meta{Name: "c", Dim: 1})
	u := api.MustUUID("550e8400-e29b-41d4-a716-446655440000")
	mustUpsert(t, s, "c", Point{ID: u, Vector: []float32{1}, Payload: map[string]any{"a": "b"}}, Point{ID: iid(3), Vector: []float32{2}})
	if err := mustGet(t, s, "c").Snapshot(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(onlyFile(t, filepath.Join(dir, "collections", "c"), "snapshot-*.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Logger: quietLogger()}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open without the side file = %v, want ErrCorrupt", err)
	}
	s2 := openStore(t, dir, Options{Recover: true})
	c := mustGet(t, s2, "c")
	if p, ok := c.Get(u); !ok || p.Vector[0] != 1 || p.Payload != nil {
		t.Errorf("UUID point after recovering a lost side file: %+v %v, want its vector without payload", p, ok)
	}
	if p, ok := c.Get(iid(3)); !ok || p.Vector[0] != 2 {
		t.Errorf("integer point: %+v %v", p, ok)
	}
	s2.Close()
	side, err := readSidecar(onlyFile(t, filepath.Join(dir, "collections", "c"), "snapshot-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if side.Format != sidecarFormatUUID {
		t.Fatalf("the rewritten side file: format %d, want %d", side.Format, sidecarFormatUUID)
	}
}
