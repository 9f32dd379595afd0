package api

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestParseID(t *testing.T) {
	const canon = "550e8400-e29b-41d4-a716-446655440000"
	for _, tt := range []struct {
		in, want string // want "": refused
	}{
		{"0", "0"}, {"42", "42"}, {"18446744073709551615", "18446744073709551615"},
		{"18446744073709551616", ""}, {"-1", ""}, {"1.5", ""}, {"1e3", ""}, {"+1", ""}, {" 1", ""}, {"", ""},
		{canon, canon}, {"550E8400-E29B-41D4-A716-446655440000", canon},
		{"550e8400e29b41d4a716446655440000", canon}, {"urn:uuid:550E8400-e29b-41d4-a716-446655440000", canon},
		{"URN:UUID:" + canon, canon}, {"{" + canon + "}", canon},
		{"{" + canon, ""}, {"urn:uuid:550e8400e29b41d4a716446655440000", ""}, {"550e8400-e29b-41d4-a716-44665544000g", ""},
		{"550e8400e-29b-41d4-a716-446655440000", ""}, {"550e8400-e29b-41d4-a716-4466554400000", ""}, {"doc-1", ""},
	} {
		got, err := ParseID(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseID(%q) = %v, want an error", tt.in, got)
		case tt.want == "" && !errors.Is(err, ErrID):
			t.Errorf("ParseID(%q) error %v, want ErrID", tt.in, err)
		case tt.want != "" && (err != nil || got.String() != tt.want):
			t.Errorf("ParseID(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestPointIDJSON(t *testing.T) {
	u := MustUUID("936DA01F9ABD4d9d80C702AF85C822A8")
	for _, tt := range []struct {
		id   PointID
		json string
	}{
		{IntID(0), `0`}, {IntID(1<<64 - 1), `18446744073709551615`}, {u, `"936da01f-9abd-4d9d-80c7-02af85c822a8"`},
	} {
		b, err := json.Marshal(tt.id)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.id, b, err, tt.json)
		}
		var back PointID
		if err := json.Unmarshal(b, &back); err != nil || back != tt.id {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back, err, tt.id)
		}
	}
	for _, in := range []string{`-1`, `1.5`, `1e3`, `18446744073709551616`, `"42"`, `""`, `"doc"`, `null`, `true`, `[1]`, `{}`} {
		var id PointID
		if err := json.Unmarshal([]byte(in), &id); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, id)
		}
	}
	// The zero value is the integer 0, as an absent id was before UUIDs.
	var p Point
	if err := json.Unmarshal([]byte(`{"vector":[1]}`), &p); err != nil || p.ID != IntID(0) {
		t.Errorf("absent id = %v, %v", p.ID, err)
	}
}

func TestPointIDOrder(t *testing.T) {
	ids := []PointID{
		MustUUID("ffffffff-ffff-ffff-ffff-ffffffffffff"), IntID(1<<64 - 1), MustUUID("00000000-0000-0000-0000-000000000000"),
		IntID(0), MustUUID("00000000-0000-0001-0000-000000000000"), IntID(2), MustUUID("00000000-0000-0000-ffff-ffffffffffff"),
	}
	slices.SortFunc(ids, PointID.Compare)
	var got []string
	for _, id := range ids {
		got = append(got, id.String())
	}
	want := []string{"0", "2", "18446744073709551615", "00000000-0000-0000-0000-000000000000",
		"00000000-0000-0000-ffff-ffffffffffff", "00000000-0000-0001-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if _, ok := IntID(5).UUIDBytes(); ok {
		t.Error("an integer id has UUID bytes")
	}
	if n, ok := MustUUID(want[3]).Uint64(); ok || n != 0 {
		t.Error("a UUID has an integer")
	}
}

// FuzzParseID: ids come from URLs and JSON; whatever parses prints back
// in canonical form, which parses to the same id, and JSON round-trips.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0", "18446744073709551615", "550e8400-e29b-41d4-a716-446655440000", "{550E8400-E29B-41D4-A716-446655440000}", "urn:uuid:936DA01F-9ABD-4d9d-80C7-02AF85C822A8", "936DA01F9ABD4d9d80C702AF85C822A8", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		back, err := ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v, whose text parses to %v, %v", s, id, back, err)
		}
		b, _ := json.Marshal(id)
		var j PointID
		if err := json.Unmarshal(b, &j); err != nil || j != id {
			t.Fatalf("JSON of %v: %s -> %v, %v", id, b, j, err)
		}
		var fromJSON PointID
		q, _ := json.Marshal(s)
		if err := json.Unmarshal(q, &fromJSON); id.IsUUID() && (err != nil || fromJSON != id) {
			t.Fatalf("the string %s in JSON = %v, %v; want %v", q, fromJSON, err, id)
		}
	})
}
