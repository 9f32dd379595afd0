package collection

import (
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/server/api"
)

// dirtyEntry is a change since the snapshot the searcher was built on:
// the new vector, or nil for a deleted id, and the record that made it.
type dirtyEntry struct {
	vec []float32
	seq uint64
}

// Collection is a mutable set of points: an immutable snapshot searched by
// its index, plus the changes since (dirty: upserted vectors, and nil for
// deleted ids), scanned exactly and merged into each search. All state is
// guarded by mu; a batch is applied under the write lock, so searches see
// all of it or none of it. The snapshot is rebuilt in the background once
// enough changes pile up, and persisted with the log rotated every
// SnapshotEvery points.
//
// Its methods are safe for concurrent use.
type Collection struct {
	meta    Meta
	dir     string
	dataDir string     // the store's directory, which holds the quarantine
	metric  mrl.Metric // meta's, parsed once
	spec    index.Spec // meta's index, parsed once
	log     *slog.Logger
	opt     Options

	mu       sync.RWMutex
	base     *snapshot
	dirty    map[PointID]dirtyEntry
	inBase   int // dirty ids present in base
	payloads map[PointID]map[string]any
	count    int
	seq      uint64 // last applied record
	snapSeq  uint64 // seq of the persisted snapshot
	unsnap   int    // points written since the persisted snapshot
	wal      *wal
	undo     []undoEntry // writes whose records may not be durable yet
	closed   bool
	logs     []uint64 // while opening: the log files kept, by first record

	buildMu  sync.Mutex // one rebuild or snapshot at a time
	building bool       // a background rebuild is queued or running; guarded by mu

	tuneMu sync.Mutex
	tuned  map[float64]*TunedPlan // by target recall; guarded by tuneMu
}

// TunedPlan is the tuner's answer for one target recall on one snapshot
// size: its report (the plan's text, the recall it reached on calibration
// queries, whether it met the target) and the plan to search with.
type TunedPlan struct {
	api.TunedPlan
	Stages index.Plan
}

// createCollection makes the directory and meta.json durably.
func createCollection(root, dataDir string, m Meta, opt Options) (*Collection, error) {
	dir := filepath.Join(root, m.Name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSONFile(filepath.Join(dir, "meta.json"), m); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := atomicfile.SyncDir(root); err != nil {
		return nil, err
	}
	return openCollection(dir, dataDir, opt)
}

// live reports whether id is present; mu is held.
func (c *Collection) lookup(id PointID) ([]float32, bool) {
	if e, ok := c.dirty[id]; ok {
		return e.vec, e.vec != nil
	}
	if i, ok := c.base.lookup(id); ok {
		return c.base.vecs.Row(i), true
	}
	return nil, false
}

func (c *Collection) setDirty(id PointID, e dirtyEntry) {
	if _, ok := c.dirty[id]; !ok {
		if _, inBase := c.base.lookup(id); inBase {
			c.inBase++
		}
	}
	c.dirty[id] = e
}

// applyUpsert applies pts (validated) in order; mu is held for writing.
func (c *Collection) applyUpsert(pts []Point, seq uint64) {
	for _, p := range pts {
		if _, ok := c.lookup(p.ID); !ok {
			c.count++
		}
		c.setDirty(p.ID, dirtyEntry{vec: p.Vector, seq: seq})
		if len(p.Payload) > 0 {
			c.payloads[p.ID] = p.Payload
		} else {
			delete(c.payloads, p.ID)
		}
	}
	c.unsnap += len(pts)
}

// applyDelete deletes ids and returns how many were present.
func (c *Collection) applyDelete(ids []PointID, seq uint64) int {
	n := 0
	for _, id := range ids {
		if _, ok := c.lookup(id); ok {
			c.count--
			n++
		}
		c.setDirty(id, dirtyEntry{seq: seq})
		delete(c.payloads, id)
	}
	c.unsnap += len(ids)
	return n
}

// undoEntry is what a write changed, kept until its record is durable so
// that a failed write (a full disk) can be undone: the previous state of
// each id it touched and the counters before it.
type undoEntry struct {
	seq, gen      uint64
	ids           []PointID
	prev          []dirtyEntry
	inDirty       []bool
	payload       []map[string]any
	seqBefore     uint64
	count, unsnap int
}

// saveUndo records the state of ids before the write seq of generation
// gen, and forgets the entries whose records are durable; mu is held.
func (c *Collection) saveUndo(seq, gen uint64, ids []PointID) {
	synced, cur := c.wal.synced.Load(), c.wal.gen.Load()
	drop := 0
	for drop < len(c.undo) && (c.undo[drop].gen < cur || c.undo[drop].seq <= synced) {
		drop++ // older generations keep only durable entries (see rollback)
	}
	c.undo = append(c.undo[:0], c.undo[drop:]...)
	e := undoEntry{seq: seq, gen: gen, ids: ids, prev: make([]dirtyEntry, len(ids)), inDirty: make([]bool, len(ids)),
		payload: make([]map[string]any, len(ids)), seqBefore: c.seq, count: c.count, unsnap: c.unsnap}
	for i, id := range ids {
		e.prev[i], e.inDirty[i] = c.dirty[id]
		e.payload[i] = c.payloads[id]
	}
	c.undo = append(c.undo, e)
}

// rollback undoes, after a failed log write, every write whose record the
// log discarded (see wal.rollback): the in-memory state returns to the last
// durable record, so that searches and counts never show a write that was
// not acknowledged. A background rebuild merges only durable records (it
// syncs first), so undoing the changes of the delta is enough.
func (c *Collection) rollback() {
	c.mu.Lock()
	defer c.mu.Unlock()
	did, durable, gen, err := c.wal.rollback()
	if !did {
		return
	}
	n := 0
	for i := len(c.undo) - 1; i >= 0; i-- {
		e := c.undo[i]
		if e.gen != gen || e.seq <= durable {
			continue
		}
		for j := len(e.ids) - 1; j >= 0; j-- {
			id := e.ids[j]
			if e.inDirty[j] {
				c.dirty[id] = e.prev[j]
			} else {
				delete(c.dirty, id)
			}
			if e.payload[j] != nil {
				c.payloads[id] = e.payload[j]
			} else {
				delete(c.payloads, id)
			}
		}
		c.seq, c.count, c.unsnap = e.seqBefore, e.count, e.unsnap
		c.undo = slices.Delete(c.undo, i, i+1)
		n++
	}
	c.inBase = 0
	for id := range c.dirty {
		if _, ok := c.base.lookup(id); ok {
			c.inBase++
		}
	}
	if err != nil {
		c.log.Error("a log write failed and the log could not be cut back: writes are refused until a restart", "err", err, "undone", n)
		return
	}
	c.log.Warn("a log write failed: its writes were undone and not acknowledged; writing goes on", "durable_seq", durable, "undone", n)
}

// write logs and applies one batch under the write lock, then waits for
// the log fsync; a failed fsync undoes the batch (and any other write the
// log discarded with it).
func (c *Collection) write(op byte, body []byte, ids []PointID, apply func(seq uint64)) (uint64, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	if err := c.wal.writeErr(); err != nil {
		c.mu.Unlock()
		return 0, &WriteError{err}
	}
	seq, gen := c.wal.append(op, body)
	c.saveUndo(seq, gen, ids)
	apply(seq)
	c.seq = seq
	c.afterWriteLocked()
	c.mu.Unlock()
	if err := c.wal.sync(seq, gen); err != nil {
		c.rollback()
		return 0, &WriteError{err}
	}
	return seq, nil
}

// Upsert adds or replaces pts in one batch: searches see all of it or
// none of it. It returns once the batch's log record is durable, with the
// record's sequence number; a failed log write is a *WriteError and the
// batch is undone. Each point's vector must have the collection's dim and
// be finite, ids must not repeat, and payload fields must be scalars
// (string, float64, bool); otherwise it is ErrInvalid and nothing is
// written. The store keeps pts' vectors and payloads: the caller must not
// change them after.
func (c *Collection) Upsert(pts []Point) (uint64, error) {
	if err := checkPoints(pts, c.meta.Dim, c.metric); err != nil {
		return 0, err
	}
	ids := make([]PointID, len(pts))
	for i, p := range pts {
		ids[i] = p.ID
	}
	op, body := encodeUpsert(nil, pts, c.meta.Dim)
	return c.write(op, body, ids, func(seq uint64) { c.applyUpsert(pts, seq) })
}

// Delete removes ids in one batch and returns how many were present and
// the record's sequence number, once the record is durable (a failed log
// write is a *WriteError and the batch is undone). Absent ids are not an
// error.
func (c *Collection) Delete(ids []PointID) (int, uint64, error) {
	n := 0
	op, body := encodeDelete(nil, ids)
	seq, err := c.write(op, body, ids, func(seq uint64) { n = c.applyDelete(ids, seq) })
	return n, seq, err
}

// Close flushes and closes the log after any running rebuild; it persists
// nothing (Snapshot does). Later calls fail with ErrClosed.
func (c *Collection) Close() error {
	c.buildMu.Lock()
	defer c.buildMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.wal.close()
}

// Meta returns the collection's shape.
func (c *Collection) Meta() Meta { return c.meta }

// Metric returns the collection's metric (its Meta's, parsed).
func (c *Collection) Metric() mrl.Metric { return c.metric }

// Err reports why the collection cannot take writes (its log could not be
// cut back after a failed write; a restart is needed), or nil.
func (c *Collection) Err() error { return c.wal.writeErr() }

// Info returns the collection's state: its Meta, counts, sequence numbers,
// memory, and the tuned plan for Options.AutoRecall if one was tuned.
func (c *Collection) Info() Info {
	c.mu.RLock()
	in := Info{Meta: c.meta, Count: c.count, Pending: len(c.dirty), Seq: c.seq, SnapshotSeq: c.snapSeq}
	in.MemoryBytes = int64(c.base.vecs.N()+len(c.dirty)) * int64(c.meta.Dim) * 4
	in.IndexBytes = c.base.built.IndexBytes()
	c.mu.RUnlock()
	c.tuneMu.Lock()
	if t := c.tuned[c.opt.AutoRecall]; t != nil {
		p := t.TunedPlan
		in.AutoPlan = &p
	}
	c.tuneMu.Unlock()
	return in
}

// Get returns point id (a copy of its vector) and whether it is present.
func (c *Collection) Get(id PointID) (Point, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.lookup(id)
	if !ok {
		return Point{}, false
	}
	return Point{ID: id, Vector: slices.Clone(v), Payload: c.payloads[id]}, true
}

// ScrollOptions selects a page of Scroll.
type ScrollOptions struct {
	After      PointID // the last id of the previous page
	First      bool    // the first page: After is ignored
	Limit      int     // the most points in the page; 0 or less means 100
	WithVector bool    // the points carry (copies of) their vectors
	// MaxBytes bounds the page's estimated JSON size (PayloadBytes of each
	// payload, 16 bytes a float, 40 a point); the first point is always
	// taken, so paging always progresses. Zero: no bound.
	MaxBytes int
}

// Scroll returns up to o.Limit live points with ids above o.After (all
// ids when o.First), in increasing id order (PointID.Compare: integers,
// then UUIDs), and whether more follow. o.After need not be present: an
// integer cursor continues with the integers above it and then every
// UUID, a UUID cursor with the UUIDs above it.
func (c *Collection) Scroll(o ScrollOptions) ([]Point, bool) {
	after, first, limit, withVector, maxBytes := o.After, o.First, o.Limit, o.WithVector, o.MaxBytes
	if limit <= 0 {
		limit = 100
	}
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	c.mu.RLock()
	snap := c.base
	c.mu.RUnlock()
	base := snap.sortedIDs() // sorted outside the lock: a snapshot is immutable
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.base != snap {
		base = c.base.sortedIDs() // a rebuild swapped the snapshot meanwhile
	}
	start := 0
	if !first {
		var found bool
		if start, found = slices.BinarySearchFunc(base, after, PointID.Compare); found {
			start++
		}
	}
	// The changed ids above the cursor, sorted; deleted ones are skipped
	// below (a nil vector in dirty).
	var extra []PointID
	for id, e := range c.dirty {
		if (first || id.Compare(after) > 0) && e.vec != nil {
			if _, inBase := c.base.lookup(id); !inBase {
				extra = append(extra, id)
			}
		}
	}
	slices.SortFunc(extra, PointID.Compare)
	// next is the smallest id not yet taken from base[i:] and extra[j:].
	i, j := start, 0
	next := func() (id PointID, fromBase, ok bool) {
		switch {
		case i < len(base) && (j >= len(extra) || base[i].Compare(extra[j]) < 0):
			return base[i], true, true
		case j < len(extra):
			return extra[j], false, true
		}
		return PointID{}, false, false
	}
	var pts []Point
	size := 0
	for {
		id, fromBase, ok := next()
		if !ok {
			return pts, false
		}
		if v, live := c.lookup(id); live { // else deleted since the snapshot
			if len(pts) == limit {
				return pts, true
			}
			n := 40 + PayloadBytes(c.payloads[id])
			if withVector {
				n += 16 * len(v)
			}
			if len(pts) > 0 && size+n > maxBytes {
				return pts, true
			}
			size += n
			p := Point{ID: id, Payload: c.payloads[id]}
			if withVector {
				p.Vector = slices.Clone(v)
			}
			pts = append(pts, p)
		}
		if fromBase {
			i++
		} else {
			j++
		}
	}
}

// PayloadBytes is the size of a payload's JSON.
func PayloadBytes(p map[string]any) int {
	b, err := json.Marshal(p)
	if err != nil {
		return 0 // payloads are validated scalars
	}
	return len(b)
}
