package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
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

// validate checks m and fills defaults; problems are reported together.
func validateMeta(m *Meta) error {
	var p []string
	if !validName(m.Name) {
		p = append(p, fmt.Sprintf("name %q: want 1 to 64 of A-Z a-z 0-9 _ -", m.Name))
	}
	if m.Dim < 1 || m.Dim > maxDim {
		p = append(p, fmt.Sprintf("dim %d: want 1..%d", m.Dim, maxDim))
	}
	if m.Metric == "" {
		m.Metric = "cosine"
	}
	if met, err := mrl.ParseMetric(m.Metric); err != nil {
		p = append(p, fmt.Sprintf("metric %q: want cosine, ip or l2", m.Metric))
	} else {
		m.Metric = met.String()
	}
	if m.Dim >= 1 && m.Dim <= maxDim {
		if len(m.Nesting) == 0 {
			m.Nesting = mrl.DefaultNesting(m.Dim)
		}
		if err := m.Nesting.Validate(m.Dim); err != nil {
			p = append(p, fmt.Sprintf("nesting %v: %v", []int(m.Nesting), err))
		} else if m.Nesting.Max() != m.Dim {
			p = append(p, fmt.Sprintf("nesting %v: last dim must be the collection dim %d", []int(m.Nesting), m.Dim))
		}
	}
	ix := &m.Index
	if ix.Kind == "" {
		ix.Kind = "flat"
	}
	hnswSet := ix.M != 0 || ix.EfConstruction != 0 || ix.EfSearch != 0 || ix.GraphDim != 0
	ivfSet := ix.Lists != 0 || ix.Probe != 0 || ix.ClusterDim != 0
	quantSet := ix.CodeDim != 0 || ix.Rescore != 0
	switch ix.Kind {
	case "flat":
		if hnswSet || ivfSet || quantSet || ix.Seed != 0 {
			p = append(p, "index: kind flat takes no options")
		}
	case "binary", "int8":
		if hnswSet || ivfSet || ix.Seed != 0 {
			p = append(p, fmt.Sprintf("index: kind %s takes only code_dim and rescore", ix.Kind))
		}
		if err := quantOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.CodeDim < 0 || ix.CodeDim > m.Dim {
			p = append(p, fmt.Sprintf("index: code_dim %d: want 0 (the collection dim) or 1..%d", ix.CodeDim, m.Dim))
		}
	case "hnsw":
		if quantSet {
			p = append(p, "index: code_dim and rescore are binary and int8 options, kind is hnsw")
		}
		if ivfSet {
			p = append(p, "index: lists, probe and cluster_dim are ivf options, kind is hnsw")
		}
		if err := hnswOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.GraphDim < 0 || ix.GraphDim > m.Dim {
			p = append(p, fmt.Sprintf("index: graph_dim %d: want 0 (the collection dim) or 1..%d", ix.GraphDim, m.Dim))
		}
	case "ivf":
		if hnswSet || quantSet {
			p = append(p, "index: m, ef_construction, ef_search and graph_dim are hnsw options, code_dim and rescore binary and int8 ones, kind is ivf")
		}
		if err := ivfOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.ClusterDim < 0 || ix.ClusterDim > m.Dim {
			p = append(p, fmt.Sprintf("index: cluster_dim %d: want 0 (default) or 1..%d", ix.ClusterDim, m.Dim))
		}
	default:
		p = append(p, fmt.Sprintf("index: kind %q: want flat, hnsw, ivf, binary or int8", ix.Kind))
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

// metaMetric parses the collection's metric (validateMeta has checked it).
func metaMetric(m *Meta) (mrl.Metric, error) { return mrl.ParseMetric(m.Metric) }

func hnswOptions(m *Meta) index.HNSWOptions {
	return index.HNSWOptions{Dim: m.Index.GraphDim, M: m.Index.M, EfConstruction: m.Index.EfConstruction, EfSearch: m.Index.EfSearch, Seed: m.Index.Seed}
}

func quantOptions(m *Meta) index.QuantOptions {
	kind := index.Binary
	if m.Index.Kind == "int8" {
		kind = index.Int8
	}
	return index.QuantOptions{Kind: kind, Dim: m.Index.CodeDim, Rescore: m.Index.Rescore}
}

func ivfOptions(m *Meta) index.IVFOptions {
	return index.IVFOptions{ClusterDim: m.Index.ClusterDim, Lists: m.Index.Lists, Probe: m.Index.Probe, Seed: m.Index.Seed}
}

const maxDim = 65536

func validName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// dirtyEntry is a change since the snapshot the searcher was built on:
// the new vector, or nil for a deleted id, and the record that made it.
type dirtyEntry struct {
	vec []float32
	seq uint64
}

// snapshot is an immutable base: the vectors and searchers built on them.
type snapshot struct {
	vecs     *index.Vectors
	searcher index.Searcher // the collection's kind
	flat     *index.Flat
	hnswDim  int // graph dim when searcher is HNSW, else 0
	gen      uint64

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

// collection is a mutable set of points: an immutable snapshot searched by
// its index, plus the changes since (dirty: upserted vectors, and nil for
// deleted ids), scanned exactly and merged into each search. All state is
// guarded by mu; a batch is applied under the write lock, so searches see
// all of it or none of it. The snapshot is rebuilt in the background once
// enough changes pile up, and persisted with the log rotated every
// SnapshotEvery points.
type collection struct {
	meta   Meta
	dir    string
	metric mrl.Metric
	log    *slog.Logger
	opt    *Options

	mu       sync.RWMutex
	base     *snapshot
	dirty    map[uint64]dirtyEntry
	inBase   int // dirty ids present in base
	payloads map[uint64]map[string]any
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
	tuned  map[float64]*tunedPlan // by target recall; guarded by tuneMu
}

// tunedPlan is the tuner's answer for one target on one snapshot size.
type tunedPlan struct {
	api.TunedPlan
	plan index.Plan
}

// buildSnapshot builds the searcher of the collection's kind over v; a
// graph loaded with the snapshot file (h, for kind hnsw) is used as is.
func (c *collection) buildSnapshot(v *index.Vectors, h *index.HNSW, gen uint64) (*snapshot, error) {
	s := &snapshot{vecs: v, flat: index.NewFlat(v), gen: gen, funnels: map[string]*index.Funnel{}}
	switch c.meta.Index.Kind {
	case "hnsw":
		if h == nil {
			var err error
			if h, err = index.NewHNSW(v, hnswOptions(&c.meta)); err != nil {
				return nil, err
			}
		}
		s.searcher, s.hnswDim = h, h.Dim()
	case "ivf":
		f, err := index.NewIVF(v, ivfOptions(&c.meta))
		if err != nil {
			return nil, err
		}
		s.searcher = f
	case "binary", "int8":
		q, err := index.NewQuantized(v, quantOptions(&c.meta))
		if err != nil {
			return nil, err
		}
		s.searcher = q
	default:
		s.searcher = s.flat
	}
	return s, nil
}

// loadSnapshotFile reads a snapshot index file; for kind hnsw it also
// returns the stored graph if the file has one built with the collection's
// graph dim (snapshots of hnsw collections are written with their graph, so
// a restart does not rebuild it).
func (c *collection) loadSnapshotFile(path string) (v *index.Vectors, h *index.HNSW, err error) {
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
func (s *snapshot) searcherFor(dim int) index.Searcher {
	if s.hnswDim > dim {
		return s.flat
	}
	return s.searcher
}

// funnel returns the cached funnel for plan on s.
func (s *snapshot) funnel(p index.Plan) (*index.Funnel, error) {
	key := p.String()
	s.funnelMu.Lock()
	defer s.funnelMu.Unlock()
	if f, ok := s.funnels[key]; ok {
		return f, nil
	}
	f, err := index.NewFunnel(s.vecs, p, s.searcherFor(p[0].Dim))
	if err != nil {
		return nil, err
	}
	if len(s.funnels) >= 32 {
		clear(s.funnels)
	}
	s.funnels[key] = f
	return f, nil
}

// createCollection makes the directory and meta.json durably.
func createCollection(root string, m Meta, opt *Options, log *slog.Logger) (*collection, error) {
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
	return openCollection(dir, opt, log)
}

func writeJSONFile(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

type snapshotSidecar struct {
	Seq      uint64                    `json:"seq"`
	Rows     int                       `json:"rows"`
	Payloads map[string]map[string]any `json:"payloads"`
}

func snapName(seq uint64, ext string) string { return fmt.Sprintf("snapshot-%020d.%s", seq, ext) }

// errMeta reports a meta.json that is missing or unreadable.
var errMeta = errors.New("meta.json")

// openCollection loads meta.json and the newest complete snapshot, replays
// the log after it (cutting a torn final record) and opens the log for
// appends. Any other damage is ErrCorrupt, or with opt.Recover is moved to
// the quarantine folder (see recover.go).
func openCollection(dir string, opt *Options, log *slog.Logger) (*collection, error) {
	metaPath := filepath.Join(dir, "meta.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMeta, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	if err := validateMeta(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	metric, err := metaMetric(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	c := &collection{meta: m, dir: dir, metric: metric, log: log.With("collection", m.Name), opt: opt,
		dirty: map[uint64]dirtyEntry{}, payloads: map[uint64]map[string]any{}, tuned: map[float64]*tunedPlan{}}
	if err := removeTemps(dir, c.log); err != nil {
		return nil, err
	}
	q := newQuarantine(opt.DataDir, m.Name, c.log)

	// The newest snapshot with both parts. persist writes the index file,
	// then the side file, then removes what they make redundant; so an index
	// file without a side file is an interrupted snapshot (the logs still
	// cover it) or a lost side file (the logs do not: the gap check below
	// catches it), and a side file without its index file is damage.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	parts := map[uint64][2]bool{} // seq -> has idx, has json
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "snapshot-")
		if !ok {
			continue
		}
		for i, ext := range []string{".idx", ".json"} {
			if num, ok := strings.CutSuffix(s, ext); ok {
				if n, err := strconv.ParseUint(num, 10, 64); err == nil {
					p := parts[n]
					p[i] = true
					parts[n] = p
				}
			}
		}
	}
	seqs := slices.Sorted(maps.Keys(parts))
	slices.Reverse(seqs)
	var vecs *index.Vectors
	var graph *index.HNSW
	var orphan uint64 // newest index file without a side file, newer than the base
	for _, seq := range seqs {
		idxPath, sidePath := filepath.Join(dir, snapName(seq, "idx")), filepath.Join(dir, snapName(seq, "json"))
		p := parts[seq]
		if p[0] && !p[1] {
			if orphan == 0 {
				orphan = seq
			}
			continue
		}
		if !p[0] {
			if !opt.Recover {
				return nil, corruptf("%s exists but its index file %s is missing", sidePath, idxPath)
			}
			if err := q.move(sidePath, "its index file is missing"); err != nil {
				return nil, err
			}
			continue
		}
		v, h, pl, err := c.loadSnapshot(seq)
		if err != nil {
			if !opt.Recover {
				return nil, corruptf("snapshot %d: %v", seq, err)
			}
			for _, f := range []string{idxPath, sidePath} {
				if err := q.move(f, fmt.Sprintf("snapshot %d unreadable", seq)); err != nil {
					return nil, err
				}
			}
			continue
		}
		vecs, graph, c.payloads = v, h, pl
		c.seq, c.snapSeq = seq, seq
		break
	}

	// The logs that follow the base: the file holding record base+1 and
	// every later one. A file wal-F starts with record F; rotate creates
	// wal-(S+1) before snapshot S is written, so it exists whenever S does.
	firsts, err := walFiles(dir)
	if err != nil {
		return nil, err
	}
	startAt := func(base uint64) int {
		i := 0
		for i+1 < len(firsts) && firsts[i+1] <= base+1 {
			i++
		}
		return i
	}
	gapAtBase := func(base uint64) bool {
		if len(firsts) == 0 {
			return base > 0
		}
		return firsts[startAt(base)] > base+1
	}
	if gapAtBase(c.seq) {
		what := fmt.Sprintf("no log file holds record %d, the one after the snapshot at %d (want %s)", c.seq+1, c.seq, walName(c.seq+1))
		if c.seq == 0 {
			what = fmt.Sprintf("no snapshot, and no log file starts at record 1 (the first is %v)", firsts)
		}
		if orphan > c.seq {
			what += fmt.Sprintf("; %s has no side file %s (payloads and sequence number)", snapName(orphan, "idx"), snapName(orphan, "json"))
		}
		if !opt.Recover {
			return nil, corruptf("%s: %s", dir, what)
		}
		if orphan > c.seq && !gapAtBase(orphan) {
			// Serve the vectors of the index file; its payloads are lost.
			v, h, err := c.loadSnapshotFile(filepath.Join(dir, snapName(orphan, "idx")))
			if err != nil {
				return nil, corruptf("snapshot %d: %v", orphan, err)
			}
			if v.Dim() != m.Dim {
				return nil, corruptf("snapshot %d: dim %d, collection dim %d", orphan, v.Dim(), m.Dim)
			}
			if err := writeSidecar(filepath.Join(dir, snapName(orphan, "json")), snapshotSidecar{Seq: orphan, Rows: v.N()}); err != nil {
				return nil, err
			}
			c.log.Error("recovered the vectors of a snapshot whose side file was lost; its payloads are lost", "snapshot", orphan, "rows", v.N())
			vecs, graph, c.payloads = v, h, map[uint64]map[string]any{}
			c.seq, c.snapSeq = orphan, orphan
		} else {
			for _, f := range firsts {
				if err := q.move(filepath.Join(dir, walName(f)), what); err != nil {
					return nil, err
				}
			}
			firsts = nil
		}
	}
	if vecs == nil {
		vecs, err = index.NewVectors(nil, 0, m.Dim, c.metric, nil)
		if err != nil {
			return nil, err
		}
	}
	c.base, err = c.buildSnapshot(vecs, graph, 0)
	if err != nil {
		return nil, err
	}
	c.count = vecs.N()
	if len(firsts) > 0 {
		firsts = firsts[startAt(c.seq):]
	}
	if err := c.replayLogs(firsts, q); err != nil {
		return nil, err
	}
	first := c.seq + 1
	if len(c.logs) > 0 {
		first = c.logs[len(c.logs)-1]
	}
	c.logs = nil
	c.wal, err = openWAL(dir, first, c.seq)
	if err != nil {
		return nil, err
	}
	if len(c.dirty) >= c.rebuildMin() {
		c.mu.Lock()
		c.building = true
		c.mu.Unlock()
		go c.rebuildInBackground(false)
	}
	return c, nil
}

// loadSnapshot reads snapshot seq: vectors (and graph) from its index file,
// payloads from its side file, and checks that they agree.
func (c *collection) loadSnapshot(seq uint64) (*index.Vectors, *index.HNSW, map[uint64]map[string]any, error) {
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

// replayLogs applies the records after c.seq from the log files that start
// at firsts (sorted; the first holds record c.seq+1). Only a torn final
// record of the last file is cut; other damage is ErrCorrupt, or with
// Recover the damaged file keeps its valid records (the whole file goes to
// the quarantine) and the later files go to the quarantine. It leaves in
// c.logs the files kept.
func (c *collection) replayLogs(firsts []uint64, q *quarantine) error {
	for i, first := range firsts {
		path := filepath.Join(c.dir, walName(first))
		if first > c.seq+1 {
			what := fmt.Sprintf("%s starts at record %d but the records before it end at %d", path, first, c.seq)
			if !c.opt.Recover {
				return corruptf("%s", what)
			}
			return c.quarantineLogs(q, firsts[i:], what)
		}
		data, err := readFile(path)
		if err != nil {
			return err
		}
		valid, last, rerr := readRecords(data, first-1, func(seq uint64, op byte, body []byte) error {
			if seq <= c.seq {
				return nil // covered by the snapshot
			}
			return c.replay(seq, op, body)
		})
		c.logs = append(c.logs, first)
		if rerr == nil {
			continue
		}
		final := i == len(firsts)-1
		what := fmt.Sprintf("%s: %v", path, rerr) // errTorn and errSeq give the offset
		if !errors.Is(rerr, errTorn) && !errors.Is(rerr, errSeq) {
			what = fmt.Sprintf("%s: record at offset %d: %v", path, valid, rerr)
		}
		switch at, after := validAfter(data, valid, last); {
		case !errors.Is(rerr, errTorn):
		case !final:
			what += fmt.Sprintf(", followed by %d later log files", len(firsts)-1-i)
		case after:
			what += fmt.Sprintf(", followed by a valid record at offset %d", at)
		default:
			// A torn final record: never acknowledged (its fsync did not
			// return), so cutting it loses nothing.
			c.log.Warn("cutting a torn final record from the write ahead log", "file", path, "offset", valid, "size", len(data), "err", rerr)
			if err := os.Truncate(path, int64(valid)); err != nil {
				return err
			}
			return nil
		}
		if !c.opt.Recover {
			return corruptf("%s", what)
		}
		if err := q.keepPrefix(path, data, valid, what); err != nil {
			return err
		}
		return c.quarantineLogs(q, firsts[i+1:], "follows damage in "+path)
	}
	return nil
}

// quarantineLogs moves the log files that start at firsts to the
// quarantine: their records cannot be applied after the damage before them.
func (c *collection) quarantineLogs(q *quarantine, firsts []uint64, why string) error {
	for _, f := range firsts {
		if err := q.move(filepath.Join(c.dir, walName(f)), why); err != nil {
			return err
		}
	}
	return nil
}

func (c *collection) replay(seq uint64, op byte, body []byte) error {
	switch op {
	case opUpsert:
		pts, err := decodeUpsert(body, c.meta.Dim)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		c.applyUpsert(pts, seq)
	case opDelete:
		ids, err := decodeDelete(body)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		c.applyDelete(ids, seq)
	default:
		return fmt.Errorf("record %d: unknown op %d", seq, op)
	}
	c.seq = seq
	return nil
}

func (c *collection) rebuildMin() int {
	return max(c.opt.RebuildMin, c.base.vecs.N()/8)
}

// live reports whether id is present; mu is held.
func (c *collection) lookup(id uint64) ([]float32, bool) {
	if e, ok := c.dirty[id]; ok {
		return e.vec, e.vec != nil
	}
	if i, ok := c.base.vecs.Lookup(id); ok {
		return c.base.vecs.Row(i), true
	}
	return nil, false
}

func (c *collection) setDirty(id uint64, e dirtyEntry) {
	if _, ok := c.dirty[id]; !ok {
		if _, inBase := c.base.vecs.Lookup(id); inBase {
			c.inBase++
		}
	}
	c.dirty[id] = e
}

// applyUpsert applies pts (validated) in order; mu is held for writing.
func (c *collection) applyUpsert(pts []Point, seq uint64) {
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
func (c *collection) applyDelete(ids []uint64, seq uint64) int {
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

var errClosed = errors.New("collection is closed")

// undoEntry is what a write changed, kept until its record is durable so
// that a failed write (a full disk) can be undone: the previous state of
// each id it touched and the counters before it.
type undoEntry struct {
	seq, gen      uint64
	ids           []uint64
	prev          []dirtyEntry
	inDirty       []bool
	payload       []map[string]any
	seqBefore     uint64
	count, unsnap int
}

// saveUndo records the state of ids before the write seq of generation
// gen, and forgets the entries whose records are durable; mu is held.
func (c *collection) saveUndo(seq, gen uint64, ids []uint64) {
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
func (c *collection) rollback() {
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
		if _, ok := c.base.vecs.Lookup(id); ok {
			c.inBase++
		}
	}
	if err != nil {
		c.log.Error("a log write failed and the log could not be cut back: writes are refused until a restart", "err", err, "undone", n)
		return
	}
	c.log.Warn("a log write failed: its writes were undone and not acknowledged; writing goes on", "durable_seq", durable, "undone", n)
}

// errWrite wraps a failed write that was undone.
type errWrite struct{ err error }

func (e *errWrite) Error() string {
	return fmt.Sprintf("the write failed and was undone (not applied): %v", e.err)
}
func (e *errWrite) Unwrap() error { return e.err }

// write logs and applies one batch under the write lock, then waits for
// the log fsync; a failed fsync undoes the batch (and any other write the
// log discarded with it).
func (c *collection) write(op byte, body []byte, ids []uint64, apply func(seq uint64)) (uint64, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	if err := c.wal.writeErr(); err != nil {
		c.mu.Unlock()
		return 0, &errWrite{err}
	}
	seq, gen := c.wal.append(op, body)
	c.saveUndo(seq, gen, ids)
	apply(seq)
	c.seq = seq
	c.afterWriteLocked()
	c.mu.Unlock()
	if err := c.wal.sync(seq, gen); err != nil {
		c.rollback()
		return 0, &errWrite{err}
	}
	return seq, nil
}

// upsert logs and applies a validated batch, then waits for the log fsync.
func (c *collection) upsert(pts []Point) (uint64, error) {
	ids := make([]uint64, len(pts))
	for i, p := range pts {
		ids[i] = p.ID
	}
	return c.write(opUpsert, encodeUpsert(nil, pts, c.meta.Dim), ids, func(seq uint64) { c.applyUpsert(pts, seq) })
}

func (c *collection) remove(ids []uint64) (int, uint64, error) {
	n := 0
	seq, err := c.write(opDelete, encodeDelete(nil, ids), ids, func(seq uint64) { n = c.applyDelete(ids, seq) })
	return n, seq, err
}

// afterWriteLocked starts a background rebuild or snapshot when due.
func (c *collection) afterWriteLocked() {
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
func (c *collection) rebuildInBackground(persist bool) {
	if err := c.rebuild(persist); err != nil && !errors.Is(err, errClosed) {
		c.log.Error("background rebuild failed; the changes stay in the log and are searched as recent writes", "persist", persist, "err", err)
	}
}

// rebuild merges the changes into a new snapshot, builds its searcher and
// swaps it in; with persist it also writes it to disk, rotating the log
// first, and removes the files it makes redundant.
func (c *collection) rebuild(persist bool) error {
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
		return errClosed
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
func (c *collection) persist(snap *snapshot, payloads map[uint64]map[string]any, seq uint64) error {
	vecs := snap.vecs
	path := filepath.Join(c.dir, snapName(seq, "idx"))
	if h, ok := snap.searcher.(*index.HNSW); ok {
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

// close persists nothing; it flushes and closes the log after any running
// rebuild.
func (c *collection) close() error {
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

func (c *collection) info() CollectionInfo {
	c.mu.RLock()
	in := CollectionInfo{Meta: c.meta, Count: c.count, Pending: len(c.dirty), Seq: c.seq, SnapshotSeq: c.snapSeq}
	in.MemoryBytes = int64(c.base.vecs.N()+len(c.dirty)) * int64(c.meta.Dim) * 4
	switch x := c.base.searcher.(type) {
	case *index.HNSW:
		in.IndexBytes = x.MemBytes()
	case *index.Quantized:
		in.IndexBytes = x.MemoryBytes()
	}
	c.mu.RUnlock()
	c.tuneMu.Lock()
	if t := c.tuned[c.opt.AutoRecall]; t != nil {
		p := t.TunedPlan
		in.AutoPlan = &p
	}
	c.tuneMu.Unlock()
	return in
}

func (c *collection) get(id uint64) (Point, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.lookup(id)
	if !ok {
		return Point{}, false
	}
	return Point{ID: id, Vector: slices.Clone(v), Payload: c.payloads[id]}, true
}

// scroll returns up to limit live points with ids above after (all ids
// when first), in increasing id order, and whether more follow. A point
// is added only while the page's estimated JSON size stays within
// maxBytes, but the first point always is, so paging always progresses.
func (c *collection) scroll(after uint64, first bool, limit int, withVector bool, maxBytes int) ([]Point, bool) {
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
		if start, found = slices.BinarySearch(base, after); found {
			start++
		}
	}
	// The changed ids above the cursor, sorted; deleted ones are skipped
	// below (a nil vector in dirty).
	var extra []uint64
	for id, e := range c.dirty {
		if (first || id > after) && e.vec != nil {
			if _, inBase := c.base.vecs.Lookup(id); !inBase {
				extra = append(extra, id)
			}
		}
	}
	slices.Sort(extra)
	// next is the smallest id not yet taken from base[i:] and extra[j:].
	i, j := start, 0
	next := func() (id uint64, fromBase, ok bool) {
		switch {
		case i < len(base) && (j >= len(extra) || base[i] < extra[j]):
			return base[i], true, true
		case j < len(extra):
			return extra[j], false, true
		}
		return 0, false, false
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
			n := 40 + payloadBytes(c.payloads[id])
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

// searchReq is a validated search of one query.
type searchReq struct {
	q      []float32
	dim, k int
	plan   index.Plan // nil: the base searcher
	filter map[string]any
}

func hitLess(a, b Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.ID, b.ID)
}

// search runs r under the read lock: the snapshot's searcher (or the plan's
// funnel) over-fetching by the number of its rows changed since, minus those
// rows, merged with an exact scan of the changes. With a filter it
// over-fetches more and falls back to an exact filtered scan when fewer than
// k hits pass.
func (c *collection) search(r searchReq, withPayload bool) ([]Hit, []StageTiming, error) {
	// The snapshot is immutable, so its scan (nearly all of a search's
	// time) runs without the lock, and writers need not wait for it; the
	// merge with the changes runs under the read lock, on the state of one
	// moment. If a rebuild swapped the snapshot meanwhile, or more of its
	// rows changed than the scan over-fetched for, the search runs again
	// with the lock held throughout.
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, nil, errClosed
	}
	base, inBase := c.base, c.inBase
	c.mu.RUnlock()
	hits, stages, ok, err := c.searchOn(r, withPayload, base, inBase, false)
	if !ok {
		hits, stages, _, err = c.searchOn(r, withPayload, nil, 0, true)
	}
	return hits, stages, err
}

// searchOn runs r on base, over-fetching for inBase changed rows, then
// takes the read lock to merge. With locked, it takes the lock first and
// reads base and inBase under it. ok is false when the state changed in
// a way the unlocked scan cannot serve (see search).
func (c *collection) searchOn(r searchReq, withPayload bool, base *snapshot, inBase int, locked bool) ([]Hit, []StageTiming, bool, error) {
	if locked {
		c.mu.RLock()
		defer c.mu.RUnlock()
		if c.closed {
			return nil, nil, true, errClosed
		}
		base, inBase = c.base, c.inBase
	}
	n := base.vecs.N()
	need := r.k + inBase
	if r.filter != nil {
		need = 4*r.k + inBase
	}
	need = min(need, n)
	var stages []StageTiming
	var raw []index.Hit
	var err error
	t0 := time.Now()
	if r.plan != nil && r.dim <= r.plan[0].Dim {
		// The funnel would run only its first stage, at dim: search the
		// base at dim directly (an HNSW graph finer than dim cannot).
		r.plan = nil
	}
	if r.plan != nil {
		f, ferr := base.funnel(r.plan)
		if ferr != nil {
			return nil, nil, true, ferr
		}
		var st []index.StageStat
		raw, st, err = f.SearchStats(r.q, r.dim, need, nil, nil)
		for i, s := range st {
			name := "rerank"
			if i == 0 {
				name = "scan"
			}
			stages = append(stages, StageTiming{Stage: name, Dim: s.Dim, In: s.In, Out: s.Out, ElapsedUS: us(s.Elapsed)})
		}
	} else {
		raw, err = base.searcherFor(r.dim).Search(r.q, r.dim, need, nil)
		stages = append(stages, StageTiming{Stage: "scan", Dim: r.dim, In: n, Out: len(raw), ElapsedUS: us(time.Since(t0))})
	}
	if err != nil {
		return nil, nil, true, err
	}
	if !locked {
		c.mu.RLock()
		defer c.mu.RUnlock()
		if c.closed {
			return nil, nil, true, errClosed
		}
		if c.base != base || c.inBase > inBase {
			return nil, nil, false, nil
		}
	}
	hits := make([]Hit, 0, len(raw)+len(c.dirty))
	for _, h := range raw {
		if _, ok := c.dirty[h.ID]; ok {
			continue
		}
		if r.filter != nil && !matches(c.payloads[h.ID], r.filter) {
			continue
		}
		hits = append(hits, Hit{ID: h.ID, Score: h.Score})
	}
	t1 := time.Now()
	nd := 0
	for id, e := range c.dirty {
		if e.vec == nil || r.filter != nil && !matches(c.payloads[id], r.filter) {
			continue
		}
		nd++
		hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, e.vec, r.q, r.dim)})
	}
	if len(c.dirty) > 0 {
		stages = append(stages, StageTiming{Stage: "delta", Dim: r.dim, In: nd, Out: nd, ElapsedUS: us(time.Since(t1))})
	}
	if r.filter != nil && len(hits) < r.k && need < n {
		// Too few passed: score every matching row exactly.
		t2 := time.Now()
		hits = hits[:0]
		for i := range n {
			id := base.vecs.ID(i)
			if _, ok := c.dirty[id]; ok || !matches(c.payloads[id], r.filter) {
				continue
			}
			hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, base.vecs.Row(i), r.q, r.dim)})
		}
		in := len(hits)
		for id, e := range c.dirty {
			if e.vec != nil && matches(c.payloads[id], r.filter) {
				hits = append(hits, Hit{ID: id, Score: index.Score(c.metric, e.vec, r.q, r.dim)})
			}
		}
		stages = append(stages, StageTiming{Stage: "filter_scan", Dim: r.dim, In: in, Out: len(hits), ElapsedUS: us(time.Since(t2))})
	}
	for i := range hits {
		hits[i].Score = finite(hits[i].Score)
	}
	slices.SortFunc(hits, hitLess)
	if len(hits) > r.k {
		hits = hits[:r.k]
	}
	if withPayload {
		for i := range hits {
			hits[i].Payload = c.payloads[hits[i].ID]
		}
	}
	return hits, stages, true, nil
}

// finite clamps a score to the float32 range, NaN to the lowest, so that a
// vector stored before the norm checks (checkNorm) cannot make every search
// that meets it fail to encode.
func finite(x float32) float32 {
	switch {
	case math.IsNaN(float64(x)) || math.IsInf(float64(x), -1):
		return -math.MaxFloat32
	case math.IsInf(float64(x), 1):
		return math.MaxFloat32
	}
	return x
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// autoPlan returns the tuned plan for target recall on the current
// snapshot, tuning (outside the collection lock) when there is none or the
// snapshot's size changed by more than a fifth since. It returns nil when
// the snapshot is smaller than TuneMinRows: exact search is then cheap.
func (c *collection) autoPlan(target float64) (*tunedPlan, error) {
	c.mu.RLock()
	base := c.base
	c.mu.RUnlock()
	n := base.vecs.N()
	if n < c.opt.TuneMinRows || n < 2 {
		return nil, nil
	}
	c.tuneMu.Lock()
	defer c.tuneMu.Unlock()
	if t, ok := c.tuned[target]; ok && math.Abs(float64(t.Rows-n)) <= 0.2*float64(t.Rows) {
		return t, nil
	}
	d := c.meta.Dim
	nq := min(100, n)
	rng := rand.New(rand.NewPCG(uint64(n), 0x6d726c))
	calib := make([]float32, nq*d)
	for i := range nq {
		row := base.vecs.Row(rng.IntN(n))
		var ss float64
		for _, x := range row {
			ss += float64(x) * float64(x)
		}
		sigma := 0.05 * math.Sqrt(ss/float64(d))
		for j, x := range row {
			calib[i*d+j] = x + float32(sigma*rng.NormFloat64())
		}
	}
	var dims []int
	for _, m := range c.meta.Nesting {
		if m < d {
			dims = append(dims, m)
		}
	}
	if len(dims) == 0 {
		return nil, nil
	}
	res, err := index.Tune(base.vecs, nil, calib, nq, index.TuneOptions{K: 10, TargetRecall: target, Dims: dims})
	if err != nil && !errors.Is(err, index.ErrNoPlan) {
		return nil, err
	}
	t := &tunedPlan{TunedPlan: api.TunedPlan{Plan: res.Plan.String(), Target: target, Recall: res.Recall, Rows: n, Met: err == nil}, plan: res.Plan}
	if len(c.tuned) >= 16 {
		clear(c.tuned)
	}
	c.tuned[target] = t
	c.log.Info("tuned plan", "plan", t.Plan, "target", target, "recall", t.Recall, "rows", n)
	return t, nil
}
