package collection

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomrl/mrl/server/api"
)

func TestRecordRoundTrip(t *testing.T) {
	pts := []Point{
		{ID: iid(7), Vector: []float32{1, -2.5, 3}},
		{ID: iid(1 << 63), Vector: []float32{0, 0, 1e-30}, Payload: map[string]any{"s": "x", "n": 2.5, "b": true}},
	}
	op, body := encodeUpsert(nil, pts, 3)
	if op != opUpsert {
		t.Fatalf("integer ids written with op %d, want %d (the format from before UUIDs)", op, opUpsert)
	}
	got, err := decodeUpsert(op, body, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].ID != iid(1<<63) || !slices.Equal(got[0].Vector, pts[0].Vector) || got[1].Payload["n"] != 2.5 || got[1].Payload["b"] != true {
		t.Fatalf("decodeUpsert(encodeUpsert(%v)) = %v", pts, got)
	}
	if _, err := decodeUpsert(op, body, 4); err == nil {
		t.Fatal("decodeUpsert with the wrong dim succeeded")
	}
	ids, err := decodeDelete(encodeDelete(nil, intIDs(3, 1, 2)))
	if err != nil || !slices.Equal(ids, intIDs(3, 1, 2)) {
		t.Fatalf("decodeDelete = %v, %v", ids, err)
	}
	// readRecords stops at every kind of damage.
	var b []byte
	b = appendRecord(b, 1, opDelete, delBody(1))
	good := len(b)
	b = appendRecord(b, 2, opDelete, delBody(2))
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
// It runs with integer ids (records of op opUpsert) and with a UUID in
// every batch (op opUpsertIDs, the typed-id format).
func TestTornTail(t *testing.T) {
	t.Run("int", func(t *testing.T) {
		testTornTail(t, func(n uint64) PointID { return iid(n) })
	})
	t.Run("uuid", func(t *testing.T) {
		testTornTail(t, func(n uint64) PointID {
			if n%2 == 1 {
				return iid(n)
			}
			var u [16]byte
			u[0], u[15] = 0xab, byte(n)
			return api.UUIDFromBytes(u)
		})
	})
}

func testTornTail(t *testing.T, id func(uint64) PointID) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{SnapshotEvery: -1})
	mustCreate(t, s, Meta{Name: "w", Dim: 3})
	batch := func(b int) []Point {
		return []Point{
			{ID: id(uint64(10 * b)), Vector: []float32{float32(b), 1, 2}, Payload: map[string]any{"b": float64(b)}},
			{ID: id(uint64(10*b + 1)), Vector: []float32{float32(b), -1, 0.5}},
		}
	}
	for b := 1; b <= 3; b++ {
		mustUpsert(t, s, "w", batch(b)...)
	}
	cdir := filepath.Join(dir, "collections", "w")
	walPath := onlyFile(t, cdir, "wal-*.log")
	st, err := os.Stat(walPath)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Size()
	mustUpsert(t, s, "w", batch(4)...)
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
		s := openStore(t, dir, Options{SnapshotEvery: -1})
		defer s.Close()
		c := mustGet(t, s, "w")
		for b := 1; b <= 4; b++ {
			for _, p := range batch(b) {
				got, ok := c.Get(p.ID)
				if b == 4 && !want4 {
					if ok {
						t.Fatalf("%s: point %v of the torn batch = %+v, want absent", name, p.ID, got)
					}
					continue
				}
				if !ok {
					t.Fatalf("%s: point %v absent", name, p.ID)
				}
				if !slices.Equal(got.Vector, p.Vector) {
					t.Fatalf("%s: point %v = %v, want %v", name, p.ID, got.Vector, p.Vector)
				}
			}
		}
		// The log takes new writes after the cut and keeps them.
		mustUpsert(t, s, "w", Point{ID: iid(999), Vector: []float32{9, 9, 9}})
		s.Close()
		s2 := openStore(t, dir, Options{SnapshotEvery: -1})
		c2 := mustGet(t, s2, "w")
		if _, ok := c2.Get(iid(999)); !ok {
			t.Fatalf("%s: point 999 absent after restart", name)
		}
		want := 7
		if want4 {
			want = 9
		}
		if info := c2.Info(); info.Count != want {
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
	s := openStore(t, dir, Options{SnapshotEvery: 20, RebuildMin: 8})
	mustCreate(t, s, Meta{Name: "r", Dim: 2, Metric: "ip"})
	live := map[uint64][]float32{}
	for i := range 100 {
		id := uint64(i % 37)
		v := []float32{float32(i), float32(-i)}
		if i%11 == 10 {
			mustDelete(t, s, "r", id)
			delete(live, id)
			continue
		}
		mustUpsert(t, s, "r", Point{ID: iid(id), Vector: v, Payload: map[string]any{"i": float64(i)}})
		live[id] = v
	}
	if err := mustGet(t, s, "r").Snapshot(); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "r", Point{ID: iid(500), Vector: []float32{5, 5}})
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

	s2 := openStore(t, dir, Options{})
	c := mustGet(t, s2, "r")
	if info := c.Info(); info.Count != len(live) {
		t.Fatalf("count %d, want %d", info.Count, len(live))
	}
	for id, v := range live {
		p, ok := c.Get(iid(id))
		if !ok || !slices.Equal(p.Vector, v) {
			t.Fatalf("point %d = %v (present %v), want %v", id, p.Vector, ok, v)
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
	s := openStore(t, dir, Options{SnapshotEvery: -1, RebuildMin: 8})
	c := mustCreate(t, s, Meta{Name: "g", Dim: 2, Index: IndexSpec{Kind: "hnsw"}})
	for i := range 8 {
		mustUpsert(t, s, "g", Point{ID: iid(uint64(i)), Vector: []float32{float32(i), 1}})
	}
	var info Info
	for range 500 {
		info = c.Info()
		if info.Pending == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if info.Pending != 0 || info.SnapshotSeq != 0 || info.Seq != 8 {
		t.Fatalf("after the background rebuild: %+v, want nothing pending, seq 8, no snapshot", info)
	}
	if err := c.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if info = c.Info(); info.SnapshotSeq != 8 {
		t.Fatalf("snapshot seq %d, want 8", info.SnapshotSeq)
	}
	if err := c.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "collections", "g", "snapshot-*")); len(files) != 2 {
		t.Fatalf("snapshot files %v, want one idx and one json", files)
	}
	s.Close()
	s2 := openStore(t, dir, Options{})
	c2 := mustGet(t, s2, "g")
	for i := range 8 {
		p, ok := c2.Get(iid(uint64(i)))
		if !ok || p.Vector[0] != float32(i) {
			t.Fatalf("point %d = %v (present %v)", i, p.Vector, ok)
		}
	}
}

// TestCorruptLogBeforeLaterLogs: damage anywhere but at the end of the last
// log file is corruption, not a torn write, and Open refuses rather than
// drop the later, acknowledged records.
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
		_, b := encodeUpsert(nil, []Point{{ID: iid(id), Vector: []float32{float32(id)}}}, 1)
		return b
	}
	first := appendRecord(appendRecord(nil, 1, opUpsert, up(1)), 2, opUpsert, up(2))
	second := appendRecord(nil, 3, opUpsert, up(3))
	os.WriteFile(filepath.Join(cdir, walName(3)), second, 0o644)

	// Intact: all three.
	os.WriteFile(filepath.Join(cdir, walName(1)), first, 0o644)
	s := openStore(t, dir, Options{})
	if info := mustGet(t, s, "k").Info(); info.Count != 3 || info.Seq != 3 {
		t.Fatalf("intact logs: %+v, want 3 points at seq 3", info)
	}
	s.Close()

	first[len(first)-1] ^= 1
	os.WriteFile(filepath.Join(cdir, walName(1)), first, 0o644)
	_, err := Open(dir, Options{Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("Open with a corrupt middle log = %v, want a refusal naming the checksum", err)
	}
}
