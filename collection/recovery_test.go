package collection

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recoveryOps are the acknowledged writes of TestRecovery, one log record
// each: a []Point upserted or a []uint64 deleted; a snapshot is taken after
// the first recoverySnap of them.
func recoveryOps() []any {
	var ops []any
	for b := 1; b <= 12; b++ {
		if b%4 == 0 {
			ops = append(ops, []uint64{uint64(10*(b-1) + 1)})
			continue
		}
		var pts []Point
		for i := range 3 {
			pts = append(pts, Point{ID: iid(uint64(10*b + i)), Vector: []float32{float32(b), float32(i), 1, 2},
				Payload: map[string]any{"tag": fmt.Sprintf("batch-%d", b)}})
		}
		ops = append(ops, pts)
	}
	return ops
}

// applyOps applies recoveryOps to collection c.
func applyOps(t *testing.T, c *Collection, ops []any, snapAt int) {
	t.Helper()
	for i, op := range ops {
		if i == snapAt {
			if err := c.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		switch op := op.(type) {
		case []Point:
			_, err = c.Upsert(op)
		case []uint64:
			_, _, err = c.Delete(intIDs(op...))
		}
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

const recoverySnap = 6

// recoveryState is the state after the first n ops.
func recoveryState(ops []any, n int) map[uint64]Point {
	st := map[uint64]Point{}
	num := func(id PointID) uint64 { n, _ := id.Uint64(); return n }
	for _, op := range ops[:n] {
		switch op := op.(type) {
		case []Point:
			for _, p := range op {
				st[num(p.ID)] = p
			}
		case []uint64:
			for _, id := range op {
				delete(st, id)
			}
		}
	}
	return st
}

// recordOffsets returns the offset of every record in a log file.
func recordOffsets(data []byte) []int {
	var offs []int
	for off := 0; off+walHeader <= len(data); off += walHeader + int(binary.LittleEndian.Uint32(data[off:])) {
		offs = append(offs, off)
	}
	return offs
}

// listFiles returns the names of the regular files under dir, relative.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, rel)
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// TestRecovery damages a closed store's data directory in every way the
// issue lists and checks the outcome: only a torn final record is cut
// silently; everything else refuses to start with a message naming the
// file, or with Recover moves the damaged files to the quarantine (never
// deleting) and serves exactly what precedes the damage.
func TestRecovery(t *testing.T) {
	ops := recoveryOps()
	n := len(ops)
	// Log file after the snapshot, and the files of the snapshot.
	wal := walName(recoverySnap + 1)
	idx, side := snapName(recoverySnap, "idx"), snapName(recoverySnap, "json")
	flip := func(name string, at func(t *testing.T, b []byte) int) func(t *testing.T, cdir string) {
		return func(t *testing.T, cdir string) {
			p := filepath.Join(cdir, name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[at(t, b)] ^= 0x10
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// record k (0-based) of the log after the snapshot, byte off in it.
	inRecord := func(k, off int) func(t *testing.T, b []byte) int {
		return func(t *testing.T, b []byte) int { return recordOffsets(b)[k] + off }
	}
	remove := func(name string) func(t *testing.T, cdir string) {
		return func(t *testing.T, cdir string) {
			if err := os.Remove(filepath.Join(cdir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	type outcome struct {
		refuse     []string // substrings of New's error; nil: it starts
		ops        int      // the state after this many ops is served
		noPayloads bool     // the snapshot's payloads are gone (its side file was lost)
		gone       bool     // the collection is gone (quarantined whole)
		quarantine []string // files that must be in the quarantine
	}
	lastRec := n - recoverySnap - 1
	for _, tt := range []struct {
		name    string
		damage  func(t *testing.T, cdir string)
		recover bool
		want    outcome
	}{
		{"intact", func(*testing.T, string) {}, false, outcome{ops: n}},
		{"torn final record: short", func(t *testing.T, cdir string) {
			p := filepath.Join(cdir, wal)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-5)
		}, false, outcome{ops: n - 1}},
		{"torn final record: checksum", flip(wal, inRecord(lastRec, walHeader+3)), false, outcome{ops: n - 1}},
		{"torn final record: length", flip(wal, inRecord(lastRec, 1)), false, outcome{ops: n - 1}},
		{"orphaned temporary files", func(t *testing.T, cdir string) {
			os.WriteFile(filepath.Join(cdir, "."+snapName(99, "idx")+".tmp123"), make([]byte, 1000), 0o644)
			os.WriteFile(filepath.Join(cdir, "."+snapName(99, "json")+".tmp7"), nil, 0o644)
		}, false, outcome{ops: n}},
		{"interrupted snapshot: index file without side file", func(t *testing.T, cdir string) {
			b, _ := os.ReadFile(filepath.Join(cdir, idx))
			os.WriteFile(filepath.Join(cdir, snapName(recoverySnap+2, "idx")), b, 0o644)
		}, false, outcome{ops: n}},

		{"flipped byte in a middle record", flip(wal, inRecord(2, walHeader+12)), false,
			outcome{refuse: []string{wal, "offset", "checksum mismatch", "followed by a valid record", "--recover"}}},
		{"flipped checksum of the first record", flip(wal, inRecord(0, 4)), false,
			outcome{refuse: []string{wal, "at offset 0", "checksum mismatch", "--recover"}}},
		{"flipped length of a middle record", flip(wal, inRecord(1, 2)), false,
			outcome{refuse: []string{wal, "offset", "followed by a valid record"}}},
		{"sequence gap", func(t *testing.T, cdir string) {
			p := filepath.Join(cdir, wal)
			b, _ := os.ReadFile(p)
			offs := recordOffsets(b)
			os.WriteFile(p, append(b[:offs[2]:offs[2]], b[offs[3]:]...), 0o644)
		}, false, outcome{refuse: []string{wal, "sequence break", "record 10 after 8"}}},
		{"snapshot side file deleted", remove(side), false, outcome{refuse: []string{"no log file starts at record 1", side, "--recover"}}},
		{"snapshot index file deleted", remove(idx), false, outcome{refuse: []string{side, idx, "missing"}}},
		{"snapshot index file flipped", flip(idx, func(_ *testing.T, b []byte) int { return len(b) / 2 }), false,
			outcome{refuse: []string{idx, "snapshot 6"}}},
		{"payload byte flipped in the side file", flip(side, func(t *testing.T, b []byte) int {
			i := bytes.Index(b, []byte("batch-"))
			if i < 0 {
				t.Fatal("no payload in the side file")
			}
			return i + 1
		}), false, outcome{refuse: []string{side, "checksum mismatch"}}},
		{"log after the snapshot deleted", remove(wal), false, outcome{refuse: []string{"no log file holds record 7", wal}}},
		{"meta.json deleted", remove("meta.json"), false, outcome{refuse: []string{"meta.json is missing", "--recover"}}},

		{"recover: flipped byte in a middle record", flip(wal, inRecord(2, walHeader+12)), true,
			outcome{ops: recoverySnap + 2, quarantine: []string{wal}}},
		{"recover: sequence gap", func(t *testing.T, cdir string) {
			p := filepath.Join(cdir, wal)
			b, _ := os.ReadFile(p)
			offs := recordOffsets(b)
			os.WriteFile(p, append(b[:offs[2]:offs[2]], b[offs[3]:]...), 0o644)
		}, true, outcome{ops: recoverySnap + 2, quarantine: []string{wal}}},
		{"recover: snapshot side file deleted", remove(side), true, outcome{ops: n, noPayloads: true}},
		{"recover: snapshot index file flipped", flip(idx, func(_ *testing.T, b []byte) int { return len(b) / 2 }), true,
			outcome{ops: 0, quarantine: []string{idx, side, wal}}},
		{"recover: meta.json deleted", remove("meta.json"), true, outcome{gone: true, quarantine: []string{idx, side, wal}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{SnapshotEvery: -1, RebuildMin: 1 << 20})
			applyOps(t, mustCreate(t, s, Meta{Name: "c", Dim: 4, Metric: "l2"}), ops, recoverySnap)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			cdir := filepath.Join(dir, "collections", "c")
			before := listFiles(t, cdir)
			if !slices.Contains(before, wal) || !slices.Contains(before, idx) || !slices.Contains(before, side) {
				t.Fatalf("files %v, want %s, %s and %s", before, wal, idx, side)
			}
			tt.damage(t, cdir)

			s2, err := Open(dir, Options{Recover: tt.recover, Logger: quietLogger()})
			if tt.want.refuse != nil {
				if err == nil {
					s2.Close()
					t.Fatal("Open succeeded, want a refusal")
				}
				t.Log(err)
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("Open error %v is not ErrCorrupt", err)
				}
				for _, sub := range tt.want.refuse {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("Open error %q does not contain %q", err, sub)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "quarantine")); err == nil {
					t.Errorf("a refusal made a quarantine folder")
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s2.Close()
			if left, _ := filepath.Glob(filepath.Join(cdir, ".*tmp*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			var qfiles []string
			for _, f := range listFiles(t, filepath.Join(dir, "quarantine")) {
				qfiles = append(qfiles, filepath.Base(f))
			}
			for _, f := range tt.want.quarantine {
				if !slices.Contains(qfiles, f) {
					t.Errorf("quarantine holds %v, want %s", qfiles, f)
				}
			}
			if tt.want.gone {
				if _, ok := s2.Collection("c"); ok {
					t.Fatal("collection c is open, want it gone")
				}
				return
			}
			want := recoveryState(ops, tt.want.ops)
			c := mustGet(t, s2, "c")
			if info := c.Info(); info.Count != len(want) {
				t.Errorf("count %d, want %d", info.Count, len(want))
			}
			all := map[PointID]Point{}
			for _, op := range ops {
				if u, ok := op.([]Point); ok {
					for _, p := range u {
						all[p.ID] = p
					}
				}
			}
			for pid := range all {
				id, _ := pid.Uint64()
				got, present := c.Get(pid)
				p, ok := want[id]
				if !ok {
					if present {
						t.Errorf("point %d = %+v, want absent", id, got)
					}
					continue
				}
				if !present {
					t.Errorf("point %d absent", id)
					continue
				}
				if !slices.Equal(got.Vector, p.Vector) {
					t.Errorf("point %d = %v, want %v", id, got.Vector, p.Vector)
				}
				if _, inSnap := recoveryState(ops, recoverySnap)[id]; tt.want.noPayloads && inSnap {
					continue
				}
				if got.Payload["tag"] != p.Payload["tag"] {
					t.Errorf("point %d payload %v, want %v", id, got.Payload, p.Payload)
				}
			}
			// The recovered directory opens again without Recover, and
			// takes writes.
			mustUpsert(t, s2, "c", Point{ID: iid(999), Vector: []float32{1, 1, 1, 1}})
			s2.Close()
			s3, err := Open(dir, Options{Logger: quietLogger()})
			if err != nil {
				t.Fatalf("restart after recovery: %v", err)
			}
			defer s3.Close()
			if info := mustGet(t, s3, "c").Info(); info.Count != len(want)+1 {
				t.Errorf("count after restart %d, want %d", info.Count, len(want)+1)
			}
		})
	}
}

// TestRecoveryLogFiles covers damage across several log files (after
// rotations whose snapshots were lost or not yet written): a missing
// middle file, a bad record in a file that later files follow, and a file
// whose records do not start at its name; with Recover the damaged file
// keeps its valid records and the later files go to the quarantine.
func TestRecoveryLogFiles(t *testing.T) {
	up := func(id uint64) []byte {
		_, b := encodeUpsert(nil, []Point{{ID: iid(id), Vector: []float32{float32(id)}}}, 1)
		return b
	}
	files := map[uint64][]byte{
		1: appendRecord(appendRecord(nil, 1, opUpsert, up(1)), 2, opUpsert, up(2)),
		3: appendRecord(appendRecord(nil, 3, opUpsert, up(3)), 4, opUpsert, up(4)),
		5: appendRecord(nil, 5, opUpsert, up(5)),
	}
	for _, tt := range []struct {
		name    string
		damage  func(files map[uint64][]byte)
		recover bool
		refuse  []string // nil: starts
		count   int
		moved   []string
	}{
		{"intact", func(map[uint64][]byte) {}, false, nil, 5, nil},
		{"missing middle file", func(f map[uint64][]byte) { delete(f, 3) }, false, []string{walName(5), "starts at record 5 but the records before it end at 2"}, 0, nil},
		{"empty middle file", func(f map[uint64][]byte) { f[3] = nil }, false, []string{walName(5), "starts at record 5 but the records before it end at 2"}, 0, nil},
		{"bad record in an earlier file", func(f map[uint64][]byte) { f[3][len(f[3])-1] ^= 1 }, false, []string{walName(3), "checksum mismatch", "followed by 1 later log files"}, 0, nil},
		{"torn end of an earlier file", func(f map[uint64][]byte) { f[3] = f[3][:len(f[3])-2] }, false, []string{walName(3), "followed by 1 later log files"}, 0, nil},
		{"records not starting at the name", func(f map[uint64][]byte) { f[5] = appendRecord(nil, 6, opUpsert, up(6)) }, false, []string{walName(5), "record 6 after 4"}, 0, nil},
		{"recover: missing middle file", func(f map[uint64][]byte) { delete(f, 3) }, true, nil, 2, []string{walName(5)}},
		{"recover: bad record in an earlier file", func(f map[uint64][]byte) { f[3][len(f[3])-1] ^= 1 }, true, nil, 3, []string{walName(3), walName(5)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cdir := filepath.Join(dir, "collections", "k")
			if err := os.MkdirAll(cdir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeJSONFile(filepath.Join(cdir, "meta.json"), Meta{Name: "k", Dim: 1, Metric: "l2"})
			fs := map[uint64][]byte{}
			for k, v := range files {
				fs[k] = slices.Clone(v)
			}
			tt.damage(fs)
			for first, b := range fs {
				os.WriteFile(filepath.Join(cdir, walName(first)), b, 0o644)
			}
			s, err := Open(dir, Options{Recover: tt.recover, Logger: quietLogger()})
			if tt.refuse != nil {
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded, want a refusal")
				}
				for _, sub := range tt.refuse {
					if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), sub) {
						t.Errorf("Open error %q, want ErrCorrupt containing %q", err, sub)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			info := mustGet(t, s, "k").Info()
			if info.Count != tt.count || info.Seq != uint64(tt.count) {
				t.Errorf("count %d seq %d, want %d and %d", info.Count, info.Seq, tt.count, tt.count)
			}
			var moved []string
			for _, f := range listFiles(t, filepath.Join(dir, "quarantine")) {
				moved = append(moved, filepath.Base(f))
			}
			if !slices.Equal(moved, tt.moved) {
				t.Errorf("quarantine holds %v, want %v", moved, tt.moved)
			}
			mustUpsert(t, s, "k", Point{ID: iid(99), Vector: []float32{9}})
			s.Close()
			s2, err := Open(dir, Options{Logger: quietLogger()})
			if err != nil {
				t.Fatalf("restart after recovery: %v", err)
			}
			defer s2.Close()
			if info := mustGet(t, s2, "k").Info(); info.Count != tt.count+1 {
				t.Errorf("count after restart %d, want %d", info.Count, tt.count+1)
			}
		})
	}
}

// TestSidecarFormats: the side file round-trips with its checksum, a side
// file written before the checksum (the bare body) is still read, and a
// newer format or a flipped byte is refused.
func TestSidecarFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	want := snapshotSidecar{Seq: 9, Rows: 2, Payloads: map[string]map[string]any{"4": {"tag": "<x> & y", "n": 1.5}}}
	if err := writeSidecar(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readSidecar(path)
	if err != nil || got.Seq != 9 || got.Rows != 2 || got.Payloads["4"]["tag"] != "<x> & y" || got.Payloads["4"]["n"] != 1.5 {
		t.Fatalf("readSidecar(writeSidecar(%+v)) = %+v, %v", want, got, err)
	}
	for _, tt := range []struct {
		name, body, err string
	}{
		{"legacy", `{"seq":9,"rows":2,"payloads":{"4":{"tag":"a"}}}`, ""},
		{"newer format", `{"format":4,"crc32c":0,"body":{}}`, "format 4"},
		{"bad checksum", `{"format":2,"crc32c":1,"body":{"seq":9,"rows":2,"payloads":{}}}`, "checksum mismatch"},
		{"not json", `garbage`, "not a snapshot side file"},
	} {
		os.WriteFile(path, []byte(tt.body), 0o644)
		got, err := readSidecar(path)
		if tt.err == "" {
			if err != nil || got.Seq != 9 || got.Payloads["4"]["tag"] != "a" {
				t.Errorf("%s: readSidecar = %+v, %v", tt.name, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: readSidecar error %v, want %q", tt.name, err, tt.err)
		}
	}
}
