package server

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOp struct {
	Responses   map[string]json.RawMessage `json:"responses"`
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Security *[]any `json:"security"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, map[string]openAPIOp) {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	ops := map[string]openAPIOp{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return doc, ops
}

// TestOpenAPIMatchesRoutes checks that every documented operation is routed
// and every route documented, and that sample requests (a missing resource,
// an empty body, a missing token) get a documented status.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, ops := loadOpenAPI(t)
	s := newServer(t, Options{})
	var routed []string
	for _, rt := range s.routes() {
		routed = append(routed, rt.method+" "+rt.pattern)
	}
	for key := range ops {
		if !slices.Contains(routed, key) {
			t.Errorf("documented %s is not routed", key)
		}
	}
	for _, key := range routed {
		if _, ok := ops[key]; !ok {
			t.Errorf("route %s is not documented in openapi.json", key)
		}
	}

	secured := newServer(t, Options{Token: "t"})
	for key, op := range ops {
		method, path, _ := strings.Cut(key, " ")
		path = strings.NewReplacer("{name}", "nope", "{id}", "1").Replace(path)
		body := ""
		if op.RequestBody != nil {
			body = "{}"
		}
		for _, srv := range []*Server{s, secured} {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if srv == secured && op.Security == nil {
				// no Authorization header: expect 401
			} else if srv == secured {
				continue
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			code := strconv.Itoa(rec.Code)
			if _, ok := op.Responses[code]; !ok {
				t.Errorf("%s %s (token %v) = %d %s; documented: %v", method, path, srv == secured, rec.Code, rec.Body, keys(op.Responses))
			}
			if rec.Code >= 400 {
				var eb errorBody
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" || json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code == "" {
					t.Errorf("%s %s = %d with Content-Type %q body %s, want a JSON error", method, path, rec.Code, ct, rec.Body)
				}
			}
		}
	}

	// The document is served.
	code, body := do(t, s, "GET", "/v1/openapi.json", "")
	if code != 200 || string(body) != string(openAPI) {
		t.Errorf("GET /v1/openapi.json = %d, %d bytes, want the embedded %d", code, len(body), len(openAPI))
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}

// TestOpenAPISchemasMatchRequests checks that the documented request
// properties are exactly the JSON fields the decoders accept.
func TestOpenAPISchemasMatchRequests(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"CreateCollectionRequest": CreateCollectionRequest{},
		"IndexSpec":               IndexSpec{},
		"Point":                   Point{},
		"UpsertRequest":           UpsertRequest{},
		"DeleteRequest":           DeleteRequest{},
		"SearchRequest":           SearchRequest{},
		"LoadModelRequest":        LoadModelRequest{},
		"EmbedRequest":            EmbedRequest{},
		"ClassifyRequest":         ClassifyRequest{},
	} {
		sch, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		fields := jsonFields(v)
		if got := keys(sch.Properties); !slices.Equal(got, fields) {
			t.Errorf("schema %s properties %v, Go fields %v", name, got, fields)
		}
	}
}

// jsonFields lists the JSON names of a struct's fields, sorted.
func jsonFields(v any) []string {
	var names []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
