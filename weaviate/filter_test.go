package weaviate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomrl/mrl/collection"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
)

// eval evaluates a condition tree on a payload as Weaviate would, given
// the property values; notEqualMissing is what NotEqual gives for a
// missing property (Weaviate's choice, which the mapping must not rely on).
func eval(c *cond, props map[string]any, notEqualMissing bool) bool {
	switch c.op {
	case "":
		return c.truth
	case filters.And:
		for _, k := range c.kids {
			if !eval(k, props, notEqualMissing) {
				return false
			}
		}
		return true
	case filters.Or:
		for _, k := range c.kids {
			if eval(k, props, notEqualMissing) {
				return true
			}
		}
		return false
	}
	got, ok := props[c.prop]
	if c.op == filters.IsNull {
		return !ok == c.value.(bool)
	}
	if !ok {
		return c.op == filters.NotEqual && notEqualMissing
	}
	switch c.op {
	case filters.Equal:
		return got == c.value
	case filters.NotEqual:
		return got != c.value
	}
	x, y := got.(float64), c.value.(float64) // the builder sends ranges only to number fields
	switch c.op {
	case filters.GreaterThan:
		return x > y
	case filters.GreaterThanEqual:
		return x >= y
	case filters.LessThan:
		return x < y
	case filters.LessThanEqual:
		return x <= y
	}
	panic("unknown operator " + c.op)
}

// The fields of the random payloads: one type each, as a Weaviate
// collection keeps them; "gone" is a field no point has.
var testFields = map[string]func(r *rand.Rand) any{
	"n":      func(r *rand.Rand) any { return float64(r.IntN(5)) },
	"s":      func(r *rand.Rand) any { return []string{"a", "b", "c d"}[r.IntN(3)] },
	"b":      func(r *rand.Rand) any { return r.IntN(2) == 0 },
	"odd-k.": func(r *rand.Rand) any { return float64(r.IntN(3)) },
}

func randomValue(r *rand.Rand) any {
	switch r.IntN(4) {
	case 0:
		return float64(r.IntN(5))
	case 1:
		return []string{"a", "b", "c d", "zz"}[r.IntN(4)]
	case 2:
		return r.IntN(2) == 0
	}
	return float64(r.IntN(5)) - 0.5
}

func randomFilter(r *rand.Rand, depth int) map[string]any {
	f := map[string]any{}
	for range 1 + r.IntN(2) {
		switch x := r.IntN(10); {
		case x == 0 && depth < 3:
			f["$and"] = []any{randomFilter(r, depth+1), randomFilter(r, depth+1)}
		case x == 1 && depth < 3:
			f["$or"] = []any{randomFilter(r, depth+1), randomFilter(r, depth+1)}
		case x == 2 && depth < 3:
			f["$not"] = randomFilter(r, depth+1)
		default:
			field := []string{"n", "s", "b", "odd-k.", "gone"}[r.IntN(5)]
			switch r.IntN(5) {
			case 0:
				f[field] = randomValue(r)
			case 1:
				f[field] = map[string]any{"in": []any{randomValue(r), randomValue(r)}}
			case 2:
				f[field] = map[string]any{"ne": randomValue(r)}
			case 3:
				ops := []string{"gt", "gte", "lt", "lte"}
				f[field] = map[string]any{ops[r.IntN(4)]: float64(r.IntN(5)) - 0.5*float64(r.IntN(2))}
			default:
				f[field] = map[string]any{"gte": float64(r.IntN(3)), "lt": float64(2 + r.IntN(3))}
			}
		}
	}
	return f
}

// TestFilterMappingAgreesWithServer checks, on random filters and
// payloads, that the Weaviate condition tree selects exactly the points
// the server's filter semantics select, whatever Weaviate's NotEqual does
// with a missing property.
func TestFilterMappingAgreesWithServer(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	types := map[string]string{}
	for k, gen := range testFields {
		p, err := PropertyName(k)
		if err != nil {
			t.Fatal(err)
		}
		types[p], _ = dataType(gen(r))
	}
	var payloads []map[string]any
	for range 60 {
		p := map[string]any{}
		for k, gen := range testFields {
			if r.IntN(10) < 7 {
				p[k] = gen(r)
			}
		}
		payloads = append(payloads, p)
	}
	for i := range 2000 {
		f := randomFilter(r, 0)
		c, err := filterBuilder{types: types}.translate("filter", f, 0, false)
		if err != nil {
			t.Fatalf("filter %d %v: %v", i, f, err)
		}
		for _, p := range payloads {
			props := map[string]any{}
			for k, v := range p {
				name, _ := PropertyName(k)
				props[name] = v
			}
			want := collection.Matches(p, f)
			for _, nem := range []bool{false, true} {
				if got := eval(c, props, nem); got != want {
					fj, _ := json.Marshal(f)
					pj, _ := json.Marshal(p)
					t.Fatalf("filter %s on payload %s: mapped %s gives %v (NotEqual on missing = %v), server semantics %v", fj, pj, c, got, nem, want)
				}
			}
		}
	}
}

func TestFilterMapping(t *testing.T) {
	types := map[string]string{"p_n": "number", "p_s": "text", "p_b": "boolean"}
	tests := []struct {
		filter string
		want   string
	}{
		{`{"n": 3}`, `Equal(p_n, 3)`},
		{`{"s": "x"}`, `Equal(p_s, "x")`},
		{`{"n": "x"}`, `false`},
		{`{"gone": 1}`, `false`},
		{`{"$not": {"gone": 1}}`, `true`},
		{`{"n": {"in": [1, 2, "x"]}}`, `Or(Equal(p_n, 1), Equal(p_n, 2))`},
		{`{"n": {"ne": 1}}`, `And(IsNull(p_n, false), NotEqual(p_n, 1))`},
		{`{"n": {"gt": 1, "lte": 4}}`, `And(GreaterThan(p_n, 1), LessThanEqual(p_n, 4))`},
		{`{"$not": {"n": {"gt": 1}}}`, `Or(IsNull(p_n, true), LessThanEqual(p_n, 1))`},
		{`{"$not": {"n": 1, "b": true}}`, `Or(IsNull(p_b, true), NotEqual(p_b, true), IsNull(p_n, true), NotEqual(p_n, 1))`},
		{`{"$or": [{"n": 1}, {"s": 2}]}`, `Equal(p_n, 1)`},
		{`{"$and": [{"n": 1}, {"$not": {"s": "a"}}]}`, `And(Equal(p_n, 1), Or(IsNull(p_s, true), NotEqual(p_s, "a")))`},
		{`{"s": {"gt": 1}}`, `false`},
		{`{"s": {"ne": 1}}`, `IsNull(p_s, false)`},
		{`{"$not": {"s": {"ne": 1}}}`, `IsNull(p_s, true)`},
		{`{"gone": {"ne": 1}}`, `false`},
	}
	for _, tt := range tests {
		var f map[string]any
		if err := json.Unmarshal([]byte(tt.filter), &f); err != nil {
			t.Fatal(err)
		}
		c, err := filterBuilder{types: types}.translate("filter", f, 0, false)
		if err != nil {
			t.Errorf("translate(%s): %v", tt.filter, err)
			continue
		}
		if got := c.String(); got != tt.want {
			t.Errorf("translate(%s) = %s, want %s", tt.filter, got, tt.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	deep := `{"n": 1}`
	for range maxFilterDepth + 1 {
		deep = `{"$not": ` + deep + `}`
	}
	tests := []struct{ filter, want string }{
		{`{}`, "empty object"},
		{`{"$xor": []}`, "unknown operator"},
		{`{"$and": []}`, "non-empty array"},
		{`{"$and": [1]}`, "want a filter object"},
		{`{"$not": 1}`, "want a filter object"},
		{`{"n": null}`, "null is not allowed"},
		{`{"n": [1]}`, "condition object"},
		{`{"n": {}}`, "empty condition"},
		{`{"n": {"in": []}}`, "non-empty array"},
		{`{"n": {"in": [[1]]}}`, "in[0]"},
		{`{"n": {"ne": {}}}`, "ne: want a string"},
		{`{"n": {"gt": "x"}}`, "gt: want a number"},
		{`{"n": {"like": 1}}`, `unknown condition "like"`},
		{deep, "nested more than"},
	}
	for _, tt := range tests {
		var f map[string]any
		if err := json.Unmarshal([]byte(tt.filter), &f); err != nil {
			t.Fatal(err)
		}
		_, err := filterBuilder{}.translate("filter", f, 0, false)
		if !errors.Is(err, ErrFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("translate(%s) = %v, want ErrFilter containing %q", tt.filter, err, tt.want)
		}
	}
}

// TestWhereBuilds checks the client filter built from a tree: operators,
// paths and typed values, in the REST form the client sends.
func TestWhereBuilds(t *testing.T) {
	c := and(&cond{op: filters.Equal, prop: "p_s", value: "x"}, or(&cond{op: filters.IsNull, prop: "p_n", value: true}, &cond{op: filters.LessThan, prop: "p_n", value: 2.5}))
	got, err := json.Marshal(c.where().Build())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"operands":[{"operands":null,"operator":"Equal","path":["p_s"],"valueText":"x"},{"operands":[{"operands":null,"operator":"IsNull","path":["p_n"],"valueBoolean":true},{"operands":null,"operator":"LessThan","path":["p_n"],"valueNumber":2.5}],"operator":"Or","path":null}],"operator":"And","path":null}`
	if string(got) != want {
		t.Errorf("where = %s\nwant    %s", got, want)
	}
	ids, _ := json.Marshal(idsFilter([]string{UUID(1), UUID(1 << 40)}).Build())
	if w := fmt.Sprintf(`{"operands":null,"operator":"ContainsAny","path":["_id"],"valueTextArray":[%q,%q]}`, UUID(1), UUID(1<<40)); string(ids) != w {
		t.Errorf("idsFilter = %s, want %s", ids, w)
	}
}
