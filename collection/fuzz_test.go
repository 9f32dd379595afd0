package collection

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	mrl "github.com/gomrl/mrl"
)

// FuzzUpsertRecord: the log record encoding round-trips every batch that
// Upsert accepts (checkPoints), ids, vectors and payloads.
func FuzzUpsertRecord(f *testing.F) {
	for _, s := range []string{
		`[{"id":1,"vector":[1,2,3],"payload":{"a":"b","n":1,"t":true}}]`,
		`[{"id":18446744073709551615,"vector":[1e18,-1e-45,0]}]`,
		`[{"id":1,"vector":[1,2]}]`, `[]`, `[{"id":1,"vector":[1,2,3],"payload":{"a":{}}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pts []Point
		if json.Unmarshal(b, &pts) != nil || checkPoints(pts, 3, mrl.L2) != nil {
			return
		}
		got, err := decodeUpsert(encodeUpsert(nil, pts, 3), 3)
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
	b = appendRecord(b, 1, opUpsert, encodeUpsert(nil, []Point{{ID: 3, Vector: []float32{1, 2}, Payload: map[string]any{"a": "b"}}}, 2))
	b = appendRecord(b, 2, opDelete, encodeDelete(nil, []uint64{3, 4}))
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(seq uint64, op byte, body []byte) error {
			if op == opUpsert {
				decodeUpsert(body, 2)
			} else {
				decodeDelete(body)
			}
			return nil
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
