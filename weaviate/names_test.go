package weaviate

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomrl/mrl/server/api"
)

func TestUUIDRoundTrip(t *testing.T) {
	for _, id := range []uint64{0, 1, 255, 1 << 32, 1<<53 + 1, math.MaxUint64} {
		u := UUID(id)
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(u) {
			t.Errorf("UUID(%d) = %q: not in the 8-4-4-4-12 form", id, u)
		}
		got, err := IDOf(u)
		if err != nil || got != id {
			t.Errorf("IDOf(UUID(%d)) = %d, %v", id, got, err)
		}
		if up, err := IDOf(strings.ToUpper(u)); err != nil || up != id {
			t.Errorf("IDOf(upper-case UUID(%d)) = %d, %v", id, up, err)
		}
	}
	if UUID(1) >= UUID(2) || UUID(255) >= UUID(256) || UUID(1<<40) >= UUID(1<<41) {
		t.Error("UUIDs do not sort as their ids")
	}
	for _, bad := range []string{"", "00000000-0000-0000-0000-000000000001", uuidPrefix + "0000-00000000000g", uuidPrefix + "00000000000000000", uuidPrefix + "0000-0000000000000"} {
		if _, err := IDOf(bad); err == nil {
			t.Errorf("IDOf(%q) = nil error, want one", bad)
		}
	}
}

func TestPropertyName(t *testing.T) {
	valid := regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)
	for _, tt := range []struct{ key, want string }{
		{"color", "p_color"},
		{"snake_case", "p_snake__case"},
		{"a-b.c", "p_a_2db_2ec"},
		{"é", "p__c3_a9"},
		{"_", "p___"},
	} {
		got, err := PropertyName(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("PropertyName(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
		if !valid.MatchString(got) {
			t.Errorf("PropertyName(%q) = %q is not a valid Weaviate property name", tt.key, got)
		}
		if back, ok := KeyOf(got); !ok || back != tt.key {
			t.Errorf("KeyOf(%q) = %q, %v; want %q", got, back, ok, tt.key)
		}
	}
	if _, err := PropertyName(""); !errors.Is(err, ErrPayload) {
		t.Errorf("PropertyName(\"\") = %v, want ErrPayload", err)
	}
	if _, err := PropertyName(strings.Repeat("-", 100)); !errors.Is(err, ErrPayload) {
		t.Errorf("PropertyName of a 300-byte escape = %v, want ErrPayload", err)
	}
	for _, foreign := range []string{IDProperty, "p_", "color", "p_a_2", "p_a_zz", "p_a_41", "p_a_2D", "p_a-b"} {
		if k, ok := KeyOf(foreign); ok {
			t.Errorf("KeyOf(%q) = %q, true; want false (PropertyName never makes it)", foreign, k)
		}
	}
}

func TestParseAddrs(t *testing.T) {
	as, err := ParseAddrs("127.0.0.1:8080/50051, localhost:9000,[::1]:7/8")
	if err != nil {
		t.Fatal(err)
	}
	want := Addrs{{"127.0.0.1", 8080, 50051}, {"localhost", 9000, DefaultGRPCPort}, {"::1", 7, 8}}
	if len(as) != len(want) {
		t.Fatalf("ParseAddrs = %v, want %v", as, want)
	}
	for i := range want {
		if as[i] != want[i] {
			t.Errorf("addr %d = %+v, want %+v", i, as[i], want[i])
		}
	}
	if back, err := ParseAddrs(as.String()); err != nil || back.String() != as.String() {
		t.Errorf("ParseAddrs(%q) = %v, %v", as.String(), back, err)
	}
	_, err = ParseAddrs("x, h:0, h:1/99999, :80")
	for _, w := range []string{`"x"`, `HTTP port "0"`, `gRPC port "99999"`, `":80"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("ParseAddrs error %v does not mention %s", err, w)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{Consistency: "TWO", Timeout: -time.Second, BatchSize: 20000}.Validate()
	for _, w := range []string{"addrs", "consistency", "timeout", "batch size"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate = %v, want it to mention %s", err, w)
		}
	}
	if err := (Options{Addrs: Addrs{{"h", 1, 2}}}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, s := range []string{"one", "Quorum", "ALL"} {
		var c Consistency
		if err := c.UnmarshalText([]byte(s)); err != nil || !strings.EqualFold(string(c), s) {
			t.Errorf("Consistency.UnmarshalText(%q) = %q, %v", s, c, err)
		}
	}
}

// The decoders of outside text: what the cluster returns (UUIDs,
// property names) and what users type (addresses).

func FuzzIDOf(f *testing.F) {
	f.Add(UUID(42))
	f.Add("6d726c00-0000-0000-ffff-ffffffffffff")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := IDOf(s)
		if err != nil {
			return
		}
		if u := UUID(id); !strings.EqualFold(u, s) {
			t.Fatalf("IDOf(%q) = %d but UUID(%d) = %q", s, id, id, u)
		}
	})
}

func TestObjectID(t *testing.T) {
	for _, id := range []api.PointID{api.IntID(0), api.IntID(1 << 63), api.MustUUID("550e8400-e29b-41d4-a716-446655440000"),
		api.MustUUID("6d726c00-0000-4000-8000-000000000000"), api.MustUUID("ffffffff-ffff-4fff-bfff-ffffffffffff")} {
		oid, err := ObjectID(id)
		if err != nil {
			t.Fatalf("ObjectID(%v): %v", id, err)
		}
		back, err := PointIDOf(oid)
		if err != nil || back != id {
			t.Errorf("PointIDOf(ObjectID(%v) = %s) = %v, %v", id, oid, back, err)
		}
	}
	if oid, _ := ObjectID(api.IntID(5)); oid != UUID(5) {
		t.Errorf("ObjectID(5) = %s, want UUID(5) = %s", oid, UUID(5))
	}
	reserved := api.MustUUID(UUID(5))
	if _, err := ObjectID(reserved); !errors.Is(err, ErrPayload) {
		t.Errorf("ObjectID(UUID id %v, in the integers' namespace) = %v, want ErrPayload", reserved, err)
	}
	if _, err := PointIDOf("not-a-uuid"); err == nil {
		t.Error("PointIDOf(not-a-uuid) = nil error")
	}
}

func FuzzPointIDOf(f *testing.F) {
	f.Add(UUID(42))
	f.Add("550e8400-e29b-41d4-a716-446655440000")
	f.Add("550E8400E29B41D4A716446655440000")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := PointIDOf(s)
		if err != nil {
			return
		}
		oid, err := ObjectID(id)
		if err != nil {
			t.Fatalf("PointIDOf(%q) = %v, which ObjectID refuses: %v", s, id, err)
		}
		if back, err := PointIDOf(oid); err != nil || back != id {
			t.Fatalf("PointIDOf(%q) = %v, ObjectID = %s, read back as %v, %v", s, id, oid, back, err)
		}
	})
}

func FuzzKeyOf(f *testing.F) {
	f.Add("p_color")
	f.Add("p_a_2db")
	f.Add("p___")
	f.Fuzz(func(t *testing.T, s string) {
		k, ok := KeyOf(s)
		if !ok {
			return
		}
		if p, err := PropertyName(k); err != nil && len(s) <= maxPropName || err == nil && p != s {
			t.Fatalf("KeyOf(%q) = %q but PropertyName(%q) = %q, %v", s, k, k, p, err)
		}
	})
}

func FuzzPropertyName(f *testing.F) {
	f.Add("color")
	f.Add("a_b-c")
	f.Fuzz(func(t *testing.T, k string) {
		p, err := PropertyName(k)
		if err != nil {
			return
		}
		if back, ok := KeyOf(p); !ok || back != k {
			t.Fatalf("KeyOf(PropertyName(%q) = %q) = %q, %v", k, p, back, ok)
		}
	})
}

func FuzzParseAddrs(f *testing.F) {
	f.Add("127.0.0.1:8080/50051,h:1")
	f.Add("[::1]:1/2")
	f.Fuzz(func(t *testing.T, s string) {
		as, err := ParseAddrs(s)
		if err != nil {
			return
		}
		back, err := ParseAddrs(as.String())
		if err != nil || back.String() != as.String() {
			t.Fatalf("ParseAddrs(%q) = %v; its String %q parses to %v, %v", s, as, as.String(), back, err)
		}
	})
}
