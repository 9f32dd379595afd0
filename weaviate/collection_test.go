package weaviate

import (
	"errors"
	"math"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/server/api"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/grpc/common"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestCheckPoints(t *testing.T) {
	c := &Collection{name: "t", layout: Layout{Dim: 4, Metric: mrl.Cosine, Prefixes: []int{2}}.WithDefaults()}
	good := []api.Point{
		{ID: api.IntID(1), Vector: []float32{1, 2, 3, 4}, Payload: map[string]any{"a": "x", "n-1": 2.0, "ok": true}},
		{ID: api.IntID(2), Vector: []float32{1, 0, 0, 0}},
		{ID: api.MustUUID("550E8400-E29B-41D4-A716-446655440000"), Vector: []float32{0, 1, 0, 0}, Payload: map[string]any{"a": "u"}},
	}
	props, need, _, err := c.checkPoints(good)
	if err != nil {
		t.Fatal(err)
	}
	if props[0]["p_a"] != "x" || props[0]["p_n_2d1"] != 2.0 || props[0][IDProperty] != int64(1) || len(props[1]) != 1 || len(props[2]) != 1 || props[2]["p_a"] != "u" {
		t.Errorf("properties = %v", props)
	}
	if need["p_a"] != "text" || need["p_n_2d1"] != "number" || need["p_ok"] != "boolean" {
		t.Errorf("types = %v", need)
	}
	obj := c.object(good[0], props[0])
	if len(obj.Vectors) != 2 || len(obj.Vectors["p2"].([]float32)) != 2 || len(obj.Vectors[FullVector].([]float32)) != 4 || obj.ID.String() != UUID(1) {
		t.Errorf("object = %+v", obj)
	}
	if u := c.object(good[2], props[2]); u.ID.String() != "550e8400-e29b-41d4-a716-446655440000" {
		t.Errorf("object of a UUID id has id %s, want the UUID (lower case)", u.ID)
	}
	bad := []api.Point{
		{ID: api.IntID(3), Vector: []float32{1, 2}},
		{ID: api.IntID(4), Vector: []float32{1, float32(math.NaN()), 0, 0}},
		{ID: api.IntID(5), Vector: []float32{1, 0, 0, 0}, Payload: map[string]any{"a": 1.0}},
		{ID: api.IntID(6), Vector: []float32{1, 0, 0, 0}, Payload: map[string]any{"arr": []any{1.0}}},
		{ID: api.IntID(7), Vector: []float32{1, 0, 0, 0}, Payload: map[string]any{"a": "y"}},
		{ID: api.MustUUID("6d726c00-0000-0000-0000-000000000009"), Vector: []float32{1, 0, 0, 0}},
	}
	_, _, _, err = c.checkPoints(bad)
	if !errors.Is(err, ErrPayload) {
		t.Fatalf("checkPoints(bad) = %v, want ErrPayload", err)
	}
	for _, want := range []string{"id 3): vector of 2 floats, want 4", "id 4): vector[1] = NaN", `id 6): payload field "arr" is an array`, `payload field "a" is text, point 5 has number`,
		"id 6d726c00-0000-0000-0000-000000000009): weaviate: invalid payload: UUID id 6d726c00-0000-0000-0000-000000000009: the UUIDs 6d726c00-0000-0000-… are the object ids of integer ids"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("checkPoints error %q does not mention %q", err, want)
		}
	}
}

func TestPayloadOf(t *testing.T) {
	got := payloadOf(map[string]any{
		"p_a": "x", "p_n": 2.5, "p_b": false, "p_i": int64(3),
		"p_gone": structpb.NullValue_NULL_VALUE, "p_nil": nil,
		IDProperty: 7.0, "foreign": "y",
	})
	want := map[string]any{"a": "x", "n": 2.5, "b": false, "i": 3.0}
	if len(got) != len(want) {
		t.Fatalf("payloadOf = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("payloadOf[%q] = %v, want %v", k, got[k], v)
		}
	}
	if payloadOf(map[string]any{IDProperty: 1.0}) != nil {
		t.Error("payloadOf of the id alone should be nil (no payload)")
	}
}

// num is the integer of an integer id.
func num(id api.PointID) uint64 {
	n, _ := id.Uint64()
	return n
}

// TestDecodeFP32 checks the decoder of gRPC vector bytes against the
// client library's encoder (common.GetVector, byteops), for lengths 0, 1,
// 15, 17 and special values, and its refusal of a wrong length.
func TestDecodeFP32(t *testing.T) {
	for _, n := range []int{0, 1, 15, 17, 512} {
		want := make([]float32, n)
		for i := range want {
			want[i] = float32(i)*0.37 - 3
		}
		if n > 2 {
			want[0], want[1], want[2] = float32(math.Inf(-1)), -0.0, math.MaxFloat32
		}
		b := common.GetVector("", want).GetVectorBytes()
		got := make([]float32, n)
		if err := decodeFP32(got, b); err != nil {
			t.Fatalf("decodeFP32(%d floats): %v", n, err)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("decodeFP32(%d floats)[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
		if err := decodeFP32(make([]float32, n+1), b); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("decodeFP32 into %d floats of %d bytes = %v, want a length error", n+1, len(b), err)
		}
	}
}

// FuzzDecodeFP32: any bytes either decode (a multiple of 4) bit-exactly,
// as math.Float32frombits of each little-endian word, or are refused.
func FuzzDecodeFP32(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 128, 63})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		dst := make([]float32, len(b)/4)
		err := decodeFP32(dst, b)
		if len(b)%4 != 0 {
			if err == nil {
				t.Fatalf("decodeFP32 of %d bytes: no error", len(b))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range dst {
			w := uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
			if math.Float32bits(x) != w {
				t.Fatalf("word %d: %08x, want %08x", i, math.Float32bits(x), w)
			}
		}
	})
}

func TestConsistencyPB(t *testing.T) {
	for _, tc := range []struct {
		c    Consistency
		want string
	}{{One, "CONSISTENCY_LEVEL_ONE"}, {Quorum, "CONSISTENCY_LEVEL_QUORUM"}, {All, "CONSISTENCY_LEVEL_ALL"}} {
		if got := consistencyPB(tc.c); got == nil || got.String() != tc.want {
			t.Errorf("consistencyPB(%s) = %v, want %s", tc.c, got, tc.want)
		}
	}
	if got := consistencyPB(""); got != nil {
		t.Errorf("consistencyPB(\"\") = %v, want nil (the server's default)", got)
	}
}
