package collection

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFilterMatches(t *testing.T) {
	p := map[string]any{"lang": "en", "year": 2022.0, "draft": false}
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{`{"lang": "en"}`, true},
		{`{"lang": "fr"}`, false},
		{`{"lang": "en", "year": 2022}`, true},
		{`{"missing": "x"}`, false},
		{`{"lang": {"in": ["fr", "en"]}}`, true},
		{`{"lang": {"in": ["fr", "de"]}}`, false},
		{`{"lang": {"ne": "fr"}}`, true},
		{`{"lang": {"ne": "en"}}`, false},
		{`{"missing": {"ne": "en"}}`, false},
		{`{"year": {"gte": 2022, "lt": 2023}}`, true},
		{`{"year": {"gt": 2022}}`, false},
		{`{"year": {"lte": 2021}}`, false},
		{`{"lang": {"gt": 1}}`, false}, // a string is in no numeric range
		{`{"$or": [{"lang": "fr"}, {"year": 2022}]}`, true},
		{`{"$or": [{"lang": "fr"}, {"year": 2021}]}`, false},
		{`{"$and": [{"lang": "en"}, {"draft": false}]}`, true},
		{`{"$not": {"lang": "en"}}`, false},
		{`{"$not": {"missing": 1}}`, true},
		{`{"lang": "en", "$not": {"year": {"lt": 2000}}, "$or": [{"draft": true}, {"year": {"in": [2022, 2023]}}]}`, true},
	} {
		var f map[string]any
		if err := json.Unmarshal([]byte(c.filter), &f); err != nil {
			t.Fatal(err)
		}
		if err := validateFilter("filter", f, 0); err != nil {
			t.Fatalf("validateFilter(%s) = %v", c.filter, err)
		}
		if got := matches(p, f); got != c.want {
			t.Errorf("matches(%v, %s) = %v, want %v", p, c.filter, got, c.want)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	deep := `{"lang": "en"}`
	for range maxFilterDepth + 1 {
		deep = `{"$not": ` + deep + `}`
	}
	for _, c := range []struct{ filter, want string }{
		{`{}`, "filter: empty object"},
		{`{"a": null}`, "filter.a: null is not allowed"},
		{`{"a": [1]}`, "filter.a: want a string, number, boolean or a condition object, got an array"},
		{`{"a": {}}`, "filter.a: empty condition"},
		{`{"a": {"between": [1, 2]}}`, `filter.a: unknown condition "between"`},
		{`{"a": {"gt": "x"}}`, "filter.a.gt: want a number, got string"},
		{`{"a": {"in": []}}`, "filter.a.in: want a non-empty array"},
		{`{"a": {"in": [{"b": 1}]}}`, "filter.a.in[0]: want a string, number or boolean, got an object"},
		{`{"a": {"ne": [1]}}`, "filter.a.ne: want a string, number or boolean"},
		{`{"$xor": []}`, "filter.$xor: unknown operator"},
		{`{"$or": []}`, "filter.$or: want a non-empty array of filters"},
		{`{"$or": [1]}`, "filter.$or[0]: want a filter object"},
		{`{"$and": [{"a": {"gt": "x"}}]}`, "filter.$and[0].a.gt: want a number"},
		{`{"$not": [1]}`, "filter.$not: want a filter object, got an array"},
		{deep, "nested more than"},
	} {
		var f map[string]any
		if err := json.Unmarshal([]byte(c.filter), &f); err != nil {
			t.Fatal(err)
		}
		err := validateFilter("filter", f, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("validateFilter(%s) = %v, want an error containing %q", c.filter, err, c.want)
		}
	}
}
