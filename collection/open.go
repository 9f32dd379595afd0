package collection

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gomrl/mrl/index"
)

// errMeta reports a meta.json that is missing or unreadable.
var errMeta = errors.New("meta.json")

// openCollection loads meta.json and the newest complete snapshot, replays
// the log after it (cutting a torn final record) and opens the log for
// appends. Any other damage is ErrCorrupt, or with opt.Recover is moved to
// the quarantine folder under dataDir (see recovery.go).
func openCollection(dir, dataDir string, opt Options) (*Collection, error) {
	metaPath := filepath.Join(dir, "meta.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMeta, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	if err := CheckMeta(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	metric, err := metaMetric(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	spec, err := indexSpec(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errMeta, metaPath, corruptf("%v", err))
	}
	c := &Collection{meta: m, dir: dir, dataDir: dataDir, metric: metric, spec: spec, log: opt.Logger.With("collection", m.Name), opt: opt,
		dirty: map[PointID]dirtyEntry{}, payloads: map[PointID]map[string]any{}, tuned: map[float64]*TunedPlan{}}
	if err := removeTemps(dir, c.log); err != nil {
		return nil, err
	}
	q := newQuarantine(dataDir, m.Name, c.log)

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
			if _, _, err := rowIDs(v); err != nil {
				return nil, corruptf("snapshot %d: %v", orphan, err)
			}
			side := snapshotSidecar{Format: sidecarFormat, Seq: orphan, Rows: v.N()}
			if v.Named() {
				side.Format = sidecarFormatUUID
			}
			if err := writeSidecar(filepath.Join(dir, snapName(orphan, "json")), side); err != nil {
				return nil, err
			}
			c.log.Error("recovered the vectors of a snapshot whose side file was lost; its payloads are lost", "snapshot", orphan, "rows", v.N())
			vecs, graph, c.payloads = v, h, map[PointID]map[string]any{}
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

// replayLogs applies the records after c.seq from the log files that start
// at firsts (sorted; the first holds record c.seq+1). Only a torn final
// record of the last file is cut; other damage is ErrCorrupt, or with
// Recover the damaged file keeps its valid records (the whole file goes to
// the quarantine) and the later files go to the quarantine. It leaves in
// c.logs the files kept.
func (c *Collection) replayLogs(firsts []uint64, q *quarantine) error {
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
func (c *Collection) quarantineLogs(q *quarantine, firsts []uint64, why string) error {
	for _, f := range firsts {
		if err := q.move(filepath.Join(c.dir, walName(f)), why); err != nil {
			return err
		}
	}
	return nil
}

func (c *Collection) replay(seq uint64, op byte, body []byte) error {
	switch op {
	case opUpsert, opUpsertIDs:
		pts, err := decodeUpsert(op, body, c.meta.Dim)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		c.applyUpsert(pts, seq)
	case opDelete, opDeleteIDs:
		ids, err := decodeDelete(op, body)
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
