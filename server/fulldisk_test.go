package server

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// fullDisk makes c's log writes fail after writing half the bytes (what a
// disk that fills up mid-write leaves) while fail returns true.
func fullDisk(c *collection, fail func() bool) {
	c.wal.syncMu.Lock()
	defer c.wal.syncMu.Unlock()
	c.wal.write = func(f *os.File, b []byte) (int, error) {
		if fail() {
			n, _ := f.Write(b[:len(b)/2])
			return n, syscall.ENOSPC
		}
		return f.Write(b)
	}
}

// TestFullDisk: a write that fails (a full disk) is undone: it is never
// visible to searches, gets or counts, the log is cut back so that later
// writes are recovered after a restart, and writing goes on when space
// returns. If the log cannot be cut back, writes are refused and /readyz
// says so.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: 1, Vector: []float32{1, 0}, Payload: map[string]any{"v": "one"}}}}, 200, nil)
	c := s.cols["c"]
	var full atomic.Bool
	full.Store(true)
	fullDisk(c, full.Load)
	runHostile(t, s, []hostileCase{
		{"upsert on a full disk", "POST", "/v1/collections/c/points", `{"points":[{"id":2,"vector":[0,1]},{"id":1,"vector":[0,1],"payload":{"v":"new"}}]}`, nil, 503, "undone"},
		{"delete on a full disk", "POST", "/v1/collections/c/points/delete", `{"ids":[1]}`, nil, 503, "undone"},
		{"the failed upsert is not visible", "GET", "/v1/collections/c/points/2", "", nil, 404, ""},
		{"the failed delete is not applied", "GET", "/v1/collections/c/points/1", "", nil, 200, `"v":"one"`},
		{"search sees the durable state", "POST", "/v1/collections/c/search", `{"vector":[0,1],"k":5}`, nil, 200, `"hits":[{"id":1,`},
		{"ready: writes go on when space returns", "GET", "/readyz", "", nil, 200, ""},
	})
	var info CollectionInfo
	mustDo(t, s, "GET", "/v1/collections/c", nil, 200, &info)
	if info.Count != 1 || info.Seq != 1 {
		t.Fatalf("after failed writes: count %d seq %d, want 1 and 1", info.Count, info.Seq)
	}
	full.Store(false)
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: 3, Vector: []float32{1, 1}}}}, 200, nil)
	s.Close()

	s2 := newServer(t, Options{DataDir: dir, SnapshotEvery: -1})
	mustDo(t, s2, "GET", "/v1/collections/c", nil, 200, &info)
	if info.Count != 2 {
		t.Fatalf("after a restart: count %d, want 2 (ids 1 and 3)", info.Count)
	}
	mustDo(t, s2, "GET", "/v1/collections/c/points/3", nil, 200, nil)
	mustDo(t, s2, "GET", "/v1/collections/c/points/2", nil, 404, nil)

	// The log cannot be cut back: writes are refused until a restart.
	c2 := s2.cols["c"]
	fullDisk(c2, func() bool { return true })
	c2.wal.syncMu.Lock()
	c2.wal.truncate = func(*os.File, int64) error { return syscall.EIO }
	c2.wal.syncMu.Unlock()
	runHostile(t, s2, []hostileCase{
		{"upsert, cut fails", "POST", "/v1/collections/c/points", `{"points":[{"id":4,"vector":[0,1]}]}`, nil, 503, "undone"},
		{"not visible", "GET", "/v1/collections/c/points/4", "", nil, 404, ""},
		{"not ready", "GET", "/readyz", "", nil, 503, "cannot write"},
		{"later writes refused", "POST", "/v1/collections/c/points", `{"points":[{"id":5,"vector":[0,1]}]}`, nil, 503, "restart"},
		{"reads go on", "GET", "/v1/collections/c/points/3", "", nil, 200, ""},
	})
}

// TestFullDiskConcurrent: with writers in parallel and every few log
// writes failing (a failed group commit fails every write in it), exactly
// the acknowledged writes are visible, before and after a restart.
func TestFullDiskConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{DataDir: dir, SnapshotEvery: -1, RebuildMin: 16})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	var calls atomic.Int64
	fullDisk(s.cols["c"], func() bool { return calls.Add(1)%4 == 0 })
	const writers, each = 4, 40
	var mu sync.Mutex
	acked := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := uint64(w*1000 + i)
				code, _ := do(t, s, "POST", "/v1/collections/c/points", fmt.Sprintf(`{"points":[{"id":%d,"vector":[%d,1]}]}`, id, i))
				if code == 200 {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				} else if code != 503 {
					t.Errorf("upsert %d = %d, want 200 or 503", id, code)
				}
			}
		}()
	}
	wg.Wait()
	if len(acked) == 0 || len(acked) == writers*each {
		t.Fatalf("%d of %d writes acknowledged: the failures did not interleave", len(acked), writers*each)
	}
	check := func(s *Server, when string) {
		t.Helper()
		var info CollectionInfo
		mustDo(t, s, "GET", "/v1/collections/c", nil, 200, &info)
		if info.Count != len(acked) {
			t.Errorf("%s: count %d, want the %d acknowledged", when, info.Count, len(acked))
		}
		for w := range writers {
			for i := range each {
				id := uint64(w*1000 + i)
				code, _ := do(t, s, "GET", fmt.Sprintf("/v1/collections/c/points/%d", id), "")
				if (code == 200) != acked[id] {
					t.Errorf("%s: point %d = %d, acknowledged %v", when, id, code, acked[id])
				}
			}
		}
	}
	check(s, "before a restart")
	s.Close()
	check(newServer(t, Options{DataDir: dir}), "after a restart")
}

// TestSearchOutsideTheLock: a search scans the snapshot without the lock
// and merges the changes under it; a scan of a snapshot that a rebuild
// replaced meanwhile, or that fetched too few rows for the rows changed
// since, is not used (searchOn answers !ok and search runs it again
// under the lock).
func TestSearchOutsideTheLock(t *testing.T) {
	s := newServer(t, Options{SnapshotEvery: -1, RebuildMin: 1 << 20})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2, "metric": "l2"}, 201, nil)
	var pts []Point
	for i := range 20 {
		pts = append(pts, Point{ID: uint64(i), Vector: []float32{float32(i), 0}})
	}
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: pts}, 200, nil)
	c := s.cols["c"]
	if err := c.rebuild(false); err != nil {
		t.Fatal(err)
	}
	r := searchReq{q: []float32{0, 0}, dim: 2, k: 3}
	old, inBase := c.base, c.inBase
	if _, _, ok, err := c.searchOn(r, false, old, inBase, false); !ok || err != nil {
		t.Fatalf("searchOn on the current snapshot: ok %v err %v", ok, err)
	}
	// Move the three nearest rows away: they are changed rows of the
	// snapshot now, more than the scan over-fetched for.
	mustDo(t, s, "POST", "/v1/collections/c/points", UpsertRequest{Points: []Point{{ID: 0, Vector: []float32{100, 0}}, {ID: 1, Vector: []float32{101, 0}}, {ID: 2, Vector: []float32{102, 0}}}}, 200, nil)
	if _, _, ok, _ := c.searchOn(r, false, old, inBase, false); ok {
		t.Error("searchOn with too few rows fetched for the changes: ok, want a retry")
	}
	if err := c.rebuild(false); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := c.searchOn(r, false, old, c.inBase, false); ok {
		t.Error("searchOn on a replaced snapshot: ok, want a retry")
	}
	hits, _, err := c.search(r, false)
	if err != nil || len(hits) != 3 || hits[0].ID != 3 || hits[1].ID != 4 || hits[2].ID != 5 {
		t.Fatalf("search = %v, %v; want ids 3, 4, 5", hits, err)
	}
}
