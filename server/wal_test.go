package server

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	pts := []Point{
		{ID: 7, Vector: []float32{1, -2.5, 3}},
		{ID: 1 << 63, Vector: []float32{0, 0, 1e-30}, Payload: map[string]any{"s": "x", "n": 2.5, "b": true}},
	}
	got, err := decodeUpsert(encodeUpsert(nil, pts, 3), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].ID != 1<<63 || !slices.Equal(got[0].Vector, pts[0].Vector) || got[1].Payload["n"] != 2.5 || got[1].Payload["b"] != true {
		t.Fatalf("decodeUpsert(encodeUpsert(%v)) = %v", pts, got)
	}
	if _, err := decodeUpsert(encodeUpsert(nil, pts, 3), 4); err == nil {
		t.Fatal("decodeUpsert with the wrong dim succeeded")
	}
	ids, err := decodeDelete(encodeDelete(nil, []uint64{3, 1, 2}))
	if err != nil || !slices.Equal(ids, []uint64{3, 1, 2}) {
		t.Fatalf("decodeDelete = %v, %v", ids, err)
	}
	// readRecords stops at every kind of damage.
	var b []byte
	b = appendRecord(b, 1, opDelete, encodeDelete(nil, []uint64{1}))
	good := len(b)
	b = appendRecord(b, 2, opDelete, encodeDelete(nil, []uint64{2}))
	for _, tt := range []struct {
		name  string
		mod   func([]byte) []byte
		valid int
	}{
		{"intact", func(b []byte) []byte { return b }, len(b)},
		{"flipped body byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, good},
		{"flipped crc", func(b []byte) []byte { b[good+4] ^= 1; return b }, good},
		{"huge length", func(b []byte) []byte { b[good+3] = 0xff; return b }, good},
		{"tiny length", func(b []byte) []byte { b[good] = 3; b[good+1], b[good+2], b[good+3] = 0, 0, 0; return b }, good},
		{"sequence gap", func(b []byte) []byte { return appendRecord(b[:good:good], 5, opDelete, nil) }, good},
	} {
		data := tt.mod(slices.Clone(b))
		valid, _, err := readRecords(data, 0, func(uint64, byte, []byte) error { return nil })
		if valid != tt.valid || (valid < len(data)) != (err != nil) {
			t.Errorf("%s: readRecords valid %d err %v, want valid %d", tt.name, valid, err, tt.valid)
		}
	}
}

func onlyFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) != 1 {
		t.Fatalf("glob %s in %s = %v, %v; want one file", pattern, dir, m, err)
	}
	return m[0]
}

// TestTornTail writes three acknowledged batches and a fourth, then cuts
// the log at every byte offset inside the fourth record (and flips each of
// its bytes): recovery must keep the first three batches exactly, drop the
// fourth unless the cut leaves it whole, and accept new writes after.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "w", "dim": 3}, 201, nil)
	batch := func(b int) []Point {
		return []Point{
			{ID: uint64(10 * b), Vector: []float32{float32(b), 1, 2}, Payload: map[string]any{"b": float64(b)}},
			{ID: uint64(10*b + 1), Vector: []float32{float32(b), -1, 0.5}},
		}
	}
	for b := 1; b <= 3; b++ {
		mustDo(t, s, "POST", "/v1/collections/w/points", UpsertRequest{Points: batch(b)}, 200, nil)
	}
	cdir := filepath.Join(dir, "collections", "w")
	walPath := onlyFile(t, cdir, "wal-*.log")
	st, err := os.Stat(walPath)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Size()
	mustDo(t, s, "POST", "/v1/collections/w/points", UpsertRequest{Points: batch(4)}, 200, nil)
	s.Close()
	full, err := os.ReadFile(walPath)
	if err != nil {
		t.Fatal(err)
	}

	check := func(name string, data []byte, want4 bool) {
		t.Helper()
		if err := os.WriteFile(walPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
		defer s.Close()
		for b := 1; b <= 4; b++ {
			for _, p := range batch(b) {
				var got Point
				code, body := do(t, s, "GET", fmt.Sprintf("/v1/collections/w/points/%d", p.ID), "")
				if b == 4 && !want4 {
					if code != 404 {
						t.Fatalf("%s: point %d of the torn batch = %d %s, want 404", name, p.ID, code, body)
					}
					continue
				}
				if code != 200 {
					t.Fatalf("%s: point %d = %d %s, want 200", name, p.ID, code, body)
				}
				mustDo(t, s, "GET", fmt.Sprintf("/v1/collections/w/points/%d", p.ID), nil, 200, &got)
				if !slices.Equal(got.Vector, p.Vector) {
					t.Fatalf("%s: point %d = %v, want %v", name, p.ID, got.Vector, p.Vector)
				}
			}
		}
		// The log takes new writes after the cut and keeps them.
		mustDo(t, s, "POST", "/v1/collections/w/points", UpsertRequest{Points: []Point{{ID: 999, Vector: []float32{9, 9, 9}}}}, 200, nil)
		s.Close()
		s2 := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
		mustDo(t, s2, "GET", "/v1/collections/w/points/999", nil, 200, nil)
		var info CollectionInfo
		mustDo(t, s2, "GET", "/v1/collections/w", nil, 200, &info)
		want := 7
		if want4 {
			want = 9
		}
		if info.Count != want {
			t.Fatalf("%s: count %d after restart, want %d", name, info.Count, want)
		}
		s2.Close()
	}
	for cut := before; cut <= int64(len(full)); cut++ {
		check(fmt.Sprintf("cut at %d of %d", cut, len(full)), full[:cut], cut == int64(len(full)))
	}
	for i := before; i < int64(len(full)); i += 7 {
		bad := slices.Clone(full)
		bad[i] ^= 0x40
		check(fmt.Sprintf("flipped byte %d", i), bad, false)
	}
}

// TestSnapshotRecovery checks that snapshots replace the logs they cover and
// that a restart combines the snapshot with the log written after it, and
// that unfinished creations and deletions are cleaned up.
func TestSnapshotRecovery(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: 20, RebuildMin: 8})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "r", "dim": 2, "metric": "ip"}, 201, nil)
	live := map[uint64][]float32{}
	for i := range 100 {
		id := uint64(i % 37)
		v := []float32{float32(i), float32(-i)}
		if i%11 == 10 {
			mustDo(t, s, "POST", "/v1/collections/r/points/delete", DeleteRequest{IDs: []uint64{id}}, 200, nil)
			delete(live, id)
			continue
		}
		mustDo(t, s, "POST", "/v1/collections/r/points", UpsertRequest{Points: []Point{{ID: id, Vector: v, Payload: map[string]any{"i": float64(i)}}}}, 200, nil)
		live[id] = v
	}
	mustDo(t, s, "POST", "/v1/collections/r/snapshot", nil, 200, nil)
	mustDo(t, s, "POST", "/v1/collections/r/points", UpsertRequest{Points: []Point{{ID: 500, Vector: []float32{5, 5}}}}, 200, nil)
	live[500] = []float32{5, 5}
	s.Close()
	cdir := filepath.Join(dir, "collections", "r")
	snaps, _ := filepath.Glob(filepath.Join(cdir, "snapshot-*"))
	wals, _ := filepath.Glob(filepath.Join(cdir, "wal-*"))
	if len(snaps) != 2 || len(wals) != 1 {
		t.Fatalf("files after snapshots: %v %v, want one snapshot (idx, json) and one log", snaps, wals)
	}
	// A creation that did not finish and a deletion that did not finish.
	os.Mkdir(filepath.Join(dir, "collections", "half"), 0o755)
	os.MkdirAll(filepath.Join(dir, "collections", ".deleted-old-1", "x"), 0o755)

	s2 := newServer(t, Options{DataDir: dir})
	var info CollectionInfo
	mustDo(t, s2, "GET", "/v1/collections/r", nil, 200, &info)
	if info.Count != len(live) {
		t.Fatalf("count %d, want %d", info.Count, len(live))
	}
	for id, v := range live {
		var p Point
		mustDo(t, s2, "GET", fmt.Sprintf("/v1/collections/r/points/%d", id), nil, 200, &p)
		if !slices.Equal(p.Vector, v) {
			t.Fatalf("point %d = %v, want %v", id, p.Vector, v)
		}
	}
	for _, gone := range []string{"half", ".deleted-old-1"} {
		if _, err := os.Stat(filepath.Join(dir, "collections", gone)); !os.IsNotExist(err) {
			t.Errorf("%s still exists after start (err %v)", gone, err)
		}
	}
}

// TestSnapshotOfRebuiltIndex covers the snapshot of a collection whose
// changes a background rebuild already merged (nothing to rebuild, but
// the log is not yet covered), and a second snapshot with nothing new.
func TestSnapshotOfRebuiltIndex(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1, RebuildMin: 8})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "g", "dim": 2, "index": map[string]any{"kind": "hnsw"}}, 201, nil)
	for i := range 8 {
		mustDo(t, s, "POST", "/v1/collections/g/points", UpsertRequest{Points: []Point{{ID: uint64(i), Vector: []float32{float32(i), 1}}}}, 200, nil)
	}
	var info CollectionInfo
	for range 500 {
		mustDo(t, s, "GET", "/v1/collections/g", nil, 200, &info)
		if info.Pending == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if info.Pending != 0 || info.SnapshotSeq != 0 || info.Seq != 8 {
		t.Fatalf("after the background rebuild: %+v, want nothing pending, seq 8, no snapshot", info)
	}
	mustDo(t, s, "POST", "/v1/collections/g/snapshot", nil, 200, &info)
	if info.SnapshotSeq != 8 {
		t.Fatalf("snapshot seq %d, want 8", info.SnapshotSeq)
	}
	mustDo(t, s, "POST", "/v1/collections/g/snapshot", nil, 200, &info)
	if files, _ := filepath.Glob(filepath.Join(dir, "collections", "g", "snapshot-*")); len(files) != 2 {
		t.Fatalf("snapshot files %v, want one idx and one json", files)
	}
	s.Close()
	s2 := newServer(t, Options{DataDir: dir})
	for i := range 8 {
		var p Point
		mustDo(t, s2, "GET", fmt.Sprintf("/v1/collections/g/points/%d", i), nil, 200, &p)
		if p.Vector[0] != float32(i) {
			t.Fatalf("point %d = %v", i, p.Vector)
		}
	}
}

// TestCorruptLogBeforeLaterLogs: damage anywhere but at the end of the last
// log file is corruption, not a torn write, and New refuses to start
// rather than drop the later, acknowledged records.
func TestCorruptLogBeforeLaterLogs(t *testing.T) {
	dir := t.TempDir()
	cdir := filepath.Join(dir, "collections", "k")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFile(filepath.Join(cdir, "meta.json"), Meta{Name: "k", Dim: 1}); err != nil {
		t.Fatal(err)
	}
	up := func(id uint64) []byte {
		return encodeUpsert(nil, []Point{{ID: id, Vector: []float32{float32(id)}}}, 1)
	}
	first := appendRecord(appendRecord(nil, 1, opUpsert, up(1)), 2, opUpsert, up(2))
	second := appendRecord(nil, 3, opUpsert, up(3))
	os.WriteFile(filepath.Join(cdir, walName(3)), second, 0o644)

	// Intact: all three.
	os.WriteFile(filepath.Join(cdir, walName(1)), first, 0o644)
	s := newServer(t, Options{DataDir: dir})
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/k", nil, 200, &info)
	if info.Count != 3 || info.Seq != 3 {
		t.Fatalf("intact logs: %+v, want 3 points at seq 3", info)
	}
	s.Close()

	first[len(first)-1] ^= 1
	os.WriteFile(filepath.Join(cdir, walName(1)), first, 0o644)
	_, err := New(Options{DataDir: dir, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("New with a corrupt middle log = %v, want a refusal naming the checksum", err)
	}
}
