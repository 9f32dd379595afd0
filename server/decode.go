package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server/api"
)

// Request bodies. Unknown fields are rejected; see openapi.json.

// apiError is an error with an HTTP status and a code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errf(400, "bad_request", format, args...)
}

// decodeJSON decodes body into v strictly: unknown fields and trailing data
// are errors, and the errors say where.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("empty request body: want a JSON object")
	}
	if err := strictKeys(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(v).Elem(), ""); err != nil && err != errSyntax {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("trailing data after the JSON object at byte offset %d", dec.InputOffset())
	}
	return nil
}

// strictKeys walks the next JSON value of dec against type t and reports,
// as encoding/json does not, an object key repeated in one object and a
// field name that matches a struct field only when case is ignored
// ("Vector" for "vector"). It stops at a syntax error with errSyntax,
// leaving the message to the decoder.
func strictKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == pointIDType {
		// A point id: checked here, where its place is known, so that
		// the error names it ("points[3].id", "ids[0]").
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errSyntax
		}
		var id api.PointID
		if err := id.UnmarshalJSON(raw); err != nil {
			return badRequest("%s: %v", path, err)
		}
		return nil
	}
	if !hasObjects(t) {
		// Numbers, strings, vectors: nothing to check; skip the value
		// whole rather than token by token.
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errSyntax
		}
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		return errSyntax
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = structFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errSyntax
			}
			key, _ := kt.(string)
			at := key
			if path != "" {
				at = path + "." + key
			}
			if seen[key] {
				return badRequest("duplicate key %s", at)
			}
			seen[key] = true
			var elem reflect.Type
			switch {
			case fields != nil:
				ft, ok := fields[key]
				if !ok {
					return badRequest("unknown field %q at %s (field names are case-sensitive)", key, cmp.Or(path, "the top level"))
				}
				elem = ft
			case t != nil && t.Kind() == reflect.Map:
				elem = t.Elem()
			}
			if err := strictKeys(dec, elem, at); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return errSyntax
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := strictKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return errSyntax
		}
	}
	return nil
}

var errSyntax = errors.New("syntax error")

var pointIDType = reflect.TypeFor[api.PointID]()

// hasObjects reports whether a value of type t can hold a JSON object
// whose keys strictKeys checks: a struct or a map, or a slice or pointer
// of them. A payload's values (any) are scalars; checkPayload refuses the
// rest.
func hasObjects(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return true
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return hasObjects(t.Elem())
	}
	return false
}

// structFields maps the JSON names of t's fields to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				maps.Copy(m, structFields(ft))
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("invalid JSON at byte offset %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return badRequest("field %s: got JSON %s, want %s", field, typ.Value, jsonType(typ.Type.String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("truncated JSON body")
	}
	msg := err.Error()
	if s, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return badRequest("unknown field %s", s)
	}
	return badRequest("invalid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonType(t string) string {
	switch t {
	case "float32", "float64":
		return "a finite number (float32 range)"
	case "uint64":
		return "an unsigned integer id (0..18446744073709551615)"
	case "int":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(t, "[]") {
		return "an array"
	}
	if strings.HasPrefix(t, "map") || strings.HasPrefix(t, "server.") {
		return "an object"
	}
	return t
}

// checkVector reports a vector of the wrong length or with a NaN or
// infinite value; what names it in the message.
func checkVector(what string, v []float32, d int) error { return checkVectorOf(what, v, d, "") }

// checkVectorOf is checkVector whose wrong-length message ends with note,
// which says where d comes from when it is not the collection's dim.
func checkVectorOf(what string, v []float32, d int, note string) error {
	if len(v) != d {
		return badRequest("%s: length %d, want %d%s", what, len(v), d, note)
	}
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return badRequest("%s[%d]: %v is not finite", what, j, x)
		}
	}
	return nil
}

// checkNorm reports a finite vector whose arithmetic would overflow float32
// under metric (collection.CheckNorm).
func checkNorm(what string, v []float32, metric mrl.Metric) error {
	if err := collection.CheckNorm(what, v, metric); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// checkPayload reports a payload field that is not a JSON scalar
// (collection.CheckPayload).
func checkPayload(what string, p map[string]any) error {
	if err := collection.CheckPayload(what, p); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// decodeUpsertRequest decodes and validates an upsert whose vectors have
// d dims; note (checkVectorOf) says where d comes from.
func decodeUpsertRequest(body []byte, d int, note string, maxPoints int) (*UpsertRequest, error) {
	var r UpsertRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, err
	}
	if len(r.Points) == 0 {
		return nil, badRequest("points: empty, want at least 1 point")
	}
	if len(r.Points) > maxPoints {
		return nil, badRequest("points: %d in one request, at most %d", len(r.Points), maxPoints)
	}
	seen := make(map[api.PointID]int, len(r.Points))
	for i, p := range r.Points {
		if j, ok := seen[p.ID]; ok {
			return nil, badRequest("points[%d].id: %v repeats points[%d].id", i, p.ID, j)
		}
		seen[p.ID] = i
		if p.Text != "" {
			// The collection's model embeds it (inputTransform).
			if p.Vector != nil {
				return nil, badRequest("points[%d]: vector and text: give one, not both", i)
			}
		} else if err := checkVectorOf(fmt.Sprintf("points[%d].vector", i), p.Vector, d, note); err != nil {
			return nil, err
		}
		if err := checkPayload(fmt.Sprintf("points[%d].payload", i), p.Payload); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// decodeSearchRequest decodes a search and validates what does not need the
// collection; validateSearch does the rest.
func decodeSearchRequest(body []byte) (*SearchRequest, error) {
	var r SearchRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, err
	}
	var given []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"vector", r.Vector != nil}, {"vectors", r.Vectors != nil}, {"text", r.Text != ""}, {"texts", r.Texts != nil}} {
		if f.set {
			given = append(given, f.name)
		}
	}
	switch {
	case len(given) == 0:
		return nil, badRequest("vector or vectors: one is required (or text or texts, in a collection with a text model)")
	case len(given) > 1:
		return nil, badRequest("%s: give one, not both", strings.Join(given, " and "))
	case r.Vectors != nil && len(r.Vectors) == 0:
		return nil, badRequest("vectors: empty, want at least 1 query")
	case len(r.Vectors) > maxQueries:
		return nil, badRequest("vectors: %d queries, at most %d", len(r.Vectors), maxQueries)
	case r.Texts != nil && len(r.Texts) == 0:
		return nil, badRequest("texts: empty, want at least 1 query")
	case len(r.Texts) > maxQueries:
		return nil, badRequest("texts: %d queries, at most %d", len(r.Texts), maxQueries)
	}
	if r.K == 0 {
		r.K = 10
	}
	if r.K < 1 || r.K > maxK {
		return nil, badRequest("k: %d, want 1..%d", r.K, maxK)
	}
	if r.Dim < 0 {
		return nil, badRequest("dim: %d, want 0 (the collection dim) or a prefix dim >= 1", r.Dim)
	}
	if r.TargetRecall != 0 && (r.TargetRecall < 0 || r.TargetRecall > 1 || math.IsNaN(r.TargetRecall)) {
		return nil, badRequest("target_recall: %v, want a recall in (0, 1]", r.TargetRecall)
	}
	if r.TargetRecall != 0 && r.Plan != "" {
		return nil, badRequest("plan and target_recall: give one, not both")
	}
	if r.Filter != nil {
		if err := collection.ValidateFilter("filter", r.Filter); err != nil {
			return nil, badRequest("%v", err)
		}
	}
	return &r, nil
}

// decodeCreateRequest decodes a collection's creation into its Meta. A
// request naming a model or an adapter is handed to attach
// (Server.attachInput) before the defaults are filled.
func decodeCreateRequest(body []byte, attach func(r *CreateCollectionRequest, m *Meta) error) (Meta, error) {
	var r CreateCollectionRequest
	if err := decodeJSON(body, &r); err != nil {
		return Meta{}, err
	}
	m := Meta{Name: r.Name, Dim: r.Dim, Metric: r.Metric, Nesting: r.Nesting, Index: r.Index}
	if r.Model != "" || r.Adapter != "" {
		if err := attach(&r, &m); err != nil {
			return Meta{}, err
		}
	}
	if err := collection.CheckMeta(&m); err != nil {
		return Meta{}, badRequest("%v", err)
	}
	return m, nil
}

func decodeDeleteRequest(body []byte, maxIDs int) (*DeleteRequest, error) {
	var r DeleteRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, err
	}
	if len(r.IDs) == 0 {
		return nil, badRequest("ids: empty, want at least 1 id")
	}
	if len(r.IDs) > maxIDs {
		return nil, badRequest("ids: %d in one request, at most %d", len(r.IDs), maxIDs)
	}
	return &r, nil
}

// decodeInputs checks model inputs of size d.
func checkInputs(in [][]float32, d int) error {
	if len(in) == 0 {
		return badRequest("inputs: empty, want at least 1 input")
	}
	if len(in) > maxInputs {
		return badRequest("inputs: %d in one request, at most %d", len(in), maxInputs)
	}
	for i, x := range in {
		if err := checkVector(fmt.Sprintf("inputs[%d]", i), x, d); err != nil {
			return err
		}
	}
	return nil
}

const (
	maxK       = 10000
	maxQueries = 1024
	maxInputs  = 4096
)
