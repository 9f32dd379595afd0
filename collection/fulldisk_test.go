package collection

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// fullDisk makes c's log writes fail after writing half the bytes (what a
// disk that fills up mid-write leaves) while fail returns true.
func fullDisk(c *Collection, fail func() bool) {
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

// wantWriteError fails the test unless err is a *WriteError containing sub.
func wantWriteError(t *testing.T, what string, err error, sub string) {
	t.Helper()
	var we *WriteError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), sub) {
		t.Errorf("%s: error %v, want a *WriteError containing %q", what, err, sub)
	}
}

// TestFullDisk: a write that fails (a full disk) is undone: it is never
// visible to searches, gets or counts, the log is cut back so that later
// writes are recovered after a restart, and writing goes on when space
// returns. If the log cannot be cut back, writes are refused and Err says
// so.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{SnapshotEvery: -1})
	c := mustCreate(t, s, Meta{Name: "c", Dim: 2})
	mustUpsert(t, s, "c", Point{ID: iid(1), Vector: []float32{1, 0}, Payload: map[string]any{"v": "one"}})
	var full atomic.Bool
	full.Store(true)
	fullDisk(c, full.Load)
	_, err := c.Upsert([]Point{{ID: iid(2), Vector: []float32{0, 1}}, {ID: iid(1), Vector: []float32{0, 1}, Payload: map[string]any{"v": "new"}}})
	wantWriteError(t, "upsert on a full disk", err, "undone")
	_, _, err = c.Delete(intIDs(1))
	wantWriteError(t, "delete on a full disk", err, "undone")
	if p, ok := c.Get(iid(2)); ok {
		t.Errorf("the failed upsert is visible: %+v", p)
	}
	if p, ok := c.Get(iid(1)); !ok || p.Payload["v"] != "one" {
		t.Errorf("point 1 = %+v (present %v), want the durable one", p, ok)
	}
	res, err := c.Search(context.Background(), Query{Vector: []float32{0, 1}, K: 5})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].ID != iid(1) {
		t.Errorf("search = %+v, %v; want point 1 alone", res.Hits, err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v: writes should go on when space returns", err)
	}
	if info := c.Info(); info.Count != 1 || info.Seq != 1 {
		t.Fatalf("after failed writes: count %d seq %d, want 1 and 1", info.Count, info.Seq)
	}
	full.Store(false)
	mustUpsert(t, s, "c", Point{ID: iid(3), Vector: []float32{1, 1}})
	s.Close()

	s2 := openStore(t, dir, Options{SnapshotEvery: -1})
	c2 := mustGet(t, s2, "c")
	if info := c2.Info(); info.Count != 2 {
		t.Fatalf("after a restart: count %d, want 2 (ids 1 and 3)", info.Count)
	}
	if _, ok := c2.Get(iid(3)); !ok {
		t.Error("point 3 absent after a restart")
	}
	if _, ok := c2.Get(iid(2)); ok {
		t.Error("point 2 present after a restart")
	}

	// The log cannot be cut back: writes are refused until a restart.
	fullDisk(c2, func() bool { return true })
	c2.wal.syncMu.Lock()
	c2.wal.truncate = func(*os.File, int64) error { return syscall.EIO }
	c2.wal.syncMu.Unlock()
	_, err = c2.Upsert([]Point{{ID: iid(4), Vector: []float32{0, 1}}})
	wantWriteError(t, "upsert, cut fails", err, "undone")
	if _, ok := c2.Get(iid(4)); ok {
		t.Error("point 4 of the failed write is visible")
	}
	if err := c2.Err(); err == nil {
		t.Error("Err() = nil after the log could not be cut back")
	}
	_, err = c2.Upsert([]Point{{ID: iid(5), Vector: []float32{0, 1}}})
	wantWriteError(t, "later writes refused", err, "restart")
	if _, ok := c2.Get(iid(3)); !ok {
		t.Error("reads stopped: point 3 absent")
	}
}

// TestFullDiskConcurrent: with writers in parallel and every few log
// writes failing (a failed group commit fails every write in it), exactly
// the acknowledged writes are visible, before and after a restart.
func TestFullDiskConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{SnapshotEvery: -1, RebuildMin: 16})
	c := mustCreate(t, s, Meta{Name: "c", Dim: 2})
	var calls atomic.Int64
	fullDisk(c, func() bool { return calls.Add(1)%4 == 0 })
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
				_, err := c.Upsert([]Point{{ID: iid(id), Vector: []float32{float32(i), 1}}})
				var we *WriteError
				if err == nil {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				} else if !errors.As(err, &we) {
					t.Errorf("upsert %d = %v, want nil or a *WriteError", id, err)
				}
			}
		}()
	}
	wg.Wait()
	if len(acked) == 0 || len(acked) == writers*each {
		t.Fatalf("%d of %d writes acknowledged: the failures did not interleave", len(acked), writers*each)
	}
	check := func(c *Collection, when string) {
		t.Helper()
		if info := c.Info(); info.Count != len(acked) {
			t.Errorf("%s: count %d, want the %d acknowledged", when, info.Count, len(acked))
		}
		for w := range writers {
			for i := range each {
				id := uint64(w*1000 + i)
				if _, ok := c.Get(iid(id)); ok != acked[id] {
					t.Errorf("%s: point %d present %v, acknowledged %v", when, id, ok, acked[id])
				}
			}
		}
	}
	check(c, "before a restart")
	s.Close()
	check(mustGet(t, openStore(t, dir, Options{}), "c"), "after a restart")
}

// TestSearchOutsideTheLock: a search scans the snapshot without the lock
// and merges the changes under it; a scan of a snapshot that a rebuild
// replaced meanwhile, or that fetched too few rows for the rows changed
// since, is not used (searchOn answers !ok and search runs it again
// under the lock).
func TestSearchOutsideTheLock(t *testing.T) {
	s := openStore(t, "", Options{SnapshotEvery: -1, RebuildMin: 1 << 20})
	c := mustCreate(t, s, Meta{Name: "c", Dim: 2, Metric: "l2"})
	var pts []Point
	for i := range 20 {
		pts = append(pts, Point{ID: iid(uint64(i)), Vector: []float32{float32(i), 0}})
	}
	mustUpsert(t, s, "c", pts...)
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
	mustUpsert(t, s, "c", Point{ID: iid(0), Vector: []float32{100, 0}}, Point{ID: iid(1), Vector: []float32{101, 0}}, Point{ID: iid(2), Vector: []float32{102, 0}})
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
	if err != nil || len(hits) != 3 || hits[0].ID != iid(3) || hits[1].ID != iid(4) || hits[2].ID != iid(5) {
		t.Fatalf("search = %v, %v; want ids 3, 4, 5", hits, err)
	}
}
