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

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/server/api"
)

// snapshot is an immutable base: the vectors and the searchers built on
// them (index.Build of the collection's index spec).
type snapshot struct {
	vecs  *index.Vectors
	built *index.Built
	gen   uint64

	funnelMu sync.Mutex
	funnels  map[string]*index.Funnel

	// A snapshot that holds a UUID id has named rows (the index file
	// keeps each row's id as text, PointID.String) and its searchers'
	// ids are row numbers: pids[row] is the row's id and pos maps back.
	// Without UUIDs pids and pos are nil and the searchers' ids are the
	// integer ids themselves, as in files written before UUIDs.
	pids []PointID
	pos  map[PointID]int32

	idsOnce sync.Once
	ids     []PointID // the snapshot's ids in increasing order (sortedIDs)
}

// lookup returns the row of id.
func (s *snapshot) lookup(id PointID) (int, bool) {
	if s.pids != nil {
		i, ok := s.pos[id]
		return int(i), ok
	}
	n, ok := id.Uint64()
	if !ok {
		return 0, false
	}
	return s.vecs.Lookup(n)
}

// id returns the id of row i.
func (s *snapshot) id(i int) PointID {
	if s.pids != nil {
		return s.pids[i]
	}
	return api.IntID(s.vecs.ID(i))
}

// keyID returns the id of a searcher's hit, whose ID is the row's key in
// vecs (see pids).
func (s *snapshot) keyID(key uint64) PointID {
	if s.pids != nil {
		return s.pids[key]
	}
	return api.IntID(key)
}

// rowIDs reads the ids of v's rows: nil for rows with integer ids (v's
// own), else the parsed names, each of which must be an id's canonical
// text.
func rowIDs(v *index.Vectors) ([]PointID, map[PointID]int32, error) {
	if !v.Named() {
		return nil, nil, nil
	}
	pids := make([]PointID, v.N())
	pos := make(map[PointID]int32, v.N())
	for i := range pids {
		name := v.Name(i)
		id, err := api.ParseID(name)
		if err != nil || id.String() != name {
			return nil, nil, fmt.Errorf("row %d: id %q is not a point id in canonical form", i, name)
		}
		if _, dup := pos[id]; dup {
			return nil, nil, fmt.Errorf("row %d: id %v repeats", i, id)
		}
		pids[i], pos[id] = id, int32(i)
	}
	return pids, pos, nil
}

// newVectors stores the rows of ids (data row-major) for a snapshot: with
// the integer ids as the rows' ids when there is no UUID (the index file
// is then what it was before UUIDs), else as named rows.
func newVectors(data []float32, ids []PointID, d int, metric mrl.Metric) (*index.Vectors, error) {
	ints := make([]uint64, len(ids))
	for i, id := range ids {
		n, ok := id.Uint64()
		if !ok {
			names := make([]string, len(ids))
			for j, id := range ids {
				names[j] = id.String()
			}
			return index.NewVectorsNamed(data, len(ids), d, metric, names)
		}
		ints[i] = n
	}
	return index.NewVectors(data, len(ids), d, metric, ints)
}

// sortedIDs returns the snapshot's ids in increasing order, sorted on
// first use (scrolling reads them page by page).
func (s *snapshot) sortedIDs() []PointID {
	s.idsOnce.Do(func() {
		s.ids = make([]PointID, s.vecs.N())
		for i := range s.ids {
			s.ids[i] = s.id(i)
		}
		slices.SortFunc(s.ids, PointID.Compare)
	})
	return s.ids
}

// buildSnapshot builds the searcher of the collection's kind over v; a
// graph loaded with the snapshot file (h, for kind hnsw) is used as is.
func (c *Collection) buildSnapshot(v *index.Vectors, h *index.HNSW, gen uint64) (*snapshot, error) {
	spec := c.spec
	spec.Graph = h
	pids, pos, err := rowIDs(v)
	if err != nil {
		return nil, err
	}
	b, err := index.Build(v, spec, nil)
	if err != nil {
		return nil, err
	}
	return &snapshot{vecs: v, built: b, gen: gen, funnels: map[string]*index.Funnel{}, pids: pids, pos: pos}, nil
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
	// Format is the side file's format (see writeSidecar): not part of
	// the body.
	Format   int                       `json:"-"`
	Seq      uint64                    `json:"seq"`
	Rows     int                       `json:"rows"`
	Payloads map[string]map[string]any `json:"payloads"`
}

func snapName(seq uint64, ext string) string { return fmt.Sprintf("snapshot-%020d.%s", seq, ext) }

// loadSnapshot reads snapshot seq: vectors (and graph) from its index file,
// payloads from its side file, and checks that they agree.
func (c *Collection) loadSnapshot(seq uint64) (*index.Vectors, *index.HNSW, map[PointID]map[string]any, error) {
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
	// Format 3 marks a snapshot with UUID ids (named rows); format 2 and
	// older have integer ids only.
	if named := vecs.Named(); named != (side.Format >= sidecarFormatUUID) {
		return nil, nil, nil, fmt.Errorf("%s is format %d but %s has named rows: %v (want named rows exactly in format %d)",
			sidePath, side.Format, idxPath, named, sidecarFormatUUID)
	}
	pids, pos, err := rowIDs(vecs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", idxPath, err)
	}
	probe := &snapshot{vecs: vecs, pids: pids, pos: pos}
	payloads := make(map[PointID]map[string]any, len(side.Payloads))
	for k, p := range side.Payloads {
		id, err := api.ParseID(k)
		if err == nil && (id.String() != k || id.IsUUID() && side.Format < sidecarFormatUUID) {
			err = errors.New("not canonical for this format")
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: payload id %q: %w", sidePath, k, err)
		}
		if _, ok := probe.lookup(id); !ok {
			return nil, nil, nil, fmt.Errorf("%s: payload of id %v, which %s does not hold", sidePath, id, idxPath)
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
	dirty := make(map[PointID][]float32, len(c.dirty))
	for id, e := range c.dirty {
		dirty[id] = e.vec
	}
	var payloads map[PointID]map[string]any
	if persist {
		payloads = make(map[PointID]map[string]any, len(c.payloads))
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
	ids := make([]PointID, 0, n+len(dirty))
	for i := range n {
		if _, ok := dirty[base.id(i)]; !ok {
			ids = append(ids, base.id(i))
		}
	}
	var added []PointID
	for id, v := range dirty {
		if v != nil {
			added = append(added, id)
		}
	}
	slices.SortFunc(added, PointID.Compare)
	ids = append(ids, added...)
	data := make([]float32, 0, len(ids)*d)
	src := bv.Data()
	for i := range n {
		if _, ok := dirty[base.id(i)]; !ok {
			data = append(data, src[i*d:(i+1)*d]...)
		}
	}
	for _, id := range added {
		data = append(data, dirty[id]...)
	}
	vecs, err := newVectors(data, ids, d, c.metric)
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
		if _, ok := snap.lookup(id); ok {
			c.inBase++
		}
	}
	c.mu.Unlock()
	c.log.Debug("rebuilt snapshot", "rows", vecs.N(), "seq", seq, "persist", persist, "took", time.Since(start))
	return nil
}

// persist writes the snapshot files for seq and removes older snapshots and
// the log files they cover.
func (c *Collection) persist(snap *snapshot, payloads map[PointID]map[string]any, seq uint64) error {
	vecs := snap.vecs
	path := filepath.Join(c.dir, snapName(seq, "idx"))
	if h := snap.built.Graph; h != nil {
		if err := index.SaveHNSW(path, h); err != nil {
			return err
		}
	} else if err := index.Save(path, vecs); err != nil {
		return err
	}
	side := snapshotSidecar{Format: sidecarFormat, Seq: seq, Rows: vecs.N(), Payloads: make(map[string]map[string]any, len(payloads))}
	if vecs.Named() {
		side.Format = sidecarFormatUUID
	}
	for id, p := range payloads {
		side.Payloads[id.String()] = p
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
