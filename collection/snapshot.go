package collection

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
)

// snapshot is an immutable base: the vectors and the searchers built on
// them (index.Build of the collection's index spec).
type snapshot struct {
	vecs  *index.Vectors
	built *index.Built
	gen   uint64

	funnelMu sync.Mutex
	funnels  map[string]*index.Funnel

	idsOnce sync.Once
	ids     []uint64 // the snapshot's ids in increasing order (sortedIDs)
}

// sortedIDs returns the snapshot's ids in increasing order, sorted on
// first use (scrolling reads them page by page).
func (s *snapshot) sortedIDs() []uint64 {
	s.idsOnce.Do(func() {
		s.ids = make([]uint64, s.vecs.N())
		for i := range s.ids {
			s.ids[i] = s.vecs.ID(i)
		}
		slices.Sort(s.ids)
	})
	return s.ids
}

// buildSnapshot builds the searcher of the collection's kind over v; a
// graph loaded with the snapshot file (h, for kind hnsw) is used as is.
func (c *Collection) buildSnapshot(v *index.Vectors, h *index.HNSW, gen uint64) (*snapshot, error) {
	spec := c.spec
	spec.Graph = h
	b, err := index.Build(v, spec, nil)
	if err != nil {
		return nil, err
	}
	return &snapshot{vecs: v, built: b, gen: gen, funnels: map[string]*index.Funnel{}}, nil
}

// loadSnapshotFile reads a snapshot index file; for kind hnsw it also
// returns the stored graph if the file has one built with the collection's
// graph dim (snapshots of hnsw collections are written with their graph, so
// a restart does not rebuild it).
func (c *Collection) loadSnapshotFile(path string) (v *index.Vectors, h *index.HNSW, err error) {
	v, h, err = index.Open(path) // through a read-only mapping: no heap copy of the file
	if err != nil {
		return nil, nil, err
	}
	want := c.meta.Index.GraphDim
	if want == 0 {
		want = c.meta.Dim
	}
	if h != nil && (c.meta.Index.Kind != "hnsw" || h.Dim() != want) {
		h = nil // not a graph this collection can use: it builds its own
	}
	return v, h, nil
}

// searcherFor returns the base searcher usable at dim: the collection's
// kind, or exact Flat below an HNSW graph's dim.
func (s *snapshot) searcherFor(dim int) index.Searcher { return s.built.At(dim) }

// funnel returns the cached funnel for plan on s.
func (s *snapshot) funnel(p index.Plan) (*index.Funnel, error) {
	key := p.String()
	s.funnelMu.Lock()
	defer s.funnelMu.Unlock()
	if f, ok := s.funnels[key]; ok {
		return f, nil
	}
	f, err := s.built.Plan(p)
	if err != nil {
		return nil, err
	}
	if len(s.funnels) >= 32 {
		clear(s.funnels)
	}
	s.funnels[key] = f
	return f, nil
}

type snapshotSidecar struct {
	Seq      uint64                    `json:"seq"`
	Rows     int                       `json:"rows"`
	Payloads map[string]map[string]any `json:"payloads"`
}

func snapName(seq uint64, ext string) string { return fmt.Sprintf("snapshot-%020d.%s", seq, ext) }

// loadSnapshot reads snapshot seq: vectors (and graph) from its index file,
// payloads from its side file, and checks that they agree.
func (c *Collection) loadSnapshot(seq uint64) (*index.Vectors, *index.HNSW, map[uint64]map[string]any, error) {
	idxPath, sidePath := filepath.Join(c.dir, snapName(seq, "idx")), filepath.Join(c.dir, snapName(seq, "json"))
	vecs, graph, err := c.loadSnapshotFile(idxPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", idxPath, err)
	}
	side, err := readSidecar(sidePath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", sidePath, err)
	}
	if side.Seq != seq || side.Rows != vecs.N() || vecs.Dim() != c.meta.Dim {
		return nil, nil, nil, fmt.Errorf("%s says seq %d rows %d, %s has %d rows of dim %d (collection dim %d)",
			sidePath, side.Seq, side.Rows, idxPath, vecs.N(), vecs.Dim(), c.meta.Dim)
	}
	payloads := make(map[uint64]map[string]any, len(side.Payloads))
	for k, p := range side.Payloads {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: payload id %q: %w", sidePath, k, err)
		}
		if _, ok := vecs.Lookup(id); !ok {
			return nil, nil, nil, fmt.Errorf("%s: payload of id %d, which %s does not hold", sidePath, id, idxPath)
		}
		payloads[id] = p
	}
	return vecs, graph, payloads, nil
}

func (c *Collection) rebuildMin() int {
	return max(c.opt.RebuildMin, c.base.vecs.N()/8)
}

// afterWriteLocked starts a background rebuild or snapshot when due.
func (c *Collection) afterWriteLocked() {
	if c.building {
		return
	}
	persist := c.opt.SnapshotEvery > 0 && c.unsnap >= c.opt.SnapshotEvery
	if persist || len(c.dirty) >= c.rebuildMin() {
		c.building = true
		go c.rebuildInBackground(persist)
	}
}

// rebuildInBackground is rebuild for a goroutine of its own: a failure
// cannot be returned to anyone, so it is logged (the changes stay in the
// log and in the collection's delta, and the next write tries again).
func (c *Collection) rebuildInBackground(persist bool) {
	if err := c.rebuild(persist); err != nil && !errors.Is(err, ErrClosed) {
		c.log.Error("background rebuild failed; the changes stay in the log and are searched as recent writes", "persist", persist, "err", err)
	}
}

// Snapshot merges the changes into a new snapshot of the collection's
// index and writes it, rotating the log and removing the files it makes
// redundant, so that the next Open replays little. It waits for a running
// rebuild; with nothing new since the last snapshot it does nothing.
func (c *Collection) Snapshot() error { return c.rebuild(true) }

// rebuild merges the changes into a new snapshot, builds its searcher and
// swaps it in; with persist it also writes it to disk, rotating the log
// first, and removes the files it makes redundant.
func (c *Collection) rebuild(persist bool) error {
	c.buildMu.Lock()
	defer c.buildMu.Unlock()
	defer func() {
		c.mu.Lock()
		c.building = false
		c.mu.Unlock()
	}()

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if persist && c.seq == c.snapSeq && len(c.dirty) == 0 {
		c.mu.Unlock()
		return nil // the persisted snapshot is current
	}
	if !persist && len(c.dirty) == 0 {
		c.mu.Unlock()
		return nil
	}
	base := c.base
	seq, gen := c.seq, c.wal.gen.Load()
	unchanged := len(c.dirty) == 0 // persist the current snapshot as is
	dirty := make(map[uint64][]float32, len(c.dirty))
	for id, e := range c.dirty {
		dirty[id] = e.vec
	}
	var payloads map[uint64]map[string]any
	if persist {
		payloads = make(map[uint64]map[string]any, len(c.payloads))
		for id, p := range c.payloads {
			payloads[id] = p
		}
		if err := c.wal.rotate(); err != nil {
			c.mu.Unlock()
			c.rollback()
			return err
		}
		c.unsnap = 0
	} else if err := func() error {
		// Merge only durable changes: a write whose fsync then fails
		// is undone in the delta (rollback), not in the base.
		c.mu.Unlock()
		defer c.mu.Lock()
		return c.wal.sync(seq, gen)
	}(); err != nil {
		c.mu.Unlock()
		c.rollback()
		return err
	}
	c.mu.Unlock()

	start := time.Now()
	if unchanged {
		// Nothing to merge: write the snapshot (with its HNSW graph)
		// without rebuilding the searcher.
		if err := c.persist(base, payloads, seq); err != nil {
			c.log.Error("snapshot failed", "seq", seq, "err", err)
			return err
		}
		return nil
	}
	d := c.meta.Dim
	bv := base.vecs
	n := bv.N()
	ids := make([]uint64, 0, n+len(dirty))
	for i := range n {
		if _, ok := dirty[bv.ID(i)]; !ok {
			ids = append(ids, bv.ID(i))
		}
	}
	var added []uint64
	for id, v := range dirty {
		if v != nil {
			added = append(added, id)
		}
	}
	slices.Sort(added)
	ids = append(ids, added...)
	data := make([]float32, 0, len(ids)*d)
	src := bv.Data()
	for i := range n {
		if _, ok := dirty[bv.ID(i)]; !ok {
			data = append(data, src[i*d:(i+1)*d]...)
		}
	}
	for _, id := range added {
		data = append(data, dirty[id]...)
	}
	vecs, err := index.NewVectors(data, len(ids), d, c.metric, ids)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	snap, err := c.buildSnapshot(vecs, nil, base.gen+1)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if persist {
		if err := c.persist(snap, payloads, seq); err != nil {
			c.log.Error("snapshot failed", "seq", seq, "err", err)
			return err
		}
	}

	c.mu.Lock()
	c.base = snap
	for id, e := range c.dirty {
		if e.seq <= seq {
			delete(c.dirty, id)
		}
	}
	c.inBase = 0
	for id := range c.dirty {
		if _, ok := vecs.Lookup(id); ok {
			c.inBase++
		}
	}
	c.mu.Unlock()
	c.log.Debug("rebuilt snapshot", "rows", vecs.N(), "seq", seq, "persist", persist, "took", time.Since(start))
	return nil
}

// persist writes the snapshot files for seq and removes older snapshots and
// the log files they cover.
func (c *Collection) persist(snap *snapshot, payloads map[uint64]map[string]any, seq uint64) error {
	vecs := snap.vecs
	path := filepath.Join(c.dir, snapName(seq, "idx"))
	if h := snap.built.Graph; h != nil {
		if err := index.SaveHNSW(path, h); err != nil {
			return err
		}
	} else if err := index.Save(path, vecs); err != nil {
		return err
	}
	side := snapshotSidecar{Seq: seq, Rows: vecs.N(), Payloads: make(map[string]map[string]any, len(payloads))}
	for id, p := range payloads {
		side.Payloads[strconv.FormatUint(id, 10)] = p
	}
	if err := writeSidecar(filepath.Join(c.dir, snapName(seq, "json")), side); err != nil {
		return err
	}
	c.mu.Lock()
	c.snapSeq = seq
	c.mu.Unlock()
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		var old uint64
		var err error
		switch {
		case strings.HasPrefix(name, "snapshot-"):
			s := strings.TrimPrefix(name, "snapshot-")
			s = strings.TrimSuffix(strings.TrimSuffix(s, ".idx"), ".json")
			old, err = strconv.ParseUint(s, 10, 64)
			if err != nil || old >= seq {
				continue
			}
		case strings.HasPrefix(name, "wal-") && strings.HasSuffix(name, ".log"):
			// A file whose first record is <= seq ends before seq+1,
			// which starts the file rotate opened.
			old, err = strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "wal-"), ".log"), 10, 64)
			if err != nil || old > seq {
				continue
			}
		default:
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, name)); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(c.dir)
}
