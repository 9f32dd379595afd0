package server

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Every response the tests get through do (and so mustDo) is checked
// against openapi.json: the status must be documented for the operation
// the method and path name, and a JSON body must match the documented
// schema. Requests to undocumented routes (a 404 for an unknown path, a
// 405) are not checked. So the whole server test suite, including its
// hostile inputs, validates real responses against the document.

type specSchema = map[string]any

type specOp struct {
	method, template string
	segments         []string
	responses        map[string]any
}

var (
	specOnce    sync.Once
	specOps     []specOp
	specSchemas map[string]any
	specErr     error
)

func loadSpec() {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if specErr = json.Unmarshal(openAPI, &doc); specErr != nil {
		return
	}
	specSchemas = doc.Components.Schemas
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Responses map[string]any `json:"responses"`
			}
			if specErr = json.Unmarshal(raw, &op); specErr != nil {
				return
			}
			specOps = append(specOps, specOp{strings.ToUpper(method), path, strings.Split(strings.Trim(path, "/"), "/"), op.Responses})
		}
	}
}

// findOp returns the documented operation for method and path (the
// template with the fewest parameters among those that match), or nil.
func findOp(method, path string) *specOp {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *specOp
	bestParams := math.MaxInt
	for i := range specOps {
		op := &specOps[i]
		if op.method != method || len(op.segments) != len(segs) {
			continue
		}
		params, ok := 0, true
		for j, s := range op.segments {
			if strings.HasPrefix(s, "{") {
				params++
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
		}
		if ok && params < bestParams {
			best, bestParams = op, params
		}
	}
	return best
}

// checkResponse reports a response that the document does not describe.
func checkResponse(t testing.TB, method, path string, code int, body []byte) {
	t.Helper()
	specOnce.Do(loadSpec)
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	op := findOp(method, path)
	if op == nil {
		return
	}
	resp, ok := op.responses[strconv.Itoa(code)]
	if !ok {
		resp, ok = op.responses["default"]
	}
	if !ok {
		t.Errorf("openapi: %s %s answered %d, which %s %s does not document (body %.200s)", method, path, code, op.method, op.template, body)
		return
	}
	content, _ := resp.(map[string]any)["content"].(map[string]any)
	js, ok := content["application/json"].(map[string]any)
	if !ok {
		return // no JSON body documented (text, or none)
	}
	schema, _ := js["schema"].(map[string]any)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("openapi: %s %s answered %d with a body that is not JSON: %v (%.200s)", method, path, code, err, body)
		return
	}
	if err := validateSchema(schema, v, "body"); err != nil {
		t.Errorf("openapi: %s %s answered %d: %v (body %.300s)", method, path, code, err, body)
	}
}

// validateSchema checks v (decoded JSON) against the subset of JSON Schema
// that openapi.json uses: $ref, oneOf, type, enum, properties, required,
// additionalProperties, items, minimum, maximum and pattern.
func validateSchema(s specSchema, v any, at string) error {
	if s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := specSchemas[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: unresolved $ref %q", at, ref)
		}
		return validateSchema(target, v, at)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		var errs []string
		for _, a := range alts {
			err := validateSchema(a.(map[string]any), v, at)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: matches no alternative of oneOf: %s", at, strings.Join(errs, "; "))
	}
	if typ, ok := s["type"].(string); ok {
		if err := checkType(typ, v, at); err != nil {
			return err
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	if x, ok := v.(float64); ok {
		if lo, ok := s["minimum"].(float64); ok && x < lo {
			return fmt.Errorf("%s: %v is below the minimum %v", at, x, lo)
		}
		if hi, ok := s["maximum"].(float64); ok && x > hi {
			return fmt.Errorf("%s: %v is above the maximum %v", at, x, hi)
		}
	}
	if pat, ok := s["pattern"].(string); ok {
		if str, ok := v.(string); ok && !regexp.MustCompile(pat).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, pat)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: required field %q missing", at, r)
			}
		}
		for k, val := range x {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validateSchema(ps, val, at+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: field %q is not documented", at, k)
				}
			case map[string]any:
				if err := validateSchema(ap, val, at+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				if err := validateSchema(items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func checkType(typ string, v any, at string) error {
	ok := false
	switch typ {
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "number":
		_, ok = v.(float64)
	case "integer":
		x, isNum := v.(float64)
		ok = isNum && x == math.Trunc(x)
	default:
		return fmt.Errorf("%s: schema type %q not understood by the test", at, typ)
	}
	if !ok {
		return fmt.Errorf("%s: %T %v is not of type %s", at, v, v, typ)
	}
	return nil
}

// TestValidateSchema checks the validator itself, so that a broken one
// cannot pass every response.
func TestValidateSchema(t *testing.T) {
	specOnce.Do(loadSpec)
	errSchema := specSchema{"$ref": "#/components/schemas/Error"}
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"error":{"code":"not_found","message":"x"}}`, true},
		{`{"error":{"code":"nope","message":"x"}}`, false},
		{`{"error":{"code":"not_found"}}`, false},
		{`{"error":{"code":"not_found","message":"x","extra":1}}`, false},
		{`{"error":{"code":"not_found","message":3}}`, false},
		{`[]`, false},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.body), &v); err != nil {
			t.Fatal(err)
		}
		if err := validateSchema(errSchema, v, "body"); (err == nil) != c.ok {
			t.Errorf("validate Error %s: err = %v, want ok %v", c.body, err, c.ok)
		}
	}
	idSchema := specSchema{"$ref": "#/components/schemas/PointId"}
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`42`, true}, {`0`, true}, {`"550e8400-e29b-41d4-a716-446655440000"`, true},
		{`"urn:uuid:F9168C5E-CEB2-4faa-B6BF-329BF39FA1E4"`, true}, {`"936DA01F9ABD4d9d80C702AF85C822A8"`, true},
		{`-1`, false}, {`1.5`, false}, {`"42"`, false}, {`"doc-1"`, false}, {`""`, false}, {`null`, false},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.body), &v); err != nil {
			t.Fatal(err)
		}
		if err := validateSchema(idSchema, v, "id"); (err == nil) != c.ok {
			t.Errorf("validate PointId %s: err = %v, want ok %v", c.body, err, c.ok)
		}
	}
	if op := findOp("POST", "/v1/collections/c/points/delete"); op == nil || op.template != "/v1/collections/{name}/points/delete" {
		t.Errorf("findOp chose %+v for the delete route", op)
	}
	if op := findOp("GET", "/v1/collections/c/points/7?x=1"); op == nil || op.template != "/v1/collections/{name}/points/{id}" {
		t.Errorf("findOp chose %+v for a point", op)
	}
	if op := findOp("GET", "/nowhere"); op != nil {
		t.Errorf("findOp found %+v for an unknown path", op)
	}
}

// TestOpenAPIOperationIDs: every operation has a unique operationId, so
// generated clients get stable method names.
func TestOpenAPIOperationIDs(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			where := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %q", prev, where, op.OperationID)
			}
			seen[op.OperationID] = where
		}
	}
}
