package collection

import (
	"fmt"
	"slices"
	"strings"
)

// Filters select points by their payload. A filter is a JSON object whose
// entries must all hold:
//
//	"field": value                  the payload's field equals value (a string, number or boolean)
//	"field": {"in": [v1, v2, ...]}  it equals one of the values
//	"field": {"ne": value}          it is present and differs from value
//	"field": {"gt": x, "lte": y}    it is a number in the range (any of gt, gte, lt, lte)
//	"$and": [filter, ...]           every filter holds
//	"$or": [filter, ...]            at least one filter holds
//	"$not": filter                  the filter does not hold
//
// A point without the field fails every condition on it ("$not" of such a
// condition holds). Operators are validated once (ValidateFilter, which
// Search calls); matches then only interprets.

// maxFilterDepth bounds the nesting of "$and", "$or" and "$not".
const maxFilterDepth = 16

var rangeOps = []string{"gt", "gte", "lt", "lte"}

// ValidateFilter reports (as ErrInvalid) the first problem of filter f,
// naming its place from path (e.g. "filter"), or nil.
func ValidateFilter(path string, f map[string]any) error { return validateFilter(path, f, 0) }

func validateFilter(path string, f map[string]any, depth int) error {
	if depth > maxFilterDepth {
		return invalidf("%s: nested more than %d levels deep", path, maxFilterDepth)
	}
	if len(f) == 0 {
		return invalidf("%s: empty object: want at least one condition", path)
	}
	for k, v := range f {
		at := path + "." + k
		switch k {
		case "$and", "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return invalidf("%s: want a non-empty array of filters, got %s", at, kindOf(v))
			}
			for i, e := range list {
				sub, ok := e.(map[string]any)
				if !ok {
					return invalidf("%s[%d]: want a filter object, got %s", at, i, kindOf(e))
				}
				if err := validateFilter(fmt.Sprintf("%s[%d]", at, i), sub, depth+1); err != nil {
					return err
				}
			}
			continue
		case "$not":
			sub, ok := v.(map[string]any)
			if !ok {
				return invalidf("%s: want a filter object, got %s", at, kindOf(v))
			}
			if err := validateFilter(at, sub, depth+1); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(k, "$") {
			return invalidf("%s: unknown operator: want $and, $or or $not", at)
		}
		switch v := v.(type) {
		case string, float64, bool:
		case nil:
			return invalidf("%s: null is not allowed (use {\"$not\": {...}} or omit the field)", at)
		case map[string]any:
			if err := validateCondition(at, v); err != nil {
				return err
			}
		default:
			return invalidf("%s: want a string, number, boolean or a condition object, got %s", at, kindOf(v))
		}
	}
	return nil
}

// validateCondition checks a field's condition object.
func validateCondition(at string, c map[string]any) error {
	if len(c) == 0 {
		return invalidf("%s: empty condition: want in, ne, gt, gte, lt or lte", at)
	}
	for op, v := range c {
		switch {
		case op == "in":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return invalidf("%s.in: want a non-empty array of values, got %s", at, kindOf(v))
			}
			for i, e := range list {
				if !isScalar(e) {
					return invalidf("%s.in[%d]: want a string, number or boolean, got %s", at, i, kindOf(e))
				}
			}
		case op == "ne":
			if !isScalar(v) {
				return invalidf("%s.ne: want a string, number or boolean, got %s", at, kindOf(v))
			}
		case slices.Contains(rangeOps, op):
			if _, ok := v.(float64); !ok {
				return invalidf("%s.%s: want a number, got %s", at, op, kindOf(v))
			}
		default:
			return invalidf("%s: unknown condition %q: want in, ne, gt, gte, lt or lte", at, op)
		}
	}
	return nil
}

// isScalar reports whether a decoded JSON value is a payload scalar: a
// string, number or boolean.
func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

// Matches reports whether payload p satisfies filter, which
// ValidateFilter accepted: the filter semantics of the store's searches,
// for other backends to check their own against.
func Matches(p, filter map[string]any) bool { return matches(p, filter) }

// matches reports whether payload p satisfies the (validated) filter.
func matches(p, filter map[string]any) bool {
	for k, want := range filter {
		switch k {
		case "$and":
			for _, e := range want.([]any) {
				if !matches(p, e.(map[string]any)) {
					return false
				}
			}
			continue
		case "$or":
			hit := false
			for _, e := range want.([]any) {
				if matches(p, e.(map[string]any)) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
			continue
		case "$not":
			if matches(p, want.(map[string]any)) {
				return false
			}
			continue
		}
		got, ok := p[k]
		if !ok {
			return false
		}
		c, isCond := want.(map[string]any)
		if !isCond {
			if got != want {
				return false
			}
			continue
		}
		if !holds(got, c) {
			return false
		}
	}
	return true
}

// holds reports whether a payload value satisfies a condition object.
func holds(got any, c map[string]any) bool {
	for op, v := range c {
		switch op {
		case "in":
			if !slices.Contains(v.([]any), got) {
				return false
			}
		case "ne":
			if got == v {
				return false
			}
		default:
			x, ok := got.(float64)
			if !ok {
				return false
			}
			b := v.(float64)
			switch op {
			case "gt":
				ok = x > b
			case "gte":
				ok = x >= b
			case "lt":
				ok = x < b
			case "lte":
				ok = x <= b
			}
			if !ok {
				return false
			}
		}
	}
	return true
}
