package collection

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/server/api"
)

// FuzzUpsertRecord: the log record encoding round-trips every batch that
// Upsert accepts (checkPoints), ids, vectors and payloads.
func FuzzUpsertRecord(f *testing.F) {
	for _, s := range []string{
		`[{"id":1,"vector":[1,2,3],"payload":{"a":"b","n":1,"t":true}}]`,
		`[{"id":18446744073709551615,"vector":[1e18,-1e-45,0]}]`,
		`[{"id":1,"vector":[1,2]}]`, `[]`, `[{"id":1,"vector":[1,2,3],"payload":{"a":{}}}]`,
		`[{"id":"550e8400-e29b-41d4-a716-446655440000","vector":[1,2,3]},{"id":7,"vector":[0,0,0],"payload":{"a":"b"}}]`,
		`[{"id":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF","vector":[1,2,3]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pts []Point
		if json.Unmarshal(b, &pts) != nil || checkPoints(pts, 3, mrl.L2) != nil {
			return
		}
		op, body := encodeUpsert(nil, pts, 3)
		if want := allInts(pts, func(p Point) PointID { return p.ID }); want != (op == opUpsert) {
			t.Fatalf("op %d for %+v: integer ids only = %v, want op %d exactly then", op, pts, want, opUpsert)
		}
		got, err := decodeUpsert(op, body, 3)
		if err != nil || len(got) != len(pts) {
			t.Fatalf("record round trip of %+v: %v %v", pts, got, err)
		}
		for i, p := range pts {
			if got[i].ID != p.ID || !slices.Equal(got[i].Vector, p.Vector) || len(got[i].Payload) != len(p.Payload) {
				t.Fatalf("record round trip: point %d = %+v, want %+v", i, got[i], p)
			}
			for k, v := range p.Payload {
				if got[i].Payload[k] != v {
					t.Fatalf("record round trip: point %d payload %v, want %v", i, got[i].Payload, p.Payload)
				}
			}
		}
	})
}

// FuzzLogRecords: recovery reads log files as outside bytes: readRecords,
// the record decoders and validAfter must never panic, and readRecords'
// valid prefix must re-read without error.
func FuzzLogRecords(f *testing.F) {
	var b []byte
	u := api.MustUUID("550e8400-e29b-41d4-a716-446655440000")
	add := func(seq uint64, op byte, body []byte) { b = appendRecord(b, seq, op, body) }
	op, body := encodeUpsert(nil, []Point{{ID: iid(3), Vector: []float32{1, 2}, Payload: map[string]any{"a": "b"}}}, 2)
	add(1, op, body)
	op, body = encodeDelete(nil, intIDs(3, 4))
	add(2, op, body)
	op, body = encodeUpsert(nil, []Point{{ID: u, Vector: []float32{1, 2}}, {ID: iid(5), Vector: []float32{3, 4}}}, 2)
	add(3, op, body)
	op, body = encodeDelete(nil, []PointID{iid(5), u})
	add(4, op, body)
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(seq uint64, op byte, body []byte) error {
			switch op {
			case opUpsert, opUpsertIDs:
				_, err := decodeUpsert(op, body, 2)
				return err
			case opDelete, opDeleteIDs:
				_, err := decodeDelete(op, body)
				return err
			}
			return fmt.Errorf("unknown op %d", op)
		}
		valid, last, err := readRecords(b, 0, decode)
		if valid < 0 || valid > len(b) || (err == nil) != (valid == len(b)) {
			t.Fatalf("readRecords: valid %d of %d, err %v", valid, len(b), err)
		}
		if _, _, err := readRecords(b[:valid], 0, decode); err != nil {
			t.Fatalf("the valid prefix of %d bytes: %v", valid, err)
		}
		validAfter(b, valid, last)
	})
}

// FuzzReadSidecar: a snapshot side file is read from disk; readSidecar
// must never panic, and a file it writes must read back.
func FuzzReadSidecar(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := writeSidecar(good, snapshotSidecar{Seq: 7, Rows: 2, Payloads: map[string]map[string]any{"1": {"a": "<b>"}}}); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add([]byte(`{"seq":7,"rows":2,"payloads":{}}`))
	f.Add([]byte(`{"format":2,"crc32c":0,"body":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		readSidecar(p)
	})
}

// FuzzIDRecords: the bodies of records with typed ids (opUpsertIDs,
// opDeleteIDs) are outside bytes; their decoders must never panic, and
// whatever they accept must encode back to a body that decodes to the
// same ids and vectors.
func FuzzIDRecords(f *testing.F) {
	u := api.MustUUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	_, up := encodeUpsert(nil, []Point{{ID: u, Vector: []float32{1, 2}, Payload: map[string]any{"k": 1.0}}, {ID: iid(1 << 40), Vector: []float32{0, -1}}}, 2)
	_, del := encodeDelete(nil, []PointID{u, iid(9)})
	for _, s := range [][]byte{up, del, up[:len(up)-1], del[:9], {1, 0, 0, 0, 2}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if pts, err := decodeUpsert(opUpsertIDs, b, 2); err == nil {
			op, body := encodeUpsert(nil, pts, 2)
			got, err := decodeUpsert(op, body, 2)
			if err != nil || len(got) != len(pts) {
				t.Fatalf("upsert re-encoding: %v %v", got, err)
			}
			for i := range pts {
				if got[i].ID != pts[i].ID || !slices.Equal(got[i].Vector, pts[i].Vector) && !hasNaN(pts[i].Vector) {
					t.Fatalf("upsert re-encoding: point %d = %+v, want %+v", i, got[i], pts[i])
				}
			}
		}
		if ids, err := decodeDelete(opDeleteIDs, b); err == nil {
			got, err := decodeDelete(encodeDelete(nil, ids))
			if err != nil || !slices.Equal(got, ids) {
				t.Fatalf("delete re-encoding: %v %v, want %v", got, err, ids)
			}
		}
	})
}

func hasNaN(v []float32) bool {
	for _, x := range v {
		if x != x {
			return true
		}
	}
	return false
}
