package weaviate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
)

// Filters are the server's payload filters (see mrl serve's API): a JSON
// object whose entries must all hold,
//
//	"field": value                  the field equals value (a string, number or boolean)
//	"field": {"in": [v1, v2, ...]}  it equals one of the values
//	"field": {"ne": value}          it is present and differs from value
//	"field": {"gt": x, "lte": y}    it is a number in the range (any of gt, gte, lt, lte)
//	"$and": [filter, ...]           every filter holds
//	"$or": [filter, ...]            at least one filter holds
//	"$not": filter                  the filter does not hold
//
// A point without the field fails every condition on it ("$not" of such a
// condition holds). They map to Weaviate filters on the fields' properties
// (see PropertyName) as follows, with the negations pushed down to the
// conditions so that a missing field behaves as above:
//
//	equals v        Equal v
//	in [...]        Or of Equal
//	ne v            And(IsNull false, NotEqual v)
//	gt/gte/lt/lte   GreaterThan/GreaterThanEqual/LessThan/LessThanEqual
//	not (field op)  Or(IsNull true, the opposite operator)
//
// A condition that cannot hold, on a field no point has or with a value
// of another type than the field's (a string against a number field), is
// false ("ne" of another type holds for every point with the field) and folded away before the filter is sent; a filter that is
// false as a whole matches nothing and is not sent at all. IsNull needs
// the collection's null state index, which Create turns on.

// maxFilterDepth bounds the nesting of "$and", "$or" and "$not", as the
// server does.
const maxFilterDepth = 16

// cond is a filter in negation normal form over properties: a leaf (op
// on prop with value), an And or Or of kids, or a constant.
type cond struct {
	op    filters.WhereOperator // And, Or, or a leaf operator; "" for a constant
	prop  string
	value any // string, float64 or bool; for IsNull a bool
	kids  []*cond
	truth bool // the constant's value when op == ""
}

var (
	condTrue  = &cond{truth: true}
	condFalse = &cond{truth: false}
)

func (c *cond) isConst(v bool) bool { return c.op == "" && c.truth == v }

// String writes c in a compact prefix form for tests and errors.
func (c *cond) String() string {
	switch c.op {
	case "":
		return fmt.Sprint(c.truth)
	case filters.And, filters.Or:
		parts := make([]string, len(c.kids))
		for i, k := range c.kids {
			parts[i] = k.String()
		}
		return string(c.op) + "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%s(%s, %#v)", c.op, c.prop, c.value)
}

// and folds constants: false if any kid is, the kids that are not true.
func and(kids ...*cond) *cond {
	var out []*cond
	for _, k := range kids {
		switch {
		case k.isConst(false):
			return condFalse
		case k.isConst(true):
		case k.op == filters.And:
			out = append(out, k.kids...)
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return condTrue
	case 1:
		return out[0]
	}
	return &cond{op: filters.And, kids: out}
}

// or folds constants: true if any kid is, the kids that are not false.
func or(kids ...*cond) *cond {
	var out []*cond
	for _, k := range kids {
		switch {
		case k.isConst(true):
			return condTrue
		case k.isConst(false):
		case k.op == filters.Or:
			out = append(out, k.kids...)
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return condFalse
	case 1:
		return out[0]
	}
	return &cond{op: filters.Or, kids: out}
}

// opposite is the operator holding exactly when op does not, for a
// present value of the right type.
var opposite = map[filters.WhereOperator]filters.WhereOperator{
	filters.Equal:            filters.NotEqual,
	filters.NotEqual:         filters.Equal,
	filters.GreaterThan:      filters.LessThanEqual,
	filters.GreaterThanEqual: filters.LessThan,
	filters.LessThan:         filters.GreaterThanEqual,
	filters.LessThanEqual:    filters.GreaterThan,
}

var rangeOps = map[string]filters.WhereOperator{
	"gt": filters.GreaterThan, "gte": filters.GreaterThanEqual,
	"lt": filters.LessThan, "lte": filters.LessThanEqual,
}

// filterBuilder translates one filter against the collection's property
// types (property name -> "text", "number" or "boolean").
type filterBuilder struct {
	types map[string]string
}

// translate validates f and returns its condition tree; neg translates
// "not f".
func (b filterBuilder) translate(path string, f map[string]any, depth int, neg bool) (*cond, error) {
	if depth > maxFilterDepth {
		return nil, fmt.Errorf("%w: %s: nested more than %d levels deep", ErrFilter, path, maxFilterDepth)
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: %s: empty object: want at least one condition", ErrFilter, path)
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a deterministic tree for a given filter
	var parts []*cond
	for _, k := range keys {
		v := f[k]
		at := path + "." + k
		var c *cond
		var err error
		switch k {
		case "$and", "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("%w: %s: want a non-empty array of filters, got %s", ErrFilter, at, kindOf(v))
			}
			var kids []*cond
			for i, e := range list {
				sub, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%w: %s[%d]: want a filter object, got %s", ErrFilter, at, i, kindOf(e))
				}
				kc, err := b.translate(fmt.Sprintf("%s[%d]", at, i), sub, depth+1, neg)
				if err != nil {
					return nil, err
				}
				kids = append(kids, kc)
			}
			// not(and) = or(not), not(or) = and(not)
			if (k == "$and") != neg {
				c = and(kids...)
			} else {
				c = or(kids...)
			}
		case "$not":
			sub, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: %s: want a filter object, got %s", ErrFilter, at, kindOf(v))
			}
			c, err = b.translate(at, sub, depth+1, !neg)
		default:
			if strings.HasPrefix(k, "$") {
				return nil, fmt.Errorf("%w: %s: unknown operator: want $and, $or or $not", ErrFilter, at)
			}
			c, err = b.field(at, k, v, neg)
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, c)
	}
	// The entries of an object all hold: not(a and b) = not a or not b.
	if neg {
		return or(parts...), nil
	}
	return and(parts...), nil
}

// field translates the entry "key": v.
func (b filterBuilder) field(at, key string, v any, neg bool) (*cond, error) {
	prop, err := PropertyName(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFilter, at, err)
	}
	typ := b.types[prop]
	switch v := v.(type) {
	case string, float64, bool:
		return b.leaf(prop, typ, filters.Equal, v, neg), nil
	case nil:
		return nil, fmt.Errorf("%w: %s: null is not allowed (use {\"$not\": {...}} or omit the field)", ErrFilter, at)
	case map[string]any:
		if len(v) == 0 {
			return nil, fmt.Errorf("%w: %s: empty condition: want in, ne, gt, gte, lt or lte", ErrFilter, at)
		}
		ops := make([]string, 0, len(v))
		for op := range v {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		var parts []*cond
		for _, op := range ops {
			x := v[op]
			switch {
			case op == "in":
				list, ok := x.([]any)
				if !ok || len(list) == 0 {
					return nil, fmt.Errorf("%w: %s.in: want a non-empty array of values, got %s", ErrFilter, at, kindOf(x))
				}
				var alts []*cond
				for i, e := range list {
					if _, ok := dataType(e); !ok {
						return nil, fmt.Errorf("%w: %s.in[%d]: want a string, number or boolean, got %s", ErrFilter, at, i, kindOf(e))
					}
					alts = append(alts, b.leaf(prop, typ, filters.Equal, e, neg))
				}
				if neg {
					parts = append(parts, and(alts...))
				} else {
					parts = append(parts, or(alts...))
				}
			case op == "ne":
				if _, ok := dataType(x); !ok {
					return nil, fmt.Errorf("%w: %s.ne: want a string, number or boolean, got %s", ErrFilter, at, kindOf(x))
				}
				parts = append(parts, b.leaf(prop, typ, filters.NotEqual, x, neg))
			case rangeOps[op] != "":
				if _, ok := x.(float64); !ok {
					return nil, fmt.Errorf("%w: %s.%s: want a number, got %s", ErrFilter, at, op, kindOf(x))
				}
				parts = append(parts, b.leaf(prop, typ, rangeOps[op], x, neg))
			default:
				return nil, fmt.Errorf("%w: %s: unknown condition %q: want in, ne, gt, gte, lt or lte", ErrFilter, at, op)
			}
		}
		if neg {
			return or(parts...), nil
		}
		return and(parts...), nil
	}
	return nil, fmt.Errorf("%w: %s: want a string, number, boolean or a condition object, got %s", ErrFilter, at, kindOf(v))
}

// leaf is "the field is present and (value op x)", or its negation:
// "the field is missing or not (value op x)".
func (b filterBuilder) leaf(prop, typ string, op filters.WhereOperator, x any, neg bool) *cond {
	xt, _ := dataType(x)
	present := &cond{op: filters.IsNull, prop: prop, value: false}
	missing := &cond{op: filters.IsNull, prop: prop, value: true}
	if typ != "" && xt != typ && op == filters.NotEqual {
		// Every present value differs from one of another type.
		if neg {
			return missing
		}
		return present
	}
	if typ == "" || xt != typ {
		// No point has the field with a value of x's type: the condition
		// is false, its negation true.
		return &cond{truth: neg}
	}
	if neg {
		return or(missing, &cond{op: opposite[op], prop: prop, value: x})
	}
	if op == filters.NotEqual {
		// NotEqual alone may hold for a missing field.
		return and(present, &cond{op: op, prop: prop, value: x})
	}
	return &cond{op: op, prop: prop, value: x}
}

// where builds the client's filter of a non-constant condition.
func (c *cond) where() *filters.WhereBuilder {
	switch c.op {
	case filters.And, filters.Or:
		ops := make([]*filters.WhereBuilder, len(c.kids))
		for i, k := range c.kids {
			ops[i] = k.where()
		}
		return filters.Where().WithOperator(c.op).WithOperands(ops)
	}
	w := filters.Where().WithOperator(c.op).WithPath([]string{c.prop})
	switch x := c.value.(type) {
	case string:
		w.WithValueText(x)
	case float64:
		w.WithValueNumber(x)
	case bool:
		w.WithValueBoolean(x)
	}
	return w
}

// idsFilter restricts to the objects with the given UUIDs (ObjectID).
func idsFilter(oids []string) *filters.WhereBuilder {
	return filters.Where().WithOperator(filters.ContainsAny).WithPath([]string{"_id"}).WithValueText(oids...)
}
